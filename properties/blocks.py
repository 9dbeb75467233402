"""Hypothesis strategies for adversarial blocks over the small universe.

``scenarios(mode)`` draws a whole block: fork, environment, generated contracts
(K0..K2, the CREATE2 factory and its two child init codes), pre-state and up to 16
(or ``max_txs``) transactions, and returns a :class:`Scenario` holding the block
fixture plus what it was made of (``features``, for ``event()``).

Modes weight the same building blocks towards one adversarial theme (MODES);
``generic`` draws from everything. Every block is reference-comparable by
construction: no empty account in ``pre``, no account with storage but no code or
nonce (an EIP-7610 collision target: the engine handles it, tests/test_eip7610.py
checks it against EELS; these strategies do not draw one), and an invalid transaction
has one defect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Optional

import coincurve
from ethereum.crypto.hash import keccak256
from ethereum_rlp import rlp
from ethereum_types.numeric import U64, U256
from hypothesis import strategies as st

from .asm import Program
from .programs import (
    AccountRead,
    Bin,
    Call,
    Const,
    ContractSpec,
    Create,
    Ctx,
    DeployFromCalldata,
    Emit,
    Env,
    Expr,
    Halt,
    If,
    IsZero,
    Precompile,
    SelfDestruct,
    SLoad,
    Spin,
    SStore,
    Stmt,
    TLoad,
    TStore,
    compile_constructor,
    compile_contract,
)
from .asm import initcode_for
from .universe import (
    AUTHORITIES,
    AUTHORITY_KEYS,
    CONTRACTS,
    CREATE_NONCES,
    ENTRIES,
    LEAF,
    PRECOMPILES,
    SALTS,
    SENDERS,
    TX_CREATE_NONCES,
    VARIANTS,
    Universe,
    child_name,
    created_name,
    is_code_name,
    precompile_name,
    tx_created_name,
)

ETHER = 10**18
HOT_SLOTS = (0, 1, 2, 3)
BLOB_GAS_PER_BLOB = 2**17
MAX_BLOBS_PER_BLOCK = 6

MODES = ("redeploy", "nonces", "coinbase", "storage", "calls", "create", "txtypes", "boundaries", "delegations",
         "generic")

FORKS = {
    "redeploy": ("Cancun", "Shanghai"),
    "nonces": ("Cancun", "Shanghai", "London"),
    "coinbase": ("Cancun", "Shanghai", "Paris", "London"),
    "storage": ("Cancun", "Shanghai", "Paris"),
    "calls": ("Cancun", "Shanghai", "London"),
    "create": ("Cancun", "Shanghai"),
    "txtypes": ("Cancun", "Prague", "Shanghai", "Osaka", "Berlin"),
    "boundaries": ("Cancun", "Shanghai", "London", "Berlin"),
    "delegations": ("Prague", "Osaka"),
    "generic": ("Cancun", "Prague", "Shanghai", "Paris", "London"),
}

# Statement kinds and their weights per mode ("create" only in the factory).
STMT_WEIGHTS = {
    "generic": dict(emit=3, sstore=3, bump=2, clear=1, copy=1, tstore=1, call=3, transfer=1,
                    precompile=1, selfdestruct=1, halt=1, cond=2, create=2, spin=1),
    "redeploy": dict(emit=4, bump=2, sstore=1, call=3, transfer=1, selfdestruct=3, halt=1, cond=1,
                     create=4, spin=1),
    "nonces": dict(emit=2, bump=2, sstore=1, call=1, transfer=1, halt=1, spin=1),
    "coinbase": dict(emit=4, bump=1, call=2, transfer=3, selfdestruct=1, halt=1, cond=1, create=1,
                     spin=1),
    "storage": dict(sstore=4, bump=4, clear=3, copy=3, tstore=2, emit=2, cond=2, call=1, halt=1,
                    spin=2),
    "calls": dict(call=6, transfer=2, halt=3, cond=2, bump=2, emit=1, sstore=1, selfdestruct=1,
                  create=1, spin=1),
    "create": dict(create=4, call=2, emit=2, selfdestruct=2, transfer=1, bump=1, halt=1, cond=1,
                   spin=1),
    "txtypes": dict(precompile=4, emit=3, tstore=2, sstore=1, call=1, bump=1, halt=1, spin=1),
    "boundaries": dict(emit=2, bump=2, sstore=1, call=2, transfer=2, halt=1, cond=1, spin=1),
    "delegations": dict(sstore=3, bump=3, emit=2, call=3, transfer=2, selfdestruct=2, halt=1, cond=1,
                        spin=1),
}

# Transaction kinds per mode.
TX_WEIGHTS = {
    "generic": dict(call=5, transfer=2, create=1, deploy=1, destroy=1),
    "redeploy": dict(call=4, deploy=3, destroy=3, transfer=1, create=1),
    "nonces": dict(transfer=5, call=2, create=1),
    "coinbase": dict(transfer=3, call=3, deploy=1, destroy=1),
    "storage": dict(call=8, transfer=1),
    "calls": dict(call=8, transfer=1),
    "create": dict(call=3, create=3, transfer=3, deploy=3, destroy=1),
    "txtypes": dict(call=5, transfer=2),
    "boundaries": dict(transfer=4, call=4, create=1),
    "delegations": dict(setcode=3, call=3, transfer=3, destroy=1),
}

# One transaction in this many is invalid (one defect each).
FAULT_ODDS = {"nonces": 16, "txtypes": 40, "boundaries": 60, "generic": 80}

ENV_OPS_ALL = ("CALLER", "CALLVALUE", "ORIGIN", "ADDRESS", "SELFBALANCE", "COINBASE", "GAS",
               "CALLDATASIZE", "RETURNDATASIZE", "NUMBER", "TIMESTAMP", "CHAINID", "GASPRICE",
               "PREVRANDAO")
ENV_OPS_LONDON = ("BASEFEE",)
ENV_OPS_CANCUN = ("BLOBBASEFEE",)


def expand(weights: dict[str, float]) -> list[str]:
    out: list[str] = []
    for name, w in weights.items():
        out += [name] * max(1, round(w))
    return out


@dataclass
class Scenario:
    mode: str
    fixture: dict[str, Any]
    features: set[str] = field(default_factory=set)

    @property
    def fork(self) -> str:
        return self.fixture["fork"]

    def __repr__(self) -> str:  # what Hypothesis prints for a falsifying example
        listing = self.fixture.get("_contracts", {})
        txs = self.fixture.get("_txs", [])
        lines = [f"Scenario(mode={self.mode!r}, fork={self.fork!r}, features={sorted(self.features)})"]
        for name, entries in listing.items():
            lines.append(f"  {name}:")
            lines += [f"    {e}" for e in entries]
        lines += [f"  tx{i}: {t}" for i, t in enumerate(txs)]
        return "\n".join(lines)


@dataclass(frozen=True)
class Gen:
    """What the statement strategies need to know about the block being drawn
    (hashable: strategies are built once per Gen and cached)."""
    mode: str
    fork: str

    @property
    def cancun(self) -> bool:
        """Cancun's features (blobs, TLOAD/TSTORE, MCOPY, BLOBBASEFEE): Cancun on."""
        return fork_at_least(self.fork, "Cancun")

    @property
    def push0(self) -> bool:
        return fork_at_least(self.fork, "Shanghai")


