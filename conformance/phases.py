"""Where a conformance sweep's time goes: the state-test cases run in this one process,
sequential mode, with the engine's phase timers summed (docs/conformance.md, Speed).

    python -m conformance.phases                   # revme's case set, every case
    python -m conformance.phases --step 4 --top 20 # every 4th case; the 20 slowest

Prints the Python side (building each case's fixture, judging the outcome), the engine
call's wall time, and inside it the engine's own phases (stats: parse_ns, setup_ns,
elapsed_ns = execution, root_ns), then the slowest cases by execution time.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time

from . import checks, data, sweep
from .statetests import CaseLoader, load_index

PHASES = (("parse_ns", "parse"), ("setup_ns", "set-up"), ("elapsed_ns", "execution"), ("root_ns", "roots"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m conformance.phases", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--step", type=int, default=1, help="every STEP-th case (default 1: all)")
    p.add_argument("--all-cases", action="store_true", help="every case, not only revme's set")
    p.add_argument("--top", type=int, default=10, help="slowest cases to list")
    args = p.parse_args(argv)
    if args.step < 1:
        p.error("--step must be at least 1")
    import blockstm

    gst = data.find_state_tests().path
    if gst is None:
        print("no GeneralStateTests folder found", file=sys.stderr)
        return 2
    items = sweep.select(load_index(gst), modes=("seq",), revme_set=not args.all_cases)[::args.step]
    loader = CaseLoader(gst, max_files=1)
    seconds: collections.Counter[str] = collections.Counter()
    slowest = []
    started = time.perf_counter()
    for ref, mode in items:
        t0 = time.perf_counter()
        case = loader.case(ref)
        t1 = time.perf_counter()
        outcome = checks.execute(blockstm, case.fixture_json, mode, None)
        t2 = time.perf_counter()
        checks.check_state_case(case, mode, outcome)
        seconds["fixtures built (Python)"] += t1 - t0
        seconds["engine call"] += t2 - t1
        seconds["outcome judged (Python)"] += time.perf_counter() - t2
        if outcome.result is not None:
            stats = outcome.result.stats
            for key, name in PHASES:
                seconds[f"  {name}"] += stats[key] / 1e9
            slowest.append((stats["elapsed_ns"] / 1e9, ref.id))
    total = time.perf_counter() - started
    print(f"{len(items)} cases in {total:.2f} s (one process, sequential mode)")
    for name in ("fixtures built (Python)", "engine call", *(f"  {n}" for _, n in PHASES),
                 "outcome judged (Python)"):
        print(f"  {name:<28} {seconds[name]:8.2f} s")
    slowest.sort(reverse=True)
    print(f"slowest {args.top} by execution:")
    for s, case_id in slowest[:args.top]:
        print(f"  {s:7.3f} s  {case_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
