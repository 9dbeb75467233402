"""Block-STM: parallel execution equals sequential execution, bit for bit, at every
thread count, on the blocks that break naive parallel engines."""

from __future__ import annotations

import os
import threading
import time

import pytest
from Crypto.Hash import keccak

import blockstm
from tests.blocks import ALICE, COINBASE, ETHER, block, tx

THREADS = (1, 2, 4, 8)
# Each scenario runs this many times per thread count (race hunting).
REPEATS = int(os.environ.get("BLOCKSTM_PARALLEL_REPEATS", "50"))

COINBASE_BALANCE_TO_SLOT = "0x41316000355500"  # SSTORE(CALLDATALOAD(0), BALANCE(COINBASE))
COUNTER = "0x60005460010160005500"  # slot0 += 1
# CREATE2 factory: CREATE2(value 0, calldata as init code, salt 0); SSTORE(0, address)
FACTORY = "0x36600060003760003660006000f560005500"
# Child runtime: no calldata → slot0 += 1; any calldata → SELFDESTRUCT(caller)
CHILD_RUNTIME = "36600e57600054600101600055005b33ff"
# Child init code: SSTORE(1, 7), then return CHILD_RUNTIME
CHILD_INIT = "0x600760015560118060106000396000f3" + CHILD_RUNTIME
# slot0 += 1, but slot0 is read first and written last, after a loop of 20,000 + slot0
# rounds (~0.5 Mgas): each call conflicts with the one before it over a window long enough
# for the workers to overlap even on a busy machine, and an incarnation that read a
# stale count burns a different amount of gas, so it pays a different fee.
SLOW_COUNTER = "0x600054" + "62" + (20000).to_bytes(3, "big").hex() + "81015b60019003806009575060010160005500"
# Every parallel run here takes well under a second. A scheduler that loses a wake-up
# hangs forever; the engine releases the GIL, so a thread times the call out and the
# test fails within a minute instead of at its timeout.
HANG_TIMEOUT_S = 60


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def address(n: int) -> str:
    return "0x" + (0xA0000 + n).to_bytes(20, "big").hex()


def assert_same(seq, par):
    assert par.receipts == seq.receipts
    assert par.post_state == seq.post_state
    assert par.state_root == seq.state_root
    assert par.receipts_root == seq.receipts_root
    assert par.logs_bloom == seq.logs_bloom
    assert par.tx_changes == seq.tx_changes


