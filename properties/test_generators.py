"""The block generator and the property checks themselves: address derivation,
program compilation (run on the EELS reference, no engine needed), the shape of
generated blocks, and that the checks do catch what they claim to."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .blocks import MODES, scenarios
from .programs import (
    AccountRead,
    Call,
    Const,
    ContractSpec,
    Ctx,
    DeployFromCalldata,
    Emit,
    Env,
    Halt,
    If,
    IsZero,
    SLoad,
    SStore,
    Spin,
    compile_contract,
)
from .reference import run_reference
from .universe import FIXED, Universe, create2_address, create_address, hex_address

SENDER = hex_address(FIXED["A"])
COINBASE = hex_address(FIXED["COINBASE"])
K0, K1 = hex_address(FIXED["K0"]), hex_address(FIXED["K1"])


def block(txs, pre, fork="Cancun"):
    env = {"currentCoinbase": COINBASE, "currentNumber": "0x100", "currentTimestamp": "0x1000",
           "currentGasLimit": hex(30_000_000), "currentBaseFee": "0x7", "currentRandom": "0x" + "00" * 32}
    pre = {SENDER: {"balance": hex(10**18), "nonce": "0x0"}, **pre}
    return {"fork": fork, "env": env, "pre": pre, "transactions": txs}


def tx(to, data=b"", nonce=0, gas=300_000, value=0):
    return {"sender": SENDER, "to": to, "nonce": hex(nonce), "gasLimit": hex(gas), "gasPrice": "0xa",
            "value": hex(value), "data": "0x" + data.hex()}


def contract(spec, universe=None, initcodes=None):
    ctx = Ctx(universe or Universe({}), True, True, initcodes=initcodes or {})
    return {"balance": "0x0", "nonce": "0x1", "code": "0x" + compile_contract(spec, ctx).hex()}


# ---- addresses ---------------------------------------------------------------------------------


def test_create_address_known_vector():
    sender = 0x6AC7EA33F8831EA9DCC53393AAA88B25A785DBF0
    assert create_address(sender, 0) == 0xCD234A471B72BA2F1CCF0A70FCABA648A5EECD8D
    assert create_address(sender, 1) == 0x343C43A37D37DFF08AE8C4A11544C718ABB4FCF8


def test_create2_address_eip1014_vectors():
    assert create2_address(0, 0, b"\x00") == 0x4D1A2E2BB4F88F0250F26FFFF098B0B30B26BF38
    assert create2_address(0xDEADBEEF00000000000000000000000000000000, 0, b"\x00") == \
        0xB928F69BB1D91CD65274E3C79D8986362984FDA3


# ---- programs -----------------------------------------------------------------------------------


def test_entry_dispatch_runs_only_the_selected_entry():
    spec = ContractSpec(((SStore(0, Const(10)),), (SStore(1, Const(11)),), (SStore(2, Const(12)),)))
    pre = {K0: contract(spec)}
    r = run_reference(block([tx(K0, b"\x01"), tx(K0, b"\x07", nonce=1), tx(K0, b"", nonce=2)], pre))
    # entry 1, then an unknown entry (nothing), then no calldata = entry 0
    assert r.post_state[K0]["storage"] == {0: 10, 1: 11}


def test_call_records_return_word_size_and_success():
    callee = ContractSpec(((), (Halt("RETURN", Const(0x2A)),), (Halt("REVERT", Const(7)),)))
    caller = ContractSpec(((Call("CALL", "K1", entry=1), Call("CALL", "K1", entry=2),
                            Call("STATICCALL", "K1", entry=2, gas=30)), (), ()))
    universe = Universe({})
    pre = {K0: contract(caller, universe), K1: contract(callee, universe)}
    r = run_reference(block([tx(K0)], pre))
    logs = r.receipts[0].logs
    word = lambda v: "0x" + v.to_bytes(32, "big").hex()  # noqa: E731
    assert [(l.topics, int.from_bytes(l.data, "big")) for l in logs] == [
        ([word(32), word(1)], 0x2A),   # returned 0x2a: 32 bytes, success
        ([word(32), word(0)], 7),      # reverted with 7
        ([word(0), word(0)], 2 << 248 | 7),  # out of gas: no return data (buffer: entry byte, 7)
    ]


def test_conditions_branch_on_storage():
    spec = ContractSpec(((If(IsZero(SLoad(0)), SStore(0, Const(1))),
                          If(SLoad(0), Emit(Env("CALLER")))), (), ()))
    pre = {K0: contract(spec)}
    r = run_reference(block([tx(K0)], pre))
    assert r.post_state[K0]["storage"] == {0: 1}
    assert len(r.receipts[0].logs) == 1


def test_deploy_from_calldata_creates_the_named_child_and_calls_its_leaf():
    runtime = ContractSpec(((SStore(0, Const(1)),), (), (Emit(Env("SELFBALANCE")), Halt("STOP"))))
    base = Universe({})
    child_code = compile_contract(runtime, Ctx(base, True, True))
    from .asm import initcode_for

    initcodes = {0: initcode_for(child_code), 1: initcode_for(child_code[:-1] + b"\x00")}
    universe = Universe(initcodes)
    factory = ContractSpec(((DeployFromCalldata(),), (), ()))
    pre = {hex_address(FIXED["FACTORY"]): contract(factory, universe, initcodes)}
    r = run_reference(block([tx(universe.hex("FACTORY"), bytes([0, 1, 1, 1]), value=5)], pre))
    child = universe.hex("child11")
    assert r.receipts[0].status == 1
    assert r.post_state[child]["code"] == initcodes[1][len(initcodes[1]) - len(child_code):]
    assert r.post_state[child]["balance"] == 5
    topics = [l.topics for l in r.receipts[0].logs]
    assert topics[0] == ["0x" + bytes(12).hex() + child[2:]]  # the CREATE2 address
    assert len(topics) == 3  # the leaf's SELFBALANCE log, then the call record


def test_spin_burns_gas_and_changes_nothing():
    pre = {K0: contract(ContractSpec(((Spin(2),), (), ())))}
    r = run_reference(block([tx(K0)], pre))
    assert r.receipts[0].status == 1 and r.receipts[0].gas_used > 21_000 + 2 * 6_000
    assert r.post_state[K0]["storage"] == {}


def test_account_reads_name_universe_addresses():
    spec = ContractSpec(((Emit(AccountRead("BALANCE", "A")),), (), ()))
    r = run_reference(block([tx(K0, value=0)], {K0: contract(spec)}))
    (log,) = r.receipts[0].logs
    # read during execution: after the whole gas limit was bought (300,000 x 10 wei)
    assert int(log.topics[0], 16) == 10**18 - 300_000 * 10


# ---- generated blocks -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_blocks_are_well_formed(mode, data):
    scenario = data.draw(scenarios(mode))
    fx = scenario.fixture
    assert json.loads(json.dumps(fx)) == fx
    assert 1 <= len(fx["transactions"]) <= 16
    for address, acc in fx["pre"].items():
        code = acc.get("code", "0x")
        # EIP-7523: no empty accounts; no storage without code/nonce (EIP-7610 targets: not drawn)
        assert int(acc["balance"], 16) or int(acc["nonce"], 16) or code != "0x", address
        assert not acc.get("storage") or code != "0x" or int(acc["nonce"], 16), address
    assert fx["_txs"] and fx["_contracts"]
    assert repr(scenario).startswith("Scenario(")


# ---- the checks catch what they claim to ------------------------------------------------------------

blockstm = pytest.importorskip("blockstm")

from .checks import (  # noqa: E402 - needs the engine
    Outcome,
    check_invariants,
    compare_outcomes,
    replay,
    run_engine,
    save_regression,
)


def sample_block():
    spec = ContractSpec(((SStore(0, counter_bump()), Call("CALL", "A", value=1, gas=0)), (), ()))
    pre = {K0: dict(contract(spec), balance="0x64"), COINBASE: {"balance": "0x1", "nonce": "0x0"}}
    return block([tx(K0), tx(K0, nonce=1), tx(COINBASE, nonce=2, gas=21_000, value=3)], pre)


def counter_bump():
    from .programs import Bin

    return Bin("ADD", SLoad(0), Const(1))


def fake(result, **changes):
    view = SimpleNamespace(receipts=result.receipts, tx_changes=copy.deepcopy(result.tx_changes),
                           post_state=copy.deepcopy(result.post_state), state_root=result.state_root,
                           receipts_root=result.receipts_root, logs_bloom=result.logs_bloom,
                           logs_hash=result.logs_hash, stats=result.stats)
    for k, v in changes.items():
        setattr(view, k, v)
    return view


def test_invariants_hold_on_a_real_block_and_catch_tampering():
    fx = sample_block() | {"_burn_possible": False, "_coinbase_passive": False}
    seq = run_engine(fx)
    assert seq.ok and check_invariants(fx, seq) == []

    minted = fake(seq.result)
    minted.tx_changes[1][K0]["balance"] += 1
    minted.post_state[K0]["balance"] += 1
    assert any("ether not conserved" in p for p in check_invariants(fx, Outcome(minted)))

    stale = fake(seq.result)
    stale.post_state[K0]["storage"][0] = 99
    assert any(p.startswith(f"post_state[{K0}]") for p in check_invariants(fx, Outcome(stale)))

    nonce = fake(seq.result)
    nonce.tx_changes[0][SENDER]["nonce"] = 2
    assert any("nonce 0 -> 2" in p for p in check_invariants(fx, Outcome(nonce)))

    fx_passive = fx | {"_coinbase_passive": True}
    greedy = fake(seq.result)
    greedy.tx_changes[0][COINBASE]["balance"] += 5
    greedy.tx_changes[0][SENDER]["balance"] -= 5
    assert any("coinbase gained" in p for p in check_invariants(fx_passive, Outcome(greedy)))


def test_compare_outcomes_reports_differences_and_exceptions():
    seq = run_engine(sample_block())
    assert compare_outcomes(seq, seq) == []
    other = fake(seq.result)
    other.post_state = dict(other.post_state)
    other.post_state[K0] = dict(other.post_state[K0], nonce=5)
    other.state_root = "0x" + "00" * 32
    diffs = compare_outcomes(seq, Outcome(other))
    assert any(d.startswith(f"post_state[{K0}]") for d in diffs) and any("state_root" in d for d in diffs)
    bad = blockstm.InvalidTransaction("x", 1, "nonce_too_low")
    worse = blockstm.InvalidTransaction("x", 1, "nonce_too_high")
    assert compare_outcomes(Outcome(error=bad), Outcome(error=bad)) == []
    assert compare_outcomes(Outcome(error=bad), Outcome(error=worse))
    assert compare_outcomes(seq, Outcome(error=bad))


def test_saved_regressions_replay(tmp_path):
    fx = sample_block() | {"_mode": "unit"}
    path = save_regression(fx, "invariants", ["example"], directory=tmp_path)
    stored = json.loads(path.read_text())
    assert stored["_property"] == "invariants" and "replay" in stored["_replay"]
    assert replay(stored) == []
    stored["_property"] = "parallel_equals_sequential"
    assert replay(stored, repeats=2) == []
    stored["_property"] = "sequential_equals_reference"
    assert replay(stored) == []
