"""The pre-merge gate and the full run, as one table.

Runs each suite (engine unit tests, API tests, the regression corpus, mocked blocks,
mainnet blocks, GeneralStateTests, BlockchainTests, properties) as its own command,
reads its result (JUnit XML for pytest, the summary line for cargo test) and prints one table —
suite, cases, passed, failed, time — then exits non-zero if any suite failed or ran
nothing.

    python scripts/gate.py                 # the gate: bounded, deterministic
    python scripts/gate.py --full          # everything CI runs
    python scripts/gate.py --only api,regressions -- -x   # a subset; extra pytest args
    python scripts/gate.py -- -k stExample                # select tests in every suite

Extra pytest arguments go to every pytest suite. When they select tests (-k, -m,
--deselect), a suite they select nothing in is skipped, not EMPTY, and so is a suite
that is not pytest (engine-unit: cargo cannot follow a -k); the table says which and
why, and the gate fails only if nothing ran at all. Without a selection, a suite that
runs nothing still fails (EMPTY).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
RESULTS = REPO / ".cache" / "gate"


@dataclass
class Suite:
    name: str
    command: list[str]
    junit: bool = True  # pytest suites report through --junitxml


@dataclass
class Outcome:
    suite: str
    cases: int
    passed: int
    failed: int
    skipped: int
    seconds: float
    exit_code: int
    not_run: str | None = None  # why the suite was skipped as a whole

    @property
    def ok(self) -> bool:
        return self.not_run is not None or (self.exit_code == 0 and self.failed == 0 and self.cases > 0)

    @property
    def result(self) -> str:
        if self.not_run is not None:
            return "skipped"
        return "ok" if self.ok else ("EMPTY" if self.cases == 0 else "FAILED")


def marker_expression(extra: list[str]) -> str | None:
    """The last -m EXPR among extra (the one pytest would use), or None."""
    found = None
    for i, arg in enumerate(extra):
        if arg == "-m" and i + 1 < len(extra):
            found = extra[i + 1]
        elif arg.startswith("-m") and len(arg) > 2 and not arg.startswith("--"):
            found = arg[2:]
    return found


def selection(extra: list[str]) -> str | None:
    """The pytest arguments among extra that select tests (-k EXPR, -m EXPR, --deselect),
    as one string, or None."""
    picked = []
    for i, arg in enumerate(extra):
        if arg in ("-k", "-m", "--deselect"):
            picked.append(shlex.join(extra[i:i + 2]))
        elif arg[:2] in ("-k", "-m") and not arg.startswith("--") or arg.startswith("--deselect="):
            picked.append(shlex.quote(arg))
    return " ".join(picked) or None


BLOCKCHAIN_SAMPLE = 300  # blockchain tests in the gate: every folder, network and exception name (~5 s)


def suites(full: bool, workers: str, state_sample: int, extra: list[str], engine_threads: int | None = None,
           blockchain_sample: int = BLOCKCHAIN_SAMPLE) -> list[Suite]:
    # --engine-threads: the conformance plugin's option (mainnet blocks, state and blockchain tests).
    threads = ["--engine-threads", str(engine_threads)] if engine_threads else []
    pytest = [str(VENV_BIN / "pytest"), "-p", "no:cacheprovider", "-q", "-n", workers, *threads, *extra]
    # Markers (pyproject.toml): `slow` runs only in --full unless also `gate`; `nightly`
    # only in the nightly job (docs/campaigns.md).
    marks = "not nightly" if full else "gate or not (slow or nightly)"
    # pytest keeps the last -m: a -m among the extra arguments is combined with these.
    user_marks = marker_expression(extra)
    slow = ["-m", f"({user_marks}) and ({marks})" if user_marks else marks]
    sample = [] if full else ["--state-tests-sample", str(state_sample)]
    chain_sample = [] if full else ["--blockchain-tests-sample", str(blockchain_sample)]
    # The gate replays the same derandomized examples every run; make test draws new
    # ones every run (the `ci` profile), so each CI run also searches.
    profile = ["--hypothesis-profile", "ci" if full else "gate"]
    return [
        Suite("engine-unit", ["cargo", "test", "--release", "--manifest-path", "engine/Cargo.toml", "--lib"], junit=False),
        Suite("api", [*pytest, *slow, "tests"]),
        Suite("regressions", [*pytest, "properties/test_regressions.py"]),
        Suite("mocked-blocks", [*pytest, *slow, "generators/tests"]),
        Suite("mainnet-blocks", [*pytest, "conformance/test_mainnet_blocks.py"]),
        Suite("state-tests", [*pytest, *slow, *sample, "conformance/test_state_tests.py"]),
        Suite("blockchain-tests", [*pytest, *chain_sample, "conformance/test_blockchain_tests.py"]),
        Suite("loaders", [*pytest, "conformance/test_loaders.py", "conformance/test_blocktests_loader.py"]),
        Suite("properties", [*pytest, *slow, *profile, "properties", "--ignore", "properties/test_regressions.py"]),
        Suite("bench-smoke", [*pytest, "bench"]),
    ]


def junit_counts(path: Path) -> tuple[int, int, int]:
    """(cases, failed, skipped) from a JUnit XML report; xfails count as skipped."""
    root = ET.parse(path).getroot()
    suites_ = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    cases = failed = skipped = 0
    for s in suites_:
        cases += int(s.get("tests", 0))
        failed += int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped += int(s.get("skipped", 0))
    return cases, failed, skipped


CARGO_LINE = re.compile(r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored")


def run(suite: Suite, selected: str | None = None) -> Outcome:
    if selected and not suite.junit:
        print(f"\n=== {suite.name}: skipped (not pytest: {selected} cannot select in it)", flush=True)
        return Outcome(suite.name, 0, 0, 0, 0, 0.0, 0, f"not pytest: {selected} cannot select in it")
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = RESULTS / f"{suite.name}.xml"
    report.unlink(missing_ok=True)
    command = suite.command + ([f"--junitxml={report}"] if suite.junit else [])
    print(f"\n=== {suite.name}: {shlex.join(command)}", flush=True)
    started = time.monotonic()
    if suite.junit:
        code = subprocess.call(command, cwd=REPO)
        output = ""
    else:
        proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        code, output = proc.returncode, proc.stdout + proc.stderr
        print(output[-3000:], flush=True)
    seconds = time.monotonic() - started
    if suite.junit:
        cases, failed, skipped = junit_counts(report) if report.exists() else (0, 0, 0)
        if code not in (0, 5) and failed == 0:
            failed = 1  # pytest itself failed (collection error, crash): count it
    else:
        totals = [tuple(map(int, m)) for m in CARGO_LINE.findall(output)]
        passed_ = sum(t[0] for t in totals)
        failed = sum(t[1] for t in totals)
        skipped = sum(t[2] for t in totals)
        cases = passed_ + failed + skipped
        if code != 0 and failed == 0:
            failed = 1
    passed = cases - failed - skipped
    not_run = f"{selected} selects nothing in it" if selected and code == 5 and cases == 0 else None
    return Outcome(suite.name, cases, passed, failed, skipped, seconds, code, not_run)


def table(outcomes: list[Outcome]) -> str:
    header = f"{'suite':<16}{'cases':>9}{'passed':>9}{'failed':>8}{'skipped':>9}{'time s':>9}  result"
    lines = ["", "gate summary", header, "-" * len(header)]
    for o in outcomes:
        lines.append(f"{o.suite:<16}{o.cases:>9}{o.passed:>9}{o.failed:>8}{o.skipped:>9}{o.seconds:>9.1f}  {o.result}")
    total = Outcome("total", *(sum(getattr(o, f) for o in outcomes) for f in ("cases", "passed", "failed", "skipped", "seconds")), 0)
    lines.append("-" * len(header))
    lines.append(f"{total.suite:<16}{total.cases:>9}{total.passed:>9}{total.failed:>8}{total.skipped:>9}{total.seconds:>9.1f}  {verdict(outcomes)}")
    not_run = [o for o in outcomes if o.not_run]
    if not_run:
        lines.append("skipped suites:")
        lines += [f"  {o.suite}: {o.not_run}" for o in not_run]
        if len(not_run) == len(outcomes):
            lines.append("FAILED: nothing ran in any suite")
    # The closing line CI reads: the plain 'N passed, N failed' form.
    lines.append(f"gate: {total.passed} passed, {total.failed} failed, {total.skipped} skipped")
    return "\n".join(lines)


def verdict(outcomes: list[Outcome]) -> str:
    ran = any(o.not_run is None for o in outcomes)
    return "ok" if ran and all(o.ok for o in outcomes) else "FAILED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="everything CI runs (full corpora, slow tests)")
    parser.add_argument("--only", default="", help="comma-separated suite names")
    parser.add_argument("--workers", default=os.environ.get("WORKERS", "auto"),
                        help="pytest-xdist workers: N, auto (one per core) or 0 (no xdist, one process)")
    parser.add_argument("--engine-threads", type=int, metavar="N",
                        help="threads of the conformance suites' parallel runs (default: every core)")
    parser.add_argument("--state-sample", type=int, default=2000, help="state-test sample size of the gate")
    parser.add_argument("--blockchain-sample", type=int, default=BLOCKCHAIN_SAMPLE,
                        help=f"blockchain tests in the gate's sample (default {BLOCKCHAIN_SAMPLE})")
    parser.add_argument("extra", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    if not (VENV_BIN / "pytest").exists():
        parser.exit(2, f"{parser.prog}: no {VENV_BIN / 'pytest'}: run `make setup` first (or `make gate`, which does)\n")
    chosen = suites(args.full, args.workers, args.state_sample, args.extra, args.engine_threads,
                    blockchain_sample=args.blockchain_sample)
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {s.name for s in chosen}
        if unknown:
            parser.error(f"unknown suites: {', '.join(sorted(unknown))}; the suites are: "
                         + ", ".join(s.name for s in chosen))
        chosen = [s for s in chosen if s.name in wanted]
    selected = selection(args.extra)
    outcomes = [run(s, selected) for s in chosen]
    print(table(outcomes), flush=True)
    return 0 if verdict(outcomes) == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
