"""The ``blockstm`` command (also ``python -m blockstm``).

    blockstm run block.json [--mode parallel --threads 4] [--json]
    blockstm rpc block.json --prestate trace.json [--chain-id 1]
    blockstm statetest PATH ...        # ethereum/tests state tests, like `revme statetest`
    blockstm blocktest [PATH ...]      # ethereum/tests BlockchainTests: whole blocks, chained

Exit status: 0 the block executed (and, for ``rpc``, matched its header; for
``statetest``, every case passed); 1 the block was rejected (a malformed fixture, an
invalid transaction), did not match its header, or a case failed; 2 bad usage or an
unreadable file; 3 an engine fault (a bug: please report it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from . import (MODES, STATS_KEYS, BlockResult, EngineError, FixtureError, InvalidBlock, InvalidTransaction, __version__,
               execute)
from . import rpc as rpc_module


class Failure(Exception):
    """Ends the command with a one-line message and an exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _read(path: str, what: str) -> bytes:
    """A file's bytes, or stdin's for ``-``."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise Failure(f"{what} {path}: {exc.strerror or exc}", 2) from None


def _count(least: int, what: str):
    """An argparse type: an int of at least ``least``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least:
            raise argparse.ArgumentTypeError(f"expected a {what} integer, got {text!r}")
        return value
    return parse


_positive = _count(1, "positive")
_non_negative = _count(0, "non-negative")


def _execute(fixture: Any, args: argparse.Namespace, source: str) -> BlockResult:
    """Runs the block; a rejection becomes a one-line Failure naming the path or index and kind."""
    lists = {}
    for name in ("access_list", "hint"):
        path = getattr(args, name, None)
        if path:
            try:
                raw = Path(path).read_bytes()
            except OSError as exc:
                raise Failure(f"{path}: cannot read the {name.replace('_', ' ')}: {exc.strerror}", 2) from None
            # JSON (the form --write-access-list writes) or raw RLP bytes.
            lists[name] = raw.decode() if raw.lstrip()[:1] in (b"[", b"{") else raw
    try:
        return execute(fixture, args.mode, args.threads, parallel_threshold=args.parallel_threshold, **lists)
    except InvalidBlock as exc:  # an access list execution contradicts included
        raise Failure(f"{source}: {exc}", 1) from None
    except FixtureError as exc:
        raise Failure(f"{source}: invalid fixture: {exc}", 1) from None
    except InvalidTransaction as exc:
        raise Failure(f"{source}: {exc}", 1) from None  # "transaction <index> is invalid (<kind>): …"
    except EngineError as exc:
        raise Failure(f"{source}: engine error (a bug, please report it): {exc}", 3) from None


def result_json(res: BlockResult) -> dict:
    """Receipts, roots and stats as JSON values (hex strings for bytes)."""
    return {
        "receipts": [
            {"status": r.status, "gasUsed": r.gas_used, "cumulativeGasUsed": r.cumulative_gas_used, "type": r.tx_type,
             "contractAddress": r.contract_address, "logsBloom": r.logs_bloom, "postStateRoot": r.post_state_root,
             "logs": [{"address": log.address, "topics": log.topics, "data": "0x" + log.data.hex()} for log in r.logs]}
            for r in res.receipts
        ],
        "gasUsed": res.gas_used,
        "stateRoot": res.state_root,
        "receiptsRoot": res.receipts_root,
        "logsBloom": res.logs_bloom,
        "logsHash": res.logs_hash,
        "blockAccessListHash": res.block_access_list_hash,
        "stats": res.stats,
    }


def result_table(res: BlockResult) -> list[str]:
    """The readable report: one line per receipt, the roots, the stats with their meaning."""
    lines = [f"{'tx':>4}  {'status':<8}{'gas used':>12}{'cumulative':>13}{'type':>6}{'logs':>6}  contract"]
    for i, r in enumerate(res.receipts):
        lines.append(f"{i:>4}  {'ok' if r.status else 'failed':<8}{r.gas_used:>12}{r.cumulative_gas_used:>13}"
                     f"{r.tx_type:>6}{len(r.logs):>6}  {r.contract_address or '-'}")
    if not res.receipts:
        lines.append("   (no transactions)")
    bloom = res.logs_bloom
    bloom = "0x00…00 (no logs)" if not int(bloom, 16) else f"{bloom[:34]}… (256 bytes: --json has it whole)"
    lines += ["", f"state root     {res.state_root}", f"receipts root  {res.receipts_root}",
              f"logs hash      {res.logs_hash}", f"logs bloom     {bloom}",
              f"access list    {res.block_access_list_hash} ({len(res.block_access_list)} accounts, EIP-7928)",
              "", "stats"]
    for key, value in res.stats.items():
        meaning = STATS_KEYS.get(key, "")
        if len(str(value)) < 14:
            lines.append(f"  {key:<20}{str(value):<14}{meaning}")
        else:  # a long value (a fallback's reason) on its own line
            lines += [f"  {key:<20}{value}", f"  {'':<34}{meaning}"]
    return lines


