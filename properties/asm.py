"""A small EVM assembler and disassembler (every opcode through Cancun).

Two ways to write a program:

* the builder, for code written in Python::

      from properties.asm import Program
      code = (Program()
              .sstore(0, 42)                    # PUSH1 42 PUSH0 SSTORE
              .label("loop")                    # JUMPDEST, named
              .op("SUB", 1, op("GAS"))          # operands: first one ends on top
              .jumpi("loop", op("DUP1"))
              .stop()
              .bytes())

  Every mnemonic is also a method (``Program().ADD(1, 2)``); its arguments are
  pushed in reverse, so the first argument is the top of the stack, i.e. the
  opcode's first operand, the order the Yellow Paper lists them in. An argument
  is an ``int`` (PUSH of the minimal width; negative = two's complement), ``bytes``
  (PUSH of exactly those bytes), a ``str`` (PUSH2 of a label's offset) or a
  :class:`Program` fragment inlined as is (it must leave one value on the stack).

* token lists or text, for tables and error messages::

      assemble(["PUSH1 0x01", "PUSH 0x1234", "loop:", "PUSH @loop", "JUMP"])
      assemble("PUSH1 1 PUSH1 2 ADD")

``disassemble(code)`` lists instructions; ``format_code(code)`` renders them one per
line (``0004: PUSH1 0x2a``) for assertion messages; the rendering re-assembles to
the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence, Union

__all__ = [
    "OPCODES",
    "BY_NAME",
    "OpInfo",
    "Program",
    "Instruction",
    "AsmError",
    "op",
    "assemble",
    "disassemble",
    "format_code",
    "push_bytes",
    "initcode_for",
    "opcodes_for",
    "FORK_ORDER",
    "listing_tokens",
    "stack_effect",
    "push_width",
]

WORD = 2**256


class AsmError(ValueError):
    """Bad mnemonic, operand or label."""


@dataclass(frozen=True)
class OpInfo:
    code: int
    name: str
    pops: int
    pushes: int
    immediate: int = 0  # bytes following the opcode (PUSHn)
    since: str = "Frontier"  # first fork that has it


#: ethereum/tests fork names, oldest first (what ``OpInfo.since`` refers to).
FORK_ORDER = (
    "Frontier", "Homestead", "EIP150", "EIP158", "Byzantium", "Constantinople",
    "ConstantinopleFix", "Istanbul", "Berlin", "London", "Paris", "Shanghai", "Cancun",
)


def _table() -> dict[int, OpInfo]:
    plain = [
        # code, name, pops, pushes, since
        (0x00, "STOP", 0, 0, "Frontier"),
        (0x01, "ADD", 2, 1, "Frontier"),
        (0x02, "MUL", 2, 1, "Frontier"),
        (0x03, "SUB", 2, 1, "Frontier"),
        (0x04, "DIV", 2, 1, "Frontier"),
        (0x05, "SDIV", 2, 1, "Frontier"),
        (0x06, "MOD", 2, 1, "Frontier"),
        (0x07, "SMOD", 2, 1, "Frontier"),
        (0x08, "ADDMOD", 3, 1, "Frontier"),
        (0x09, "MULMOD", 3, 1, "Frontier"),
        (0x0A, "EXP", 2, 1, "Frontier"),
        (0x0B, "SIGNEXTEND", 2, 1, "Frontier"),
        (0x10, "LT", 2, 1, "Frontier"),
        (0x11, "GT", 2, 1, "Frontier"),
        (0x12, "SLT", 2, 1, "Frontier"),
        (0x13, "SGT", 2, 1, "Frontier"),
        (0x14, "EQ", 2, 1, "Frontier"),
        (0x15, "ISZERO", 1, 1, "Frontier"),
        (0x16, "AND", 2, 1, "Frontier"),
        (0x17, "OR", 2, 1, "Frontier"),
        (0x18, "XOR", 2, 1, "Frontier"),
        (0x19, "NOT", 1, 1, "Frontier"),
        (0x1A, "BYTE", 2, 1, "Frontier"),
        (0x1B, "SHL", 2, 1, "Constantinople"),
        (0x1C, "SHR", 2, 1, "Constantinople"),
        (0x1D, "SAR", 2, 1, "Constantinople"),
        (0x20, "KECCAK256", 2, 1, "Frontier"),
        (0x30, "ADDRESS", 0, 1, "Frontier"),
        (0x31, "BALANCE", 1, 1, "Frontier"),
        (0x32, "ORIGIN", 0, 1, "Frontier"),
        (0x33, "CALLER", 0, 1, "Frontier"),
        (0x34, "CALLVALUE", 0, 1, "Frontier"),
        (0x35, "CALLDATALOAD", 1, 1, "Frontier"),
        (0x36, "CALLDATASIZE", 0, 1, "Frontier"),
        (0x37, "CALLDATACOPY", 3, 0, "Frontier"),
        (0x38, "CODESIZE", 0, 1, "Frontier"),
        (0x39, "CODECOPY", 3, 0, "Frontier"),
        (0x3A, "GASPRICE", 0, 1, "Frontier"),
        (0x3B, "EXTCODESIZE", 1, 1, "Frontier"),
        (0x3C, "EXTCODECOPY", 4, 0, "Frontier"),
        (0x3D, "RETURNDATASIZE", 0, 1, "Byzantium"),
        (0x3E, "RETURNDATACOPY", 3, 0, "Byzantium"),
        (0x3F, "EXTCODEHASH", 1, 1, "Constantinople"),
        (0x40, "BLOCKHASH", 1, 1, "Frontier"),
        (0x41, "COINBASE", 0, 1, "Frontier"),
        (0x42, "TIMESTAMP", 0, 1, "Frontier"),
        (0x43, "NUMBER", 0, 1, "Frontier"),
        (0x44, "PREVRANDAO", 0, 1, "Frontier"),  # DIFFICULTY before Paris
        (0x45, "GASLIMIT", 0, 1, "Frontier"),
        (0x46, "CHAINID", 0, 1, "Istanbul"),
        (0x47, "SELFBALANCE", 0, 1, "Istanbul"),
        (0x48, "BASEFEE", 0, 1, "London"),
        (0x49, "BLOBHASH", 1, 1, "Cancun"),
        (0x4A, "BLOBBASEFEE", 0, 1, "Cancun"),
        (0x50, "POP", 1, 0, "Frontier"),
        (0x51, "MLOAD", 1, 1, "Frontier"),
        (0x52, "MSTORE", 2, 0, "Frontier"),
        (0x53, "MSTORE8", 2, 0, "Frontier"),
        (0x54, "SLOAD", 1, 1, "Frontier"),
        (0x55, "SSTORE", 2, 0, "Frontier"),
        (0x56, "JUMP", 1, 0, "Frontier"),
        (0x57, "JUMPI", 2, 0, "Frontier"),
        (0x58, "PC", 0, 1, "Frontier"),
        (0x59, "MSIZE", 0, 1, "Frontier"),
        (0x5A, "GAS", 0, 1, "Frontier"),
        (0x5B, "JUMPDEST", 0, 0, "Frontier"),
        (0x5C, "TLOAD", 1, 1, "Cancun"),
        (0x5D, "TSTORE", 2, 0, "Cancun"),
        (0x5E, "MCOPY", 3, 0, "Cancun"),
        (0x5F, "PUSH0", 0, 1, "Shanghai"),
        (0xF0, "CREATE", 3, 1, "Frontier"),
        (0xF1, "CALL", 7, 1, "Frontier"),
        (0xF2, "CALLCODE", 7, 1, "Frontier"),
        (0xF3, "RETURN", 2, 0, "Frontier"),
        (0xF4, "DELEGATECALL", 6, 1, "Homestead"),
        (0xF5, "CREATE2", 4, 1, "Constantinople"),
        (0xFA, "STATICCALL", 6, 1, "Byzantium"),
        (0xFD, "REVERT", 2, 0, "Byzantium"),
        (0xFE, "INVALID", 0, 0, "Frontier"),
        (0xFF, "SELFDESTRUCT", 1, 0, "Frontier"),
    ]
    table = {c: OpInfo(c, n, p, q, 0, s) for c, n, p, q, s in plain}
    for n in range(1, 33):
        table[0x5F + n] = OpInfo(0x5F + n, f"PUSH{n}", 0, 1, n)
    for n in range(1, 17):
        table[0x7F + n] = OpInfo(0x7F + n, f"DUP{n}", n, n + 1)
        table[0x8F + n] = OpInfo(0x8F + n, f"SWAP{n}", n + 1, n + 1)
    for n in range(5):
        table[0xA0 + n] = OpInfo(0xA0 + n, f"LOG{n}", 2 + n, 0)
    return dict(sorted(table.items()))


#: opcode byte -> OpInfo, every opcode defined through Cancun.
OPCODES: dict[int, OpInfo] = _table()
#: mnemonic -> OpInfo (with the old names SHA3, DIFFICULTY, SUICIDE as aliases).
BY_NAME: dict[str, OpInfo] = {info.name: info for info in OPCODES.values()}
BY_NAME.update(SHA3=BY_NAME["KECCAK256"], DIFFICULTY=BY_NAME["PREVRANDAO"],
               SUICIDE=BY_NAME["SELFDESTRUCT"])


def opcodes_for(fork: str) -> dict[int, OpInfo]:
    """The opcodes defined in ``fork`` (an ethereum/tests fork name)."""
    level = FORK_ORDER.index(fork)
    return {c: i for c, i in OPCODES.items() if FORK_ORDER.index(i.since) <= level}


def _word(value: int) -> int:
    if not -(WORD // 2) <= value < WORD:
        raise AsmError(f"value {value} does not fit in 256 bits")
    return value % WORD


def push_bytes(value: int | bytes, *, push0: bool = True, width: int | None = None) -> bytes:
    """Encoding of a PUSH of ``value``: the narrowest PUSH unless ``width`` is given;
    zero is PUSH0 when ``push0`` (Shanghai on), else PUSH1 0x00."""
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        if width is not None and width != len(data):
            raise AsmError(f"PUSH{width} of {len(data)} bytes")
        if not 1 <= len(data) <= 32:
            if not data and push0:
                return b"\x5f"
            raise AsmError(f"cannot PUSH {len(data)} bytes")
        return bytes([0x5F + len(data)]) + data
    if isinstance(value, bool) or not isinstance(value, int):
        raise AsmError(f"cannot PUSH {value!r}")
    value = _word(value)
    if width is None:
        if value == 0 and push0:
            return b"\x5f"
        width = max(1, (value.bit_length() + 7) // 8)
    if width == 0:
        if value != 0:
            raise AsmError("PUSH0 of a non-zero value")
        return b"\x5f"
    if not 1 <= width <= 32 or value >= 1 << (8 * width):
        raise AsmError(f"value {value:#x} does not fit PUSH{width}")
    return bytes([0x5F + width]) + value.to_bytes(width, "big")


# A program is a list of parts: raw bytes, a label definition, or a label reference
# (PUSH2 of the label's offset, filled in when the program is assembled).
@dataclass(frozen=True)
class _LabelDef:
    name: str


@dataclass(frozen=True)
class _LabelRef:
    name: str


LABEL_PUSH_WIDTH = 2  # code is at most 24 KiB (init code 48 KiB): two bytes address it

Operand = Union[int, bytes, str, "Program"]


class Program:
    """An EVM program under construction; every method returns ``self`` to chain.

    ``push0=False`` encodes zero as ``PUSH1 0x00`` (for forks before Shanghai)."""

    def __init__(self, *, push0: bool = True) -> None:
        self.push0 = push0
        self._parts: list[bytes | _LabelDef | _LabelRef] = []

    # ---- primitives -------------------------------------------------------------

    def raw(self, data: bytes) -> Program:
        """Append bytes as they are (data, or code assembled elsewhere)."""
        self._parts.append(bytes(data))
        return self

    def push(self, value: Operand, width: int | None = None) -> Program:
        """PUSH an int / bytes (minimal width unless ``width``), a label (``str``:
        PUSH2 of its offset) or inline a fragment (``Program``)."""
        if isinstance(value, str):
            if width not in (None, LABEL_PUSH_WIDTH):
                raise AsmError(f"labels are pushed with PUSH{LABEL_PUSH_WIDTH}")
            self._parts.append(_LabelRef(value))
        elif isinstance(value, Program):
            self._parts.extend(value._parts)
        else:
            self._parts.append(push_bytes(value, push0=self.push0, width=width))
        return self

    def op(self, name: str, *operands: Operand) -> Program:
        """Push ``operands`` (the first ends on top of the stack) then emit ``name``.

        ``op("PUSH3", 5)`` is a fixed-width push; ``op("PUSH", 5)`` the narrowest."""
        upper = name.upper()
        if upper == "PUSH0" and not operands:
            self._parts.append(b"\x5f")
            return self
        if upper == "PUSH" or (upper.startswith("PUSH") and upper[4:].isdigit()):
            if len(operands) != 1:
                raise AsmError(f"{upper} takes exactly one value")
            width = None if upper == "PUSH" else int(upper[4:])
            return self.push(operands[0], width)
        info = BY_NAME.get(upper)
        if info is None:
            raise AsmError(f"unknown mnemonic {name!r}")
        if len(operands) > info.pops:
            raise AsmError(f"{info.name} takes at most {info.pops} operands, got {len(operands)}")
        for operand in reversed(operands):
            self.push(operand)
        self._parts.append(bytes([info.code]))
        return self

    def __getattr__(self, name: str):
        # Program().ADD(1, 2), .PUSH3(5), .SWAP1(): every mnemonic is a method.
        if name.isupper() and (name in BY_NAME or name.startswith("PUSH")):
            return lambda *operands: self.op(name, *operands)
        raise AttributeError(name)

    def label(self, name: str) -> Program:
        """Define ``name`` here and emit the JUMPDEST it lands on."""
        self._parts.append(_LabelDef(name))
        self._parts.append(b"\x5b")
        return self

    def mark(self, name: str) -> Program:
        """Define ``name`` here without a JUMPDEST (an offset for CODECOPY, say)."""
        self._parts.append(_LabelDef(name))
        return self

    def extend(self, other: Program | bytes) -> Program:
        """Append another program (its labels join this one's) or raw bytes."""
        if isinstance(other, Program):
            self._parts.extend(other._parts)
        else:
            self.raw(other)
        return self

    # ---- control flow -----------------------------------------------------------

    def jump(self, target: Operand) -> Program:
        return self.op("JUMP", target)

    def jumpi(self, target: Operand, condition: Operand | None = None) -> Program:
        """Jump to ``target`` if ``condition`` (default: the value on the stack)."""
        if condition is None:
            return self.op("JUMPI", target)
        return self.op("JUMPI", target, condition)

    def stop(self) -> Program:
        return self.op("STOP")

    def ret(self, offset: Operand = 0, size: Operand = 0) -> Program:
        return self.op("RETURN", offset, size)

    def revert(self, offset: Operand = 0, size: Operand = 0) -> Program:
        return self.op("REVERT", offset, size)

    def invalid(self) -> Program:
        return self.op("INVALID")

    def selfdestruct(self, beneficiary: Operand) -> Program:
        return self.op("SELFDESTRUCT", beneficiary)

    def return_word(self, value: Operand) -> Program:
        """Return one 32-byte word (stored at memory 0)."""
        return self.mstore(0, value).ret(0, 32)

    # ---- storage and memory -----------------------------------------------------

    def sstore(self, slot: Operand, value: Operand) -> Program:
        return self.op("SSTORE", slot, value)

    def sload(self, slot: Operand) -> Program:
        return self.op("SLOAD", slot)

    def tstore(self, slot: Operand, value: Operand) -> Program:
        return self.op("TSTORE", slot, value)

    def tload(self, slot: Operand) -> Program:
        return self.op("TLOAD", slot)

    def mstore(self, offset: Operand, value: Operand) -> Program:
        return self.op("MSTORE", offset, value)

    def mstore8(self, offset: Operand, value: Operand) -> Program:
        return self.op("MSTORE8", offset, value)

    def mload(self, offset: Operand) -> Program:
        return self.op("MLOAD", offset)

    def mstore_bytes(self, offset: int, data: bytes) -> Program:
        """Write ``data`` to memory at ``offset`` exactly (whole words by MSTORE,
        the tail byte by byte), touching no byte outside it."""
        whole = len(data) - len(data) % 32
        for i in range(0, whole, 32):
            self.mstore(offset + i, data[i:i + 32])
        for i in range(whole, len(data)):
            self.mstore8(offset + i, data[i])
        return self

    # ---- calls and creation -----------------------------------------------------

    def call(self, gas: Operand | None, address: Operand, value: Operand = 0,
             args_offset: Operand = 0, args_size: Operand = 0,
             ret_offset: Operand = 0, ret_size: Operand = 0) -> Program:
        """CALL; ``gas=None`` forwards everything (the GAS opcode)."""
        return self.op("CALL", _gas(gas), address, value, args_offset, args_size,
                       ret_offset, ret_size)

    def callcode(self, gas: Operand | None, address: Operand, value: Operand = 0,
                 args_offset: Operand = 0, args_size: Operand = 0,
                 ret_offset: Operand = 0, ret_size: Operand = 0) -> Program:
        return self.op("CALLCODE", _gas(gas), address, value, args_offset, args_size,
                       ret_offset, ret_size)

    def delegatecall(self, gas: Operand | None, address: Operand,
                     args_offset: Operand = 0, args_size: Operand = 0,
                     ret_offset: Operand = 0, ret_size: Operand = 0) -> Program:
        return self.op("DELEGATECALL", _gas(gas), address, args_offset, args_size,
                       ret_offset, ret_size)

    def staticcall(self, gas: Operand | None, address: Operand,
                   args_offset: Operand = 0, args_size: Operand = 0,
                   ret_offset: Operand = 0, ret_size: Operand = 0) -> Program:
        return self.op("STATICCALL", _gas(gas), address, args_offset, args_size,
                       ret_offset, ret_size)

    def create(self, value: Operand = 0, offset: Operand = 0, size: Operand = 0) -> Program:
        return self.op("CREATE", value, offset, size)

    def create2(self, value: Operand = 0, offset: Operand = 0, size: Operand = 0,
                salt: Operand = 0) -> Program:
        return self.op("CREATE2", value, offset, size, salt)

    def deploy(self, initcode: bytes, value: Operand = 0, salt: Operand | None = None,
               offset: int = 0) -> Program:
        """Write ``initcode`` to memory at ``offset`` and CREATE (CREATE2 when ``salt``
        is given) from it; leaves the new address (0 on failure) on the stack."""
        self.mstore_bytes(offset, initcode)
        if salt is None:
            return self.create(value, offset, len(initcode))
        return self.create2(value, offset, len(initcode), salt)

    def log(self, n: int, offset: Operand = 0, size: Operand = 0, *topics: Operand) -> Program:
        """LOG``n`` of memory[offset:offset+size] with ``n`` topics (given, or on
        the stack when none are given)."""
        if not 0 <= n <= 4:
            raise AsmError(f"LOG{n} does not exist")
        if topics and len(topics) != n:
            raise AsmError(f"LOG{n} needs {n} topics, got {len(topics)}")
        if topics:
            return self.op(f"LOG{n}", offset, size, *topics)
        # topics already on the stack, under the offset and size we push now
        return self.op(f"LOG{n}", offset, size)

    # ---- output -----------------------------------------------------------------

    def bytes(self) -> bytes:
        """Assemble: resolve labels (second pass) and return the code."""
        offsets: dict[str, int] = {}
        pc = 0
        for part in self._parts:
            if isinstance(part, _LabelDef):
                if part.name in offsets:
                    raise AsmError(f"label {part.name!r} defined twice")
                offsets[part.name] = pc
            elif isinstance(part, _LabelRef):
                pc += 1 + LABEL_PUSH_WIDTH
            else:
                pc += len(part)
        out = bytearray()
        for part in self._parts:
            if isinstance(part, _LabelRef):
                if part.name not in offsets:
                    raise AsmError(f"undefined label {part.name!r}")
                out += push_bytes(offsets[part.name], width=LABEL_PUSH_WIDTH)
            elif not isinstance(part, _LabelDef):
                out += part
        return bytes(out)

    def hex(self) -> str:
        return "0x" + self.bytes().hex()

    def size(self) -> int:
        return len(self.bytes())

    def __repr__(self) -> str:
        try:
            return f"Program({format_code(self.bytes(), inline=True)})"
        except AsmError as exc:
            return f"Program(<{exc}>)"


def _gas(gas: Operand | None) -> Operand:
    return op("GAS") if gas is None else gas


def op(name: str, *operands: Operand, push0: bool = True) -> Program:
    """A one-instruction fragment, e.g. an operand computed at run time:
    ``Program().sstore(0, op("CALLER"))``."""
    return Program(push0=push0).op(name, *operands)


def initcode_for(runtime: bytes | Program, *, constructor: Program | bytes | None = None,
                 push0: bool = True) -> bytes:
    """Init code that runs ``constructor`` (if any) and deploys ``runtime``.

    The runtime code is appended after the init code and copied out with CODECOPY."""
    body = runtime.bytes() if isinstance(runtime, Program) else bytes(runtime)
    p = Program(push0=push0)
    if constructor is not None:
        p.extend(constructor)
    # CODECOPY(dest=0, offset=runtime start, size) ; RETURN(0, size)
    p.op("CODECOPY", 0, "__runtime", push_width(len(body)))
    p.ret(0, push_width(len(body)))
    p.mark("__runtime")
    return p.bytes() + body


def push_width(value: int) -> bytes:
    """``value`` as big-endian bytes of minimal width (at least one byte): for PUSHes
    whose encoding must not depend on the push0 setting."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


# ---- text form and disassembly --------------------------------------------------------


def assemble(source: str | Iterable[str], *, push0: bool = True) -> bytes:
    """Assemble tokens: ``"PUSH1 0x01"`` (fixed width), ``"PUSH 300"`` (narrowest),
    ``"PUSH @loop"`` (label), ``"loop:"`` (label + JUMPDEST), ``"0x6001"`` (raw bytes),
    any mnemonic. A string source is split on whitespace, newlines and ``;``."""
    if isinstance(source, str):
        tokens = source.replace(";", " ").split()
    else:
        tokens = []
        for item in source:
            tokens.extend(item.split())
    p = Program(push0=push0)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        upper = tok.upper()
        i += 1
        if tok.endswith(":") and len(tok) > 1:
            p.label(tok[:-1])
        elif upper == "PUSH" or (upper.startswith("PUSH") and upper[4:].isdigit() and upper != "PUSH0"):
            if i >= len(tokens):
                raise AsmError(f"{tok} needs a value")
            arg = tokens[i]
            i += 1
            width = None if upper == "PUSH" else int(upper[4:])
            if arg.startswith("@"):
                p.push(arg[1:], width)
            elif width is not None and arg.lower().startswith("0x") and len(arg) == 2 + 2 * width:
                p.push(bytes.fromhex(arg[2:]), width)  # keeps leading zero bytes
            else:
                p.push(int(arg, 0), width)
        elif upper.startswith("0X"):
            p.raw(bytes.fromhex(tok[2:]))
        elif upper in BY_NAME:
            p.op(upper)
        else:
            raise AsmError(f"unknown token {tok!r}")
    return p.bytes()


@dataclass(frozen=True)
class Instruction:
    pc: int
    name: str  # mnemonic, or "UNKNOWN_0x0c" for an undefined byte
    immediate: bytes = b""
    truncated: bool = False  # a PUSH cut short by the end of the code

    def __str__(self) -> str:
        if self.name.startswith("PUSH") and self.name != "PUSH0":
            text = f"{self.name} 0x{self.immediate.hex()}"
            return text + " (truncated)" if self.truncated else text
        return self.name


def disassemble(code: bytes) -> list[Instruction]:
    """Every instruction of ``code``, PUSH data skipped over as the EVM does."""
    out = []
    pc = 0
    while pc < len(code):
        byte = code[pc]
        info = OPCODES.get(byte)
        if info is None:
            out.append(Instruction(pc, f"UNKNOWN_0x{byte:02x}"))
            pc += 1
            continue
        data = code[pc + 1:pc + 1 + info.immediate]
        out.append(Instruction(pc, info.name, data, len(data) < info.immediate))
        pc += 1 + info.immediate
    return out


def format_code(code: bytes, *, inline: bool = False, limit: int | None = None) -> str:
    """Readable listing of ``code`` (``"0004: PUSH1 0x2a"`` per line, or ``"PUSH1 0x2a
    ADD ..."`` when ``inline``). Truncated PUSH data and unknown bytes are shown as
    raw hex so the listing still re-assembles to the same bytes."""
    items = []
    for ins in disassemble(code):
        if ins.truncated or ins.name.startswith("UNKNOWN"):
            text = "0x" + code[ins.pc:ins.pc + 1 + len(ins.immediate)].hex()
        else:
            text = str(ins)
        items.append(text if inline else f"{ins.pc:04x}: {text}")
    if limit is not None and len(items) > limit:
        items = items[:limit] + [f"... ({len(items) - limit} more)"]
    return " ".join(items) if inline else "\n".join(items)


def listing_tokens(code: bytes) -> list[str]:
    """Tokens that :func:`assemble` turns back into exactly ``code``."""
    return format_code(code, inline=True).split(" ") if code else []


def stack_effect(code: bytes | Sequence[Instruction]) -> tuple[int, int]:
    """(deepest stack access, net change) of straight-line code; for generators that
    splice fragments and need them balanced."""
    instructions = disassemble(code) if isinstance(code, (bytes, bytearray)) else code
    depth = need = 0
    for ins in instructions:
        info = BY_NAME.get(ins.name)
        if info is None:
            continue
        need = max(need, info.pops - depth)
        depth += info.pushes - info.pops
    return need, depth
