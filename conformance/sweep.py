"""``python -m conformance sweep``: the GeneralStateTests cases outside pytest.

The same cases and the same verdicts as ``conformance/test_state_tests.py``
(``checks.execute`` + ``checks.check_state_case``, ``known_failures`` for strict xfail
and the slow marks), without pytest's per-item cost (~0.5 ms an item, more than the
engine spends on a typical case). Files are the unit of work: a worker process parses
a file once and runs all its selected cases, each in the selected modes back to back.
The files of ``SLOW_CASES`` are split into one task per item so that the slow items
spread over the workers. Tasks go out largest first, one at a time, to whichever
worker is free.

A per-item timeout is kept by the parent, not by a thread per item: each worker writes
(task, position, start time) into shared memory before every engine call and clears it
after; the parent polls that every half second and kills a worker whose item overran
(the engine releases the GIL, so a hung engine or a Python-level hang look the same
from outside). The item is reported failed, a new worker takes the rest of the task.
A worker that dies (a crash in the extension) is handled the same way.

Item ids are pytest's (``test_state[<case id>-<seq|par>]``): any failure can be rerun
with ``python -m conformance run '<id>'`` or pasted after
``conformance/test_state_tests.py::``.

    python -m conformance sweep                                  # everything, both modes
    python -m conformance sweep stExample -k Cancun --mode seq   # a folder, a -k expression
    python -m conformance sweep --revme-set --mode seq --workers 2
    python -m conformance sweep --exclude-slow --json sweep.json
    python -m conformance sweep --corpus blockchain              # BlockchainTests, both modes

``--corpus blockchain`` runs ethereum/tests BlockchainTests instead (conformance/
blocktests.py, the checks of ``conformance/test_blockchain_tests.py``): a test is an
item, a file a task; ids are ``test_blockchain[<test id>-<mode>]``, a test whose only
unchecked blocks are header rules is "skipped", and the summary adds the block counts.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import signal
import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from . import blocktests, checks, data, known_failures
from .statetests import FORKS, CaseLoader, CaseRef, index_file, list_files, load_index

MODES = ("seq", "par")

# ---- revme's case set -----------------------------------------------------------------
# What `revme statetest` 43.0.3 runs of the corpus (crates/revme/src/cmd/statetest/
# runner.rs): it skips files by name (skip_test), every `Constantinople` post entry (the
# fork, not ConstantinopleFix), and a case whose transaction it cannot build while an
# exception is expected (`tx_env` fails: a blob transaction without `to`).
REVME_SKIPPED_FILES = frozenset({
    # "Test with some storage check" (EIP-7610 collisions: revm 43 lacks the rule)
    "RevertInCreateInInit_Paris.json", "RevertInCreateInInit.json",
    "dynamicAccountOverwriteEmpty.json", "dynamicAccountOverwriteEmpty_Paris.json",
    "RevertInCreateInInitCreate2Paris.json", "create2collisionStorage.json",
    "RevertInCreateInInitCreate2.json", "create2collisionStorageParis.json",
    "InitCollision.json", "InitCollisionParis.json", "test_init_collision_create_opcode.json",
    # "Malformed value"
    "ValueOverflow.json", "ValueOverflowParis.json",
    # "passing, but they take a lot of time"
    "Call50000_sha256.json", "static_Call50000_sha256.json", "loopMul.json",
    "CALLBlake2f_MaxRounds.json",
})
REVME_SKIPPED_PATH_PART = "paris/eip7610_create_collision"
REVME_SKIPPED_FORKS = frozenset({"Constantinople"})
REVME_UNBUILDABLE = frozenset({
    "Cancun/stEIP4844-blobtransactions/createBlobhashTx.json::createBlobhashTx[Cancun-d0g0v0]",
})

_REVME_UNBUILDABLE_FILES = frozenset(case_id.split("::", 1)[0] for case_id in REVME_UNBUILDABLE)


def in_revme_set(ref: CaseRef) -> bool:
    """Whether `revme statetest` runs this case (100,701 of the 101,161)."""
    return not (
        ref.fork in REVME_SKIPPED_FORKS
        or ref.relpath.rsplit("/", 1)[-1] in REVME_SKIPPED_FILES
        or REVME_SKIPPED_PATH_PART in ref.relpath
        or (ref.relpath in _REVME_UNBUILDABLE_FILES and ref.id in REVME_UNBUILDABLE)
    )


def item_id(ref, mode: str) -> str:
    """The pytest item id (without the module path) of a state case or a blockchain test."""
    if isinstance(ref, blocktests.TestRef):
        return f"test_blockchain[{ref.id}-{mode}]"
    return f"test_state[{ref.id}-{mode}]"


def _group(ref) -> str:
    """What the summary counts by: a case's fork, a blockchain test's network."""
    return ref.network if isinstance(ref, blocktests.TestRef) else ref.fork


# ---- selection ----------------------------------------------------------------------


def keyword_filter(expression: str):
    """pytest's ``-k`` for a state-test item: ``(ref, mode, slow) -> bool``. The names
    matched are those pytest gives the item (its name, module and package, the mode
    keyword, its marks), case-insensitive substrings, with and/or/not/parentheses."""
    from _pytest.mark import KeywordMatcher
    from _pytest.mark.expression import Expression

    compiled = Expression.compile(expression)

    def matches(ref, mode: str, slow: bool) -> bool:
        module = "test_blockchain_tests.py" if isinstance(ref, blocktests.TestRef) else "test_state_tests.py"
        names = {item_id(ref, mode), module, "conformance", "sequential" if mode == "seq" else "parallel"}
        if slow:
            names.add("slow")
        if not isinstance(ref, blocktests.TestRef) and known_failures.state_reason(ref, mode):
            names.add("xfail")
        return compiled.evaluate(KeywordMatcher(names))

    return matches


def _under(relpath: str, prefixes: list[str]) -> bool:
    return any(relpath == p or relpath.startswith(p + "/") for p in prefixes)


def select(refs: list[CaseRef], *, paths: list[str] = (), keyword: str | None = None,
           forks: list[str] = (), modes: tuple[str, ...] = MODES, exclude_slow: bool = False,
           revme_set: bool = False) -> list[tuple[CaseRef, str]]:
    """The (case, mode) items to run, in corpus order."""
    prefixes = [p.strip("/") for p in paths]
    matches = keyword_filter(keyword) if keyword else None
    fork_set = set(forks)
    items = []
    for ref in refs:
        if prefixes and not _under(ref.relpath, prefixes):
            continue
        if fork_set and _group(ref) not in fork_set:
            continue
        if isinstance(ref, blocktests.TestRef):  # no known failures, no slow marks
            items += [(ref, mode) for mode in modes if matches is None or matches(ref, mode, False)]
            continue
        if revme_set and not in_revme_set(ref):
            continue
        for mode in modes:
            slow = known_failures.state_slow_reason(ref, mode) is not None
            if exclude_slow and slow:
                continue
            if matches is not None and not matches(ref, mode, slow):
                continue
            items.append((ref, mode))
    return items


@dataclass
class Task:
    """Items of one file (or one slow item), with their positions in the task."""

    id: int
    relpath: str
    items: list[tuple[CaseRef, str]]
    cost: float = 0.0
    pending: set[int] = field(default_factory=set)  # positions without a result yet


# Files whose cases make the engine load the KZG trusted setup (the point-evaluation
# precompile with a valid proof): ~3-4 s of CPU, once per process. They go to one task,
# so that one worker pays it, as revme pays it once.
KZG_FILES_FOLDER = "Pyspecs/cancun/eip4844_blobs/"


_SLOW_REASONS = [reason for _, _, reason in known_failures.SLOW_CASES]


def _setup_group(relpath: str) -> str | None:
    if relpath.startswith(KZG_FILES_FOLDER) and "precompile" in relpath:
        return "kzg"
    return None


def make_tasks(items: list[tuple[CaseRef, str]], gst: Path) -> list[Task]:
    """One task per file, except one per item for files of SLOW_CASES and one task for
    the files of a costly one-time engine setup (_setup_group); largest first."""
    by_file: dict[str, list] = defaultdict(list)
    for ref, mode in items:
        by_file[_setup_group(ref.relpath) or ref.relpath].append((ref, mode))
    groups = []
    for key, group_items in by_file.items():
        slow = [known_failures.state_slow_reason(ref, mode) for ref, mode in group_items]
        if any(slow):  # slowest first: SLOW_CASES lists the slowest first
            groups += [(key, [item], 1e12 * (len(_SLOW_REASONS) - _SLOW_REASONS.index(s)) if s else 0.0)
                       for item, s in zip(group_items, slow)]
            continue
        # Per case the engine parses the whole pre-state: cost ~ items x file size.
        per_file = defaultdict(int)
        for ref, _ in group_items:
            per_file[ref.relpath] += 1
        cost = sum(n * (2000 + os.path.getsize(gst / relpath)) for relpath, n in per_file.items())
        groups.append((key, group_items, cost))
    groups.sort(key=lambda g: -g[2])
    tasks = [Task(i, relpath, its, cost) for i, (relpath, its, cost) in enumerate(groups)]
    for task in tasks:
        task.pending = set(range(len(task.items)))
    return tasks


# ---- the worker ---------------------------------------------------------------------

# progress: 3 doubles per worker slot: task id, position, start (time.monotonic(), a
# system-wide clock on Linux; 0 = no item running).
_SLOT = 3
FLUSH_SECONDS = 1.0


def make_blockchain_tasks(items: list[tuple[blocktests.TestRef, str]], root: Path) -> list[Task]:
    """One task per blockchain-test file, largest first (cost: items x file size)."""
    by_file: dict[str, list] = defaultdict(list)
    for ref, mode in items:
        by_file[ref.relpath].append((ref, mode))
    groups = sorted(((rel, its, len(its) * (2000 + os.path.getsize(root / rel))) for rel, its in by_file.items()),
                    key=lambda g: -g[2])
    tasks = [Task(i, rel, its, cost) for i, (rel, its, cost) in enumerate(groups)]
    for task in tasks:
        task.pending = set(range(len(task.items)))
    return tasks


def verdict(ref: CaseRef, mode: str, failures: list[str]) -> tuple[str, str | None]:
    """(outcome, message) of an item from its failure lines, as pytest would report it:
    a known failure (known_failures, strict xfail) is "xfailed" when it fails and
    "xpassed", a failure of the run, when it passes."""
    reason = known_failures.state_reason(ref, mode)
    if reason:
        return ("xfailed", None) if failures else ("xpassed", f"[XPASS(strict)] {reason}")
    return ("failed", "\n".join(failures)) if failures else ("passed", None)


def run_blockchain_item(engine, loader: blocktests.TestLoader, ref: blocktests.TestRef, mode: str,
                        threads: int | None):
    """(outcome, message, block counts) of one blockchain test in one mode, as
    test_blockchain_tests.py judges it."""
    outcome = loader.test(ref).run(engine, mode, threads)
    if outcome.failures:
        return "failed", "\n".join(outcome.failures), outcome.counts
    if outcome.header_only:
        return "skipped", outcome.skip_reason(), outcome.counts
    return "passed", None, outcome.counts


def _worker(conn, progress, slot: int, gst: str, threads: int, corpus: str = "state") -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops the workers
    base = slot * _SLOT
    try:
        import blockstm as engine
    except ImportError as exc:
        conn.send(("fatal", f"blockstm is not importable ({exc}); build and install the wheel first"))
        return
    conn.send(("ready",))
    while True:
        msg = conn.recv()
        if msg is None:
            return
        task_id, relpath, positions = msg  # positions: [(pos, ref, mode)]
        if corpus == "blockchain":
            _blockchain_task(conn, progress, base, task_id, positions, Path(gst), threads, engine)
            continue
        loader = CaseLoader(Path(gst), max_files=1)
        results = []  # (pos, outcome, message or None, seconds)
        last_flush = time.monotonic()
        case = None
        progress[base] = task_id
        for pos, ref, mode in positions:
            ref = CaseRef(*ref)
            progress[base + 1] = pos
            progress[base + 2] = started = time.monotonic()
            try:
                if case is None or case.ref != ref:
                    case = loader.case(ref)
                outcome = checks.execute(engine, case.fixture_json, mode, threads)
                failures = checks.check_state_case(case, mode, outcome)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # EngineError, a panic, a loader error: a failed item
                failures = [f"case:  {ref.id}", f"mode:  {checks.MODE_NAMES[mode]}",
                            f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"]
            now = time.monotonic()
            progress[base + 2] = 0.0
            results.append((pos, *verdict(ref, mode, failures), now - started))
            if now - last_flush >= FLUSH_SECONDS:
                conn.send(("partial", task_id, results))
                results, last_flush = [], now
        conn.send(("done", task_id, results))


def _blockchain_task(conn, progress, base: int, task_id: int, positions, root: Path, threads: int, engine) -> None:
    """_worker's loop for a task of blockchain tests: results carry the block counts."""
    loader = blocktests.TestLoader(root, max_files=1)
    results = []
    last_flush = time.monotonic()
    progress[base] = task_id
    for pos, ref, mode in positions:
        ref = blocktests.TestRef(*ref)
        progress[base + 1] = pos
        progress[base + 2] = started = time.monotonic()
        try:
            outcome, message, counts = run_blockchain_item(engine, loader, ref, mode, threads)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # EngineError, a panic, a loader error: a failed item
            outcome, counts = "failed", None
            message = (f"test:  {ref.id}\nmode:  {checks.MODE_NAMES[mode]}\n"
                       f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")
        now = time.monotonic()
        progress[base + 2] = 0.0
        results.append((pos, outcome, message, now - started, counts))
        if now - last_flush >= FLUSH_SECONDS:
            conn.send(("partial", task_id, results))
            results, last_flush = [], now
    conn.send(("done", task_id, results))


# ---- the parent ---------------------------------------------------------------------


@dataclass
class _Slot:
    index: int
    process: multiprocessing.Process | None = None
    conn: object = None
    task: Task | None = None


@dataclass
class Report:
    """Every item's outcome, and what the summary needs."""

    counts: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))  # (fork, mode) → outcome → n
    seconds: dict = field(default_factory=lambda: defaultdict(float))  # mode → engine + check time
    failures: list = field(default_factory=list)  # (item id, message)
    slowest: list = field(default_factory=list)  # (seconds, item id), >= 1 s
    items: list | None = None  # [item id, outcome, seconds] when --json
    done: int = 0
    blocks: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))  # (network, mode) → key → n
    skipped: list = field(default_factory=list)  # (item id, reason) of skipped blockchain tests

    def add(self, ref, mode: str, outcome: str, seconds: float, message: str | None, counts: dict | None = None) -> None:
        self.counts[(_group(ref), mode)][outcome] += 1
        for key, n in (counts or {}).items():
            self.blocks[(_group(ref), mode)][key] += n
        if outcome == "skipped":
            self.skipped.append((item_id(ref, mode), message or ""))
        self.seconds[mode] += seconds
        self.done += 1
        if outcome in ("failed", "xpassed"):
            self.failures.append((item_id(ref, mode), message or ""))
        if seconds >= 1.0:
            self.slowest.append((seconds, item_id(ref, mode)))
        if self.items is not None:
            self.items.append([item_id(ref, mode), outcome, round(seconds, 6)])

    @property
    def failed(self) -> int:
        return sum(c.get("failed", 0) + c.get("xpassed", 0) for c in self.counts.values())


