"""The BlockchainTests loader (conformance/blocktests.py): data lookup, fork choice per
block, the fixture of known blocks, chain resolution with side chains (on a stand-in
engine), the exception table against the corpus, the index and the sample. Nothing
here needs the wheel."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance import blocktests as bt
from conformance import data

REPO = data.REPO_ROOT


@pytest.fixture(scope="module")
def root() -> Path:
    lookup = data.find_blockchain_tests()
    if lookup.path is None:
        if data.in_ci():
            pytest.fail(lookup.describe_missing(), pytrace=False)
        pytest.skip(lookup.describe_missing())
    return lookup.path


@pytest.fixture(scope="module")
def corpus(root):
    """[(relpath, parsed file)] of the whole corpus, once for this module."""
    out = []
    for rel in bt.list_files(root):
        with open(root / rel, "rb") as fh:
            out.append((rel, json.load(fh)))
    return out


def _engine_kinds() -> set[str]:
    path = REPO / "engine" / "python" / "blockstm" / "errors.py"
    spec = importlib.util.spec_from_file_location("_blockstm_errors_bt", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return set(module.INVALID_TX_KINDS)


# ---- data lookup ------------------------------------------------------------------


def test_lookup_finds_blockchain_tests_like_state_tests(tmp_path, monkeypatch):
    (tmp_path / "opt" / "Cancun" / "BlockchainTests").mkdir(parents=True)
    (tmp_path / "opt" / "Cancun" / "GeneralStateTests").mkdir(parents=True)
    (tmp_path / "env" / "BlockchainTests").mkdir(parents=True)
    monkeypatch.setenv("ETHEREUM_TESTS", str(tmp_path / "env"))
    assert data.find_blockchain_tests(tmp_path / "opt").path == (tmp_path / "opt" / "Cancun" / "BlockchainTests").resolve()
    # --ethereum-tests naming the state tests' folder finds its sibling
    assert (data.find_blockchain_tests(tmp_path / "opt" / "Cancun" / "GeneralStateTests").path
            == (tmp_path / "opt" / "Cancun" / "BlockchainTests").resolve())
    assert data.find_blockchain_tests(None).path == (tmp_path / "env" / "BlockchainTests").resolve()
    assert data.find_blockchain_tests(tmp_path / "nowhere").path is None  # no fall-back from an explicit path


def test_only_the_three_folders_are_read(tmp_path):
    for folder in ("ValidBlocks/bcX", "InvalidBlocks/bcY", "TransitionTests/bcZ", "GeneralStateTests/stA"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "t.json").write_text("{}")
    assert bt.list_files(tmp_path) == ["InvalidBlocks/bcY/t.json", "TransitionTests/bcZ/t.json", "ValidBlocks/bcX/t.json"]


# ---- fork choice ------------------------------------------------------------------


def _hdr(number=1, timestamp=1000, difficulty=0x20000):
    return {"number": hex(number), "timestamp": hex(timestamp), "difficulty": hex(difficulty)}


@pytest.mark.parametrize("network,header,fork", [
    ("FrontierToHomesteadAt5", _hdr(4), "Frontier"),
    ("FrontierToHomesteadAt5", _hdr(5), "Homestead"),
    ("HomesteadToDaoAt5", _hdr(4), "Homestead"),
    ("HomesteadToDaoAt5", _hdr(5), "Homestead"),
    ("HomesteadToDaoAt5", _hdr(9), "Homestead"),
    ("HomesteadToEIP150At5", _hdr(4), "Homestead"),
    ("HomesteadToEIP150At5", _hdr(5), "EIP150"),
    ("EIP158ToByzantiumAt5", _hdr(4), "EIP158"),
    ("EIP158ToByzantiumAt5", _hdr(6), "Byzantium"),
    ("ByzantiumToConstantinopleFixAt5", _hdr(4), "Byzantium"),
    ("ByzantiumToConstantinopleFixAt5", _hdr(5), "ConstantinopleFix"),
    ("BerlinToLondonAt5", _hdr(4), "Berlin"),
    ("BerlinToLondonAt5", _hdr(5), "London"),
    ("ArrowGlacierToParisAtDiffC0000", _hdr(3, difficulty=0x20000), "London"),
    ("ArrowGlacierToParisAtDiffC0000", _hdr(4, difficulty=0), "Paris"),
    ("ParisToShanghaiAtTime15k", _hdr(2, timestamp=14_999), "Paris"),
    ("ParisToShanghaiAtTime15k", _hdr(3, timestamp=15_000), "Shanghai"),
    ("Cancun", _hdr(1), "Cancun"),
    ("Frontier", _hdr(100), "Frontier"),
])
def test_fork_of(network, header, fork):
    assert bt.fork_of(network, header) == fork


def test_every_corpus_network_is_known(corpus):
    networks = {body["network"] for _, content in corpus for body in content.values()}
    assert networks <= set(bt.NETWORKS), networks - set(bt.NETWORKS)
    assert set(bt.TRANSITIONS) <= networks or len(networks) < 20  # a newer corpus may drop some


def test_dao_fork_block_only_at_5_of_the_dao_network():
    assert bt.is_dao_fork_block("HomesteadToDaoAt5", _hdr(5))
    assert not bt.is_dao_fork_block("HomesteadToDaoAt5", _hdr(6))
    assert not bt.is_dao_fork_block("FrontierToHomesteadAt5", _hdr(5))
    fx = bt.build_fixture("HomesteadToDaoAt5", {**_hdr(5), "coinbase": "0x" + "11" * 20, "gasLimit": "0x1"}, {}, {}, None)
    assert fx["daoForkBlock"] is True and fx["rewards"] is True


def test_fork_switch_in_transition_tests_follows_the_headers(root):
    loader = bt.TestLoader(root)
    test = loader.test(bt.TestRef("TransitionTests/bcMergeToShanghai/shanghaiBeforeTransition.json",
                                  "shanghaiBeforeTransition_ParisToShanghaiAtTime15k", "ParisToShanghaiAtTime15k", 0))
    forks = {bt._int(p.header["timestamp"]) >= 15000: bt.fork_of("ParisToShanghaiAtTime15k", p.header)
             for p in test.plans if p.header}
    assert forks.get(False, "Paris") == "Paris" and forks.get(True, "Shanghai") == "Shanghai"


# ---- fixture conversion -----------------------------------------------------------


def _load(root, relpath, name):
    content = json.loads((root / relpath).read_text())
    body = content[name]
    return bt.BlockchainTest(bt.TestRef(relpath, name, body["network"], len(body["blocks"])), body), body


def test_cancun_block_fixture(root):
    test, body = _load(root, "ValidBlocks/bcExample/basefeeExample.json", "basefeeExample_Cancun")
    (plan,) = test.plans
    fx = test.fixture(plan, with_pre=True)
    header = body["blocks"][0]["blockHeader"]
    assert fx["fork"] == "Cancun"
    assert fx["env"] == {
        "currentCoinbase": header["coinbase"], "currentNumber": header["number"],
        "currentTimestamp": header["timestamp"], "currentGasLimit": header["gasLimit"],
        "currentDifficulty": header["difficulty"], "currentChainId": "0x01",
        "currentBaseFee": "0x03a699d0", "currentRandom": header["mixHash"], "currentExcessBlobGas": "0x00",
    }
    assert fx["pre"] is body["pre"]
    (tx,) = fx["transactions"]
    raw = body["blocks"][0]["transactions"][0]
    assert "sender" not in tx and "sender" in raw
    assert tx == {k: v for k, v in raw.items() if k != "sender"}
    assert fx["blockHashes"] == {"0": body["genesisBlockHeader"]["hash"].lower()}
    assert fx["parentBeaconBlockRoot"] == "0x" + "00" * 32
    assert fx["withdrawals"] == []
    assert "rewards" not in fx and "ommers" not in fx and "daoForkBlock" not in fx
    assert fx["_block"].startswith("ValidBlocks/bcExample/basefeeExample.json::basefeeExample_Cancun[Cancun] block 0")
    assert "pre" not in test.fixture(plan, with_pre=False)


def test_london_block_has_rewards_and_no_prevrandao(root):
    test, body = _load(root, "ValidBlocks/bcExample/basefeeExample.json", "basefeeExample_London")
    fx = test.fixture(test.plans[0], with_pre=True)
    assert fx["fork"] == "London" and fx["rewards"] is True
    assert "currentRandom" not in fx["env"] and fx["env"]["currentBaseFee"] == "0x03a699d0"
    assert "withdrawals" not in fx and "parentBeaconBlockRoot" not in fx


def test_uncles_become_ommers_and_legacy_txs_are_kept_as_signed(root):
    test, body = _load(root, "ValidBlocks/bcUncleTest/oneUncle.json", "oneUncle_London")
    fx = test.fixture(test.plans[2], with_pre=False)
    uncle = body["blocks"][2]["uncleHeaders"][0]
    assert fx["ommers"] == [{"coinbase": uncle["coinbase"], "number": uncle["number"]}]
    (tx,) = fx["transactions"]
    raw = body["blocks"][2]["transactions"][0]
    assert tx["v"] == "0x1b" and "chainId" not in tx and "sender" not in tx
    assert tx == {k: v for k, v in raw.items() if k != "sender"}
    assert fx["blockHashes"] == {"1": body["blocks"][1]["blockHeader"]["parentHash"].lower(),
                                 "2": body["blocks"][1]["blockHeader"]["hash"].lower(),
                                 "0": body["genesisBlockHeader"]["hash"].lower()}


def test_withdrawals_are_passed_in_gwei_as_given(corpus):
    seen = 0
    for rel, content in corpus:
        for name, body in content.items():
            test = bt.BlockchainTest(bt.TestRef(rel, name, body["network"], 0), body)
            for plan in test.plans:
                if plan.klass == "valid" and plan.body.get("withdrawals"):
                    fx = test.fixture(plan, with_pre=False)
                    assert fx["withdrawals"] == [{k: w[k] for k in bt.WITHDRAWAL_FIELDS} for w in plan.body["withdrawals"]]
                    seen += 1
    assert seen > 0


def test_every_block_converts(corpus):
    """Every block the engine is given: a fixture with its fork's block-level keys, no
    sender, and the ancestors' hashes along its own chain."""
    forks, blocks = Counter(), 0
    for rel, content in corpus:
        for name, body in content.items():
            test = bt.BlockchainTest(bt.TestRef(rel, name, body["network"], len(body["blocks"])), body)
            for plan in test.plans:
                if plan.klass in (bt.HEADER, "unknown"):
                    continue
                assert plan.parent_hash in test.headers, (rel, name, plan.label)
                fx = test.fixture(plan, with_pre=plan.parent_hash == test.genesis_hash)
                blocks += 1
                forks[fx["fork"]] += 1
                assert all("sender" not in tx and "r" in tx for tx in fx["transactions"])
                assert ("rewards" in fx) == (not bt.fork_at_least(fx["fork"], "Paris"))
                assert ("currentRandom" in fx["env"]) == bt.fork_at_least(fx["fork"], "Paris")
                assert ("parentBeaconBlockRoot" in fx) == bt.fork_at_least(fx["fork"], "Cancun")
                n = bt._int(plan.header["number"])
                assert sorted(map(int, fx.get("blockHashes", {}))) == list(range(max(0, n - 256), n))
    assert blocks > 5000 and len(forks) >= 10


