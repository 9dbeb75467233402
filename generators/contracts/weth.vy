# pragma version 0.4.3
# pragma evm-version cancun
"""
@title Wrapped ether
@notice deposit/withdraw plus ERC-20. The supply is the contract's ether balance, so
        the generator keeps balance == sum of balances.
"""
from ethereum.ercs import IERC20

implements: IERC20

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

event Deposit:
    owner: indexed(address)
    value: uint256

event Withdrawal:
    owner: indexed(address)
    value: uint256

balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])


@deploy
def __init__():
    pass


@view
@external
def totalSupply() -> uint256:
    return self.balance


@external
@payable
def deposit():
    self.balanceOf[msg.sender] += msg.value
    log Deposit(owner=msg.sender, value=msg.value)


@external
@payable
def __default__():
    self.balanceOf[msg.sender] += msg.value
    log Deposit(owner=msg.sender, value=msg.value)


@external
def withdraw(amount: uint256):
    self.balanceOf[msg.sender] -= amount
    # forwards all gas: contract holders may need more than the 2,300 stipend
    raw_call(msg.sender, b"", value=amount)
    log Withdrawal(owner=msg.sender, value=amount)


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=msg.sender, receiver=receiver, value=amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def transferFrom(owner: address, receiver: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[owner][msg.sender]
    if allowed != max_value(uint256):
        self.allowance[owner][msg.sender] = allowed - amount
    self.balanceOf[owner] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=owner, receiver=receiver, value=amount)
    return True