class Sweep:
    def __init__(self, gst: Path, tasks: list[Task], *, workers: int, threads: int, timeout: float,
                 report: Report, progress_every: float | None, on_failure=None, corpus: str = "state") -> None:
        self.gst = gst
        self.corpus = corpus
        self.queue = deque(tasks)
        self.tasks = {t.id: t for t in tasks}
        self.threads = threads
        self.timeout = timeout
        self.report = report
        self.progress_every = progress_every
        self.on_failure = on_failure
        self.total = sum(len(t.items) for t in tasks)
        self.ctx = multiprocessing.get_context("spawn")  # the parent never loads the engine
        self.progress = self.ctx.RawArray("d", _SLOT * workers)
        self.slots = [_Slot(i) for i in range(min(workers, len(tasks)) or 1)]
        self.restarts = 0
        self._fruitless = 0  # workers lost in a row before they ran anything

    # -- workers --------------------------------------------------------------------
    def _start(self, slot: _Slot) -> None:
        parent_end, child_end = self.ctx.Pipe()
        base = slot.index * _SLOT
        self.progress[base:base + _SLOT] = [-1.0, -1.0, 0.0]
        slot.process = self.ctx.Process(
            target=_worker, args=(child_end, self.progress, slot.index, str(self.gst), self.threads, self.corpus),
            name=f"sweep-worker-{slot.index}", daemon=True)
        slot.process.start()
        child_end.close()  # so that the worker's death reads as EOF here
        slot.conn, slot.task = parent_end, None

    def _stop(self, slot: _Slot, kill: bool) -> None:
        if kill and slot.process.is_alive():
            slot.process.kill()
        slot.process.join()
        slot.conn.close()
        slot.process = slot.conn = None

    def _assign(self, slot: _Slot) -> None:
        while self.queue:
            task = self.queue.popleft()
            if not task.pending:
                continue
            positions = [(pos, tuple(task.items[pos][0]), task.items[pos][1]) for pos in sorted(task.pending)]
            slot.task = task
            try:
                slot.conn.send((task.id, task.relpath, positions))
            except OSError:
                pass  # the worker is gone: its EOF comes next, and the task goes back
            return
        try:
            slot.conn.send(None)
        except OSError:
            pass
        slot.task = None
        self._stop(slot, kill=False)

    # -- results --------------------------------------------------------------------
    def _record(self, task: Task, results) -> None:
        if results:
            self._fruitless = 0
        for pos, outcome, message, seconds, *counts in results:
            if pos in task.pending:
                task.pending.discard(pos)
                ref, mode = task.items[pos]
                self.report.add(ref, mode, outcome, seconds, message, *counts)
                if outcome in ("failed", "xpassed") and self.on_failure:
                    self.on_failure(item_id(ref, mode), message)

    def _lost(self, slot: _Slot, why: str) -> None:
        """The worker of slot died or was killed: fail its running item (or, if none was
        running, every item it had left), put the rest of its task back in front."""
        task = slot.task
        base = slot.index * _SLOT
        started_task = int(self.progress[base]) == task.id
        running = int(self.progress[base + 1]) if started_task and self.progress[base + 2] > 0 else None
        if running in task.pending:
            victims = [running]
        elif started_task:  # it died between two items: no culprit, fail what it had left
            victims = sorted(task.pending)
        else:  # it died before starting the task: the task is not to blame
            victims = []
            self._fruitless += 1
            if self._fruitless > 3:
                raise SystemExit(f"sweep workers keep dying before running anything ({why})")
        elapsed = time.monotonic() - self.progress[base + 2] if running is not None else 0.0
        self._record(task, [(pos, "failed", self._head(task, pos) + why, elapsed) for pos in victims])
        if task.pending:
            self.queue.appendleft(task)
        self.restarts += 1

    @staticmethod
    def _head(task: Task, pos: int) -> str:
        ref, mode = task.items[pos]
        return f"case:  {ref.id}\nmode:  {checks.MODE_NAMES[mode]}\n"

    def _watch(self, now: float) -> None:
        for slot in self.slots:
            if slot.process is None or slot.task is None:
                continue
            base = slot.index * _SLOT
            started = self.progress[base + 2]
            if started <= 0 or now - started <= self.timeout:
                continue
            task_id, pos = self.progress[base], self.progress[base + 1]
            if self.progress[base + 2] != started:  # it moved on meanwhile
                continue
            # Results it sent before the item started are still in the pipe: take them.
            self._drain(slot)
            if slot.process is None or self.progress[base + 2] != started:
                continue
            self._stop(slot, kill=True)
            if int(task_id) == slot.task.id:
                self._lost(slot, f"timeout: no verdict after {self.timeout:g} s (the worker was killed)")
            self._start(slot)

    def _drain(self, slot: _Slot) -> None:
        while slot.conn is not None and slot.conn.poll():
            self._handle(slot)

    def _handle(self, slot: _Slot) -> None:
        try:
            msg = slot.conn.recv()
        except (EOFError, OSError):
            slot.process.join(5)
            code = slot.process.exitcode
            self._stop(slot, kill=True)
            if slot.task is None:
                raise SystemExit(f"a sweep worker died before taking a task (exit code {code})")
            self._lost(slot, f"the worker died (exit code {code}) while running this item")
            self._start(slot)
            return
        kind = msg[0]
        if kind == "fatal":
            raise SystemExit(msg[1])
        if kind == "ready":
            self._assign(slot)
        elif kind in ("partial", "done"):
            task = self.tasks[msg[1]]
            self._record(task, msg[2])
            if kind == "done":
                if task.pending:  # cannot happen unless a result was lost: never drop items
                    self._record(task, [(p, "failed", self._head(task, p) + "no result from the worker", 0.0)
                                        for p in sorted(task.pending)])
                self._assign(slot)

    def run(self) -> None:
        for slot in self.slots:
            self._start(slot)
        started = last_progress = time.monotonic()
        try:
            while any(s.process is not None for s in self.slots):
                conns = [s.conn for s in self.slots if s.conn is not None]
                for conn in wait(conns, timeout=0.5):
                    slot = next((s for s in self.slots if s.conn is conn), None)
                    if slot is not None:
                        self._handle(slot)
                now = time.monotonic()
                self._watch(now)
                if self.progress_every and now - last_progress >= self.progress_every:
                    last_progress = now
                    print(f"  {self.report.done}/{self.total} items, {self.report.failed} failed, "
                          f"{now - started:.0f} s", file=sys.stderr, flush=True)
        finally:
            for slot in self.slots:
                if slot.process is not None:
                    self._stop(slot, kill=True)


