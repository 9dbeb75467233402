"""Assemble a block fixture: pre-state laid out from the contracts' storage layouts,
transactions, env; plus a record of what each transaction is meant to do, so checks
can compute the expected outcome without the engine.

Contracts are placed where a real deployment would put them (CREATE from a fixed
deployer, CREATE2 from the factory for pairs), with the storage their constructors
and later calls would have written; tests/test_layout.py deploys the same system
through the engine and compares the two states.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from .compile import compiled
from .evm import (
    addr_hex,
    create2_address,
    create_address,
    keccak256,
    mapping_slot,
    nested_mapping_slot,
)

FORK = "Cancun"
CHAIN_ID = 1
BASE_FEE = 1_000_000_000                      # 1 gwei
MAX_FEE = 3 * BASE_FEE                        # cap; effective price = base + tip
TIPS = (1_000_000_000, 1_500_000_000, 2_000_000_000)
BLOCK_NUMBER = 20_000_000
TIMESTAMP = 1_750_000_000
MIN_BLOCK_GAS_LIMIT = 30_000_000
EOA_BALANCE = 10**20                          # 100 ether: covers any tx here many times
MAX_UINT256 = 2**256 - 1

# Fixed actors, derived from labels so they never collide with indexed EOAs.
DEPLOYER = int.from_bytes(keccak256(b"generators:deployer")[12:], "big")
LIQUIDITY_PROVIDER = int.from_bytes(keccak256(b"generators:liquidity-provider")[12:], "big")
COINBASE = int.from_bytes(keccak256(b"generators:coinbase")[12:], "big")

# EOAs: an odd multiplier is a bijection mod 2**160, so indexed addresses are all
# distinct, look random (spread over the trie) and cost no hashing.
_EOA_MULTIPLIER = 0x9E3779B97F4A7C15F39CC0605CEDC8341082276B | 1
_EOA_OFFSET = 0x5BD1E9955BD1E9955BD1E9955BD1E9955BD1E995
_LOW_ADDRESSES = 1 << 32   # precompiles, system contracts: never hand these out


def eoa_address(index: int) -> int:
    return ((index + 1) * _EOA_MULTIPLIER + _EOA_OFFSET) % (1 << 160)


@dataclass
class Account:
    balance: int = 0
    nonce: int = 0
    code: bytes = b""
    storage: dict[int, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Contract mirrors: hold the pre-state values and write them at the layout's slots.


class Token:
    """An ERC-20 (erc20.vy) or WETH (weth.vy) instance."""

    def __init__(self, builder: "BlockBuilder", kind: str, address: int):
        self.kind = kind
        self.address = address
        layout = compiled(kind).storage
        self.balance_base = layout["balanceOf"]
        self.allowance_base = layout["allowance"]
        self.supply_slot = layout.get("totalSupply")      # WETH: supply is its ether
        self.minter_slot = layout.get("minter")
        self.balances: dict[int, int] = {}
        self.allowances: dict[tuple[int, int], int] = {}
        self.builder = builder

    def credit(self, holder: int, amount: int) -> None:
        self.balances[holder] = self.balances.get(holder, 0) + amount

    def approve(self, owner: int, spender: int, amount: int) -> None:
        self.allowances[(owner, spender)] = amount

    @property
    def total_supply(self) -> int:
        return sum(self.balances.values())

    def balance_slot(self, holder: int) -> int:
        return mapping_slot(self.balance_base, holder)

    def allowance_slot(self, owner: int, spender: int) -> int:
        return nested_mapping_slot(self.allowance_base, owner, spender)

    def write(self) -> None:
        account = self.builder.accounts[self.address]
        storage = account.storage
        base = self.balance_base.to_bytes(32, "big")
        for holder, amount in self.balances.items():
            if amount:
                slot = int.from_bytes(keccak256(base + holder.to_bytes(32, "big")), "big")
                storage[slot] = amount
        for (owner, spender), amount in self.allowances.items():
            if amount:
                storage[self.allowance_slot(owner, spender)] = amount
        if self.kind == "weth":
            account.balance = self.total_supply
        else:
            if self.total_supply:
                storage[self.supply_slot] = self.total_supply
            storage[self.minter_slot] = DEPLOYER


class Pool:
    """A pair (pair.vy) created by the factory, with liquidity already minted."""

    MINIMUM_LIQUIDITY = 1000

    def __init__(self, builder: "BlockBuilder", amm: "Amm", token0: Token, token1: Token,
                 reserve0: int, reserve1: int, cumulative0: int, cumulative1: int,
                 timestamp_last: int):
        assert token0.address < token1.address
        self.builder = builder
        self.amm = amm
        self.token0, self.token1 = token0, token1
        self.reserve0, self.reserve1 = reserve0, reserve1
        self.cumulative0, self.cumulative1 = cumulative0, cumulative1
        self.timestamp_last = timestamp_last
        self.address = create2_address(amm.factory, pair_salt(token0.address, token1.address),
                                       amm.pair_init_code_hash)
        self.lp_supply = math.isqrt(reserve0 * reserve1)
        token0.credit(self.address, reserve0)
        token1.credit(self.address, reserve1)

    def write(self) -> None:
        layout = compiled("pair").storage
        account = self.builder.accounts.setdefault(self.address, Account())
        account.nonce = 1
        account.code = self.amm.pair_code
        s = account.storage
        s[layout["factory"]] = self.amm.factory
        s[layout["token0"]] = self.token0.address
        s[layout["token1"]] = self.token1.address
        s[layout["packed_reserves"]] = pack_reserves(self.reserve0, self.reserve1, self.timestamp_last)
        if self.cumulative0:
            s[layout["price0CumulativeLast"]] = self.cumulative0
        if self.cumulative1:
            s[layout["price1CumulativeLast"]] = self.cumulative1
        s[layout["unlocked"]] = 1
        s[layout["totalSupply"]] = self.lp_supply
        s[mapping_slot(layout["balanceOf"], 0)] = self.MINIMUM_LIQUIDITY
        s[mapping_slot(layout["balanceOf"], LIQUIDITY_PROVIDER)] = self.lp_supply - self.MINIMUM_LIQUIDITY


def pair_salt(token0: int, token1: int) -> bytes:
    return keccak256(token0.to_bytes(20, "big") + token1.to_bytes(20, "big"))


def pack_reserves(reserve0: int, reserve1: int, timestamp: int) -> int:
    return reserve0 | (reserve1 << 112) | ((timestamp % 2**32) << 224)


def unpack_reserves(packed: int) -> tuple[int, int, int]:
    mask = 2**112 - 1
    return packed & mask, (packed >> 112) & mask, packed >> 224


class Amm:
    """Blueprint + factory + router, deployed once per block on first use."""

    def __init__(self, builder: "BlockBuilder"):
        self.builder = builder
        pair = compiled("pair")
        self.pair_code = pair.runtime
        self.pair_init_code_hash = keccak256(pair.initcode)
        self.blueprint = builder.deploy(pair.blueprint_code)
        factory = compiled("factory")
        self.factory = builder.deploy(factory.runtime, {factory.storage["pair_blueprint"]: self.blueprint})
        router = compiled("router")
        self.router = builder.deploy(router.deployed_code({
            "FACTORY": self.factory.to_bytes(32, "big"),
            "PAIR_INIT_CODE_HASH": self.pair_init_code_hash,
        }))
        self.pools: dict[tuple[int, int], Pool] = {}

    def pool(self, a: Token, b: Token) -> Pool | None:
        key = (a.address, b.address) if a.address < b.address else (b.address, a.address)
        return self.pools.get(key)

    def create_pool(self, a: Token, b: Token, reserve_a: int, reserve_b: int) -> Pool:
        rng = self.builder.rng
        if a.address > b.address:
            a, b, reserve_a, reserve_b = b, a, reserve_b, reserve_a
        assert (a.address, b.address) not in self.pools
        # An established pool: accumulators already non-zero, last update a few blocks
        # ago, so the block's first swap on it updates them (as on mainnet).
        pool = Pool(self.builder, self, a, b, reserve_a, reserve_b,
                    cumulative0=rng.getrandbits(200) + 1, cumulative1=rng.getrandbits(200) + 1,
                    timestamp_last=self.builder.timestamp - 12 * rng.randint(1, 50))
        self.pools[(a.address, b.address)] = pool
        return pool

    def write(self) -> None:
        layout = compiled("factory").storage
        storage = self.builder.accounts[self.factory].storage
        for index, pool in enumerate(self.pools.values()):
            t0, t1 = pool.token0.address, pool.token1.address
            storage[nested_mapping_slot(layout["getPair"], t0, t1)] = pool.address
            storage[nested_mapping_slot(layout["getPair"], t1, t0)] = pool.address
            storage[mapping_slot(layout["allPairs"], index)] = pool.address
            pool.write()
        if self.pools:
            storage[layout["allPairsLength"]] = len(self.pools)
        # each CREATE2 bumped the factory's nonce
        self.builder.accounts[self.factory].nonce = 1 + len(self.pools)


# ---------------------------------------------------------------------------


@dataclass
class TxDraft:
    sender: int
    to: int | None
    value: int
    data: str          # hex without 0x
    gas_limit: int
    tip: int
    op: tuple          # what the tx is meant to do (see model.py)
    expect_status: int = 1


@dataclass
class Generated:
    """A fixture and what the generator knows about it (for the checks)."""

    family: str
    knobs: dict
    fixture: dict
    drafts: list[TxDraft]
    tokens: list[Token]
    pools: list[Pool]
    amm: Amm | None
    coinbase: int
    probes: list[int]                  # contracts whose `seen` map records coinbase balances
    pre: dict[int, Account]

    @property
    def expect_status(self) -> list[int]:
        return [d.expect_status for d in self.drafts]


class BlockBuilder:
    def __init__(self, seed: int, *, coinbase: int = COINBASE, fork: str = FORK):
        self.seed = seed
        self.fork = fork
        self.rng = random.Random(seed)
        self.accounts: dict[int, Account] = {}
        self.drafts: list[TxDraft] = []
        self.tokens: list[Token] = []
        self.probes: list[int] = []
        self.amm_system: Amm | None = None
        self.coinbase = coinbase
        self.timestamp = TIMESTAMP
        self.number = BLOCK_NUMBER
        self._next_index = 0
        self._deployer_nonce = 0
        self._tip_choice = TIPS

    # -- accounts ------------------------------------------------------------

    def _next_address(self) -> int:
        while True:
            address = eoa_address(self._next_index)
            self._next_index += 1
            if address >= _LOW_ADDRESSES and address not in self.accounts:
                return address

    def new_eoa(self, balance: int = EOA_BALANCE) -> int:
        """A funded externally owned account (no key: fixtures give `sender`)."""
        address = self._next_address()
        self.accounts[address] = Account(balance=balance)
        return address

    def delegated_eoa(self, delegate: int, balance: int = EOA_BALANCE) -> int:
        """A funded EOA delegated to `delegate` (EIP-7702: its code is the designator
        0xef0100 ++ address, set by an earlier block), with the nonce that took."""
        address = self._next_address()
        self.accounts[address] = Account(balance=balance, nonce=1,
                                         code=bytes.fromhex("ef0100") + delegate.to_bytes(20, "big"))
        return address

    def fresh_address(self) -> int:
        """An address absent from the pre-state (a first-time recipient)."""
        return self._next_address()

    def deploy(self, code: bytes, storage: dict[int, int] | None = None, balance: int = 0) -> int:
        """Place a contract where the deployer's next CREATE would put it."""
        address = create_address(DEPLOYER, self._deployer_nonce)
        self._deployer_nonce += 1
        self.accounts[address] = Account(balance=balance, nonce=1, code=code, storage=dict(storage or {}))
        return address

    def token(self, kind: str = "erc20") -> Token:
        code = compiled(kind).runtime
        token = Token(self, kind, self.deploy(code))
        self.tokens.append(token)
        return token

    def amm(self) -> Amm:
        if self.amm_system is None:
            self.amm_system = Amm(self)
        return self.amm_system

    def probe_contract(self) -> int:
        address = self.deploy(compiled("coinbase_probe").runtime)
        self.probes.append(address)
        return address

    def coinbase_vault(self) -> int:
        """Make the coinbase a contract (coinbase_vault.vy) that can read SELFBALANCE."""
        address = self.deploy(compiled("coinbase_vault").runtime, balance=10**18)
        self.coinbase = address
        self.probes.append(address)
        return address

    # -- transactions ----------------------------------------------------------

    def tx(self, sender: int, to: int | None, *, value: int = 0, data: str = "",
           gas_limit: int, op: tuple, expect_status: int = 1) -> TxDraft:
        draft = TxDraft(sender, to, value, data, gas_limit, self.rng.choice(self._tip_choice), op,
                        expect_status)
        self.drafts.append(draft)
        return draft

    def interleave(self) -> None:
        """Shuffle the block. Nonces are assigned afterwards in block order, so a
        sender's transactions keep consecutive nonces wherever they land."""
        self.rng.shuffle(self.drafts)

    # -- output -----------------------------------------------------------------

    def finish(self, family: str, knobs: dict) -> Generated:
        if self.amm_system is not None:
            self.amm_system.write()
        for token in self.tokens:
            token.write()
        if self._deployer_nonce:
            self.accounts.setdefault(DEPLOYER, Account()).nonce = self._deployer_nonce
        if self.coinbase not in self.accounts:
            self.accounts[self.coinbase] = Account(balance=10**18)

        pre = {}
        code_hex: dict[bytes, str] = {}   # thousands of pairs share one code: hex it once
        for address, account in self.accounts.items():
            entry: dict[str, Any] = {"balance": hex(account.balance), "nonce": hex(account.nonce)}
            if account.code:
                text = code_hex.get(account.code)
                if text is None:
                    text = code_hex[account.code] = "0x" + account.code.hex()
                entry["code"] = text
            if account.storage:
                entry["storage"] = {hex(k): hex(v) for k, v in account.storage.items() if v}
            pre[addr_hex(address)] = entry

        nonces: dict[int, int] = {}
        max_fee = hex(MAX_FEE)
        tip_hex = {tip: hex(tip) for tip in TIPS}
        transactions = []
        total_gas = 0
        for draft in self.drafts:
            nonce = nonces.get(draft.sender)
            if nonce is None:
                nonce = self.accounts[draft.sender].nonce if draft.sender in self.accounts else 0
            nonces[draft.sender] = nonce + 1
            total_gas += draft.gas_limit
            transactions.append({
                "sender": addr_hex(draft.sender),
                "to": addr_hex(draft.to) if draft.to is not None else None,
                "nonce": hex(nonce),
                "value": hex(draft.value),
                "data": "0x" + draft.data,
                "gasLimit": hex(draft.gas_limit),
                "maxFeePerGas": max_fee,
                "maxPriorityFeePerGas": tip_hex[draft.tip],
            })

        fixture = {
            "fork": self.fork,
            "env": {
                "currentCoinbase": addr_hex(self.coinbase),
                "currentNumber": hex(self.number),
                "currentTimestamp": hex(self.timestamp),
                # every tx's gas limit fits even if each used all of it
                "currentGasLimit": hex(max(MIN_BLOCK_GAS_LIMIT, total_gas)),
                "currentBaseFee": hex(BASE_FEE),
                "currentRandom": "0x" + keccak256(f"generators:randao:{self.seed}".encode()).hex(),
                "currentDifficulty": "0x0",
                "currentExcessBlobGas": "0x0",
            },
            "pre": pre,
            "transactions": transactions,
            "blockHashes": {},
        }
        amm = self.amm_system
        return Generated(
            family=family,
            knobs=dict(knobs),
            fixture=fixture,
            drafts=self.drafts,
            tokens=self.tokens,
            pools=list(amm.pools.values()) if amm else [],
            amm=amm,
            coinbase=self.coinbase,
            probes=self.probes,
            pre=self.accounts,
        )
