"""The generated blocks do what they claim, judged by the Ethereum execution specs
(EELS) instead of the engine: a check of the generators themselves."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

import generators
from generators import checks
from generators.builder import pack_reserves, unpack_reserves
from generators.compile import compiled
from generators.evm import addr_hex, mapping_slot

from properties.reference import run_reference
from .conftest import CASES, SMALL_CASES, case_id

EELS_TXS = 8   # EELS is pure Python: ~0.1 s per swap


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_family_passes_checks_under_eels(case):
    family, knobs = case
    gen = generators.build(family, 30 if family == "mixed" else EELS_TXS, seed=5, **knobs)
    checks.check_all(gen, run_reference(gen.fixture, allow_empty_accounts=True))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("txs,kind", SMALL_CASES)
def test_small_passes_checks_under_eels(txs, kind):
    gen = generators.build("small", txs, seed=5, kind=kind)
    checks.check_all(gen, run_reference(gen.fixture, allow_empty_accounts=True))


# -- the checks catch wrong results -------------------------------------------------

def _tampered(result, edit):
    post = copy.deepcopy(result.post_state)
    receipts = [SimpleNamespace(**vars(r)) for r in result.receipts]
    edit(post, receipts)
    return SimpleNamespace(post_state=post, receipts=receipts)


@pytest.fixture(scope="module")
def mixed_block():
    gen = generators.build("mixed", 40, seed=9)
    result = run_reference(gen.fixture, allow_empty_accounts=True)
    checks.check_all(gen, result)
    return gen, result


def _first(gen, kind):
    return next(d for d in gen.drafts if d.op[0] == kind)


def test_checks_catch_a_moved_token_balance(mixed_block):
    gen, result = mixed_block
    _, token, sender, recipient, _ = _first(gen, "transfer").op

    def edit(post, receipts):   # supply-preserving: only the model can tell
        storage = post[addr_hex(token.address)]["storage"]
        storage[token.balance_slot(sender)] += 1
        storage[token.balance_slot(recipient)] -= 1

    with pytest.raises(AssertionError):
        checks.check_tokens(gen, _tampered(result, edit))


def test_checks_catch_a_stray_token_slot(mixed_block):
    gen, result = mixed_block
    token = gen.tokens[0]

    def edit(post, receipts):
        post[addr_hex(token.address)]["storage"][12345] = 1

    with pytest.raises(AssertionError, match="unexpected storage"):
        checks.check_tokens(gen, _tampered(result, edit))


def test_checks_catch_wrong_reserves(mixed_block):
    gen, result = mixed_block
    pool = gen.pools[0]
    slot = compiled("pair").storage["packed_reserves"]

    def edit(post, receipts):
        storage = post[addr_hex(pool.address)]["storage"]
        r0, r1, ts = unpack_reserves(storage[slot])
        storage[slot] = pack_reserves(r0 + 1, r1, ts)

    with pytest.raises(AssertionError):
        checks.check_pools(gen, _tampered(result, edit))


def test_checks_catch_wrong_ether(mixed_block):
    gen, result = mixed_block
    draft = _first(gen, "eth")

    def edit(post, receipts):
        post[addr_hex(draft.to)]["balance"] += 1

    with pytest.raises(AssertionError):
        checks.check_eth(gen, _tampered(result, edit))


def test_checks_catch_a_wrong_coinbase_reading(mixed_block):
    gen, result = mixed_block
    _, contract, caller = _first(gen, "probe").op
    slot = mapping_slot(compiled("coinbase_probe").storage["seen"], caller)

    def edit(post, receipts):
        post[addr_hex(contract)]["storage"][slot] -= 10**9

    with pytest.raises(AssertionError, match="probe saw"):
        checks.check_probes(gen, _tampered(result, edit))


def test_checks_catch_a_failed_tx(mixed_block):
    gen, result = mixed_block

    def edit(post, receipts):
        receipts[3].status = 0

    with pytest.raises(AssertionError, match="status"):
        checks.check_statuses(gen, _tampered(result, edit))
