"""python -m generators <family> --txs N [--seed S] [-o file] [--pattern P] [-k key=value ...]"""

from __future__ import annotations

import argparse
import json
import sys

from . import FAMILIES, build


def _parse_value(text: str):
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(text.replace("_", ""))
        except ValueError:
            pass
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generators", description="Write a block fixture (JSON).")
    parser.add_argument("family", choices=sorted(FAMILIES))
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--txs", type=int, help="number of transactions")
    size.add_argument("--gas", type=lambda s: int(float(s)), help="gas target, e.g. 1e9 (sets --txs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pattern", help="conflict pattern (family-specific; beneficiary: its mode)")
    parser.add_argument("-k", "--knob", action="append", default=[], metavar="KEY=VALUE",
                        help="any other family knob, e.g. -k chain_length=16 -k every=3")
    parser.add_argument("-o", "--output", help="output file (default: stdout)")
    args = parser.parse_args(argv)

    knobs = {}
    for item in args.knob:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"knob {item!r} is not KEY=VALUE")
        knobs[key.replace("-", "_")] = _parse_value(value)
    if args.pattern:
        knobs["mode" if args.family == "beneficiary" else "pattern"] = args.pattern
        if args.family == "small":
            knobs["kind"] = knobs.pop("pattern")
    if args.txs is None and args.gas is None and not knobs.get("families"):
        parser.error("give --txs or --gas")
    try:
        fixture = build(args.family, args.txs, args.seed, gas=args.gas, **knobs).fixture
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    text = json.dumps(fixture, separators=(",", ":"))
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
            f.write("\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