FORK_ORDER = ("Berlin", "London", "Paris", "Shanghai", "Cancun", "Prague", "Osaka")


def fork_at_least(fork: str, other: str) -> bool:
    return FORK_ORDER.index(fork) >= FORK_ORDER.index(other)


# Strategy objects are costly to build (validation, labels); the generator draws
# thousands of small choices per block, so each distinct one is built once.
@lru_cache(maxsize=None)
def sampled(options: tuple) -> st.SearchStrategy:
    return st.sampled_from(options)


@lru_cache(maxsize=None)
def ints(lo: int, hi: int) -> st.SearchStrategy:
    return st.integers(lo, hi)


def pick(draw, options) -> Any:
    """One of ``options`` (shrinks towards the first); an index draw is cheaper than
    sampled_from's filtered draw, and this runs hundreds of times per block."""
    if len(options) == 1:
        return options[0]
    return options[draw(ints(0, len(options) - 1))]


# ---- names ---------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def code_targets(in_child: bool) -> tuple[str, ...]:
    names = list(CONTRACTS) * 2 + ["FACTORY"]
    if not in_child:
        names += [child_name(v, s) for v in VARIANTS for s in SALTS]
    names += [created_name(n) for n in CREATE_NONCES[:2]]
    names += [tx_created_name("A", n) for n in TX_CREATE_NONCES[:2]]
    return tuple(names)


@lru_cache(maxsize=None)
def read_targets(mode: str, in_child: bool) -> tuple[str, ...]:
    """Addresses a program reads (BALANCE, EXTCODE*): hot ones repeated."""
    base = list(CONTRACTS) + ["FACTORY", "COINBASE", "FRESH", "A"]
    if not in_child:
        base += [child_name(v, s) for v in VARIANTS for s in SALTS] * 2
    base += [created_name(1), created_name(2), tx_created_name("A", 0), tx_created_name("A", 1),
             precompile_name(4)]
    if mode == "coinbase":
        base += ["COINBASE"] * 6
    if mode == "redeploy" and not in_child:
        base += [child_name(v, s) for v in VARIANTS for s in SALTS] * 2
    return tuple(base)


@lru_cache(maxsize=None)
def value_targets(mode: str) -> tuple[str, ...]:
    """Where value goes by a plain CALL or a SELFDESTRUCT: EOAs, precompiles, fresh
    accounts (targets that run no code, so any entry may send there)."""
    names = ["A", "B", "COINBASE", "FRESH", precompile_name(1), precompile_name(9)]
    if mode == "coinbase":
        names += ["COINBASE"] * 4
    return tuple(names)


# ---- expressions ---------------------------------------------------------------------------

CONSTS = (1, 0, 2, 0xFF, 2**255, 2**256 - 1)


@lru_cache(maxsize=None)
def _leaf_kinds(gen: Gen) -> tuple[str, ...]:
    kinds = ["const", "sload", "account", "env"] + (["tload"] if gen.cancun else [])
    if gen.mode in ("redeploy", "coinbase", "create"):
        kinds += ["account"] * 3
    if gen.mode == "storage":
        kinds += ["sload"] * 3
    return tuple(kinds)


@lru_cache(maxsize=None)
def _env_ops(gen: Gen) -> tuple[str, ...]:
    ops = list(ENV_OPS_ALL)
    if fork_at_least(gen.fork, "London"):
        ops += ENV_OPS_LONDON
    if gen.cancun:
        ops += ENV_OPS_CANCUN
    if gen.mode == "coinbase":
        ops += ["COINBASE", "SELFBALANCE"] * 2
    return tuple(ops)


def draw_leaf_expr(draw, gen: Gen, in_child: bool) -> Expr:
    kind = pick(draw, _leaf_kinds(gen))
    if kind == "const":
        return Const(pick(draw, CONSTS))
    if kind == "sload":
        return SLoad(pick(draw, HOT_SLOTS))
    if kind == "tload":
        return TLoad(pick(draw, HOT_SLOTS))
    if kind == "account":
        opcode = pick(draw, ("BALANCE", "EXTCODEHASH", "EXTCODESIZE"))
        return AccountRead(opcode, pick(draw, read_targets(gen.mode, in_child)))
    return Env(pick(draw, _env_ops(gen)))


def draw_expr(draw, gen: Gen, in_child: bool) -> Expr:
    shape = pick(draw, ("leaf", "leaf", "add", "cmp"))
    a = draw_leaf_expr(draw, gen, in_child)
    if shape == "leaf":
        return a
    b = draw_leaf_expr(draw, gen, in_child)
    if shape == "add":
        return Bin("ADD", a, b)
    return Bin(pick(draw, ("LT", "GT", "EQ")), a, b)


def draw_condition(draw, gen: Gen, in_child: bool) -> Expr:
    kind = pick(draw, ("lt_slot", "iszero", "expr"))
    if kind == "lt_slot":  # a counter threshold: the outcome depends on earlier transactions
        return Bin("LT", Const(draw(ints(1, 4))), SLoad(pick(draw, HOT_SLOTS)))
    if kind == "iszero":
        return IsZero(draw_leaf_expr(draw, gen, in_child))
    return draw_expr(draw, gen, in_child)


# ---- statements ----------------------------------------------------------------------------

