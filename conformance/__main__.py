"""Reproduce one conformance item outside pytest.

    python -m conformance fixture 'stExample/add11.json::add11[Cancun-d0g0v0]'  > block.json
    python -m conformance run 'test_state[stExample/add11.json::add11[Cancun-d0g0v0]-par]'
    python -m conformance mainnet 12244000 > block.json
    python -m conformance sweep [PATH ...] [-k EXPR] [--mode seq|par|both] [--workers N]
    python -m conformance run 'test_blockchain[ValidBlocks/bcExample/basefeeExample.json::basefeeExample_Cancun[Cancun]-par]'
    python -m conformance sweep --corpus blockchain [PATH ...]

`sweep` runs many cases (default: all, both modes) over worker processes, without
pytest, with the pytest runner's checks; see conformance/sweep.py and `sweep --help`.
A pytest item id (with its `test_state[...]` wrapper and `-seq`/`-par` suffix) is
accepted as is; the suffix picks the mode of `run`.
"""

from __future__ import annotations

import argparse
import re
import sys

from . import blocktests, checks, data, mainnet, statetests, sweep

_ITEM = re.compile(r"^(?:.*::)?test_state\[(?P<inner>.*)\]$")


def _parse_case_id(text: str) -> tuple[str, str | None]:
    """(case id, mode or None) from a case id or a pytest item id."""
    m = _ITEM.match(text.strip())
    text = m["inner"] if m else text.strip()
    for mode in ("seq", "par"):
        if text.endswith(f"]-{mode}"):
            return text[: -len(mode) - 1], mode
    return text, None


def _find_case(gst, case_id: str) -> statetests.StateCase:
    relpath = case_id.split("::", 1)[0]
    loader = statetests.CaseLoader(gst)
    for ref in statetests.index_file(loader.raw(relpath), relpath):
        if ref.id == case_id:
            return loader.case(ref)
    raise SystemExit(f"no case {case_id!r} in {relpath}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ethereum-tests", metavar="PATH")
    parser.add_argument("--mainnet-blocks", metavar="PATH")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fixture", help="print a state-test case's block fixture")
    p.add_argument("case")
    p = sub.add_parser("run", help="run a state-test case or a blockchain test (test_blockchain[...]) and "
                                   "print the verdict")
    p.add_argument("case")
    p.add_argument("--mode", choices=("seq", "par"))
    p.add_argument("--threads", type=int)
    p = sub.add_parser("mainnet", help="print a mainnet block's fixture")
    p.add_argument("number", type=int)
    p = sub.add_parser("sweep", help="run many state-test cases over worker processes, no pytest",
                       description=sweep.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sweep.add_arguments(p)
    args = parser.parse_args(argv)

    if args.command == "sweep":
        return sweep.main(args)

    if args.command == "mainnet":
        lookup = data.find_mainnet_blocks(args.mainnet_blocks)
        if lookup.path is None:
            raise SystemExit(lookup.describe_missing())
        print(mainnet.load_block(lookup.path, args.number).fixture_json)
        return 0

    if "test_blockchain[" in args.case:
        return _blockchain(args)

    lookup = data.find_state_tests(args.ethereum_tests)
    if lookup.path is None:
        raise SystemExit(lookup.describe_missing())
    case_id, mode = _parse_case_id(args.case)
    case = _find_case(lookup.path, case_id)
    if args.command == "fixture":
        print(case.fixture_json)
        return 0
    import blockstm

    mode = args.mode or mode or "seq"
    outcome = checks.execute(blockstm, case.fixture_json, mode, args.threads)
    failures = checks.check_state_case(case, mode, outcome)
    print("\n".join(failures) if failures else f"PASS {case_id} ({checks.MODE_NAMES[mode]})")
    return 1 if failures else 0


def _blockchain(args) -> int:
    """`run` (or `fixture`: the first block's) of a blockchain test, by its pytest item id."""
    lookup = data.find_blockchain_tests(args.ethereum_tests)
    if lookup.path is None:
        raise SystemExit(lookup.describe_missing())
    mode = next((m for m in ("seq", "par") if args.case.rstrip().endswith(f"-{m}]")), "seq")
    try:
        test = blocktests.find_test(lookup.path, args.case)
    except KeyError as exc:
        raise SystemExit(exc.args[0]) from None
    if args.command == "fixture":  # later blocks run on their parent's result: only the first is standalone
        import json

        first = next((p for p in test.plans if p.header is not None and p.parent_hash == test.genesis_hash), None)
        if first is None:
            raise SystemExit(f"{test.ref.id}: no block of it runs on genesis")
        print(json.dumps(test.fixture(first, with_pre=True)))
        return 0
    import blockstm

    mode = args.mode or mode
    outcome = test.run(blockstm, mode, args.threads)
    if outcome.failures:
        print("\n".join(outcome.failures))
        return 1
    if outcome.header_only:
        print(f"SKIP {test.ref.id} ({checks.MODE_NAMES[mode]}): {outcome.skip_reason()}")
        return 0
    print(f"PASS {test.ref.id} ({checks.MODE_NAMES[mode]}): {outcome.counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
