# pragma version 0.4.3
# pragma evm-version cancun
"""
@title Router
@notice Multi-hop exact-input swaps along a token path. Pair addresses are computed
        (CREATE2) rather than looked up, and the factory and init-code hash are
        immutables, so the router itself reads no storage, as in Uniswap V2.
"""
from ethereum.ercs import IERC20

interface IPair:
    def getReserves() -> (uint256, uint256, uint256): view
    def swap(amount0Out: uint256, amount1Out: uint256, to: address): nonpayable

MAX_PATH: constant(uint256) = 6

FACTORY: public(immutable(address))
PAIR_INIT_CODE_HASH: public(immutable(bytes32))


@deploy
def __init__(factory: address, pair_init_code_hash: bytes32):
    FACTORY = factory
    PAIR_INIT_CODE_HASH = pair_init_code_hash


@internal
@pure
def _sort(a: address, b: address) -> (address, address):
    if convert(a, uint256) < convert(b, uint256):
        return a, b
    return b, a


@internal
@view
def _pair_for(a: address, b: address) -> address:
    token0: address = empty(address)
    token1: address = empty(address)
    token0, token1 = self._sort(a, b)
    salt: bytes32 = keccak256(concat(convert(token0, bytes20), convert(token1, bytes20)))
    digest: bytes32 = keccak256(concat(b"\xff", convert(FACTORY, bytes20), salt, PAIR_INIT_CODE_HASH))
    return convert(convert(digest, uint256) & convert(max_value(uint160), uint256), address)


@external
@view
def pairFor(a: address, b: address) -> address:
    return self._pair_for(a, b)


@internal
@pure
def _amount_out(amount_in: uint256, reserve_in: uint256, reserve_out: uint256) -> uint256:
    assert amount_in > 0, "INSUFFICIENT_INPUT_AMOUNT"
    assert reserve_in > 0 and reserve_out > 0, "INSUFFICIENT_LIQUIDITY"
    with_fee: uint256 = amount_in * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


@external
@pure
def getAmountOut(amount_in: uint256, reserve_in: uint256, reserve_out: uint256) -> uint256:
    return self._amount_out(amount_in, reserve_in, reserve_out)


@external
def swapExactTokensForTokens(amountIn: uint256, amountOutMin: uint256, path: DynArray[address, MAX_PATH], to: address, deadline: uint256) -> DynArray[uint256, MAX_PATH]:
    assert block.timestamp <= deadline, "EXPIRED"
    assert len(path) >= 2, "INVALID_PATH"
    hops: uint256 = len(path) - 1
    amounts: DynArray[uint256, MAX_PATH] = [amountIn]
    for i: uint256 in range(hops, bound=MAX_PATH - 1):
        token0: address = empty(address)
        token1: address = empty(address)
        token0, token1 = self._sort(path[i], path[i + 1])
        reserve0: uint256 = 0
        reserve1: uint256 = 0
        last: uint256 = 0
        reserve0, reserve1, last = staticcall IPair(self._pair_for(path[i], path[i + 1])).getReserves()
        if path[i] == token0:
            amounts.append(self._amount_out(amounts[i], reserve0, reserve1))
        else:
            amounts.append(self._amount_out(amounts[i], reserve1, reserve0))
    assert amounts[hops] >= amountOutMin, "INSUFFICIENT_OUTPUT_AMOUNT"
    assert extcall IERC20(path[0]).transferFrom(msg.sender, self._pair_for(path[0], path[1]), amountIn)
    for i: uint256 in range(hops, bound=MAX_PATH - 1):
        token0: address = empty(address)
        token1: address = empty(address)
        token0, token1 = self._sort(path[i], path[i + 1])
        amount_out: uint256 = amounts[i + 1]
        recipient: address = to
        if i + 1 < hops:
            recipient = self._pair_for(path[i + 1], path[i + 2])
        if path[i] == token0:
            extcall IPair(self._pair_for(path[i], path[i + 1])).swap(0, amount_out, recipient)
        else:
            extcall IPair(self._pair_for(path[i], path[i + 1])).swap(amount_out, 0, recipient)
    return amounts