PRECOMPILE_INPUTS = {
    1: (bytes(32) + (27).to_bytes(32, "big") + (1).to_bytes(32, "big") + (1).to_bytes(32, "big"),
        bytes(128)),
    2: (b"", b"abc", bytes(64)),
    3: (b"", b"abc"),
    4: (b"", b"\x01\x02\x03", bytes(range(40))),
    # modexp: 1-byte base, exponent, modulus
    5: ((1).to_bytes(32, "big") * 3 + bytes([3, 5, 7]), (1).to_bytes(32, "big") * 3 + bytes([2, 0, 0])),
    # alt_bn128 add / mul of the generator (1, 2); pairing of nothing
    6: (bytes(128), ((1).to_bytes(32, "big") + (2).to_bytes(32, "big")) * 2),
    7: ((1).to_bytes(32, "big") + (2).to_bytes(32, "big") + (3).to_bytes(32, "big"),),
    8: (b"",),
    # blake2f: rounds (0 or 1), h, m, t, final flag (2 is invalid)
    9: tuple(r.to_bytes(4, "big") + bytes(64 + 128 + 16) + bytes([f]) for r in (0, 1) for f in (1, 2)),
    10: (bytes(192),),  # point evaluation: an invalid proof (fails, burns the gas given)
}


@lru_cache(maxsize=None)
def _stmt_kinds(gen: Gen, level: int, factory: bool) -> tuple[str, ...]:
    weights = dict(STMT_WEIGHTS[gen.mode])
    if not gen.cancun:
        weights.pop("tstore", None)
    if not factory or level == LEAF:
        weights.pop("create", None)
    return tuple(expand(weights))


def draw_statement(draw, gen: Gen, kind: str, *, level: int, in_child: bool, factory: bool) -> Stmt:
    if kind == "emit":
        return Emit(draw_expr(draw, gen, in_child))
    if kind == "sstore":
        return SStore(pick(draw, HOT_SLOTS), draw_expr(draw, gen, in_child))
    if kind == "bump":
        s = pick(draw, HOT_SLOTS)
        return SStore(s, Bin("ADD", SLoad(s), Const(pick(draw, (1, 2**256 - 1, 7)))))
    if kind == "clear":
        return SStore(pick(draw, HOT_SLOTS), Const(0))
    if kind == "copy":
        return SStore(pick(draw, HOT_SLOTS), SLoad(pick(draw, HOT_SLOTS)))
    if kind == "tstore":
        return TStore(pick(draw, HOT_SLOTS), draw_expr(draw, gen, in_child))
    if kind == "transfer":
        return Call("CALL", pick(draw, value_targets(gen.mode)), value=pick(draw, (1, 0, 1000)), gas=0)
    if kind == "call":
        return draw_call(draw, gen, level=level, in_child=in_child)
    if kind == "precompile":
        n = pick(draw, [n for n in PRECOMPILES if n != 10 or gen.cancun])
        return Precompile(n, pick(draw, PRECOMPILE_INPUTS[n]), gas=pick(draw, (None, 100, 3000)))
    if kind == "selfdestruct":
        return SelfDestruct(pick(draw, value_targets(gen.mode) + ("SELF", "K0", "FACTORY")))
    if kind == "halt":
        how = pick(draw, ("REVERT", "RETURN", "OOG", "INVALID", "STOP"))
        return Halt(how, draw_expr(draw, gen, in_child) if how in ("REVERT", "RETURN") else Const(0))
    if kind == "cond":
        body_kind = pick(draw, ("halt", "selfdestruct", "sstore", "call", "emit"))
        body = draw_statement(draw, gen, body_kind, level=level, in_child=in_child, factory=factory)
        return If(draw_condition(draw, gen, in_child), body)
    if kind == "create":
        return draw_create(draw)
    if kind == "spin":
        return Spin(pick(draw, (2, 8)))
    raise AssertionError(kind)


def draw_call(draw, gen: Gen, *, level: int, in_child: bool) -> Stmt:
    """A call: into code (an entry above ``level``), or value to an EOA/precompile."""
    if level == LEAF:
        return Call("CALL", pick(draw, value_targets(gen.mode)), value=pick(draw, (0, 1, 1000)),
                    gas=pick(draw, (0, None)))
    kind = pick(draw, ("CALL", "CALL", "DELEGATECALL", "STATICCALL", "CALLCODE"))
    target = pick(draw, code_targets(in_child))
    entry = draw(ints(level + 1, LEAF))
    value = pick(draw, (0, 0, 1, 1000)) if kind in ("CALL", "CALLCODE") else 0
    gas = pick(draw, (None, None, 5000, 30000, 2300))
    return Call(kind, target, value=value, gas=gas, entry=entry)


def draw_create(draw) -> Stmt:
    salt = pick(draw, (*SALTS, None))
    return Create(pick(draw, VARIANTS), salt, value=pick(draw, (0, 1)), then_call=draw(st.booleans()))


@lru_cache(maxsize=None)
def statement_lists(gen: Gen, level: int, in_child: bool, factory: bool) -> st.SearchStrategy:
    """Up to 4 statements for entry ``level`` (LEAF: calls no code) of a contract."""
    kinds = _stmt_kinds(gen, level, factory)

    @st.composite
    def one(draw):
        kind = pick(draw, kinds)
        return draw_statement(draw, gen, kind, level=level, in_child=in_child, factory=factory)

    # an empty entry is a legitimate program but a wasted call: at least one statement
    return st.lists(one(), min_size=1, max_size=4)


def draw_contract(draw, gen: Gen, *, in_child: bool = False, factory: bool = False) -> ContractSpec:
    return ContractSpec(tuple(tuple(draw(statement_lists(gen, level, in_child, factory)))
                              for level in range(ENTRIES)))


def draw_factory(draw, gen: Gen) -> ContractSpec:
    """The factory: entry 0 deploys the child the transaction names (calldata), the
    others are random (with CREATE/CREATE2 statements)."""
    spec = draw_contract(draw, gen, factory=True)
    if gen.mode in ("redeploy", "create") or draw(st.booleans()):
        entries = list(spec.entries)
        # nothing after the deploy may revert it or eat its gas: deploys must deploy
        keep = tuple(s for s in entries[0] if isinstance(s, (SStore, TStore, Emit)))
        entries[0] = (DeployFromCalldata(),) + keep
        spec = ContractSpec(tuple(entries))
    return spec


