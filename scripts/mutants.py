"""Detection power against generated mutants: cargo-mutants' edits of the engine, each
built and run against the gate's suites (docs/detection-power.md, issue #19).

The seeded faults (scripts/mutation.py) are bugs the project placed itself; these are
the small edits nobody chose: cargo-mutants lists them (`--list --json --diff`), this
harness applies each diff to a scratch copy of the engine (the checkout is never
touched), builds it, installs it ahead of the normal engine on PYTHONPATH, and runs the
suites cheapest first until a test fails.

    python scripts/mutants.py --list-only                     # list (needs cargo-mutants)
    python scripts/mutants.py --sample 20 --seed 1            # 20 mutants of the default files
    python scripts/mutants.py --files src/parallel/lazy.rs --limit 300
    python scripts/mutants.py --mutants scripts/mutants-quick.json   # a saved list (CI's slice)

Outcomes: killed (a test failed: by which suite and test), survived (every suite passed),
timeout (the per-mutant limit passed first: a hang is caught, but slowly), unviable
(does not build). Writes .cache/mutation/generated/report.json and report.md, with the
diff of every survivor. cargo-mutants itself is only needed to list mutants:
`make mutants-tool` installs it into .cache/tools.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))
import mutation  # noqa: E402
from gate import REPO, VENV_BIN, suites  # noqa: E402

OUT = REPO / ".cache" / "mutation" / "generated"
# A snapshot of the checkout (its tracked and untracked files, as they are when the run
# starts): each mutant edits its engine, and its suites run from it, so a run of hours
# is not changed by edits in the checkout meanwhile.
TREE = OUT / "tree"
SITE = OUT / "site"          # the mutant's build, installed
WHEELS = OUT / "wheel"
TARGET = REPO / "engine" / "target-mutants"
TOOL_VERSION = "27.1.0"  # the Makefile's CARGO_MUTANTS_VERSION
TOOL = REPO / ".cache" / "tools" / "bin" / "cargo-mutants"
# What Block-STM decides, and the sequential rules it must reproduce.
DEFAULT_FILES = ["src/parallel/*.rs", "src/result.rs", "src/sequential.rs", "src/changes.rs"]
ORDER = ("api", "regressions", "mocked-blocks", "state-tests", "properties")
DEFAULT_LIMIT_S = 600


def tool() -> str:
    for candidate in (TOOL, shutil.which("cargo-mutants")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    sys.exit("cargo-mutants is not installed: `make mutants-tool` (cargo install cargo-mutants "
             f"--version {TOOL_VERSION} --locked --root .cache/tools), or pass --mutants FILE")


def list_mutants(files: list[str]) -> list[dict]:
    """cargo-mutants' mutants of `files` (globs relative to engine/), with their diffs."""
    command = [tool(), "mutants", "--list", "--json", "--diff", "--dir", str(REPO / "engine")]
    for pattern in files:
        command += ["--file", pattern]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        sys.exit(f"cargo mutants --list failed:\n{proc.stderr[-3000:]}")
    return [m for m in json.loads(proc.stdout) if not in_fault_hook(m)]


def in_fault_hook(m: dict) -> bool:
    """A mutant that only edits a seeded-fault hook (`faults::…`): that code is compiled
    out of every build but the `faults` one, so the mutant is equivalent by construction."""
    removed = [line for line in m["diff"].splitlines() if line.startswith("-") and not line.startswith("---")]
    return bool(removed) and all("faults::" in line or "Fault::" in line for line in removed)


def function_of(m: dict) -> str:
    function = m.get("function") or {}
    return function.get("function_name") or "(file)"


def make_tree() -> None:
    """The snapshot: every file git would commit (tracked, or untracked and not ignored)."""
    shutil.rmtree(TREE, ignore_errors=True)
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():  # not a submodule's folder, not a file deleted since
            (TREE / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, TREE / name)
    # The checkout's virtualenv (tests run its tools by path), not a copy.
    (TREE / ".venv").symlink_to(REPO / ".venv")
    # The engine's sources as they were, to undo each mutant.
    shutil.copytree(TREE / "engine" / "src", TREE / "pristine" / "engine" / "src")