def _report(res: BlockResult, args: argparse.Namespace, extra: dict | None = None, notes: Sequence[str] = ()) -> None:
    if args.post_state:
        Path(args.post_state).write_text(json.dumps(res.post_state_fixture(), indent=1) + "\n")
    if getattr(args, "write_access_list", None):
        Path(args.write_access_list).write_text(json.dumps(res.block_access_list, indent=1) + "\n")
    if args.json:
        print(json.dumps({**result_json(res), **(extra or {})}, indent=1))
    else:
        print("\n".join([*result_table(res), *notes]))


def cmd_run(args: argparse.Namespace) -> int:
    source = "stdin" if args.fixture == "-" else args.fixture
    res = _execute(_read(args.fixture, "fixture"), args, source)
    _report(res, args)
    return 0


def cmd_rpc(args: argparse.Namespace) -> int:
    block = _read(args.block, "block")
    try:
        hashes = json.loads(_read(args.block_hashes, "block hashes")) if args.block_hashes else None
        diff = _read(args.prestate_diff, "prestate diff") if args.prestate_diff else None
        fixture = rpc_module.from_rpc(block, _read(args.prestate, "prestate"), prestate_diff=diff,
                                      block_hashes=hashes, chain_id=args.chain_id, fork=args.fork)
        header = rpc_module.expected_header(block)
    except FixtureError as exc:  # its path starts with the input it is about
        source = args.prestate_diff if exc.path.startswith("prestate_diff") else \
            args.prestate if exc.path.startswith("prestate") else \
            args.block_hashes if exc.path.startswith("block_hashes") else args.block
        raise Failure(f"{source}: {exc}", 1) from None
    except ValueError as exc:  # a block_hashes file that is not JSON
        raise Failure(f"{args.block_hashes}: {exc}", 1) from None
    if args.fork:
        header["fork"] = args.fork
    res = _execute(fixture, args, args.block)
    mismatches = rpc_module.header_mismatches(res, **header)
    checked = ["gasUsed", "logsBloom"] + (["receiptsRoot"] if rpc_module.fork_at_least(header["fork"], "Byzantium")
                                          else [])
    notes = ["", f"block {fixture['_block']} ({fixture['fork']}), header: "
             + (", ".join(f"{name} matches" for name in checked) if not mismatches else "MISMATCH")]
    notes += [f"  {line}" for line in mismatches]
    if "receiptsRoot" not in checked:
        notes.append("  receiptsRoot not checked: before Byzantium receipts embed intermediate state roots")
    _report(res, args, {"block": fixture["_block"], "fork": fixture["fork"],
                        "header": {"checked": checked, "mismatches": mismatches}}, notes)
    return 1 if mismatches else 0


def _conformance_sweep():
    """conformance.sweep of a repository checkout: importable already (run from the
    checkout), or found above this package (an editable install, `make setup`; a build
    installed inside the checkout, as the mutation run's), or in the current folder."""
    try:
        from conformance import sweep
        return sweep
    except ImportError:
        pass
    here = Path(__file__).resolve()
    for root in (*here.parents[1:], Path.cwd()):
        if (root / "conformance" / "sweep.py").is_file():
            sys.path.insert(0, str(root))
            from conformance import sweep
            return sweep
    return None