@lru_cache(maxsize=None)
def constructor_lists(gen: Gen) -> st.SearchStrategy:
    # constructors that self-destruct or halt are rarer than ones that deploy
    kinds = ("sstore", "emit", "bump") * 3 + (("selfdestruct", "halt") if gen.mode in
                                              ("redeploy", "create", "generic") else ())

    @st.composite
    def one(draw):
        return draw_statement(draw, gen, pick(draw, kinds), level=LEAF, in_child=True, factory=False)

    return st.lists(one(), max_size=2)


def draw_child(draw, gen: Gen) -> tuple[ContractSpec, tuple[Stmt, ...]]:
    """A child's runtime (its leaf usually self-destructs) and constructor."""
    runtime = draw_contract(draw, gen, in_child=True)
    if gen.mode in ("redeploy", "create") or draw(st.booleans()):
        beneficiary = pick(draw, ("A", "COINBASE", "SELF", "FRESH", "K0"))
        entries = list(runtime.entries)
        entries[LEAF] = (Emit(Env("SELFBALANCE")), SelfDestruct(beneficiary))
        runtime = ContractSpec(tuple(entries))
    return runtime, tuple(draw(constructor_lists(gen)))


def code_features(specs: list[ContractSpec], ctors: list[tuple[Stmt, ...]]) -> set[str]:
    """Labels for what generated code contains (drawn, not necessarily executed)."""
    out: set[str] = set()

    def visit(stmt: Stmt) -> None:
        if isinstance(stmt, If):
            out.add("state-dependent branch")
            visit(stmt.body)
        elif isinstance(stmt, SelfDestruct):
            out.add("SELFDESTRUCT in code")
        elif isinstance(stmt, Call):
            out.add(f"{stmt.kind} in code" + (" with value" if stmt.value else ""))
            if stmt.gas is not None and stmt.entry is not None:
                out.add("call into code with limited gas")
        elif isinstance(stmt, Create):
            out.add("CREATE in code" if stmt.salt is None else "CREATE2 in code")
            if stmt.then_call:
                out.add("create then call in one tx")
        elif isinstance(stmt, Halt):
            out.add(f"halt {stmt.how}")
        elif isinstance(stmt, Precompile):
            out.add("precompile call")
        elif isinstance(stmt, Spin):
            out.add("spin (slow statement)")
        elif isinstance(stmt, TStore):
            out.add("TSTORE")
        elif isinstance(stmt, SStore) and stmt.value == Const(0):
            out.add("SSTORE 0 (clear)")

    for spec in specs:
        for entry in spec.entries:
            for stmt in entry:
                visit(stmt)
    for ctor in ctors:
        for stmt in ctor:
            visit(stmt)
    return out


# ---- transactions ------------------------------------------------------------------------------


@dataclass
class TxDraft:
    kind: str  # call | transfer | create
    sender: str
    to: Optional[str]
    entry: Optional[int]
    value: int
    gas: int
    fee: tuple  # ("legacy"|"access", price) | ("1559", max_fee, priority) | ("blob", max_fee, priority, blob_cap)
    access: tuple  # ((name, (slots...)), ...)
    blobs: int  # versioned hashes (type 3)
    variant: int  # init code of a create transaction
    fault: Optional[str]
    data: bytes = b""  # calldata after the entry byte
    # EIP-7702 authorizations of a set-code transaction: (authority, delegate, nonce
    # rule "ok" | "stale" | "ahead", chain id, valid y-parity)
    auths: tuple = ()

    def describe(self) -> str:
        if self.kind == "create":
            what = f"create(init={self.variant})"
        elif self.kind == "transfer":
            what = f"transfer -> {self.to}"
        elif self.kind == "deploy":
            what = (f"deploy child{self.data[0]}{self.data[1]} via FACTORY"
                    + (" then call its leaf" if self.data[2] else ""))
        elif self.kind == "destroy":
            what = f"call {self.to} leaf (self-destruct)"
        elif self.kind == "setcode":
            what = f"set code then call {self.to} entry {self.entry}"
        else:
            what = f"call {self.to} entry {self.entry}"
        extra = [f"value={self.value}"] if self.value else []
        if self.auths:
            extra.append("auths=" + ",".join(
                f"{a}->{d}" + ("" if rule == "ok" else f"[{rule}]") + ("" if chain == 1 else f"[chain {chain}]")
                + ("" if parity_ok else "[bad parity]") for a, d, rule, chain, parity_ok in self.auths))
        extra.append(f"gas={self.gas}")
        extra.append("fee=" + "/".join(str(x) for x in self.fee))
        if self.access:
            extra.append(f"access={list(self.access)}")
        if self.blobs:
            extra.append(f"blobs={self.blobs}")
        if self.fault:
            extra.append(f"FAULT={self.fault}")
        return f"{self.sender}: {what} ({', '.join(extra)})"


FAULTS_BY_MODE = {
    "boundaries": ("nonce gap", "nonce replay", "fee cap below base fee", "priority above cap"),
    "nonces": ("nonce gap", "nonce replay"),
    "txtypes": ("fee cap below base fee", "insufficient funds", "gas above block",
                "blob fee cap too low", "priority above cap"),
    "generic": ("nonce gap", "nonce replay", "insufficient funds", "fee cap below base fee"),
}

ACCESS_NAMES = ("K0", "K1", "COINBASE", "FACTORY", child_name(0, 0), "B")


@lru_cache(maxsize=None)
def _access_lists() -> st.SearchStrategy:
    slots = st.lists(sampled(HOT_SLOTS), max_size=2).map(tuple)
    return st.lists(st.tuples(sampled(ACCESS_NAMES), slots), max_size=2).map(tuple)


@lru_cache(maxsize=None)
def _call_targets(mode: str) -> tuple[str, ...]:
    # the contracts that exist from the start get most calls: hot slots stay hot
    targets = list(code_targets(False)) + list(CONTRACTS) * 3 + ["FACTORY"]
    if mode == "delegations":  # EOAs that may be delegated to code at the time
        targets += list(AUTHORITIES) * 4
    if mode == "redeploy":
        targets += ["FACTORY"] * 3 + [child_name(v, s) for v in VARIANTS for s in SALTS]
    if mode == "create":
        targets += ["FACTORY"] * 4
    return tuple(targets)


