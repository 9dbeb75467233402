"""Compile the Vyper contracts of generators/contracts, cached by source hash.

The cache lives in <repo>/.cache/vyper/ (git-ignored); an entry is keyed by the
sha256 of the source and the compiler version, so editing a contract or upgrading
vyper recompiles, and parallel test workers never see half-written entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".cache" / "vyper"

CONTRACT_NAMES = ("erc20", "weth", "pair", "factory", "router", "coinbase_probe", "coinbase_vault", "batch_wallet")

_FORMATS = ["bytecode", "bytecode_runtime", "layout", "abi"]
# ERC-5202 blueprint preamble: 0xFE (invalid, never executable), 0x71 (magic), version 0
BLUEPRINT_PREAMBLE = bytes.fromhex("fe7100")


@dataclass(frozen=True)
class Compiled:
    name: str
    initcode: bytes          # creation bytecode (constructor args are appended to it)
    runtime: bytes           # deployed code, before immutables are appended
    storage: dict            # variable -> slot (Vyper storage layout)
    immutables: dict         # immutable -> (offset, length) in the code's data section
    abi: list

    @property
    def blueprint_code(self) -> bytes:
        """Code of a deployed ERC-5202 blueprint of this contract."""
        return BLUEPRINT_PREAMBLE + self.initcode

    def deployed_code(self, immutables: dict[str, bytes] | None = None) -> bytes:
        """Runtime code as the constructor returns it: runtime ++ data section."""
        if not self.immutables:
            return self.runtime
        size = max(off + length for off, length in self.immutables.values())
        data = bytearray(size)
        for name, (off, length) in self.immutables.items():
            value = (immutables or {})[name]
            assert len(value) == length, (name, len(value))
            data[off:off + length] = value
        return self.runtime + bytes(data)


def _vyper_version() -> str:
    import vyper

    return vyper.__version__


def _compile(source: str, path: Path) -> dict:
    import vyper

    out = vyper.compile_code(source, contract_path=str(path), output_formats=_FORMATS)
    layout = out["layout"]
    return {
        "bytecode": out["bytecode"],
        "bytecode_runtime": out["bytecode_runtime"],
        "storage_layout": dict(layout.get("storage_layout", {})),
        "code_layout": dict(layout.get("code_layout", {})),
        "abi": out["abi"],
    }


def _load_or_compile(name: str) -> dict:
    path = CONTRACTS_DIR / f"{name}.vy"
    source = path.read_text()
    key = hashlib.sha256(f"{_vyper_version()}\0{source}".encode()).hexdigest()[:24]
    entry = CACHE_DIR / f"{name}-{key}.json"
    if entry.exists():
        try:
            return json.loads(entry.read_text())
        except json.JSONDecodeError:
            pass  # a torn file from an interrupted writer: recompile
    result = _compile(source, path)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=CACHE_DIR, prefix=f".{name}-", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(result, f)
    os.replace(tmp, entry)
    return result


@lru_cache(maxsize=None)
def compiled(name: str) -> Compiled:
    if name not in CONTRACT_NAMES:
        raise KeyError(f"unknown contract {name!r}; one of {CONTRACT_NAMES}")
    raw = _load_or_compile(name)
    storage = {var: info["slot"] for var, info in raw["storage_layout"].items()}
    immutables = {var: (info["offset"], info["length"]) for var, info in raw["code_layout"].items()}
    return Compiled(
        name=name,
        initcode=bytes.fromhex(raw["bytecode"][2:]),
        runtime=bytes.fromhex(raw["bytecode_runtime"][2:]),
        storage=storage,
        immutables=immutables,
        abi=raw["abi"],
    )


def compile_all() -> dict[str, Compiled]:
    return {name: compiled(name) for name in CONTRACT_NAMES}
