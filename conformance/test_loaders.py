"""The conformance loaders: data lookup, fork schedule, fixture conversion of known
cases, the case index, sampling, and exception-name coverage. Nothing is executed; the
mainnet converter is the wheel's (blockstm.rpc), so those tests import the engine."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from conformance import data, exceptions, mainnet, plugin, statetests

REPO = data.REPO_ROOT


def _require(lookup: data.Lookup) -> Path:
    if lookup.path is None:
        message = lookup.describe_missing()
        if data.in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return lookup.path


@pytest.fixture(scope="module")
def gst() -> Path:
    return _require(data.find_state_tests())


@pytest.fixture(scope="module")
def blocks_dir() -> Path:
    return _require(data.find_mainnet_blocks())


@pytest.fixture(scope="module")
def rpc():
    """blockstm.rpc, the mainnet converter (it ships in the wheel)."""
    return plugin.require_engine().rpc


@pytest.fixture(scope="module")
def corpus(gst):
    """Every parsed file of the corpus, once for this module: [(relpath, data)]."""
    out = []
    for rel in statetests.list_files(gst):
        with open(gst / rel, "rb") as fh:
            out.append((rel, json.load(fh)))
    return out


def _engine_kinds() -> tuple[str, ...]:
    """INVALID_TX_KINDS from the engine's pure-Python errors module (no wheel needed)."""
    path = REPO / "engine" / "python" / "blockstm" / "errors.py"
    spec = importlib.util.spec_from_file_location("_blockstm_errors", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.INVALID_TX_KINDS)


# ---- data lookup ------------------------------------------------------------------


def test_lookup_prefers_option_then_env(tmp_path, monkeypatch):
    (tmp_path / "opt" / "Cancun" / "GeneralStateTests").mkdir(parents=True)
    (tmp_path / "env" / "GeneralStateTests").mkdir(parents=True)
    monkeypatch.setenv("ETHEREUM_TESTS", str(tmp_path / "env"))
    assert data.find_state_tests(tmp_path / "opt").path == (tmp_path / "opt" / "Cancun" / "GeneralStateTests").resolve()
    assert data.find_state_tests(None).path == (tmp_path / "env" / "GeneralStateTests").resolve()


def test_lookup_does_not_fall_back_from_a_wrong_explicit_path(tmp_path, monkeypatch):
    monkeypatch.delenv("ETHEREUM_TESTS", raising=False)
    lookup = data.find_state_tests(tmp_path / "nowhere")
    assert lookup.path is None
    assert "--ethereum-tests" in lookup.describe_missing()


def test_mainnet_lookup(tmp_path, monkeypatch):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "block.json").write_text("{}")
    monkeypatch.setenv("MAINNET_BLOCKS", str(tmp_path))
    assert data.find_mainnet_blocks().path == tmp_path.resolve()
    monkeypatch.setenv("MAINNET_BLOCKS", str(tmp_path / "empty"))
    assert data.find_mainnet_blocks().path is None


def test_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert data.in_ci()
    monkeypatch.setenv("CI", "")
    assert not data.in_ci()


# ---- fork schedule ------------------------------------------------------------------


@pytest.mark.parametrize(
    "number,timestamp,fork",
    [
        (0, 0, "Frontier"),
        (1_149_999, 0, "Frontier"),
        (1_150_000, 0, "Homestead"),
        (2_462_999, 0, "Homestead"),
        (2_463_000, 0, "EIP150"),
        (2_675_000, 0, "EIP158"),
        (4_369_999, 0, "EIP158"),
        (4_370_000, 0, "Byzantium"),
        (7_279_999, 0, "Byzantium"),
        (7_280_000, 0, "ConstantinopleFix"),
        (9_069_000, 0, "Istanbul"),
        (12_243_999, 0, "Istanbul"),
        (12_244_000, 0, "Berlin"),
        (12_965_000, 0, "London"),
        (15_537_393, 1_663_224_162, "London"),
        (15_537_394, 1_663_224_179, "Paris"),
        (17_034_869, 1_681_338_443, "Paris"),
        (17_034_870, 1_681_338_455, "Shanghai"),
        (19_426_586, 1_710_338_123, "Shanghai"),
        (19_426_587, 1_710_338_135, "Cancun"),
    ],
)
def test_fork_schedule(number, timestamp, fork, rpc):
    assert rpc.fork_at(number, timestamp) == fork


