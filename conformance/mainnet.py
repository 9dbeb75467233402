"""Real mainnet blocks → block fixtures.

A block folder holds `block.json` (eth_getBlockByNumber(N, true) output),
`pre_state.json` (every account the block touches, as of block N-1) and, for some
blocks, `block_hashes.json`. Only what the header commits to without the full state can
be checked: gasUsed, logsBloom and, from Byzantium on, receiptsRoot (earlier receipts
embed intermediate state roots that a partial pre-state cannot give).

Not executed, by design of the fixture format: block and uncle rewards, withdrawals
(Shanghai on) and the EIP-4788 beacon-root system call (Cancun on). None of them changes
a receipt, so the checked header fields are unaffected.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Mainnet activation: (fork, first block number) up to Paris, then (fork, first timestamp).
BLOCK_SCHEDULE = (
    ("Frontier", 0),
    ("Homestead", 1_150_000),
    ("EIP150", 2_463_000),
    ("EIP158", 2_675_000),
    ("Byzantium", 4_370_000),
    ("ConstantinopleFix", 7_280_000),  # Constantinople and Petersburg activated together
    ("Istanbul", 9_069_000),
    ("Berlin", 12_244_000),
    ("London", 12_965_000),
    ("Paris", 15_537_394),  # the first proof-of-stake block
)
TIME_SCHEDULE = (
    ("Shanghai", 1_681_338_455),
    ("Cancun", 1_710_338_135),
)

FORK_ORDER = (
    "Frontier", "Homestead", "EIP150", "EIP158", "Byzantium", "Constantinople",
    "ConstantinopleFix", "Istanbul", "Berlin", "London", "Paris", "Shanghai", "Cancun",
)


def fork_at(number: int, timestamp: int) -> str:
    """The mainnet fork of a block."""
    fork = "Frontier"
    for name, first in BLOCK_SCHEDULE:
        if number >= first:
            fork = name
    if fork == "Paris":
        for name, first in TIME_SCHEDULE:
            if timestamp >= first:
                fork = name
    return fork


def fork_at_least(fork: str, other: str) -> bool:
    return FORK_ORDER.index(fork) >= FORK_ORDER.index(other)


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


@dataclass
class MainnetBlock:
    """A loaded block: the fixture and what its header says must come out."""

    number: int
    fork: str
    fixture_json: str
    tx_count: int
    gas_used: int
    logs_bloom: str
    receipts_root: str
    has_withdrawals: bool

    @property
    def receipts_root_checkable(self) -> bool:
        return fork_at_least(self.fork, "Byzantium")

    def fixture(self) -> dict:
        return json.loads(self.fixture_json)


def list_blocks(blocks_dir: Path) -> list[int]:
    """Block numbers with a block.json under blocks_dir, ascending."""
    out = []
    for entry in os.listdir(blocks_dir):
        if entry.isdigit() and (Path(blocks_dir) / entry / "block.json").is_file():
            out.append(int(entry))
    return sorted(out)


def convert_transaction(tx: dict) -> dict:
    """One RPC transaction → one fixture transaction."""
    tx_type = _int(tx.get("type", "0x0"))
    out: dict[str, Any] = {
        "sender": tx["from"],
        "to": tx.get("to"),  # null: contract creation
        "nonce": tx["nonce"],
        "value": tx["value"],
        "data": tx["input"],
        "gasLimit": tx["gas"],
        "type": tx_type,
    }
    if tx_type >= 2:
        # The RPC's gasPrice of a 1559 transaction is the effective price paid, derived
        # from the fee caps: the caps are the transaction's fields.
        out["maxFeePerGas"] = tx["maxFeePerGas"]
        out["maxPriorityFeePerGas"] = tx["maxPriorityFeePerGas"]
    else:
        out["gasPrice"] = tx["gasPrice"]
    if tx_type >= 1:
        out["accessList"] = tx.get("accessList") or []
    if tx_type == 3:
        out["blobVersionedHashes"] = tx["blobVersionedHashes"]
        out["maxFeePerBlobGas"] = tx["maxFeePerBlobGas"]
    # A legacy transaction signed before EIP-155 (v = 27/28) has no chain id; the RPC
    # then omits the field and the fixture says null (the engine checks no chain id).
    out["chainId"] = tx["chainId"] if "chainId" in tx else None
    return out


def convert_block(block: dict, pre: dict, block_hashes: dict | None = None) -> dict:
    """block.json + pre_state.json (+ block_hashes.json) → a block fixture dict."""
    number = _int(block["number"])
    timestamp = _int(block["timestamp"])
    fork = fork_at(number, timestamp)
    env: dict[str, Any] = {
        "currentCoinbase": block["miner"],
        "currentNumber": block["number"],
        "currentTimestamp": block["timestamp"],
        "currentGasLimit": block["gasLimit"],
        "currentDifficulty": block.get("difficulty", "0x0"),
    }
    if fork_at_least(fork, "London"):
        env["currentBaseFee"] = block["baseFeePerGas"]
    if fork_at_least(fork, "Paris"):
        env["currentRandom"] = block["mixHash"]  # prevrandao lives in mixHash after the merge
    if fork_at_least(fork, "Cancun"):
        env["currentExcessBlobGas"] = block.get("excessBlobGas", "0x0")
    fixture: dict[str, Any] = {
        "fork": fork,
        "env": env,
        "pre": pre,
        "transactions": [convert_transaction(tx) for tx in block["transactions"]],
        "_block": number,
    }
    if block_hashes:
        fixture["blockHashes"] = {str(_int(k) if k.startswith("0x") else int(k)): v for k, v in block_hashes.items()}
    return fixture


def load_block(blocks_dir: Path, number: int) -> MainnetBlock:
    folder = Path(blocks_dir) / str(number)
    with open(folder / "block.json", "rb") as fh:
        block = json.load(fh)
    with open(folder / "pre_state.json", "rb") as fh:
        pre = json.load(fh)
    hashes = None
    if (folder / "block_hashes.json").is_file():
        with open(folder / "block_hashes.json", "rb") as fh:
            hashes = json.load(fh)
    fixture = convert_block(block, pre, hashes)
    return MainnetBlock(
        number=number,
        fork=fixture["fork"],
        fixture_json=json.dumps(fixture, separators=(",", ":")),
        tx_count=len(block["transactions"]),
        gas_used=_int(block["gasUsed"]),
        logs_bloom=block["logsBloom"].lower(),
        receipts_root=block["receiptsRoot"].lower(),
        has_withdrawals=bool(block.get("withdrawals")),
    )