def execute_parallel(fixture, threads, parallel_threshold=0):
    """Parallel mode (Block-STM forced unless `parallel_threshold=None`), under a timeout."""
    outcome = {}

    def run():
        try:
            outcome["result"] = blockstm.execute(fixture, mode="parallel", threads=threads,
                                                 parallel_threshold=parallel_threshold)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(HANG_TIMEOUT_S)
    if worker.is_alive():
        pytest.fail(f"parallel execution on {threads} threads did not return within {HANG_TIMEOUT_S} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def check_parallel(fixture, repeats=REPEATS, threads=THREADS):
    """Runs the block sequentially once and in parallel `repeats` times per thread
    count; returns the sequential result and the stats of every parallel run."""
    seq = blockstm.execute(fixture)
    runs = []
    for t in threads:
        for _ in range(repeats):
            par = execute_parallel(fixture, t)
            assert_same(seq, par)
            assert par.stats["mode"] == "parallel" and par.stats["fallback"] is None
            assert_counts_are_sane(par.stats, len(fixture["transactions"]))
            runs.append(par)
    return seq, runs


def assert_counts_are_sane(stats, n):
    """Block-STM's counters relate to each other (and none wrapped around)."""
    assert stats["executions"] == n + stats["reexecutions"], stats
    assert stats["validation_failures"] <= stats["validations"] <= 4 * stats["executions"] * max(n, 1), stats
    assert stats["reexecutions"] <= stats["validation_failures"] + stats["dependency_waits"], stats
    assert stats["dependency_waits"] <= stats["executions"] * max(n, 1), stats
    assert stats["lazy_transfers"] <= stats["executions"], stats


def raw_transfers(n):
    pre = {address(i): {"balance": hex(ETHER), "nonce": "0x0"} for i in range(n)}
    txs = [tx(sender=address(i), to=address(n + i), value=1000 + i, gas=21_000) for i in range(n)]
    return block(txs, pre=pre, currentGasLimit=hex(max(30_000_000, 21_000 * n)))


@pytest.mark.timeout(300)
def test_independent_raw_transfers_never_reexecute():
    fixture = raw_transfers(1_000)
    seq, runs = check_parallel(fixture, repeats=max(1, REPEATS // 10))
    assert all(r.stats["reexecutions"] == 0 for r in runs), [r.stats for r in runs if r.stats["reexecutions"]]
    assert seq.post_state[COINBASE]["balance"] == 1_000 * 21_000 * 3


def nonce_chain(n, gap_at=None):
    txs = []
    for i in range(n):
        nonce = i + 1 if gap_at is not None and i >= gap_at else i
        txs.append(tx(nonce=nonce, to=address(i), value=1, gas=21_000))
    return block(txs)


@pytest.mark.timeout(300)
def test_same_sender_nonce_chain():
    seq, _ = check_parallel(nonce_chain(200), repeats=max(1, REPEATS // 5))
    assert seq.post_state[ALICE]["nonce"] == 200


@pytest.mark.timeout(300)
@pytest.mark.parametrize("threads", THREADS)
def test_nonce_gap_raises_the_same_invalid_transaction(threads):
    fixture = nonce_chain(200, gap_at=150)
    with pytest.raises(blockstm.InvalidTransaction) as seq_err:
        blockstm.execute(fixture)
    assert (seq_err.value.index, seq_err.value.kind) == (150, "nonce_too_high")
    for _ in range(max(1, REPEATS // 5)):
        with pytest.raises(blockstm.InvalidTransaction) as par_err:
            execute_parallel(fixture, threads)
        assert (par_err.value.index, par_err.value.kind) == (150, "nonce_too_high")


READER = "0xbea0000000000000000000000000000000000001"


@pytest.mark.timeout(300)
def test_coinbase_paid_by_every_tx_read_at_50_and_99_and_sending_at_60():
    pre = {address(i): {"balance": hex(ETHER), "nonce": "0x0"} for i in range(100)}
    pre[READER] = {"balance": "0x0", "nonce": "0x1", "code": COINBASE_BALANCE_TO_SLOT}
    pre[COINBASE] = {"balance": hex(ETHER), "nonce": "0x0"}
    txs = [tx(sender=address(i), to=address(200 + i), value=1, gas=21_000) for i in range(100)]
    txs[50] = tx(sender=address(50), to=READER, data="0x" + (50).to_bytes(32, "big").hex(), gas=100_000)
    txs[99] = tx(sender=address(99), to=READER, data="0x" + (99).to_bytes(32, "big").hex(), gas=100_000)
    txs[60] = tx(sender=COINBASE, to=address(260), value=12345, gas=21_000)
    seq, _ = check_parallel(block(txs, pre=pre), repeats=max(1, REPEATS // 5))
    storage = seq.post_state[READER]["storage"]
    # The reads see every fee paid before them, exactly.
    fees_before_50 = sum(r.gas_used for r in seq.receipts[:50]) * 3
    assert storage[50] == ETHER + fees_before_50


@pytest.mark.timeout(300)
def test_hot_storage_slot_incremented_by_100_transactions():
    seq, _ = check_parallel(hot_counter(100), repeats=max(1, REPEATS // 5))
    assert seq.post_state["0xc000000000000000000000000000000000000001"]["storage"] == {0: 100}


def create2_address(factory: str, salt: int, init_code: str) -> str:
    digest = keccak256(b"\xff" + bytes.fromhex(factory[2:]) + salt.to_bytes(32, "big")
                       + keccak256(bytes.fromhex(init_code[2:])))
    return "0x" + digest[12:].hex()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fork", ["Shanghai", "Cancun"])
def test_selfdestruct_then_redeploy_with_calls_around(fork):
    factory = "0xfac0000000000000000000000000000000000001"
    child = create2_address(factory, 0, CHILD_INIT)
    pre = {address(i): {"balance": hex(ETHER), "nonce": "0x0"} for i in range(12)}
    pre[factory] = {"balance": "0x0", "nonce": "0x1", "code": FACTORY}
    steps = [
        (factory, CHILD_INIT),  # deploy: slot1 = 7
        (child, "0x"),           # slot0 = 1
        (child, "0x"),           # slot0 = 2
        (child, "0x01"),         # self-destruct (Cancun: only the balance moves)
        (child, "0x"),           # call after destruction (no code before Cancun)
        (factory, CHILD_INIT),  # redeploy at the same address
        (child, "0x"),           # fresh storage: slot0 = 1
        (child, "0x01"),         # destroy again
        (factory, CHILD_INIT),  # and again
        (child, "0x"),
    ]
    txs = [tx(sender=address(i), to=to, data=data, gas=300_000) for i, (to, data) in enumerate(steps)]
    seq, runs = check_parallel(block(txs, pre=pre, fork=fork), repeats=max(1, REPEATS // 5))
    assert all(r.stats["fallback"] is None for r in runs)
    assert seq.receipts[0].status == 1
    if fork == "Shanghai":
        assert seq.post_state[child]["storage"] == {0: 1, 1: 7}
    else:
        # EIP-6780: the account survives its SELFDESTRUCTs; redeploys collide.
        assert seq.post_state[child]["storage"] == {0: 5, 1: 7}


def test_small_blocks_fall_back_to_sequential_and_say_why():
    res = execute_parallel(raw_transfers(3), 2, parallel_threshold=None)
    assert res.stats["mode"] == "sequential"
    assert "threshold" in res.stats["fallback"]


def hot_counter(n):
    counter = "0xc000000000000000000000000000000000000001"
    pre = {address(i): {"balance": hex(ETHER), "nonce": "0x0"} for i in range(n)}
    pre[counter] = {"balance": "0x0", "nonce": "0x1", "code": COUNTER}
    return block([tx(sender=address(i), to=counter, gas=60_000) for i in range(n)], pre=pre)


def test_dependencies_name_lower_transactions_read_from():
    res = execute_parallel(hot_counter(20), threads=2)
    assert res.dependencies[0] == []
    assert all(i - 1 in deps and all(d < i for d in deps) for i, deps in enumerate(res.dependencies) if i)


def test_lazy_transfers_make_a_nonce_chain_independent():
    res = execute_parallel(nonce_chain(200), 2)
    assert res.stats["lazy_transfers"] == 200
    assert res.stats["reexecutions"] == 0 and res.dependencies == [[]] * 200


@pytest.mark.timeout(300)
def test_hot_slot_with_long_conflict_windows_and_coinbase_readers():
    """Counter calls that conflict in long windows (aborts, ESTIMATE waits, incarnations
    whose fee changes), and every fourth transaction reads the coinbase, whose balance
    is the counter calls' lazy fees summed."""
    counter = "0xc000000000000000000000000000000000000002"
    n = 24
    pre = {address(i): {"balance": hex(ETHER), "nonce": "0x0"} for i in range(n)}
    pre[counter] = {"balance": "0x0", "nonce": "0x1", "code": SLOW_COUNTER}
    pre[READER] = {"balance": "0x0", "nonce": "0x1", "code": COINBASE_BALANCE_TO_SLOT}
    txs = [tx(sender=address(i), to=READER, data="0x" + i.to_bytes(32, "big").hex()) if i % 4 == 3
           else tx(sender=address(i), to=counter, gas=1_000_000) for i in range(n)]
    seq, runs = check_parallel(block(txs, pre=pre), repeats=max(1, REPEATS // 5), threads=(2, 4, 8))
    assert seq.post_state[counter]["storage"] == {0: n - n // 4}
    # The windows really overlapped: the test exercised conflicts, not a sequential schedule.
    assert sum(r.stats["validation_failures"] + r.stats["dependency_waits"] for r in runs) > 0


@pytest.mark.timeout(300)
def test_redeploy_over_a_destroyed_pre_state_contract_starts_from_empty_storage():
    """The storage of a contract destroyed in the block reads as zero afterwards, the
    pre-state's slots included, not only the slots the block wrote."""
    factory = "0xfac0000000000000000000000000000000000001"
    child = create2_address(factory, 0, CHILD_INIT)
    pre = {address(i): {"balance": hex(ETHER), "nonce": "0x0"} for i in range(4)}
    pre[factory] = {"balance": "0x0", "nonce": "0x1", "code": FACTORY}
    pre[child] = {"balance": "0x0", "nonce": "0x1", "code": "0x" + CHILD_RUNTIME, "storage": {"0x00": "0x05", "0x02": "0x09"}}
    steps = [(child, "0x01"), (factory, CHILD_INIT), (child, "0x"), (child, "0x")]
    txs = [tx(sender=address(i), to=to, data=data, gas=300_000) for i, (to, data) in enumerate(steps)]
    seq, _ = check_parallel(block(txs, pre=pre, fork="Shanghai"), repeats=max(1, REPEATS // 10))
    assert seq.post_state[child]["storage"] == {0: 2, 1: 7}


def test_default_path_rule():
    """Without an explicit threshold (docs/engine.md): Block-STM needs two usable threads
    (requested, capped by the cores), and with exactly two a block of 100 Mgas of gas
    limits (capped by the block's); with three or more, 8 transactions. An explicit
    threshold forces Block-STM."""
    small = raw_transfers(20)
    # 20 transfers that may use 5.1 Mgas each: 102 Mgas, in a 200-Mgas block.
    big = block([dict(t, gasLimit=hex(5_100_000)) for t in small["transactions"]], pre=small["pre"],
                currentGasLimit=hex(200_000_000))
    cores = os.cpu_count() or 1
    for threads in (1, 2, 64):
        usable = min(threads, cores)
        res_small = execute_parallel(small, threads, parallel_threshold=None)
        res_big = execute_parallel(big, threads, parallel_threshold=None)
        if usable < 2:
            for res in (res_small, res_big):
                assert res.stats["mode"] == "sequential" and "1 usable thread" in res.stats["fallback"], res.stats
        elif usable == 2:
            assert res_small.stats["mode"] == "sequential" and "gas" in res_small.stats["fallback"], res_small.stats
            assert res_big.stats["mode"] == "parallel" and res_big.stats["fallback"] is None, res_big.stats
        else:
            for res in (res_small, res_big):
                assert res.stats["mode"] == "parallel" and res.stats["fallback"] is None, res.stats
    # The gas limits alone do not make a block big: a 30-Mgas block stays small.
    capped = dict(big, env=dict(big["env"], currentGasLimit=hex(30_000_000)))
    capped["transactions"] = [dict(t, gasLimit=hex(1_400_000)) for t in small["transactions"]]
    if min(64, cores) == 2:
        assert execute_parallel(capped, 64, parallel_threshold=None).stats["mode"] == "sequential"
    forced = execute_parallel(small, 2)
    assert forced.stats["mode"] == "parallel" and forced.stats["fallback"] is None
    assert forced.state_root == blockstm.execute(small).state_root


@pytest.mark.timeout(300)
def test_the_default_path_gives_up_on_an_inherently_serial_block():
    """300 calls that all increment one slot, big enough for the default path: Block-STM
    sees one conflict after another and finishes the block in order from what it has
    committed (stats say so); the result is sequential's, bit for bit. With a threshold
    Block-STM keeps going to the end."""
    counter = "0xc000000000000000000000000000000000000001"
    n = 300
    pre = {address(i): {"balance": hex(ETHER), "nonce": "0x0"} for i in range(n)}
    pre[counter] = {"balance": "0x0", "nonce": "0x1", "code": COUNTER}
    fixture = block([tx(sender=address(i), to=counter, gas=400_000) for i in range(n)], pre=pre,
                    currentGasLimit=hex(200_000_000))
    seq = blockstm.execute(fixture)
    gave_up = 0
    for _ in range(20):
        res = execute_parallel(fixture, 8, parallel_threshold=None)
        assert_same(seq, res)
        if res.stats["fallback"]:
            assert "gave up" in res.stats["fallback"] and res.stats["mode"] == "parallel", res.stats
            assert res.stats["executions"] >= n
            gave_up += 1
    assert gave_up > 0, "8 workers on one hot slot never gave up"
    forced = execute_parallel(fixture, 8)
    assert_same(seq, forced)
    assert forced.stats["fallback"] is None


def process_threads() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("Threads:"))


@pytest.mark.timeout(120)
def test_absurd_thread_counts_are_capped_and_leave_no_threads_behind():
    """threads=10000 on a 2,000-transaction block: at most MAX_THREADS workers, a prompt
    answer, the same result, and a process whose thread count stays bounded."""
    fixture = raw_transfers(2_000)
    seq = blockstm.execute(fixture)
    before = process_threads()
    started = time.monotonic()
    res = execute_parallel(fixture, 10_000)
    assert time.monotonic() - started < 30
    assert_same(seq, res)
    assert 1 <= res.stats["threads"] <= blockstm.MAX_THREADS
    for threads in (10_000, 500, blockstm.MAX_THREADS, 3, 10_000):
        assert_same(seq, execute_parallel(fixture, threads))
    # One pool of at most MAX_THREADS workers (and, for a moment, the thread that frees
    # a big block's multi-version memory).
    assert process_threads() <= before + blockstm.MAX_THREADS + 2


def test_stats_threads_are_the_workers_that_took_part():
    fixture = raw_transfers(3)
    res = execute_parallel(fixture, 8)
    assert 1 <= res.stats["threads"] <= 3
    assert execute_parallel(fixture, 8, parallel_threshold=None).stats["threads"] == 1  # sequential path


def test_default_path_boundaries_and_explicit_thresholds():
    """The rules' edges: with two usable threads exactly 100 Mgas of gas limits is big
    enough (one gas less is not), and 8 transactions are enough (7 are not); an explicit
    threshold t sends blocks of fewer than t transactions to the sequential path, and
    blocks of t or more to Block-STM."""
    small = raw_transfers(20)

    def with_gas(total):
        per, rest = divmod(total, 20)
        txs = [dict(t, gasLimit=hex(per + (rest if i == 0 else 0))) for i, t in enumerate(small["transactions"])]
        return block(txs, pre=small["pre"], currentGasLimit=hex(200_000_000))

    if min(2, os.cpu_count() or 1) == 2:
        at = execute_parallel(with_gas(100_000_000), 2, parallel_threshold=None)
        below = execute_parallel(with_gas(99_999_999), 2, parallel_threshold=None)
        assert at.stats["mode"] == "parallel" and at.stats["fallback"] is None, at.stats
        assert below.stats["mode"] == "sequential" and "gas" in below.stats["fallback"], below.stats
        # The default threshold, 8 transactions: a big block of 8 runs Block-STM, of 7 does not.
        for n, mode in ((8, "parallel"), (7, "sequential")):
            few = block([dict(t, gasLimit=hex(15_000_000)) for t in small["transactions"][:n]], pre=small["pre"],
                        currentGasLimit=hex(200_000_000))
            res = execute_parallel(few, 2, parallel_threshold=None)
            assert res.stats["mode"] == mode, (n, res.stats)
            if mode == "sequential":
                assert "below the parallel threshold of 8" in res.stats["fallback"], res.stats
    for threshold, mode in ((21, "sequential"), (20, "parallel"), (19, "parallel"), (0, "parallel")):
        res = execute_parallel(small, 2, parallel_threshold=threshold)
        assert res.stats["mode"] == mode, (threshold, res.stats)
        assert (res.stats["fallback"] is None) == (mode == "parallel"), (threshold, res.stats)
        if mode == "sequential":
            assert "below the parallel threshold of 21" in res.stats["fallback"]


def test_dependency_waits_are_counted_once_and_do_not_make_the_default_path_give_up():
    """Aborts and ESTIMATE waits counted exactly: each window of 64 commits has a cluster of
    six calls to a hot counter, each call's sender sending a raw transfer right after it
    (a lazy transfer that reads the sender an aborted call wrote waits on its ESTIMATE).
    Oversubscribed (4 threads on the cores there are), the calls overlap and conflict —
    a dozen conflicts a window, far below give-up's 32. A counter that double-counts or
    wraps (the give-up tally, a lazy transfer's wait) trips the sanity checks or gives up."""
    counter = "0xc000000000000000000000000000000000000001"
    n = 256
    pre = {address(i): {"balance": hex(ETHER), "nonce": "0x0"} for i in range(n)}
    pre[counter] = {"balance": "0x0", "nonce": "0x1", "code": COUNTER}
    txs = []
    for i in range(n):
        slot = i % 64
        if slot in range(20, 32, 2):  # a counter call, then a transfer from its sender
            txs.append(tx(sender=address(i), to=counter, gas=2_000_000))
        elif slot in range(21, 33, 2):
            txs.append(tx(sender=address(i - 1), nonce=1, to=address(n + i), value=1, gas=400_000))
        else:
            txs.append(tx(sender=address(i), to=address(n + i), value=1, gas=400_000))
    fixture = block(txs, pre=pre, currentGasLimit=hex(400_000_000))  # 118 Mgas of gas limits
    seq = blockstm.execute(fixture)
    waited = 0
    for _ in range(60):
        par = execute_parallel(fixture, 4, parallel_threshold=None)
        assert_same(seq, par)
        assert_counts_are_sane(par.stats, n)
        if min(2, os.cpu_count() or 1) == 2:
            assert par.stats["mode"] == "parallel" and par.stats["fallback"] is None, par.stats
        waited += par.stats["dependency_waits"]
        if waited >= 5:
            break
    if waited == 0:
        pytest.skip("no run of the block waited on an ESTIMATE here (nothing overlapped): nothing to check")


def test_the_default_path_keeps_going_on_a_block_with_a_few_conflicts():
    """Give-up counts conflicts per 64 commits (more than 32: serial). A big block of
    independent transfers with one cluster of six calls to a hot counter in each window
    conflicts far less than that: Block-STM must finish it, not give up."""
    counter = "0xc000000000000000000000000000000000000001"
    n = 256
    pre = {address(i): {"balance": hex(ETHER), "nonce": "0x0"} for i in range(n)}
    pre[counter] = {"balance": "0x0", "nonce": "0x1", "code": COUNTER}
    txs = [tx(sender=address(i), to=counter, gas=400_000) if i % 64 in range(20, 26)
           else tx(sender=address(i), to=address(n + i), value=1, gas=400_000) for i in range(n)]
    fixture = block(txs, pre=pre, currentGasLimit=hex(200_000_000))  # 102 Mgas of gas limits
    seq = blockstm.execute(fixture)
    for _ in range(3):
        par = execute_parallel(fixture, 2, parallel_threshold=None)
        assert_same(seq, par)
        if min(2, os.cpu_count() or 1) == 2:
            assert par.stats["mode"] == "parallel" and par.stats["fallback"] is None, par.stats
        assert_counts_are_sane(par.stats, n)