def test_fork_names_match_the_engine(engine):
    assert engine.FORKS == statetests.FORKS
    lib = (REPO / "engine" / "src" / "fork.rs")
    if lib.is_file():
        source = lib.read_text()
        for fork in statetests.FORKS:
            assert f'"{fork}"' in source, fork


# ---- state-test conversion -------------------------------------------------------------


def _case(gst, relpath: str, fork: str, d=0, g=0, v=0) -> statetests.StateCase:
    loader = statetests.CaseLoader(gst)
    refs = [r for r in statetests.index_file(loader.raw(relpath), relpath)
            if r.fork == fork and (r.d, r.g, r.v) == (d, g, v)]
    assert len(refs) == 1, refs
    return loader.case(refs[0])


def test_add11_fixture(gst):
    case = _case(gst, "stExample/add11.json", "Cancun")
    assert case.ref.id == "stExample/add11.json::add11[Cancun-d0g0v0]"
    fx = case.fixture()
    assert fx["fork"] == "Cancun"
    assert fx["env"]["currentCoinbase"] == "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba"
    assert set(fx["env"]) <= set(statetests.ENV_FIELDS)
    (tx,) = fx["transactions"]
    assert tx["sender"] == "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b"
    assert tx["gasPrice"] == "0x0a" and "maxFeePerGas" not in tx
    assert tx["chainId"] is None  # signed with v=27/28: no chain id
    assert "accessList" not in tx and "type" not in tx
    assert case.expect_exception is None
    assert case.expected_hash.startswith("0x") and len(case.expected_hash) == 66
    raw = json.loads((gst / "stExample/add11.json").read_text())["add11"]
    assert fx["pre"] == raw["pre"]


def test_access_list_legacy_price_is_type_1(gst):
    case = _case(gst, "stExample/accessListExample.json", "Berlin")
    (tx,) = case.fixture()["transactions"]
    assert tx["type"] == 1 and isinstance(tx["accessList"], list)
    assert tx["chainId"] == 1


def test_null_access_list_entry_is_legacy(gst):
    # NoSrcAccount: accessLists = [null, null, [], [...], [...]]
    case = _case(gst, "stTransactionTest/NoSrcAccount.json", "Cancun", d=0)
    (tx,) = case.fixture()["transactions"]
    assert "accessList" not in tx and "type" not in tx
    case = _case(gst, "stTransactionTest/NoSrcAccount.json", "Cancun", d=2)
    (tx,) = case.fixture()["transactions"]
    assert tx["accessList"] == [] and tx["type"] == 1


def test_blob_transaction(gst):
    case = _case(gst, "Cancun/stEIP4844-blobtransactions/blobhashListBounds7.json", "Cancun")
    (tx,) = case.fixture()["transactions"]
    assert len(tx["blobVersionedHashes"]) == 7 and tx["maxFeePerBlobGas"] == "0x0a"
    assert statetests.inferred_tx_type(tx) == 3
    assert case.expect_exception == "TR_BLOBLIST_OVERSIZE"
    assert "currentExcessBlobGas" in case.fixture()["env"]


def test_create_and_indexes(gst):
    case = _case(gst, "stTransactionTest/NoSrcAccountCreate.json", "Cancun", d=1, g=1, v=1)
    (tx,) = case.fixture()["transactions"]
    raw = json.loads((gst / "stTransactionTest/NoSrcAccountCreate.json").read_text())
    template = next(iter(raw.values()))["transaction"]
    assert tx["to"] is None
    assert (tx["data"], tx["gasLimit"], tx["value"]) == (template["data"][1], template["gasLimit"][1], template["value"][1])


