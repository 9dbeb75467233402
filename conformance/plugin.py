"""pytest wiring of the conformance suite: options, shared session state, the
parametrisation of both test modules, and the end-of-run summary.

Loaded from the root conftest (``pytest_plugins = ["conformance.plugin"]``) or with
``-p conformance.plugin``.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import blocktests, data, known_failures
from .data import Lookup, usable_cores
from .mainnet import MainnetBlock, list_blocks, load_block
from .statetests import FORKS, CaseLoader, CaseRef, StateCase, load_index, sample
from .watchdog import Watchdog

MODES = ("seq", "par")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "blockstm conformance (ethereum/tests, mainnet blocks)")
    group.addoption("--ethereum-tests", metavar="PATH", default=None,
                    help="ethereum/tests checkout (or its GeneralStateTests folder); "
                         "default: $ETHEREUM_TESTS, ./ethereum-tests, ../shared/ethereum-tests")
    group.addoption("--mainnet-blocks", metavar="PATH", default=None,
                    help="mainnet block folders; default: $MAINNET_BLOCKS, ../shared/mainnet-blocks")
    group.addoption("--engine-threads", metavar="N", type=int, default=None,
                    help="worker threads of parallel runs (default: every core)")
    group.addoption("--rerun-parallel", metavar="K", type=int, default=3,
                    help="parallel runs per mainnet block and thread count (default 3)")
    group.addoption("--state-tests-sample", metavar="N", type=int, default=0,
                    help="run a deterministic sample of about N state-test cases covering "
                         "every folder and fork (0 = all, the default)")
    group.addoption("--blockchain-tests-sample", metavar="N", type=int, default=0,
                    help="run a deterministic sample of about N blockchain tests covering "
                         "every folder, network and expectException name (0 = all, the default)")


@dataclass
class Conformance:
    """Per-session state shared by the test modules and the summary."""

    config: pytest.Config
    threads: int
    reruns: int
    sample_size: int
    blockchain_sample_size: int = 0
    started: float = field(default_factory=time.perf_counter)
    _blockchain_lookup: Lookup | None = None
    _blockchain_loader: blocktests.TestLoader | None = None
    _last_blockchain_test: blocktests.BlockchainTest | None = None
    blockchain_total: int = 0  # tests in the corpus (before sampling)
    blockchain_records: dict = field(default_factory=dict)  # nodeid → block counts
    _state_lookup: Lookup | None = None
    _mainnet_lookup: Lookup | None = None
    _loader: CaseLoader | None = None
    _last_case: StateCase | None = None
    state_total: int = 0  # cases in the corpus (before sampling)
    sequential_digests: dict = field(default_factory=dict)  # block number → digest
    # nodeid → (key, outcome, seconds); key: ("state", fork, mode) or ("mainnet", number, variant)
    outcomes: dict = field(default_factory=dict)
    mainnet_records: dict = field(default_factory=dict)  # nodeid → record dict

    def __repr__(self) -> str:  # the default would print every outcome in tracebacks
        return f"Conformance(threads={self.threads}, reruns={self.reruns}, sample={self.sample_size})"

    # -- data ---------------------------------------------------------------------
    @property
    def state_lookup(self) -> Lookup:
        if self._state_lookup is None:
            self._state_lookup = data.find_state_tests(self.config.getoption("--ethereum-tests"))
        return self._state_lookup

    @property
    def mainnet_lookup(self) -> Lookup:
        if self._mainnet_lookup is None:
            self._mainnet_lookup = data.find_mainnet_blocks(self.config.getoption("--mainnet-blocks"))
        return self._mainnet_lookup

    def state_refs(self) -> list[CaseRef]:
        refs = load_index(self.state_lookup.path, data.cache_dir())
        self.state_total = len(refs)
        return sample(refs, self.sample_size) if self.sample_size else refs

    def state_case(self, ref: CaseRef) -> StateCase:
        # Both modes of a case run back to back: build its fixture once.
        last = self._last_case
        if last is not None and last.ref == ref:
            return last
        if self._loader is None:
            self._loader = CaseLoader(self.state_lookup.path)
        self._last_case = self._loader.case(ref)
        return self._last_case

    @property
    def blockchain_lookup(self) -> Lookup:
        if self._blockchain_lookup is None:
            self._blockchain_lookup = data.find_blockchain_tests(self.config.getoption("--ethereum-tests"))
        return self._blockchain_lookup

    def blockchain_refs(self) -> list[blocktests.TestRef]:
        refs = blocktests.load_index(self.blockchain_lookup.path, data.cache_dir())
        self.blockchain_total = len(refs)
        n = self.blockchain_sample_size
        return blocktests.sample(refs, n) if n else refs

    def blockchain_test(self, ref: blocktests.TestRef) -> blocktests.BlockchainTest:
        # Both modes of a test run back to back: plan it once.
        last = self._last_blockchain_test
        if last is not None and last.ref == ref:
            return last
        if self._blockchain_loader is None:
            self._blockchain_loader = blocktests.TestLoader(self.blockchain_lookup.path)
        self._last_blockchain_test = self._blockchain_loader.test(ref)
        return self._last_blockchain_test

    def mainnet_block(self, number: int) -> MainnetBlock:
        return _cached_block(str(self.mainnet_lookup.path), number)


_block_cache: dict[tuple[str, int], MainnetBlock] = {}


def _cached_block(blocks_dir: str, number: int) -> MainnetBlock:
    key = (blocks_dir, number)
    if key not in _block_cache:
        _block_cache.clear()  # blocks run one after another: keep one parsed block
        _block_cache[key] = load_block(Path(blocks_dir), number)
    return _block_cache[key]


_STASH = pytest.StashKey[Conformance]()


def get(config: pytest.Config) -> Conformance:
    return config.stash[_STASH]


def pytest_configure(config: pytest.Config) -> None:
    threads = config.getoption("--engine-threads") or usable_cores()
    conf = Conformance(
        config=config,
        threads=max(1, threads),
        reruns=max(1, config.getoption("--rerun-parallel")),
        sample_size=max(0, config.getoption("--state-tests-sample")),
        blockchain_sample_size=max(0, config.getoption("--blockchain-tests-sample")),
    )
    config.stash[_STASH] = conf
    config.pluginmanager.register(_Reporter(conf), "conformance-reporter")


def missing_data(lookup: Lookup) -> None:
    """Fails (CI) or skips (elsewhere) a test whose corpus is absent, loudly."""
    message = lookup.describe_missing()
    if data.in_ci():
        pytest.fail(message + "\n(CI=true: missing conformance data is a failure)", pytrace=False)
    pytest.skip(message)


def require_engine():
    """The blockstm module; without it: a failure in CI, a skip elsewhere."""
    try:
        import blockstm
    except ImportError as exc:
        message = f"blockstm is not importable ({exc}); build and install the wheel first"
        if data.in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return blockstm


@pytest.fixture(scope="session")
def conformance(request: pytest.FixtureRequest) -> Conformance:
    return get(request.config)


@pytest.fixture(scope="session")
def engine():
    return require_engine()


# ---- parametrisation ----------------------------------------------------------------


class StateCaseItem(pytest.Item):
    """One state-test case in one mode. A plain Item, not a parametrised function:
    202,322 of them are collected, and the fixture machinery would cost more than the
    engine (about 4x the collection time and a millisecond per item). BlockchainTestItem
    (one blockchain test in one mode) is the same kind of item."""

    def __init__(self, *, ref, mode: str, func, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ref = ref
        self.mode = mode
        self.func = func
        # "-k par" would also match every "Paris" case: these select a mode exactly.
        self.extra_keyword_matches.add("sequential" if mode == "seq" else "parallel")

    def runtest(self) -> None:
        self.func(self.ref, self.mode, get(self.config))

    def reportinfo(self):
        return self.path, None, self.name

    def _traceback_filter(self, excinfo):
        # Show the traceback from the test function on, as pytest does for functions.
        traceback = excinfo.traceback
        for i, entry in enumerate(traceback):
            if entry.frame.code.raw is self.func.__code__:
                return traceback[i:].filter(excinfo)
        return traceback.filter(excinfo)


class BlockchainTestItem(StateCaseItem):
    """One blockchain test (every block of it, in import order) in one mode. The test
    function also gets the item: ``func(ref, mode, conformance, item)``, to record its
    block counts for the summary (record_blocks)."""

    def runtest(self) -> None:
        self.func(self.ref, self.mode, get(self.config), self)


def record_blocks(item: pytest.Item, counts: dict) -> None:
    """A blockchain test's block counts (blocktests.COUNT_KEYS), for the summary; they
    travel with the report, so the xdist controller sees them too."""
    item.user_properties.append(("conformance_blocks", dict(counts)))


# pytest-timeout's hooks (optional: without the plugin they are never called). For
# state-test and blockchain-test items its thread method is replaced by one shared
# watchdog thread: the per-item thread cost more than the engine (see
# conformance/watchdog.py). A blockchain item's timeout covers all its engine calls.
_watchdog: Watchdog | None = None


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_set_timer(item, settings):
    global _watchdog
    if not isinstance(item, StateCaseItem) or settings.method != "thread":
        return None
    if _watchdog is None:
        import pytest_timeout

        _watchdog = Watchdog(pytest_timeout.timeout_timer)
    _watchdog.arm(item, settings)
    return True


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_cancel_timer(item):
    if _watchdog is not None and _watchdog.disarm(item):
        return True
    return None  # not ours: pytest-timeout cancels its own timer


def blockchain_tests(func):
    """Marks the module function that runs one blockchain test; the plugin turns it into
    one BlockchainTestItem per (test, mode): ``func(ref, mode, conformance, item)``."""
    func.conformance_blockchain_tests = True
    return func


def state_cases(func):
    """Marks the module function that checks one state-test case; the plugin turns it
    into one StateCaseItem per (case, mode): ``func(ref, mode, conformance)``."""
    func.conformance_state_cases = True
    return func


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector, name: str, obj):
    if getattr(obj, "conformance_blockchain_tests", False):
        return _blockchain_items(collector, name, obj)
    if not getattr(obj, "conformance_state_cases", False):
        return None
    conf = get(collector.config)
    if conf.state_lookup.path is None:
        return [StateCaseItem.from_parent(collector, name=f"{name}[ethereum-tests-missing]",
                                          ref=None, mode="seq", func=obj)]
    items = []
    for ref in conf.state_refs():
        case_id = ref.id
        for mode in MODES:
            item = StateCaseItem.from_parent(collector, name=f"{name}[{case_id}-{mode}]", ref=ref, mode=mode, func=obj)
            reason = known_failures.state_reason(ref, mode)
            if reason:
                item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
            if known_failures.state_slow_reason(ref, mode):
                item.add_marker(pytest.mark.slow)
            items.append(item)
    return items


def _blockchain_items(collector, name: str, obj) -> list:
    conf = get(collector.config)
    if conf.blockchain_lookup.path is None:
        return [BlockchainTestItem.from_parent(collector, name=f"{name}[ethereum-tests-missing]",
                                               ref=None, mode="seq", func=obj)]
    return [
        BlockchainTestItem.from_parent(collector, name=f"{name}[{ref.id}-{mode}]", ref=ref, mode=mode, func=obj)
        for ref in conf.blockchain_refs()
        for mode in MODES
    ]


def mainnet_variants(conf: Conformance) -> list[tuple[str, int]]:
    """("seq", 1) then one parallel variant per distinct thread count: 2 and --engine-threads."""
    variants = [("seq", 1)]
    for threads in sorted({2, conf.threads}):
        variants.append((f"par-t{threads}", threads))
    return variants


def mainnet_params(config: pytest.Config) -> list:
    conf = get(config)
    if conf.mainnet_lookup.path is None:
        return [pytest.param(None, "seq", 1, id="mainnet-blocks-missing")]
    params = []
    for number in list_blocks(conf.mainnet_lookup.path):
        for variant, threads in mainnet_variants(conf):
            reason = known_failures.mainnet_reason(number, variant)
            marks = (pytest.mark.xfail(strict=True, reason=reason),) if reason else ()
            params.append(pytest.param(number, variant, threads, id=f"{number}-{variant}", marks=marks))
    return params


# ---- outcomes and the summary -------------------------------------------------------

_STATE_NODE = re.compile(r"::test_state\[(?P<case>.*)\[(?P<fork>[A-Za-z0-9]+)-d\d+g\d+v\d+\]-(?P<mode>seq|par)\]$")
_BLOCKCHAIN_NODE = re.compile(r"::test_blockchain\[(?P<test>.*)\[(?P<network>[A-Za-z0-9]+)\]-(?P<mode>seq|par)\]$")
_MAINNET_NODE = re.compile(r"::test_mainnet_block\[(?P<number>\d+)-(?P<variant>[a-z0-9-]+)\]$")
_RANK = {"failed": 4, "xpassed": 3, "xfailed": 2, "skipped": 1, "passed": 0}


def _outcome(report: pytest.TestReport) -> str | None:
    if report.when == "call" or report.outcome != "passed":
        if report.failed:
            return "failed"
        if report.skipped:
            return "xfailed" if hasattr(report, "wasxfail") else "skipped"
        return "xpassed" if hasattr(report, "wasxfail") else "passed"
    return None


class _Reporter:
    """Collects every conformance item's outcome (on the xdist controller too, where
    reports arrive from the workers) and prints the summary."""

    def __init__(self, conf: Conformance) -> None:
        self.conf = conf

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.conf.started = time.perf_counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        conf = self.conf
        outcome = _outcome(report)
        if outcome is None:
            return
        node = report.nodeid
        if (m := _STATE_NODE.search(node)) is not None:
            key = ("state", m["fork"], m["mode"])
        elif (m := _BLOCKCHAIN_NODE.search(node)) is not None:
            key = ("blockchain", m["network"], m["mode"])
            for name, value in report.user_properties:
                if name == "conformance_blocks":
                    conf.blockchain_records[node] = value
        elif (m := _MAINNET_NODE.search(node)) is not None:
            key = ("mainnet", int(m["number"]), m["variant"])
            for name, value in report.user_properties:
                if name == "conformance_mainnet":
                    conf.mainnet_records[node] = value
        else:
            return
        previous = conf.outcomes.get(node)
        duration = report.duration + (previous[2] if previous else 0.0)
        if previous is not None and _RANK[outcome] < _RANK[previous[1]]:
            outcome = previous[1]  # a failed setup or teardown outranks a passed call
        conf.outcomes[node] = (key, outcome, duration)

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config: pytest.Config) -> None:
        conf = self.conf
        missing = [lk for lk in (conf._state_lookup, conf._blockchain_lookup, conf._mainnet_lookup)
                   if lk is not None and lk.path is None]
        if not conf.outcomes and not missing:
            return
        tr = terminalreporter
        wall = time.perf_counter() - conf.started
        tr.write_sep("=", "conformance summary")
        state = [(k, o, d) for k, o, d in conf.outcomes.values() if k[0] == "state"]
        if state:
            _state_summary(tr, conf, state)
        chains = {n: v for n, v in conf.outcomes.items() if v[0][0] == "blockchain"}
        if chains:
            _blockchain_summary(tr, conf, chains)
        mainnet = {n: v for n, v in conf.outcomes.items() if v[0][0] == "mainnet"}
        if mainnet:
            _mainnet_summary(tr, conf, mainnet)
        for lookup in missing:
            tr.write_line("MISSING DATA: " + lookup.describe_missing(), red=True, bold=True)
        tr.write_line(f"wall time {wall:.1f} s; engine threads for parallel runs: {conf.threads}")


def _state_summary(tr, conf: Conformance, rows) -> None:
    counts: dict = defaultdict(lambda: defaultdict(int))
    seconds: dict = defaultdict(float)
    for (_, fork, mode), outcome, duration in rows:
        counts[(fork, mode)][outcome] += 1
        seconds[mode] += duration
    cols = ("passed", "failed", "xfailed", "skipped")
    sampled = f" (sample of {conf.sample_size} requested)" if conf.sample_size else ""
    tr.write_line(f"GeneralStateTests{sampled}: {conf.state_lookup.path}")
    header = f"{'fork':<18}" + "".join(f"{m + ' ' + c:>13}" for m in MODES for c in cols)
    tr.write_line(header)
    totals: dict = defaultdict(int)
    order = {f: i for i, f in enumerate(FORKS)}
    for fork in sorted({f for f, _ in counts}, key=lambda f: order.get(f, 99)):
        line = f"{fork:<18}"
        for mode in MODES:
            for c in cols:
                n = counts[(fork, mode)][c]
                totals[(mode, c)] += n
                line += f"{n:>13}"
        tr.write_line(line)
    tr.write_line(f"{'total':<18}" + "".join(f"{totals[(m, c)]:>13}" for m in MODES for c in cols))
    tr.write_line("time in tests: " + ", ".join(f"{m} {seconds[m]:.1f} s" for m in MODES if m in seconds))
    slowest = sorted(((d, n) for n, (k, _, d) in conf.outcomes.items() if k[0] == "state"), reverse=True)[:10]
    if slowest and slowest[0][0] >= 1.0:
        tr.write_line("slowest cases:")
        for seconds_taken, node in slowest:
            if seconds_taken < 1.0:
                break
            tr.write_line(f"  {seconds_taken:8.1f} s  {node.split('::', 1)[-1]}")


def _mainnet_summary(tr, conf: Conformance, items: dict) -> None:
    tr.write_line(f"mainnet blocks: {conf.mainnet_lookup.path}")
    tr.write_line(f"{'block':>10} {'fork':<18}{'variant':<9}{'txs':>6}{'gas':>11}  "
                  f"{'mode used':<22}{'reexec':>7}{'time s':>8}  result")
    def sort_key(item):
        (_, number, variant), _, _ = item[1]
        return (number, variant != "seq", variant)
    for node, ((_, number, variant), outcome, duration) in sorted(items.items(), key=sort_key):
        rec = conf.mainnet_records.get(node, {})
        tr.write_line(
            f"{number:>10} {rec.get('fork', '?'):<18}{variant:<9}{rec.get('txs', '?'):>6}"
            f"{rec.get('gas', '?'):>11}  {rec.get('mode_used', '?'):<22}{rec.get('reexecutions', '-'):>7}"
            f"{duration:>8.2f}  {outcome}"
        )


def _blockchain_summary(tr, conf: Conformance, items: dict) -> None:
    """Per network and mode: tests (passed / failed / skipped) and blocks: valid blocks
    checked, invalid blocks rejected by a transaction or by execution, header-only
    blocks reported (outside the engine), failed blocks."""
    tests: dict = defaultdict(lambda: defaultdict(int))
    blocks: dict = defaultdict(lambda: defaultdict(int))
    seconds: dict = defaultdict(float)
    for node, ((_, network, mode), outcome, duration) in items.items():
        tests[(network, mode)][outcome] += 1
        tests[(network, mode)]["tests"] += 1
        seconds[mode] += duration
        for k, n in conf.blockchain_records.get(node, {}).items():
            blocks[(network, mode)][k] += n
    sampled = f" (sample of {conf.blockchain_sample_size} requested)" if conf.blockchain_sample_size else ""
    tr.write_line(f"BlockchainTests{sampled}: {conf.blockchain_lookup.path}")
    cols = [("tests", tests, "tests"), ("pass", tests, "passed"), ("fail", tests, "failed"),
            ("skip", tests, "skipped"), ("valid", blocks, "valid"), ("rej-tx", blocks, "rejected_tx"),
            ("rej-exec", blocks, "rejected_exec"), ("hdr-only", blocks, "header_only"),
            ("blk-fail", blocks, "failed_blocks")]
    tr.write_line(f"{'network':<32}{'mode':<5}" + "".join(f"{c:>9}" for c, _, _ in cols))
    order = {n: i for i, n in enumerate(blocktests.NETWORKS)}
    totals: dict = defaultdict(int)
    for network in sorted({n for n, _ in tests}, key=lambda n: order.get(n, 99)):
        for mode in MODES:
            if (network, mode) not in tests:
                continue
            line = f"{network:<32}{mode:<5}"
            for c, table, key in cols:
                n = table[(network, mode)][key]
                totals[(mode, c)] += n
                line += f"{n:>9}"
            tr.write_line(line)
    for mode in MODES:
        if any((n, mode) in tests for n, _ in tests):
            tr.write_line(f"{'total':<32}{mode:<5}" + "".join(f"{totals[(mode, c)]:>9}" for c, _, _ in cols))
    tr.write_line("blocks: valid = checked against its header (gasUsed, logsBloom, receiptTrie, stateRoot); "
                  "rej-tx / rej-exec = an invalid block rejected by InvalidTransaction / by a header mismatch; "
                  "hdr-only = outside the engine (a header or consensus rule), the test is a skip")
    tr.write_line("time in tests: " + ", ".join(f"{m} {seconds[m]:.1f} s" for m in MODES if m in seconds))