# ---- the summary --------------------------------------------------------------------


def summary_lines(report: Report, modes: tuple[str, ...]) -> list[str]:
    lines = []
    cols = ("passed", "failed", "xfailed")
    header = f"{'fork':<18}" + "".join(f"{m + ' ' + c:>13}" for m in modes for c in cols)
    lines.append(header)
    totals: dict = defaultdict(int)
    order = {f: i for i, f in enumerate(FORKS)}
    for fork in sorted({f for f, _ in report.counts}, key=lambda f: order.get(f, 99)):
        line = f"{fork:<18}"
        for mode in modes:
            c = report.counts.get((fork, mode), {})
            for col in cols:
                n = c.get(col, 0) + (c.get("xpassed", 0) if col == "failed" else 0)
                totals[(mode, col)] += n
                line += f"{n:>13}"
        lines.append(line)
    lines.append(f"{'total':<18}" + "".join(f"{totals[(m, c)]:>13}" for m in modes for c in cols))
    lines.append("time in items: " + ", ".join(f"{m} {report.seconds[m]:.1f} s" for m in modes if m in report.seconds))
    return lines


def blockchain_summary_lines(report: Report, modes: tuple[str, ...]) -> list[str]:
    """Per network and mode: tests passed / failed / skipped, and the blocks (as the
    pytest summary: valid checked, rejected by transaction / execution, header-only,
    failed)."""
    cols = [("pass", "passed"), ("fail", "failed"), ("skip", "skipped")]
    block_cols = [("valid", "valid"), ("rej-tx", "rejected_tx"), ("rej-exec", "rejected_exec"),
                  ("hdr-only", "header_only"), ("blk-fail", "failed_blocks")]
    lines = [f"{'network':<32}{'mode':<5}" + "".join(f"{c:>9}" for c, _ in cols + block_cols)]
    order = {n: i for i, n in enumerate(blocktests.NETWORKS)}
    totals: dict = defaultdict(int)
    for network in sorted({n for n, _ in report.counts}, key=lambda n: order.get(n, 99)):
        for mode in modes:
            c, b = report.counts.get((network, mode), {}), report.blocks.get((network, mode), {})
            if not c:
                continue
            values = [c.get(k, 0) + (c.get("xpassed", 0) if k == "failed" else 0) for _, k in cols]
            values += [b.get(k, 0) for _, k in block_cols]
            for (name, _), n in zip(cols + block_cols, values):
                totals[(mode, name)] += n
            lines.append(f"{network:<32}{mode:<5}" + "".join(f"{n:>9}" for n in values))
    for mode in modes:
        lines.append(f"{'total':<32}{mode:<5}" + "".join(f"{totals[(mode, c)]:>9}" for c, _ in cols + block_cols))
    lines.append("time in items: " + ", ".join(f"{m} {report.seconds[m]:.1f} s" for m in modes if m in report.seconds))
    return lines