# ---- chains: side chains and the final state (a stand-in engine) --------------------


class FakeEngine:
    """Stands in for blockstm: a block's result carries its own header's values (so a
    valid block matches), except where `wrong` names its position; `reject` positions
    raise InvalidTransaction of the given kind. Every call is recorded."""

    class InvalidTransaction(Exception):
        def __init__(self, kind):
            super().__init__(kind)
            self.kind, self.index = kind, 0

    class FixtureError(Exception):
        pass

    def __init__(self, test: bt.BlockchainTest, post_state=None, wrong=(), reject=None):
        self.by_position = {p.position: p for p in test.plans}
        self.post_state, self.wrong, self.reject = post_state or {}, set(wrong), reject or {}
        self.calls = []

    def execute(self, fixture, mode, threads=None, *, parallel_threshold=None, pre_state=None):
        position = int(re.search(r" block (\d+) ", fixture["_block"]).group(1))
        plan = self.by_position[position]
        self.calls.append((position, mode, parallel_threshold, None if pre_state is None else pre_state.position,
                           "pre" in fixture, fixture.get("blockHashes")))
        if position in self.reject:
            raise self.InvalidTransaction(self.reject[position])
        h = plan.header
        root = "0x" + "ee" * 32 if position in self.wrong else h["stateRoot"]
        return SimpleNamespace(position=position, gas_used=bt._int(h["gasUsed"]), logs_bloom=h["bloom"],
                               receipts_root=h["receiptTrie"], state_root=root, receipts=[],
                               post_state=self.post_state.get(h["hash"], {}))


