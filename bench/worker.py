"""One measurement in its own process: a fixture, a mode, a thread count.

    python -m bench.worker FIXTURE MODE THREADS WARMUP SAMPLES THRESHOLD

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


def measure(path: str, mode: str, threads: int | None, warmup: int, samples: int,
            threshold: int | None) -> dict:
    import blockstm

    with open(path, "rb") as fh:
        payload = fh.read()
    baseline_rss = _maxrss_bytes()  # interpreter + engine + the fixture's bytes

    def run():
        gc.collect()
        started = time.perf_counter_ns()
        res = blockstm.execute(payload, mode=mode, threads=threads, parallel_threshold=threshold)
        wall = time.perf_counter_ns() - started
        return res, wall

    for _ in range(warmup):
        res, _ = run()
        del res
    engine_ns, wall_ns, reexecutions, fallbacks = [], [], [], []
    first = None
    for _ in range(samples):
        res, wall = run()
        stats = dict(res.stats)
        engine_ns.append(stats["elapsed_ns"])
        wall_ns.append(wall)
        reexecutions.append(stats.get("reexecutions", 0))
        fallbacks.append(stats.get("fallback"))
        if first is None:
            first = {
                "state_root": res.state_root,
                "receipts_root": res.receipts_root,
                "gas_used": res.receipts[-1].cumulative_gas_used if res.receipts else 0,
                "stats": stats,
            }
        del res
    return {
        "engine_ns": engine_ns,
        "wall_ns": wall_ns,
        "reexecutions": reexecutions,
        "fallback": next((f for f in fallbacks if f), None),
        "baseline_rss_bytes": baseline_rss,
        "self_peak_rss_bytes": _maxrss_bytes(),
        **(first or {}),
    }


def main(argv: list[str]) -> int:
    path, mode, threads, warmup, samples, threshold = argv
    out = measure(
        path,
        mode,
        None if threads == "none" else int(threads),
        int(warmup),
        int(samples),
        None if threshold == "default" else int(threshold),
    )
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
