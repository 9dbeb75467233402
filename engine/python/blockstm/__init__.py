"""blockstm: Block-STM parallel EVM execution on revm.

One call::

    res = blockstm.execute(block, mode="sequential" | "parallel", threads=None)

``block`` is a block fixture (docs/block-fixture.md) as a dict, a JSON string or JSON
bytes; :func:`from_rpc` makes one from what a node gives (blockstm.rpc). The result
carries receipts, the post-state, the state root, the logs bloom, the receipts root,
per-transaction state changes and execution statistics (:data:`STATS_KEYS`); it pickles,
compares with ``==`` and gives the next block's pre-state (``post_state_fixture()``).
The command line: ``blockstm --help`` (blockstm.cli).
"""

from __future__ import annotations

import json
import os
from importlib import metadata
from typing import Any, Mapping, Union

from . import _engine
from ._engine import BlockResult, Log, Receipt
from .errors import (
    INVALID_TX_KINDS,
    AccessListMismatch,
    BlockstmError,
    EngineError,
    FixtureError,
    InvalidBlock,
    InvalidTransaction,
)
from .rpc import from_rpc

try:
    __version__ = metadata.version("blockstm")
except metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "unknown"

__all__ = [
    "execute",
    "from_rpc",
    "STATS_KEYS",
    "BlockResult",
    "Receipt",
    "Log",
    "BlockstmError",
    "FixtureError",
    "InvalidBlock",
    "AccessListMismatch",
    "InvalidTransaction",
    "EngineError",
    "INVALID_TX_KINDS",
    "FORKS",
    "MAX_THREADS",
    "MODES",
]

#: Fork names accepted in a fixture's ``fork`` field, oldest first.
FORKS = tuple(_engine.FORKS)
#: The most worker threads a block gets, whatever ``threads`` asks (docs/engine.md).
MAX_THREADS = _engine.MAX_THREADS
#: Accepted values of ``mode``.
MODES = ("sequential", "parallel")

#: What ``BlockResult.stats`` holds (docs/engine.md says the same).
STATS_KEYS = {
    "mode": 'the executor that ran: "sequential" or "parallel" (Block-STM)',
    "threads": "worker threads that took part (1 on the sequential path)",
    "executions": "transaction executions, re-executions included",
    "reexecutions": "executions beyond the first of a transaction (aborted incarnations)",
    "validations": "validations of a transaction's reads (parallel)",
    "validation_failures": "validations that found a changed read (each aborts an incarnation)",
    "dependency_waits": "times a transaction suspended on an ESTIMATE of a lower one (parallel)",
    "lazy_transfers": "raw value transfers settled without revm (parallel; docs/engine.md)",
    "fallback": "why parallel mode ran the sequential path (None: it did not)",
    "access_list": 'use of a given access list: "validated" (access_list=), "hint" (hint=), None',
    "elapsed_ns": "engine time: execution and in-order bookkeeping (execute_ns + commit_ns)",
    "parse_ns": "JSON fixture to a typed block",
    "setup_ns": "the pre-state's world state built (accounts, code analysed)",
    "execute_ns": "transactions executed (parallel: the workers, committing as they go)",
    "commit_ns": "after the workers: the committed changes applied to the state",
    "root_ns": "state root, receipts root, logs bloom and logs hash",
    "transactions": "transactions in the block",
    "gas_used": "gas used by the block (the last receipt's cumulative gas)",
}

Block = Union[Mapping[str, Any], str, bytes, bytearray]
#: A block access list: the JSON form (a list of account dicts), JSON text, or RLP bytes.
AccessList = Union[list, tuple, str, bytes, bytearray]  # hint=: also a list of lists of indices
# The engine takes thread counts and thresholds as a Rust usize.
_USIZE_MAX = 2**64 - 1


