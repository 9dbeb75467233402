"""A block as a node gives it → a block fixture, and the header checks it allows.

    fixture = blockstm.from_rpc(block, prestate)
    res = blockstm.execute(fixture)
    assert not blockstm.rpc.header_mismatches(res, **blockstm.rpc.expected_header(block))

``block`` is ``eth_getBlockByNumber(N, true)`` (full transactions). ``prestate`` is the
state the block reads, as it stood after block N-1, in one of the shapes a node gives:

- the ``prestateTracer`` of ``debug_traceBlockByNumber(N, {"tracer": "prestateTracer"})``
  in its default mode (``diffMode: false``): a list with one ``{"txHash", "result"}`` per
  transaction, each ``result`` the accounts and slots that transaction read, as they
  stood before it. They are merged: an account or slot takes its value from the first
  transaction that read it (a later one sees what earlier ones wrote);
- one alloc ``{address: {balance, nonce, code, storage}}`` (the ethereum/tests ``pre``, a
  single ``debug_traceTransaction`` result, or a merged pre-state such as the mainnet
  blocks' ``pre_state.json``).

Either may be wrapped in its JSON-RPC response (``{"jsonrpc", "id", "result"}``). An
alloc is taken as given; in a block trace, an account with nothing (no balance, nonce,
code or storage) is left out: the tracer reports an account that does not exist as
``{"balance": "0x0"}`` (and omits zero fields), and from Spurious Dragon (EIP-161) on an
empty account behaves as an absent one.

The tracer's ``diffMode: true`` alone does not apply: its ``pre`` leaves out every
account a transaction only read. It is the second input, ``prestate_diff``, for one
case the default mode cannot tell: an account a transaction creates (CREATE, CREATE2)
is left out of that transaction's pre-state and appears, with its new code, in the
pre-state of a later transaction that reads it — as if it had existed before the
block. The diffMode trace lists it in ``post`` but not in ``pre``, so the merge drops
it. Without it, such a block's creation collides, and the header check says so.

The block-level effects the block's own data gives are part of the fixture
(docs/block-fixture.md): the EIP-4788 beacon-root call (``parentBeaconBlockRoot``,
Cancun on: a transaction may read the root it writes, so it can change receipts),
withdrawals (Shanghai on), the DAO drain (mainnet block 1,920,000) and, before Paris,
the block reward — with the ommers' rewards when their headers are given
(``uncle_headers``); a block with uncles and no uncle headers gets no rewards at all
rather than wrong ones. Only what the header commits to without the full state can be
checked: ``gasUsed``, ``logsBloom`` and, from Byzantium on, ``receiptsRoot`` (earlier
receipts embed intermediate state roots); with a partial pre-state, never the state
root.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from .errors import FixtureError

__all__ = ["from_rpc", "merge_prestate", "fork_at", "expected_header", "header_mismatches",
           "BLOCK_SCHEDULE", "TIME_SCHEDULE"]

# Mainnet activation: (fork, first block number) up to Paris, then (fork, first timestamp).
BLOCK_SCHEDULE = (
    ("Frontier", 0),
    ("Homestead", 1_150_000),
    ("EIP150", 2_463_000),
    ("EIP158", 2_675_000),
    ("Byzantium", 4_370_000),
    ("ConstantinopleFix", 7_280_000),  # Constantinople and Petersburg activated together
    ("Istanbul", 9_069_000),
    ("Berlin", 12_244_000),
    ("London", 12_965_000),
    ("Paris", 15_537_394),  # the first proof-of-stake block
)
TIME_SCHEDULE = (
    ("Shanghai", 1_681_338_455),
    ("Cancun", 1_710_338_135),
    ("Prague", 1_746_612_311),  # epoch 364,032
    ("Osaka", 1_764_798_551),   # epoch 411,392
    ("BPO1", 1_765_290_071),    # epoch 412,672
    ("BPO2", 1_767_747_671),    # epoch 419,072
)


def _forks() -> tuple[str, ...]:
    from . import FORKS
    return FORKS


def fork_at(number: int, timestamp: int) -> str:
    """The mainnet fork of a block."""
    fork = "Frontier"
    for name, first in BLOCK_SCHEDULE:
        if number >= first:
            fork = name
    if fork == "Paris":
        for name, first in TIME_SCHEDULE:
            if timestamp >= first:
                fork = name
    return fork


def fork_at_least(fork: str, other: str) -> bool:
    forks = _forks()
    return forks.index(fork) >= forks.index(other)


def _int(value: Any, path: str) -> int:
    try:
        return int(value, 16) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise FixtureError(f"{path}: expected a hex quantity, got {value!r}", path) from None


def _field(obj: Mapping, key: str, path: str) -> Any:
    try:
        return obj[key]
    except KeyError:
        raise FixtureError(f"{path}.{key}: missing field", f"{path}.{key}") from None


def _json(value: Any, name: str) -> Any:
    """Parsed JSON (a str or bytes is parsed), unwrapped from a JSON-RPC response."""
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FixtureError(f"{name}: not UTF-8 JSON ({exc})", name) from None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise FixtureError(f"{name}: invalid JSON: {exc}", name) from None
    if isinstance(value, Mapping) and "jsonrpc" in value:
        if "error" in value:
            raise FixtureError(f"{name}: the node answered with an error: {value['error']}", name)
        value = _field(value, "result", name)
    return value


def convert_transaction(tx: Mapping, path: str) -> dict:
    """One RPC transaction → one fixture transaction."""
    if not isinstance(tx, Mapping):
        raise FixtureError(f"{path}: expected a transaction object, got {tx!r:.80} (fetch the block "
                           "with full transactions: eth_getBlockByNumber(N, true))", path)
    tx_type = _int(tx.get("type", "0x0"), f"{path}.type")
    out: dict[str, Any] = {
        "sender": _field(tx, "from", path),
        "to": tx.get("to"),  # null: contract creation
        "nonce": _field(tx, "nonce", path),
        "value": _field(tx, "value", path),
        "data": _field(tx, "input", path),
        "gasLimit": _field(tx, "gas", path),
        "type": tx_type,
    }
    if tx_type >= 2:
        # The RPC's gasPrice of a 1559 transaction is the effective price paid, derived
        # from the fee caps: the caps are the transaction's fields.
        out["maxFeePerGas"] = _field(tx, "maxFeePerGas", path)
        out["maxPriorityFeePerGas"] = _field(tx, "maxPriorityFeePerGas", path)
    else:
        out["gasPrice"] = _field(tx, "gasPrice", path)
    if tx_type >= 1:
        out["accessList"] = tx.get("accessList") or []
    if tx_type == 3:
        out["blobVersionedHashes"] = _field(tx, "blobVersionedHashes", path)
        out["maxFeePerBlobGas"] = _field(tx, "maxFeePerBlobGas", path)
    if tx_type == 4:
        authorizations = _field(tx, "authorizationList", path)
        if not isinstance(authorizations, list):
            raise FixtureError(f"{path}.authorizationList: expected a list", f"{path}.authorizationList")
        out["authorizationList"] = [
            {key: _field(a, key, f"{path}.authorizationList[{j}]") for key in ("chainId", "address", "nonce", "r", "s")}
            | {"yParity": a["yParity"] if "yParity" in a else _field(a, "v", f"{path}.authorizationList[{j}]")}
            for j, a in enumerate(authorizations)
        ]
    # A legacy transaction signed before EIP-155 (v = 27/28) has no chain id; the RPC
    # then omits the field and the fixture says null (the engine checks no chain id).
    out["chainId"] = tx["chainId"] if "chainId" in tx else None
    return out


# Fields a tracer adds that a fixture account does not have.
_TRACER_ONLY_FIELDS = ("codeHash",)


def _is_alloc(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) and k.startswith("0x") for k in value)


def _is_diff(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and set(value) <= {"pre", "post"}


def _diff_mode(value: Any, path: str) -> None:
    if _is_diff(value):
        raise FixtureError(f"{path}: a diffMode trace (pre/post): its pre leaves out the accounts a transaction "
                           "only read; give the prestateTracer's default mode (diffMode false) as the prestate, "
                           "and this one as prestate_diff (--prestate-diff)", path)


def _traces(value: Any, name: str, diff: bool) -> list[tuple[str, Any]]:
    """(path, result) of each transaction of a debug_traceBlockByNumber list."""
    out = []
    for i, entry in enumerate(value):
        path = f"{name}[{i}]"
        if isinstance(entry, Mapping) and "error" in entry and "result" not in entry:
            raise FixtureError(f"{path}: the trace of this transaction failed: {entry['error']}", path)
        if isinstance(entry, Mapping) and "result" in entry:
            entry, path = entry["result"], f"{path}.result"
        if diff:
            if not (isinstance(entry, Mapping) and set(entry) <= {"pre", "post"}
                    and all(_is_alloc(entry.get(k, {})) for k in ("pre", "post"))):
                raise FixtureError(f"{path}: expected {{pre: {{address: account}}, post: …}} (a diffMode result), "
                                   f"got {entry!r:.80}", path)
        else:
            _diff_mode(entry, path)
            if not _is_alloc(entry):
                raise FixtureError(f"{path}: expected {{address: account}} (a prestateTracer result), "
                                   f"got {entry!r:.80}", path)
        out.append((path, entry))
    return out


def _account(account: Any, path: str) -> dict:
    """A fixture account from a tracer's or an alloc's: the fields the tracer omits when
    zero get their zero, the ones it adds are dropped; anything else is the engine's to judge."""
    if not isinstance(account, Mapping):
        raise FixtureError(f"{path}: expected an object, got {account!r:.80}", path)
    out = {k: v for k, v in account.items() if k not in _TRACER_ONLY_FIELDS}
    out.setdefault("balance", "0x0")
    out.setdefault("nonce", "0x0")
    if not isinstance(out.get("storage", {}), Mapping):
        raise FixtureError(f"{path}.storage: expected an object, got {out['storage']!r:.80}", f"{path}.storage")
    return out


