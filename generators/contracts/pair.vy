# pragma version 0.4.3
# pragma evm-version cancun
"""
@title Constant-product pair
@notice Uniswap V2 style pool: reserves, 0.3% fee swaps, mint/burn of LP shares.
        Reserves and the last timestamp share one packed slot (r0 | r1 << 112 |
        ts << 224) and the re-entrancy lock lives in storage, so a swap touches the
        same slots as a Uniswap V2 swap does.
"""
from ethereum.ercs import IERC20

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

event Mint:
    sender: indexed(address)
    amount0: uint256
    amount1: uint256

event Burn:
    sender: indexed(address)
    amount0: uint256
    amount1: uint256
    to: indexed(address)

event Swap:
    sender: indexed(address)
    amount0In: uint256
    amount1In: uint256
    amount0Out: uint256
    amount1Out: uint256
    to: indexed(address)

event Sync:
    reserve0: uint256
    reserve1: uint256

MINIMUM_LIQUIDITY: constant(uint256) = 1000
MASK112: constant(uint256) = 2**112 - 1
UNLOCKED: constant(uint256) = 1

factory: public(address)
token0: public(address)
token1: public(address)
# reserve0 | reserve1 << 112 | blockTimestampLast << 224
packed_reserves: uint256
price0CumulativeLast: public(uint256)
price1CumulativeLast: public(uint256)
unlocked: uint256
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])


@deploy
def __init__():
    self.factory = msg.sender
    self.unlocked = UNLOCKED


@external
def initialize(token0: address, token1: address):
    assert msg.sender == self.factory, "FORBIDDEN"
    self.token0 = token0
    self.token1 = token1


@internal
def _lock():
    assert self.unlocked == UNLOCKED, "LOCKED"
    self.unlocked = 0


@internal
def _unlock():
    self.unlocked = UNLOCKED


@internal
@view
def _reserves() -> (uint256, uint256, uint256):
    packed: uint256 = self.packed_reserves
    return packed & MASK112, (packed >> 112) & MASK112, packed >> 224


@external
@view
def getReserves() -> (uint256, uint256, uint256):
    return self._reserves()


