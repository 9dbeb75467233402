"""Real mainnet blocks → block fixtures, through the wheel's converter (blockstm.rpc).

A block folder holds `block.json` (eth_getBlockByNumber(N, true) output),
`pre_state.json` (every account the block touches, as of block N-1) and, for some
blocks, `block_hashes.json`. Only what the header commits to without the full state can
be checked: gasUsed, logsBloom and, from Byzantium on, receiptsRoot (earlier receipts
embed intermediate state roots that a partial pre-state cannot give). Where the blocks
come from and how to add one: docs/conformance.md.

The block-level effects the block's data gives run too (blockstm.from_rpc): the EIP-4788
beacon-root call (Cancun on), withdrawals (Shanghai on), the block reward before Paris
when the block has no uncles. The state root stays unchecked: the pre-state is partial.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


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
        from blockstm.rpc import fork_at_least
        return fork_at_least(self.fork, "Byzantium")

    def header(self) -> dict:
        """The keyword arguments of blockstm.rpc.header_mismatches."""
        return {"fork": self.fork, "tx_count": self.tx_count, "gas_used": self.gas_used,
                "logs_bloom": self.logs_bloom, "receipts_root": self.receipts_root}

    def fixture(self) -> dict:
        return json.loads(self.fixture_json)


def list_blocks(blocks_dir: Path) -> list[int]:
    """Block numbers with a block.json under blocks_dir, ascending."""
    out = []
    for entry in os.listdir(blocks_dir):
        if entry.isdigit() and (Path(blocks_dir) / entry / "block.json").is_file():
            out.append(int(entry))
    return sorted(out)


def load_block(blocks_dir: Path, number: int) -> MainnetBlock:
    from blockstm import rpc  # here: collecting the suite must not need the engine

    folder = Path(blocks_dir) / str(number)
    with open(folder / "block.json", "rb") as fh:
        block = json.load(fh)
    with open(folder / "pre_state.json", "rb") as fh:
        pre = json.load(fh)
    hashes = None
    if (folder / "block_hashes.json").is_file():
        with open(folder / "block_hashes.json", "rb") as fh:
            hashes = json.load(fh)
    fixture = rpc.from_rpc(block, pre, block_hashes=hashes)
    header = rpc.expected_header(block)
    return MainnetBlock(
        number=number,
        fork=fixture["fork"],
        fixture_json=json.dumps(fixture, separators=(",", ":")),
        tx_count=header["tx_count"],
        gas_used=header["gas_used"],
        logs_bloom=header["logs_bloom"],
        receipts_root=header["receipts_root"],
        has_withdrawals=bool(block.get("withdrawals")),
    )