def test_bigint_value_is_passed_as_plain_hex(gst):
    case = _case(gst, "stTransactionTest/ValueOverflow.json", "Berlin")
    (tx,) = case.fixture()["transactions"]
    assert tx["value"] == "0x10000000000000000000000000000000000000000000000000000000000000001"
    assert exceptions.expectation(case.expect_exception).fixture_error_ok


def test_pyspecs_labels_are_short_and_unique(gst):
    rel = "Pyspecs/cancun/eip4844_blobs/blob_type_tx_pre_fork.json"
    refs = statetests.index_file(statetests.CaseLoader(gst).raw(rel), rel)
    assert refs and all("::" not in r.label and r.label.startswith("test_blob_type_tx_pre_fork[") for r in refs)
    assert len({r.id for r in refs}) == len(refs)


def test_every_case_converts_consistently(gst, corpus):
    """Over the whole corpus: 101,161 unique cases; the fixture's transaction type (as
    the engine infers it) and chain id agree with the signed txbytes."""
    loader = statetests.CaseLoader(gst)
    ids, per_fork = set(), Counter()
    for rel, content in corpus:
        for ref in statetests.index_file(content, rel):
            ids.add(ref.id)
            per_fork[ref.fork] += 1
            body = content[ref.test]
            entry = body["post"][ref.fork][ref.post_index]
            tx = statetests.build_transaction(body["transaction"], ref.d, ref.g, ref.v, entry["txbytes"])
            assert statetests.inferred_tx_type(tx) == statetests.tx_type_of(entry["txbytes"]), ref.id
            assert "chainId" in tx, ref.id
    assert len(ids) == sum(per_fork.values())
    if len(ids) >= 101_000:  # the shared snapshot; a newer checkout may differ
        assert len(ids) == 101_161
        assert set(per_fork) == set(statetests.FORKS[:statetests.FORKS.index("Cancun") + 1])  # filled up to Cancun


def test_index_cache_roundtrip(gst, tmp_path):
    refs = statetests.load_index(gst, tmp_path)
    assert list(tmp_path.glob("state-index-*.json"))
    assert statetests.load_index(gst, tmp_path) == refs


def test_index_cache_rebuilds_on_change(tmp_path):
    src = tmp_path / "GeneralStateTests" / "stX"
    src.mkdir(parents=True)
    test = {"t": {"env": {}, "pre": {}, "transaction": {}, "post": {"Cancun": [
        {"indexes": {"data": 0, "gas": 0, "value": 0}, "hash": "0x", "logs": "0x", "txbytes": "0x"}]}}}
    (src / "a.json").write_text(json.dumps(test))
    cache = tmp_path / "cache"
    assert len(statetests.load_index(src.parent, cache)) == 1
    test["t"]["post"]["London"] = test["t"]["post"]["Cancun"] * 2
    (src / "a.json").write_text(json.dumps(test) + " ")  # size changes too
    refs = statetests.load_index(src.parent, cache)
    assert [(r.fork, r.post_index) for r in refs] == [("Cancun", 0), ("London", 0), ("London", 1)]


def test_sample_is_deterministic_and_covers(gst):
    refs = statetests.load_index(gst, data.cache_dir())
    a, b = statetests.sample(refs, 300), statetests.sample(refs, 300)
    assert a == b
    assert {r.folder for r in a} == {r.folder for r in refs}
    assert {r.fork for r in a} == {r.fork for r in refs}
    assert len(a) == max(300, len({r.folder for r in refs}))
    big = statetests.sample(refs, 5000)
    assert len(big) == 5000 and set(a) <= set(big)


# ---- exceptions ------------------------------------------------------------------------


def test_exception_kinds_are_engine_kinds():
    kinds = set(_engine_kinds())
    for name, accepted in exceptions.EXCEPTION_KINDS.items():
        assert accepted <= kinds, (name, accepted - kinds)
        assert accepted or name in exceptions.FIXTURE_ERROR_NAMES, name


