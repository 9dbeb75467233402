"""Replay stored counterexamples: ``python -m properties.replay FILE.json [...]``.

Each file names the property it broke (``_property``); prints the problems found
(nothing when the property now holds) and exits 1 if any file still fails.
``--repeats N`` sets how many parallel schedules are tried per thread count.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .checks import replay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m properties.replay", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args(argv)
    failed = 0
    for path in args.files:
        fixture = json.loads(path.read_text())
        problems = replay(fixture, repeats=args.repeats)
        status = "FAIL" if problems else "ok"
        print(f"{status}  {path}  ({fixture.get('_property')})")
        for line in problems:
            print(f"      {line}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
