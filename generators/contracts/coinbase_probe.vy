# pragma version 0.4.3
# pragma evm-version cancun
"""
@title Coinbase probe
@notice probe() reads BALANCE(COINBASE) and records it per caller, so the value every
        transaction observed ends up in the post-state and in a log.
"""

event Seen:
    caller: indexed(address)
    balance: uint256

seen: public(HashMap[address, uint256])


@external
def probe():
    observed: uint256 = block.coinbase.balance
    self.seen[msg.sender] = observed
    log Seen(caller=msg.sender, balance=observed)
