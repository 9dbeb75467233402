"""Running a case on the engine and judging the outcome, independent of pytest.

Each check returns a list of failure lines (empty = pass) so that the pytest modules,
and anything else (a CLI, a campaign), report the same verdicts with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .exceptions import UnknownExceptionName, expectation
from .mainnet import MainnetBlock
from .statetests import StateCase

MODE_NAMES = {"seq": "sequential", "par": "parallel"}


@dataclass
class Outcome:
    """What the engine did with a fixture: a result, or a rejection."""

    result: Any = None  # blockstm.BlockResult
    invalid_kind: str | None = None  # InvalidTransaction.kind
    fixture_error: str | None = None
    error_message: str = ""


def execute(engine, fixture_json: str, mode: str, threads: int | None) -> Outcome:
    """Runs one fixture. mode is "seq" or "par"; the parallel run forces the parallel
    path (parallel_threshold=0) so that a one-transaction block really exercises it.
    EngineError and NotImplementedError propagate: they are never a verdict."""
    try:
        if mode == "par":
            res = engine.execute(fixture_json, "parallel", threads, parallel_threshold=0)
        else:
            res = engine.execute(fixture_json, "sequential")
    except engine.InvalidTransaction as exc:
        return Outcome(invalid_kind=exc.kind, error_message=str(exc))
    except engine.FixtureError as exc:
        return Outcome(fixture_error=str(exc), error_message=str(exc))
    return Outcome(result=res)


def _receipt_line(res) -> str:
    if not res.receipts:
        return "no receipt"
    r = res.receipts[0]
    return (f"status={r.status} gas_used={r.gas_used} type={r.tx_type} logs={len(r.logs)}"
            f" contract={r.contract_address}")


def check_state_case(case: StateCase, mode: str, outcome: Outcome) -> list[str]:
    """Failure lines for a state-test case (empty when it passes)."""
    head = [f"case:  {case.ref.id}", f"mode:  {MODE_NAMES.get(mode, mode)}"]
    if case.expect_exception is not None:
        try:
            expect = expectation(case.expect_exception)
        except UnknownExceptionName as exc:
            return head + [f"unknown expectException: {exc.args[0]}"]
        if outcome.invalid_kind is not None:
            if outcome.invalid_kind in expect.kinds:
                return []
            return head + [
                f"expected: invalid transaction {expect.describe()}",
                f"got:      InvalidTransaction kind={outcome.invalid_kind!r}: {outcome.error_message}",
            ]
        if outcome.fixture_error is not None:
            if expect.fixture_error_ok:
                return []
            return head + [
                f"expected: invalid transaction {expect.describe()}",
                f"got:      FixtureError: {outcome.fixture_error}",
            ]
        res = outcome.result
        return head + [
            f"expected: invalid transaction {expect.describe()}",
            f"got:      a valid block ({_receipt_line(res)}; state_root={res.state_root})",
        ]
    if outcome.invalid_kind is not None:
        return head + [
            "expected: a valid transaction",
            f"got:      InvalidTransaction kind={outcome.invalid_kind!r}: {outcome.error_message}",
        ]
    if outcome.fixture_error is not None:
        return head + ["expected: a valid transaction", f"got:      FixtureError: {outcome.fixture_error}"]
    res = outcome.result
    lines = []
    if res.state_root.lower() != case.expected_hash.lower():
        lines += [f"state root: expected {case.expected_hash}", f"            got      {res.state_root}"]
    if res.logs_hash.lower() != case.expected_logs.lower():
        lines += [f"logs hash:  expected {case.expected_logs}", f"            got      {res.logs_hash}"]
    if lines:
        return head + lines + [f"tx:    {_receipt_line(res)}"]
    return []


# ---- block access lists (EIP-7928) ------------------------------------------------


def resets_accounts(res) -> bool:
    """Whether a transaction of the block destroys an account or creates an empty one
    (before EIP-161): what an access list cannot express, so that a run from the list
    may execute a later transaction again (docs/engine.md)."""
    return any(c.get("destroyed") or (c.get("storage_cleared") and not c["balance"] and not c["nonce"] and not c["code"])
               for changes in res.tx_changes for c in changes.values())


def unexplained_reexecutions(listed, res) -> int:
    """Re-executions of a run from a list that nothing explains (none should be)."""
    stats = listed.stats
    return 0 if stats["fallback"] is not None or resets_accounts(res) else stats["reexecutions"]


def check_access_list(engine, fixture, mode: str, threads: int | None, res, pre_state=None) -> list[str]:
    """Failure lines for a valid block's access list (docs/engine.md). The parallel item
    checks that the list equals the sequential run's, and that the block executed in
    parallel with it (a validator's run) gives the same result without re-execution;
    the sequential item, that sequential mode accepts it. An engine without access lists
    (the loader tests' stand-in) is not asked."""
    if not hasattr(engine, "AccessListMismatch"):
        return []
    kwargs = {} if pre_state is None else {"pre_state": pre_state}
    rlp = res.block_access_list_rlp
    lines = []
    try:
        if mode == "par":
            seq = engine.execute(fixture, "sequential", **kwargs)
            if seq.block_access_list_rlp != rlp:
                lines.append(f"access list: sequential {seq.block_access_list_hash}, parallel {res.block_access_list_hash}")
            listed = engine.execute(fixture, "parallel", threads, access_list=rlp, **kwargs)
            diffs = compare_digests(result_digest(res), result_digest(listed))
            if listed.tx_changes != res.tx_changes:
                diffs.append("tx_changes differ")
            lines += [f"executed with its access list: {d}" for d in diffs]
            if unexplained_reexecutions(listed, res):
                lines.append(f"executed with its access list: {listed.stats['reexecutions']} re-executions")
        else:
            engine.execute(fixture, "sequential", access_list=rlp, **kwargs)
    except engine.BlockstmError as exc:
        lines.append(f"access list rejected: {type(exc).__name__}: {exc}")
    return lines


# ---- mainnet blocks ---------------------------------------------------------------


def result_digest(res) -> dict:
    """Everything a block result says, as plain comparable values."""
    return {
        "state_root": res.state_root,
        "logs_bloom": res.logs_bloom,
        "receipts_root": res.receipts_root,
        "logs_hash": res.logs_hash,
        "block_access_list_hash": res.block_access_list_hash,
        "receipts": [
            (
                r.status, r.gas_used, r.cumulative_gas_used, r.tx_type, r.contract_address,
                r.logs_bloom,
                tuple((log.address, tuple(log.topics), bytes(log.data)) for log in r.logs),
            )
            for r in res.receipts
        ],
        "post_state": res.post_state,
    }


def compare_digests(expected: dict, got: dict, limit: int = 8) -> list[str]:
    """Where two results differ (at most `limit` lines)."""
    diffs = []
    for key in ("state_root", "logs_bloom", "receipts_root", "logs_hash", "block_access_list_hash"):
        if expected.get(key) != got.get(key):
            diffs.append(f"{key}: {expected[key]} != {got[key]}")
    if len(expected["receipts"]) != len(got["receipts"]):
        diffs.append(f"receipt count: {len(expected['receipts'])} != {len(got['receipts'])}")
    fields = ("status", "gas_used", "cumulative_gas_used", "tx_type", "contract_address", "logs_bloom", "logs")
    for i, (a, b) in enumerate(zip(expected["receipts"], got["receipts"])):
        if a != b:
            which = [f"{f}: {x!r:.80} != {y!r:.80}" for f, x, y in zip(fields, a, b) if x != y]
            diffs.append(f"receipt {i}: " + "; ".join(which))
    pa, pb = expected["post_state"], got["post_state"]
    if pa != pb:
        for addr in sorted(set(pa) | set(pb)):
            if pa.get(addr) != pb.get(addr):
                diffs.append(f"post_state[{addr}]: {str(pa.get(addr))[:120]} != {str(pb.get(addr))[:120]}")
                if len(diffs) >= limit:
                    break
    return diffs[:limit]


def check_mainnet_header(block: MainnetBlock, res) -> list[str]:
    """Failure lines for a block result against its header (empty when it matches)."""
    from blockstm.rpc import header_mismatches

    return header_mismatches(res, **block.header())
