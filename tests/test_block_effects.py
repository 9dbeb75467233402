"""Block-level effects (docs/block-fixture.md): the DAO drain and the EIP-4788 call
before the transactions, rewards and withdrawals after them; chains of blocks through
``pre_state``. Each in both modes: Block-STM must give the sequential result."""

from __future__ import annotations

import pickle

import pytest

import blockstm
from tests.blocks import ALICE, BOB, COINBASE, CONTRACT, ETHER, block, tx

BEACON_ROOTS = "0x000f3df6d732807ef1319fb7b8bb8522d0beac02"
# The EIP-4788 contract, as deployed on mainnet.
BEACON_ROOTS_CODE = ("0x3373fffffffffffffffffffffffffffffffffffffffe14604d57602036146024575f5ffd5b5f358015604957"
                     "62001fff810690815414603c575f5ffd5b62001fff01545f5260205ff35b5f5ffd5b62001fff42064281555f35"
                     "9062001fff015500")
# Asks the beacon-roots contract for the root of this block's timestamp:
# slot 1 = whether the call succeeded, slot 0 = the word returned.
READ_BEACON_ROOT = "0x42600052" "6020600060206000600073" + BEACON_ROOTS[2:] + "5af1" "600155" "600051600055" "00"
ROOT = "0x" + "5e" * 32
DAO_CHILD = "0xd4fe7bc31cedb7bfb8a345f31e668033056b2728"  # first of the drain list
THE_DAO = "0xbb9bc244d798123fde783fcc1c72d3bb8c189413"
DAO_REFUND = "0xbf4ed7b27f1d666546e30d74d50d173d20bca754"
MODES = [("sequential", None), ("parallel", 1), ("parallel", 2), ("parallel", 4)]


def run(fixture, mode="sequential", threads=None, **kw):
    if mode == "parallel":
        return blockstm.execute(fixture, "parallel", threads, parallel_threshold=0, **kw)
    return blockstm.execute(fixture, "sequential", **kw)


def everywhere(fixture, **kw):
    """The result in every mode, checked equal to the sequential one (effects included)."""
    results = [run(fixture, mode, threads, **kw) for mode, threads in MODES]
    first = results[0]
    for other in results[1:]:
        assert other == first
        assert other.tx_changes == first.tx_changes
        assert other.block_effects == first.block_effects
    return first


def pow_block(fork, transactions=(), number=10, **fields):
    fixture = block(list(transactions), fork=fork, currentNumber=hex(number), currentDifficulty="0x20000")
    fixture["env"].pop("currentBaseFee") if fork in ("Frontier", "Homestead", "Byzantium", "Constantinople") else None
    fixture.update(fields)
    return fixture


@pytest.mark.parametrize("fork,reward", [("Frontier", 5), ("Homestead", 5), ("Byzantium", 3),
                                         ("Constantinople", 2), ("London", 2)])
