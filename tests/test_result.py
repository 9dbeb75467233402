"""BlockResult round trips: pickling, equality, and the post-state as the next block's `pre`."""

from __future__ import annotations

import copy
import pickle

import pytest

import blockstm
from tests.blocks import ALICE, BOB, COINBASE, DEPLOY_STORE_AND_LOG, ETHER, STORE_AND_LOG, block, tx
from tests.test_parallel import execute_parallel

CONTRACT_CALL = "0x" + "00" * 31 + "2a"


def busy_block():
    """Transfers, a creation with a log, a call that stores: every part of a result is non-empty."""
    from tests.test_parallel import address
    pre = {address(i): {"balance": hex(ETHER), "nonce": "0x0"} for i in range(10)}
    pre[ALICE] = {"balance": hex(10 * ETHER), "nonce": "0x0"}
    txs = [tx(sender=address(i), to=address(20 + i), value=5, gas=21_000) for i in range(10)]
    txs.append(tx(nonce=0, to=None, data=DEPLOY_STORE_AND_LOG, gas=200_000))
    return block(txs, pre=pre)


def every_field(res):
    return (res.receipts, res.post_state, res.state_root, res.logs_bloom, res.receipts_root, res.logs_hash,
            res.gas_used, res.tx_changes, res.dependencies, res.stats, repr(res))


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_pickle_round_trip_keeps_every_field(mode):
    fixture = busy_block()
    res = blockstm.execute(fixture) if mode == "sequential" else execute_parallel(fixture, 4)
    assert res.stats["mode"] == mode
    back = pickle.loads(pickle.dumps(res))
    assert type(back) is blockstm.BlockResult
    assert every_field(back) == every_field(res)
    assert back == res
    # Equal results give equal snapshots: the encoding is deterministic.
    assert pickle.dumps(back) == pickle.dumps(res)


def test_pickle_keeps_a_fallback_and_parallel_counters():
    res = execute_parallel(block([tx(gas=21_000)]), 4, parallel_threshold=None)
    assert res.stats["fallback"]  # one transaction: below the default threshold
    assert pickle.loads(pickle.dumps(res)).stats == res.stats


def _execute_in_child(fixture):
    return blockstm.execute(fixture)


@pytest.mark.timeout(120)
def test_a_result_crosses_processes():
    """What pickling is for: a result computed in a worker process, used in this one."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    fixture = busy_block()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        res = pool.submit(_execute_in_child, fixture).result(timeout=100)
    assert res == blockstm.execute(fixture) and res.stats["transactions"] == 11


def test_a_corrupt_snapshot_is_a_value_error():
    snapshot = blockstm.BlockResult.__reduce__(blockstm.execute(busy_block()))[1][0]
    with pytest.raises(ValueError, match="not a BlockResult snapshot: truncated"):
        blockstm.BlockResult(snapshot[:-5])
    with pytest.raises(ValueError, match="trailing bytes"):
        blockstm.BlockResult(snapshot + b"\0")
    with pytest.raises(ValueError, match="version"):
        blockstm.BlockResult(b"\x09" + snapshot[1:])


def test_equality_is_the_outcome_of_the_block():
    fixture = busy_block()
    seq = blockstm.execute(fixture)
    par = execute_parallel(fixture, 4)
    assert seq.stats != par.stats
    assert seq == par and not (seq != par)  # stats and dependencies are not compared
    other = copy.deepcopy(fixture)
    other["transactions"][0]["value"] = hex(6)
    assert blockstm.execute(other) != seq
    assert (seq == "a result") is False and seq != 1
    with pytest.raises(TypeError, match="unhashable"):
        hash(seq)


def test_post_state_fixture_is_the_next_blocks_pre():
    create = tx(nonce=0, to=None, data=DEPLOY_STORE_AND_LOG, gas=200_000)
    first = blockstm.execute(block([create, tx(nonce=1, value=ETHER, gas=21_000)]))
    contract = first.receipts[0].contract_address
    pre = first.post_state_fixture()
    assert pre[contract] == {"balance": "0x0", "nonce": "0x1", "code": "0x" + STORE_AND_LOG, "storage": {}}
    assert pre[BOB]["balance"] == hex(ETHER) and pre[ALICE]["nonce"] == "0x2"
    call = tx(nonce=2, to=contract, data=CONTRACT_CALL, gas=100_000)
    second = blockstm.execute(block([call], pre=pre))
    assert second.post_state_fixture()[contract]["storage"] == {"0x0": "0x2a"}
    # Two blocks chained through post_state_fixture end where one block with all three ends.
    both = blockstm.execute(block([create, tx(nonce=1, value=ETHER, gas=21_000), call]))
    assert second.state_root == both.state_root
    assert second.post_state == both.post_state
    assert set(second.post_state_fixture()) == {ALICE, BOB, COINBASE, contract}


def test_stats_keys_are_the_documented_ones():
    """blockstm.STATS_KEYS and docs/engine.md's table list exactly what `stats` holds."""
    from pathlib import Path
    doc = (Path(__file__).resolve().parent.parent / "docs" / "engine.md").read_text()
    table = doc.split("## Statistics", 1)[1].split("\n## ", 1)[0]
    documented = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    for res in (blockstm.execute(busy_block()), execute_parallel(busy_block(), 4)):
        assert set(res.stats) == set(blockstm.STATS_KEYS) == documented


def test_phase_timers_add_up_in_both_modes():
    """elapsed_ns is execute_ns + commit_ns (docs/engine.md); each phase of a block that
    parses, sets up, executes and hashes something took some time."""
    for res in (blockstm.execute(busy_block()), execute_parallel(busy_block(), 2)):
        s = res.stats
        assert s["elapsed_ns"] == s["execute_ns"] + s["commit_ns"], s
        assert min(s["parse_ns"], s["setup_ns"], s["execute_ns"], s["root_ns"]) > 0, s
        if s["mode"] == "sequential":
            assert s["commit_ns"] == 0, s