def _add_execution_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=MODES, default="sequential", help="executor (default: sequential)")
    p.add_argument("--threads", type=_positive, metavar="N",
                   help="worker threads in parallel mode (default: every core)")
    p.add_argument("--parallel-threshold", type=_non_negative, metavar="N",
                   help="parallel mode: blocks below N transactions run sequentially; any value forces "
                        "Block-STM above it (default: the engine's rule, docs/engine.md)")
    p.add_argument("--json", action="store_true", help="print receipts, roots and stats as JSON")
    p.add_argument("--post-state", metavar="FILE",
                   help="write the post-state as a fixture's `pre` (the next block's pre-state) to FILE")
    p.add_argument("--write-access-list", metavar="FILE",
                   help="write the block's EIP-7928 access list (JSON, as eth_getBlockAccessList) to FILE")
    lists = p.add_mutually_exclusive_group()
    lists.add_argument("--access-list", metavar="FILE",
                       help="the block's access list (JSON or RLP): parallel mode executes from it, both modes "
                            "reject the block if execution contradicts it (exit 1)")
    lists.add_argument("--hint", metavar="FILE",
                       help="an access list of unknown quality (JSON or RLP): a scheduling hint, never a verdict")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="blockstm", description="Execute Ethereum blocks with Block-STM on revm, sequentially or in parallel.",
        epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"blockstm {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="execute a block fixture", formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Execute a block fixture (docs/block-fixture.md) and print its receipts,\n"
                                   "roots and stats. A malformed fixture or an invalid transaction is one line on\n"
                                   "stderr (the JSON path; the transaction's index and kind) and exit status 1.",
                       epilog="examples:\n  blockstm run block.json\n  blockstm run block.json --mode parallel "
                              "--threads 4 --json\n  python -m conformance mainnet 12244000 | blockstm run -")
    p.add_argument("fixture", metavar="FIXTURE", help="a block fixture JSON file; - reads stdin")
    _add_execution_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "rpc", help="execute a block as a node gives it and check it against its header",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Execute an eth_getBlockByNumber(N, true) block on the pre-state a prestateTracer\n"
                    "gives, and check gasUsed, logsBloom and (from Byzantium on) receiptsRoot against\n"
                    "the block's header (the state root needs the full state: not checked).",
        epilog="--prestate takes the result of\n"
               "  debug_traceBlockByNumber(N, {\"tracer\": \"prestateTracer\"})   (default mode, diffMode false)\n"
               "a list of {txHash, result}; each transaction's reads are merged, the first read of an account\n"
               "or slot wins. An alloc {address: {balance, nonce, code, storage}} (as in ethereum/tests, or\n"
               "a single debug_traceTransaction result) is taken as given. JSON-RPC responses\n"
               "({jsonrpc, id, result}) are unwrapped. diffMode output alone does not apply: its pre lacks\n"
               "the accounts a transaction only read. But an account a transaction creates shows up, with its\n"
               "code, in the default-mode pre-state of a later transaction that reads it; --prestate-diff\n"
               "(the same trace with {\"diffMode\": true}) says which accounts were created, so they are\n"
               "left out. Without it such a block's creation collides, and the header check fails.\n"
               "The fork follows mainnet's schedule unless --fork.\n\n"
               "example:\n  blockstm rpc block.json --prestate trace.json --mode parallel")
    p.add_argument("block", metavar="BLOCK", help="eth_getBlockByNumber(N, true) JSON file; - reads stdin")
    p.add_argument("--prestate", required=True, metavar="FILE", help="prestateTracer result or alloc JSON file")
    p.add_argument("--prestate-diff", metavar="FILE",
                   help="the same block traced with diffMode true: needed when a transaction creates an "
                        "account a later one reads")
    p.add_argument("--block-hashes", metavar="FILE", help="{number: hash} JSON file for BLOCKHASH")
    p.add_argument("--chain-id", type=_non_negative, default=1, metavar="ID", help="chain id (default 1)")
    p.add_argument("--fork", choices=rpc_module._forks(), metavar="FORK",
                   help=f"fork to run under: {', '.join(rpc_module._forks())} (default: mainnet's schedule)")
    _add_execution_options(p)
    p.set_defaults(func=cmd_rpc)

    sweep = _conformance_sweep()
    if sweep is not None:
        p = sub.add_parser("statetest", help="run ethereum/tests state tests (files or folders), like revme statetest",
                           description="Run ethereum/tests GeneralStateTests cases with the conformance suite's\n"
                                       "checks (post-state root, logs hash, the exception kind of an invalid\n"
                                       "transaction) over worker processes, without pytest. It is\n"
                                       "`python -m conformance sweep` (conformance/sweep.py), from the repository\n"
                                       "checkout: the conformance package is not in the wheel.",
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog="examples:\n  blockstm statetest path/to/add11.json\n"
                                  "  blockstm statetest stExample --mode seq\n"
                                  "  blockstm statetest --revme-set --mode seq --workers 2")
        sweep.add_arguments(p)
        p.set_defaults(func=lambda args: sweep.main(args))
        p = sub.add_parser("blocktest", help="run ethereum/tests BlockchainTests (chains of whole blocks)",
                           description="Run ethereum/tests BlockchainTests with the conformance suite's checks:\n"
                                       "each block on its parent's result, with its rewards, withdrawals and\n"
                                       "system calls, against its header's gasUsed, logsBloom, receiptTrie and\n"
                                       "stateRoot; invalid blocks rejected. It is `python -m conformance sweep\n"
                                       "--corpus blockchain`, from the repository checkout.",
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog="examples:\n  blockstm blocktest\n  blockstm blocktest -k bcUncleTest --mode par")
        sweep.add_arguments(p)
        p.set_defaults(func=lambda args: sweep.main(args), corpus="blockchain")
    else:
        p = sub.add_parser("statetest", help="run ethereum/tests state tests (needs a blockstm repository checkout)",
                           description="Needs the conformance package of a blockstm repository checkout.")
        p.add_argument("paths", nargs="*", metavar="PATH")
        p.set_defaults(func=_no_conformance)
    return top


def _no_conformance(args: argparse.Namespace) -> int:
    raise Failure("statetest needs the conformance package of a blockstm repository checkout (it is not in the "
                  "wheel): run it from the checkout, or there: python -m conformance sweep PATH", 2)


def main(argv: Sequence[str] | None = None) -> int:
    top = parser()
    args = top.parse_args(argv)
    if args.command in ("run", "rpc") and args.mode != "parallel":
        for option, value in (("--threads", args.threads), ("--parallel-threshold", args.parallel_threshold)):
            if value is not None:
                print(f"blockstm {args.command}: error: {option} applies to --mode parallel", file=sys.stderr)
                return 2
    try:
        return args.func(args)
    except Failure as exc:
        print(f"blockstm {args.command}: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `blockstm run … | head`: the reader left, nothing to say
        sys.stdout = open(os.devnull, "w")
        return 0
