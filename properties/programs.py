"""Generated contract programs: small trees of statements and expressions that
compile to EVM code through the assembler, and print as readable one-liners.

A contract is a list of entry points (``ENTRIES``); calldata byte 0 selects one
(no calldata: entry 0; an unknown entry: STOP). Statements name addresses of the
small universe (``"K1"``, ``"child01"``, ``"pc4"``), resolved at compile time.

Memory layout (every statement leaves memory words it does not own alone):
    0x00..0x20  call data byte / return buffer
    0x40        scratch word (a created address)
    0x80..      precompile input
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from .asm import Program
from .universe import ENTRIES, LEAF, Universe

# ---- compile context -------------------------------------------------------------------


@dataclass
class Ctx:
    universe: Optional[Universe]
    push0: bool
    cancun: bool
    initcodes: dict[int, bytes] = field(default_factory=dict)
    used_initcodes: set[int] = field(default_factory=set)
    labels: int = 0

    def p(self) -> Program:
        return Program(push0=self.push0)

    def op(self, name: str, *operands) -> Program:
        return self.p().op(name, *operands)

    def fresh_label(self, stem: str) -> str:
        self.labels += 1
        return f"{stem}_{self.labels}"

    def address(self, name: str) -> int:
        if self.universe is None:
            raise ValueError(f"address {name!r} used where the universe is not known yet")
        return self.universe[name]


# ---- expressions (push exactly one word) -------------------------------------------------


class Expr:
    def compile(self, ctx: Ctx) -> Program:
        raise NotImplementedError

    def names(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class Const(Expr):
    value: int

    def compile(self, ctx):
        return ctx.p().push(self.value)

    def __str__(self):
        return hex(self.value) if self.value > 255 else str(self.value)


@dataclass(frozen=True)
class SLoad(Expr):
    slot: int

    def compile(self, ctx):
        return ctx.op("SLOAD", self.slot)

    def __str__(self):
        return f"sload({self.slot})"


@dataclass(frozen=True)
class TLoad(Expr):
    slot: int

    def compile(self, ctx):
        return ctx.op("TLOAD", self.slot)

    def __str__(self):
        return f"tload({self.slot})"


@dataclass(frozen=True)
class AccountRead(Expr):
    """BALANCE / EXTCODEHASH / EXTCODESIZE of a named address."""
    opcode: str
    target: str

    def compile(self, ctx):
        return ctx.op(self.opcode, ctx.address(self.target))

    def names(self):
        return {self.target}

    def __str__(self):
        return f"{self.opcode.lower()}({self.target})"


@dataclass(frozen=True)
class Env(Expr):
    """A zero-operand opcode: CALLER, CALLVALUE, SELFBALANCE, GAS, COINBASE, ..."""
    opcode: str

    def compile(self, ctx):
        return ctx.op(self.opcode)

    def __str__(self):
        return self.opcode.lower()


@dataclass(frozen=True)
class Bin(Expr):
    """ADD / LT / GT / EQ of two expressions (``a OP b``)."""
    opcode: str
    a: Expr
    b: Expr

    def compile(self, ctx):
        return ctx.op(self.opcode, self.a.compile(ctx), self.b.compile(ctx))

    def names(self):
        return self.a.names() | self.b.names()

    def __str__(self):
        sym = {"ADD": "+", "LT": "<", "GT": ">", "EQ": "=="}.get(self.opcode, self.opcode)
        return f"({self.a} {sym} {self.b})"


@dataclass(frozen=True)
class IsZero(Expr):
    a: Expr

    def compile(self, ctx):
        return ctx.op("ISZERO", self.a.compile(ctx))

    def names(self):
        return self.a.names()

    def __str__(self):
        return f"!{self.a}"


# ---- statements ------------------------------------------------------------------------------


class Stmt:
    terminal = False  # ends the entry (nothing after it runs)

    def compile(self, ctx: Ctx, p: Program) -> None:
        raise NotImplementedError

    def names(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class SStore(Stmt):
    slot: int
    value: Expr

    def compile(self, ctx, p):
        p.sstore(self.slot, self.value.compile(ctx))

    def names(self):
        return self.value.names()

    def __str__(self):
        return f"sstore({self.slot}, {self.value})"


@dataclass(frozen=True)
class TStore(Stmt):
    slot: int
    value: Expr

    def compile(self, ctx, p):
        p.tstore(self.slot, self.value.compile(ctx))

    def names(self):
        return self.value.names()

    def __str__(self):
        return f"tstore({self.slot}, {self.value})"


@dataclass(frozen=True)
class Emit(Stmt):
    """LOG1 with the value as its topic: how programs record what they observed."""
    value: Expr

    def compile(self, ctx, p):
        p.log(1, 0, 0, self.value.compile(ctx))

    def names(self):
        return self.value.names()

    def __str__(self):
        return f"log({self.value})"


@dataclass(frozen=True)
class Call(Stmt):
    """CALL / CALLCODE / DELEGATECALL / STATICCALL; calldata is the entry byte when
    ``entry`` is set. Records LOG2(return word; RETURNDATASIZE, success)."""
    kind: str
    target: str
    value: int = 0
    gas: Optional[int] = None  # None: all the gas there is
    entry: Optional[int] = None

    def compile(self, ctx, p):
        address = ctx.address(self.target)
        gas = ctx.op("GAS") if self.gas is None else ctx.p().push(self.gas)
        args_size = 0
        if self.entry is not None:
            p.mstore8(0, self.entry)
            args_size = 1
        if self.kind in ("CALL", "CALLCODE"):
            call = ctx.op(self.kind, gas, address, self.value, 0, args_size, 0, 32)
        else:
            call = ctx.op(self.kind, gas, address, 0, args_size, 0, 32)
        # LOG2(return word; topics RETURNDATASIZE, success): operands are pushed last
        # first, so the call runs before RETURNDATASIZE reads its output
        p.op("LOG2", 0, 32, ctx.op("RETURNDATASIZE"), call)

    def names(self):
        return {self.target}

    def __str__(self):
        args = [self.target]
        if self.value:
            args.append(f"value={self.value}")
        if self.gas is not None:
            args.append(f"gas={self.gas}")
        if self.entry is not None:
            args.append(f"entry={self.entry}")
        return f"{self.kind.lower()}({', '.join(args)})"


@dataclass(frozen=True)
class Create(Stmt):
    """CREATE (salt None) or CREATE2 of child init-code ``variant``; logs the new
    address (0 on failure); ``then_call`` calls its leaf entry in the same
    transaction (with a self-destructing leaf: create and destroy in one tx)."""
    variant: int
    salt: Optional[int] = None
    value: int = 0
    then_call: bool = False

    def compile(self, ctx, p):
        code = ctx.initcodes[self.variant]
        ctx.used_initcodes.add(self.variant)
        p.op("CODECOPY", 0, f"initcode{self.variant}", len(code))
        if self.salt is None:
            p.op("CREATE", self.value, 0, len(code))
        else:
            p.op("CREATE2", self.value, 0, len(code), self.salt)
        p.op("DUP1").op("MSTORE", 0x40)  # MSTORE(0x40, address), address stays
        p.log(1, 0, 0)  # topic: the address on the stack
        if self.then_call:
            p.mstore8(0, LEAF)
            p.op("LOG2", 0, 32, ctx.op("RETURNDATASIZE"),
                 ctx.op("CALL", ctx.op("GAS"), ctx.op("MLOAD", 0x40), 0, 0, 1, 0, 32))

    def __str__(self):
        how = "create" if self.salt is None else f"create2(salt={self.salt}"
        text = f"{how}{'(' if self.salt is None else ', '}init={self.variant}"
        if self.value:
            text += f", value={self.value}"
        text += ")"
        return text + (" then call leaf" if self.then_call else "")


@dataclass(frozen=True)
class DeployFromCalldata(Stmt):
    """The factory's deploy entry: CREATE2 of init code ``calldata[1]`` (0 or 1) with
    salt ``calldata[2]``, endowed with CALLVALUE; logs the address; when
    ``calldata[3]`` is non-zero, calls the new child's leaf in the same transaction.
    Transactions pick the child, so a block can deploy, destroy and redeploy the
    same address."""

    def compile(self, ctx, p):
        one, go = ctx.fresh_label("variant1"), ctx.fresh_label("deploy")
        ctx.used_initcodes.update((0, 1))
        p.op("BYTE", 2, ctx.op("CALLDATALOAD", 0))  # salt, under the size
        p.jumpi(one, ctx.op("BYTE", 1, ctx.op("CALLDATALOAD", 0)))
        p.op("CODECOPY", 0, "initcode0", len(ctx.initcodes[0])).push(len(ctx.initcodes[0])).jump(go)
        p.label(one)
        p.op("CODECOPY", 0, "initcode1", len(ctx.initcodes[1])).push(len(ctx.initcodes[1]))
        p.label(go)
        p.op("CREATE2", ctx.op("CALLVALUE"), 0)  # (value, offset 0, size, salt)
        p.op("DUP1").op("MSTORE", 0x40)
        p.log(1, 0, 0)
        skip = ctx.fresh_label("no_call")
        p.jumpi(skip, ctx.op("ISZERO", ctx.op("BYTE", 3, ctx.op("CALLDATALOAD", 0))))
        p.mstore8(0, LEAF)
        p.op("LOG2", 0, 32, ctx.op("RETURNDATASIZE"),
             ctx.op("CALL", ctx.op("GAS"), ctx.op("MLOAD", 0x40), 0, 0, 1, 0, 32))
        p.label(skip)

    def __str__(self):
        return "create2(init=calldata[1], salt=calldata[2], value=callvalue) then call leaf if calldata[3]"


@dataclass(frozen=True)
class Precompile(Stmt):
    """Call precompile ``number`` with ``data``; records LOG2(first output word;
    RETURNDATASIZE, success)."""
    number: int
    data: bytes
    gas: Optional[int] = None

    def compile(self, ctx, p):
        p.mstore_bytes(0x80, self.data)
        gas = ctx.op("GAS") if self.gas is None else ctx.p().push(self.gas)
        call = ctx.op("STATICCALL", gas, self.number, 0x80, len(self.data), 0, 32)
        p.op("LOG2", 0, 32, ctx.op("RETURNDATASIZE"), call)

    def __str__(self):
        gas = "" if self.gas is None else f", gas={self.gas}"
        return f"precompile{self.number}({len(self.data)} bytes{gas})"


@dataclass(frozen=True)
class Spin(Stmt):
    """Burn engine time, not reference time: ``rounds`` KECCAK256s of 32 KiB (~6k gas
    each, tens of microseconds in revm, one C call each in EELS). A transaction that
    spins before writing keeps later readers of that write running concurrently
    with it, which is what makes Block-STM re-execute."""
    rounds: int

    def compile(self, ctx, p):
        for _ in range(self.rounds):
            p.op("POP", ctx.op("KECCAK256", 0, 0x8000))

    def __str__(self):
        return f"spin({self.rounds})"


@dataclass(frozen=True)
class SelfDestruct(Stmt):
    beneficiary: str  # a universe name, or "SELF"
    terminal = True

    def compile(self, ctx, p):
        target = ctx.op("ADDRESS") if self.beneficiary == "SELF" else ctx.address(self.beneficiary)
        p.selfdestruct(target)

    def names(self):
        return set() if self.beneficiary == "SELF" else {self.beneficiary}

    def __str__(self):
        return f"selfdestruct({self.beneficiary})"


@dataclass(frozen=True)
class Halt(Stmt):
    """STOP, RETURN(word), REVERT(word), INVALID, or OOG (a huge memory access)."""
    how: str
    value: Expr = Const(0)
    terminal = True

    def compile(self, ctx, p):
        if self.how == "STOP":
            p.stop()
        elif self.how in ("RETURN", "REVERT"):
            p.mstore(0, self.value.compile(ctx))
            p.op(self.how, 0, 32)
        elif self.how == "INVALID":
            p.invalid()
        elif self.how == "OOG":
            # a memory access at 4 GiB costs more gas than any transaction has: one
            # instruction that burns all gas (cheap for the interpreting reference)
            p.op("POP", ctx.op("MLOAD", 0xFFFFFFFF))
        else:
            raise ValueError(self.how)

    def names(self):
        return self.value.names()

    def __str__(self):
        if self.how in ("RETURN", "REVERT"):
            return f"{self.how.lower()}({self.value})"
        return self.how.lower()


@dataclass(frozen=True)
class If(Stmt):
    """Run ``body`` only when ``cond`` is non-zero (state-dependent control flow)."""
    cond: Expr
    body: Stmt

    def compile(self, ctx, p):
        skip = ctx.fresh_label("skip")
        p.jumpi(skip, ctx.op("ISZERO", self.cond.compile(ctx)))
        self.body.compile(ctx, p)
        p.label(skip)

    def names(self):
        return self.cond.names() | self.body.names()

    def __str__(self):
        return f"if {self.cond}: {self.body}"


# ---- contracts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractSpec:
    """A generated contract: ``entries[e]`` runs when calldata byte 0 is ``e``."""
    entries: tuple[tuple[Stmt, ...], ...]

    def names(self) -> set[str]:
        out: set[str] = set()
        for entry in self.entries:
            for stmt in entry:
                out |= stmt.names()
        return out

    def listing(self) -> list[str]:
        return [f"entry {e}: " + "; ".join(str(s) for s in entry) if entry else f"entry {e}: (nothing)"
                for e, entry in enumerate(self.entries)]

    def has(self, cls) -> bool:
        return any(_contains(stmt, cls) for entry in self.entries for stmt in entry)


def _contains(stmt: Stmt, cls) -> bool:
    return isinstance(stmt, cls) or (isinstance(stmt, If) and _contains(stmt.body, cls))


def compile_contract(spec: ContractSpec, ctx: Ctx) -> bytes:
    """Dispatch on calldata byte 0, one block per entry, then the init codes its
    Create statements copy out (as data after the last STOP)."""
    assert len(spec.entries) == ENTRIES
    p = ctx.p()
    p.op("SHR", 248, ctx.op("CALLDATALOAD", 0))
    for e in range(ENTRIES):
        p.jumpi(f"entry{e}", ctx.op("EQ", e, ctx.op("DUP1")))
    p.stop()
    for e, entry in enumerate(spec.entries):
        p.label(f"entry{e}").op("POP")
        for stmt in entry:
            stmt.compile(ctx, p)
            if stmt.terminal:
                break
        else:
            p.stop()
    for v in sorted(ctx.used_initcodes):
        p.mark(f"initcode{v}").raw(ctx.initcodes[v])
    return p.bytes()


def compile_constructor(stmts: tuple[Stmt, ...], ctx: Ctx) -> Program:
    p = ctx.p()
    for stmt in stmts:
        stmt.compile(ctx, p)
        if stmt.terminal:
            break
    return p


Node = Union[Expr, Stmt]