# ---- the command --------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files or folders: under GeneralStateTests (stExample, stExample/add11.json) or anywhere "
                        "on disk (run as they are); none: the whole corpus")
    p.add_argument("--ethereum-tests", dest="sweep_corpus", metavar="PATH",
                   help="ethereum/tests checkout or a GeneralStateTests folder (default as for pytest)")
    p.add_argument("-k", dest="keyword", metavar="EXPR", help="pytest's -k expression over the item ids")
    p.add_argument("--corpus", choices=("state", "blockchain"), default="state",
                   help="GeneralStateTests (state, the default) or BlockchainTests (blockchain)")
    p.add_argument("--fork", action="append", default=[], choices=blocktests.NETWORKS, metavar="FORK",
                   help=f"only this fork (repeatable): {', '.join(FORKS)}; with --corpus blockchain, "
                        "a network (those and the transitions, e.g. BerlinToLondonAt5)")
    p.add_argument("--mode", choices=("seq", "par", "both"), default="both",
                   help="sequential, parallel or both (default)")
    p.add_argument("--workers", type=int, default=data.usable_cores(), metavar="N", help="processes (default: cores)")
    p.add_argument("--engine-threads", type=int, default=None, metavar="N",
                   help="threads of parallel runs (default: cores)")
    p.add_argument("--exclude-slow", action="store_true", help="leave out SLOW_CASES (pytest's -m 'not slow')")
    p.add_argument("--revme-set", action="store_true", help="only the cases `revme statetest` runs")
    p.add_argument("--timeout", type=float, default=600.0, metavar="S",
                   help="seconds per item before it fails (default 600)")
    p.add_argument("--json", metavar="FILE", help="write every item's outcome and the summary here")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--no-index-cache", action="store_true",
                   help="neither read nor write the case index in .cache/ (e.g. for a temporary corpus)")


