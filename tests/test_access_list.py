"""EIP-7928 block access lists (docs/engine.md, "Block access lists").

Out: ``res.block_access_list`` (JSON form), ``_rlp`` and ``_hash``, identical in every
mode and at every thread count, built from what execution changed and accessed.
In: ``execute(..., access_list=BAL)`` — parallel mode runs every transaction on the
pre-state plus the list's writes of lower indices; both modes reject a list that
execution contradicts with ``AccessListMismatch`` naming the first difference.
Hint: ``hint=`` (a list of unknown quality, or a previous run's ``dependencies``)
changes scheduling only. Every engine call runs under a timeout.
"""

from __future__ import annotations

import copy
import json
import pickle

import pytest
import rlp
from eth_hash.auto import keccak

import blockstm
import generators
from properties.checks import run_engine
from tests.blocks import ALICE, BOB, COINBASE, CONTRACT, ETHER, STORE_AND_LOG, block, tx

HANG_TIMEOUT_S = 60
THREADS = [1, 2, 4, 8]


def run(fixture, mode="sequential", threads=None, **kw):
    """`execute` under a timeout (the properties' runner: a hang fails within a minute)."""
    outcome = run_engine(fixture, mode, threads, timeout=HANG_TIMEOUT_S, **kw)
    if outcome.error is not None:
        raise outcome.error
    return outcome.result


def assert_same(a, b):
    assert a == b
    assert a.receipts == b.receipts
    assert a.tx_changes == b.tx_changes
    assert a.post_state == b.post_state
    assert a.block_access_list_rlp == b.block_access_list_rlp


@pytest.fixture(scope="module", params=["erc20", "transfers", "amm", "mixed", "beneficiary", "delegations"])
def family_block(request):
    return generators.generate(request.param, 60, seed=3)


# ---- out ------------------------------------------------------------------------------

def test_the_list_is_identical_in_every_mode_and_thread_count(family_block):
    seq = run(family_block)
    for threads in THREADS:
        par = run(family_block, "parallel", threads)
        assert par.block_access_list == seq.block_access_list
        assert par.block_access_list_hash == seq.block_access_list_hash
    assert seq.block_access_list  # a block that did something lists something


def _int(v):
    return int(v, 16) if isinstance(v, str) else v


def _rlp_of(bal) -> bytes:
    """An independent encoder (pyrlp) of the JSON form, as EIP-7928 defines the RLP:
    [address, [[slot, [[index, value]...]]...], [read...], [[index, balance]...],
    [[index, nonce]...], [[index, code]...]] per account."""
    def account(a):
        return [
            bytes.fromhex(a["address"][2:]),
            [[_int(s["key"]), [[_int(c["index"]), _int(c["value"])] for c in s["changes"]]]
             for s in a["storageChanges"]],
            [_int(r) for r in a["storageReads"]],
            [[_int(c["index"]), _int(c["value"])] for c in a["balanceChanges"]],
            [[_int(c["index"]), _int(c["value"])] for c in a["nonceChanges"]],
            [[_int(c["index"]), bytes.fromhex(c["code"][2:])] for c in a["codeChanges"]],
        ]
    return rlp.encode([account(a) for a in bal])


def test_encoding_and_hash_agree_with_an_independent_encoder(family_block):
    res = run(family_block)
    assert _rlp_of(res.block_access_list) == res.block_access_list_rlp
    assert "0x" + keccak(res.block_access_list_rlp).hex() == res.block_access_list_hash


def test_an_empty_block_has_the_empty_list_hash():
    res = run(block([]))
    assert res.block_access_list == []
    assert res.block_access_list_hash == "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"


def test_a_transfer_lists_exactly_what_it_touched():
    fixture = block([tx(value=5, gas=21_000)])
    res = run(fixture)
    bal = {a["address"].lower(): a for a in res.block_access_list}
    assert set(bal) == {ALICE, BOB, COINBASE}
    post = res.post_state
    alice = bal[ALICE]
    assert [(_int(c["index"]), _int(c["value"])) for c in alice["balanceChanges"]] == [(1, post[ALICE]["balance"])]
    assert [(_int(c["index"]), _int(c["value"])) for c in alice["nonceChanges"]] == [(1, 1)]
    assert [(_int(c["index"]), _int(c["value"])) for c in bal[BOB]["balanceChanges"]] == [(1, 5)]
    assert bal[BOB]["nonceChanges"] == [] and bal[BOB]["codeChanges"] == []
    assert [_int(c["value"]) for c in bal[COINBASE]["balanceChanges"]] == [post[COINBASE]["balance"]]
    # Sorted by address, as EIP-7928 requires.
    addresses = [a["address"].lower() for a in res.block_access_list]
    assert addresses == sorted(addresses)