def _header(number, hash_, parent, root="0x" + "aa" * 32):
    return {"number": hex(number), "hash": hash_, "parentHash": parent, "timestamp": hex(1000 + number),
            "difficulty": "0x20000", "coinbase": "0x" + "c0" * 20, "gasLimit": "0x7fffffff", "gasUsed": "0x0",
            "bloom": "0x" + "00" * 256, "receiptTrie": "0x" + "56" * 32, "stateRoot": root, "mixHash": "0x" + "00" * 32}


def _side_chain_test(last="0xb3", extra_blocks=()):
    """G - A1 - A2, and A1 - B2 - B3 (the heavier chain); an invalid block on A2."""
    def valid(number, h, parent):
        return {"blockHeader": _header(number, h, parent), "transactions": [], "uncleHeaders": [], "rlp": "0x"}
    blocks = [valid(1, "0xa1", "0x00"), valid(2, "0xa2", "0xa1"), valid(2, "0xb2", "0xa1"),
              {"expectException": "TR_NoFunds", "rlp": "0x",
               "rlp_decoded": {"blockHeader": _header(3, "0xa3", "0xa2"), "transactions": [], "uncleHeaders": []}},
              valid(3, "0xb3", "0xb2"), *extra_blocks]
    body = {"network": "London", "pre": {"0x" + "01" * 20: {"balance": "0x1", "nonce": "0x0", "code": "0x", "storage": {}}},
            "genesisBlockHeader": _header(0, "0x00", "0x" + "00" * 32), "blocks": blocks, "lastblockhash": last,
            "postState": {"0x" + "01" * 20: {"balance": "0x01", "nonce": "0x00", "code": "0x", "storage": {"0x01": "0x00"}}}}
    return bt.BlockchainTest(bt.TestRef("ValidBlocks/bcT/side.json", "side_London", "London", len(blocks)), body)