def _own_root(paths: list[Path]) -> Path:
    """The corpus root of paths outside the corpus: the GeneralStateTests folder they
    are all in (so that known failures, keyed from it, apply), else their common folder."""
    bases = [q if q.is_dir() else q.parent for q in paths]
    roots = {next((a for a in (b, *b.parents) if a.name == "GeneralStateTests"), None) for b in bases}
    if len(roots) == 1 and None not in roots:
        return roots.pop()
    return Path(os.path.commonpath(bases))


def _index_paths(root: Path, rels: list[str]) -> list[CaseRef]:
    """The cases of the given files and folders under root (no cache, no other file read)."""
    refs = []
    for rel in rels:
        files = [rel] if (root / rel).is_file() else [f"{rel}/{f}" for f in list_files(root / rel)]
        for f in files:
            try:
                with open(root / f, "rb") as fh:
                    refs += index_file(json.load(fh), f)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise SystemExit(f"{root / f}: not a state test ({type(exc).__name__}: {exc})") from None
    return refs


def resolve(paths: list[str], corpus_option: str | None, use_cache: bool) -> tuple[Path, list[CaseRef], list[str], bool]:
    """(corpus root, its cases, the selected paths relative to it, whether the root is
    the paths' own). A path is under the corpus (relative to its GeneralStateTests, or a
    path on disk inside it); without --ethereum-tests, files or folders elsewhere on disk
    are run as they are, like `revme statetest PATH`: only they are indexed."""
    lookup = data.find_state_tests(corpus_option)
    gst = lookup.path
    inside, outside = [], []
    for p in paths:
        q = Path(p).expanduser().resolve()
        if gst is not None and q.exists() and q.is_relative_to(gst):
            inside.append(q.relative_to(gst).as_posix())
        elif gst is not None and (gst / p.strip("/")).exists():
            inside.append(p.strip("/"))
        elif q.exists() and not corpus_option:
            outside.append(q)
        else:
            raise SystemExit(f"{p}: no such file or folder" + (f" (nor under {gst})" if gst else ""))
    if outside:
        if inside:
            raise SystemExit("some paths are under the corpus and some outside it: run them separately")
        root = _own_root(outside)
        rels = sorted({q.relative_to(root).as_posix() if q != root else "." for q in outside})
        rels = [""] if "." in rels else rels
        return root, _index_paths(root, [r or "." for r in rels]), [r for r in rels if r], True
    if gst is None:
        raise SystemExit(lookup.describe_missing())
    return gst, load_index(gst, data.cache_dir() if use_cache else None), inside, False


