"""Sequential execution end to end: transfers, creation, calls, reverts, out of gas."""

from __future__ import annotations

import json

import blockstm
from tests.blocks import (ALICE, BOB, COINBASE, CONTRACT, DEPLOY_STORE_AND_LOG, ETHER, INFINITE_LOOP,
                          STORE_AND_LOG, STORE_THEN_REVERT, block, tx)


def test_value_transfer_moves_value_fee_and_nonce():
    res = blockstm.execute(block([tx(value=ETHER, gas=21_000)]))
    (r,) = res.receipts
    assert (r.status, r.gas_used, r.cumulative_gas_used, r.logs, r.contract_address) == (1, 21_000, 21_000, [], None)
    post = res.post_state
    # gasPrice 10 with base fee 7: 7 per gas is burnt, 3 per gas goes to the coinbase.
    assert post[ALICE]["balance"] == 10 * ETHER - ETHER - 21_000 * 10
    assert post[ALICE]["nonce"] == 1
    assert post[BOB] == {"balance": ETHER, "nonce": 0, "code": b"", "storage": {}}
    assert post[COINBASE]["balance"] == 21_000 * 3
    assert res.stats["mode"] == "sequential" and res.stats["fallback"] is None


def test_create_then_call_stores_and_logs():
    create = tx(nonce=0, to=None, data=DEPLOY_STORE_AND_LOG, gas=200_000)
    first = blockstm.execute(block([create]))
    address = first.receipts[0].contract_address
    assert first.receipts[0].status == 1 and address is not None
    assert first.post_state[address]["code"] == bytes.fromhex(STORE_AND_LOG)
    call = tx(nonce=1, to=address, data="0x" + "00" * 31 + "2a", gas=100_000)
    res = blockstm.execute(block([create, call]))
    created, called = res.receipts
    assert called.status == 1
    assert called.cumulative_gas_used == created.gas_used + called.gas_used
    assert res.post_state[address]["storage"] == {0: 0x2A}
    (log,) = called.logs
    assert log.address == address
    assert log.topics == ["0x" + "00" * 31 + "aa"]
    assert log.data == (0x2A).to_bytes(32, "big")
    assert res.logs_bloom != "0x" + "00" * 256
    assert res.tx_changes[1][address]["storage"] == {0: 0x2A}


def test_revert_undoes_writes_but_charges_gas_and_nonce():
    pre = {ALICE: {"balance": hex(ETHER), "nonce": "0x0"},
           CONTRACT: {"balance": "0x0", "nonce": "0x1", "code": STORE_THEN_REVERT, "storage": {}}}
    res = blockstm.execute(block([tx(to=CONTRACT, gas=100_000)], pre=pre))
    (r,) = res.receipts
    assert r.status == 0 and 21_000 < r.gas_used < 100_000
    assert res.post_state[CONTRACT]["storage"] == {}
    assert res.post_state[ALICE]["nonce"] == 1
    assert res.post_state[ALICE]["balance"] == ETHER - r.gas_used * 10


def test_out_of_gas_consumes_the_whole_gas_limit():
    pre = {ALICE: {"balance": hex(ETHER), "nonce": "0x0"},
           CONTRACT: {"balance": "0x0", "nonce": "0x1", "code": INFINITE_LOOP}}
    res = blockstm.execute(block([tx(to=CONTRACT, gas=50_000)], pre=pre))
    (r,) = res.receipts
    assert (r.status, r.gas_used) == (0, 50_000)
    assert res.post_state[ALICE]["balance"] == ETHER - 50_000 * 10


def test_dict_str_and_bytes_inputs_agree():
    fixture = block([tx(value=5, gas=21_000), tx(nonce=1, value=7, gas=21_000)])
    results = [blockstm.execute(x) for x in (fixture, json.dumps(fixture), json.dumps(fixture).encode())]
    assert len({r.state_root for r in results}) == 1
    assert results[0].receipts == results[1].receipts == results[2].receipts
    assert results[0].receipts_root == results[2].receipts_root


def test_empty_block_leaves_the_state_alone():
    res = blockstm.execute(block([]))
    assert res.receipts == [] and res.gas_used == 0
    assert list(res.post_state) == [ALICE]


def test_pre_byzantium_receipts_carry_intermediate_state_roots():
    fixture = block([tx(value=1, gas=21_000), tx(nonce=1, value=2, gas=21_000)], fork="Homestead",
                    currentBaseFee=None)
    fixture["env"].pop("currentBaseFee")
    res = blockstm.execute(fixture)
    roots = [r.post_state_root for r in res.receipts]
    assert roots[1] == res.state_root and roots[0] != roots[1]
    byz = blockstm.execute({**fixture, "fork": "Byzantium"})
    assert all(r.post_state_root is None for r in byz.receipts)
    assert byz.receipts_root != res.receipts_root


def test_secret_key_stands_in_for_the_sender():
    t = tx(value=1, gas=21_000)
    del t["sender"]
    t["secretKey"] = "0x45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8"
    res = blockstm.execute(block([t]))
    assert res.post_state[ALICE]["nonce"] == 1
