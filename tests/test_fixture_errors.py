"""Malformed fixtures raise FixtureError naming the JSON path — never a crash."""

from __future__ import annotations

import json

import pytest

import blockstm
from tests.blocks import ALICE, block, tx


def mutate(change):
    fixture = block([tx(gas=21_000)])
    change(fixture)
    return fixture


def set_in(path, value):
    def change(fixture):
        node = fixture
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def delete(path):
    def change(fixture):
        node = fixture
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


CASES = [
    ("unknown fork", set_in(["fork"], "Atlantis"), "fork", "unknown fork"),
    ("bad hex", set_in(["transactions", 0, "gasLimit"], "abc"), "transactions[0].gasLimit",
     'expected hex quantity, got "abc"'),
    ("bad hex digits", set_in(["transactions", 0, "nonce"], "0xzz"), "transactions[0].nonce", "hex quantity"),
    ("wrong type", set_in(["env"], []), "env", "expected an object"),
    ("missing field", delete(["env", "currentCoinbase"]), "env.currentCoinbase", "missing field"),
    ("missing gas limit", delete(["transactions", 0, "gasLimit"]), "transactions[0].gasLimit", "missing field"),
    ("out of range", set_in(["transactions", 0, "nonce"], hex(2**64)), "transactions[0].nonce", "out of range"),
    ("value above 2**256", set_in(["transactions", 0, "value"], hex(2**256)), "transactions[0].value",
     "out of range"),
    ("short address", set_in(["transactions", 0, "to"], "0x1234"), "transactions[0].to", "20-byte"),
    ("odd data", set_in(["transactions", 0, "data"], "0x123"), "transactions[0].data", "even number"),
    ("unknown tx field", set_in(["transactions", 0, "gasPirce"], "0x1"), "transactions[0].gasPirce",
     "unknown field"),
    ("no sender", delete(["transactions", 0, "sender"]), "transactions[0].sender", "missing field"),
    ("no gas price", delete(["transactions", 0, "gasPrice"]), "transactions[0].gasPrice", "missing field"),
    ("bad storage", set_in(["pre", ALICE, "storage"], {"0x01": "nope"}), f"pre.{ALICE}.storage.0x01",
     "hex quantity"),
    ("bad pre address", set_in(["pre", "0xnothex"], {"balance": "0x0", "nonce": "0x0"}), "pre.0xnothex",
     "address"),
    ("base fee required", delete(["env", "currentBaseFee"]), "env.currentBaseFee", "required from London"),
    ("transactions not a list", set_in(["transactions"], {}), "transactions", "expected a list"),
    ("bad block hash key", set_in(["blockHashes"], {"ten": "0x" + "00" * 32}), "blockHashes.ten",
     "block number"),
    ("unknown tx type", set_in(["transactions", 0, "type"], "0x7"), "transactions[0].type", "unsupported"),
    ("bad secret key", lambda f: f["transactions"][0].update(sender=None, secretKey="0x" + "00" * 32),
     "transactions[0].secretKey", "secret key"),
    ("negative number", set_in(["transactions", 0, "value"], -1), "transactions[0].value", "non-negative"),
]


@pytest.mark.parametrize("name,change,path,message", CASES, ids=[c[0] for c in CASES])
def test_fixture_error_names_the_path(name, change, path, message):
    with pytest.raises(blockstm.FixtureError) as info:
        blockstm.execute(mutate(change))
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_invalid_json_text():
    with pytest.raises(blockstm.FixtureError, match="invalid JSON"):
        blockstm.execute("{not json")


def test_top_level_must_be_an_object():
    with pytest.raises(blockstm.FixtureError, match="expected an object"):
        blockstm.execute(json.dumps([1, 2]))


def test_wrong_python_type_is_a_type_error():
    with pytest.raises(TypeError):
        blockstm.execute(42)