def _check_count(name: str, value: Any, least: int, what: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be {what} or None, got {value!r}")
    if not least <= value <= _USIZE_MAX:
        raise ValueError(f"{name} must be {what} or None, got {value!r}")


def execute(block: Block, mode: str = "sequential", threads: int | None = None,
            *, parallel_threshold: int | None = None,
            pre_state: BlockResult | None = None,
            access_list: AccessList | None = None,
            hint: AccessList | None = None) -> BlockResult:
    """Execute ``block`` — its block-level effects and every transaction — and return a
    :class:`BlockResult`.

    mode
        ``"sequential"``: one transaction after another on one thread (the baseline
        oracle). ``"parallel"``: Block-STM on ``threads`` worker threads; the result is
        identical to sequential execution, bit for bit.
    threads
        Worker threads for parallel mode; ``None`` means every core. A block gets at
        most one per transaction and :data:`MAX_THREADS`. Ignored in sequential mode.
    parallel_threshold
        Blocks with fewer transactions than this run on the sequential path even in
        parallel mode (``stats["fallback"]`` says so). ``None``: the engine's default
        rule — 8 transactions, 2 usable threads (``threads`` capped by the cores), and
        with exactly 2 a block of 100 Mgas; Block-STM gives up mid-block on an
        inherently serial block (docs/engine.md). Any explicit value (``0`` included)
        forces Block-STM above it, to the end of the block.
    pre_state
        A previous block's result: ``block`` (a fixture without ``pre``) runs on its
        post-state, which stays in the engine — the way to execute a chain, block after
        block (docs/block-fixture.md, "Chains"). ``None``: the fixture's ``pre``.
    access_list
        The block's EIP-7928 block access list, as a validator receives it: the JSON
        form (:attr:`BlockResult.block_access_list`, ``eth_getBlockAccessList``), its
        text, or its RLP bytes. Parallel mode executes every transaction on the
        pre-state plus the list's writes of lower indices, with no speculation (the
        thresholds do not apply); both modes check the list against execution and raise
        :class:`AccessListMismatch` (the block is invalid) at the first difference.
    hint
        Never trusted, ignored in sequential mode: a block access list of unknown
        quality (a builder's, a previous run's), used by parallel mode as above until
        execution contradicts it, from there the rest runs in order; or a previous
        result's ``dependencies`` (for each transaction, lower ones it read from: a
        transaction waits for them before it first runs under Block-STM). A wrong hint
        costs time, never correctness, and raises nothing.

    Raises :class:`FixtureError` (malformed block, naming the JSON path),
    :class:`InvalidTransaction` (``index``, ``kind``: the block is rejected),
    :class:`InvalidBlock` (a rule outside the transactions: a Prague request contract;
    :class:`AccessListMismatch`: an access list execution contradicts) or
    :class:`EngineError` (an engine fault, a Rust panic included).
    """
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    _check_count("threads", threads, 1, "a positive int")
    _check_count("parallel_threshold", parallel_threshold, 0, "a non-negative int")
    for name, value in (("access_list", access_list), ("hint", hint)):
        if value is not None and not isinstance(value, (list, tuple, str, bytes, bytearray)):
            raise TypeError(f"{name} must be a list (JSON form), str (JSON) or bytes (RLP), got {type(value).__name__}")
    if access_list is not None and hint is not None:
        raise ValueError("give access_list or hint, not both")
    if isinstance(access_list, bytearray):
        access_list = bytes(access_list)
    if isinstance(hint, bytearray):
        hint = bytes(hint)
    if pre_state is not None and not isinstance(pre_state, BlockResult):
        raise TypeError(f"pre_state must be a BlockResult or None, got {type(pre_state).__name__}")
    if isinstance(block, dict):
        payload: Union[dict, str, bytes] = block  # read by the engine directly, no JSON text
    elif isinstance(block, Mapping):
        try:
            payload = json.dumps(block)
        except (TypeError, ValueError) as exc:
            raise FixtureError(f"block is not JSON-serialisable: {exc}") from None
    elif isinstance(block, (str, bytes, bytearray)):
        payload = bytes(block) if isinstance(block, bytearray) else block
    else:
        raise TypeError(f"block must be a dict, str or bytes, got {type(block).__name__}")
    try:
        return _engine.execute(payload, mode, threads, parallel_threshold, pre_state, access_list, hint)
    except FixtureError as exc:
        if isinstance(payload, bytes):
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError as bad:
                # serde's own message ("expected value at line 1 column 1") hides the cause.
                raise FixtureError(f"block: bytes that are not UTF-8 JSON ({bad})") from None
        raise


def default_threads() -> int:
    """Worker threads used when ``threads=None``: every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
