"""Deploy a contract system through transactions (constructors, factory, mints) and
build the same system with the layout-based BlockBuilder, so tests can compare the
two states account by account: the hand-written pre-states are only trustworthy if
they equal what the contracts' own code writes."""

from __future__ import annotations

from generators.builder import (
    BASE_FEE,
    DEPLOYER,
    LIQUIDITY_PROVIDER,
    MAX_FEE,
    MAX_UINT256,
    TIMESTAMP,
    BlockBuilder,
    Generated,
)
from generators.compile import compiled
from generators.evm import addr_hex, keccak256, selector, word

DEPLOY_TIMESTAMP = TIMESTAMP - 120
RESERVES = (3 * 10**24, 7 * 10**24)
USER_TOKENS = 5 * 10**21
USER_WETH = 2 * 10**18


def _blueprint_initcode(initcode: bytes) -> bytes:
    """Creation code that deploys FE7100 ++ initcode (an ERC-5202 blueprint):
    PUSH2 len, DUP1, PUSH1 10, PUSH0, CODECOPY, PUSH0, RETURN (10 bytes)."""
    body = b"\xfe\x71\x00" + initcode
    return bytes.fromhex(f"61{len(body):04x}80600a5f395f f3".replace(" ", "")) + body


def layout_system(seed: int = 0) -> tuple[Generated, dict]:
    """The system as the generators lay it out."""
    b = BlockBuilder(seed)
    amm = b.amm()
    token_a, token_b = b.token(), b.token()
    weth = b.token("weth")
    probe = b.probe_contract()
    pool = amm.create_pool(token_a, token_b, *RESERVES)
    # what a fresh deployment has: accumulators untouched, last update at deploy time
    pool.cumulative0 = pool.cumulative1 = 0
    pool.timestamp_last = DEPLOY_TIMESTAMP
    user = b.new_eoa()
    token_a.credit(user, USER_TOKENS)
    token_a.approve(user, amm.router, MAX_UINT256)
    weth.credit(user, USER_WETH)
    names = {"blueprint": amm.blueprint, "factory": amm.factory, "router": amm.router,
             "token_a": token_a.address, "token_b": token_b.address, "weth": weth.address,
             "probe": probe, "pair": pool.address, "user": user,
             "pair_token_a": pool.token0.address == token_a.address}
    return b.finish("layout", {}), names


def deploy_fixture(names: dict) -> dict:
    """A block whose transactions deploy and fund the same system."""
    pair = compiled("pair")
    txs = []
    nonces = {DEPLOYER: 0, names["user"]: 0}

    def tx(sender, to, data: bytes | str, value=0, gas=3_000_000):
        data_hex = data.hex() if isinstance(data, bytes) else data
        txs.append({"sender": addr_hex(sender), "to": addr_hex(to) if to is not None else None,
                    "nonce": hex(nonces[sender]), "value": hex(value), "data": "0x" + data_hex,
                    "gasLimit": hex(gas), "maxFeePerGas": hex(MAX_FEE),
                    "maxPriorityFeePerGas": hex(10**9)})
        nonces[sender] += 1

    # deployment order = the builder's: blueprint, factory, router, tokens, weth, probe
    tx(DEPLOYER, None, _blueprint_initcode(pair.initcode))
    tx(DEPLOYER, None, compiled("factory").initcode.hex() + word(names["blueprint"]))
    router_args = word(names["factory"]) + keccak256(pair.initcode).hex()
    tx(DEPLOYER, None, compiled("router").initcode.hex() + router_args)
    tx(DEPLOYER, None, compiled("erc20").initcode)
    tx(DEPLOYER, None, compiled("erc20").initcode)
    tx(DEPLOYER, None, compiled("weth").initcode)
    tx(DEPLOYER, None, compiled("coinbase_probe").initcode)
    tx(DEPLOYER, names["factory"], selector("createPair(address,address)") + word(names["token_a"]) + word(names["token_b"]))
    mint = selector("mint(address,uint256)")
    tx(DEPLOYER, names["token_a"], mint + word(names["pair"]) + word(RESERVES[0]))
    tx(DEPLOYER, names["token_b"], mint + word(names["pair"]) + word(RESERVES[1]))
    tx(DEPLOYER, names["pair"], selector("mint(address)") + word(LIQUIDITY_PROVIDER))
    tx(DEPLOYER, names["token_a"], mint + word(names["user"]) + word(USER_TOKENS))
    user = names["user"]
    tx(user, names["token_a"], selector("approve(address,uint256)") + word(names["router"]) + word(MAX_UINT256))
    tx(user, names["weth"], selector("deposit()"), value=USER_WETH)
    return {
        "fork": "Cancun",
        "env": {"currentCoinbase": addr_hex(0xC0FFEE), "currentNumber": "0x1000",
                "currentTimestamp": hex(DEPLOY_TIMESTAMP), "currentGasLimit": hex(60_000_000),
                "currentBaseFee": hex(BASE_FEE), "currentRandom": "0x" + "11" * 32,
                "currentDifficulty": "0x0", "currentExcessBlobGas": "0x0"},
        "pre": {addr_hex(DEPLOYER): {"balance": hex(10**20), "nonce": "0x0"},
                addr_hex(user): {"balance": hex(10**20), "nonce": "0x0"}},
        "transactions": txs,
        "blockHashes": {},
    }


CONTRACTS = ("blueprint", "factory", "router", "token_a", "token_b", "weth", "probe", "pair")


def compare(layout: Generated, names: dict, post_state: dict) -> list[str]:
    """Differences between the layout-built pre-state and the deployed post-state."""
    problems = []
    for name in CONTRACTS:
        address = names[name]
        want = layout.pre[address]
        got = post_state.get(addr_hex(address))
        if got is None:
            problems.append(f"{name}: not deployed at {addr_hex(address)}")
            continue
        storage = {(int(k, 16) if isinstance(k, str) else k): v for k, v in (got.get("storage") or {}).items()}
        storage = {k: v for k, v in storage.items() if v}
        if bytes(got["code"]) != want.code:
            problems.append(f"{name}: code differs ({len(got['code'])} vs {len(want.code)} bytes)")
        if got["nonce"] != want.nonce:
            problems.append(f"{name}: nonce {got['nonce']} vs {want.nonce}")
        if got["balance"] != want.balance:
            problems.append(f"{name}: balance {got['balance']} vs {want.balance}")
        if storage != {k: v for k, v in want.storage.items() if v}:
            keys = set(storage) | set(want.storage)
            diff = {hex(k): (storage.get(k), want.storage.get(k)) for k in keys if storage.get(k) != want.storage.get(k)}
            problems.append(f"{name}: storage differs (deployed, layout): {diff}")
    return problems
