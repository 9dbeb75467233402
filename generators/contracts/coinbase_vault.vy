# pragma version 0.4.3
# pragma evm-version cancun
"""
@title Coinbase vault
@notice A contract used as the block's coinbase: probe_self() reads its own balance
        with SELFBALANCE (which includes the priority fees credited so far).
"""

event Seen:
    caller: indexed(address)
    balance: uint256

seen: public(HashMap[address, uint256])


@external
@payable
def __default__():
    pass


@external
def probe_self():
    observed: uint256 = self.balance
    self.seen[msg.sender] = observed
    log Seen(caller=msg.sender, balance=observed)