def test_reads_writes_and_unchanged_writes():
    # slot 0 := calldata word (STORE_AND_LOG); a second call stores the same value: a read.
    pre = {ALICE: {"balance": hex(10 * ETHER), "nonce": "0x0"},
           CONTRACT: {"balance": "0x0", "nonce": "0x1", "code": "0x" + STORE_AND_LOG}}
    word = "0x" + (7).to_bytes(32, "big").hex()
    fixture = block([tx(0, CONTRACT, data=word), tx(1, CONTRACT, data=word)], pre=pre)
    res = run(fixture)
    contract = next(a for a in res.block_access_list if a["address"].lower() == CONTRACT)
    assert [(_int(s["key"]), [(_int(c["index"]), _int(c["value"])) for c in s["changes"]])
            for s in contract["storageChanges"]] == [(0, [(1, 7)])]
    assert contract["storageReads"] == []  # the slot was written in the block: not a read


def test_the_lists_writes_are_the_transactions_changes(family_block):
    res = run(family_block)
    by_index: dict[int, dict[str, dict]] = {}
    for a in res.block_access_list:
        address = a["address"].lower()
        for field, key in (("balanceChanges", "balance"), ("nonceChanges", "nonce")):
            for c in a[field]:
                by_index.setdefault(_int(c["index"]), {}).setdefault(address, {})[key] = _int(c["value"])
        for s in a["storageChanges"]:
            for c in s["changes"]:
                by_index.setdefault(_int(c["index"]), {}).setdefault(address, {}).setdefault(
                    "storage", {})[_int(s["key"])] = _int(c["value"])
    for i, changes in enumerate(res.tx_changes):
        listed = by_index.get(i + 1, {})
        for address, fields in listed.items():
            change = changes[address.lower()] if address.lower() in changes else changes.get(address)
            assert change is not None, (i, address)
            for key in ("balance", "nonce"):
                if key in fields:
                    assert change[key] == fields[key], (i, address, key)
            for slot, value in fields.get("storage", {}).items():
                assert change["storage"][slot] == value, (i, address, slot)


def test_the_list_survives_pickling(family_block):
    res = run(family_block, "parallel", 2)
    again = pickle.loads(pickle.dumps(res))
    assert again.block_access_list_rlp == res.block_access_list_rlp
    assert again.stats == res.stats


def test_effects_have_index_zero_and_n_plus_one():
    fixture = block([tx(value=1, gas=21_000)], fork="Cancun")
    fixture["withdrawals"] = [{"index": "0x0", "validatorIndex": "0x0", "address": CONTRACT, "amount": "0x2"}]
    res = run(fixture)
    contract = next(a for a in res.block_access_list if a["address"].lower() == CONTRACT)
    assert [(_int(c["index"]), _int(c["value"])) for c in contract["balanceChanges"]] == [(2, 2 * 10**9)]


# ---- in: the block's own list ------------------------------------------------------------

@pytest.mark.parametrize("threads", THREADS)
def test_parallel_with_the_list_equals_sequential_with_no_reexecution(family_block, threads):
    seq = run(family_block)
    par = run(family_block, "parallel", threads, access_list=seq.block_access_list)
    assert_same(par, seq)
    assert par.stats["reexecutions"] == 0
    assert par.stats["fallback"] is None
    assert par.stats["access_list"] == "validated"


def test_every_form_of_the_list_is_accepted(family_block):
    seq = run(family_block)
    for given in (seq.block_access_list, json.dumps(seq.block_access_list), seq.block_access_list_rlp,
                  bytearray(seq.block_access_list_rlp)):
        for mode in ("sequential", "parallel"):
            assert_same(run(family_block, mode, 2, access_list=given), seq)


