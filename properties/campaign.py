"""Fuzz campaigns: the property suite for a wall-clock budget on N worker processes.

    python -m properties.campaign --hours 8                 # make fuzz HOURS=8
    python -m properties.campaign --minutes 10 --workers 2 --properties invariants
    python -m properties.campaign --hours 8 --database redis://fuzz-db:6379 --seed 1000

Each worker loops over the (property, mode) targets round-robin, starting at its own
offset, and runs bounded Hypothesis runs (the ``nightly`` profile, ``--run-examples``
each, a seed of its own per run) until the deadline. All workers share one example
database, so a failure one of them finds is replayed first by the others, by the next
campaign and by ``pytest properties/`` (the same database keys). A failure is written
to the corpus the moment it is seen (test_properties.report()), then shrunk; its target
leaves every worker's rotation and the campaign goes on with the others.

The parent shows live progress (rich; a plain line every 10 s when stdout is not a
terminal) and, at the deadline, on Ctrl-C or on SIGTERM, writes report.md, report.json
and progress.png to ``--report-dir``. Coverage: a target (property, mode) that did not
fail is reached when it ran ``--min-examples`` examples (default: ``--run-examples``,
one full run). Exit status 1 if anything failed, else 2 if a target was not reached
(the campaign was too short to say much), else 0. See docs/campaigns.md.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import multiprocessing
import os
import queue
import random
import signal
import sys
import time
import traceback
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Optional

from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

import conftest  # noqa: F401 - registers the Hypothesis profiles (nightly)

from .blocks import MODES
from .checks import CORPUS_ENV, ENGINE_TIMEOUT_S, PLANTED, PROPERTIES, REGRESSIONS

REPO = Path(__file__).resolve().parent.parent
PROFILE = "nightly"
RUN_EXAMPLES = 200  # per bounded run (the reference and invariants get half, as in pytest)
SEND_INTERVAL_S = 1.0  # worker -> parent progress messages
PLAIN_INTERVAL_S = 10.0  # progress lines when stdout is not a terminal
RATE_WINDOW = 30  # progress ticks (~1 s each) the live rates average over
# After a stop, workers finish their current example; one stuck in the engine gets
# its timeout, then is killed.
GRACE_S = ENGINE_TIMEOUT_S + 10
# A worker that dies (an engine crash, the engine's .so replaced under it) is restarted
# with a fresh seed, up to this many times each: one crash must not end the night. Every
# crash is still reported and fails the campaign.
MAX_RESTARTS = 5

Target = tuple[str, str]  # (property, mode)


class CampaignStopped(KeyboardInterrupt):
    """Raised inside a test to end a run at once: Hypothesis lets a KeyboardInterrupt
    through, without shrinking it or saving the interrupted example as a failure."""


def test_function(prop: str):
    if prop == PLANTED:
        from . import planted
        return planted.test_planted
    from . import test_properties
    return getattr(test_properties, f"test_{prop}")


def planted_modes() -> tuple[str, ...]:
    from .planted import MODES as PLANTED_MODES
    return PLANTED_MODES


def node_id(prop: str, mode: str) -> str:
    module = "planted.py" if prop == PLANTED else "test_properties.py"
    return f"properties/{module}::test_{prop}[{mode}]"


def open_database(spec: Optional[str]) -> ExampleDatabase:
    """``redis://host:port``, a directory, or None: the nightly profile's directory."""
    if spec is None:
        return settings.get_profile(PROFILE).database
    if spec.startswith("redis://"):
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
        return RedisExampleDatabase(redis.Redis.from_url(spec))
    return DirectoryBasedExampleDatabase(spec)


def describe_database(spec: Optional[str]) -> str:
    return spec or str(settings.get_profile(PROFILE).database.path)


# ---- workers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    index: int
    seed: int
    targets: tuple[Target, ...]
    offset: int  # where this worker starts in the rotation
    database: Optional[str]
    corpus: str
    run_examples: int
    engine_threads: Optional[int]
    started: float  # time.time() of the campaign's start and deadline
    deadline: float
    parent_pid: int
    log: str