def _empty(account: dict, path: str) -> bool:
    return (_int(account["balance"], f"{path}.balance") == 0 and _int(account["nonce"], f"{path}.nonce") == 0
            and account.get("code") in (None, "", "0x")
            and not any(_int(v, f"{path}.storage") for v in account.get("storage", {}).values()))


def merge_prestate(prestate: Any, diff: Any = None) -> dict:
    """The fixture's ``pre`` from a ``prestateTracer`` block trace (merged: the first
    read of each account and slot wins, empty accounts are left out) or from an alloc
    (taken as given). ``diff``, the same block traced with ``diffMode: true``, tells the
    merge which accounts a transaction created: a later transaction's read of one is not
    its state before the block (it did not exist). See the module docstring."""
    prestate = _json(prestate, "prestate")
    _diff_mode(prestate, "prestate")
    if _is_alloc(prestate):
        if diff is not None:
            raise FixtureError("prestate_diff: goes with a block trace (a list), not with an alloc", "prestate_diff")
        return {address: _account(account, f"prestate.{address}") for address, account in prestate.items()}
    if not isinstance(prestate, list):
        raise FixtureError("prestate: expected an alloc {address: account} or the list a debug_traceBlockByNumber "
                           f"with the prestateTracer returns, got {type(prestate).__name__}", "prestate")
    traces = _traces(prestate, "prestate", diff=False)
    created: list[set[str]] = [set() for _ in traces]
    if diff is not None:
        diff = _json(diff, "prestate_diff")
        if not isinstance(diff, list) or len(diff) != len(traces):
            raise FixtureError(f"prestate_diff: expected a list of {len(traces)} diffMode results, one per "
                               f"transaction of the prestate, got {type(diff).__name__} of "
                               f"{len(diff) if isinstance(diff, list) else '-'}", "prestate_diff")
        # A diffMode result leaves an account its transaction created out of pre.
        created = [{a.lower() for a in r.get("post", {})} - {a.lower() for a in r.get("pre", {})}
                   for _, r in _traces(diff, "prestate_diff", diff=True)]
    merged: dict[str, dict] = {}
    born: set[str] = set()  # created in the block before any transaction read it
    for (path, alloc), new in zip(traces, created):
        for address, account in alloc.items():
            account = _account(account, f"{path}.{address}")
            key = address.lower()
            if key in born:
                continue
            known = merged.get(key)
            if known is None:
                merged[key] = {**account, "storage": dict(account.get("storage", {}))}
            else:
                for slot, value in account.get("storage", {}).items():
                    known["storage"].setdefault(slot, value)
        born |= new - set(merged)
    return {a: acc for a, acc in merged.items() if not _empty(acc, f"prestate.{a}")}


