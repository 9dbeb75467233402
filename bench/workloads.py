"""What is benchmarked: generated blocks sized by gas, and the real mainnet blocks.

Every workload is materialised as a fixture file under .cache/bench/fixtures/ so that
the measuring subprocesses (and the Rust benchmark, engine/benches/execute.rs) read
exactly the same bytes. Generated fixtures are reused while the generators' sources,
the size and the seed are unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DIR = REPO_ROOT / ".cache" / "bench" / "fixtures"

GIGAGAS = 1_000_000_000


@dataclass(frozen=True)
class Generated:
    """A block from generators.generate(family, gas=..., **knobs)."""

    name: str
    label: str
    family: str
    knobs: dict[str, Any] = field(default_factory=dict)
    # Conflict-free by construction: the ">= 1.85x at 2 threads" target applies.
    independent: bool = False


# The default set, in table order. Raw transfers at 1 Ggas are 47,620 transactions.
GENERATED = (
    Generated("transfers", "raw transfers", "transfers", {"pattern": "independent"}, independent=True),
    Generated("erc20", "ERC-20 transfers", "erc20", {"pattern": "independent"}, independent=True),
    Generated("amm", "AMM swaps", "amm", {"pattern": "independent"}, independent=True),
    Generated("beneficiary", "coinbase balance reads", "beneficiary", {"mode": "balance", "every": 1}),
    Generated("mixed", "mixed", "mixed", {}),
)
# Contended variants, run only when named (--workloads).
EXTRA = (
    Generated("transfers-hot", "transfers to one recipient", "transfers", {"pattern": "hot"}),
    Generated("transfers-chain", "same-sender nonce chains", "transfers", {"pattern": "chain"}),
    Generated("erc20-clusters", "ERC-20 clusters", "erc20", {"pattern": "clusters"}),
    Generated("amm-hot", "AMM swaps on one pool", "amm", {"pattern": "hot"}),
    Generated("beneficiary-sends", "coinbase sends value", "beneficiary", {"mode": "sends"}),
)
BY_NAME = {w.name: w for w in GENERATED + EXTRA}
DEFAULT_NAMES = [w.name for w in GENERATED] + ["mainnet"]


@dataclass
class Prepared:
    """A workload ready to measure: its fixture file and what it holds."""

    name: str
    label: str
    kind: str  # "generated" | "mainnet"
    path: Path
    txs: int
    fork: str
    fixture_bytes: int
    independent: bool = False
    family: str | None = None
    knobs: dict[str, Any] = field(default_factory=dict)
    target_gas: int | None = None
    block_number: int | None = None
    header_gas_used: int | None = None  # mainnet: what the header says

    def describe(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        out["path"] = str(self.path)
        return out


def _generators_digest() -> str:
    """Changes whenever the generators (code or contracts) change."""
    digest = hashlib.sha256()
    root = REPO_ROOT / "generators"
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".vy") and "tests" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def prepare_generated(workload: Generated, gas: int, seed: int, fixture_dir: Path = FIXTURE_DIR) -> Prepared:
    import generators

    txs = max(1, -(-gas // generators.estimate_gas_per_tx(workload.family, **workload.knobs)))
    fixture_dir.mkdir(parents=True, exist_ok=True)
    path = fixture_dir / f"{workload.name}-{txs}.json"
    key = json.dumps({"family": workload.family, "knobs": workload.knobs, "txs": txs, "seed": seed,
                      "generators": _generators_digest()}, sort_keys=True)
    key_path = path.with_suffix(".key")
    if not (path.is_file() and key_path.is_file() and key_path.read_text() == key):
        fixture = generators.generate(workload.family, txs=txs, seed=seed, **workload.knobs)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(fixture, fh, separators=(",", ":"))
        tmp.replace(path)
        key_path.write_text(key)
        fork = fixture["fork"]
        del fixture
    else:
        fork = _fork_of(path)
    return Prepared(name=workload.name, label=workload.label, kind="generated", path=path, txs=txs,
                    fork=fork, fixture_bytes=path.stat().st_size, independent=workload.independent,
                    family=workload.family, knobs=dict(workload.knobs), target_gas=gas)


def _fork_of(path: Path) -> str:
    # The fork is near the start of a generated fixture; avoid parsing 100 MB for it.
    with open(path, "rb") as fh:
        head = fh.read(4096).decode("utf-8", "replace")
    marker = '"fork":"'
    start = head.find(marker)
    return head[start + len(marker):head.index('"', start + len(marker))] if start >= 0 else "?"


def mainnet_numbers(blocks_dir: Path) -> list[int]:
    from conformance.mainnet import list_blocks

    return list_blocks(blocks_dir)


def prepare_mainnet(blocks_dir: Path, number: int, fixture_dir: Path = FIXTURE_DIR) -> Prepared:
    from conformance.mainnet import load_block

    block = load_block(blocks_dir, number)
    fixture_dir.mkdir(parents=True, exist_ok=True)
    path = fixture_dir / f"mainnet-{number}.json"
    data = block.fixture_json.encode()
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)
    return Prepared(name=f"mainnet-{number}", label=f"block {number}", kind="mainnet", path=path,
                    txs=block.tx_count, fork=block.fork, fixture_bytes=len(data),
                    block_number=number, header_gas_used=block.gas_used)


BYZANTIUM_BLOCK = 4_370_000


def smallest_mainnet(blocks_dir: Path, count: int, min_txs: int = 2) -> list[int]:
    """The `count` smallest blocks (by pre-state file) from Byzantium on with at least
    `min_txs` transactions, for quick runs; ascending by number. (Earlier blocks' speedups
    are not comparable: see bench/report.py.)"""
    sizes = []
    for number in mainnet_numbers(blocks_dir):
        if number < BYZANTIUM_BLOCK:
            continue
        folder = Path(blocks_dir) / str(number)
        pre = folder / "pre_state.json"
        sizes.append((pre.stat().st_size if pre.is_file() else 0, number, folder))
    chosen = []
    for _, number, folder in sorted(sizes):
        with open(folder / "block.json", "rb") as fh:
            if len(json.load(fh).get("transactions", [])) >= min_txs:
                chosen.append(number)
        if len(chosen) == count:
            break
    return sorted(chosen)
