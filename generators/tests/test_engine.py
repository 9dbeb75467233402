"""Every family through the engine: sequential results pass the engine-independent
checks and equal EELS's; parallel results equal sequential ones."""

from __future__ import annotations

import pytest

import generators
from generators import checks

from properties.reference import run_reference
from .conftest import (
    CASES,
    SIZES,
    SMALL_CASES,
    assert_same_result,
    blockstm,
    case_id,
    execute_parallel,
    requires_engine,
)

pytestmark = requires_engine
THREADS = (2, 4)


def _build(case, size: str):
    family, knobs = case
    return generators.build(family, SIZES[size], seed=21, **knobs)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_sequential_passes_checks(case, size):
    gen = _build(case, size)
    checks.check_all(gen, blockstm.execute(gen.fixture, mode="sequential"))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("txs,kind", SMALL_CASES)
def test_small_sequential(txs, kind):
    gen = generators.build("small", txs, seed=21, kind=kind)
    result = blockstm.execute(gen.fixture, mode="sequential")
    checks.check_all(gen, result)
    assert_matches_eels(result, run_reference(gen.fixture, allow_empty_accounts=True))


def assert_matches_eels(result, oracle) -> None:
    assert [(r.status, r.gas_used, r.cumulative_gas_used) for r in result.receipts] == \
        [(r.status, r.gas_used, r.cumulative_gas_used) for r in oracle.receipts]
    for index, (a, b) in enumerate(zip(result.receipts, oracle.receipts)):
        assert [(l.address, list(l.topics), bytes(l.data)) for l in a.logs] == \
            [(l.address, list(l.topics), l.data) for l in b.logs], f"logs of tx {index}"
    got = {addr: {"balance": acc["balance"], "nonce": acc["nonce"], "code": bytes(acc["code"]),
                  "storage": {k: v for k, v in acc["storage"].items() if v}}
           for addr, acc in result.post_state.items()}
    assert got == oracle.post_state
    assert result.state_root == oracle.state_root
    assert result.receipts_root == oracle.receipts_root
    assert result.logs_bloom == oracle.logs_bloom


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_sequential_matches_eels(case):
    family, knobs = case
    gen = generators.build(family, 30 if family == "mixed" else 8, seed=21, **knobs)
    assert_matches_eels(blockstm.execute(gen.fixture, mode="sequential"), run_reference(gen.fixture, allow_empty_accounts=True))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_parallel_matches_sequential(case, size, threads):
    gen = _build(case, size)
    sequential = blockstm.execute(gen.fixture, mode="sequential")
    assert_same_result(execute_parallel(gen.fixture, threads), sequential)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("txs,kind", SMALL_CASES)
def test_small_parallel_matches_sequential(txs, kind, threads):
    gen = generators.build("small", txs, seed=21, kind=kind)
    sequential = blockstm.execute(gen.fixture, mode="sequential")
    assert_same_result(execute_parallel(gen.fixture, threads), sequential)


# -- gigagas blocks: generated and executed once ------------------------------------

GIGAGAS = [
    ("transfers", {"pattern": "independent"}),
    ("erc20", {"pattern": "independent"}),
    ("amm", {"pattern": "independent"}),
    ("mixed", {}),
]


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("case", GIGAGAS, ids=case_id)
def test_gigagas_block_sequential(case):
    family, knobs = case
    gen = generators.build(family, gas=1_000_000_000, seed=1, **knobs)
    sequential = blockstm.execute(gen.fixture, mode="sequential")
    checks.check_all(gen, sequential)
    used = sequential.receipts[-1].cumulative_gas_used
    assert 0.95e9 <= used <= 1.05e9, used


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("case", GIGAGAS, ids=case_id)
def test_gigagas_block_parallel(case):
    family, knobs = case
    fixture = generators.generate(family, gas=1_000_000_000, seed=1, **knobs)
    parallel = execute_parallel(fixture, 2)
    assert_same_result(parallel, blockstm.execute(fixture, mode="sequential"))