def from_rpc(block: Any, prestate: Any, *, prestate_diff: Any = None, block_hashes: Mapping | None = None,
             chain_id: int | None = None, fork: str | None = None, uncle_headers: Any = None,
             block_effects: bool = True) -> dict:
    """A block fixture (docs/block-fixture.md) from an ``eth_getBlockByNumber(N, true)``
    block and its pre-state (see the module docstring for the shapes accepted).

    prestate_diff
        The block's ``prestateTracer`` trace with ``diffMode: true``: needed when a
        transaction creates an account that a later one reads (see :func:`merge_prestate`).
    block_hashes
        ``{number: hash}`` for BLOCKHASH (keys decimal or hex strings, or ints).
    chain_id
        ``env.currentChainId`` (default: the fixture's default, 1).
    fork
        The fork to run under; default: mainnet's schedule at the block's number and
        timestamp (a block of another chain needs its own).
    uncle_headers
        The headers (``miner``, ``number``) of the block's uncles, as
        ``eth_getUncleByBlockNumberAndIndex`` returns them: their rewards, before Paris.
    block_effects
        ``False``: transactions only, as a state test (no rewards, withdrawals or
        system calls).

    Raises :class:`FixtureError` naming the path in the input (``block.transactions[3].gas``).
    """
    block = _json(block, "block")
    if not isinstance(block, Mapping):
        raise FixtureError(f"block: expected an eth_getBlockByNumber object, got {type(block).__name__}", "block")
    number = _int(_field(block, "number", "block"), "block.number")
    timestamp = _int(_field(block, "timestamp", "block"), "block.timestamp")
    fork_given = fork
    if fork is None:
        fork = fork_at(number, timestamp)
    elif fork not in _forks():
        raise ValueError(f"fork must be one of {', '.join(_forks())}, got {fork!r}")
    env: dict[str, Any] = {
        "currentCoinbase": _field(block, "miner", "block"),
        "currentNumber": block["number"],
        "currentTimestamp": block["timestamp"],
        "currentGasLimit": _field(block, "gasLimit", "block"),
        "currentDifficulty": block.get("difficulty", "0x0"),
    }
    if fork_at_least(fork, "London"):
        env["currentBaseFee"] = _field(block, "baseFeePerGas", "block")
    if fork_at_least(fork, "Paris"):
        env["currentRandom"] = _field(block, "mixHash", "block")  # prevrandao lives in mixHash after the merge
    if fork_at_least(fork, "Cancun"):
        env["currentExcessBlobGas"] = block.get("excessBlobGas", "0x0")
    if chain_id is not None:
        if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id < 0:
            raise ValueError(f"chain_id must be a non-negative int, got {chain_id!r}")
        env["currentChainId"] = hex(chain_id)
    transactions = _field(block, "transactions", "block")
    if not isinstance(transactions, list):
        raise FixtureError(f"block.transactions: expected a list, got {type(transactions).__name__}",
                           "block.transactions")
    fixture: dict[str, Any] = {
        "fork": fork,
        "env": env,
        "pre": merge_prestate(prestate, prestate_diff),
        "transactions": [convert_transaction(tx, f"block.transactions[{i}]") for i, tx in enumerate(transactions)],
        "_block": number,
    }
    if block_hashes:
        fixture["blockHashes"] = {str(_block_number(k)): v for k, v in block_hashes.items()}
    if block_effects:
        fixture.update(_block_effects(block, fork, number, mainnet=fork_given is None, uncle_headers=uncle_headers))
    return fixture


