"""One measurement in its own process: a fixture, a mode, a thread count.

    python -m bench.worker FIXTURE MODE THREADS WARMUP SAMPLES THRESHOLD [bytes|dict]

MODE: sequential, parallel, parallel-bal (parallel mode given the block's access list,
`access_list=`: no speculation) or parallel-hint (Block-STM given a previous parallel
run's `dependencies` as `hint=`). The list or the hint is built once, as a builder would,
by a first run (sequential for the list, parallel at the same thread count and threshold
for the hint) before the warm-up runs and outside every timer.

Prints one JSON object on stdout. A process per measurement keeps one workload's
allocations (and the allocator's retained pages) out of the next one's peak RSS, which
the process reports itself (ru_maxrss) as it finishes.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time


def _maxrss_bytes() -> int:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


PHASES = ("parse_ns", "setup_ns", "execute_ns", "commit_ns", "root_ns")

# Worker mode -> the engine's mode.
MODES = {"sequential": "sequential", "parallel": "parallel", "parallel-bal": "parallel",
         "parallel-hint": "parallel"}


def _cpu_ns() -> int:
    # user + system time of this process, every thread (the engine's workers included).
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int((usage.ru_utime + usage.ru_stime) * 1e9)


def measure(path: str, mode: str, threads: int | None, warmup: int, samples: int,
            threshold: int | None, payload_kind: str = "bytes") -> dict:
    """`payload_kind`: the block as the fixture's JSON bytes, or as a dict (json.loads
    of them, before the clock starts: what a Python caller that builds blocks passes)."""
    import blockstm

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
    with open(path, "rb") as fh:
        payload = fh.read()
    if payload_kind == "dict":
        payload = json.loads(payload)
    baseline_rss = _maxrss_bytes()  # interpreter + engine + the fixture

    # The list or the hint, built once before anything is timed (a builder's first run).
    extra: dict = {}
    listed: dict | None = None
    if mode == "parallel-bal":
        started = time.perf_counter_ns()
        first_run = blockstm.execute(payload, mode="sequential")
        # RLP bytes: the form a block body carries (EIP-7928).
        extra["access_list"] = first_run.block_access_list_rlp
        listed = {"kind": "access_list", "built_by": "sequential", "form": "rlp",
                  "bytes": len(extra["access_list"]), "hash": first_run.block_access_list_hash,
                  "build_ns": time.perf_counter_ns() - started}
        threshold = None  # ignored by the engine on this path
        del first_run
    elif mode == "parallel-hint":
        started = time.perf_counter_ns()
        first_run = blockstm.execute(payload, mode="parallel", threads=threads, parallel_threshold=threshold)
        extra["hint"] = first_run.dependencies
        first_stats = dict(first_run.stats)
        listed = {"kind": "dependencies", "built_by": f"parallel t={threads}",
                  "edges": sum(len(d) for d in extra["hint"]),
                  "dependent_txs": sum(1 for d in extra["hint"] if d),
                  "build_reexecutions": first_stats.get("reexecutions", 0),
                  "build_fallback": first_stats.get("fallback"),
                  "build_ns": time.perf_counter_ns() - started}
        del first_run
    engine_mode = MODES[mode]

    def run():
        gc.collect()
        cpu = _cpu_ns()
        started = time.perf_counter_ns()
        res = blockstm.execute(payload, mode=engine_mode, threads=threads, parallel_threshold=threshold,
                               **extra)
        wall = time.perf_counter_ns() - started
        return res, wall, _cpu_ns() - cpu

    def materialise(res) -> int:
        # Everything a result holds, as Python objects.
        started = time.perf_counter_ns()
        objects = (res.receipts, res.post_state, res.tx_changes)
        took = time.perf_counter_ns() - started
        del objects
        return took

    for _ in range(warmup):
        res, _, _ = run()
        del res
    engine_ns, wall_ns, cpu_ns, result_ns, reexecutions, fallbacks, uses = [], [], [], [], [], [], []
    phases: dict[str, list[int]] = {k: [] for k in PHASES}
    first = None
    for _ in range(samples):
        res, wall, cpu = run()
        stats = dict(res.stats)
        engine_ns.append(stats["elapsed_ns"])
        wall_ns.append(wall)
        cpu_ns.append(cpu)
        for k in PHASES:
            phases[k].append(stats.get(k, 0))
        reexecutions.append(stats.get("reexecutions", 0))
        fallbacks.append(stats.get("fallback"))
        uses.append(stats.get("access_list"))
        result_ns.append(materialise(res))
        if first is None:
            first = {
                "state_root": res.state_root,
                "receipts_root": res.receipts_root,
                "gas_used": res.receipts[-1].cumulative_gas_used if res.receipts else 0,
                "stats": stats,
            }
        del res
    return {
        "payload": payload_kind,
        "engine_ns": engine_ns,
        "wall_ns": wall_ns,
        "cpu_ns": cpu_ns,
        "result_ns": result_ns,
        "phases_ns": phases,
        "reexecutions": reexecutions,
        "fallback": next((f for f in fallbacks if f), None),
        # stats["access_list"] of every sample: "validated", "hint" or None.
        "access_list": uses,
        "listed": listed,
        "baseline_rss_bytes": baseline_rss,
        "self_peak_rss_bytes": _maxrss_bytes(),
        **(first or {}),
    }


def main(argv: list[str]) -> int:
    path, mode, threads, warmup, samples, threshold, *rest = argv
    out = measure(
        path,
        mode,
        None if threads == "none" else int(threads),
        int(warmup),
        int(samples),
        None if threshold == "default" else int(threshold),
        rest[0] if rest else "bytes",
    )
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
