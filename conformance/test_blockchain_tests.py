"""ethereum/tests BlockchainTests (ValidBlocks, InvalidBlocks, TransitionTests), every
test in both modes.

Item ids: ``test_blockchain[<file>::<test>[<network>]-<seq|par>]``; select with ``-k``
by folder, file, test or network (``-k "bcUncleTest and London"``; modes:
``sequential`` / ``parallel``). Every block runs on its parent's result: a valid block
must match its header (gasUsed, logsBloom, receiptTrie, stateRoot); an invalid one must
be rejected as its `expectException` class says (conformance/blocktests.py); at the end
the state of `lastblockhash` must equal `postState` (or its root `postStateHash`). A
test with a block whose rule is outside the engine (a header or consensus rule) is a
skip naming it, once everything else has been checked. The items are made by
conformance/plugin.py.
"""

from __future__ import annotations

import pytest

from conformance import plugin


@plugin.blockchain_tests
def test_blockchain(ref, mode, conformance, item):
    if ref is None:
        plugin.missing_data(conformance.blockchain_lookup)
    engine = plugin.require_engine()
    test = conformance.blockchain_test(ref)
    outcome = test.run(engine, mode, conformance.threads)
    plugin.record_blocks(item, outcome.counts)
    if outcome.failures:
        pytest.fail("\n".join(outcome.failures), pytrace=False)
    if outcome.header_only:
        pytest.skip(outcome.skip_reason())