@lru_cache(maxsize=None)
def _transfer_targets(mode: str) -> tuple[str, ...]:
    targets = ["B", "FRESH", "COINBASE", precompile_name(4)] + list(code_targets(False))
    if mode == "delegations":  # a value transfer to a delegated EOA runs its code
        targets += list(AUTHORITIES) * 4
    if mode == "coinbase":
        targets += ["COINBASE"] * 6
    if mode == "create":
        targets += [created_name(1), tx_created_name("A", 0), tx_created_name("B", 0),
                    child_name(0, 0)] * 2
    return tuple(targets)


def _child_bits(mode: str) -> tuple[int, ...]:
    # variant / salt choices: in redeploy mode mostly child00, so deploy, destroy and
    # redeploy meet at one address
    return (0, 0, 0, 1) if mode == "redeploy" else (0, 1)


@lru_cache(maxsize=None)
def tx_drafts(gen: Gen, senders: tuple[str, ...], base_fee: int, blob_base_fee: int) -> st.SearchStrategy:
    @st.composite
    def strategy(draw):
        return draw_tx(draw, gen, senders, base_fee, blob_base_fee)
    return strategy()


def draw_tx(draw, gen: Gen, senders: tuple[str, ...], base_fee: int, blob_base_fee: int) -> TxDraft:
    kind = pick(draw, expand(TX_WEIGHTS[gen.mode]))
    sender = pick(draw, senders)
    entry = None
    variant = 0
    to: Optional[str]
    data = b""
    if kind == "call":
        to = pick(draw, _call_targets(gen.mode))
        entry = pick(draw, (0, 1, 2, 0, 1, 2, ENTRIES))  # ENTRIES: no such entry (STOP)
        gas = pick(draw, (150_000, 60_000, 300_000))
    elif kind == "deploy":  # the factory's entry 0: CREATE2 of (variant, salt), maybe then call
        to, entry = "FACTORY", 0
        data = bytes([pick(draw, _child_bits(gen.mode)), pick(draw, _child_bits(gen.mode)),
                      int(draw(st.booleans()))])
        gas = pick(draw, (400_000, 250_000))  # CREATE2 + code deposit + the leaf call
    elif kind == "destroy":  # a child's leaf: log SELFBALANCE, SELFDESTRUCT (if it has one)
        to = child_name(pick(draw, _child_bits(gen.mode)), pick(draw, _child_bits(gen.mode)))
        entry = LEAF
        gas = pick(draw, (60_000, 150_000))
    elif kind == "transfer":
        to = pick(draw, _transfer_targets(gen.mode))
        gas = pick(draw, (21_000, 100_000))
    elif kind == "setcode":  # a type-4 transaction, then a call like any other
        to = pick(draw, _call_targets(gen.mode))
        entry = pick(draw, (0, 1, 2))
        gas = pick(draw, (200_000, 100_000))
    else:
        to = None
        variant = pick(draw, VARIANTS)
        gas = pick(draw, (200_000, 100_000))
    value = pick(draw, (0, 1, 10**15))

    # fees: legacy everywhere; access-list from Berlin; EIP-1559 from London; blobs in Cancun
    types = ["legacy", "access"]
    if fork_at_least(gen.fork, "London"):
        types += ["1559", "1559"]
    if gen.cancun and kind != "create" and gen.mode in ("txtypes", "generic"):
        types += ["blob"]
    if fork_at_least(gen.fork, "Prague") and kind in ("call", "transfer") and gen.mode in ("txtypes", "generic"):
        types += ["setcode"]
    tx_type = "setcode" if kind == "setcode" else pick(draw, types)
    auths: tuple = ()
    if tx_type == "setcode":
        auths = tuple(draw(st.lists(_authorizations(), min_size=1, max_size=3)))
        gas += 25_000 * len(auths)  # EIP-7702's intrinsic cost per authorization
    tip = pick(draw, (0, 1, 0) if gen.mode == "boundaries" else (1, 0, 2, 10))
    if tx_type in ("legacy", "access"):
        fee: tuple = (tx_type, base_fee + tip)
    else:
        max_fee = base_fee + pick(draw, (tip, 0) if gen.mode == "boundaries" else (tip, tip + 5, 2 * base_fee + 10))
        fee = ("setcode" if tx_type == "setcode" else "1559", max_fee, pick(draw, (tip, 0, max_fee)))
    access: tuple = ()
    if tx_type == "access" or (tx_type != "legacy" and draw(st.booleans())):
        access = draw(_access_lists())
    blobs = 0
    if tx_type == "blob":
        blobs = draw(ints(1, 3))
        fee = ("blob", fee[1], fee[2], blob_base_fee + pick(draw, (0, 1, 100)))

    fault = None
    odds = FAULT_ODDS.get(gen.mode)
    if odds:
        options = [x for x in FAULTS_BY_MODE[gen.mode]
                   if (x != "blob fee cap too low" or blobs)
                   and (x != "priority above cap" or fee[0] in ("1559", "blob", "setcode"))
                   and (x != "fee cap below base fee" or base_fee > 0)]
        # one transaction in ``odds`` is faulty; the draw shrinks towards no fault
        if options and draw(ints(0, odds - 1)) == odds - 1:
            fault = pick(draw, options)
    return TxDraft(kind, sender, to, entry, value, gas, fee, access, blobs, variant, fault, data, auths)


# Where a delegation points: the generated contracts, a child (it may not exist yet), a
# precompile, another authority (EIP-7702 does not follow chains), the coinbase (E2 when it
# is the block's), nothing (clears it).
DELEGATES = ("K0", "K1", "K2", "K1", child_name(0, 0), "FACTORY", precompile_name(1), "E1", "E2", "COINBASE",
             "ZERO")


@lru_cache(maxsize=None)
def _authorizations() -> st.SearchStrategy:
    return st.tuples(sampled(AUTHORITIES), sampled(DELEGATES), sampled(("ok", "ok", "ok", "ok", "stale", "ahead")),
                     sampled((1, 1, 1, 0, 7)), sampled((True, True, True, True, False)))


# EIP-4844's update fraction, raised by EIP-7691 (Prague).
BLOB_FEE_UPDATE_FRACTION = {"Cancun": 3338477, "Prague": 5007716, "Osaka": 5007716}