def data_environment() -> dict[str, str]:
    """The corpora, found from the checkout (the snapshot has no ../shared beside it)."""
    sys.path.insert(0, str(REPO))
    from conformance import data

    env = {}
    for variable, lookup in ((data.ETHEREUM_TESTS_ENV, data.find_state_tests()),
                             (data.MAINNET_BLOCKS_ENV, data.find_mainnet_blocks())):
        if lookup.path is not None:
            env[variable] = str(lookup.path)
    return env


def apply(m: dict) -> None:
    """The mutant's diff applied to the snapshot's engine (the file restored first)."""
    restore(m)
    relative = Path("engine") / m["file"]
    # The diff's "+++" line is a description, not a path: name the file.
    proc = subprocess.run(["patch", "--quiet", "--forward", str(TREE / relative)],
                          input=m["diff"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the diff does not apply: {proc.stdout}{proc.stderr}")


def restore(m: dict) -> None:
    relative = Path("engine") / m["file"]
    shutil.copy2(TREE / "pristine" / relative, TREE / relative)


def build() -> tuple[bool, float, str]:
    """Builds the snapshot's wheel and installs it into SITE: (ok, seconds, log tail)."""
    started = time.monotonic()
    if not TARGET.exists() and mutation.NORMAL_TARGET.exists():
        # The normal build's compiled dependencies: only the engine crate is rebuilt.
        shutil.copytree(mutation.NORMAL_TARGET, TARGET, symlinks=True)
    shutil.rmtree(WHEELS, ignore_errors=True)
    env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
    proc = subprocess.run([str(VENV_BIN / "maturin"), "build", "--release", "--out", str(WHEELS)],
                          cwd=TREE, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        return False, time.monotonic() - started, (proc.stdout + proc.stderr)[-3000:]
    (wheel,) = WHEELS.glob("*.whl")
    shutil.rmtree(SITE, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(SITE),
                    str(wheel)], check=True)
    return True, time.monotonic() - started, ""


def check_import(env: dict[str, str]) -> None:
    """The suites must import the mutant's build, not the venv's engine."""
    probe = "import blockstm; print(blockstm.__file__)"
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not Path(proc.stdout.strip()).is_relative_to(SITE):
        sys.exit(f"the mutant's build in {SITE} is not what Python imports: {proc.stdout}{proc.stderr[-2000:]}")


@dataclass
class MutantRun:
    name: str
    file: str
    function: str
    outcome: str  # killed | survived | timeout | unviable
    suite: str | None
    tests: list[str]
    message: str
    build_seconds: float
    seconds: float  # build and suites
    diff: str


def run_mutant(index: int, m: dict, commands: dict[str, list[str]], order: list[str], limit: float,
               out: Path) -> MutantRun:
    started = time.monotonic()
    print(f"\n=== {m['name']}", flush=True)
    apply(m)
    try:
        ok, build_seconds, log = build()
    finally:
        restore(m)
    base = dict(name=m["name"], file=m["file"], function=function_of(m), build_seconds=round(build_seconds, 1),
                diff=m["diff"])
    if not ok:
        print(f"  unviable (does not build, {build_seconds:.0f} s)", flush=True)
        return MutantRun(outcome="unviable", suite=None, tests=[], message=log.strip().splitlines()[-1] if log else "",
                         seconds=round(time.monotonic() - started, 1), **base)
    workdir = out / "runs" / f"{index:04d}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    env = dict(mutation.environment(None, out, site=SITE), **data_environment())
    check_import(env)
    deadline = time.monotonic() + limit
    outcome, suite, tests, message = "survived", None, [], ""
    for name in order:
        run = mutation.run_suite(name, commands[name], env, deadline, workdir, stop_at_failure=True, cwd=TREE)
        print(f"  {name:<16}{run.result:<9}{run.seconds:>8.1f} s  {run.cases} cases", flush=True)
        if run.result == "failed":
            first = min(run.failures, key=lambda f: f["time"])
            outcome, suite, tests, message = "killed", name, [f["test"] for f in run.failures], first["message"]
            break
        if run.result == "timeout":
            outcome, suite = "timeout", name
            break
    print(f"  {outcome}" + (f" by {suite}" if suite else ""), flush=True)
    return MutantRun(outcome=outcome, suite=suite, tests=tests, message=message[:300],
                     seconds=round(time.monotonic() - started, 1), **base)


def kill_rate(runs: list[dict]) -> tuple[int, int]:
    """(killed or timed out, viable)."""
    viable = [r for r in runs if r["outcome"] != "unviable"]
    return sum(r["outcome"] in ("killed", "timeout") for r in viable), len(viable)


def markdown(report: dict) -> str:
    runs = report["mutants"]
    caught, viable = kill_rate(runs)
    counts = Counter(r["outcome"] for r in runs)
    lines = [
        "# Detection power: generated mutants (cargo-mutants) against the gate",
        "",
        f"Run {report['date']}; {report['selection']}; per-mutant limit {report['limit_s']} s; pytest "
        f"workers {report['workers']}; suites in order: {', '.join(report['order'])}.",
        "",
        f"**{caught} of {viable} viable mutants caught** ({100 * caught / viable:.0f}%)" if viable else
        "**no viable mutant**",
        "",
        "| outcome | mutants |",
        "|---|---|",
        *[f"| {k} | {counts.get(k, 0)} |" for k in ("killed", "timeout", "survived", "unviable")],
        "",
        "| file | function | killed | timeout | survived | unviable |",
        "|---|---|---|---|---|---|",
    ]
    by_function: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in runs:
        by_function[(r["file"], r["function"])][r["outcome"]] += 1
    for (file, function), c in sorted(by_function.items()):
        lines.append(f"| {file} | `{function}` | {c['killed']} | {c['timeout']} | {c['survived']} | {c['unviable']} |")
    lines += ["", "| mutant | outcome | suite | first failing test |", "|---|---|---|---|"]
    for r in runs:
        test = r["tests"][0] if r["tests"] else ""
        lines.append(f"| `{r['name']}` | {r['outcome']} | {r['suite'] or '—'} | `{test}` |" if test else
                     f"| `{r['name']}` | {r['outcome']} | {r['suite'] or '—'} | |")
    survivors = [r for r in runs if r["outcome"] == "survived"]
    if survivors:
        lines += ["", "## Survivors", ""]
        for r in survivors:
            lines += [f"### `{r['name']}`", "", "```diff", r["diff"].rstrip(), "```", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", default=",".join(DEFAULT_FILES),
                   help="comma-separated globs under engine/ to list mutants of")
    p.add_argument("--mutants", type=Path, help="a saved mutant list (JSON) instead of asking cargo-mutants")
    p.add_argument("--sample", type=int, help="run N mutants drawn at random (--seed) instead of all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--match", default="", help="only mutants whose name contains this")
    mutation.add_run_options(p, ORDER, DEFAULT_LIMIT_S, "mutant")
    p.add_argument("--list-only", action="store_true", help="write the mutant list and stop")
    p.add_argument("--out", type=Path, default=OUT, help="directory of the report")
    p.add_argument("extra", nargs="*", help="extra pytest arguments (after --)")
    args = p.parse_args(argv)
    # The suites run from the snapshot: a relative --out would put their logs there.
    args.out = args.out.resolve()

    files = [f for f in args.files.split(",") if f]
    if args.mutants:
        mutants = json.loads(args.mutants.read_text())
        selection = f"the mutants of {args.mutants.relative_to(REPO) if args.mutants.is_relative_to(REPO) else args.mutants}"
    else:
        mutants = list_mutants(files)
        selection = f"files {', '.join(files)}"
    mutants = [m for m in mutants if args.match in m["name"]]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mutants.json").write_text(json.dumps(mutants, indent=1) + "\n")
    print(f"{len(mutants)} mutants ({selection}); list in {args.out / 'mutants.json'}", flush=True)
    if args.list_only:
        return 0
    if args.sample is not None and args.sample < len(mutants):
        mutants = random.Random(args.seed).sample(mutants, args.sample)
        selection += f", a sample of {args.sample} (seed {args.seed})"
    commands = {s.name: s.command for s in suites(False, args.workers, args.state_sample, args.extra)}
    order = args.suites.split(",")
    if unknown := [s for s in order if s not in commands]:
        p.error(f"unknown suites: {', '.join(unknown)}")
    make_tree()
    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "selection": selection, "limit_s": args.limit,
              "workers": args.workers, "order": order, "mutants": []}
    for index, m in enumerate(mutants):
        report["mutants"].append(asdict(run_mutant(index, m, commands, order, args.limit, args.out)))
        (args.out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
        (args.out / "report.md").write_text(markdown(report))
    print("\n" + markdown(report), flush=True)
    return 0 if all(r["outcome"] != "survived" for r in report["mutants"]) else 1


if __name__ == "__main__":
    sys.exit(main())
