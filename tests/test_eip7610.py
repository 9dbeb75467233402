"""EIP-7610: a CREATE2 onto an address that has storage but no code and no nonce
collides — sequentially, in parallel at every thread count, and as EELS says.

The parallel engine decides it with a recorded read, so a lower transaction that wipes
the storage (an EIP-161 touch of the empty account, before the merge) must make a
higher CREATE2 that already ran re-execute and succeed."""

from __future__ import annotations

import pytest

import blockstm
from tests.blocks import ETHER, block, tx
from tests.test_parallel import CHILD_INIT, FACTORY, address, check_parallel, create2_address, execute_parallel

FACTORY_ADDRESS = "0xfac0000000000000000000000000000000000001"
TARGET = create2_address(FACTORY_ADDRESS, 0, CHILD_INIT)
REPEATS = 10


def collision_block(fork: str, target_balance: int, touch_first: bool):
    """Eight senders; the factory CREATE2s onto TARGET (storage only) at tx 4; with
    `touch_first`, tx 0 calls TARGET with no value first (EIP-161 deletes it, storage
    and all, when it is empty)."""
    pre = {address(i): {"balance": hex(ETHER), "nonce": "0x0"} for i in range(8)}
    pre[FACTORY_ADDRESS] = {"balance": "0x0", "nonce": "0x1", "code": FACTORY}
    pre[TARGET] = {"balance": hex(target_balance), "nonce": "0x0", "storage": {"0x05": "0x09"}}
    txs = [tx(sender=address(i), to=address(100 + i), value=1, gas=21_000) for i in range(8)]
    if touch_first:
        txs[0] = tx(sender=address(0), to=TARGET, value=0, gas=50_000)
    txs[4] = tx(sender=address(4), to=FACTORY_ADDRESS, data=CHILD_INIT, gas=300_000)
    return block(txs, pre=pre, fork=fork)


def created(result) -> bool:
    """Whether the factory's CREATE2 succeeded (it stores the new address, 0 on failure)."""
    return result.post_state[FACTORY_ADDRESS]["storage"].get(0, 0) == int(TARGET, 16)


def agrees_with_eels(fixture, result):
    reference = pytest.importorskip("properties.reference")
    problems = reference.diff_results(reference.run_reference(fixture), result)
    assert not problems, "\n".join(problems)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fork", ["Istanbul", "London", "Cancun"])
def test_create2_onto_storage_collides(fork):
    fixture = collision_block(fork, target_balance=1, touch_first=False)
    seq, _ = check_parallel(fixture, repeats=REPEATS)
    assert seq.receipts[4].status == 1  # the factory ran; its CREATE2 returned 0
    assert not created(seq)
    assert seq.post_state[TARGET]["storage"] == {5: 9}
    agrees_with_eels(fixture, seq)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fork", ["Istanbul", "London"])
def test_a_lower_touch_that_deletes_the_storage_lets_the_create2_through(fork):
    fixture = collision_block(fork, target_balance=0, touch_first=True)
    seq, runs = check_parallel(fixture, repeats=REPEATS)
    assert created(seq)
    agrees_with_eels(fixture, seq)
    # Without the touch the same block collides.
    untouched = collision_block(fork, target_balance=0, touch_first=False)
    seq2, _ = check_parallel(untouched, repeats=REPEATS)
    assert not created(seq2)
    agrees_with_eels(untouched, seq2)


def test_collision_rule_holds_for_a_single_transaction_in_parallel_mode():
    fixture = collision_block("Cancun", target_balance=1, touch_first=False)
    fixture["transactions"] = [fixture["transactions"][4]]
    seq = blockstm.execute(fixture)
    par = execute_parallel(fixture, 2)
    assert not created(seq) and not created(par)
    assert seq.state_root == par.state_root
