"""Shared helpers for the generator tests: the engine (when installed), the EELS
oracle, and the case matrix."""

from __future__ import annotations

import pytest

try:
    import blockstm
except ImportError:  # the wheel is not installed yet
    blockstm = None

requires_engine = pytest.mark.skipif(blockstm is None, reason="blockstm wheel not installed")

# (family, knobs): every family and conflict pattern
CASES = [
    ("transfers", {"pattern": "independent"}),
    ("transfers", {"pattern": "self"}),
    ("transfers", {"pattern": "chain"}),
    ("transfers", {"pattern": "chain", "chain_length": 3, "interleave": False}),
    ("transfers", {"pattern": "hot"}),
    ("transfers", {"pattern": "hot", "hot_fraction": 0.3}),
    ("erc20", {"pattern": "independent"}),
    ("erc20", {"pattern": "independent", "tokens": 3}),
    ("erc20", {"pattern": "clusters"}),
    ("erc20", {"pattern": "clusters", "clusters": 1, "people": 2, "transfers": 3}),
    ("erc20", {"pattern": "transfer_from"}),
    ("erc20", {"pattern": "transfer_from", "owners": 2}),
    ("erc20", {"pattern": "weth"}),
    ("amm", {"pattern": "independent"}),
    ("amm", {"pattern": "independent", "pools": 3, "weth": True}),
    ("amm", {"pattern": "hot"}),
    ("amm", {"pattern": "multihop"}),
    ("amm", {"pattern": "multihop", "tokens": 4, "hops": 2}),
    ("beneficiary", {"mode": "balance"}),
    ("beneficiary", {"mode": "balance", "every": 3}),
    ("beneficiary", {"mode": "selfbalance"}),
    ("beneficiary", {"mode": "sends"}),
    ("beneficiary", {"mode": "last"}),
    ("mixed", {}),
    ("delegations", {"pattern": "batches"}),
    ("delegations", {"pattern": "batches", "calls": 1, "wallets": 2}),
    ("delegations", {"pattern": "pays"}),
]
SMALL_CASES = [(0, None), (1, "transfer"), (1, "erc20"), (1, "swap"), (2, "transfer"), (2, "erc20"), (2, "swap")]
SIZES = {"small": 10, "medium": 200}


def case_id(case) -> str:
    family, knobs = case
    return "-".join([family] + [f"{k}={v}" for k, v in knobs.items()])


def _receipt_view(receipt) -> tuple:
    return (receipt.status, receipt.gas_used, receipt.cumulative_gas_used, receipt.contract_address,
            receipt.tx_type, receipt.logs_bloom,
            tuple((log.address, tuple(log.topics), bytes(log.data)) for log in receipt.logs))


def assert_same_result(got, want) -> None:
    """Receipts, post-state and roots identical (parallel vs sequential)."""
    assert len(got.receipts) == len(want.receipts)
    for index, (a, b) in enumerate(zip(got.receipts, want.receipts)):
        assert _receipt_view(a) == _receipt_view(b), f"receipt {index} differs"
    if got.post_state != want.post_state:
        keys = set(got.post_state) | set(want.post_state)
        differing = sorted(k for k in keys if got.post_state.get(k) != want.post_state.get(k))
        raise AssertionError(f"post_state differs at {len(differing)} accounts, e.g. {differing[:3]}")
    assert got.state_root == want.state_root
    assert got.receipts_root == want.receipts_root
    assert got.logs_bloom == want.logs_bloom


def execute_parallel(fixture, threads: int):
    """Block-STM forced (no sequential fallback for small blocks)."""
    return blockstm.execute(fixture, mode="parallel", threads=threads, parallel_threshold=0)
