"""blockstm: Block-STM parallel EVM execution on revm.

One call::

    res = blockstm.execute(block, mode="sequential" | "parallel", threads=None)

``block`` is a block fixture (docs/block-fixture.md) as a dict, a JSON string or JSON
bytes. The result carries receipts, the post-state, the state root, the logs bloom,
the receipts root, per-transaction state changes and execution statistics.
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping, Union

from . import _engine
from ._engine import BlockResult, Log, Receipt
from .errors import (
    INVALID_TX_KINDS,
    BlockstmError,
    EngineError,
    FixtureError,
    InvalidTransaction,
)

__all__ = [
    "execute",
    "BlockResult",
    "Receipt",
    "Log",
    "BlockstmError",
    "FixtureError",
    "InvalidTransaction",
    "EngineError",
    "INVALID_TX_KINDS",
    "FORKS",
    "MODES",
]

#: Fork names accepted in a fixture's ``fork`` field, oldest first.
FORKS = tuple(_engine.FORKS)
#: Accepted values of ``mode``.
MODES = ("sequential", "parallel")

Block = Union[Mapping[str, Any], str, bytes, bytearray]


def execute(block: Block, mode: str = "sequential", threads: int | None = None,
            *, parallel_threshold: int | None = None) -> BlockResult:
    """Execute every transaction of ``block`` and return a :class:`BlockResult`.

    mode
        ``"sequential"``: one transaction after another on one thread (the baseline
        oracle). ``"parallel"``: Block-STM on ``threads`` worker threads; the result is
        identical to sequential execution, bit for bit.
    threads
        Worker threads for parallel mode; ``None`` means every core. Ignored in
        sequential mode.
    parallel_threshold
        Blocks with fewer transactions than this run on the sequential path even in
        parallel mode (``stats["fallback"]`` says so). ``None``: the engine's default
        (8 transactions, and at least 3 usable threads — ``threads`` capped by the
        cores: on fewer, Block-STM costs more than it saves, see docs/engine.md);
        any explicit value (``0`` included) forces the parallel path above it.

    Raises :class:`FixtureError` (malformed block, naming the JSON path),
    :class:`InvalidTransaction` (``index``, ``kind``: the block is rejected) or
    :class:`EngineError` (an engine fault, a Rust panic included).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive int or None, got {threads!r}")
    if isinstance(block, Mapping):
        try:
            payload: Union[str, bytes] = json.dumps(block)
        except (TypeError, ValueError) as exc:
            raise FixtureError(f"block is not JSON-serialisable: {exc}") from None
    elif isinstance(block, (str, bytes, bytearray)):
        payload = bytes(block) if isinstance(block, bytearray) else block
    else:
        raise TypeError(f"block must be a dict, str or bytes, got {type(block).__name__}")
    return _engine.execute(payload, mode, threads, parallel_threshold)


def default_threads() -> int:
    """Worker threads used when ``threads=None``: every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