def _mutations(bal):
    """(name, mutated list) pairs: a dropped, altered or added entry, or a wrong order."""
    out = []

    def mutant(name, edit):
        m = copy.deepcopy(bal)
        if edit(m) is not False:
            out.append((name, m))

    def first(m, field):
        return next((a for a in m if a[field]), None)

    def drop_balance(m):
        a = first(m, "balanceChanges")
        if a is None:
            return False
        a["balanceChanges"].pop()

    def alter_balance(m):
        a = first(m, "balanceChanges")
        if a is None:
            return False
        a["balanceChanges"][0]["value"] = hex(_int(a["balanceChanges"][0]["value"]) ^ 1)

    def alter_nonce(m):
        a = first(m, "nonceChanges")
        if a is None:
            return False
        a["nonceChanges"][-1]["value"] = hex(_int(a["nonceChanges"][-1]["value"]) + 1)

    def drop_slot(m):
        a = first(m, "storageChanges")
        if a is None:
            return False
        a["storageChanges"].pop(0)

    def alter_slot(m):
        a = first(m, "storageChanges")
        if a is None:
            return False
        c = a["storageChanges"][0]["changes"][0]
        c["value"] = hex(_int(c["value"]) + 1)

    def add_balance(m):
        # A write at an index where the account has none.
        a = m[0]
        used = {_int(c["index"]) for c in a["balanceChanges"]}
        free = next(i for i in range(1, 10**6) if i not in used)
        a["balanceChanges"].append({"index": hex(free), "value": "0x1"})
        a["balanceChanges"].sort(key=lambda c: _int(c["index"]))

    def add_account(m):
        m.append({"address": "0x" + "ff" * 20, "storageChanges": [], "storageReads": [],
                  "balanceChanges": [], "nonceChanges": [], "codeChanges": []})

    def add_read(m):
        a = m[0]
        a["storageReads"] = sorted(set(a["storageReads"]) | {hex(2**255 + 12345)}, key=_int)

    def drop_account(m):
        m.pop()

    def swap_accounts(m):
        if len(m) < 2:
            return False
        m[0], m[1] = m[1], m[0]

    for name, edit in [("drop balance", drop_balance), ("alter balance", alter_balance),
                       ("alter nonce", alter_nonce), ("drop slot", drop_slot), ("alter slot", alter_slot),
                       ("add balance", add_balance), ("add account", add_account), ("add read", add_read),
                       ("drop account", drop_account), ("swap accounts", swap_accounts)]:
        mutant(name, edit)
    return out


def test_a_mutated_list_is_rejected_the_same_way_in_both_modes(family_block):
    seq = run(family_block)
    mutations = _mutations(seq.block_access_list)
    assert len(mutations) >= 7
    for name, bad in mutations:
        errors = []
        for mode, threads in (("sequential", None), ("parallel", 1), ("parallel", 2), ("parallel", 4)):
            with pytest.raises(blockstm.AccessListMismatch) as caught:
                run(family_block, mode, threads, access_list=bad)
            e = caught.value
            errors.append((e.index, e.account, e.field, e.listed, e.executed, str(e)))
        assert len(set(errors)) == 1, (name, errors)
        assert isinstance(caught.value, blockstm.InvalidBlock)


def test_a_mismatch_names_index_account_and_field():
    fixture = block([tx(0, value=1, gas=21_000), tx(1, value=2, gas=21_000)])
    bal = run(fixture).block_access_list
    bob = next(a for a in bal if a["address"].lower() == BOB)
    bob["balanceChanges"][1]["value"] = hex(4)
    with pytest.raises(blockstm.AccessListMismatch) as caught:
        run(fixture, "parallel", 2, access_list=bal)
    e = caught.value
    assert (e.index, e.account.lower(), e.field, e.listed, e.executed) == (2, BOB, "balance", "0x4", "0x3")


def test_a_list_wrong_below_an_invalid_transaction_names_the_list():
    fixture = block([tx(0, value=1, gas=21_000), tx(5, value=1, gas=21_000)])  # nonce gap at 1
    good = run(block([tx(0, value=1, gas=21_000)])).block_access_list
    for mode in ("sequential", "parallel"):
        with pytest.raises(blockstm.InvalidTransaction) as caught:
            run(fixture, mode, 2, access_list=good)
        assert caught.value.index == 1
    bad = copy.deepcopy(good)
    next(a for a in bad if a["address"].lower() == BOB)["balanceChanges"][0]["value"] = "0x9"
    for mode in ("sequential", "parallel"):
        with pytest.raises(blockstm.AccessListMismatch) as caught:
            run(fixture, mode, 2, access_list=bad)
        assert caught.value.index == 1


def test_a_self_destruct_before_cancun_still_matches():
    # A contract that self-destructs to BOB when called (before Cancun the account and its
    # storage go), then a call to it again and a transfer: the list cannot say
    # "destroyed", so the commit runs again the one transaction that loaded the reset
    # account, and the result is the sequential one, with no fallback.
    destructor = "0x" + "73" + BOB[2:] + "ff"
    pre = {ALICE: {"balance": hex(10 * ETHER), "nonce": "0x0"},
           CONTRACT: {"balance": "0x5", "nonce": "0x1", "code": destructor, "storage": {"0x01": "0x02"}}}
    fixture = block([tx(0, CONTRACT), tx(1, CONTRACT), tx(2, value=1, gas=21_000)], fork="Shanghai", pre=pre)
    seq = run(fixture)
    for threads in THREADS:
        par = run(fixture, "parallel", threads, access_list=seq.block_access_list)
        assert_same(par, seq)
        assert par.stats["fallback"] is None
        assert par.stats["reexecutions"] <= 1  # tx 1 loaded the destroyed contract


