"""Prague and Osaka: EIP-7702 set-code transactions under Block-STM, the Prague system
calls and requests, the forks' blob limits. Each block runs in both modes at several
thread counts and on EELS (properties/reference.py): three must agree.

EIP-7702 is the new hazard for a parallel EVM: an EOA gains code mid-block, so a value
transfer to it runs code, and a delegation can be set, changed or cleared by any later
transaction."""

from __future__ import annotations

import coincurve
import pytest
from ethereum.crypto.hash import keccak256
from ethereum_rlp import rlp
from ethereum_types.numeric import U64, U256

import blockstm
from properties.checks import check_parallel, check_reference
from tests.blocks import ALICE, BOB, COINBASE, ETHER, block, tx

THREADS = [1, 2, 4]
# slot0 += 1 (in the storage of whoever runs it: a delegating EOA's own).
COUNTER = "0x60005460010160005500"
COUNTER_AT = "0xc000000000000000000000000000000000000007"
# SSTORE(1, CALLVALUE)
STORE_VALUE = "0x3460015500"
STORE_VALUE_AT = "0xc000000000000000000000000000000000000008"
KEYS = [bytes([0] * 31 + [i]) for i in range(1, 5)]


def address_of(key: bytes) -> str:
    point = coincurve.PrivateKey(key).public_key.format(compressed=False)
    return "0x" + keccak256(point[1:])[12:].hex()


AUTHORITIES = [address_of(k) for k in KEYS]


def authorization(key: bytes, delegate: str, nonce: int, chain_id: int = 1) -> dict:
    """An EIP-7702 authorization signed by `key`: keccak(0x05 ‖ rlp([chain, address, nonce]))."""
    digest = keccak256(b"\x05" + rlp.encode((U256(chain_id), bytes.fromhex(delegate[2:]), U64(nonce))))
    sig = coincurve.PrivateKey(key).sign_recoverable(digest, hasher=None)
    return {"chainId": hex(chain_id), "address": delegate, "nonce": hex(nonce),
            "yParity": hex(sig[64]), "r": "0x" + sig[:32].hex(), "s": "0x" + sig[32:64].hex()}


def set_code(nonce: int, authorizations: list[dict], to: str = BOB, value: int = 0, sender: str = ALICE) -> dict:
    return tx(nonce=nonce, to=to, value=value, gas=200_000, sender=sender, type="0x4", maxFeePerGas="0x14",
              maxPriorityFeePerGas="0x2", authorizationList=authorizations)


def prague_block(transactions, fork="Prague", extra_pre=None):
    pre = {ALICE: {"balance": hex(100 * ETHER), "nonce": "0x0"},
           COUNTER_AT: {"balance": "0x0", "nonce": "0x1", "code": COUNTER},
           STORE_VALUE_AT: {"balance": "0x0", "nonce": "0x1", "code": STORE_VALUE}}
    for authority in AUTHORITIES:
        pre[authority] = {"balance": hex(ETHER), "nonce": "0x0"}
    pre.update(extra_pre or {})
    return block(transactions, fork=fork, pre=pre)


def agree(fixture) -> blockstm.BlockResult:
    """Parallel == sequential at every thread count, and sequential == EELS == py-evm
    (py-evm: Prague, not Osaka)."""
    problems, _ = check_parallel(fixture, THREADS, repeats=2)
    assert not problems, problems
    problems = check_reference(fixture)
    assert not problems, problems
    return blockstm.execute(fixture)


def delegation_lifecycle() -> list[dict]:
    """Set, use, change and clear a delegation, with transfers to and from the authority
    before and after each step, and the same sender's contract calls in between."""
    a0, a1 = AUTHORITIES[0], AUTHORITIES[1]
    return [
        tx(nonce=0, to=a0, value=5, gas=21_000),                                  # plain EOA: a lazy transfer
        set_code(1, [authorization(KEYS[0], COUNTER_AT, 0)]),                      # a0 → counter
        tx(nonce=2, to=a0, value=7, gas=100_000),                                 # now runs the counter in a0
        tx(nonce=1, to=BOB, value=3, gas=21_000, sender=a0),                       # a delegated EOA still sends
        tx(nonce=3, to=a0, value=0, gas=100_000),
        set_code(4, [authorization(KEYS[0], STORE_VALUE_AT, 2),                   # changed: nonce 2 (set + send)
                     authorization(KEYS[1], COUNTER_AT, 0)]),
        tx(nonce=5, to=a0, value=11, gas=100_000),                                # stores 11 in a0's slot 1
        tx(nonce=6, to=a1, value=1, gas=100_000),
        set_code(7, [authorization(KEYS[0], "0x" + "00" * 20, 3)]),               # cleared
        tx(nonce=8, to=a0, value=13, gas=21_000),                                 # plain again: 21,000 gas
        tx(nonce=1, to=BOB, value=1, gas=21_000, sender=a1),
    ]


