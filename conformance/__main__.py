"""Reproduce one conformance item outside pytest.

    python -m conformance fixture 'stExample/add11.json::add11[Cancun-d0g0v0]'  > block.json
    python -m conformance run 'test_state[stExample/add11.json::add11[Cancun-d0g0v0]-par]'
    python -m conformance mainnet 12244000 > block.json
    python -m conformance sweep [PATH ...] [-k EXPR] [--mode seq|par|both] [--workers N]

`sweep` runs many cases (default: all, both modes) over worker processes, without
pytest, with the pytest runner's checks; see conformance/sweep.py and `sweep --help`.
A pytest item id (with its `test_state[...]` wrapper and `-seq`/`-par` suffix) is
accepted as is; the suffix picks the mode of `run`.
"""

from __future__ import annotations

import argparse
import re
import sys

from . import checks, data, mainnet, statetests, sweep

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
    p = sub.add_parser("run", help="run a state-test case and print the verdict")
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


if __name__ == "__main__":
    sys.exit(main())
