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

from .statetests import CaseRef

# (selector, mode, reason)
KNOWN_FAILURES: list[tuple[str, str, str]] = [
    # EIP-7610 (retroactive): CREATE/CREATE2 onto an account with no code and nonce 0 but
    # non-empty storage must collide. revm 43 checks only nonce and code, so the engine
    # creates the contract. Fix: a collision check through revm's frame/handler traits.
    ("stSStoreTest/InitCollision.json", "both", "EIP-7610 create collision on non-empty storage: revm 43 checks nonce and code only"),
    ("stSStoreTest/InitCollisionParis.json", "both", "EIP-7610 create collision on non-empty storage: revm 43 checks nonce and code only"),
    ("stCreate2/create2collisionStorage.json", "both", "EIP-7610 create collision on non-empty storage: revm 43 checks nonce and code only"),
    ("stCreate2/create2collisionStorageParis.json", "both", "EIP-7610 create collision on non-empty storage: revm 43 checks nonce and code only"),
    ("stCreate2/RevertInCreateInInitCreate2.json", "both", "EIP-7610 create collision on non-empty storage: revm 43 checks nonce and code only"),
    ("stCreate2/RevertInCreateInInitCreate2Paris.json", "both", "EIP-7610 create collision on non-empty storage: revm 43 checks nonce and code only"),
    ("stRevertTest/RevertInCreateInInit.json", "both", "EIP-7610 create collision on non-empty storage: revm 43 checks nonce and code only"),
    ("stRevertTest/RevertInCreateInInit_Paris.json", "both", "EIP-7610 create collision on non-empty storage: revm 43 checks nonce and code only"),
    ("stExtCodeHash/dynamicAccountOverwriteEmpty.json", "both", "EIP-7610 create collision on non-empty storage: revm 43 checks nonce and code only"),
    ("stExtCodeHash/dynamicAccountOverwriteEmpty_Paris.json", "both", "EIP-7610 create collision on non-empty storage: revm 43 checks nonce and code only"),
    # revm has no Constantinople spec (EIP-1283 net SSTORE gas, withdrawn before mainnet);
    # the engine runs Constantinople as Petersburg. Fix: EIP-1283 SSTORE costs via revm's gas params.
    ("stCreate2/CREATE2_HighNonce.json::CREATE2_HighNonce[Constantinople-d0g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stCreate2/CREATE2_HighNonceDelegatecall.json::CREATE2_HighNonceDelegatecall[Constantinople-d11g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stCreate2/CREATE2_HighNonceDelegatecall.json::CREATE2_HighNonceDelegatecall[Constantinople-d17g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stCreate2/CREATE2_HighNonceDelegatecall.json::CREATE2_HighNonceDelegatecall[Constantinople-d18g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stCreate2/CREATE2_HighNonceDelegatecall.json::CREATE2_HighNonceDelegatecall[Constantinople-d19g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stCreate2/CREATE2_HighNonceDelegatecall.json::CREATE2_HighNonceDelegatecall[Constantinople-d20g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stCreate2/CREATE2_HighNonceDelegatecall.json::CREATE2_HighNonceDelegatecall[Constantinople-d21g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stCreate2/CREATE2_HighNonceDelegatecall.json::CREATE2_HighNonceDelegatecall[Constantinople-d23g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stCreate2/CREATE2_HighNonceDelegatecall.json::CREATE2_HighNonceDelegatecall[Constantinople-d5g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stCreate2/CREATE2_HighNonceDelegatecall.json::CREATE2_HighNonceDelegatecall[Constantinople-d6g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stCreate2/CREATE2_HighNonceDelegatecall.json::CREATE2_HighNonceDelegatecall[Constantinople-d7g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stCreate2/CREATE2_HighNonceDelegatecall.json::CREATE2_HighNonceDelegatecall[Constantinople-d8g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stCreate2/CREATE2_HighNonceDelegatecall.json::CREATE2_HighNonceDelegatecall[Constantinople-d9g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stCreateTest/CREATE_HighNonce.json::CREATE_HighNonce[Constantinople-d0g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stPreCompiledContracts2/CallEcrecover_Overflow.json::CallEcrecover_Overflow[Constantinople-d0g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stPreCompiledContracts2/CallEcrecover_Overflow.json::CallEcrecover_Overflow[Constantinople-d1g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stPreCompiledContracts2/CallEcrecover_Overflow.json::CallEcrecover_Overflow[Constantinople-d2g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stPreCompiledContracts2/CallEcrecover_Overflow.json::CallEcrecover_Overflow[Constantinople-d4g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stPreCompiledContracts2/CallEcrecover_Overflow.json::CallEcrecover_Overflow[Constantinople-d5g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stPreCompiledContracts2/ecrecoverShortBuff.json::ecrecoverShortBuff[Constantinople-d0g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
    ("stSStoreTest/sstoreGas.json::sstoreGas[Constantinople-d0g0v0]", "both", "Constantinople runs as Petersburg: no EIP-1283 SSTORE gas in revm 43"),
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


def _match(table, selectors: list[str], mode: str) -> str | None:
    for selector in selectors:
        for entry_mode, reason in table.get(selector, ()):
            if entry_mode in ("both", mode):
                return reason
    return None


def _state_selectors(ref: CaseRef) -> list[str]:
    parts = ref.relpath.split("/")[:-1]
    return [ref.id, ref.relpath] + ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


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
