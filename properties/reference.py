"""The independent reference: run a block fixture on EELS (ethereum/execution-specs).

``run_reference(fixture)`` returns the same shape as ``blockstm.execute``: receipts,
post-state, state root (plus logs bloom, receipts root, logs hash), or the index and
kind of the first invalid transaction.

How EELS is driven. EELS executes a whole block with ``fork.apply_body``, which also
runs system calls and withdrawals and decodes *signed* transactions. We want neither,
so per transaction we call the fork's own ``fork.process_transaction(block_env,
block_output, tx, index)`` - validation, fee payment, execution, refund, coinbase
fee, burn, self-destruct and (before Paris) touched-empty deletion are all EELS's
code - on a ``vm.BlockEnvironment`` we build from the fixture's ``env``. Fixture
transactions are unsigned (they name their ``sender``), so for the duration of the
call two names in the fork module are wrapped:

* ``recover_sender`` answers with the fixture's sender (the transaction object we
  built is the key) instead of recovering it from a signature;
* ``process_message_call`` is observed (not changed) to learn each transaction's
  top-level outcome, which pre-Byzantium receipts do not record.

Semantics worth knowing:

* No block reward, withdrawals or system calls (the beacon-roots call of Cancun).
* BLOCKHASH: the fixture's ``blockHashes``, else keccak256 of the decimal number.
* Forks: every fork in ``blockstm.FORKS`` (``Constantinople`` runs as Petersburg,
  as in the engine); ``Prague`` too, for its legacy..blob transaction types.
* From Paris on EELS follows EIP-7523 (no empty accounts exist): it deletes an
  empty account only when it modifies it, while revm deletes every touched empty
  account. A fixture with an empty account in ``pre`` on Paris+ therefore has no
  single right answer; :func:`run_reference` refuses it (:class:`ReferenceUnsupported`)
  unless ``allow_empty_accounts=True``.
* ``contract_address`` is set for a creation transaction that succeeded (status 1).
* Speed: EELS interprets about 0.2-0.8 Mgas/s (cheap opcodes are the slow end). A
  16-transaction block of small programs (~30k gas each) takes 30-50 ms; keep the
  gas a generated block really burns under ~1M.
* ``InvalidTx.kind`` uses ``blockstm.INVALID_TX_KINDS``. A transaction with several
  defects may be named differently by EELS and revm (they check in different orders);
  only single-defect transactions compare reliably.
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Mapping, Optional

from ethereum.crypto.hash import keccak256
from ethereum.exceptions import (
    EthereumException,
    GasUsedExceedsLimitError,
    InsufficientBalanceError,
    InsufficientTransactionGasError,
    InvalidBlock,
    InvalidSenderError,
    NonceMismatchError,
    NonceOverflowError,
)
from ethereum_rlp import rlp
from ethereum_types.bytes import Bytes, Bytes0, Bytes20, Bytes32
from ethereum_types.numeric import U8, U64, U256, Uint

__all__ = [
    "run_reference",
    "ReferenceResult",
    "RefReceipt",
    "RefLog",
    "InvalidTx",
    "ReferenceUnsupported",
    "EELS_FORKS",
    "sender_of_secret_key",
    "diff_results",
]

#: Fixture fork name -> EELS package under ``ethereum.forks``.
EELS_FORKS = {
    "Frontier": "frontier",
    "Homestead": "homestead",
    "EIP150": "tangerine_whistle",
    "TangerineWhistle": "tangerine_whistle",
    "EIP158": "spurious_dragon",
    "SpuriousDragon": "spurious_dragon",
    "Byzantium": "byzantium",
    # EELS's constantinople is what mainnet ran, i.e. Petersburg (no EIP-1283).
    "Constantinople": "constantinople",
    "ConstantinopleFix": "constantinople",
    "Petersburg": "constantinople",
    "Istanbul": "istanbul",
    "Berlin": "berlin",
    "London": "london",
    "Paris": "paris",
    "Merge": "paris",
    "Shanghai": "shanghai",
    "Cancun": "cancun",
    "Prague": "prague",
    "Osaka": "osaka",
    "BPO1": "bpo1",
    "BPO2": "bpo2",
}
_ORDER = ["frontier", "homestead", "tangerine_whistle", "spurious_dragon", "byzantium",
          "constantinople", "istanbul", "berlin", "london", "paris", "shanghai", "cancun",
          "prague", "osaka", "bpo1", "bpo2"]

UINT256_MAX = 2**256 - 1


class ReferenceUnsupported(ValueError):
    """The fixture asks for something the reference cannot answer unambiguously."""


@dataclass
class RefLog:
    address: str  # "0x.." lowercase
    topics: list[str]  # "0x" + 64 hex digits each
    data: bytes


@dataclass
class RefReceipt:
    status: int  # 1 success, 0 failure
    gas_used: int
    cumulative_gas_used: int
    logs: list[RefLog]
    contract_address: Optional[str]
    tx_type: int
    logs_bloom: str


@dataclass
class InvalidTx:
    index: int
    kind: str  # one of blockstm.INVALID_TX_KINDS
    message: str


@dataclass
class ReferenceResult:
    receipts: list[RefReceipt]  # with ``invalid``: those before the invalid transaction
    post_state: Optional[dict[str, dict[str, Any]]]  # None when the block is invalid
    state_root: Optional[str]
    logs_bloom: Optional[str] = None
    receipts_root: Optional[str] = None
    logs_hash: Optional[str] = None  # keccak(rlp(all logs)): ethereum/tests' "logs"
    invalid: Optional[InvalidTx] = None
    elapsed_s: float = 0.0
    # A reference that cannot name an invalid transaction's rule (py-evm) compares
    # only its index; one without an account-by-account post-state, only the root.
    names_invalid_kinds: bool = True

    @property
    def ok(self) -> bool:
        return self.invalid is None


# ---- fixture parsing --------------------------------------------------------------------


def _quantity(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a quantity, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{what}: negative quantity {value}")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text[:2].lower() == "0x":
            return int(text[2:], 16) if len(text) > 2 else 0
        if text.isdigit():
            return int(text)
    raise ValueError(f"{what}: expected a hex quantity, got {value!r}")


def _bounded(value: Any, what: str, bits: int = 256) -> int:
    """A quantity that must fit in ``bits`` bits (the engine's own limits: 64 for
    nonces and gas, 256 for balances and values)."""
    n = _quantity(value, what)
    if n >= 1 << bits:
        raise ValueError(f"{what}: value out of range (> 2**{bits}-1): {n:#x}")
    return n


def _hex_bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or value[:2].lower() != "0x":
        raise ValueError(f"{what}: expected 0x-prefixed hex, got {value!r}")
    return bytes.fromhex(value[2:])


def _address(value: Any, what: str) -> Bytes20:
    raw = _hex_bytes(value, what)
    if len(raw) != 20:
        raise ValueError(f"{what}: expected a 20-byte address, got {value!r}")
    return Bytes20(raw)


def _bytes32(value: Any, what: str) -> Bytes32:
    raw = _hex_bytes(value, what)
    if len(raw) != 32:
        raise ValueError(f"{what}: expected 32 bytes, got {value!r}")
    return Bytes32(raw)


def _slot_key(value: Any, what: str) -> Bytes32:
    return Bytes32(_bounded(value, what).to_bytes(32, "big"))


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def sender_of_secret_key(secret_key: bytes | str) -> str:
    """The address of a secp256k1 secret key (keccak of the uncompressed public key)."""
    import coincurve  # an EELS dependency

    if isinstance(secret_key, str):
        secret_key = _hex_bytes(secret_key, "secretKey")
    public = coincurve.PrivateKey(bytes(secret_key)).public_key.format(compressed=False)
    return _hex(keccak256(public[1:])[12:])


@dataclass
class _Fork:
    name: str  # EELS package name
    pkg: ModuleType
    fork: ModuleType
    vm: ModuleType
    state: ModuleType
    txs: ModuleType
    fork_types: ModuleType
    trie: ModuleType
    bloom: ModuleType
    address: ModuleType

    def at_least(self, other: str) -> bool:
        return _ORDER.index(self.name) >= _ORDER.index(other)


_FORK_CACHE: dict[str, _Fork] = {}


def _load_fork(fixture_fork: str) -> _Fork:
    name = EELS_FORKS.get(fixture_fork)
    if name is None:
        raise ValueError(f"fork: unknown fork {fixture_fork!r}; expected one of {sorted(EELS_FORKS)}")
    if name not in _FORK_CACHE:
        base = f"ethereum.forks.{name}"
        sub = {m: importlib.import_module(f"{base}.{m}")
               for m in ("fork", "vm", "state", "transactions", "fork_types", "trie", "bloom",
                         "utils.address")}
        _FORK_CACHE[name] = _Fork(name, importlib.import_module(base), sub["fork"], sub["vm"],
                                  sub["state"], sub["transactions"], sub["fork_types"],
                                  sub["trie"], sub["bloom"], sub["utils.address"])
    return _FORK_CACHE[name]


def _tx_type(tx: Mapping[str, Any]) -> int:
    if tx.get("type") is not None:
        return _quantity(tx["type"], "type")
    if tx.get("authorizationList") is not None:
        return 4
    if tx.get("maxFeePerBlobGas") is not None or tx.get("blobVersionedHashes") is not None:
        return 3
    if tx.get("maxFeePerGas") is not None:
        return 2
    if tx.get("accessList") is not None:
        return 1
    return 0


_TYPE_CLASS = {0: "LegacyTransaction", 1: "AccessListTransaction",
               2: "FeeMarketTransaction", 3: "BlobTransaction", 4: "SetCodeTransaction"}


class _UnsupportedType(Exception):
    pass


def _build_tx(f: _Fork, tx: Mapping[str, Any], path: str):
    """The EELS transaction object for a fixture transaction (unsigned: v=r=s=0)."""
    tx_type = _tx_type(tx)
    cls_name = _TYPE_CLASS.get(tx_type)
    if cls_name == "LegacyTransaction" and not hasattr(f.txs, cls_name):
        cls_name = "Transaction"  # before Berlin the only kind had this name
    cls = getattr(f.txs, cls_name, None) if cls_name else None
    if cls is None:
        raise _UnsupportedType(f"transaction type {tx_type} is not supported by {f.name}")

    to_raw = tx.get("to")
    to = Bytes0(b"") if to_raw in (None, "") else _address(to_raw, f"{path}.to")
    gas_price = tx.get("gasPrice")
    max_fee = tx.get("maxFeePerGas", gas_price)
    priority = tx.get("maxPriorityFeePerGas", max_fee)
    if gas_price is None:
        gas_price = max_fee
    if gas_price is None:
        raise ValueError(f"{path}.gasPrice: missing field (give gasPrice or maxFeePerGas)")
    fields: dict[str, Any] = dict(
        nonce=U256(_bounded(tx["nonce"], f"{path}.nonce", 64)),
        gas=Uint(_bounded(tx["gasLimit"], f"{path}.gasLimit", 64)),
        to=to,
        value=U256(_bounded(tx.get("value", 0), f"{path}.value")),
        data=Bytes(_hex_bytes(tx.get("data") or "0x", f"{path}.data")),
        r=U256(0),
        s=U256(0),
    )
    names = {fl.name for fl in dataclasses.fields(cls)}
    if "chain_id" in names:
        chain_id = tx.get("chainId", 1)
        fields["chain_id"] = U64(_bounded(chain_id if chain_id is not None else 1, f"{path}.chainId", 64))
    if "gas_price" in names:
        fields["gas_price"] = Uint(_bounded(gas_price, f"{path}.gasPrice", 128))
    if "max_fee_per_gas" in names:
        fields["max_fee_per_gas"] = Uint(_bounded(max_fee, f"{path}.maxFeePerGas", 128))
        fields["max_priority_fee_per_gas"] = Uint(
            _bounded(priority, f"{path}.maxPriorityFeePerGas", 128))
    if "access_list" in names:
        entries = []
        for i, item in enumerate(tx.get("accessList") or []):
            ipath = f"{path}.accessList[{i}]"
            entries.append(f.txs.Access(
                account=_address(item["address"], f"{ipath}.address"),
                slots=tuple(_bytes32(k, f"{ipath}.storageKeys") for k in item["storageKeys"]),
            ))
        fields["access_list"] = tuple(entries)
    if "blob_versioned_hashes" in names:
        fields["blob_versioned_hashes"] = tuple(
            _bytes32(h, f"{path}.blobVersionedHashes") for h in tx.get("blobVersionedHashes") or [])
        fields["max_fee_per_blob_gas"] = U256(
            _bounded(tx.get("maxFeePerBlobGas", 0), f"{path}.maxFeePerBlobGas", 128))
    if "authorizations" in names:  # EIP-7702: signed; EELS recovers each authority
        fields["nonce"] = U64(int(fields["nonce"]))
        auths = []
        for i, a in enumerate(tx.get("authorizationList") or []):
            apath = f"{path}.authorizationList[{i}]"
            parity = a.get("yParity", a.get("v"))
            auths.append(f.fork_types.Authorization(
                chain_id=U256(_bounded(a["chainId"], f"{apath}.chainId")),
                address=_address(a["address"], f"{apath}.address"),
                nonce=U64(_bounded(a["nonce"], f"{apath}.nonce", 64)),
                y_parity=U8(_bounded(parity, f"{apath}.yParity", 8)),
                r=U256(_bounded(a["r"], f"{apath}.r")),
                s=U256(_bounded(a["s"], f"{apath}.s")),
            ))
        fields["authorizations"] = tuple(auths)
    if "y_parity" in names:
        fields["y_parity"] = U256(0)
    if "v" in names:
        fields["v"] = U256(0)
    return tx_type, cls(**fields)


def _sender(tx: Mapping[str, Any], path: str) -> Bytes20:
    if tx.get("sender") is not None:
        return _address(tx["sender"], f"{path}.sender")
    if tx.get("secretKey") is not None:
        return _address(sender_of_secret_key(tx["secretKey"]), f"{path}.secretKey")
    raise ValueError(f"{path}.sender: missing field (give sender or secretKey)")


def _is_empty_account(acc: Mapping[str, Any]) -> bool:
    return (_quantity(acc.get("balance", 0), "balance") == 0
            and _quantity(acc.get("nonce", 0), "nonce") == 0
            and not _hex_bytes(acc.get("code") or "0x", "code"))


def _block_hash(number: int, given: Mapping[int, bytes]) -> bytes:
    return given.get(number) or keccak256(str(number).encode())


def _build_env(f: _Fork, fixture: Mapping[str, Any], state) -> Any:
    env = fixture["env"]

    def q(key: str, default: Optional[int] = None) -> int:
        if env.get(key) is None:
            if default is None:
                raise ValueError(f"env.{key}: missing field")
            return default
        return _quantity(env[key], f"env.{key}")

    number = q("currentNumber")
    given = {}
    for key, value in (fixture.get("blockHashes") or {}).items():
        given[_quantity(key, f"blockHashes.{key}")] = _bytes32(value, f"blockHashes.{key}")
    hashes = [Bytes32(_block_hash(n, given)) for n in range(max(0, number - 256), number)]

    values = dict(
        chain_id=U64(q("currentChainId", 1)),
        state=state,
        block_gas_limit=Uint(q("currentGasLimit")),
        block_hashes=hashes,
        coinbase=_address(env.get("currentCoinbase"), "env.currentCoinbase"),
        number=Uint(number),
        time=U256(q("currentTimestamp")),
        difficulty=Uint(q("currentDifficulty", 0)),
        base_fee_per_gas=Uint(q("currentBaseFee", None if f.at_least("london") else 0)),
        prev_randao=Bytes32(q("currentRandom", 0).to_bytes(32, "big")),
        excess_blob_gas=U64(q("currentExcessBlobGas", 0)),
        parent_beacon_block_root=Bytes32(b"\0" * 32),
    )
    names = [fl.name for fl in dataclasses.fields(f.vm.BlockEnvironment)]
    return f.vm.BlockEnvironment(**{n: values[n] for n in names})


def _build_state(f: _Fork, pre: Mapping[str, Any]):
    state = f.state.State()
    for key, acc in pre.items():
        path = f"pre.{key}"
        address = _address(key, path)
        f.state.set_account(state, address, f.fork_types.Account(
            nonce=Uint(_bounded(acc["nonce"], f"{path}.nonce", 64)),
            balance=U256(_bounded(acc["balance"], f"{path}.balance")),
            code=Bytes(_hex_bytes(acc.get("code") or "0x", f"{path}.code")),
        ))
        for slot, value in (acc.get("storage") or {}).items():
            v = _bounded(value, f"{path}.storage.{slot}")
            if v:
                f.state.set_storage(state, address, _slot_key(slot, f"{path}.storage"), U256(v))
    return state


def export_state(f: _Fork, state) -> dict[str, dict[str, Any]]:
    """EELS state -> ``{"0xaddr": {"balance", "nonce", "code", "storage": {int: int}}}``."""
    out = {}
    for address, account in state._main_trie._data.items():
        storage_trie = state._storage_tries.get(address)
        storage = {}
        if storage_trie is not None:
            storage = {int.from_bytes(k, "big"): int(v) for k, v in storage_trie._data.items() if v}
        out[_hex(address)] = {
            "balance": int(account.balance),
            "nonce": int(account.nonce),
            "code": bytes(account.code),
            "storage": dict(sorted(storage.items())),
        }
    return dict(sorted(out.items()))


# ---- invalid transactions -----------------------------------------------------------------


def _classify(exc: Exception, f: _Fork, tx, block_env, block_output) -> str:
    name = type(exc).__name__
    if isinstance(exc, NonceMismatchError):
        return "nonce_too_low" if "low" in str(exc) else "nonce_too_high"
    if isinstance(exc, NonceOverflowError):
        return "nonce_overflow"
    if isinstance(exc, InsufficientTransactionGasError):
        return "intrinsic_gas_too_low"
    if isinstance(exc, InsufficientBalanceError):
        return "payment_overflow" if _max_payment(tx) > UINT256_MAX else "insufficient_funds"
    if isinstance(exc, GasUsedExceedsLimitError):
        return "gas_limit_above_block" if tx.gas > block_env.block_gas_limit else "block_gas_exhausted"
    if isinstance(exc, InvalidSenderError):
        return "sender_has_code"
    by_name = {
        "PriorityFeeGreaterThanMaxFeeError": "priority_fee_above_fee_cap",
        "InsufficientMaxFeePerGasError": "fee_cap_below_base_fee",
        "InsufficientMaxFeePerBlobGasError": "blob_fee_cap_too_low",
        "InvalidBlobVersionedHashError": "blob_version_not_supported",
        "NoBlobDataError": "empty_blobs",
        "TransactionTypeContractCreationError": "blob_create",
        "InitCodeTooLargeError": "init_code_too_large",
        "TransactionTypeError": "tx_type_not_supported",
        "TransactionGasLimitExceededError": "gas_limit_above_cap",
    }
    if name in by_name:
        return by_name[name]
    if name == "BlobGasLimitExceededError":
        limit = getattr(f.fork, "MAX_BLOB_GAS_PER_BLOCK", None)
        own = int(f.vm.gas.calculate_total_blob_gas(tx)) if hasattr(f.vm, "gas") else 0
        return "too_many_blobs" if limit is not None and own > int(limit) else "blob_block_gas_exhausted"
    if type(exc) is InvalidBlock and hasattr(tx, "gas_price") and hasattr(block_env, "base_fee_per_gas"):
        if tx.gas_price < block_env.base_fee_per_gas:  # legacy price below the base fee
            return "fee_cap_below_base_fee"
    return "other"


def _max_payment(tx) -> int:
    price = int(getattr(tx, "max_fee_per_gas", getattr(tx, "gas_price", 0)))
    total = int(tx.gas) * price + int(tx.value)
    if hasattr(tx, "blob_versioned_hashes"):
        total += 2**17 * len(tx.blob_versioned_hashes) * int(tx.max_fee_per_blob_gas)
    return total


# ---- running ------------------------------------------------------------------------------

_PATCH_LOCK = threading.RLock()


class _Hooks:
    """Swaps ``recover_sender`` and wraps ``process_message_call`` in a fork module
    for the duration of a block (EELS looks both up as module globals)."""

    def __init__(self, f: _Fork) -> None:
        self.f = f
        self.senders: dict[int, tuple[Any, Bytes20]] = {}  # id(tx) -> (tx, sender)
        self.outputs: list[Any] = []

    def recover_sender(self, *args):  # (chain_id, tx) from Spurious Dragon on, else (tx,)
        tx = args[-1]
        entry = self.senders.get(id(tx))
        if entry is None or entry[0] is not tx:
            raise AssertionError("recover_sender called with a transaction we did not build")
        return entry[1]

    def process_message_call(self, message):
        output = self._original_pmc(message)
        self.outputs.append(output)
        return output

    def __enter__(self):
        _PATCH_LOCK.acquire()
        mod = self.f.fork
        self._original_rs = mod.recover_sender
        self._original_pmc = mod.process_message_call
        mod.recover_sender = self.recover_sender
        mod.process_message_call = self.process_message_call
        return self

    def __exit__(self, *exc):
        mod = self.f.fork
        mod.recover_sender = self._original_rs
        mod.process_message_call = self._original_pmc
        _PATCH_LOCK.release()
        return False


def run_reference(fixture: Mapping[str, Any], *, allow_empty_accounts: bool = False) -> ReferenceResult:
    """Execute every transaction of ``fixture`` (a block fixture dict) on EELS.

    Returns a :class:`ReferenceResult`; an invalid transaction stops the block and is
    reported in ``result.invalid`` (``post_state``/``state_root`` are then ``None``).
    Raises ``ValueError`` for a malformed fixture and :class:`ReferenceUnsupported`
    (a ``ValueError``) for one the reference cannot answer unambiguously."""
    started = time.perf_counter()
    f = _load_fork(str(fixture.get("fork", "")))
    if f.at_least("paris") and not allow_empty_accounts:
        empty = [a for a, acc in fixture["pre"].items() if _is_empty_account(acc)]
        if empty:
            raise ReferenceUnsupported(
                f"pre: empty account(s) {empty[:3]} on a post-merge fork: EIP-7523 makes their "
                "touch semantics undefined (EELS keeps them, revm deletes them)")
    state = _build_state(f, fixture["pre"])
    block_env = _build_env(f, fixture, state)
    block_output = f.vm.BlockOutput()
    chain_id = int(block_env.chain_id)

    receipts: list[RefReceipt] = []
    all_logs: list[Any] = []
    invalid: Optional[InvalidTx] = None
    with _Hooks(f) as hooks:
        for index, raw_tx in enumerate(fixture["transactions"]):
            path = f"transactions[{index}]"
            try:
                tx_type, tx = _build_tx(f, raw_tx, path)
            except _UnsupportedType as exc:
                invalid = InvalidTx(index, "tx_type_not_supported", str(exc))
                break
            sender = _sender(raw_tx, path)
            # a legacy transaction with chainId null is pre-EIP-155: no chain check
            tx_chain_id = None
            if tx_type > 0 or raw_tx.get("chainId", 1) is not None:
                tx_chain_id = _quantity(raw_tx.get("chainId", 1), f"{path}.chainId")
            if tx_chain_id is not None and tx_chain_id != chain_id:
                invalid = InvalidTx(index, "invalid_chain_id", f"chain id {tx_chain_id} != {chain_id}")
                break
            hooks.senders[id(tx)] = (tx, sender)
            gas_before = int(block_output.block_gas_used)
            hooks.outputs.clear()
            sender_nonce = int(f.state.get_account(state, sender).nonce)
            try:
                f.fork.process_transaction(block_env, block_output, tx, Uint(index))
            except EthereumException as exc:
                if not _is_validation_error(exc):
                    raise
                invalid = InvalidTx(index, _classify(exc, f, tx, block_env, block_output),
                                    f"{type(exc).__name__}: {exc}")
                break
            output = hooks.outputs[-1]
            status = 1 if output.error is None else 0
            logs = list(output.logs)
            all_logs.extend(logs)
            contract = None
            if isinstance(tx.to, Bytes0) and status == 1:
                contract = _hex(f.address.compute_contract_address(sender, Uint(sender_nonce)))
            receipts.append(RefReceipt(
                status=status,
                gas_used=int(block_output.block_gas_used) - gas_before,
                cumulative_gas_used=int(block_output.block_gas_used),
                logs=[RefLog(_hex(log.address), [_hex(t) for t in log.topics], bytes(log.data))
                      for log in logs],
                contract_address=contract,
                tx_type=tx_type,
                logs_bloom=_hex(f.bloom.logs_bloom(tuple(logs))),
            ))

    if invalid is not None:
        return ReferenceResult(receipts, None, None, invalid=invalid,
                               elapsed_s=time.perf_counter() - started)
    return ReferenceResult(
        receipts=receipts,
        post_state=export_state(f, state),
        state_root=_hex(f.state.state_root(state)),
        logs_bloom=_hex(f.bloom.logs_bloom(tuple(all_logs))),
        receipts_root=_hex(f.trie.root(block_output.receipts_trie)),
        logs_hash=_hex(keccak256(rlp.encode(tuple(all_logs)))),
        elapsed_s=time.perf_counter() - started,
    )


def _is_validation_error(exc: Exception) -> bool:
    # EELS signals an unincludable transaction with InvalidTransaction subclasses, and
    # a legacy gas price below the base fee with a bare InvalidBlock.
    from ethereum.exceptions import InvalidTransaction as EelsInvalidTransaction

    return isinstance(exc, EelsInvalidTransaction) or type(exc) is InvalidBlock


# ---- comparing with the engine ---------------------------------------------------------------


def diff_results(reference: ReferenceResult, engine: Any, *, limit: int = 20) -> list[str]:
    """Differences between a reference result and ``blockstm.execute``'s result (or the
    ``blockstm.InvalidTransaction`` it raised), one readable line each; empty when they
    agree. Compares validity, receipts (status, gas, logs, contract address), the
    post-state account by account, and the roots."""
    out: list[str] = []
    engine_invalid = getattr(engine, "kind", None) is not None and hasattr(engine, "index")
    if reference.invalid or engine_invalid:
        if not (reference.invalid and engine_invalid):
            what = (f"reference: tx {reference.invalid.index} invalid ({reference.invalid.kind}: "
                    f"{reference.invalid.message})" if reference.invalid else "reference: block valid")
            what2 = (f"engine: tx {engine.index} invalid ({engine.kind})" if engine_invalid
                     else "engine: block valid")
            return [f"validity differs - {what}; {what2}"]
        if reference.invalid.index != engine.index or (
                reference.names_invalid_kinds and reference.invalid.kind != engine.kind):
            out.append(f"invalid tx differs: reference ({reference.invalid.index}, "
                       f"{reference.invalid.kind}) vs engine ({engine.index}, {engine.kind})")
        return out

    if len(reference.receipts) != len(engine.receipts):
        out.append(f"receipt count: reference {len(reference.receipts)} vs engine {len(engine.receipts)}")
    for i, (r, e) in enumerate(zip(reference.receipts, engine.receipts)):
        for name in ("status", "gas_used", "cumulative_gas_used", "contract_address", "tx_type",
                     "logs_bloom"):
            rv, ev = getattr(r, name), getattr(e, name, None)
            if isinstance(ev, str):
                ev = ev.lower()
            if rv != ev:
                out.append(f"receipts[{i}].{name}: reference {rv!r} vs engine {ev!r}")
        rlogs = [(l.address, list(l.topics), bytes(l.data)) for l in r.logs]
        elogs = [(l.address.lower(), [t.lower() for t in l.topics], bytes(l.data)) for l in e.logs]
        if rlogs != elogs:
            out.append(f"receipts[{i}].logs: reference {rlogs!r} vs engine {elogs!r}")

    ref_state = reference.post_state
    eng_state = {k.lower(): v for k, v in (engine.post_state or {}).items()} if ref_state is not None else {}
    for address in sorted(set(ref_state or {}) | set(eng_state)):
        ra, ea = ref_state.get(address), eng_state.get(address)
        if ra is None or ea is None:
            out.append(f"post_state[{address}]: reference {ra!r} vs engine {ea!r}")
            continue
        for key in ("balance", "nonce", "code"):
            rv, ev = ra[key], ea.get(key)
            if key == "code":
                ev = bytes(ev or b"")
            if rv != ev:
                out.append(f"post_state[{address}].{key}: reference {rv!r} vs engine {ev!r}")
        rs = {k: v for k, v in ra["storage"].items() if v}
        es = {int(k): int(v) for k, v in (ea.get("storage") or {}).items() if int(v)}
        for slot in sorted(set(rs) | set(es)):
            if rs.get(slot, 0) != es.get(slot, 0):
                out.append(f"post_state[{address}].storage[{slot:#x}]: reference "
                           f"{rs.get(slot, 0):#x} vs engine {es.get(slot, 0):#x}")
    for name in ("state_root", "logs_bloom", "receipts_root", "logs_hash"):
        rv, ev = getattr(reference, name), getattr(engine, name, None)
        if rv is not None and ev is not None and rv.lower() != str(ev).lower():
            out.append(f"{name}: reference {rv} vs engine {ev}")
    if len(out) > limit:
        out = out[:limit] + [f"... and {len(out) - limit} more"]
    return out
