# pragma version 0.4.3
# pragma evm-version cancun
"""
@title Pair factory
@notice Creates pairs from an ERC-5202 blueprint with CREATE2, salt =
        keccak256(token0 ++ token1), so routers compute pair addresses without a call.
"""

interface IPair:
    def initialize(token0: address, token1: address): nonpayable

event PairCreated:
    token0: indexed(address)
    token1: indexed(address)
    pair: address
    index: uint256

pair_blueprint: public(address)
getPair: public(HashMap[address, HashMap[address, address]])
allPairs: public(HashMap[uint256, address])
allPairsLength: public(uint256)


@deploy
def __init__(pair_blueprint: address):
    self.pair_blueprint = pair_blueprint


@external
def createPair(tokenA: address, tokenB: address) -> address:
    assert tokenA != tokenB, "IDENTICAL_ADDRESSES"
    token0: address = tokenA
    token1: address = tokenB
    if convert(tokenB, uint256) < convert(tokenA, uint256):
        token0 = tokenB
        token1 = tokenA
    assert token0 != empty(address), "ZERO_ADDRESS"
    assert self.getPair[token0][token1] == empty(address), "PAIR_EXISTS"
    salt: bytes32 = keccak256(concat(convert(token0, bytes20), convert(token1, bytes20)))
    # code_offset=3 skips the ERC-5202 preamble (0xFE7100)
    pair: address = create_from_blueprint(self.pair_blueprint, code_offset=3, salt=salt)
    extcall IPair(pair).initialize(token0, token1)
    self.getPair[token0][token1] = pair
    self.getPair[token1][token0] = pair
    index: uint256 = self.allPairsLength
    self.allPairs[index] = pair
    self.allPairsLength = index + 1
    log PairCreated(token0=token0, token1=token1, pair=pair, index=index)
    return pair