BAD_ARGUMENTS = [
    ({"mode": "turbo"}, ValueError, "mode must be one of ('sequential', 'parallel'), got 'turbo'"),
    ({"mode": None}, ValueError, "mode must be one of ('sequential', 'parallel'), got None"),
    ({"threads": 0}, ValueError, "threads must be a positive int or None, got 0"),
    ({"threads": True}, TypeError, "threads must be a positive int or None, got True"),
    ({"threads": 2.0}, TypeError, "threads must be a positive int or None, got 2.0"),
    ({"threads": 2**64}, ValueError, f"threads must be a positive int or None, got {2**64}"),
    ({"parallel_threshold": -1}, ValueError, "parallel_threshold must be a non-negative int or None, got -1"),
    ({"parallel_threshold": False}, TypeError, "parallel_threshold must be a non-negative int or None, got False"),
    ({"parallel_threshold": "8"}, TypeError, "parallel_threshold must be a non-negative int or None, got '8'"),
]


@pytest.mark.parametrize("kwargs,error,message", BAD_ARGUMENTS, ids=[repr(a[0]) for a in BAD_ARGUMENTS])
def test_a_bad_argument_is_named(kwargs, error, message):
    kwargs = {"mode": "parallel", **kwargs}
    with pytest.raises(error) as info:
        blockstm.execute(block([]), **kwargs)
    assert str(info.value) == message


def test_bytes_that_are_not_utf8():
    with pytest.raises(blockstm.FixtureError) as info:
        blockstm.execute(b"\xff\xfe{}")
    assert str(info.value).startswith("block: bytes that are not UTF-8 JSON ('utf-8' codec can't decode byte 0xff")
    # Valid UTF-8 that is not JSON keeps the parser's message.
    with pytest.raises(blockstm.FixtureError, match="invalid JSON"):
        blockstm.execute(b"{not json")


def test_version_is_the_installed_distributions():
    from importlib import metadata
    assert blockstm.__version__ == metadata.version("blockstm") != "unknown"


def test_json_integers_are_quantities():
    fixture = block([tx(gas=21_000)])
    fixture["transactions"][0]["gasLimit"] = 21_000
    fixture["pre"][ALICE]["balance"] = 10**30
    assert blockstm.execute(fixture).receipts[0].gas_used == 21_000


def test_a_dict_is_read_directly_and_means_what_its_json_means():
    """A dict goes to the engine without a JSON text in between; the result is the one
    its JSON gives (int keys and numbers are read as json.dumps writes them)."""
    fixture = block([tx(gas=21_000, value=5), tx(nonce=1, gas=21_000, value=7)])
    fixture["pre"][ALICE]["storage"] = {1: 2}  # an int key: json.dumps writes "1"
    from_dict = blockstm.execute(fixture)
    from_text = blockstm.execute(json.dumps(fixture))
    assert from_dict == from_text and from_dict.tx_changes == from_text.tx_changes
    assert from_dict.post_state[ALICE]["storage"] == {1: 2}
    assert from_dict.stats["parse_ns"] > 0
    as_tuple = dict(fixture, transactions=tuple(fixture["transactions"]))
    assert blockstm.execute(as_tuple) == from_text


@pytest.mark.parametrize("value, path, what", [
    ({1, 2}, "pre." + ALICE + ".balance", "a set"),
    (b"\x01", "pre." + ALICE + ".balance", "a bytes"),
    (float("nan"), "pre." + ALICE + ".balance", "NaN is not a JSON number"),
])
def test_a_dict_with_values_json_cannot_hold_names_their_path(value, path, what):
    fixture = block([tx(gas=21_000)])
    fixture["pre"][ALICE]["balance"] = value
    with pytest.raises(blockstm.FixtureError) as info:
        blockstm.execute(fixture)
    assert info.value.path == path and what in str(info.value), str(info.value)


def test_a_dict_that_nests_without_end_is_a_fixture_error_not_a_crash():
    fixture = block([tx(gas=21_000)])
    cycle = {}
    cycle["again"] = cycle  # json.dumps would raise ValueError: circular reference
    fixture["_note"] = cycle
    with pytest.raises(blockstm.FixtureError, match="nested more than 128 deep") as info:
        blockstm.execute(fixture)
    assert info.value.path.startswith("_note.again.again")
