"""Run a (small) block fixture through the Ethereum execution specs (EELS, Cancun):
an engine-independent oracle, slow (pure Python), for blocks of tens of txs.

Supports what the generators emit: EIP-1559 transactions with `sender` (EELS
recovers senders from signatures, so recovery is replaced by a lookup), calls and
creations. Returns an object shaped like blockstm's BlockResult: .receipts (status,
gas_used, cumulative_gas_used, logs), .post_state, .state_root.
"""

from __future__ import annotations

from types import SimpleNamespace

from ethereum_types.bytes import Bytes, Bytes0, Bytes20, Bytes32
from ethereum_types.numeric import U64, U256, Uint

import ethereum.forks.cancun.fork as fork
from ethereum.forks.cancun import vm
from ethereum.forks.cancun.fork_types import Account
from ethereum.forks.cancun.bloom import logs_bloom
from ethereum.forks.cancun.state import State, set_account, set_storage, state_root
from ethereum.forks.cancun.trie import root
from ethereum.forks.cancun.transactions import FeeMarketTransaction


def _int(value) -> int:
    if value is None:
        return 0
    return int(value, 16) if isinstance(value, str) else int(value)


def _bytes(value) -> bytes:
    if not value:
        return b""
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


def _addr(value: str) -> Bytes20:
    return Bytes20(bytes.fromhex(value[2:].rjust(40, "0")))


def execute(fixture: dict) -> SimpleNamespace:
    env = fixture["env"]
    state = State()
    for address, acc in fixture["pre"].items():
        set_account(state, _addr(address), Account(
            nonce=Uint(_int(acc["nonce"])), balance=U256(_int(acc["balance"])),
            code=Bytes(_bytes(acc.get("code")))))
        for slot, value in (acc.get("storage") or {}).items():
            if _int(value):
                set_storage(state, _addr(address), Bytes32(_int(slot).to_bytes(32, "big")),
                            U256(_int(value)))

    block_env = vm.BlockEnvironment(
        chain_id=U64(_int(env.get("currentChainId", 1))),
        state=state,
        block_gas_limit=Uint(_int(env["currentGasLimit"])),
        block_hashes=[],
        coinbase=_addr(env["currentCoinbase"]),
        number=Uint(_int(env["currentNumber"])),
        base_fee_per_gas=Uint(_int(env["currentBaseFee"])),
        time=U256(_int(env["currentTimestamp"])),
        prev_randao=Bytes32(_int(env.get("currentRandom", "0x0")).to_bytes(32, "big")),
        excess_blob_gas=U64(_int(env.get("currentExcessBlobGas", 0))),
        parent_beacon_block_root=Bytes32(b"\0" * 32),
    )
    block_output = vm.BlockOutput()

    senders: dict[int, Bytes20] = {}
    recorded: list[tuple] = []
    real_recover, real_make_receipt = fork.recover_sender, fork.make_receipt

    def recover(chain_id, tx):
        return senders[id(tx)]

    def make_receipt(tx, error, cumulative_gas_used, logs):
        recorded.append((error, int(cumulative_gas_used), logs))
        return real_make_receipt(tx, error, cumulative_gas_used, logs)

    fork.recover_sender, fork.make_receipt = recover, make_receipt
    try:
        for index, t in enumerate(fixture["transactions"]):
            to = t.get("to")
            tx = FeeMarketTransaction(
                chain_id=U64(_int(t.get("chainId", 1))),
                nonce=U256(_int(t["nonce"])),
                max_priority_fee_per_gas=Uint(_int(t["maxPriorityFeePerGas"])),
                max_fee_per_gas=Uint(_int(t["maxFeePerGas"])),
                gas=Uint(_int(t["gasLimit"])),
                to=_addr(to) if to else Bytes0(b""),
                value=U256(_int(t.get("value"))),
                data=Bytes(_bytes(t.get("data"))),
                access_list=(),
                y_parity=U256(0), r=U256(1), s=U256(1),
            )
            senders[id(tx)] = _addr(t["sender"])
            fork.process_transaction(block_env, block_output, tx, Uint(index))
    finally:
        fork.recover_sender, fork.make_receipt = real_recover, real_make_receipt

    receipts = []
    previous = 0
    for error, cumulative, logs in recorded:
        receipts.append(SimpleNamespace(
            status=0 if error is not None else 1,
            gas_used=cumulative - previous,
            cumulative_gas_used=cumulative,
            logs=[SimpleNamespace(address="0x" + bytes(log.address).hex(),
                                  topics=["0x" + bytes(t).hex() for t in log.topics],
                                  data=bytes(log.data)) for log in logs],
            error=error,
        ))
        previous = cumulative

    post = {}
    for address, account in state._main_trie._data.items():
        if account is None:
            continue
        trie = state._storage_tries.get(address)
        storage = {int.from_bytes(k, "big"): int(v) for k, v in (trie._data.items() if trie else ()) if int(v)}
        post["0x" + bytes(address).hex()] = {
            "balance": int(account.balance), "nonce": int(account.nonce),
            "code": bytes(account.code), "storage": storage,
        }
    return SimpleNamespace(receipts=receipts, post_state=post,
                           state_root="0x" + bytes(state_root(state)).hex(),
                           receipts_root="0x" + bytes(root(block_output.receipts_trie)).hex(),
                           logs_bloom="0x" + bytes(logs_bloom(block_output.block_logs)).hex())