DAO_FORK_BLOCK = 1_920_000


def _block_effects(block: Mapping, fork: str, number: int, *, mainnet: bool, uncle_headers: Any) -> dict:
    """The fixture's block-level effect fields that the RPC block's data gives."""
    out: dict[str, Any] = {}
    if mainnet and number == DAO_FORK_BLOCK:
        out["daoForkBlock"] = True
    if fork_at_least(fork, "Cancun") and block.get("parentBeaconBlockRoot") is not None:
        out["parentBeaconBlockRoot"] = block["parentBeaconBlockRoot"]
    if fork_at_least(fork, "Prague") and block.get("parentHash") is not None:
        out["parentHash"] = block["parentHash"]  # EIP-2935's history storage
    if fork_at_least(fork, "Shanghai") and block.get("withdrawals") is not None:
        withdrawals = block["withdrawals"]
        if not isinstance(withdrawals, list):
            raise FixtureError("block.withdrawals: expected a list", "block.withdrawals")
        out["withdrawals"] = [
            {key: _field(w, key, f"block.withdrawals[{i}]") for key in ("index", "validatorIndex", "address", "amount")}
            for i, w in enumerate(withdrawals)
        ]
    if not fork_at_least(fork, "Paris"):
        uncles = block.get("uncles") or []
        if uncle_headers is not None:
            if not isinstance(uncle_headers, list) or len(uncle_headers) != len(uncles):
                raise ValueError(f"uncle_headers must be a list of the block's {len(uncles)} uncle headers")
            out["rewards"] = True
            out["ommers"] = [
                {"coinbase": _field(u, "miner", f"uncle_headers[{i}]"), "number": _field(u, "number", f"uncle_headers[{i}]")}
                for i, u in enumerate(uncle_headers)
            ]
        elif not uncles:
            out["rewards"] = True
    return out