def test_side_chain_blocks_run_on_their_own_parents():
    test = _side_chain_test()
    post = {"0xb3": {"0x" + "01" * 20: {"balance": 1, "nonce": 0, "code": b"", "storage": {}}}}
    engine = FakeEngine(test, post_state=post, reject={3: "insufficient_funds"})
    outcome = test.run(engine, "par", 2)
    assert outcome.failures == [] and outcome.verdict == "passed"
    assert outcome.counts == {"valid": 4, "rejected_tx": 1, "rejected_exec": 0, "header_only": 0, "failed_blocks": 0}
    parents = {pos: parent for pos, _, _, parent, _, _ in engine.calls}
    assert parents == {0: None, 1: 0, 2: 0, 3: 1, 4: 2}  # B2 on A1, the invalid A3 on A2, B3 on B2
    with_pre = {pos for pos, _, _, _, pre, _ in engine.calls if pre}
    assert with_pre == {0}  # only the first block after genesis carries `pre`
    hashes = {pos: h for pos, _, _, _, _, h in engine.calls}
    assert hashes[4] == {"2": "0xb2", "1": "0xa1", "0": "0x00"}  # its own chain, not A2
    assert hashes[3] == {"2": "0xa2", "1": "0xa1", "0": "0x00"}
    assert all(mode == "parallel" and threshold == 0 for _, mode, threshold, _, _, _ in engine.calls)


def test_final_state_is_lastblockhash_s_and_mismatches_name_the_field():
    test = _side_chain_test(last="0xa2")  # the final state is A2's, which is empty here
    outcome = test.run(FakeEngine(test, reject={3: "insufficient_funds"}), "seq", None)
    assert outcome.verdict == "failed"
    assert any("post-state 0x0101" in line and "missing" in line for line in outcome.failures), outcome.failures
    test = _side_chain_test()
    outcome = test.run(FakeEngine(test, wrong={2}, reject={3: "insufficient_funds"}), "seq", None)
    assert outcome.verdict == "failed"
    assert any(line.startswith("block 2 (number 2): stateRoot: header 0xaaaa") for line in outcome.failures), outcome.failures
    assert any("block 4 (number 3): not run: an ancestor failed" in line for line in outcome.failures)
    assert outcome.counts["valid"] == 2 and outcome.counts["rejected_tx"] == 1  # A3 still ran, on A2


def test_accepted_transaction_class_block_fails():
    test = _side_chain_test()
    outcome = test.run(FakeEngine(test), "seq", None)
    assert outcome.verdict == "failed"
    assert any("the engine accepted every transaction" in line for line in outcome.failures)
    outcome = test.run(FakeEngine(test, reject={3: "nonce_too_low"}), "seq", None)
    assert any("expected InvalidTransaction kind in ['insufficient_funds'], got kind='nonce_too_low'" in line
               for line in outcome.failures)


