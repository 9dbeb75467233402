"""Detection power: does the gate catch seeded engine bugs? (docs/detection-power.md)

Builds the engine once with the cargo feature `faults` and installs it into
.cache/faults/site. Then, for each fault, runs the gate's suites cheapest first with
BLOCKSTM_FAULT=<name> and that build first on PYTHONPATH, until a test fails (caught:
by which suite and test, how soon) or the per-fault limit passes (not caught in time).
A baseline run with no fault must pass every suite first: a failure there means the
hooks themselves are broken. Writes .cache/mutation/report.json and report.md.

    python scripts/mutation.py                                  # every fault
    python scripts/mutation.py --faults skip-validation,drop-wake-up --limit 300
    python scripts/mutation.py --build-only                     # make faults-build
    python scripts/mutation.py --suites api -- -k test_parallel  # a subset; extra pytest args
    python scripts/mutation.py --generated --sample 20           # cargo-mutants' mutants instead
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))
from gate import REPO, VENV_BIN, junit_counts, suites  # noqa: E402

FAULTED_BUILD = REPO / ".cache" / "faults"
SITE = FAULTED_BUILD / "site"
WHEELS = FAULTED_BUILD / "wheel"
TARGET = REPO / "engine" / "target-faults"
NORMAL_TARGET = REPO / "engine" / "target"
OUT = REPO / ".cache" / "mutation"
# Cheapest first (gate-profile times on 2 cores, docs/detection-power.md), so each fault
# is reported by the quickest suite that sees it. engine-unit is not run: its cargo test
# binary is built without the `faults` feature, so no fault can reach it.
ORDER = ("api", "bench-smoke", "loaders", "state-tests", "mainnet-blocks", "regressions", "mocked-blocks",
         "properties")
DEFAULT_LIMIT_S = 600
BASELINE_LIMIT_S = 3600
POLL_S = 0.5


def build() -> float:
    """The faulted wheel, unpacked into SITE. Returns the seconds it took."""
    started = time.monotonic()
    if not TARGET.exists() and NORMAL_TARGET.exists():
        # A copy of the normal build's target directory brings its compiled dependencies:
        # the first faulted build then compiles the engine crate alone (about a minute
        # instead of five on 2 cores), and the normal build is never touched.
        shutil.copytree(NORMAL_TARGET, TARGET, symlinks=True)
    shutil.rmtree(WHEELS, ignore_errors=True)
    env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
    subprocess.run([str(VENV_BIN / "maturin"), "build", "--release", "--features",
                    "python,pyo3/extension-module,faults", "--out", str(WHEELS)], cwd=REPO, env=env, check=True)
    (wheel,) = WHEELS.glob("*.whl")
    shutil.rmtree(SITE, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(SITE),
                    str(wheel)], check=True)
    return time.monotonic() - started


def environment(fault: str | None, out: Path = OUT, site: Path = SITE) -> dict[str, str]:
    # Not the xdist worker variables of a pytest that runs this harness (tests/test_mutation.py
    # under `make test -n auto`): failure_log.py would take the suites for xdist workers.
    env = {k: v for k, v in os.environ.items()
           if k != "BLOCKSTM_FAULT" and not k.startswith("PYTEST_XDIST_") and k != "PYTEST_CURRENT_TEST"}
    if fault:
        env["BLOCKSTM_FAULT"] = fault
    # The build under test ahead of the venv's editable install; SCRIPTS for the
    # failure_log plugin.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), str(SCRIPTS), env.get("PYTHONPATH")) if p)
    # Counterexamples the properties find under a fault are not regressions of the engine.
    env["PROPERTIES_CORPUS"] = str(out / "counterexamples" / (fault or "baseline"))
    return env


def faults_of_build() -> list[str]:
    """The faults of the installed faulted build, after checking that PYTHONPATH really
    makes Python import it rather than the venv's normal engine."""
    probe = "import json, blockstm; print(json.dumps([blockstm.__file__, blockstm._engine.faults()]))"
    proc = subprocess.run([sys.executable, "-c", probe], env=environment(None), capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"no faulted engine in {SITE} (run `make faults-build`):\n{proc.stderr[-2000:]}")
    path, names = json.loads(proc.stdout)
    if not Path(path).is_relative_to(SITE):
        sys.exit(f"PYTHONPATH={SITE} does not take precedence: blockstm was imported from {path}")
    return names