@internal
def _update(balance0: uint256, balance1: uint256, reserve0: uint256, reserve1: uint256, last: uint256):
    assert balance0 <= MASK112 and balance1 <= MASK112, "OVERFLOW"
    now: uint256 = block.timestamp % 2**32
    elapsed: uint256 = unsafe_sub(now, last) % 2**32
    if elapsed > 0 and reserve0 != 0 and reserve1 != 0:
        # UQ112x112 price accumulators; overflow is intended, as in Uniswap V2
        self.price0CumulativeLast = unsafe_add(self.price0CumulativeLast, unsafe_mul((reserve1 << 112) // reserve0, elapsed))
        self.price1CumulativeLast = unsafe_add(self.price1CumulativeLast, unsafe_mul((reserve0 << 112) // reserve1, elapsed))
    self.packed_reserves = balance0 | (balance1 << 112) | (now << 224)
    log Sync(reserve0=balance0, reserve1=balance1)


@internal
def _mint(receiver: address, amount: uint256):
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)


@internal
def _burn(owner: address, amount: uint256):
    self.balanceOf[owner] -= amount
    self.totalSupply -= amount
    log Transfer(sender=owner, receiver=empty(address), value=amount)


@external
def mint(to: address) -> uint256:
    self._lock()
    reserve0: uint256 = 0
    reserve1: uint256 = 0
    last: uint256 = 0
    reserve0, reserve1, last = self._reserves()
    balance0: uint256 = staticcall IERC20(self.token0).balanceOf(self)
    balance1: uint256 = staticcall IERC20(self.token1).balanceOf(self)
    amount0: uint256 = balance0 - reserve0
    amount1: uint256 = balance1 - reserve1
    supply: uint256 = self.totalSupply
    liquidity: uint256 = 0
    if supply == 0:
        liquidity = isqrt(amount0 * amount1) - MINIMUM_LIQUIDITY
        self._mint(empty(address), MINIMUM_LIQUIDITY)
    else:
        liquidity = min(amount0 * supply // reserve0, amount1 * supply // reserve1)
    assert liquidity > 0, "INSUFFICIENT_LIQUIDITY_MINTED"
    self._mint(to, liquidity)
    self._update(balance0, balance1, reserve0, reserve1, last)
    log Mint(sender=msg.sender, amount0=amount0, amount1=amount1)
    self._unlock()
    return liquidity


@external
def burn(to: address) -> (uint256, uint256):
    self._lock()
    reserve0: uint256 = 0
    reserve1: uint256 = 0
    last: uint256 = 0
    reserve0, reserve1, last = self._reserves()
    token0: address = self.token0
    token1: address = self.token1
    balance0: uint256 = staticcall IERC20(token0).balanceOf(self)
    balance1: uint256 = staticcall IERC20(token1).balanceOf(self)
    liquidity: uint256 = self.balanceOf[self]
    supply: uint256 = self.totalSupply
    amount0: uint256 = liquidity * balance0 // supply
    amount1: uint256 = liquidity * balance1 // supply
    assert amount0 > 0 and amount1 > 0, "INSUFFICIENT_LIQUIDITY_BURNED"
    self._burn(self, liquidity)
    assert extcall IERC20(token0).transfer(to, amount0)
    assert extcall IERC20(token1).transfer(to, amount1)
    balance0 = staticcall IERC20(token0).balanceOf(self)
    balance1 = staticcall IERC20(token1).balanceOf(self)
    self._update(balance0, balance1, reserve0, reserve1, last)
    log Burn(sender=msg.sender, amount0=amount0, amount1=amount1, to=to)
    self._unlock()
    return amount0, amount1


@external
def swap(amount0Out: uint256, amount1Out: uint256, to: address):
    self._lock()
    assert amount0Out > 0 or amount1Out > 0, "INSUFFICIENT_OUTPUT_AMOUNT"
    reserve0: uint256 = 0
    reserve1: uint256 = 0
    last: uint256 = 0
    reserve0, reserve1, last = self._reserves()
    assert amount0Out < reserve0 and amount1Out < reserve1, "INSUFFICIENT_LIQUIDITY"
    token0: address = self.token0
    token1: address = self.token1
    assert to != token0 and to != token1, "INVALID_TO"
    # optimistic transfer out; the k check below reverts the whole call if unpaid
    if amount0Out > 0:
        assert extcall IERC20(token0).transfer(to, amount0Out)
    if amount1Out > 0:
        assert extcall IERC20(token1).transfer(to, amount1Out)
    balance0: uint256 = staticcall IERC20(token0).balanceOf(self)
    balance1: uint256 = staticcall IERC20(token1).balanceOf(self)
    amount0In: uint256 = 0
    amount1In: uint256 = 0
    if balance0 > reserve0 - amount0Out:
        amount0In = balance0 - (reserve0 - amount0Out)
    if balance1 > reserve1 - amount1Out:
        amount1In = balance1 - (reserve1 - amount1Out)
    assert amount0In > 0 or amount1In > 0, "INSUFFICIENT_INPUT_AMOUNT"
    adjusted0: uint256 = balance0 * 1000 - amount0In * 3
    adjusted1: uint256 = balance1 * 1000 - amount1In * 3
    assert adjusted0 * adjusted1 >= reserve0 * reserve1 * 1000 * 1000, "K"
    self._update(balance0, balance1, reserve0, reserve1, last)
    log Swap(sender=msg.sender, amount0In=amount0In, amount1In=amount1In, amount0Out=amount0Out, amount1Out=amount1Out, to=to)
    self._unlock()


@external
def sync():
    self._lock()
    reserve0: uint256 = 0
    reserve1: uint256 = 0
    last: uint256 = 0
    reserve0, reserve1, last = self._reserves()
    self._update(staticcall IERC20(self.token0).balanceOf(self), staticcall IERC20(self.token1).balanceOf(self), reserve0, reserve1, last)
    self._unlock()


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
