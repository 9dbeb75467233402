"""Benchmark harness: every workload sequentially and in parallel at 1, 2, ..., cores and
2 x cores threads — Block-STM, parallel with the block's access list (EIP-7928), and
Block-STM with a previous run's dependencies as a hint; results as JSON, a Markdown table
and PNG plots (docs/benchmarks.md).

    python -m bench.run                    # 1-gigagas blocks + the mainnet blocks, 10 samples
    python -m bench.run --quick            # small blocks, 3 samples: a smoke test
    python -m bench.run --gas 1e8 --workloads transfers,amm --samples 5
    python -m bench.run --rust             # also the Rust benchmark (sequential vs bare revm)
    python -m bench.run --no-listed        # without the BAL and hint columns
    python -m bench.run --modes parallel-bal --threads 2

Each (workload, mode, threads) runs in its own subprocess (bench/worker.py): warm-up
runs, then the samples; the engine's own timer (stats["elapsed_ns"]) and the end-to-end
time of blockstm.execute() from Python; the subprocess's peak RSS (its own ru_maxrss,
reported as it finishes: RUSAGE_CHILDREN would be a maximum over every child so far).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import workloads as wl

REPO_ROOT = wl.REPO_ROOT
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCHEMA = 1

QUICK_TXS_GAS = 2_000_000  # ~95 transfers, ~20 swaps: enough to spawn real conflicts
QUICK_MAINNET_BLOCKS = 2

# Measured modes, in table order (bench/worker.py). Each but sequential runs at every
# thread count. "Listed": given what a first run of the block produced — its access list
# (parallel-bal) or its dependencies (parallel-hint).
MODES = ("sequential", "parallel", "parallel-bal", "parallel-hint")
LISTED_MODES = ("parallel-bal", "parallel-hint")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_threads() -> list[int]:
    n = cores()
    return list(range(1, n + 1)) + [2 * n]


def summarise(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)} if values else {}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "cores": cores(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_bytes"] = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    return info


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--", "engine"))}


def run_worker(path: Path, mode: str, threads: int | None, warmup: int, samples: int,
               threshold: int | None, timeout: float, payload: str = "bytes") -> dict[str, Any]:
    """Runs one measurement subprocess and folds in its summary."""
    cmd = [sys.executable, "-m", "bench.worker", str(path), mode,
           "none" if threads is None else str(threads), str(warmup), str(samples),
           "default" if threshold is None else str(threshold), payload]
    load_before = os.getloadavg()
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"error": f"timed out after {timeout:.0f} s", "loadavg_before": load_before,
                "loadavg_after": os.getloadavg()}
    record: dict[str, Any] = {
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "process_seconds": time.monotonic() - started,
    }
    if proc.returncode != 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-5:]
        record["error"] = " | ".join(tail) or f"exit code {proc.returncode}"
        return record
    out = json.loads(stdout)
    record.update(out)
    record["peak_rss_bytes"] = out["self_peak_rss_bytes"]
    record["engine_ms"] = summarise([ns / 1e6 for ns in out["engine_ns"]])
    record["wall_ms"] = summarise([ns / 1e6 for ns in out["wall_ns"]])
    record["cpu_ms"] = summarise([ns / 1e6 for ns in out["cpu_ns"]])
    record["result_ms"] = summarise([ns / 1e6 for ns in out["result_ns"]])
    record["phases_ms"] = {k.removesuffix("_ns"): summarise([ns / 1e6 for ns in v])
                           for k, v in out["phases_ns"].items()}
    return record


def _listed_note(run: dict[str, Any]) -> str:
    """What a listed mode was given, for the progress line."""
    listed = run.get("listed") or {}
    if listed.get("kind") == "access_list":
        return f"   list {listed['bytes']:,} B, {(run.get('access_list') or ['?'])[0]}"
    if listed.get("kind") == "dependencies":
        return f"   hint {listed['edges']:,} deps ({listed['build_reexecutions']} re-exec to build)"
    return ""


def measure_workload(prep: wl.Prepared, configs: list[tuple[str, int | None]], args) -> dict[str, Any]:
    entry = prep.describe()
    entry["runs"] = []
    for mode, threads in configs:
        label = f"{prep.name} {mode}" + (f" t={threads}" if threads is not None else "")
        print(f"  {label:<40}", end="", flush=True)
        # The access-list path ignores parallel_threshold: passed as None (the engine default).
        threshold = None if mode == "parallel-bal" else args.parallel_threshold
        run = run_worker(prep.path, mode, threads, args.warmup, args.samples, threshold, args.timeout)
        run["mode"], run["threads"] = mode, threads
        entry["runs"].append(run)
        if "error" in run:
            print(f"ERROR {run['error']}")
        else:
            print(f"engine {run['engine_ms']['median']:10.2f} ms   wall {run['wall_ms']['median']:10.2f} ms   "
                  f"re-exec {statistics.median(run['reexecutions']):>7.0f}   "
                  f"rss {run['peak_rss_bytes'] / 2**20:7.0f} MiB   load {run['loadavg_before'][0]:.2f}"
                  + _listed_note(run))
    if prep.kind == "generated" and not args.no_dict:
        # The same block handed over as a dict (sequential): the Python caller's path.
        print(f"  {prep.name + ' sequential (dict in)':<40}", end="", flush=True)
        run = run_worker(prep.path, "sequential", None, args.warmup, args.samples, None, args.timeout, "dict")
        entry["dict_run"] = run
        print(f"ERROR {run['error']}" if "error" in run else
              f"engine {run['engine_ms']['median']:10.2f} ms   wall {run['wall_ms']['median']:10.2f} ms")
    ok = [r for r in entry["runs"] if "error" not in r]
    entry["gas_used"] = ok[0]["gas_used"] if ok else None
    roots = {(r.get("state_root"), r.get("receipts_root")) for r in ok}
    # A benchmark of a wrong result is meaningless: every configuration must agree.
    entry["results_agree"] = len(roots) <= 1
    if not entry["results_agree"]:
        print(f"  !! {prep.name}: configurations disagree on the state/receipts root")
    return entry


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help=f"small blocks ({QUICK_TXS_GAS / 1e6:g} Mgas, {QUICK_MAINNET_BLOCKS} small mainnet "
                        "blocks), 3 samples, no warm-up: a smoke test")
    p.add_argument("--gas", type=float, default=None, help="gas per generated block (default 1e9)")
    p.add_argument("--samples", type=int, default=None, help="timed runs per configuration (default 10)")
    p.add_argument("--warmup", type=int, default=None, help="untimed runs first (default 1)")
    p.add_argument("--threads", default=None,
                   help="parallel thread counts, comma-separated (default 1..cores and 2 x cores)")
    p.add_argument("--workloads", default=None,
                   help=f"comma-separated: {', '.join(wl.BY_NAME)}, mainnet, or 'all' "
                        f"(default {','.join(wl.DEFAULT_NAMES)})")
    p.add_argument("--mainnet-blocks", default=None, help="folder of mainnet blocks (default: as conformance finds it)")
    p.add_argument("--mainnet-limit", type=int, default=None, help="only the N smallest mainnet blocks")
    p.add_argument("--modes", default=",".join(MODES),
                   help=f"comma-separated modes to measure, of {', '.join(MODES)} (default all; "
                        "sequential, the baseline of every speedup, always runs)")
    p.add_argument("--no-listed", action="store_true",
                   help=f"leave out {' and '.join(LISTED_MODES)} (parallel with the block access list, "
                        "with a dependencies hint)")
    p.add_argument("--parallel-threshold", default="0",
                   help="parallel_threshold passed to the engine: an int, or 'default' (default 0: always Block-STM)")
    p.add_argument("--statistic", choices=("median", "min"), default="median",
                   help="which sample the table shows (min resists a loaded machine); the JSON keeps all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=3600, help="seconds per measurement subprocess")
    p.add_argument("--out", default=str(RESULTS_DIR), help="results folder (default bench/results)")
    p.add_argument("--name", default=None, help="file stem of the results (default <date>-<host>)")
    p.add_argument("--rust", action="store_true",
                   help="also run engine/benches/execute.rs (criterion) on the generated fixtures")
    p.add_argument("--rust-manifest", default=str(REPO_ROOT / "bench" / "engine" / "Cargo.toml"))
    p.add_argument("--rust-profile", default="bench-lto", help="cargo profile of the Rust benchmark")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--no-dict", action="store_true",
                   help="skip the sequential run of each generated block handed over as a dict")
    args = p.parse_args(argv)
    args.gas = int(args.gas) if args.gas is not None else (QUICK_TXS_GAS if args.quick else wl.GIGAGAS)
    args.samples = args.samples if args.samples is not None else (3 if args.quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (0 if args.quick else 1)
    if args.mainnet_limit is None and args.quick:
        args.mainnet_limit = QUICK_MAINNET_BLOCKS
    args.thread_counts = ([int(t) for t in args.threads.split(",")] if args.threads else default_threads())
    args.parallel_threshold = None if args.parallel_threshold == "default" else int(args.parallel_threshold)
    names = args.workloads.split(",") if args.workloads else wl.DEFAULT_NAMES
    if names == ["all"]:
        names = list(wl.BY_NAME) + ["mainnet"]
    unknown = [n for n in names if n not in wl.BY_NAME and n != "mainnet"]
    if unknown:
        p.error(f"unknown workloads {unknown}; known: {', '.join(wl.BY_NAME)}, mainnet")
    args.names = names
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        p.error(f"unknown modes {unknown}; known: {', '.join(MODES)}")
    if args.no_listed:
        modes = [m for m in modes if m not in LISTED_MODES]
    args.modes = [m for m in MODES if m in modes or m == "sequential"]
    return args


def results_stem(out_dir: Path, name: str | None) -> Path:
    if name:
        return out_dir / name
    host = socket.gethostname().split(".")[0] or "host"
    stem = out_dir / f"{dt.date.today().isoformat()}-{host}"
    n = 2
    candidate = stem
    while candidate.with_suffix(".json").exists():
        candidate = stem.with_name(f"{stem.name}-{n}")
        n += 1
    return candidate


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = results_stem(out_dir, args.name)

    configs: list[tuple[str, int | None]] = [("sequential", None)]
    configs += [(mode, t) for mode in args.modes if mode != "sequential" for t in args.thread_counts]

    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "git": git_state(),
        "options": {
            "quick": args.quick, "gas": args.gas, "samples": args.samples, "warmup": args.warmup,
            "threads": args.thread_counts, "parallel_threshold": args.parallel_threshold,
            "modes": args.modes,
            "statistic": args.statistic,
            "seed": args.seed, "workloads": args.names, "mainnet_limit": args.mainnet_limit,
            "command": " ".join([Path(sys.executable).name, "-m", "bench.run", *(argv if argv is not None else sys.argv[1:])]),
        },
        "loadavg_start": os.getloadavg(),
        "workloads": [],
    }
    print(f"bench: {doc['machine'].get('cpu_model', '?')}, {cores()} cores, load {os.getloadavg()[0]:.2f}; "
          f"{args.samples} samples, warm-up {args.warmup}, threads {args.thread_counts}, "
          f"modes {', '.join(args.modes)}")

    started = time.monotonic()
    for name in args.names:
        if name == "mainnet":
            continue
        workload = wl.BY_NAME[name]
        t0 = time.monotonic()
        prep = wl.prepare_generated(workload, args.gas, args.seed)
        print(f"{prep.name}: {prep.txs} txs, fixture {prep.fixture_bytes / 2**20:.1f} MiB "
              f"(ready in {time.monotonic() - t0:.1f} s)")
        doc["workloads"].append(measure_workload(prep, configs, args))

    if "mainnet" in args.names:
        from conformance.data import find_mainnet_blocks

        lookup = find_mainnet_blocks(args.mainnet_blocks)
        if lookup.path is None:
            print(lookup.describe_missing())
            doc["mainnet_missing"] = lookup.describe_missing()
        else:
            numbers = (wl.smallest_mainnet(lookup.path, args.mainnet_limit) if args.mainnet_limit
                       else wl.mainnet_numbers(lookup.path))
            print(f"mainnet: {len(numbers)} blocks from {lookup.path}")
            for number in numbers:
                prep = wl.prepare_mainnet(lookup.path, number)
                doc["workloads"].append(measure_workload(prep, configs, args))

    if args.rust:
        from . import rust

        fixtures = [Path(w["path"]) for w in doc["workloads"] if w["kind"] == "generated"]
        doc["rust"] = rust.run(fixtures, args.thread_counts, args.samples, Path(args.rust_manifest),
                               args.rust_profile)

    doc["loadavg_end"] = os.getloadavg()
    doc["seconds"] = time.monotonic() - started

    from . import report

    doc["summary"] = report.summarise_doc(doc)
    json_path = stem.with_suffix(".json")
    json_path.write_text(json.dumps(doc, indent=1) + "\n")
    table = report.markdown(doc)
    stem.with_suffix(".md").write_text(table)
    if not args.no_plots:
        for png in report.plots(doc, stem):
            print(f"plot: {png}")
    print()
    print(table)
    print(f"results: {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
