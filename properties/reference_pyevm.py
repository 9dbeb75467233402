"""The second independent reference: run a block fixture on py-evm (ethereum/py-evm).

``run_pyevm(fixture)`` returns the same :class:`properties.reference.ReferenceResult` as
EELS's adapter (``run_reference``), so the two are one interface with two
implementations (:func:`references`), and a disagreement names who is alone.

How py-evm is driven. Each fork's VM class builds a state from a header made of the
fixture's ``env``; the pre-state is written into it and persisted. Fixture transactions
name their ``sender`` instead of carrying a signature, so each is built unsigned by the
fork's transaction builder, signed with a throwaway key (py-evm needs a signed object's
fields) and wrapped in py-evm's own ``SpoofTransaction`` with the fixture's sender: its
validation, fees, execution and receipts are py-evm's code. Receipts come from the VM's
``make_receipt`` (cumulative gas, logs; the status or, before Byzantium, the state root).

Semantics worth knowing:

* Forks: Frontier to Prague (py-evm 0.12 has no Osaka): :data:`FORKS`.
  ``Constantinople`` runs as py-evm's Constantinople (EIP-1283, as the engine does).
* No block reward, withdrawals or system calls, as for the EELS adapter.
* An invalid transaction is reported by index with kind ``"other"``: py-evm's
  exceptions do not name the rule in a stable way, so only the index is compared. The
  property checks consult py-evm only on blocks EELS finds valid (properties/checks.py):
  py-evm 0.12.1b1 accepts a priority fee above the fee cap, which EELS and revm reject.
* BLOCKHASH: the fixture's ``blockHashes``, else keccak256 of the decimal number.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from eth.db.atomic import AtomicDB
from eth_utils import ValidationError
from eth.vm import forks
from eth.vm.chain_context import ChainContext
from eth.vm.spoof import SpoofTransaction
from eth_keys import keys

from .reference import InvalidTx, ReferenceResult, RefLog, RefReceipt, _tx_type, keccak256

#: Fixture fork name -> py-evm VM class (and whether its header has a base fee, ...).
FORKS = {
    "Frontier": forks.FrontierVM,
    "Homestead": forks.HomesteadVM,
    "EIP150": forks.TangerineWhistleVM,
    "EIP158": forks.SpuriousDragonVM,
    "Byzantium": forks.ByzantiumVM,
    "Constantinople": forks.ConstantinopleVM,
    "ConstantinopleFix": forks.PetersburgVM,
    "Istanbul": forks.IstanbulVM,
    "Berlin": forks.BerlinVM,
    "London": forks.LondonVM,
    "Paris": forks.ParisVM,
    "Shanghai": forks.ShanghaiVM,
    "Cancun": forks.CancunVM,
    "Prague": forks.PragueVM,
}

# Signs the unsigned transactions; the sender is spoofed, so the key is irrelevant.
_THROWAWAY = keys.PrivateKey(b"\x01" * 32)


def supports(fork: str) -> bool:
    return fork in FORKS


def _q(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    return int(value, 16) if value.startswith(("0x", "0X")) else int(value)


def _bytes(value: Any) -> bytes:
    text = (value or "0x")[2:]
    return bytes.fromhex(text)


def _header(vm_class, env: Mapping[str, Any]):
    fields = dict(
        difficulty=_q(env.get("currentDifficulty", 0)),
        block_number=_q(env["currentNumber"]),
        gas_limit=_q(env["currentGasLimit"]),
        timestamp=_q(env["currentTimestamp"]),
        coinbase=_bytes(env["currentCoinbase"]),
        mix_hash=_bytes(env.get("currentRandom") or "0x" + "00" * 32),
    )
    if "currentBaseFee" in env:
        fields["base_fee_per_gas"] = _q(env["currentBaseFee"])
    if vm_class in (forks.CancunVM, forks.PragueVM):
        fields["excess_blob_gas"] = _q(env.get("currentExcessBlobGas", 0))
    return _HEADER_CLASSES[vm_class](**fields)


def _header_classes() -> dict:
    from eth.rlp.headers import BlockHeader
    from eth.vm.forks.cancun.blocks import CancunBlockHeader
    from eth.vm.forks.london.blocks import LondonBlockHeader
    from eth.vm.forks.paris.blocks import ParisBlockHeader
    from eth.vm.forks.prague.blocks import PragueBlockHeader
    from eth.vm.forks.shanghai.blocks import ShanghaiBlockHeader

    out = {vm: BlockHeader for vm in FORKS.values()}
    out.update({forks.LondonVM: LondonBlockHeader, forks.ParisVM: ParisBlockHeader,
                forks.ShanghaiVM: ShanghaiBlockHeader, forks.CancunVM: CancunBlockHeader,
                forks.PragueVM: PragueBlockHeader})
    return out


_HEADER_CLASSES = _header_classes()


def _build(vm_class, tx: Mapping[str, Any]):
    builder = vm_class.get_transaction_builder()
    kind = _tx_type(tx)
    to = b"" if tx.get("to") in (None, "") else _bytes(tx["to"])
    common = dict(nonce=_q(tx["nonce"]), gas=_q(tx["gasLimit"]), to=to, value=_q(tx.get("value")),
                  data=_bytes(tx.get("data")))
    access = [(_bytes(a["address"]), [_q(k) for k in a["storageKeys"]]) for a in tx.get("accessList") or []]
    chain_id = _q(tx.get("chainId", 1)) if tx.get("chainId", 1) is not None else None
    if kind == 0:
        unsigned = builder.create_unsigned_transaction(gas_price=_q(tx["gasPrice"]), **common)
        return unsigned.as_signed_transaction(_THROWAWAY, chain_id=chain_id)
    if kind == 1:
        unsigned = builder.new_unsigned_access_list_transaction(
            chain_id=chain_id, gas_price=_q(tx["gasPrice"]), access_list=access, **common)
        return unsigned.as_signed_transaction(_THROWAWAY)
    fees = dict(max_fee_per_gas=_q(tx["maxFeePerGas"]), max_priority_fee_per_gas=_q(tx["maxPriorityFeePerGas"]))
    if kind == 2:
        unsigned = builder.new_unsigned_dynamic_fee_transaction(chain_id=chain_id, access_list=access, **fees, **common)
    elif kind == 3:
        unsigned = builder.new_unsigned_blob_transaction(
            chain_id=chain_id, access_list=access, max_fee_per_blob_gas=_q(tx.get("maxFeePerBlobGas")),
            blob_versioned_hashes=[_bytes(h) for h in tx.get("blobVersionedHashes") or []], **fees, **common)
    elif kind == 4:
        from eth.vm.forks.prague.transactions import Authorization

        auths = [Authorization(chain_id=_q(a["chainId"]), address=_bytes(a["address"]), nonce=_q(a["nonce"]),
                               y_parity=_q(a.get("yParity", a.get("v"))), r=_q(a["r"]), s=_q(a["s"]))
                 for a in tx["authorizationList"]]
        unsigned = builder.new_unsigned_set_code_transaction(
            chain_id=chain_id, access_list=access, authorization_list=auths, **fees, **common)
    else:
        raise ValueError(f"transaction type {kind}")
    return unsigned.as_signed_transaction(_THROWAWAY)


def run_pyevm(fixture: Mapping[str, Any]) -> ReferenceResult:
    """Execute every transaction of ``fixture`` on py-evm (see the module docstring)."""
    started = time.perf_counter()
    fork = str(fixture.get("fork"))
    vm_class = FORKS.get(fork)
    if vm_class is None:
        raise ValueError(f"fork: py-evm has no {fork!r}; expected one of {sorted(FORKS)}")
    env = fixture["env"]
    header = _header(vm_class, env)
    given = {int(k, 16) if str(k).startswith("0x") else int(k): _bytes(v)
             for k, v in (fixture.get("blockHashes") or {}).items()}
    number = _q(env["currentNumber"])
    # py-evm's BLOCKHASH takes the previous 256 hashes, newest first.
    previous = [given.get(n, keccak256(str(n).encode())) for n in range(number - 1, max(-1, number - 257), -1)]
    state = vm_class.build_state(AtomicDB(), header, ChainContext(_q(env.get("currentChainId", 1))), previous)
    for address, acc in fixture["pre"].items():
        a = _bytes(address)
        state.set_balance(a, _q(acc["balance"]))
        state.set_nonce(a, _q(acc["nonce"]))
        if acc.get("code") not in (None, "", "0x"):
            state.set_code(a, _bytes(acc["code"]))
        for slot, value in (acc.get("storage") or {}).items():
            if _q(value):
                state.set_storage(a, _q(slot), _q(value))
    state.persist()

    receipts: list[RefReceipt] = []
    invalid = None
    for index, raw in enumerate(fixture["transactions"]):
        try:
            signed = _build(vm_class, raw)
            signed.validate()  # the transaction's own rules (fee caps, intrinsic gas): not the spoof's
            tx = SpoofTransaction(signed, sender=_bytes(raw["sender"]))
            vm_class.validate_transaction_against_header(None, header, tx)  # (vm unused)
            state.lock_changes()
            computation = state.apply_transaction(tx)
        except (ValidationError, ValueError) as exc:
            invalid = InvalidTx(index, "other", f"py-evm: {exc}")
            break
        receipt = vm_class.make_receipt(header, tx, computation, state)
        header = header.copy(gas_used=receipt.gas_used)
        if hasattr(header, "blob_gas_used"):  # the block's blob budget, as apply_all_transactions keeps it
            header = vm_class.increment_blob_gas_used(None, header, tx)
        previous_cumulative = receipts[-1].cumulative_gas_used if receipts else 0
        created = None
        if raw.get("to") in (None, "") and computation.is_success:
            created = "0x" + bytes(computation.msg.storage_address).hex()
        receipts.append(RefReceipt(
            status=1 if computation.is_success else 0,
            gas_used=receipt.gas_used - previous_cumulative,
            cumulative_gas_used=receipt.gas_used,
            logs=[RefLog("0x" + bytes(log.address).hex(), ["0x" + t.to_bytes(32, "big").hex() for t in log.topics],
                         bytes(log.data)) for log in receipt.logs],
            contract_address=created,
            tx_type=_tx_type(raw),
            logs_bloom="0x" + receipt.bloom.to_bytes(256, "big").hex(),
        ))
    elapsed = time.perf_counter() - started
    if invalid is not None:
        return ReferenceResult(receipts=receipts, post_state=None, state_root=None, invalid=invalid, elapsed_s=elapsed,
                               names_invalid_kinds=False)
    state.persist()
    return ReferenceResult(receipts=receipts, post_state=None, state_root="0x" + state.state_root.hex(),
                           elapsed_s=elapsed, names_invalid_kinds=False)