@dataclass
class SuiteRun:
    suite: str
    result: str  # passed | failed | timeout
    seconds: float
    cases: int = 0
    failures: list[dict] = field(default_factory=list)


def read_failures(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.endswith("}")]


def run_suite(name: str, command: list[str], env: dict[str, str], deadline: float, workdir: Path,
              stop_at_failure: bool, cwd: Path = REPO) -> SuiteRun:
    """Runs one suite in its own process group, killed at the deadline or (when
    stop_at_failure) as soon as a test fails."""
    log, junit = workdir / f"{name}.failures.jsonl", workdir / f"{name}.xml"
    log.unlink(missing_ok=True)
    junit.unlink(missing_ok=True)
    command = [*command, "-p", "failure_log", f"--junitxml={junit}"]
    started = time.monotonic()
    with open(workdir / f"{name}.log", "w") as output:
        proc = subprocess.Popen(command, cwd=cwd, env=dict(env, MUTATION_FAILURE_LOG=str(log)),
                                stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        while (code := proc.poll()) is None and time.monotonic() < deadline:
            if stop_at_failure and read_failures(log):
                break
            time.sleep(POLL_S)
        if code is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    seconds = time.monotonic() - started
    failures = read_failures(log)
    cases = junit_counts(junit)[0] if junit.exists() else 0
    if code is not None and code not in (0, 5) and not failures:  # pytest itself failed
        failures = [{"test": f"(pytest exit code {code}, see {workdir.name}/{name}.log)", "when": "session",
                     "message": "", "time": time.time()}]
    result = "failed" if failures else "timeout" if code is None else "passed"
    return SuiteRun(name, result, round(seconds, 1), cases, failures)


@dataclass
class FaultRun:
    fault: str
    caught: bool
    suite: str | None  # the suite that caught it
    seconds: float | None  # from the start of the run to the first failing test
    tests: list[str]
    message: str
    suites: list[SuiteRun]


def run_fault(fault: str | None, commands: dict[str, list[str]], order: list[str], limit: float,
              out: Path) -> FaultRun:
    """Suites in order until one fails; a baseline (fault None) runs them all."""
    workdir = out / (fault or "baseline")
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    env = environment(fault, out)
    started_wall, deadline = time.time(), time.monotonic() + limit
    runs: list[SuiteRun] = []
    print(f"\n=== {fault or 'baseline (no fault)'}", flush=True)
    for name in order:
        run = run_suite(name, commands[name], env, deadline, workdir, stop_at_failure=fault is not None)
        runs.append(run)
        print(f"  {name:<16}{run.result:<9}{run.seconds:>8.1f} s  {run.cases} cases", flush=True)
        if run.result != "passed" and fault is not None:
            break
        if run.result == "timeout":
            break
    failed = next((r for r in runs if r.result == "failed"), None)
    if failed is None:
        return FaultRun(fault or "baseline", False, None, None, [], "", runs)
    first = min(failed.failures, key=lambda f: f["time"])
    return FaultRun(fault or "baseline", True, failed.suite, round(first["time"] - started_wall, 1),
                    [f["test"] for f in failed.failures], first["message"], runs)


def markdown(report: dict) -> str:
    lines = [
        "# Detection power: seeded engine faults against the gate",
        "",
        f"Run {report['date']}; per-fault limit {report['limit_s']} s; pytest workers {report['workers']}; "
        f"suites in order: {', '.join(report['order'])}. Faulted build: {report['build']}.",
        "",
    ]
    baseline = report.get("baseline")
    if baseline:
        verdict = "passed" if passed_all(baseline) else "FAILED (the hooks are broken: fault results are meaningless)"
        times = ", ".join(f"{r['suite']} {r['seconds']:.0f} s" for r in baseline["suites"])
        lines += [f"Baseline, faulted build with no fault: **{verdict}** ({times}).", ""]
    caught = sum(f["caught"] for f in report["faults"])
    lines += [f"**{caught} of {len(report['faults'])} faults caught.**", "",
              "| fault | caught | by suite | time to first failure | first failing test | its error |",
              "|---|---|---|---|---|---|"]
    for f in report["faults"]:
        if f["caught"]:
            test = f["tests"][0] + (f" (+{len(f['tests']) - 1} more)" if len(f["tests"]) > 1 else "")
            message = f["message"][:90].replace("|", "\\|")
            lines.append(f"| `{f['fault']}` | yes | {f['suite']} | {f['seconds']:.0f} s | `{test}` | {message} |")
        else:
            last = f["suites"][-1] if f["suites"] else None
            why = f"limit reached in {last['suite']}" if last and last["result"] == "timeout" else "every suite passed"
            lines.append(f"| `{f['fault']}` | **no** | — | — | {why} | |")
    return "\n".join(lines) + "\n"


def add_run_options(parser: argparse.ArgumentParser, order: tuple[str, ...], limit: float, what: str) -> None:
    """The options of a run of the suites against each fault or mutant."""
    parser.add_argument("--limit", type=float, default=limit, help=f"wall-clock seconds per {what}")
    parser.add_argument("--suites", default=",".join(order), help="suites to run, in this order")
    parser.add_argument("--workers", default=os.environ.get("WORKERS", "auto"), help="pytest-xdist workers")
    parser.add_argument("--state-sample", type=int, default=2000, help="state-test sample size, as the gate")


def passed_all(run: dict) -> bool:
    return all(suite["result"] == "passed" for suite in run["suites"])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--generated" in argv:
        # Generated mutants instead of the seeded faults: scripts/mutants.py.
        import mutants

        return mutants.main([a for a in argv if a != "--generated"])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", default="", help="comma-separated fault names (default: all)")
    add_run_options(parser, ORDER, DEFAULT_LIMIT_S, "fault")
    parser.add_argument("--no-build", action="store_true", help="reuse the faulted build in .cache/faults/site")
    parser.add_argument("--build-only", action="store_true", help="build and install the faulted engine, then stop")
    parser.add_argument("--skip-baseline", action="store_true", help="no baseline run (quick checks only)")
    parser.add_argument("--out", type=Path, default=OUT, help="directory of the report and the suites' logs")
    parser.add_argument("extra", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # the suites' logs and JUnit files are named by it

    build_info = "reused"
    if not args.no_build:
        seconds = build()
        build_info = f"built in {seconds:.0f} s"
        print(f"faulted engine {build_info}, installed in {SITE}", flush=True)
    known = faults_of_build()
    if args.build_only:
        return 0
    chosen = args.faults.split(",") if args.faults else known
    if unknown := [f for f in chosen if f not in known]:
        parser.error(f"unknown faults: {', '.join(unknown)}; known: {', '.join(known)}")
    commands = {s.name: s.command for s in suites(False, args.workers, args.state_sample, args.extra)}
    order = args.suites.split(",")
    if unknown := [s for s in order if s not in commands]:
        parser.error(f"unknown suites: {', '.join(unknown)}")

    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "limit_s": args.limit, "workers": args.workers,
                    "order": order, "build": build_info, "baseline": None, "faults": []}

    def write() -> None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
        (args.out / "report.md").write_text(markdown(report))

    if not args.skip_baseline:
        report["baseline"] = asdict(run_fault(None, commands, order, BASELINE_LIMIT_S, args.out))
        write()
        if not passed_all(report["baseline"]):
            print(f"baseline failed: the faulted build is broken without a fault; see {args.out}", flush=True)
            return 1
    for fault in chosen:
        report["faults"].append(asdict(run_fault(fault, commands, order, args.limit, args.out)))
        write()
    print("\n" + markdown(report), flush=True)
    return 0 if all(f["caught"] for f in report["faults"]) else 1


if __name__ == "__main__":
    sys.exit(main())