@pytest.mark.parametrize("fork", ["Prague", "Osaka"])
def test_a_delegation_set_changed_and_cleared_mid_block(fork):
    res = agree(prague_block(delegation_lifecycle(), fork=fork))
    post = res.post_state
    a0 = post[AUTHORITIES[0]]
    assert a0["code"] == b"" and a0["storage"] == {0: 2, 1: 11}
    assert post[AUTHORITIES[1]]["code"] == bytes.fromhex("ef0100" + COUNTER_AT[2:])
    assert [r.status for r in res.receipts] == [1] * 11
    assert res.receipts[9].gas_used == 21_000 and res.receipts[1].tx_type == 4


def test_invalid_authorizations_are_skipped_not_fatal():
    a0 = AUTHORITIES[0]
    txs = [
        set_code(0, [authorization(KEYS[0], COUNTER_AT, 5)]),               # stale nonce: skipped
        set_code(1, [authorization(KEYS[0], COUNTER_AT, 0, chain_id=7)]),   # other chain: skipped
        set_code(2, [{**authorization(KEYS[0], COUNTER_AT, 0), "yParity": "0x5"}]),  # bad parity: skipped
        tx(nonce=3, to=a0, value=1, gas=100_000),                            # still a plain EOA
        set_code(4, [authorization(KEYS[0], COUNTER_AT, 0, chain_id=0)]),    # chain 0: any chain
        tx(nonce=5, to=a0, value=1, gas=100_000),
    ]
    res = agree(prague_block(txs))
    assert res.post_state[a0]["storage"] == {0: 1}


def test_self_sponsored_and_coinbase_authorities():
    coinbase_key = KEYS[3]
    coinbase = AUTHORITIES[3]
    # The authority sends its own set-code transaction: its nonce is the transaction's + 1.
    own = set_code(0, [authorization(KEYS[2], COUNTER_AT, 1)], to=AUTHORITIES[2], sender=AUTHORITIES[2])
    txs = [own, tx(nonce=0, to=AUTHORITIES[2], value=1, gas=100_000),
           set_code(1, [authorization(coinbase_key, COUNTER_AT, 0)]),          # the coinbase delegates
           tx(nonce=2, to=coinbase, value=1, gas=100_000),                     # and runs code when paid to
           tx(nonce=3, to=BOB, value=1, gas=21_000)]
    fixture = prague_block(txs)
    fixture["env"]["currentCoinbase"] = coinbase
    res = agree(fixture)
    assert res.post_state[AUTHORITIES[2]]["storage"] == {0: 2}
    assert res.post_state[coinbase]["storage"] == {0: 1}


def test_many_transfers_to_an_account_delegated_in_the_middle():
    """Lazy raw transfers to an account that a transaction in the middle delegates: the
    ones above it must re-run as calls (validation sees the code appear)."""
    a0 = AUTHORITIES[0]
    senders = [f"0x{i:040x}" for i in range(0x100, 0x100 + 40)]
    pre = {s: {"balance": hex(ETHER), "nonce": "0x0"} for s in senders}
    txs = [tx(nonce=0, sender=s, to=a0, value=1 + i, gas=100_000) for i, s in enumerate(senders)]
    txs.insert(17, set_code(0, [authorization(KEYS[0], COUNTER_AT, 0)]))
    res = agree(prague_block(txs, extra_pre=pre))
    assert res.post_state[a0]["storage"] == {0: 40 - 17}


@pytest.mark.parametrize("tx_fields,kind", [
    ({"authorizationList": []}, "empty_authorization_list"),
    ({"to": None}, "set_code_create"),
])
def test_set_code_rules(tx_fields, kind):
    bad = {**set_code(0, [authorization(KEYS[0], COUNTER_AT, 0)]), **tx_fields}
    for mode in ("sequential", "parallel"):
        with pytest.raises(blockstm.InvalidTransaction) as err:
            blockstm.execute(prague_block([tx(nonce=0, value=1, gas=21_000), {**bad, "nonce": "0x1"}]), mode,
                             2, parallel_threshold=0) if mode == "parallel" else blockstm.execute(
                prague_block([tx(nonce=0, value=1, gas=21_000), {**bad, "nonce": "0x1"}]))
        assert (err.value.index, err.value.kind) == (1, kind)