def resolve_blockchain(paths: list[str], corpus_option: str | None, use_cache: bool):
    """(BlockchainTests root, its tests, the selected paths relative to it). Paths are
    under the corpus: relative to BlockchainTests, or on disk inside it."""
    lookup = data.find_blockchain_tests(corpus_option)
    root = lookup.path
    if root is None:
        raise SystemExit(lookup.describe_missing())
    inside = []
    for p in paths:
        q = Path(p).expanduser().resolve()
        if q.exists() and q.is_relative_to(root):
            inside.append(q.relative_to(root).as_posix())
        elif (root / p.strip("/")).exists():
            inside.append(p.strip("/"))
        else:
            raise SystemExit(f"{p}: no such file or folder under {root} (--corpus blockchain runs its corpus only)")
    return root, blocktests.load_index(root, data.cache_dir() if use_cache else None), inside


def main_blockchain(args: argparse.Namespace, corpus_option: str | None, started: float) -> int:
    """``sweep --corpus blockchain``: the BlockchainTests, as test_blockchain_tests.py."""
    root, refs, paths = resolve_blockchain(args.paths, corpus_option, not args.no_index_cache)
    modes = MODES if args.mode == "both" else (args.mode,)
    items = select(refs, paths=paths, keyword=args.keyword, forks=args.fork, modes=modes)
    if not items:
        print("no items selected", file=sys.stderr)
        return 5
    tasks = make_blockchain_tasks(items, root)
    threads = max(1, args.engine_threads or data.usable_cores())
    workers = max(1, args.workers)
    report = Report(items=[] if args.json else None)
    repro = "python -m conformance" + (f" --ethereum-tests {corpus_option}" if corpus_option else "")
    print(f"BlockchainTests: {root}")
    print(f"{len(items)} items ({len({r for r, _ in items})} tests, {len(tasks)} tasks), modes {'+'.join(modes)}, "
          f"{workers} workers, engine threads {threads}, timeout {args.timeout:g} s", flush=True)
    sweep = Sweep(root, tasks, workers=workers, threads=threads, timeout=args.timeout, report=report,
                  progress_every=None if args.quiet else 30.0, corpus="blockchain",
                  on_failure=lambda ident, message: print(f"FAILED {ident}", flush=True))
    sweep.run()
    wall = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print("=" * 30 + " conformance sweep summary (BlockchainTests) " + "=" * 30)
    for line in blockchain_summary_lines(report, modes):
        print(line)
    if report.failures:
        print(f"failures ({len(report.failures)}):")
        for ident, message in sorted(report.failures):
            print(f"FAILED {ident}")
            for line in message.splitlines():
                print(f"    {line}")
            print(f"    rerun: {repro} run '{ident}'")
    if sweep.restarts:
        print(f"workers restarted: {sweep.restarts}")
    print(f"wall time {wall:.1f} s; CPU: workers {children.ru_utime + children.ru_stime:.1f} s; load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    status = 1 if report.failed else 0
    skipped = sum(c.get("skipped", 0) for c in report.counts.values())
    print(f"{report.done} items: {report.failed} failed, {skipped} skipped (header rules outside the engine)")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "corpus": str(root), "argv": sys.argv[1:], "modes": list(modes), "workers": workers,
            "engine_threads": threads, "wall_seconds": round(wall, 3),
            "counts": {f"{n}/{m}": dict(c) for (n, m), c in report.counts.items()},
            "blocks": {f"{n}/{m}": dict(c) for (n, m), c in report.blocks.items()},
            "failures": [{"id": i, "message": m} for i, m in report.failures],
            "skipped": [{"id": i, "reason": r} for i, r in report.skipped],
            "items": report.items, "exit_status": status,
        }, indent=1))
    return status


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    corpus_option = args.sweep_corpus or getattr(args, "ethereum_tests", None)
    if getattr(args, "corpus", "state") == "blockchain":
        return main_blockchain(args, corpus_option, started)
    gst, refs, paths, own_root = resolve(args.paths, corpus_option, not args.no_index_cache)
    modes = MODES if args.mode == "both" else (args.mode,)
    items = select(refs, paths=paths, keyword=args.keyword, forks=args.fork, modes=modes,
                   exclude_slow=args.exclude_slow, revme_set=args.revme_set)
    if not items:
        print("no items selected", file=sys.stderr)
        return 5
    tasks = make_tasks(items, gst)
    threads = max(1, args.engine_threads or data.usable_cores())
    workers = max(1, args.workers)
    report = Report(items=[] if args.json else None)
    repro = "python -m conformance" + (f" --ethereum-tests {gst}" if corpus_option or own_root else "")

    def rerun(ident: str) -> str:
        if own_root and gst.name != "GeneralStateTests":  # `run` finds a corpus by that name
            relpath, mode = ident[len("test_state["):].split("::", 1)[0], ident[-4:-1]
            return f"python -m conformance sweep {gst / relpath} --mode {mode}"
        return f"{repro} run '{ident}'"
    print(f"GeneralStateTests: {gst}")
    print(f"{len(items)} items ({len({r for r, _ in items})} cases, {len(tasks)} tasks), modes {'+'.join(modes)}, "
          f"{workers} workers, engine threads {threads}, timeout {args.timeout:g} s", flush=True)

    def on_failure(ident: str, message: str | None) -> None:
        print(f"FAILED {ident}", flush=True)

    sweep = Sweep(gst, tasks, workers=workers, threads=threads, timeout=args.timeout, report=report,
                  progress_every=None if args.quiet else 30.0, on_failure=on_failure)
    sweep.run()
    wall = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)

    print("=" * 30 + " conformance sweep summary " + "=" * 30)
    for line in summary_lines(report, modes):
        print(line)
    slowest = sorted(report.slowest, reverse=True)[:10]
    if slowest:
        print("slowest items:")
        for seconds, ident in slowest:
            print(f"  {seconds:8.1f} s  {ident}")
    if report.failures:
        print(f"failures ({len(report.failures)}):")
        for ident, message in sorted(report.failures):
            print(f"FAILED {ident}")
            for line in message.splitlines():
                print(f"    {line}")
            print(f"    rerun: {rerun(ident)}")
    if sweep.restarts:
        print(f"workers restarted: {sweep.restarts}")
    print(f"wall time {wall:.1f} s; CPU: workers {children.ru_utime + children.ru_stime:.1f} s, "
          f"this process {own.ru_utime + own.ru_stime:.1f} s; load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    status = 1 if report.failed else 0
    print(f"{report.done} items: {report.failed} failed" if report.failed else f"{report.done} items: all passed")
    if args.json:
        counts = {f"{fork}/{mode}": dict(c) for (fork, mode), c in report.counts.items()}
        Path(args.json).write_text(json.dumps({
            "corpus": str(gst), "argv": sys.argv[1:], "modes": list(modes), "workers": workers,
            "engine_threads": threads, "wall_seconds": round(wall, 3),
            "cpu_seconds_workers": round(children.ru_utime + children.ru_stime, 3),
            "counts": counts, "failures": [{"id": i, "message": m} for i, m in report.failures],
            "items": report.items, "exit_status": status,
        }, indent=1))
    return status
