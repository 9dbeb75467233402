"""Every invalid-transaction kind: the block is rejected with the right index and kind."""

from __future__ import annotations

import pytest

import blockstm
from tests.blocks import ALICE, BOB, CONTRACT, ETHER, block, tx

BLOB = "0x01" + "00" * 31

CASES = {
    "nonce_too_low": lambda: block([tx(nonce=0, gas=21_000)],
                                   pre={ALICE: {"balance": hex(ETHER), "nonce": "0x1"}}),
    "nonce_too_high": lambda: block([tx(nonce=0, gas=21_000), tx(nonce=2, gas=21_000)]),
    "nonce_overflow": lambda: block([tx(nonce=2**64 - 1, gas=21_000)],
                                    pre={ALICE: {"balance": hex(ETHER), "nonce": hex(2**64 - 1)}}),
    "insufficient_funds": lambda: block([tx(value=ETHER, gas=21_000)],
                                        pre={ALICE: {"balance": hex(ETHER), "nonce": "0x0"}}),
    "intrinsic_gas_too_low": lambda: block([tx(gas=20_999)]),
    "gas_limit_above_block": lambda: block([tx(gas=30_000_001)]),
    "block_gas_exhausted": lambda: block([tx(gas=20_000_000), tx(nonce=1, gas=30_000_000 - 21_000 + 1)]),
    "fee_cap_below_base_fee": lambda: block([tx(gas=21_000, maxFeePerGas="0x6", maxPriorityFeePerGas="0x1")]),
    "priority_fee_above_fee_cap": lambda: block([tx(gas=21_000, maxFeePerGas="0x8", maxPriorityFeePerGas="0x9")]),
    "sender_has_code": lambda: block([tx(gas=21_000, sender=CONTRACT)],
                                     pre={CONTRACT: {"balance": hex(ETHER), "nonce": "0x0", "code": "0x00"}}),
    "init_code_too_large": lambda: block([tx(to=None, data="0x" + "00" * 49_153, gas=10_000_000)]),
    "invalid_chain_id": lambda: block([tx(gas=21_000, chainId="0x5")]),
    "tx_type_not_supported": lambda: block([tx(gas=21_000, maxFeePerGas="0x8", maxPriorityFeePerGas="0x1")],
                                           fork="Berlin"),
    "empty_blobs": lambda: block([tx(gas=21_000, type="0x3", maxFeePerGas="0x8", maxPriorityFeePerGas="0x1",
                                     maxFeePerBlobGas="0x1", blobVersionedHashes=[])]),
    "blob_create": lambda: block([tx(to=None, gas=100_000, maxFeePerGas="0x8", maxPriorityFeePerGas="0x1",
                                     maxFeePerBlobGas="0x1", blobVersionedHashes=[BLOB])]),
    "too_many_blobs": lambda: block([tx(gas=21_000, maxFeePerGas="0x8", maxPriorityFeePerGas="0x1",
                                        maxFeePerBlobGas="0x1", blobVersionedHashes=[BLOB] * 7)]),
    "blob_version_not_supported": lambda: block([tx(gas=21_000, maxFeePerGas="0x8", maxPriorityFeePerGas="0x1",
                                                    maxFeePerBlobGas="0x1",
                                                    blobVersionedHashes=["0x02" + "00" * 31])]),
    "blob_fee_cap_too_low": lambda: block([tx(gas=21_000, maxFeePerGas="0x8", maxPriorityFeePerGas="0x1",
                                              maxFeePerBlobGas="0x0", blobVersionedHashes=[BLOB])]),
    "blob_block_gas_exhausted": lambda: block([
        tx(gas=21_000, maxFeePerGas="0x8", maxPriorityFeePerGas="0x1", maxFeePerBlobGas="0x1",
           blobVersionedHashes=[BLOB] * 6),
        tx(nonce=1, gas=21_000, maxFeePerGas="0x8", maxPriorityFeePerGas="0x1", maxFeePerBlobGas="0x1",
           blobVersionedHashes=[BLOB])]),
}

EXPECTED_INDEX = {"nonce_too_high": 1, "block_gas_exhausted": 1, "blob_block_gas_exhausted": 1}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_invalid_transaction_kind_and_index(kind):
    with pytest.raises(blockstm.InvalidTransaction) as info:
        blockstm.execute(CASES[kind]())
    assert info.value.kind == kind, str(info.value)
    assert info.value.index == EXPECTED_INDEX.get(kind, 0)
    assert kind in blockstm.INVALID_TX_KINDS


def test_every_documented_kind_is_known_to_the_engine():
    assert tuple(blockstm._engine._invalid_tx_kinds()) == blockstm.INVALID_TX_KINDS


def test_payment_overflow_is_rejected():
    fixture = block([tx(value=2**256 - 1, gas=21_000)],
                    pre={ALICE: {"balance": hex(2**256 - 1), "nonce": "0x0"}})
    with pytest.raises(blockstm.InvalidTransaction) as info:
        blockstm.execute(fixture)
    assert info.value.kind in ("payment_overflow", "insufficient_funds")


def test_invalid_transaction_pickles_with_its_attributes():
    import pickle
    err = pickle.loads(pickle.dumps(blockstm.InvalidTransaction("m", 3, "nonce_too_low")))
    assert (err.index, err.kind, str(err)) == (3, "nonce_too_low", "m")


def test_gas_price_above_u128_is_unaffordable_not_malformed():
    with pytest.raises(blockstm.InvalidTransaction) as info:
        blockstm.execute(block([tx(gas=21_000, gasPrice=hex(2**200))]))
    assert (info.value.index, info.value.kind) == (0, "insufficient_funds")
