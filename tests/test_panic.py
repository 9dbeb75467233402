"""A panic inside the extension reaches Python as an exception; the interpreter lives."""

from __future__ import annotations

import pytest

import blockstm
from tests.blocks import block, tx


def test_panic_becomes_engine_error_and_engine_still_works():
    with pytest.raises(blockstm.EngineError, match="deliberate panic"):
        blockstm._engine._panic_for_tests()
    assert blockstm.execute(block([tx(gas=21_000)])).receipts[0].status == 1