def test_every_corpus_exception_name_is_mapped(corpus):
    names = Counter()
    for _, content in corpus:
        for body in content.values():
            for entries in body["post"].values():
                for entry in entries:
                    if "expectException" in entry:
                        for name in exceptions.split_names(entry["expectException"]):
                            names[name] += 1
    unmapped = sorted(set(names) - set(exceptions.EXCEPTION_KINDS))
    assert not unmapped, f"unmapped expectException names: {unmapped}"
    assert names  # the corpus has invalid-transaction cases


def test_combined_names_accept_the_union():
    e = exceptions.expectation("TransactionException.TYPE_3_TX_PRE_FORK|TransactionException.TYPE_3_TX_ZERO_BLOBS")
    assert e.kinds == {"tx_type_not_supported", "empty_blobs"}
    assert not e.fixture_error_ok


def test_unknown_name_is_an_error():
    with pytest.raises(exceptions.UnknownExceptionName):
        exceptions.expectation("TR_SomethingNew")
    with pytest.raises(exceptions.UnknownExceptionName):
        exceptions.expectation("TR_NoFunds|TR_SomethingNew")


# ---- mainnet blocks ----------------------------------------------------------------------


def test_mainnet_blocks_convert(blocks_dir, rpc):
    numbers = mainnet.list_blocks(blocks_dir)
    assert numbers
    for number in numbers:
        block = mainnet.load_block(blocks_dir, number)
        fx = block.fixture()
        assert len(fx["transactions"]) == block.tx_count
        raw = json.loads((blocks_dir / str(number) / "block.json").read_text())
        assert block.fork == rpc.fork_at(int(raw["number"], 16), int(raw["timestamp"], 16))
        assert ("currentBaseFee" in fx["env"]) == rpc.fork_at_least(block.fork, "London")
        assert ("currentRandom" in fx["env"]) == rpc.fork_at_least(block.fork, "Paris")
        for tx, rtx in zip(fx["transactions"], raw["transactions"]):
            assert tx["type"] == int(rtx["type"], 16)
            assert ("gasPrice" in tx) == (tx["type"] < 2)
            if tx["type"] == 0 and int(rtx["v"], 16) in (27, 28):
                assert tx["chainId"] is None
            else:
                assert int(tx["chainId"], 16) == 1


def test_mainnet_fixtures_are_unchanged(blocks_dir):
    """blockstm.from_rpc gives, block for block, the fixture the loader gave before it
    moved into the wheel (conformance/mainnet_fixture_digests.json: sha256 of the
    canonical JSON, recorded from conformance/mainnet.py at 90d688b) — apart from the
    block-level effect fields added since, which are checked against block.json here."""
    from blockstm.rpc import fork_at_least

    expected = json.loads((Path(__file__).parent / "mainnet_fixture_digests.json").read_text())
    numbers = mainnet.list_blocks(blocks_dir)
    assert set(map(int, expected)) <= set(numbers)
    effect_keys = ("parentBeaconBlockRoot", "withdrawals", "rewards", "ommers", "daoForkBlock")
    for number in numbers:
        fixture = mainnet.load_block(blocks_dir, number).fixture()
        effects = {k: fixture.pop(k) for k in effect_keys if k in fixture}
        canonical = json.dumps(fixture, sort_keys=True, separators=(",", ":"))
        assert hashlib.sha256(canonical.encode()).hexdigest() == expected.get(str(number)), number
        block = json.loads((Path(blocks_dir) / str(number) / "block.json").read_text())
        fork = fixture["fork"]
        assert effects.get("parentBeaconBlockRoot") == (block["parentBeaconBlockRoot"] if fork_at_least(fork, "Cancun") else None)
        if fork_at_least(fork, "Shanghai"):
            assert [w["amount"] for w in effects["withdrawals"]] == [w["amount"] for w in block["withdrawals"]]
        else:
            assert "withdrawals" not in effects
        # Before Paris: the block reward, unless uncles whose headers we lack would make it wrong.
        assert effects.get("rewards", False) == (not fork_at_least(fork, "Paris") and not block.get("uncles")), number
        assert "daoForkBlock" not in effects  # 1,920,000 is not among the blocks