def test_set_code_before_prague_is_not_supported():
    with pytest.raises(blockstm.InvalidTransaction) as err:
        blockstm.execute(prague_block([set_code(0, [authorization(KEYS[0], COUNTER_AT, 0)])], fork="Cancun"))
    assert err.value.kind == "tx_type_not_supported"


def test_osaka_caps_a_transaction_s_gas():
    big = tx(nonce=0, value=1, gas=2**24 + 1)
    fixture = prague_block([big], fork="Osaka")
    fixture["env"]["currentGasLimit"] = hex(60_000_000)
    with pytest.raises(blockstm.InvalidTransaction) as err:
        blockstm.execute(fixture)
    assert err.value.kind == "gas_limit_above_cap"
    assert blockstm.execute({**fixture, "fork": "Prague"}).receipts[0].status == 1


@pytest.mark.parametrize("fork,per_block,per_tx", [("Cancun", 6, 6), ("Prague", 9, 9), ("Osaka", 9, 6),
                                                    ("BPO1", 15, 6), ("BPO2", 21, 6)])
def test_blob_limits_per_fork(fork, per_block, per_tx):
    def blob_tx(nonce, blobs):
        return tx(nonce=nonce, gas=21_000, maxFeePerGas="0x14", maxPriorityFeePerGas="0x2", maxFeePerBlobGas="0x10",
                  blobVersionedHashes=["0x01" + f"{nonce:02x}{j:02x}" * 15 + "00" for j in range(blobs)])
    fill = [blob_tx(i, min(per_tx, per_block - i * per_tx)) for i in range(-(-per_block // per_tx))]
    assert blockstm.execute(prague_block(fill, fork=fork)).gas_used == 21_000 * len(fill)
    with pytest.raises(blockstm.InvalidTransaction) as err:
        blockstm.execute(prague_block(fill + [blob_tx(len(fill), 1)], fork=fork))
    assert err.value.kind == "blob_block_gas_exhausted"
    with pytest.raises(blockstm.InvalidTransaction) as err:
        blockstm.execute(prague_block([blob_tx(0, per_tx + 1)], fork=fork))
    assert err.value.kind == "too_many_blobs"


# ---- Prague's system calls and EIP-7685 requests ------------------------------------------

HISTORY = "0x0000f90827f1c53a10cb7a02335b175320002935"
HISTORY_CODE = ("0x3373fffffffffffffffffffffffffffffffffffffffe14604657602036036042575f35600143038111604257"
                "611fff81430311604257611fff9006545f5260205ff35b5f5ffd5b5f35611fff60014303065500")
WITHDRAWALS = "0x00000961ef480eb55e80d19ad83579a64c007002"
CONSOLIDATIONS = "0x0000bbddc7ce488642fb579f8b00f3a590007251"
DEPOSITS = "0x00000000219ab540356cbb839cbe05303d7705fa"
DEPOSIT_EVENT = "649bbc62d0e31342afea4e5cd82d4049e7e1ee912fc0889aa790803be39038c5"
# A stand-in deposit contract: LOG1(calldata, DepositEvent).
FAKE_DEPOSIT_CODE = "0x366000600037" + "7f" + DEPOSIT_EVENT + "3660" + "00" + "a100"
# Asks the history contract for block number-1's hash: slot 0 = the word returned.
READ_PARENT_HASH = "0x60014303600052" "6020600060206000600073" + HISTORY[2:] + "5af1" "600155" "600051600055" "00"
READER = "0xc000000000000000000000000000000000000009"
PARENT = "0x" + "ab" * 32


# The EIP-7002 and EIP-7251 request contracts, as deployed (the EIPs' bytecode).
WITHDRAWALS_CODE = "0x" + (
    "3373fffffffffffffffffffffffffffffffffffffffe1460cb5760115f54807fffffffffffffffffffffffffffffffff"
    "ffffffffffffffffffffffffffffffff146101f457600182026001905f5b5f8211156068578101908302848302900491"
    "6001019190604d565b909390049250505036603814608857366101f457346101f4575f5260205ff35b34106101f45760"
    "0154600101600155600354806003026004013381556001015f35815560010160203590553360601b5f5260385f601437"
    "604c5fa0600101600355005b6003546002548082038060101160df575060105b5f5b8181146101835782810160030260"
    "040181604c02815460601b8152601401816001015481526020019060020154807fffffffffffffffffffffffffffffff"
    "ff00000000000000000000000000000000168252906010019060401c908160381c81600701538160301c816006015381"
    "60281c81600501538160201c81600401538160181c81600301538160101c81600201538160081c816001015353600101"
    "60e1565b910180921461019557906002556101a0565b90505f6002555f6003555b5f54807fffffffffffffffffffffff"
    "ffffffffffffffffffffffffffffffffffffffffff14156101cd57505f5b6001546002828201116101e25750505f6101"
    "e8565b01600290035b5f555f600155604c025ff35b5f5ffd"
)
CONSOLIDATIONS_CODE = "0x" + (
    "3373fffffffffffffffffffffffffffffffffffffffe1460d35760115f54807fffffffffffffffffffffffffffffffff"
    "ffffffffffffffffffffffffffffffff1461019a57600182026001905f5b5f8211156068578101908302848302900491"
    "6001019190604d565b9093900492505050366060146088573661019a573461019a575f5260205ff35b341061019a5760"
    "0154600101600155600354806004026004013381556001015f358155600101602035815560010160403590553360601b"
    "5f5260605f60143760745fa0600101600355005b6003546002548082038060021160e7575060025b5f5b818114610129"
    "5782810160040260040181607402815460601b8152601401816001015481526020018160020154815260200190600301"
    "54905260010160e9565b910180921461013b5790600255610146565b90505f6002555f6003555b5f54807fffffffffff"
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffff141561017357505f5b600154600182820111610188"
    "5750505f61018e565b01600190035b5f555f6001556074025ff35b5f5ffd0000"
)


def deposit_log_data(pubkey: bytes, credentials: bytes, amount: bytes, signature: bytes, index: bytes) -> bytes:
    """DepositEvent's data: five ABI byte strings (offsets, then length-prefixed, padded)."""
    fields = [pubkey, credentials, amount, signature, index]
    heads, tails, offset = b"", b"", 32 * len(fields)
    for f in fields:
        heads += offset.to_bytes(32, "big")
        padded = f + b"\0" * (-len(f) % 32)
        tails += len(f).to_bytes(32, "big") + padded
        offset += 32 + len(padded)
    return heads + tails


def requests_block(**fields):
    pubkey, target = b"\x11" * 48, b"\x22" * 48
    deposit = deposit_log_data(b"\x33" * 48, b"\x44" * 32, (32 * 10**9).to_bytes(8, "little"), b"\x55" * 96,
                               (7).to_bytes(8, "little"))
    pre = {HISTORY: {"balance": "0x0", "nonce": "0x1", "code": HISTORY_CODE},
           WITHDRAWALS: {"balance": "0x0", "nonce": "0x1", "code": WITHDRAWALS_CODE},
           CONSOLIDATIONS: {"balance": "0x0", "nonce": "0x1", "code": CONSOLIDATIONS_CODE},
           DEPOSITS: {"balance": "0x0", "nonce": "0x1", "code": FAKE_DEPOSIT_CODE},
           READER: {"balance": "0x0", "nonce": "0x1", "code": READ_PARENT_HASH}}
    txs = [tx(nonce=0, to=WITHDRAWALS, value=1, gas=200_000, data="0x" + (pubkey + (5).to_bytes(8, "big")).hex()),
           tx(nonce=1, to=BOB, value=1, gas=21_000),
           tx(nonce=2, to=DEPOSITS, gas=200_000, data="0x" + deposit.hex()),
           tx(nonce=3, to=CONSOLIDATIONS, value=1, gas=300_000, data="0x" + (pubkey + target).hex()),
           tx(nonce=4, to=READER, gas=200_000)]
    fixture = prague_block(txs, extra_pre=pre)
    fixture["env"]["currentNumber"] = "0x10"
    fixture.update({"parentHash": PARENT, "requests": True, **fields})
    return fixture, pubkey, target


def test_history_storage_and_requests():
    import hashlib
    fixture, pubkey, target = requests_block()
    problems, runs = check_parallel(fixture, THREADS, repeats=2)
    assert not problems, problems
    res = blockstm.execute(fixture)
    assert all(r.status == 1 for r in res.receipts)
    # EIP-2935: written before the transactions, read by one of them.
    assert res.post_state[HISTORY]["storage"][(0x10 - 1) % 8191] == int(PARENT, 16)
    assert res.post_state[READER]["storage"][0] == int(PARENT, 16)
    alice = bytes.fromhex(ALICE[2:])
    deposit = b"\x33" * 48 + b"\x44" * 32 + (32 * 10**9).to_bytes(8, "little") + b"\x55" * 96 + (7).to_bytes(8, "little")
    expected = [b"\x00" + deposit,
                b"\x01" + alice + pubkey + (5).to_bytes(8, "little"),  # the contract writes it little-endian
                b"\x02" + alice + pubkey + target]
    assert res.requests == ["0x" + r.hex() for r in expected]
    digest = hashlib.sha256(b"".join(hashlib.sha256(r).digest() for r in expected)).hexdigest()
    assert res.requests_hash == "0x" + digest
    assert [e["effect"] for e in res.block_effects] == ["history_storage", "withdrawal_requests",
                                                        "consolidation_requests"]
    # The request queues were drained by the system calls: a second call finds nothing.
    assert res == blockstm.execute(fixture, "parallel", 2, parallel_threshold=0)


def test_no_requests_and_missing_request_contracts():
    fixture, _, _ = requests_block()
    fixture["transactions"] = [tx(nonce=0, to=BOB, value=1, gas=21_000)]
    res = blockstm.execute(fixture)
    assert res.requests == [] and res.requests_hash == "0x" + __import__("hashlib").sha256(b"").hexdigest()
    del fixture["pre"][CONSOLIDATIONS]
    for mode in ("sequential", "parallel"):
        with pytest.raises(blockstm.InvalidBlock, match="consolidation_requests"):
            blockstm.execute(fixture, mode)
    without = {k: v for k, v in fixture.items() if k != "requests"}
    assert blockstm.execute(without).requests is None


def test_a_malformed_deposit_log_makes_the_block_invalid():
    fixture, _, _ = requests_block()
    fixture["transactions"][2]["data"] = "0x" + "00" * 575
    with pytest.raises(blockstm.InvalidBlock, match="576"):
        blockstm.execute(fixture)


@pytest.mark.parametrize("field,fork", [("parentHash", "Cancun"), ("requests", "Cancun")])
def test_prague_fields_before_prague_are_fixture_errors(field, fork):
    value = PARENT if field == "parentHash" else True
    with pytest.raises(blockstm.FixtureError) as err:
        blockstm.execute({**block([], fork=fork), field: value})
    assert err.value.path == field


@pytest.mark.parametrize("fork", ["Cancun", "Prague", "Osaka"])
def test_a_raw_transfer_with_calldata_pays_the_calldata_floor(fork):
    """EIP-7623 (Prague): a transaction pays at least 21,000 + 10 per calldata token.
    A value transfer with calldata to an EOA runs no code: Block-STM settles it lazily,
    and must charge the floor as revm does (found by the delegations strategy)."""
    senders = [f"0x{i:040x}" for i in range(0x100, 0x100 + 16)]
    pre = {s: {"balance": hex(ETHER), "nonce": "0x0"} for s in senders}
    txs = [tx(nonce=0, sender=s, to=BOB, value=1, gas=30_000, data="0x" + "ff" * 8) for s in senders]
    res = agree(prague_block(txs, fork=fork, extra_pre=pre))
    floor = 21_000 + 10 * 4 * 8
    assert res.receipts[0].gas_used == (floor if fork != "Cancun" else 21_000 + 16 * 8)


CLZ_STORE = "0x7f" + "00" * 3 + "10" + "00" * 28 + "1e600055" "00"  # SSTORE(0, CLZ(2**228)): 27
CLZ_AT = "0xc00000000000000000000000000000000000000a"


@pytest.mark.parametrize("fork", ["Prague", "Osaka"])
def test_new_precompiles_and_opcodes_agree_with_eels(fork):
    """EIP-2537 (BLS12-381 G1ADD, Prague), EIP-7951 (P256VERIFY, Osaka), EIP-7883 (MODEXP's
    price, Osaka), EIP-7939 (CLZ, Osaka): what revm does for the spec, against EELS."""
    modexp = "0x" + (1).to_bytes(32, "big").hex() * 3 + "020305"  # 2**3 % 5
    txs = [tx(nonce=0, to="0x0000000000000000000000000000000000000005", gas=100_000, data=modexp),
           tx(nonce=1, to="0x000000000000000000000000000000000000000b", gas=100_000, data="0x" + "00" * 256),
           tx(nonce=2, to="0x0000000000000000000000000000000000000100", gas=100_000, data="0x" + "00" * 160),
           tx(nonce=3, to=CLZ_AT, gas=100_000)]
    fixture = prague_block(txs, fork=fork, extra_pre={CLZ_AT: {"balance": "0x0", "nonce": "0x1", "code": CLZ_STORE}})
    res = agree(fixture)
    assert res.receipts[1].status == 1  # G1ADD of two points at infinity
    if fork == "Osaka":
        assert res.post_state[CLZ_AT]["storage"] == {0: 27}
    else:
        assert res.receipts[3].status == 0  # 0x1e is not an opcode before Osaka