def test_block_and_ommer_rewards_per_fork(fork, reward):
    r = reward * ETHER
    uncle_a, uncle_b = "0x" + "a1" * 20, "0x" + "b2" * 20
    fixture = pow_block(fork, rewards=True, ommers=[{"coinbase": uncle_a, "number": "0x9"},
                                                    {"coinbase": uncle_b, "number": "0x8"}])
    res = everywhere(fixture)
    post = res.post_state
    assert post[COINBASE]["balance"] == r + 2 * (r // 32)
    assert post[uncle_a]["balance"] == r * 7 // 8
    assert post[uncle_b]["balance"] == r * 6 // 8
    (effect,) = res.block_effects
    assert effect["effect"] == "rewards"
    assert set(effect["changes"]) == {COINBASE, uncle_a, uncle_b}


def test_rewards_come_after_the_transactions_and_add_to_the_fees():
    fixture = pow_block("Byzantium", [tx(value=1, gas=21_000)], rewards=True)
    with_rewards, without = everywhere(fixture), run({**fixture, "rewards": False})
    assert with_rewards.receipts == without.receipts
    fees = without.post_state[COINBASE]["balance"]
    assert with_rewards.post_state[COINBASE]["balance"] == fees + 3 * ETHER
    assert with_rewards.state_root != without.state_root


def test_no_rewards_from_paris_on():
    res = everywhere(block([], fork="Paris", rewards=True))
    assert COINBASE not in res.post_state and res.block_effects == []


def test_withdrawals_credit_gwei_and_leave_no_empty_account():
    empty, fresh = "0x" + "e0" * 20, "0x" + "f0" * 20
    pre = {ALICE: {"balance": hex(10 * ETHER), "nonce": "0x0"}, empty: {"balance": "0x0", "nonce": "0x0"}}
    withdrawals = [
        {"index": "0x0", "validatorIndex": "0x7", "address": BOB, "amount": "0x3"},
        {"index": "0x1", "validatorIndex": "0x8", "address": BOB, "amount": "0x4"},
        {"index": "0x2", "validatorIndex": "0x9", "address": fresh, "amount": "0x0"},
        {"index": "0x3", "validatorIndex": "0xa", "address": empty, "amount": "0x0"},
    ]
    fixture = {**block([tx(value=5, gas=21_000)], fork="Shanghai", pre=pre), "withdrawals": withdrawals}
    res = everywhere(fixture)
    assert res.post_state[BOB]["balance"] == 5 + 7 * 10**9
    assert fresh not in res.post_state and empty not in res.post_state
    (effect,) = res.block_effects
    assert effect["effect"] == "withdrawals"
    assert effect["changes"][empty] == {"destroyed": True}


def _beacon_block(**fields):
    pre = {ALICE: {"balance": hex(10 * ETHER), "nonce": "0x0"},
           BEACON_ROOTS: {"balance": "0x0", "nonce": "0x1", "code": BEACON_ROOTS_CODE},
           CONTRACT: {"balance": "0x0", "nonce": "0x1", "code": READ_BEACON_ROOT}}
    txs = [tx(nonce=i, to=CONTRACT if i % 3 == 0 else BOB, value=1, gas=200_000) for i in range(12)]
    return {**block(txs, fork="Cancun", pre=pre), **fields}


def test_the_beacon_root_call_comes_first_and_transactions_read_it():
    res = everywhere(_beacon_block(parentBeaconBlockRoot=ROOT))
    storage = res.post_state[CONTRACT]["storage"]
    assert storage[0] == int(ROOT, 16) and storage[1] == 1
    timestamp = 1000
    beacon = res.post_state[BEACON_ROOTS]["storage"]
    assert beacon[timestamp % 8191] == timestamp and beacon[timestamp % 8191 + 8191] == int(ROOT, 16)
    (effect,) = res.block_effects
    assert effect["effect"] == "beacon_root" and set(effect["changes"]) == {BEACON_ROOTS}
    # Without the call the reads fail: the receipts themselves differ.
    without = run(_beacon_block())
    assert without.post_state[CONTRACT]["storage"].get(1, 0) == 0
    assert without.receipts != res.receipts


def test_the_beacon_root_call_without_a_contract_changes_nothing():
    fixture = {**block([tx(value=1, gas=21_000)], fork="Cancun"), "parentBeaconBlockRoot": ROOT}
    res = everywhere(fixture)
    assert res == run({**fixture, "parentBeaconBlockRoot": None})
    assert BEACON_ROOTS not in res.post_state


def test_the_dao_drain_comes_before_the_transactions():
    read_balance = "0x73" + DAO_CHILD[2:] + "31600055" "00"  # SSTORE(0, BALANCE(child))
    pre = {ALICE: {"balance": hex(10 * ETHER), "nonce": "0x0"},
           DAO_CHILD: {"balance": "0x3e8", "nonce": "0x0"}, THE_DAO: {"balance": "0x5", "nonce": "0x0"},
           DAO_REFUND: {"balance": "0x1", "nonce": "0x0"},
           CONTRACT: {"balance": "0x0", "nonce": "0x0", "code": read_balance}}
    txs = [tx(nonce=i, to=CONTRACT if i == 5 else BOB, value=1, gas=100_000) for i in range(10)]
    fixture = pow_block("Homestead", txs, number=5, pre=pre, daoForkBlock=True, rewards=True)
    res = everywhere(fixture)
    post = res.post_state
    assert post[DAO_REFUND]["balance"] == 1000 + 5 + 1
    assert post[DAO_CHILD]["balance"] == 0 and post[THE_DAO]["balance"] == 0
    assert CONTRACT in post and post[CONTRACT]["storage"].get(0, 0) == 0  # the transaction saw it drained
    assert [e["effect"] for e in res.block_effects] == ["dao_fork", "rewards"]
    # Homestead has no EIP-161: every account of the list exists afterwards.
    assert len(res.block_effects[0]["changes"]) == 116 + 1


def test_a_chain_equals_one_block_with_both_halves():
    txs = [tx(nonce=i, value=i + 1, gas=21_000) for i in range(10)]
    whole = run(block(txs))
    first = run(block(txs[:4]))
    second_fixture = block(txs[4:])
    del second_fixture["pre"]
    for mode, threads in MODES:
        second = run(second_fixture, mode, threads, pre_state=first)
        assert second.post_state == whole.post_state
        assert second.state_root == whole.state_root
    # A result that went through pickle is as good a parent.
    assert run(second_fixture, pre_state=pickle.loads(pickle.dumps(first))).state_root == whole.state_root


def test_block_hashes_of_a_chain_come_from_the_fixture():
    # BLOCKHASH(number - 1) into slot 0.
    code = "0x600143034060005500"
    pre = {ALICE: {"balance": hex(ETHER), "nonce": "0x0"}, CONTRACT: {"balance": "0x0", "nonce": "0x0", "code": code}}
    first = run(block([], pre=pre))
    second = block([tx(to=CONTRACT)], currentNumber="0x2")
    second["blockHashes"] = {"1": "0x" + "12" * 32}
    del second["pre"]
    res = run(second, pre_state=first)
    assert res.post_state[CONTRACT]["storage"][0] == int("12" * 32, 16)


def test_chain_errors_name_the_argument():
    fixture = block([])
    first = run(fixture)
    with pytest.raises(blockstm.FixtureError) as err:
        run(fixture, pre_state=first)
    assert err.value.path == "pre"
    without = {k: v for k, v in fixture.items() if k != "pre"}
    with pytest.raises(blockstm.FixtureError) as err:
        run(without)
    assert err.value.path == "pre"
    with pytest.raises(TypeError, match="pre_state"):
        blockstm.execute(without, pre_state={"not": "a result"})


@pytest.mark.parametrize("fields,path", [
    ({"fork": "Shanghai", "parentBeaconBlockRoot": ROOT}, "parentBeaconBlockRoot"),
    ({"fork": "Paris", "withdrawals": []}, "withdrawals"),
    ({"fork": "London", "ommers": [{"coinbase": BOB, "number": "0x0"}]}, "ommers"),
    ({"fork": "London", "rewards": True, "ommers": [{"coinbase": BOB, "number": "0x1"}]}, "ommers[0].number"),
    ({"fork": "London", "rewards": "yes"}, "rewards"),
    ({"fork": "Cancun", "withdrawals": [{"index": "0x0", "validatorIndex": "0x0", "address": BOB}]},
     "withdrawals[0].amount"),
])
def test_effect_fields_are_checked(fields, path):
    with pytest.raises(blockstm.FixtureError) as err:
        blockstm.execute({**block([]), **fields})
    assert err.value.path == path


def test_a_result_pickles_with_its_effects():
    fixture = {**block([tx(value=1, gas=21_000)], fork="Shanghai"),
               "withdrawals": [{"index": "0x0", "validatorIndex": "0x0", "address": BOB, "amount": "0x1"}]}
    res = run(fixture)
    again = pickle.loads(pickle.dumps(res))
    assert again == res and again.block_effects == res.block_effects
