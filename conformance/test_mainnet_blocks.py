"""Real mainnet blocks: sequential, then parallel on 2 and on --engine-threads threads,
each parallel variant repeated --rerun-parallel times.

Every run must match the header (gasUsed, logsBloom, receiptsRoot from Byzantium on)
and every parallel run must equal the sequential one in full (receipts, logs, blooms,
roots, post-state, block access list), and the block executed in parallel from its
own access list must too. Item ids: ``test_mainnet_block[<number>-<seq|par-tN>]``.
"""

from __future__ import annotations

import pytest

from conformance import checks, plugin


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "block_number" in metafunc.fixturenames:
        metafunc.parametrize("block_number,variant,threads", plugin.mainnet_params(metafunc.config))


def _sequential_digest(conformance, engine, block):
    """The sequential result of a block, computed once per session (a parallel item
    run alone, or on another xdist worker, computes it itself)."""
    digest = conformance.sequential_digests.get(block.number)
    if digest is None:
        res = engine.execute(block.fixture_json, "sequential")
        digest = checks.result_digest(res)
        conformance.sequential_digests[block.number] = digest
    return digest


def test_mainnet_block(block_number, variant, threads, conformance, engine, record_property):
    if block_number is None:
        plugin.missing_data(conformance.mainnet_lookup)
    block = conformance.mainnet_block(block_number)
    record = {"fork": block.fork, "txs": block.tx_count, "gas": block.gas_used}
    record_property("conformance_mainnet", record)
    head = f"block {block.number} ({block.fork}), {variant}"

    if variant == "seq":
        res = engine.execute(block.fixture_json, "sequential")
        record["mode_used"] = res.stats.get("mode", "sequential")
        conformance.sequential_digests[block.number] = checks.result_digest(res)
        failures = checks.check_mainnet_header(block, res)
        if failures:
            pytest.fail("\n".join([head, *failures]), pytrace=False)
        return

    reference = _sequential_digest(conformance, engine, block)
    failures = []
    modes_used, reexecutions = set(), 0
    for attempt in range(conformance.reruns):
        res = engine.execute(block.fixture_json, "parallel", threads, parallel_threshold=0)
        stats = res.stats
        modes_used.add(f"{stats.get('mode', '?')}{' (fallback)' if stats.get('fallback') else ''}")
        reexecutions = max(reexecutions, int(stats.get("reexecutions", 0)))
        run_failures = checks.check_mainnet_header(block, res)
        run_failures += [f"differs from sequential: {d}" for d in checks.compare_digests(reference, checks.result_digest(res))]
        if run_failures:
            failures.append(f"run {attempt + 1}/{conformance.reruns} on {threads} threads:")
            failures += [f"  {line}" for line in run_failures]
    # A validator's run: the block executed from its own access list.
    listed = engine.execute(block.fixture_json, "parallel", threads, access_list=res.block_access_list_rlp)
    listed_failures = checks.check_mainnet_header(block, listed)
    listed_failures += [f"differs from sequential: {d}" for d in checks.compare_digests(reference, checks.result_digest(listed))]
    if checks.unexplained_reexecutions(listed, res):
        listed_failures.append(f"{listed.stats['reexecutions']} re-executions")
    if listed_failures:
        failures.append(f"executed with its access list on {threads} threads:")
        failures += [f"  {line}" for line in listed_failures]
    record["mode_used"] = ", ".join(sorted(modes_used))
    record["reexecutions"] = reexecutions
    if failures:
        pytest.fail("\n".join([head, *failures]), pytrace=False)
