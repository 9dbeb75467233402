"""Known conformance failures (each a debt, with a precise reason) and slow cases.

Entries become ``pytest.mark.xfail(strict=True, reason=...)``: the case must keep
failing, and the day it passes (an engine fix), strict xfail turns it into a failure so
the entry gets deleted. Never add an entry without a reason that names the cause.

Selectors:
  * an exact case id: "stExample/add11.json::add11[Cancun-d0g0v0]"
  * a file: "stTransactionTest/HighGasPrice.json" (every case of it)
  * a folder, ending in "/": "stTimeConsuming/" (every case under it)
  * a mainnet block item: "mainnet:12244000" (every variant) or "mainnet:12244000-par-t2"
Modes: "seq", "par" or "both".
"""

from __future__ import annotations

import functools

from .statetests import CaseRef

# (selector, mode, reason)
KNOWN_FAILURES: list[tuple[str, str, str]] = [
    # Empty. The ten EIP-7610 files (create collision on an address with storage only)
    # were here until the engine's journal learnt the rule (engine/src/eip7610.rs).
]

# Cases too slow for every pre-merge run, as (selector, mode, reason): they get
# `pytest.mark.slow` (deselect with -m "not slow"; nightly runs them). Times are one
# sequential run on the 2-core machine with a release build.
SLOW_CASES: list[tuple[str, str, str]] = [
    ("stTimeConsuming/CALLBlake2f_MaxRounds.json", "both",
     "BLAKE2f with 2**32-1 rounds: ~47 s per run, 6 forks"),
    ("VMTests/vmPerformance/loopMul.json", "both", "multiplication loops: up to ~7 s per run, 18 cases"),
]


def _table(entries: list[tuple[str, str, str]]) -> dict[str, list[tuple[str, str]]]:
    table: dict[str, list[tuple[str, str]]] = {}
    for selector, mode, reason in entries:
        if mode not in ("seq", "par", "both"):
            raise ValueError(f"known failure {selector!r}: mode must be seq, par or both, got {mode!r}")
        if not reason.strip():
            raise ValueError(f"known failure {selector!r}: a reason is required")
        table.setdefault(selector, []).append((mode, reason))
    return table


_XFAIL = _table(KNOWN_FAILURES)
_SLOW = _table(SLOW_CASES)


def _match(table, selectors, mode: str) -> str | None:
    for selector in selectors:
        for entry_mode, reason in table.get(selector, ()):
            if entry_mode in ("both", mode):
                return reason
    return None


def _state_selectors(ref: CaseRef) -> tuple[str, ...]:
    return (ref.id,) + _path_selectors(ref.relpath)


@functools.lru_cache(maxsize=None)
def _path_selectors(relpath: str) -> tuple[str, ...]:
    # Shared by every case of a file: collection asks for 101,161 cases x 2 modes x 2 tables.
    parts = relpath.split("/")[:-1]
    return (relpath,) + tuple("/".join(parts[: i + 1]) + "/" for i in range(len(parts)))


def state_reason(ref: CaseRef, mode: str) -> str | None:
    """The xfail reason of a state-test case in a mode, or None."""
    return _match(_XFAIL, _state_selectors(ref), mode) if _XFAIL else None


def state_slow_reason(ref: CaseRef, mode: str) -> str | None:
    """Why a state-test case is marked slow, or None."""
    return _match(_SLOW, _state_selectors(ref), mode) if _SLOW else None


def mainnet_reason(number: int, variant: str) -> str | None:
    """The xfail reason of a mainnet item (variant: "seq", "par-t2", ...), or None."""
    if not _XFAIL:
        return None
    mode = "seq" if variant == "seq" else "par"
    return _match(_XFAIL, [f"mainnet:{number}-{variant}", f"mainnet:{number}"], mode)
