"""The hand-laid pre-state equals what deploying the contracts writes (code with
immutables, blueprint, CREATE2 pair address, every storage slot)."""

from __future__ import annotations

import pytest

from properties.reference import run_reference
from .conftest import blockstm, requires_engine
from .deploy import compare, deploy_fixture, layout_system


def test_layout_matches_deployment_eels():
    layout, names = layout_system()
    result = run_reference(deploy_fixture(names), allow_empty_accounts=True)
    assert [r.status for r in result.receipts] == [1] * len(result.receipts), \
        [i for i, r in enumerate(result.receipts) if r.status != 1]
    assert compare(layout, names, result.post_state) == []


@requires_engine
@pytest.mark.timeout(60)
def test_layout_matches_deployment_engine():
    layout, names = layout_system()
    result = blockstm.execute(deploy_fixture(names))
    assert [r.status for r in result.receipts] == [1] * len(result.receipts)
    assert compare(layout, names, result.post_state) == []
