"""The assembler: known encodings, labels, helpers, the opcode table against EELS,
and disassembly round trips."""

import importlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from properties.asm import (
    BY_NAME,
    FORK_ORDER,
    OPCODES,
    AsmError,
    Program,
    assemble,
    disassemble,
    format_code,
    initcode_for,
    listing_tokens,
    op,
    opcodes_for,
    push_bytes,
    stack_effect,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# ---- PUSH encoding --------------------------------------------------------------------


@pytest.mark.parametrize("value, push0, expected", [
    (0, True, "5f"),
    (0, False, "6000"),
    (1, True, "6001"),
    (0xFF, True, "60ff"),
    (0x100, True, "610100"),
    (0xFFFF, True, "61ffff"),
    (0x10000, True, "62010000"),
    (2**256 - 1, True, "7f" + "ff" * 32),
    (-1, True, "7f" + "ff" * 32),  # two's complement
    (-2**255, True, "7f80" + "00" * 31),
    (2**248, True, "7f01" + "00" * 31),
])
def test_push_picks_the_narrowest_width(value, push0, expected):
    assert push_bytes(value, push0=push0) == h(expected)
    assert Program(push0=push0).push(value).bytes() == h(expected)


def test_push_of_bytes_keeps_leading_zeros_and_fixed_width():
    assert push_bytes(b"\x00\x01") == h("610001")
    assert Program().push(1, width=4).bytes() == h("6300000001")
    assert Program().PUSH3(5).bytes() == h("62000005")
    assert Program().op("PUSH", 0x1234).bytes() == h("611234")


@pytest.mark.parametrize("bad", [2**256, -2**255 - 1])
def test_push_rejects_values_outside_256_bits(bad):
    with pytest.raises(AsmError):
        push_bytes(bad)


def test_push_rejects_a_width_too_small():
    with pytest.raises(AsmError):
        Program().push(0x100, width=1)


# ---- opcodes and operands ----------------------------------------------------------------


def test_cancun_opcodes_have_their_bytes():
    expected = {"STOP": 0x00, "KECCAK256": 0x20, "BLOBHASH": 0x49, "BLOBBASEFEE": 0x4A,
                "TLOAD": 0x5C, "TSTORE": 0x5D, "MCOPY": 0x5E, "PUSH0": 0x5F, "PUSH1": 0x60,
                "PUSH32": 0x7F, "DUP1": 0x80, "DUP16": 0x8F, "SWAP1": 0x90, "SWAP16": 0x9F,
                "LOG0": 0xA0, "LOG4": 0xA4, "CREATE2": 0xF5, "STATICCALL": 0xFA,
                "REVERT": 0xFD, "INVALID": 0xFE, "SELFDESTRUCT": 0xFF, "PREVRANDAO": 0x44,
                "SHA3": 0x20, "DIFFICULTY": 0x44}
    for name, code in expected.items():
        assert BY_NAME[name].code == code, name
    assert len(OPCODES) == 149


# The fork whose EELS opcode set each fixture fork name must match.
EELS_PACKAGE = {"Frontier": "frontier", "Homestead": "homestead", "EIP150": "tangerine_whistle",
                "EIP158": "spurious_dragon", "Byzantium": "byzantium",
                "Constantinople": "constantinople", "ConstantinopleFix": "constantinople",
                "Istanbul": "istanbul", "Berlin": "berlin", "London": "london", "Paris": "paris",
                "Shanghai": "shanghai", "Cancun": "cancun"}


@pytest.mark.parametrize("fork", FORK_ORDER)
def test_opcode_table_matches_eels_per_fork(fork):
    ops = importlib.import_module(f"ethereum.forks.{EELS_PACKAGE[fork]}.vm.instructions").Ops
    eels = {o.value for o in ops}
    ours = set(opcodes_for(fork)) - {0xFE}  # INVALID is "undefined" to EELS
    assert ours == eels, (sorted(hex(c) for c in ours - eels), sorted(hex(c) for c in eels - ours))


def test_stack_arities_match_the_yellow_paper_for_a_sample():
    assert (BY_NAME["CALL"].pops, BY_NAME["CALL"].pushes) == (7, 1)
    assert (BY_NAME["DELEGATECALL"].pops, BY_NAME["DELEGATECALL"].pushes) == (6, 1)
    assert (BY_NAME["CREATE2"].pops, BY_NAME["CREATE2"].pushes) == (4, 1)
    assert (BY_NAME["DUP3"].pops, BY_NAME["DUP3"].pushes) == (3, 4)
    assert (BY_NAME["SWAP2"].pops, BY_NAME["SWAP2"].pushes) == (3, 3)
    assert (BY_NAME["LOG3"].pops, BY_NAME["LOG3"].pushes) == (5, 0)
    assert (BY_NAME["MCOPY"].pops, BY_NAME["MCOPY"].pushes) == (3, 0)


def test_operands_are_pushed_so_the_first_is_on_top():
    # SSTORE(key, value): value pushed first, key last (top of stack)
    assert Program().sstore(1, 2).bytes() == h("6002 6001 55")
    assert Program().op("SUB", 10, 3).bytes() == h("6003 600a 03")  # 10 - 3
    assert Program().mstore(0, 0xABCD).bytes() == h("61abcd 5f 52")
    assert Program().tstore(7, 8).tload(7).bytes() == h("6008 6007 5d 6007 5c")


def test_fragments_as_operands():
    code = Program().sstore(0, op("CALLER")).bytes()
    assert code == h("33 5f 55")
    code = Program().sstore(op("CALLVALUE"), op("ADD", 1, op("NUMBER"))).bytes()
    assert code == h("43 6001 01 34 55")


def test_call_helpers():
    # CALL(gas, addr, value, argsOffset, argsSize, retOffset, retSize), GAS when gas=None
    code = Program().call(None, 0xAA, 5, 0, 4, 32, 32).bytes()
    assert code == h("6020 6020 6004 5f 6005 60aa 5a f1")
    assert Program().staticcall(1000, 0xAA).bytes() == h("5f 5f 5f 5f 60aa 6103e8 fa")
    assert Program().delegatecall(None, 0xAA).bytes() == h("5f 5f 5f 5f 60aa 5a f4")
    assert Program().create2(0, 0, 10, 0x77).bytes() == h("6077 600a 5f 5f f5")
    assert Program().log(2, 0, 32, 0x11, 0x22).bytes() == h("6022 6011 6020 5f a2")
    assert Program().selfdestruct(0xBEEF).bytes() == h("61beef ff")
    assert Program().revert().bytes() == h("5f 5f fd")
    assert Program().ret(0, 32).bytes() == h("6020 5f f3")


def test_too_many_operands_and_unknown_names_are_errors():
    with pytest.raises(AsmError):
        Program().op("ADD", 1, 2, 3)
    with pytest.raises(AsmError):
        Program().op("FOO")
    with pytest.raises(AsmError):
        Program().log(5)


# ---- labels ----------------------------------------------------------------------------


def test_labels_resolve_forward_and_backward():
    p = Program().jump("end").label("loop").jump("loop").label("end").stop()
    # 0: PUSH2 end, 3: JUMP, 4: JUMPDEST (loop), 5: PUSH2 loop, 8: JUMP, 9: JUMPDEST (end)
    assert p.bytes() == h("610009 56 5b 610004 56 5b 00")
    ins = disassemble(p.bytes())
    assert [i.name for i in ins] == ["PUSH2", "JUMP", "JUMPDEST", "PUSH2", "JUMP", "JUMPDEST", "STOP"]


def test_jumpi_with_condition():
    p = Program().jumpi("t", 1).stop().label("t")
    assert p.bytes() == h("6001 610007 57 00 5b")


def test_undefined_and_duplicate_labels_are_errors():
    with pytest.raises(AsmError, match="undefined"):
        Program().jump("nowhere").bytes()
    with pytest.raises(AsmError, match="twice"):
        Program().label("a").label("a").bytes()


def test_extend_merges_labels():
    body = Program().label("x").stop()
    p = Program().jump("x").extend(body)
    assert p.bytes() == h("610004 56 5b 00")


# ---- text assembly ------------------------------------------------------------------------


def test_assemble_tokens_and_text():
    assert assemble(["PUSH1 0x01", "PUSH1 0x02", "ADD"]) == h("6001 6002 01")
    assert assemble("PUSH1 1 PUSH1 2 ADD") == h("6001 6002 01")
    assert assemble("PUSH 300; PUSH0; SSTORE") == h("61012c 5f 55")
    assert assemble("PUSH2 0x0001") == h("610001")
    assert assemble("PUSH @end JUMP end: STOP") == h("610004 56 5b 00")
    assert assemble("0xdeadbeef STOP") == h("deadbeef 00")
    assert assemble("PUSH 0", push0=False) == h("6000")
    with pytest.raises(AsmError):
        assemble("PUSH1")
    with pytest.raises(AsmError):
        assemble("NOTANOP")


# ---- disassembly ---------------------------------------------------------------------------


def test_disassemble_known_sequence():
    code = h("602a 5f 55 7f" + "11" * 32 + "fe 0c 61ff")
    ins = disassemble(code)
    assert [(i.pc, str(i)) for i in ins] == [
        (0, "PUSH1 0x2a"), (2, "PUSH0"), (3, "SSTORE"), (4, "PUSH32 0x" + "11" * 32),
        (37, "INVALID"), (38, "UNKNOWN_0x0c"), (39, "PUSH2 0xff (truncated)"),
    ]
    listing = format_code(code)
    assert listing.splitlines()[0] == "0000: PUSH1 0x2a"
    assert "0027: 0x61ff" in listing  # truncated push shown raw


def test_format_code_limit():
    text = format_code(bytes(10), limit=3)
    assert text.splitlines()[-1] == "... (7 more)"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_disassembly_reassembles_to_the_same_bytes(code):
    assert assemble(listing_tokens(code)) == code
    # and instructions tile the code exactly
    total = sum(1 + len(i.immediate) for i in disassemble(code))
    assert total == len(code)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**256 - 1), st.booleans())