def test_mainnet_known_blocks(blocks_dir):
    numbers = set(mainnet.list_blocks(blocks_dir))
    if 46147 in numbers:
        block = mainnet.load_block(blocks_dir, 46147)
        assert block.fork == "Frontier" and block.tx_count == 1 and block.gas_used == 21000
        assert not block.receipts_root_checkable
    if 19933597 in numbers:
        block = mainnet.load_block(blocks_dir, 19933597)
        fx = block.fixture()
        assert block.fork == "Cancun" and block.receipts_root_checkable and block.has_withdrawals
        assert fx["env"]["currentExcessBlobGas"] == "0x80000"
        assert "blockHashes" in fx and all(k.isdigit() for k in fx["blockHashes"])
    if 19910734 in numbers:  # an empty block loads too
        assert mainnet.load_block(blocks_dir, 19910734).tx_count == 0


# ---- known failures and slow cases -------------------------------------------------------


def test_known_failure_selectors(monkeypatch):
    from conformance import known_failures as kf

    ref = statetests.CaseRef("stA/sub/f.json", "t", "t", "Cancun", 0, 1, 2, 3)
    table = kf._table([
        ("stA/sub/f.json::t[Cancun-d1g2v3]", "par", "exact id, parallel only"),
        ("stA/", "seq", "whole folder, sequential"),
        ("mainnet:12244000", "both", "a block"),
    ])
    monkeypatch.setattr(kf, "_XFAIL", table)
    assert kf.state_reason(ref, "par") == "exact id, parallel only"
    assert kf.state_reason(ref, "seq") == "whole folder, sequential"
    assert kf.state_reason(ref._replace(relpath="stB/f.json"), "seq") is None
    assert kf.mainnet_reason(12244000, "par-t2") == "a block"
    assert kf.mainnet_reason(46147, "seq") is None
    with pytest.raises(ValueError):
        kf._table([("x", "sometimes", "bad mode")])
    with pytest.raises(ValueError):
        kf._table([("x", "seq", " ")])


def test_slow_cases_exist(gst):
    from conformance import known_failures as kf

    for selector, _, _ in kf.SLOW_CASES + kf.KNOWN_FAILURES:
        if not selector.startswith("mainnet:"):
            path = selector.split("::", 1)[0]
            assert (gst / path).exists(), f"{selector!r} names nothing in the corpus"


# ---- the per-item timeout watchdog -------------------------------------------------------


def test_watchdog_fires_only_for_an_overrunning_item(monkeypatch):
    import threading
    import time
    from types import SimpleNamespace

    from conformance import watchdog

    monkeypatch.setattr(watchdog, "POLL_SECONDS", 0.01)
    fired = []
    done = threading.Event()

    def on_timeout(item, settings):
        fired.append(item)
        done.set()

    dog = watchdog.Watchdog(on_timeout)
    quick, slow = object(), object()
    dog.arm(quick, SimpleNamespace(timeout=0.05))
    assert dog.disarm(quick) and not dog.disarm(quick)
    time.sleep(0.1)
    assert fired == []  # disarmed in time: never fires
    dog.arm(slow, SimpleNamespace(timeout=0.05))
    assert done.wait(5.0)
    assert fired == [slow]
    assert not dog.disarm(slow)  # already handled


def test_phases_profile_sums_the_engine_phases(gst, capsys):
    from conformance import phases

    assert phases.main(["--step", "20000", "--top", "2"]) == 0
    out = capsys.readouterr().out
    cases = int(out.split()[0])
    assert cases >= 5, out
    for name in ("fixtures built (Python)", "engine call", "parse", "set-up", "execution", "roots"):
        assert name in out
    assert out.count(" s  ") == 2  # the two slowest cases, listed
