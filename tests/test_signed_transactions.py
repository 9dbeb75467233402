"""Signed transactions: the engine recovers each sender from v/r/s.

The oracle is independent of the engine: EELS computes each transaction type's signing
hash, coincurve signs it with a known key, and the engine — alloy's encodings and k256
— must find the key's address (its nonce and balance move in the post-state).
"""

from __future__ import annotations

import coincurve
import pytest
from ethereum.forks.cancun import transactions as eels
from ethereum_types.bytes import Bytes, Bytes0, Bytes20, Bytes32
from ethereum_types.numeric import U64, U256, Uint

import blockstm
from tests.blocks import ALICE, BOB, ETHER, block

# ALICE's secret key (the ethereum/tests key of 0xa94f…).
KEY = bytes.fromhex("45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8")
SECP256K1N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SLOT = "0x" + "00" * 31 + "07"
BLOB_HASH = "0x01" + "ab" * 31


def _sign(digest: bytes) -> tuple[int, int, int]:
    sig = coincurve.PrivateKey(KEY).sign_recoverable(digest, hasher=None)
    return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]


def _access():
    return (eels.Access(account=Bytes20(bytes.fromhex(BOB[2:])), slots=(Bytes32(bytes.fromhex(SLOT[2:])),)),)


def signed(kind: str, nonce: int = 0) -> dict:
    """A transaction of `kind` from ALICE to BOB, signed, without `sender`."""
    to, value, gas, data = Bytes20(bytes.fromhex(BOB[2:])), 5, 100_000, Bytes(b"\x01\x02")
    fields = {"to": BOB, "nonce": hex(nonce), "value": hex(value), "gasLimit": hex(gas), "data": "0x0102"}
    if kind in ("legacy", "legacy-155"):
        tx = eels.LegacyTransaction(nonce=U256(nonce), gas_price=Uint(10), gas=Uint(gas), to=to, value=U256(value),
                                    data=data, v=U256(0), r=U256(0), s=U256(0))
        if kind == "legacy":
            r, s, parity = _sign(eels.signing_hash_pre155(tx))
            v = 27 + parity
        else:
            r, s, parity = _sign(eels.signing_hash_155(tx, U64(1)))
            v = 35 + 2 * 1 + parity
        return {**fields, "gasPrice": "0xa", "v": hex(v), "r": hex(r), "s": hex(s)}
    access_json = [{"address": BOB, "storageKeys": [SLOT]}]
    if kind == "2930":
        tx = eels.AccessListTransaction(chain_id=U64(1), nonce=U256(nonce), gas_price=Uint(10), gas=Uint(gas), to=to,
                                        value=U256(value), data=data, access_list=_access(), y_parity=U256(0),
                                        r=U256(0), s=U256(0))
        r, s, parity = _sign(eels.signing_hash_2930(tx))
        return {**fields, "type": "0x1", "chainId": "0x1", "gasPrice": "0xa", "accessList": access_json,
                "v": hex(parity), "r": hex(r), "s": hex(s)}
    if kind == "1559":
        tx = eels.FeeMarketTransaction(chain_id=U64(1), nonce=U256(nonce), max_priority_fee_per_gas=Uint(2),
                                       max_fee_per_gas=Uint(20), gas=Uint(gas), to=to, value=U256(value), data=data,
                                       access_list=_access(), y_parity=U256(0), r=U256(0), s=U256(0))
        r, s, parity = _sign(eels.signing_hash_1559(tx))
        return {**fields, "type": "0x2", "chainId": "0x1", "maxFeePerGas": "0x14", "maxPriorityFeePerGas": "0x2",
                "accessList": access_json, "yParity": hex(parity), "r": hex(r), "s": hex(s)}
    if kind == "4844":
        tx = eels.BlobTransaction(chain_id=U64(1), nonce=U256(nonce), max_priority_fee_per_gas=Uint(2),
                                  max_fee_per_gas=Uint(20), gas=Uint(gas), to=to, value=U256(value), data=data,
                                  access_list=_access(), max_fee_per_blob_gas=U256(3),
                                  blob_versioned_hashes=(Bytes32(bytes.fromhex(BLOB_HASH[2:])),),
                                  y_parity=U256(0), r=U256(0), s=U256(0))
        r, s, parity = _sign(eels.signing_hash_4844(tx))
        return {**fields, "type": "0x3", "chainId": "0x1", "maxFeePerGas": "0x14", "maxPriorityFeePerGas": "0x2",
                "accessList": access_json, "maxFeePerBlobGas": "0x3", "blobVersionedHashes": [BLOB_HASH],
                "v": hex(parity), "r": hex(r), "s": hex(s)}
    raise ValueError(kind)