@dataclass
class Progress:
    """A worker's running totals, sent whole to the parent about once a second."""
    worker: int
    seed: int
    examples: Counter = field(default_factory=Counter)  # Target -> examples
    reexecutions: Counter = field(default_factory=Counter)  # property -> re-executions
    events: dict = field(default_factory=dict)  # property -> Counter(event label -> examples)
    failures: list = field(default_factory=list)
    runs: int = 0


class Worker:
    def __init__(self, job: Job, out, stop, failed):
        from . import test_properties
        test_properties.example_hook = self.on_example
        self.saved = test_properties._SAVED  # (property, mode) -> the corpus file report() wrote
        self.job, self.out, self.stop, self.failed = job, out, stop, failed
        self.progress = Progress(job.index, job.seed)
        self.rng = random.Random(job.seed)
        self.sent_at = 0.0
        # the current run
        self.target: Target = job.targets[0]
        self.run_seed = 0
        self.run_examples = 0
        self.failure: Optional[dict] = None

    def should_stop(self) -> bool:
        return (self.stop.is_set() or time.time() >= self.job.deadline
                or os.getppid() != self.job.parent_pid)  # the parent was killed

    def send(self) -> None:
        self.sent_at = time.monotonic()
        self.out.put(copy.deepcopy(self.progress))  # the queue pickles later, on its own thread

    def loop(self) -> None:
        targets = self.job.targets
        order = targets[self.job.offset:] + targets[:self.job.offset]
        for target in itertools.cycle(order):
            if self.should_stop() or all(self.failed):
                break
            if not self.failed[targets.index(target)]:
                self.run(target)
        self.send()

    def run(self, target: Target) -> None:
        prop, mode = target
        test = test_function(prop)
        # What Hypothesis's pytest plugin sets for a parametrized test: the database key of
        # `pytest properties/`, so campaigns and test runs replay each other's failures.
        test.hypothesis.inner_test._hypothesis_internal_add_digest = node_id(prop, mode).encode()
        # A seed per run; the public @seed decorator would also turn the database off.
        self.run_seed = self.rng.getrandbits(64)
        test._hypothesis_internal_use_seed = self.run_seed
        self.saved.pop(target, None)  # report() starts a new corpus file for a new failure
        self.target, self.run_examples, self.failure = target, 0, None
        try:
            test(mode=mode)
        except CampaignStopped:
            self.note_failure()  # one seen just before the stop has its corpus file already
        except Exception as exc:  # noqa: BLE001 - any error fails the target
            self.note_failure(exc)
        self.progress.runs += 1
        self.send()

    def note_failure(self, error: Optional[Exception] = None) -> None:
        """Record the current run's failure, once report() has saved its block or the run
        has ended with ``error`` (shrunk), and take its target out of every worker's rotation."""
        saved = self.saved.get(self.target)
        if self.failure is None and (saved or error):
            prop, mode = self.target
            self.failure = {
                "property": prop, "mode": mode, "fixture": str(saved[0]) if saved else None,
                "worker": self.job.index, "worker_seed": self.job.seed, "run_seed": self.run_seed,
                "found_after_examples": self.run_examples,
                "found_at_s": round(time.time() - self.job.started, 1), "shrunk": False, "error": "",
            }
            self.progress.failures.append(self.failure)
            self.failed[self.job.targets.index(self.target)] = 1
            self.send()
        if error is not None:
            self.failure["shrunk"] = True
            self.failure["error"] = f"{type(error).__name__}: {error}"[:3000]
            traceback.print_exception(error)  # with the falsifying example (its notes), to the log

    def on_example(self, events: list[str], runs) -> None:
        # report() runs after label(): a failure of the previous example shows up here
        self.note_failure()
        self.run_examples += 1
        prop = self.target[0]
        self.progress.examples[self.target] += 1
        self.progress.reexecutions[prop] += sum(r.result.stats["reexecutions"] for r in runs if r.ok)
        self.progress.events.setdefault(prop, Counter()).update(events)
        if time.monotonic() - self.sent_at >= SEND_INTERVAL_S:
            self.send()
        if self.should_stop():
            raise CampaignStopped