def test_a_block_that_destroys_and_recreates_matches():
    # CREATE2 a child that self-destructs, then call it (gone), then create it again and
    # store: resets, re-creations and storage after a reset, in one block.
    factory = "0xfac7000000000000000000000000000000000001"
    # child runtime: with calldata, SSTORE(0, 1); without, SELFDESTRUCT to BOB.
    child_runtime = "36601a57" + "73" + BOB[2:] + "ff" + "5b600160005500"
    runtime_len = len(child_runtime) // 2
    child_init = f"60{runtime_len:02x}80600b6000396000f3" + child_runtime  # returns the runtime
    init_len = len(child_init) // 2
    # factory: CODECOPY the child's init code (at byte 17) to memory, CREATE2 it (salt 0).
    factory_code = f"60{init_len:02x}6011600039" f"600060{init_len:02x}60006000f500" + child_init
    pre = {ALICE: {"balance": hex(10 * ETHER), "nonce": "0x0"},
           factory: {"balance": "0x0", "nonce": "0x1", "code": "0x" + factory_code}}
    seq_first = run(block([tx(0, factory, gas=300_000)], fork="Shanghai", pre=pre))
    child = next(a for a, c in seq_first.tx_changes[0].items() if a.lower() != factory and c.get("code"))
    txs = [tx(0, factory, gas=300_000), tx(1, child, gas=100_000), tx(2, child, gas=100_000),
           tx(3, factory, gas=300_000), tx(4, child, data="0x01", gas=100_000), tx(5, child, gas=100_000)]
    fixture = block(txs, fork="Shanghai", pre=pre)
    seq = run(fixture)
    assert any(c.get("destroyed") for ch in seq.tx_changes for c in ch.values())
    for threads in THREADS:
        assert_same(run(fixture, "parallel", threads, access_list=seq.block_access_list), seq)
        assert_same(run(fixture, "parallel", threads, hint=seq.block_access_list), seq)


# ---- hints --------------------------------------------------------------------------------

def test_a_wrong_hint_costs_time_never_correctness(family_block):
    seq = run(family_block)
    for name, bad in _mutations(seq.block_access_list):
        assert_same(run(family_block, "parallel", 2, hint=bad), seq)
    assert_same(run(family_block, "parallel", 2, hint=seq.block_access_list), seq)
    assert run(family_block, "parallel", 2, hint=seq.block_access_list).stats["access_list"] == "hint"


def test_dependencies_as_a_hint(family_block):
    seq = run(family_block)
    first = run(family_block, "parallel", 2)
    n = len(seq.receipts)
    for hint in (first.dependencies, [[0]] * n, [[i - 1] if i else [] for i in range(n)],
                 [[n + 5, 10**9]] * n, [], [[]] * (n + 3)):
        assert_same(run(family_block, "parallel", 2, hint=hint), seq)


def test_a_serial_block_with_its_dependencies_needs_fewer_reexecutions():
    n = 40
    fixture = generators.generate("beneficiary", n, seed=5)
    first = run(fixture, "parallel", 2)
    hinted = run(fixture, "parallel", 2, hint=first.dependencies)
    assert_same(hinted, run(fixture))
    assert hinted.stats["reexecutions"] <= first.stats["reexecutions"]


# ---- bad arguments --------------------------------------------------------------------

def test_malformed_lists_name_the_path():
    fixture = block([tx(value=1, gas=21_000)])
    bal = run(fixture).block_access_list
    bad = copy.deepcopy(bal)
    bad[0]["balanceChanges"][0]["value"] = "0xzz"
    with pytest.raises(blockstm.FixtureError) as caught:
        run(fixture, "parallel", 2, access_list=bad)
    assert caught.value.path == "access_list[0].balanceChanges[0].value"
    with pytest.raises(blockstm.FixtureError) as caught:
        run(fixture, "sequential", access_list=[{"storageReads": []}])
    assert caught.value.path == "access_list[0].address"
    with pytest.raises(blockstm.FixtureError, match="access_list"):
        run(fixture, "parallel", 2, access_list=b"\x01\x02")
    with pytest.raises(blockstm.FixtureError, match="hint"):
        run(fixture, "parallel", 2, hint="{not json")
    with pytest.raises(TypeError, match="access_list"):
        run(fixture, "parallel", 2, access_list=42)
    with pytest.raises(ValueError, match="not both"):
        run(fixture, "parallel", 2, access_list=bal, hint=bal)
    with pytest.raises(ValueError, match=r"hint\[0\]"):
        run(fixture, "parallel", 2, hint=[[-1]])


def test_an_unsorted_list_is_malformed():
    fixture = generators.generate("transfers", 10, seed=1)
    bal = run(fixture).block_access_list
    bal[0], bal[1] = bal[1], bal[0]
    for mode in ("sequential", "parallel"):
        with pytest.raises(blockstm.AccessListMismatch, match="malformed") as caught:
            run(fixture, mode, 2, access_list=bal)
        assert caught.value.field == "structure"