KINDS = ["legacy", "legacy-155", "2930", "1559", "4844"]


def run(fixture: dict, mode: str, parallel_threshold: int | None = None) -> blockstm.BlockResult:
    if mode == "parallel":
        return blockstm.execute(fixture, "parallel", 2, parallel_threshold=parallel_threshold)
    return blockstm.execute(fixture, "sequential")


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_sender_is_recovered(kind, mode):
    txs = [signed(kind, nonce) for nonce in range(3)]
    res = run(block(txs), mode, parallel_threshold=0)
    alice = res.post_state[ALICE]
    assert alice["nonce"] == 3
    assert alice["balance"] < 10 * ETHER - 15
    assert res.post_state[BOB]["balance"] == 15


def test_a_signed_block_equals_the_same_block_with_senders():
    txs = [signed(kind, nonce) for nonce, kind in enumerate(KINDS)]
    with_senders = [{**{k: v for k, v in tx.items() if k not in ("v", "r", "s", "yParity")}, "sender": ALICE}
                    for tx in txs]
    for tx, plain in zip(txs, with_senders):
        if "chainId" not in tx:
            plain["chainId"] = "0x1" if int(tx["v"], 16) >= 35 else None
    assert run(block(txs), "sequential") == run(block(with_senders), "sequential")


def test_a_legacy_v_carries_the_chain_id():
    tx = signed("legacy-155")
    res = run(block([tx], currentChainId="0x1"), "sequential")
    assert res.post_state[ALICE]["nonce"] == 1
    with pytest.raises(blockstm.InvalidTransaction) as err:
        run(block([tx], currentChainId="0x5"), "sequential")
    assert err.value.kind == "invalid_chain_id"


def _invalid(tx, fork="Cancun", mode="sequential"):
    fixture = block([signed("legacy", 0), tx], fork=fork)
    with pytest.raises(blockstm.InvalidTransaction) as err:
        run(fixture, mode, parallel_threshold=0)
    assert err.value.index == 1
    return err.value


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_bad_signatures_are_invalid_transactions(mode):
    good = signed("1559", nonce=1)
    high_s = {**good, "s": hex(SECP256K1N - int(good["s"], 16)), "yParity": hex(1 - int(good["yParity"], 16))}
    cases = {
        "r zero": {**good, "r": "0x0"},
        "s at n": {**good, "s": hex(SECP256K1N)},
        "y-parity 2": {**good, "yParity": "0x2"},
        "high s (EIP-2)": high_s,
        "legacy v 29": {**signed("legacy", nonce=1), "v": "0x1d"},
    }
    for name, tx in cases.items():
        err = _invalid(tx, mode=mode)
        assert err.kind == "invalid_signature", name


def test_high_s_is_valid_before_homestead_and_eip155_before_spurious_dragon_is_not():
    tx = signed("legacy")
    flipped = {**tx, "s": hex(SECP256K1N - int(tx["s"], 16)), "v": hex(27 + 28 - int(tx["v"], 16))}
    frontier = block([flipped], fork="Frontier")
    frontier["env"].pop("currentBaseFee")
    assert run(frontier, "sequential").post_state[ALICE]["nonce"] == 1
    homestead = {**frontier, "fork": "Homestead"}
    with pytest.raises(blockstm.InvalidTransaction) as err:
        run(homestead, "sequential")
    assert err.value.kind == "invalid_signature"
    eip150 = {**frontier, "fork": "EIP150", "transactions": [signed("legacy-155")]}
    with pytest.raises(blockstm.InvalidTransaction) as err:
        run(eip150, "sequential")
    assert err.value.kind == "invalid_signature"


def test_a_partial_signature_is_a_fixture_error():
    tx = signed("legacy")
    del tx["r"]
    with pytest.raises(blockstm.FixtureError) as err:
        blockstm.execute(block([tx]))
    assert err.value.path == "transactions[0].r"