def test_push_round_trip(value, push0):
    code = push_bytes(value, push0=push0)
    (ins,) = disassemble(code)
    assert int.from_bytes(ins.immediate or b"\0", "big") == value
    assert assemble(listing_tokens(code)) == code


# ---- code generation helpers ---------------------------------------------------------------


def test_initcode_for_layout():
    runtime = Program().return_word(7).bytes()
    init = initcode_for(runtime)
    assert init.endswith(runtime)
    prefix = init[: len(init) - len(runtime)]
    names = [str(i) for i in disassemble(prefix)]
    # CODECOPY(0, start, len) then RETURN(0, len)
    assert names == [f"PUSH1 0x{len(runtime):02x}", f"PUSH2 0x{len(prefix):04x}", "PUSH0",
                     "CODECOPY", f"PUSH1 0x{len(runtime):02x}", "PUSH0", "RETURN"]
    assert 0x5F not in initcode_for(runtime, push0=False)[: len(prefix) + 2]


def test_initcode_for_with_constructor_and_empty_runtime():
    init = initcode_for(b"", constructor=Program().sstore(0, 1))
    assert init.startswith(h("6001 5f 55"))
    assert disassemble(init)[-1].name == "RETURN"


def test_mstore_bytes_writes_words_then_bytes():
    code = Program().mstore_bytes(0, bytes(range(1, 35))).bytes()
    names = [i.name for i in disassemble(code)]
    assert names.count("MSTORE") == 1 and names.count("MSTORE8") == 2


def test_stack_effect():
    assert stack_effect(Program().sstore(0, 1).bytes()) == (0, 0)
    assert stack_effect(h("01")) == (2, -1)  # ADD needs two, leaves one
    assert stack_effect(Program().push(1).op("DUP1").bytes()) == (0, 2)