def test_execution_class_block_must_mismatch():
    extra = {"expectException": "InvalidStateRoot", "rlp": "0x",
             "rlp_decoded": {"blockHeader": _header(4, "0xb4", "0xb3"), "transactions": [], "uncleHeaders": []}}
    test = _side_chain_test(extra_blocks=[extra])
    post = {"0xb3": {"0x" + "01" * 20: {"balance": 1, "nonce": 0}}}
    outcome = test.run(FakeEngine(test, post_state=post, reject={3: "insufficient_funds"}, wrong={5}), "seq", None)
    assert outcome.verdict == "passed" and outcome.counts["rejected_exec"] == 1
    outcome = test.run(FakeEngine(test, post_state=post, reject={3: "insufficient_funds"}), "seq", None)
    assert any("the header matches the engine's result" in line for line in outcome.failures)


def test_header_only_blocks_make_a_skip_and_unknown_names_a_failure():
    extra = [{"expectException": "InvalidDifficulty", "rlp": "0x",
              "rlp_decoded": {"blockHeader": _header(4, "0xb4", "0xb3"), "transactions": [], "uncleHeaders": []}},
             {"expectException": "TR_IntrinsicGas", "rlp": "0xdead"}]  # no rlp_decoded: no body to run
    test = _side_chain_test(extra_blocks=extra)
    post = {"0xb3": {"0x" + "01" * 20: {"balance": 1, "nonce": 0}}}
    engine = FakeEngine(test, post_state=post, reject={3: "insufficient_funds"})
    outcome = test.run(engine, "seq", None)
    assert outcome.verdict == "skipped" and outcome.header_only == ["InvalidDifficulty", "TR_IntrinsicGas"]
    assert "InvalidDifficulty" in outcome.skip_reason() and "TR_IntrinsicGas" in outcome.skip_reason()
    assert test.plans[6].reason == bt.NO_BODY
    assert {pos for pos, *_ in engine.calls} == {0, 1, 2, 3, 4}  # neither was given to the engine
    extra[0]["expectException"] = "SomethingNew"
    test = _side_chain_test(extra_blocks=extra)
    outcome = test.run(FakeEngine(test, post_state=post, reject={3: "insufficient_funds"}), "seq", None)
    assert outcome.verdict == "failed" and any("unmapped expectException 'SomethingNew'" in f for f in outcome.failures)


def test_reorg_tests_of_the_corpus_resolve(corpus):
    """Tests whose head is not their last valid block: each valid block's parent is a
    known block, and the head is one of them."""
    reorgs = 0
    for rel, content in corpus:
        for name, body in content.items():
            test = bt.BlockchainTest(bt.TestRef(rel, name, body["network"], 0), body)
            valid = [p for p in test.plans if p.klass == "valid"]
            assert body["lastblockhash"].lower() in test.headers, (rel, name)
            if valid and body["lastblockhash"].lower() != valid[-1].hash:
                reorgs += 1
    assert reorgs >= 10


# ---- the exception table ----------------------------------------------------------


def test_every_corpus_exception_name_is_classified(corpus):
    names = Counter(b["expectException"] for _, content in corpus for body in content.values()
                    for b in body["blocks"] if "expectException" in b)
    unmapped = sorted(set(names) - set(bt.EXCEPTION_CLASSES))
    assert not unmapped, f"unmapped expectException names: {unmapped}"
    if sum(names.values()) == 1085:  # the shared snapshot: the table has no name it lacks
        assert set(bt.EXCEPTION_CLASSES) == set(names)


def test_exception_classes_are_consistent():
    kinds = _engine_kinds()
    for name, c in bt.EXCEPTION_CLASSES.items():
        assert c.klass in (bt.TRANSACTION, bt.EXECUTION, bt.HEADER), name
        assert c.meaning, name
        if c.klass == bt.TRANSACTION:
            assert c.kinds and c.kinds <= kinds, (name, c.kinds - kinds)
        else:
            assert not c.kinds, name
    with pytest.raises(bt.UnknownBlockException):
        bt.exception_class("TR_SomethingNew")


def test_the_docs_table_is_the_code_s():
    doc = (REPO / "docs" / "conformance.md").read_text()
    assert bt.exception_table_markdown() in doc, "regenerate the table: python -c 'from conformance import " \
        "blocktests; print(blocktests.exception_table_markdown())'"


# ---- index and sample --------------------------------------------------------------