def work(job: Job, out, stop, failed) -> None:
    """A worker process: Hypothesis's and the engine's output go to the job's log."""
    log = open(job.log, "a", buffering=1)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    # The parent decides when to stop (the stop event): a signal to the whole process
    # group (Ctrl-C, timeout(1)) then still ends with a report.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.environ[CORPUS_ENV] = job.corpus
    settings.register_profile("campaign", parent=settings.get_profile(PROFILE),
                              database=open_database(job.database), max_examples=job.run_examples)
    settings.load_profile("campaign")  # before the tests are imported: their budgets come from it
    from . import test_properties
    if job.engine_threads:
        test_properties.MAX_THREADS = max(2, job.engine_threads)
    Worker(job, out, stop, failed).loop()


# ---- the parent: progress, stop, report -------------------------------------------------------


def hms(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@dataclass
class Totals:
    examples: Counter  # Target -> examples
    reexecutions: int
    events: dict  # property -> Counter
    failures: list

    def by_property(self) -> Counter:
        out = Counter()
        for (prop, _), n in self.examples.items():
            out[prop] += n
        return out


class Campaign:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.properties = ([PLANTED] if args.planted else []) + args.properties
        self.modes = {prop: (MODES if prop != PLANTED else planted_modes()) for prop in self.properties}
        self.targets = tuple((prop, mode) for prop in self.properties for mode in self.modes[prop])
        self.report_dir = args.report_dir
        self.progress: dict[int, Progress] = {}
        self.exit_codes: dict[int, Optional[int]] = {}
        self.crashes: list[dict] = []
        self.crashed_pids: set[int] = set()
        self.stop_reason: Optional[str] = None
        self.timeline: list[dict] = []
        self.ticks: deque = deque(maxlen=RATE_WINDOW)  # (monotonic, examples by property, re-executions)

    # -- running --------------------------------------------------------------------------------
    def run(self) -> int:
        self.report_dir.mkdir(parents=True, exist_ok=True)
        ctx = multiprocessing.get_context("spawn")  # never fork a process that may hold engine threads
        out, stop = ctx.Queue(), ctx.Event()
        failed = ctx.RawArray("b", len(self.targets))
        self.started_wall = time.time()
        self.started = time.monotonic()
        deadline_wall = self.started_wall + self.args.budget
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, _: self.request_stop(stop, signal.Signals(signum).name))
        def start(i: int, restart: int = 0):
            # a restarted worker gets seeds no worker of this campaign uses
            seed = self.args.seed + i + restart * 1_000_003
            job = Job(index=i, seed=seed, targets=self.targets,
                      offset=i * len(self.targets) // self.args.workers, database=self.args.database,
                      corpus=str(self.args.corpus), run_examples=self.args.run_examples,
                      engine_threads=self.args.engine_threads, started=self.started_wall,
                      deadline=deadline_wall, parent_pid=os.getpid(),
                      log=str(self.report_dir / f"worker-{i}.log"))
            if i not in self.progress:
                self.progress[i] = Progress(i, job.seed)
            process = ctx.Process(target=work, args=(job, out, stop, failed), name=f"campaign-worker-{i}")
            process.start()
            return process

        workers = [start(i) for i in range(self.args.workers)]
        restarts = [0] * len(workers)
        with Display(self) as display:
            stop_requested_at = None
            while self.restart_crashed(workers, restarts, start, stop) or any(p.is_alive() for p in workers):
                self.drain(out, timeout=0.5)
                self.tick()
                display.update()
                if stop_requested_at is None and (stop.is_set() or time.time() >= deadline_wall):
                    self.request_stop(stop, "deadline")  # keeps the signal's name if one came first
                    stop_requested_at = time.monotonic()
                if stop_requested_at is not None and time.monotonic() - stop_requested_at > GRACE_S:
                    for p in workers:
                        if p.is_alive():
                            p.kill()  # they ignore SIGTERM
                    break
            for p in workers:
                p.join()
            self.drain(out, timeout=0)
            self.tick(final=True)
            display.update()
        self.exit_codes = {i: p.exitcode for i, p in enumerate(workers)}
        if self.stop_reason is None:  # the workers ended on their own
            self.stop_reason = "every target failed" if all(failed) else "workers exited"
        summary = self.summary()
        write_report(self.report_dir, summary)
        print(f"campaign {verdict(summary)}: "
              f"{len(summary['failures'])} failures, {sum(summary['examples'].values())} examples "
              f"in {hms(summary['duration_s'])}; {coverage_line(summary['coverage'])}; "
              f"report: {self.report_dir / 'report.md'}", flush=True)
        return exit_status(summary)

    def restart_crashed(self, workers, restarts, start, stop) -> bool:
        """Records dead workers that crashed, restarts them while the campaign runs."""
        restarted = False
        for i, p in enumerate(workers):
            if p.is_alive() or p.exitcode in (0, None) or p.pid in self.crashed_pids:
                continue
            self.crashed_pids.add(p.pid)
            self.crashes.append({"worker": i, "exit_code": p.exitcode, "at_s": round(self.elapsed(), 1),
                                 "restarted": False})
            if not stop.is_set() and time.time() < self.started_wall + self.args.budget \
                    and restarts[i] < MAX_RESTARTS:
                restarts[i] += 1
                workers[i] = start(i, restarts[i])
                self.crashes[-1]["restarted"] = True
                restarted = True
        return restarted

    def request_stop(self, stop, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        stop.set()

    def drain(self, out, timeout: float) -> None:
        try:
            message = out.get(timeout=timeout) if timeout else out.get_nowait()
            while True:
                self.progress[message.worker] = message
                message = out.get_nowait()
        except queue.Empty:
            pass

    def totals(self) -> Totals:
        examples, events, failures, reexecutions = Counter(), {}, [], 0
        for p in self.progress.values():
            examples.update(p.examples)
            reexecutions += sum(p.reexecutions.values())
            for prop, counter in p.events.items():
                events.setdefault(prop, Counter()).update(counter)
            failures += p.failures
        return Totals(examples, reexecutions, events, sorted(failures, key=lambda f: f["found_at_s"]))

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def tick(self, final: bool = False) -> None:
        totals = self.totals()
        by_property = totals.by_property()
        now = time.monotonic()
        self.ticks.append((now, by_property, totals.reexecutions))
        step = max(1.0, self.args.budget / 600)  # at most ~600 points in the plot
        if final or not self.timeline or self.elapsed() - self.timeline[-1]["t"] >= step:
            self.timeline.append({"t": round(self.elapsed(), 1), "examples": dict(by_property),
                                  "failures": len(totals.failures)})

    def rates(self) -> tuple[Counter, float]:
        """Examples/s by property and re-executions/s over the last RATE_WINDOW ticks."""
        if not self.ticks:
            return Counter(), 0.0
        (t0, examples0, reexecutions0), (t1, examples1, reexecutions1) = self.ticks[0], self.ticks[-1]
        span = max(t1 - t0, 1e-9)
        rates = Counter({prop: (examples1[prop] - examples0[prop]) / span for prop in self.properties})
        return rates, (reexecutions1 - reexecutions0) / span

    # -- report ---------------------------------------------------------------------------------
    def coverage(self, totals: Totals) -> dict:
        """Which targets ran at least --min-examples examples; failed targets do not count
        (they leave the rotation when they fail)."""
        failed = {(f["property"], f["mode"]) for f in totals.failures}
        judged = [t for t in self.targets if t not in failed]
        short = [{"property": prop, "mode": mode, "examples": totals.examples[(prop, mode)]}
                 for prop, mode in judged if totals.examples[(prop, mode)] < self.args.min_examples]
        return {"min_examples": self.args.min_examples, "targets": len(judged),
                "reached": len(judged) - len(short), "failed_targets": len(failed), "short": short}

    def summary(self) -> dict:
        totals = self.totals()
        duration = self.elapsed()
        crashed = {i: code for i, code in self.exit_codes.items() if code != 0}
        for crash in self.crashes:
            crashed.setdefault(crash["worker"], crash["exit_code"])
        properties = {}
        for prop in self.properties:
            n = sum(totals.examples[(prop, mode)] for mode in self.modes[prop])
            properties[prop] = {
                "examples": n,
                "examples_per_s": round(n / duration, 2) if duration else 0,
                "by_mode": {mode: totals.examples[(prop, mode)] for mode in self.modes[prop]},
                "events": dict(totals.events.get(prop, Counter()).most_common()),
            }
        return {
            "started": datetime.fromtimestamp(self.started_wall).isoformat(timespec="seconds"),
            "duration_s": round(duration, 1),
            "budget_s": self.args.budget,
            "stopped_by": self.stop_reason,
            "failed": bool(totals.failures or crashed),
            "coverage": self.coverage(totals),
            "profile": PROFILE,
            "run_examples": self.args.run_examples,
            "engine_threads": self.args.engine_threads,
            "database": describe_database(self.args.database),
            "corpus": str(self.args.corpus),
            "base_seed": self.args.seed,
            "workers": [{"worker": i, "seed": p.seed, "runs": p.runs, "exit_code": self.exit_codes.get(i),
                         "log": str(self.report_dir / f"worker-{i}.log")}
                        for i, p in sorted(self.progress.items())],
            "crashed_workers": crashed,
            "crashes": self.crashes,
            "examples": {prop: v["examples"] for prop, v in properties.items()},
            "reexecutions": totals.reexecutions,
            "properties": properties,
            "failures": totals.failures,
            "timeline": self.timeline,
        }


class Display:
    """Live progress: a rich table on a terminal, else a plain line every PLAIN_INTERVAL_S."""

    def __init__(self, campaign: Campaign):
        from rich.console import Console
        self.campaign = campaign
        self.console = Console()
        self.live = None
        self.printed_at = time.monotonic()

    def __enter__(self) -> "Display":
        if self.console.is_terminal:
            from rich.live import Live
            self.live = Live(self.table(), console=self.console, refresh_per_second=2)
            self.live.__enter__()
        else:
            c = self.campaign
            print(f"campaign: {len(c.targets)} targets, {c.args.workers} workers (seeds {c.args.seed}.."
                  f"{c.args.seed + c.args.workers - 1}), {hms(c.args.budget)}; report: {c.report_dir}", flush=True)
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def update(self) -> None:
        if self.live is not None:
            self.live.update(self.table())
        elif time.monotonic() - self.printed_at >= PLAIN_INTERVAL_S:
            self.printed_at = time.monotonic()
            print(self.line(), flush=True)

    def line(self) -> str:
        c = self.campaign
        totals, (rates, reexecutions) = c.totals(), c.rates()
        by_property = totals.by_property()
        parts = [f"{prop} {by_property[prop]} ({rates[prop]:.1f}/s)" for prop in c.properties]
        return (f"[{hms(c.elapsed())}/{hms(c.args.budget)}] " + ", ".join(parts)
                + f"; re-executions {reexecutions:.0f}/s; failures {len(totals.failures)}")

    def table(self):
        from rich.table import Table
        c = self.campaign
        totals = c.totals()
        rates, reexecutions = c.rates()
        by_property = totals.by_property()
        table = Table(title=f"campaign {hms(c.elapsed())} / {hms(c.args.budget)}, {c.args.workers} workers, "
                            f"re-executions {reexecutions:.0f}/s",
                      caption=f"report: {c.report_dir}")
        for column in ("property", "examples", "examples/s", "failures"):
            table.add_column(column, justify="left" if column == "property" else "right")
        for prop in c.properties:
            failures = sum(f["property"] == prop for f in totals.failures)
            table.add_row(prop, str(by_property[prop]), f"{rates[prop]:.1f}",
                          f"[red]{failures}[/red]" if failures else "0")
        for f in totals.failures[-5:]:
            table.add_row(f"[red]{f['property']}/{f['mode']}[/red]", "", "", f["fixture"] or "(no fixture)")
        return table


def coverage_line(coverage: dict) -> str:
    line = (f"coverage: {coverage['reached']} of {coverage['targets']} targets reached "
            f"{coverage['min_examples']} examples")
    if coverage["short"]:
        line += " (short: " + ", ".join(f"{t['property']}/{t['mode']} {t['examples']}" for t in coverage["short"][:6]) \
            + (f", {len(coverage['short']) - 6} more" if len(coverage["short"]) > 6 else "") + ")"
    return line


def verdict(summary: dict) -> str:
    if summary["failed"]:
        return "FAILED"
    return "INCOMPLETE" if summary["coverage"]["short"] else "ok"


def exit_status(summary: dict) -> int:
    """1: something failed; 2: nothing failed but a target was not reached; 0: ok."""
    return {"FAILED": 1, "INCOMPLETE": 2, "ok": 0}[verdict(summary)]


def write_report(directory: Path, summary: dict) -> None:
    (directory / "report.json").write_text(json.dumps(summary, indent=1) + "\n")
    plot(directory / "progress.png", summary)
    coverage = summary["coverage"]
    lines = [
        f"# Fuzz campaign {summary['started']}: {verdict(summary)}",
        "",
        f"- {coverage_line(coverage)}"
        + (": **too short a campaign to say much about the targets below**" if coverage["short"] else ""),
        f"- duration {hms(summary['duration_s'])} of {hms(summary['budget_s'])}, stopped by {summary['stopped_by']}",
        f"- {len(summary['workers'])} workers, seeds "
        + ", ".join(str(w["seed"]) for w in summary["workers"])
        + f"; profile `{summary['profile']}`, {summary['run_examples']} examples per run"
        + (f", engine threads 2..{summary['engine_threads']}" if summary["engine_threads"] else ""),
        f"- database `{summary['database']}`, corpus `{summary['corpus']}`",
        f"- {summary['reexecutions']} re-executions",
        "",
        "| property | examples | examples/s | failures | by mode |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for prop, stats in summary["properties"].items():
        failures = sum(f["property"] == prop for f in summary["failures"])
        modes = ", ".join(f"{mode} {n}" for mode, n in stats["by_mode"].items())
        lines.append(f"| {prop} | {stats['examples']} | {stats['examples_per_s']} | {failures} | {modes} |")
    if coverage["short"]:
        lines += ["", f"## Not reached (fewer than {coverage['min_examples']} examples)", "",
                  "| property | mode | examples |", "| --- | --- | ---: |"]
        lines += [f"| {t['property']} | {t['mode']} | {t['examples']} |" for t in coverage["short"]]
    lines += ["", "![examples and failures over time](progress.png)", "", "## Failures", ""]
    if not summary["failures"] and not summary["crashed_workers"]:
        lines.append("None.")
    for f in summary["failures"]:
        fixture = f"`{f['fixture']}`" if f["fixture"] else "no fixture (not a property violation)"
        lines.append(f"- **{f['property']}/{f['mode']}** at {hms(f['found_at_s'])}, after "
                     f"{f['found_after_examples']} examples of its run (worker {f['worker']}, run seed "
                     f"{f['run_seed']}){'' if f['shrunk'] else ', not fully shrunk'}: {fixture}")
        if f["fixture"]:
            lines.append(f"  replay: `python -m properties.replay {f['fixture']}`")
        if f["error"]:
            lines += ["", "  ```", *("  " + line for line in f["error"].splitlines()[:12]), "  ```"]
    for worker, code in summary["crashed_workers"].items():
        lines.append(f"- worker {worker} exited with code {code}: see `{summary['workers'][int(worker)]['log']}`")
    lines += ["", "## Events", "", "Share of each property's examples that showed the event.", ""]
    for prop, stats in summary["properties"].items():
        lines += [f"### {prop}", ""]
        n = max(stats["examples"], 1)
        lines += [f"- {label}: {count} ({100 * count / n:.0f}%)" for label, count in stats["events"].items()]
        lines.append("")
    (directory / "report.md").write_text("\n".join(lines) + "\n")


def plot(path: Path, summary: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timeline = summary["timeline"]
    minutes = [point["t"] / 60 for point in timeline]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for prop in summary["properties"]:
        ax.plot(minutes, [point["examples"].get(prop, 0) for point in timeline], label=prop)
    for f in summary["failures"]:
        ax.axvline(f["found_at_s"] / 60, color="red", linestyle="--", linewidth=1)
    failures = ax.twinx()
    failures.step(minutes, [point["failures"] for point in timeline], where="post", color="red",
                  label="failures")
    failures.set_ylabel("failures (dashed: when each was seen)")
    failures.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("minutes")
    ax.set_ylabel("examples")
    ax.set_title(f"campaign {summary['started']}")
    lines, labels = ax.get_legend_handles_labels()
    more_lines, more_labels = failures.get_legend_handles_labels()
    ax.legend(lines + more_lines, labels + more_labels, loc="upper left", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---- command line -------------------------------------------------------------------------------


def cores() -> int:
    return len(os.sched_getaffinity(0))


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m properties.campaign", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--hours", type=float)
    budget.add_argument("--minutes", type=float)
    budget.add_argument("--seconds", type=float)
    parser.add_argument("--workers", default="auto", help="worker processes (default: auto = every core)")
    parser.add_argument("--database", metavar="PATH|redis://HOST:PORT",
                        help="shared example database (default: the repository's .hypothesis/examples)")
    parser.add_argument("--corpus", type=Path, default=REGRESSIONS,
                        help="where failures are written (default: properties/regressions)")
    parser.add_argument("--report-dir", type=Path,
                        help="default: .cache/campaigns/<timestamp>/")
    parser.add_argument("--properties", nargs="+", choices=PROPERTIES, default=list(PROPERTIES), metavar="NAME",
                        help=f"a subset of {', '.join(PROPERTIES)} (default: all)")
    parser.add_argument("--seed", type=int, help="base seed; worker i gets seed+i (default: random)")
    parser.add_argument("--engine-threads", type=int, metavar="N",
                        help="the parallel property draws thread counts 2..N (default 8)")
    parser.add_argument("--run-examples", type=int, default=RUN_EXAMPLES,
                        help=f"examples per bounded Hypothesis run (default {RUN_EXAMPLES})")
    parser.add_argument("--min-examples", type=int, metavar="N",
                        help="examples a target (property, mode) needs to count as reached; fewer on any "
                             "target makes the campaign INCOMPLETE, exit status 2 (default: --run-examples)")
    parser.add_argument("--planted", action="store_true",
                        help="add the planted bug of properties/planted.py (the campaign's tests; needs --corpus)")
    args = parser.parse_args(argv)
    args.budget = args.hours * 3600 if args.hours is not None else (
        args.minutes * 60 if args.minutes is not None else args.seconds)
    args.workers = cores() if args.workers == "auto" else int(args.workers)
    if args.workers < 1 or args.budget <= 0:
        parser.error("--workers and the budget must be positive")
    if args.min_examples is None:
        args.min_examples = args.run_examples
    if args.min_examples < 0 or args.run_examples < 1:
        parser.error("--run-examples must be positive and --min-examples non-negative")
    if args.planted and args.corpus.resolve() == REGRESSIONS:
        parser.error("--planted needs --corpus: the planted failure must not reach properties/regressions/")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**31)
    if args.report_dir is None:
        args.report_dir = REPO / ".cache" / "campaigns" / datetime.now().strftime("%Y%m%d-%H%M%S")
    if args.database and args.database.startswith("redis://"):
        import redis
        try:
            redis.Redis.from_url(args.database).ping()  # fail now, not in every worker
        except redis.RedisError as exc:
            parser.error(f"--database {args.database}: {exc}")
    return args


def main(argv: Optional[list[str]] = None) -> int:
    return Campaign(parse_args(argv)).run()


if __name__ == "__main__":
    sys.exit(main())