def _block_number(key: Any) -> int:
    """A block_hashes key: an int, a decimal string or a 0x hex string."""
    try:
        return int(key, 16) if isinstance(key, str) and key.startswith("0x") else int(key)
    except (TypeError, ValueError):
        raise FixtureError(f"block_hashes.{key}: expected a block number, got {key!r}", f"block_hashes.{key}") from None


def expected_header(block: Any) -> dict:
    """What an RPC block's header says must come out: the keyword arguments of
    :func:`header_mismatches`."""
    block = _json(block, "block")
    number = _int(_field(block, "number", "block"), "block.number")
    return {
        "fork": fork_at(number, _int(_field(block, "timestamp", "block"), "block.timestamp")),
        "tx_count": len(_field(block, "transactions", "block")),
        "gas_used": _int(_field(block, "gasUsed", "block"), "block.gasUsed"),
        "logs_bloom": _field(block, "logsBloom", "block").lower(),
        "receipts_root": _field(block, "receiptsRoot", "block").lower(),
    }


def header_mismatches(result, *, fork: str, tx_count: int, gas_used: int, logs_bloom: str,
                      receipts_root: str) -> list[str]:
    """One line per header field the result does not match (empty: it matches).
    ``receiptsRoot`` is checked from Byzantium on only."""
    lines = []
    got_gas = result.receipts[-1].cumulative_gas_used if result.receipts else 0
    if len(result.receipts) != tx_count:
        lines.append(f"receipts: expected {tx_count}, got {len(result.receipts)}")
    if got_gas != gas_used:
        lines.append(f"gasUsed: expected {gas_used}, got {got_gas}")
    if result.logs_bloom.lower() != logs_bloom.lower():
        lines.append(f"logsBloom: expected {logs_bloom[:40]}…, got {result.logs_bloom[:40]}…")
    if fork_at_least(fork, "Byzantium") and result.receipts_root.lower() != receipts_root.lower():
        lines.append(f"receiptsRoot: expected {receipts_root}, got {result.receipts_root}")
    return lines