def blob_base_fee_of(excess_blob_gas: int, fork: str = "Cancun") -> int:
    """EIP-4844 fake_exponential(1, excess, the fork's update fraction)."""
    factor, numerator, denominator = 1, excess_blob_gas, BLOB_FEE_UPDATE_FRACTION.get(fork, 3338477)
    i, output, accum = 1, 0, factor * denominator
    while accum > 0:
        output += accum
        accum = accum * numerator // (denominator * i)
        i += 1
    return output // denominator


BLOB_HASHES = ["0x01" + f"{i:02x}" * 31 for i in range(1, 7)]


# ---- whole blocks ------------------------------------------------------------------------------


@st.composite
def scenarios(draw, mode: str, max_txs: int = 16) -> Scenario:
    fork = pick(draw, FORKS[mode])
    features: set[str] = set()
    gen = Gen(mode, fork)

    base_fee = pick(draw, (7, 0, 10**9)) if fork_at_least(fork, "London") else 0
    excess_blob_gas = pick(draw, (0, 10_000_000)) if gen.cancun else 0
    blob_base_fee = blob_base_fee_of(excess_blob_gas, fork)

    # children first: their init code fixes their CREATE2 addresses
    base_universe = Universe({})
    initcodes: dict[int, bytes] = {}
    listings: dict[str, list[str]] = {}
    burn_possible = False
    all_specs: list[ContractSpec] = []
    all_ctors: list[tuple[Stmt, ...]] = []
    for v in VARIANTS:
        runtime, ctor = draw_child(draw, gen)
        all_specs.append(runtime)
        all_ctors.append(ctor)
        ctx = Ctx(base_universe, gen.push0, gen.cancun)
        code = compile_contract(runtime, ctx)
        ctor_prog = compile_constructor(ctor, ctx)
        initcodes[v] = initcode_for(code, constructor=ctor_prog, push0=gen.push0)
        listings[f"init{v} (runtime)"] = runtime.listing()
        listings[f"init{v} (constructor)"] = [str(s) for s in ctor] or ["(nothing)"]
        burn_possible |= runtime.has(SelfDestruct) or any(isinstance(s, SelfDestruct) for s in ctor)
    universe = Universe(initcodes)

    specs = {name: draw_contract(draw, gen) for name in CONTRACTS}
    specs["FACTORY"] = draw_factory(draw, gen)
    all_specs += specs.values()
    features |= code_features(all_specs, all_ctors)
    codes = {}
    for name, spec in specs.items():
        ctx = Ctx(universe, gen.push0, gen.cancun, initcodes=initcodes)
        codes[name] = compile_contract(spec, ctx)
        listings[name] = spec.listing()
        burn_possible |= spec.has(SelfDestruct)

    # pre-state: every account non-empty (EIP-7523), none with storage but no code/nonce
    pre: dict[str, dict[str, Any]] = {}
    sender_nonces = {}
    for name in SENDERS:
        nonce = pick(draw, (0, 1) if name != "D" else (0, 7))
        sender_nonces[name] = nonce
        pre[universe.hex(name)] = {"balance": hex(10 * ETHER), "nonce": hex(nonce)}
    for name in list(CONTRACTS) + ["FACTORY"]:
        storage = {}
        for slot in HOT_SLOTS:
            value = pick(draw, (0, 1, 5, 2**256 - 1))
            if value:
                storage[hex(slot)] = hex(value)
        pre[universe.hex(name)] = {"balance": hex(pick(draw, (0, 10**6))), "nonce": "0x1",
                                   "code": "0x" + codes[name].hex(), "storage": storage}
    coinbase_in_pre = draw(st.booleans()) if mode in ("coinbase", "generic") else True
    # collisions: an account already at an address a CREATE will target
    if mode in ("create", "redeploy", "generic") and draw(st.booleans()):
        where = pick(draw, (created_name(2), tx_created_name("A", 1), created_name(1)))
        squatter = pick(draw, ("code", "nonce", "balance"))
        features.add(f"pre-existing account at a CREATE address ({squatter})")
        account = {"balance": hex(1), "nonce": "0x0"}
        if squatter == "code":
            account["code"] = "0x" + Program(push0=gen.push0).sstore(0, 1).bytes().hex()
        elif squatter == "nonce":
            account["nonce"] = "0x1"
        pre[universe.hex(where)] = account

    # EIP-7702 authorities: funded senders in delegations mode; elsewhere absent until an
    # authorization creates them
    if mode == "delegations":
        for name in AUTHORITIES:
            nonce = pick(draw, (0, 1))
            sender_nonces[name] = nonce
            pre[universe.hex(name)] = {"balance": hex(10 * ETHER), "nonce": hex(nonce)}

    # transactions
    senders = list(SENDERS) + (list(AUTHORITIES) if mode == "delegations" else [])
    use_coinbase_sender = mode in ("coinbase", "generic") and draw(st.booleans())
    use_fresh_sender = mode in ("create", "coinbase", "generic", "nonces") and draw(st.booleans())
    if use_coinbase_sender:
        senders += ["COINBASE"] * 2
        coinbase_in_pre = True
    if use_fresh_sender:
        senders += ["FRESH"]
    if coinbase_in_pre:
        pre[universe.hex("COINBASE")] = {"balance": hex(ETHER), "nonce": "0x0"}
    else:
        features.add("coinbase absent from pre")
    if mode == "nonces":
        senders = ["A", "A", "A", "B"] + senders[3:]  # long same-sender chains

    # a size class first: lists alone average ~5 elements, too few for threads to
    # overlap; shrinking lowers the class, then deletes transactions
    # room left by the transactions added below (redeploy episode, FRESH's funding)
    room = max_txs - (3 if mode == "redeploy" else 0) - (1 if use_fresh_sender else 0)
    floor = pick(draw, [n for n in (1, 4, 8, 12, 16) if n <= room])
    drafts = draw(st.lists(tx_drafts(gen, tuple(senders), base_fee, blob_base_fee),
                           min_size=floor, max_size=room))
    if mode == "redeploy":
        drafts = _with_redeploy_episode(draw, gen, drafts, tuple(senders), base_fee)
        features.add("deploy / destroy / redeploy episode")
    if use_fresh_sender:
        # FRESH exists only once funded: a raw transfer first
        drafts.insert(0, TxDraft("transfer", "A", "FRESH", None, ETHER // 10, 21_000,
                                 ("legacy", base_fee + 1), (), 0, 0, None))

    gas_limit = 30_000_000
    if mode in ("txtypes", "generic") and draw(ints(0, 3)) == 0:
        # tight: the block runs out of gas depending on what the transactions use
        gas_limit = max(max(d.gas for d in drafts) + 10_000, sum(d.gas for d in drafts) // 2)
        features.add("tight block gas limit")

    nonces = dict({name: 0 for name in AUTHORITIES}, COINBASE=0, FRESH=0)
    nonces.update(sender_nonces)
    transactions = []
    blob_count = 0
    for d in drafts:
        tx = _tx_json(d, universe, initcodes, nonces, base_fee, blob_base_fee, gas_limit)
        transactions.append(tx)
        blob_count += d.blobs
        _label_tx(d, features)
    if blob_count > MAX_BLOBS_PER_BLOCK:
        features.add("blob gas of the block exceeded")

    if mode == "boundaries":
        _balances_at_the_boundary(draw, pre, universe, drafts, transactions, features)

    coinbase_passive = not _coinbase_touched(specs, listings, drafts, initcodes)

    # the coinbase is an EOA, or a contract whose SELFBALANCE reads it
    coinbase = "COINBASE"
    if mode in ("coinbase", "generic") and draw(st.booleans()):
        coinbase = "K1"
        coinbase_passive = False
        features.add("contract coinbase (K1)")
    if mode == "delegations" and draw(st.booleans()):
        coinbase = "E2"  # an authority: paid fees, maybe delegated, called, sending
        coinbase_passive = False
        features.add("coinbase is an authority")
    env = {
        "currentCoinbase": universe.hex(coinbase),
        "currentNumber": "0x100",
        "currentTimestamp": "0x6553f100",
        "currentGasLimit": hex(gas_limit),
        "currentRandom": "0x" + "5a" * 32,
        "currentDifficulty": "0x20000",
    }
    if fork_at_least(fork, "London"):
        env["currentBaseFee"] = hex(base_fee)
    if gen.cancun:
        env["currentExcessBlobGas"] = hex(excess_blob_gas)
    if base_fee == 0 and fork_at_least(fork, "London"):
        features.add("zero base fee")
    if gen.cancun and excess_blob_gas:
        features.add("blob base fee above 1")

    fixture = {
        "fork": fork,
        "env": env,
        "pre": pre,
        "transactions": transactions,
        "_mode": mode,
        "_burn_possible": burn_possible,
        "_coinbase_passive": coinbase_passive,
        "_names": {a: n for a, n in universe.names_by_address().items()
                   if a in pre or not n.startswith("pc")},
        "_contracts": listings,
        "_txs": [d.describe() for d in drafts],
    }
    features.add(f"fork {fork}")
    return Scenario(mode, fixture, features)


# How a sender's balance meets the up-front cost of its first transaction
# (gas limit x fee cap + value + blob gas x blob fee cap): the check sequential
# execution makes in revm and Block-STM defers for a lazy transfer to its commit.
BOUNDARIES = ("exact", "exact", "one more", "one short", "gas used, not the limit")


def upfront_cost(tx: dict[str, Any]) -> int:
    price = int(tx.get("maxFeePerGas") or tx["gasPrice"], 16)
    blob = len(tx.get("blobVersionedHashes", ())) * BLOB_GAS_PER_BLOB * int(tx.get("maxFeePerBlobGas", "0x0"), 16)
    return int(tx["gasLimit"], 16) * price + int(tx["value"], 16) + blob


def _balances_at_the_boundary(draw, pre: dict, universe: Universe, drafts: list[TxDraft],
                              transactions: list[dict], features: set[str]) -> None:
    """One sender of the pre-state gets a balance at a boundary of one of its
    transactions' up-front cost: exactly it, one wei more or less, or enough for the gas
    a transfer uses but not for its gas limit. At its first transaction the boundary is
    exact (nothing was spent before it); at its last, the balance is the up-front cost
    of every earlier one plus the last one's boundary, so the earlier ones stay valid
    and the refunds of their unused gas decide the last (the check Block-STM moves to
    the commit of a lazy transfer, and makes against values other transactions wrote).
    The block may turn invalid; both modes must say where and why. The other senders
    keep 10 ether."""
    chains: dict[str, list[dict]] = {}
    for d, tx in zip(drafts, transactions):
        if d.sender in SENDERS:
            chains.setdefault(d.sender, []).append(tx)
    if not chains:
        return
    sender = pick(draw, sorted(chains))
    chain = chains[sender]
    at_last = len(chain) > 1 and draw(st.booleans())
    target = chain[-1] if at_last else chain[0]
    earlier = sum(upfront_cost(tx) for tx in chain[:-1]) if at_last else 0
    cost = upfront_cost(target)
    how = pick(draw, BOUNDARIES)
    price = int(target.get("maxFeePerGas") or target["gasPrice"], 16)
    margin = {"exact": 0, "one more": 1, "one short": -1,
              "gas used, not the limit": -(int(target["gasLimit"], 16) - 21_000) * price}[how]
    if how == "gas used, not the limit" and margin >= 0:
        how, margin = "one short", -1  # a 21,000-gas transaction: no room between
    account = pre[universe.hex(sender)]
    # an account stays non-empty (EIP-7523): a nonce, or at least one wei
    account["balance"] = hex(max(earlier + cost + margin, 0 if int(account["nonce"], 16) else 1))
    features.add(f"sender balance: {how}, at its {'last' if at_last else 'first'} transaction")


def _with_redeploy_episode(draw, gen: Gen, drafts: list[TxDraft], senders: tuple[str, ...],
                           base_fee: int) -> list[TxDraft]:
    """Weave deploy -> destroy -> redeploy of one child into the drawn transactions
    (the others read and call it before, between and after). In Cancun only a
    contract created in the same transaction really goes (EIP-6780): the first deploy
    calls the self-destructing leaf at once; in Shanghai a later transaction does."""
    variant, salt = pick(draw, VARIANTS), pick(draw, SALTS)
    child = child_name(variant, salt)
    fee = ("legacy", base_fee + 1)
    same_tx = gen.cancun

    def deploy(then_call: bool) -> TxDraft:
        return TxDraft("deploy", pick(draw, senders), "FACTORY", 0, 0, 400_000, fee, (), 0, 0, None,
                       bytes([variant, salt, int(then_call)]))

    steps = [deploy(same_tx)]
    if not same_tx:
        steps.append(TxDraft("destroy", pick(draw, senders), child, LEAF, 0, 150_000, fee, (), 0, 0, None))
    steps.append(deploy(False))
    positions = sorted(draw(st.lists(ints(0, len(drafts)), min_size=len(steps), max_size=len(steps))))
    out = list(drafts)
    for offset, (at, step) in enumerate(zip(positions, steps)):
        out.insert(at + offset, step)
    return out


def _label_tx(d: TxDraft, features: set[str]) -> None:
    if d.fault:
        features.add(f"invalid tx: {d.fault}")
    if d.sender == "COINBASE":
        features.add("coinbase as sender")
    if d.sender == "FRESH":
        features.add("sender created in the block")
    if d.to == "COINBASE":
        features.add("value/tx to coinbase")
    if d.kind == "create":
        features.add("creation tx")
    if d.kind == "deploy":
        features.add("CREATE2 deploy tx" + (" + call in the same tx" if d.data[2] else ""))
    if d.kind == "destroy":
        features.add("self-destruct tx")
    if d.kind == "transfer" and d.to and is_code_name(d.to):
        features.add("raw transfer to a contract/created address")
    features.add(f"tx type {d.fee[0]}")
    for authority, delegate, rule, chain, parity_ok in d.auths:
        features.add("authorization" + ("" if rule == "ok" else f": {rule} nonce"))
        if chain != 1:
            features.add(f"authorization for chain {chain}")
        if not parity_ok:
            features.add("authorization with a bad y-parity")
        if delegate == "ZERO":
            features.add("delegation cleared")
        elif delegate.startswith("pc"):
            features.add("delegation to a precompile")
        elif delegate in AUTHORITIES:
            features.add("delegation to an authority")
        elif delegate == "COINBASE":
            features.add("delegation to the coinbase")
        if authority == d.sender:
            features.add("self-sponsored authorization")
    if d.to in AUTHORITIES:
        features.add(f"{d.kind} to an authority")
    if d.access:
        features.add("access list")
    if d.blobs:
        features.add("blob tx")


def _coinbase_touched(specs, listings, drafts, initcodes) -> bool:
    """Whether anything but fee payment may move the coinbase's balance (then the
    per-transaction coinbase check is skipped)."""
    if any(d.sender == "COINBASE" or d.to == "COINBASE" for d in drafts):
        return True
    for entries in listings.values():
        for line in entries:
            if "COINBASE" in line and ("call(" in line or "selfdestruct(" in line):
                return True
    return False


def _tx_json(d: TxDraft, universe: Universe, initcodes: dict[int, bytes], nonces: dict[str, int],
             base_fee: int, blob_base_fee: int, gas_limit: int) -> dict[str, Any]:
    nonce = nonces[d.sender]
    nonces[d.sender] = nonce + 1
    if d.fault == "nonce gap":
        nonce += 1
    elif d.fault == "nonce replay":
        nonce = nonce - 1 if nonce > 0 else nonce + 2
    tx: dict[str, Any] = {"sender": universe.hex(d.sender), "nonce": hex(nonce)}
    if d.kind == "create":
        tx["to"] = None
        tx["data"] = "0x" + initcodes[d.variant].hex()
    else:
        tx["to"] = universe.hex(d.to)
        tx["data"] = "0x" + (bytes([d.entry]) + d.data).hex() if d.entry is not None else "0x"
    value = d.value
    if d.fault == "insufficient funds":
        value = 100 * ETHER
    tx["value"] = hex(value)
    # the access list's intrinsic cost comes on top, so a 21,000-gas transfer stays valid
    gas = d.gas + sum(2400 + 1900 * len(slots) for _, slots in d.access)
    if d.fault == "gas above block":
        gas = gas_limit + 1
    tx["gasLimit"] = hex(gas)
    kind = d.fee[0]
    if kind in ("legacy", "access"):
        price = d.fee[1]
        if d.fault == "fee cap below base fee":
            price = base_fee - 1
        tx["gasPrice"] = hex(price)
    else:
        max_fee, priority = d.fee[1], d.fee[2]
        if d.fault == "fee cap below base fee":
            max_fee, priority = base_fee - 1, 0
        if d.fault == "priority above cap":
            priority = max_fee + 1
        tx["maxFeePerGas"] = hex(max_fee)
        tx["maxPriorityFeePerGas"] = hex(priority)
    if kind == "access" or d.access:
        tx["accessList"] = [{"address": universe.hex(name),
                             "storageKeys": ["0x" + s.to_bytes(32, "big").hex() for s in slots]}
                            for name, slots in d.access]
    if kind == "setcode":
        tx["type"] = "0x4"
        tx["authorizationList"] = [_signed_authorization(universe, nonces, *a) for a in d.auths]
    if kind == "blob":
        tx["blobVersionedHashes"] = BLOB_HASHES[:d.blobs]
        fee_cap = d.fee[3]
        if d.fault == "blob fee cap too low":
            fee_cap = blob_base_fee - 1
        tx["maxFeePerBlobGas"] = hex(fee_cap)
    return tx


def _signed_authorization(universe: Universe, nonces: dict[str, int], authority: str, delegate: str, rule: str,
                          chain: int, parity_ok: bool) -> dict[str, Any]:
    """An EIP-7702 authorization signed by ``authority``'s key. A valid one (the nonce
    the authority will have, chain 1 or 0, a good y-parity) bumps the tracked nonce:
    later transactions and authorizations of that account follow it."""
    current = nonces[authority]
    nonce = {"ok": current, "ahead": current + 1, "stale": current - 1 if current else current + 2}[rule]
    address = "0x" + "00" * 20 if delegate == "ZERO" else universe.hex(delegate)
    digest = keccak256(b"\x05" + rlp.encode((U256(chain), bytes.fromhex(address[2:]), U64(nonce))))
    sig = coincurve.PrivateKey(AUTHORITY_KEYS[authority]).sign_recoverable(digest, hasher=None)
    if rule == "ok" and chain in (0, 1) and parity_ok:
        nonces[authority] = current + 1
    return {"chainId": hex(chain), "address": address, "nonce": hex(nonce),
            "yParity": hex(sig[64] if parity_ok else 2), "r": "0x" + sig[:32].hex(), "s": "0x" + sig[32:64].hex(),
            "signer": universe.hex(authority)}