def test_index_and_sample(root, tmp_path):
    refs = bt.load_index(root, tmp_path)
    assert list(tmp_path.glob("blockchain-index-*.json"))
    assert bt.load_index(root, tmp_path) == refs
    assert len({r.id for r in refs}) == len(refs)
    if len(refs) == 2672:
        assert sum(r.blocks for r in refs) == 6604
    a, b = bt.sample(refs, 120), bt.sample(refs, 120)
    assert a == b and len(a) == 120
    assert {r.folder for r in a} == {r.folder for r in refs}
    assert {r.network for r in a} == {r.network for r in refs}
    every_name = {n for r in refs for n in r.exception_names}
    assert {n for r in a for n in r.exception_names} == every_name
    assert len(every_name) >= 40 or len(refs) != 2672
    small = bt.sample(refs, 1)  # coverage wins over n
    assert {r.network for r in small} == {r.network for r in refs} and len(small) < 120
    assert set(a) <= set(bt.sample(refs, 600))


def test_find_test_by_item_id(root):
    test = bt.find_test(root, "test_blockchain[ValidBlocks/bcExample/basefeeExample.json::basefeeExample_Cancun[Cancun]-par]")
    assert test.ref.test == "basefeeExample_Cancun" and test.ref.network == "Cancun"


def test_alloc_normalisation():
    hexed = {"0xAB" + "00" * 19: {"balance": "0x0a", "nonce": "0x01", "code": "0x6001", "storage": {"0x01": "0x02", "0x03": "0x00"}}}
    ints = {"0xab" + "00" * 19: {"balance": 10, "nonce": 1, "code": b"\x60\x01", "storage": {1: 2}}}
    assert bt.normalise_alloc(hexed) == bt.normalise_alloc(ints)
    ints["0xab" + "00" * 19]["storage"] = {1: 3}
    (line,) = bt.alloc_differences(bt.normalise_alloc(hexed), bt.normalise_alloc(ints))
    assert line == "post-state 0xab" + "00" * 19 + ".storage[0x1]: expected 0x2, got 0x3"


# ---- end to end on a corrupted copy (needs the wheel) --------------------------------


@pytest.mark.timeout(300)
def test_a_wrong_header_fails_in_pytest_sweep_and_run(root, tmp_path):
    """A copy of one test whose block 1 has a wrong stateRoot: the pytest item, the
    sweep (with the line that reruns it) and `run` all fail it, naming the field."""
    import os
    import subprocess
    import sys

    from conformance import plugin

    plugin.require_engine()
    rel = "ValidBlocks/bcExample/basefeeExample.json"
    content = json.loads((root / rel).read_text())
    body = content["basefeeExample_London"]
    body["blocks"][0]["blockHeader"]["stateRoot"] = "0x" + "11" * 32
    corpus = tmp_path / "BlockchainTests"
    (corpus / "ValidBlocks" / "bcExample").mkdir(parents=True)
    (corpus / rel).write_text(json.dumps({"basefeeExample_London": body}))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    ident = "test_blockchain[ValidBlocks/bcExample/basefeeExample.json::basefeeExample_London[London]-seq]"
    expected = "block 0 (number 1): stateRoot: header 0x" + "11" * 32

    proc = subprocess.run([sys.executable, "-m", "pytest", "conformance/test_blockchain_tests.py", "-q",
                           "-p", "no:cacheprovider", "-p", "no:xdist", "--ethereum-tests", str(corpus)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1 and "2 failed" in proc.stdout, proc.stdout[-3000:]
    assert expected in proc.stdout and f"FAILED conformance/test_blockchain_tests.py::{ident}" in proc.stdout
    assert re.search(r"^London +seq +1 +0 +1 +0 +0 +0 +0 +0 +1$", proc.stdout, re.M), proc.stdout[-3000:]

    proc = subprocess.run([sys.executable, "-m", "conformance", "sweep", "-q", "--corpus", "blockchain",
                           "--ethereum-tests", str(corpus), "--no-index-cache", "--workers", "1"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"FAILED {ident}" in proc.stdout and expected in proc.stdout
    rerun = re.search(r"rerun: python -m conformance (.*) run '(test_blockchain\[.*-seq\])'", proc.stdout)
    assert rerun is not None and rerun[2] == ident
    repro = subprocess.run([sys.executable, "-m", "conformance", *rerun[1].split(), "run", rerun[2]],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert repro.returncode == 1 and expected in repro.stdout, repro.stdout + repro.stderr
