"""The three properties as plain functions (shared by the Hypothesis tests and the
regression replay), the engine runner with a timeout, and the regression corpus.

Each ``check_*`` returns a list of readable problems; empty means the property holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import blockstm
import py_ecc  # noqa: F401 - sets the recursion limit on import: before Hypothesis runs, not during

from .blocks import BLOB_GAS_PER_BLOB, blob_base_fee_of
from . import reference_pyevm as pyevm
from .reference import diff_results, run_reference
from .universe import create_address
from conformance.checks import unexplained_reexecutions

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
# New counterexamples go to $PROPERTIES_CORPUS when set (campaigns: --corpus), else to
# REGRESSIONS; test_regressions.py always replays REGRESSIONS.
CORPUS_ENV = "PROPERTIES_CORPUS"

# A block of a few dozen small transactions takes milliseconds; this only catches
# hangs (a deadlocked scheduler) without killing the whole pytest process.
ENGINE_TIMEOUT_S = 30.0

PROPERTIES = ("parallel_equals_sequential", "sequential_equals_reference", "invariants", "access_list")
# The fake property of properties/planted.py (campaign tests only; never in REGRESSIONS).
PLANTED = "planted"


class EngineHang(AssertionError):
    pass


@dataclass
class Outcome:
    """What ``blockstm.execute`` did: a result or the exception it raised."""
    result: Any = None
    error: Optional[BaseException] = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe_error(self) -> str:
        e = self.error
        if isinstance(e, blockstm.InvalidTransaction):
            return f"InvalidTransaction(index={e.index}, kind={e.kind!r})"
        return f"{type(e).__name__}: {e}"


def run_engine(fixture: dict | str, mode: str = "sequential", threads: Optional[int] = None,
               timeout: float = ENGINE_TIMEOUT_S, **options: Any) -> Outcome:
    """Run the engine on a helper thread (it releases the GIL) and give up after
    ``timeout`` seconds; the stuck thread is abandoned (daemon). ``options``: more
    arguments of ``blockstm.execute`` (``access_list``, ``hint``)."""
    payload = fixture if isinstance(fixture, str) else json.dumps(fixture)
    box: dict[str, Any] = {}

    def work():
        try:
            if mode == "sequential":
                box["result"] = blockstm.execute(payload, mode="sequential", **options)
            else:
                box["result"] = blockstm.execute(payload, mode="parallel", threads=threads,
                                                 parallel_threshold=0, **options)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    worker = threading.Thread(target=work, name=f"blockstm-{mode}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise EngineHang(f"blockstm.execute(mode={mode!r}, threads={threads}) did not return "
                         f"within {timeout:.0f}s")
    return Outcome(box.get("result"), box.get("error"))


# ---- property 1: parallel == sequential ----------------------------------------------------


def _error_key(e: BaseException) -> tuple:
    return (type(e).__name__, getattr(e, "index", None), getattr(e, "kind", None))


def _receipt_view(r) -> tuple:
    return (r.status, r.gas_used, r.cumulative_gas_used, r.contract_address, r.tx_type,
            r.logs_bloom, tuple((l.address, tuple(l.topics), bytes(l.data)) for l in r.logs))


def compare_outcomes(seq: Outcome, par: Outcome, *, limit: int = 12) -> list[str]:
    """Differences between a sequential and a parallel outcome of the same block."""
    if not seq.ok or not par.ok:
        if seq.ok != par.ok or _error_key(seq.error) != _error_key(par.error):
            s = "ok" if seq.ok else seq.describe_error()
            p = "ok" if par.ok else par.describe_error()
            return [f"outcome: sequential {s} vs parallel {p}"]
        return []
    a, b = seq.result, par.result
    out = []
    if len(a.receipts) != len(b.receipts):
        out.append(f"receipt count: sequential {len(a.receipts)} vs parallel {len(b.receipts)}")
    for i, (ra, rb) in enumerate(zip(a.receipts, b.receipts)):
        if _receipt_view(ra) != _receipt_view(rb) or ra != rb:
            out.append(f"receipts[{i}]: sequential {_receipt_view(ra)} vs parallel {_receipt_view(rb)}")
    for i, (ca, cb) in enumerate(zip(a.tx_changes, b.tx_changes)):
        if ca != cb:
            for address in sorted(set(ca) | set(cb)):
                if ca.get(address) != cb.get(address):
                    out.append(f"tx_changes[{i}][{address}]: sequential {ca.get(address)} vs "
                               f"parallel {cb.get(address)}")
    if len(a.tx_changes) != len(b.tx_changes):
        out.append(f"tx_changes length: {len(a.tx_changes)} vs {len(b.tx_changes)}")
    if a.post_state != b.post_state:
        for address in sorted(set(a.post_state) | set(b.post_state)):
            if a.post_state.get(address) != b.post_state.get(address):
                out.append(f"post_state[{address}]: sequential {a.post_state.get(address)} vs "
                           f"parallel {b.post_state.get(address)}")
    for name in ("state_root", "receipts_root", "logs_bloom", "logs_hash"):
        if getattr(a, name) != getattr(b, name):
            out.append(f"{name}: sequential {getattr(a, name)} vs parallel {getattr(b, name)}")
    if len(out) > limit:
        out = out[:limit] + [f"... and {len(out) - limit} more"]
    return out


def check_parallel(fixture: dict, threads_list: list[int], seq: Optional[Outcome] = None,
                   repeats: int = 1) -> tuple[list[str], list[Outcome]]:
    """Parallel runs (``repeats`` per thread count: races need several schedules)
    against the sequential outcome; stops at the first difference."""
    payload = json.dumps(fixture)
    seq = seq or run_engine(payload, "sequential")
    problems = []
    if isinstance(seq.error, (blockstm.FixtureError, blockstm.EngineError)):
        problems.append(f"sequential: {seq.describe_error()}")
    runs = []
    for _ in range(repeats):
        for threads in threads_list:
            par = run_engine(payload, "parallel", threads)
            runs.append(par)
            diffs = compare_outcomes(seq, par)
            if diffs:
                return problems + [f"[threads={threads}] {d}" for d in diffs], runs
    return problems, runs


# ---- property 4: block access lists --------------------------------------------------------------


def _quantity(v: Any) -> int:
    return int(v, 16) if isinstance(v, str) else int(v)


def bal_mutations(bal: list[dict], n: int, pick: int) -> list[tuple[str, list[dict]]]:
    """Mutated copies of ``bal`` (a block of ``n`` transactions), each one a list the
    block's execution contradicts: an entry dropped, altered or added, an account or a
    storage read added or dropped, two accounts swapped or one repeated. ``pick``
    chooses which account and entry each edit touches."""
    import copy

    out: list[tuple[str, list[dict]]] = []
    if not bal:
        return out

    def edit(name: str, fn) -> None:
        m = copy.deepcopy(bal)
        if fn(m) is not False:
            out.append((name, m))

    def having(m, field):
        found = [a for a in m if a[field]]
        return found[pick % len(found)] if found else None

    def entries(m, field):
        a = having(m, field)
        if a is None:
            return None
        if field == "storageChanges":
            slot = a[field][pick % len(a[field])]
            return slot["changes"]
        return a[field]

    for field, key in (("balanceChanges", "value"), ("nonceChanges", "value"), ("storageChanges", "value")):
        def drop(m, field=field):
            changes = entries(m, field)
            if changes is None:
                return False
            changes.pop(pick % len(changes))
            for a in m:  # an emptied slot goes: EIP-7928 forbids empty change lists
                a["storageChanges"] = [s for s in a["storageChanges"] if s["changes"]]

        def alter(m, field=field, key=key):
            changes = entries(m, field)
            if changes is None:
                return False
            c = changes[pick % len(changes)]
            c[key] = hex(_quantity(c[key]) ^ (1 + pick % 7))

        edit(f"drop a {field} entry", drop)
        edit(f"alter a {field} value", alter)

    def add_balance(m):
        a = m[pick % len(m)]
        used = {_quantity(c["index"]) for c in a["balanceChanges"]}
        free = [i for i in range(n + 2) if i not in used]
        if not free:
            return False
        a["balanceChanges"].append({"index": hex(free[pick % len(free)]), "value": hex(pick + 1)})
        a["balanceChanges"].sort(key=lambda c: _quantity(c["index"]))

    def add_read(m):
        a = m[pick % len(m)]
        taken = {_quantity(r) for r in a["storageReads"]} | {_quantity(s["key"]) for s in a["storageChanges"]}
        slot = 2**255 + pick
        if slot in taken:
            return False
        a["storageReads"] = sorted([*a["storageReads"], hex(slot)], key=_quantity)

    def drop_read(m):
        a = having(m, "storageReads")
        if a is None:
            return False
        a["storageReads"].pop(pick % len(a["storageReads"]))

    def add_account(m):
        address = "0x" + (0xFEED0000 + pick).to_bytes(20, "big").hex()
        if any(a["address"].lower() == address for a in m):
            return False
        m.append({"address": address, "storageChanges": [], "storageReads": [], "balanceChanges": [],
                  "nonceChanges": [], "codeChanges": []})
        m.sort(key=lambda a: a["address"].lower())

    def drop_account(m):
        m.pop(pick % len(m))

    def swap(m):
        if len(m) < 2:
            return False
        i = pick % (len(m) - 1)
        m[i], m[i + 1] = m[i + 1], m[i]

    def repeat(m):
        i = pick % len(m)
        m.insert(i, copy.deepcopy(m[i]))

    for name, fn in (("add a balance entry", add_balance), ("add a storage read", add_read),
                     ("drop a storage read", drop_read), ("add an account", add_account),
                     ("drop an account", drop_account), ("swap two accounts", swap),
                     ("repeat an account", repeat)):
        edit(name, fn)
    return out


def _bal_writes_match_changes(res) -> list[str]:
    """The list's balance, nonce and storage writes at index i + 1 are transaction i's
    changes (values as tx_changes has them)."""
    out = []
    n = len(res.tx_changes)
    for a in res.block_access_list:
        address = a["address"].lower()
        writes = [(c, "balance", None) for c in a["balanceChanges"]] + [(c, "nonce", None) for c in a["nonceChanges"]]
        writes += [(c, "storage", _quantity(s["key"])) for s in a["storageChanges"] for c in s["changes"]]
        for c, field, slot in writes:
            index = _quantity(c["index"])
            if not 1 <= index <= n:
                continue
            change = {k.lower(): v for k, v in res.tx_changes[index - 1].items()}.get(address)
            if change is None:
                out.append(f"list: {address} {field} at index {index}, not in tx_changes[{index - 1}]")
                continue
            if change.get("destroyed"):
                got = 0
            elif field == "storage":
                got = change["storage"].get(slot)
            else:
                got = change[field]
            if got != _quantity(c["value"]):
                out.append(f"list: {address} {field}{'' if slot is None else f' slot {slot:#x}'} at index {index} "
                           f"is {_quantity(c['value'])}, tx_changes[{index - 1}] has {got}")
    return out


def check_access_list(fixture: dict, threads: int, seq: Optional[Outcome] = None, pick: int = 0) -> list[str]:
    """The list is the same from Block-STM as from sequential execution; executing with
    it gives the sequential result (without re-execution, unless the view had to stop:
    ``stats["fallback"]``); its writes are the transactions' changes; every mutation of
    it is rejected, the same way in both modes; as a hint, a mutated list changes nothing."""
    payload = json.dumps(fixture)
    seq = seq or run_engine(payload, "sequential")
    if not seq.ok:
        return [] if isinstance(seq.error, blockstm.InvalidTransaction) else [f"sequential: {seq.describe_error()}"]
    bal = seq.result.block_access_list
    problems = []
    par = run_engine(payload, "parallel", threads)
    if not par.ok:
        return [f"parallel: {par.describe_error()}"]
    if par.result.block_access_list_rlp != seq.result.block_access_list_rlp:
        problems.append(f"[threads={threads}] the list differs between sequential and parallel execution")
    problems += _bal_writes_match_changes(seq.result)
    listed = run_engine(payload, "parallel", threads, access_list=seq.result.block_access_list_rlp)
    problems += [f"[with its list, threads={threads}] {d}" for d in compare_outcomes(seq, listed)]
    if listed.ok:
        stats = listed.result.stats
        if unexplained_reexecutions(listed.result, seq.result):
            problems.append(f"[with its list] {stats['reexecutions']} re-executions")
    checked = run_engine(payload, "sequential", access_list=bal)
    if not checked.ok:
        problems.append(f"[sequential, its own list] {checked.describe_error()}")
    n = len(fixture["transactions"])
    for name, bad in bal_mutations(bal, n, pick):
        verdicts = []
        for mode in ("sequential", "parallel"):
            out = run_engine(payload, mode, threads, access_list=bad)
            if out.ok or not isinstance(out.error, blockstm.AccessListMismatch):
                problems.append(f"[{name}] {mode}: {'accepted' if out.ok else out.describe_error()}")
            else:
                e = out.error
                verdicts.append((e.index, e.account, e.field, e.listed, e.executed))
        if len(set(verdicts)) > 1:
            problems.append(f"[{name}] the modes name different mismatches: {verdicts}")
        hinted = run_engine(payload, "parallel", threads, hint=bad)
        problems += [f"[{name} as a hint] {d}" for d in compare_outcomes(seq, hinted)]
        if len(problems) > 12:
            break
    return problems


# ---- property 2: sequential == reference -----------------------------------------------------


def check_reference(fixture: dict, seq: Optional[Outcome] = None) -> list[str]:
    """Sequential == EELS, and == py-evm where py-evm has the fork: two independent
    references, so a disagreement says who is alone."""
    seq = seq or run_engine(fixture, "sequential")
    if seq.error is not None and not isinstance(seq.error, blockstm.InvalidTransaction):
        return [f"sequential: {seq.describe_error()}"]
    engine = seq.result if seq.ok else seq.error
    eels_result = run_reference(fixture)
    eels = diff_results(eels_result, engine)
    # py-evm is the second opinion on execution: on blocks EELS finds valid (it cannot
    # name an invalid transaction's rule, and misses one, see reference_pyevm.py).
    if not pyevm.supports(fixture["fork"]) or not eels_result.ok:
        return eels
    others = diff_results(pyevm.run_pyevm(fixture), engine)
    if eels and others:
        return ["the engine disagrees with EELS and py-evm"] + eels
    if eels:
        return ["EELS alone disagrees (py-evm agrees with the engine)"] + eels
    if others:
        return ["py-evm alone disagrees (EELS agrees with the engine)"] + [f"py-evm: {d}" for d in others]
    return []


# ---- property 3: invariants without an oracle ------------------------------------------------

def _q(value) -> int:
    if isinstance(value, int):
        return value
    return int(value, 16) if str(value).startswith("0x") else int(value)


def _pre_state(fixture: dict) -> dict[str, dict]:
    state = {}
    for address, acc in fixture["pre"].items():
        storage = {_q(k): _q(v) for k, v in (acc.get("storage") or {}).items() if _q(v)}
        state[address.lower()] = {"balance": _q(acc["balance"]), "nonce": _q(acc["nonce"]),
                                  "code": bytes.fromhex((acc.get("code") or "0x")[2:]),
                                  "storage": storage}
    return state


def _apply(state: dict[str, dict], changes: dict[str, dict]) -> None:
    for address, change in changes.items():
        if change.get("destroyed"):
            state.pop(address, None)
            continue
        acc = state.get(address)
        if acc is None or change["storage_cleared"]:
            acc = {"balance": 0, "nonce": 0, "code": acc["code"] if acc else b"", "storage": {}}
        acc = dict(acc, storage=dict(acc["storage"]))
        acc["balance"] = change["balance"]
        acc["nonce"] = change["nonce"]
        if change["code"] is not None:
            acc["code"] = bytes(change["code"])
        for slot, value in change["storage"].items():
            if value:
                acc["storage"][slot] = value
            else:
                acc["storage"].pop(slot, None)
        state[address] = acc


def _effective_price(tx: dict, base_fee: int) -> int:
    if tx.get("gasPrice") is not None:
        return _q(tx["gasPrice"])
    return min(_q(tx["maxFeePerGas"]), base_fee + _q(tx["maxPriorityFeePerGas"]))


def check_invariants(fixture: dict, seq: Outcome) -> list[str]:
    """On a valid block: per-transaction ether conservation (burn = base fee + blob
    fee; more only when a self-destruct may burn), the coinbase earns exactly the
    priority fees (when nothing else pays it), each transaction bumps its sender's
    nonce by exactly one and no other EOA's, creation addresses, receipts' gas
    arithmetic, tx_changes replayed over ``pre`` equal ``post_state``, and no empty
    account survives."""
    if not seq.ok:
        return []
    res = seq.result
    env = fixture["env"]
    base_fee = _q(env.get("currentBaseFee", 0))
    blob_base_fee = blob_base_fee_of(_q(env.get("currentExcessBlobGas", 0)), fixture["fork"])
    coinbase = env["currentCoinbase"].lower()
    burn_possible = fixture.get("_burn_possible", True)
    coinbase_passive = fixture.get("_coinbase_passive", False)
    problems: list[str] = []
    state = _pre_state(fixture)
    eoas = {a for a, acc in state.items() if not acc["code"]}
    txs = fixture["transactions"]
    if len(res.receipts) != len(txs) or len(res.tx_changes) != len(txs):
        return [f"{len(txs)} transactions but {len(res.receipts)} receipts, "
                f"{len(res.tx_changes)} tx_changes"]
    cumulative = 0
    for i, (tx, receipt, changes) in enumerate(zip(txs, res.receipts, res.tx_changes)):
        sender = tx["sender"].lower()
        before = {a: (state[a]["balance"] if a in state else 0) for a in changes}
        nonce_before = state.get(sender, {}).get("nonce", 0)
        coinbase_before = state.get(coinbase, {}).get("balance", 0)
        nonces_before = {a: state[a]["nonce"] for a in changes if a in state}
        # EIP-7702: a delegated EOA runs code, and a CREATE there bumps its nonce
        delegated = {a for a in changes if a in state and state[a]["code"][:3] == b"\xef\x01\x00"}
        _apply(state, changes)
        after = {a: (state[a]["balance"] if a in state else 0) for a in changes}

        gas = receipt.gas_used
        cumulative += gas
        if receipt.cumulative_gas_used != cumulative:
            problems.append(f"tx {i}: cumulative_gas_used {receipt.cumulative_gas_used} != {cumulative}")
        if not 10_500 <= gas <= _q(tx["gasLimit"]):  # refunds may take 21,000 down (EIP-3529: by 1/5; before: 1/2)
            problems.append(f"tx {i}: gas_used {gas} outside [10500, gasLimit {_q(tx['gasLimit'])}]")

        blobs = len(tx.get("blobVersionedHashes") or [])
        burnt = gas * base_fee + blobs * BLOB_GAS_PER_BLOB * blob_base_fee
        lost = sum(before.values()) - sum(after.values())
        if lost != burnt and not (burn_possible and lost > burnt):
            problems.append(f"tx {i}: ether not conserved: balances fell by {lost}, burnt fees are "
                            f"{burnt} (gas {gas} x base fee {base_fee} + {blobs} blobs)")

        priority = (_effective_price(tx, base_fee) - base_fee) * gas
        coinbase_gain = state.get(coinbase, {}).get("balance", 0) - coinbase_before
        if coinbase_passive and coinbase_gain != priority:
            problems.append(f"tx {i}: coinbase gained {coinbase_gain}, priority fees are {priority}")

        nonce_after = state.get(sender, {}).get("nonce", 0)
        # EIP-7702: each applied authorization bumps its authority's nonce (the sender's too)
        authorities = {a["signer"].lower() for a in tx.get("authorizationList") or [] if "signer" in a}
        own = sum(1 for a in tx.get("authorizationList") or [] if a.get("signer", "").lower() == sender)
        # a delegated sender's code may CREATE (each bumps its nonce) when it calls itself
        runs_code = sender in delegated or state.get(sender, {}).get("code", b"")[:3] == b"\xef\x01\x00"
        if not nonce_before + 1 <= nonce_after <= (nonce_after if runs_code else nonce_before + 1 + own):
            problems.append(f"tx {i}: sender {sender} nonce {nonce_before} -> {nonce_after}")
        for address, change in changes.items():
            # an EOA that did not send keeps its nonce (unless a CREATE landed on it, or
            # it authorized a delegation)
            if address != sender and address in eoas and address not in authorities | delegated \
                    and not change.get("destroyed") \
                    and change["code"] is None and change["nonce"] != nonces_before.get(address, 0):
                problems.append(f"tx {i}: nonce of EOA {address} (not the sender) changed")

        if tx.get("to") in (None, ""):
            expected = "0x" + create_address(int(sender, 16), nonce_before).to_bytes(20, "big").hex()
            if receipt.status == 1 and (receipt.contract_address or "").lower() != expected:
                problems.append(f"tx {i}: contract_address {receipt.contract_address} != {expected}")
            if receipt.status == 1 and expected in state and state[expected]["nonce"] != 1:
                problems.append(f"tx {i}: created contract nonce {state[expected]['nonce']} != 1")
        elif receipt.contract_address:
            problems.append(f"tx {i}: contract_address {receipt.contract_address} on a call")

    if res.receipts and res.receipts[-1].cumulative_gas_used > _q(env["currentGasLimit"]):
        problems.append("block gas used above the block gas limit")

    post = {a.lower(): acc for a, acc in res.post_state.items()}
    replayed = state
    for address in sorted(set(post) | set(replayed)):
        want, got = replayed.get(address), post.get(address)
        if want is None or got is None:
            problems.append(f"post_state[{address}]: tx_changes replayed give {want}, post_state {got}")
            continue
        got_view = {"balance": got["balance"], "nonce": got["nonce"], "code": bytes(got["code"] or b""),
                    "storage": {int(k): int(v) for k, v in got["storage"].items() if int(v)}}
        if got_view != want:
            problems.append(f"post_state[{address}]: tx_changes replayed give {want}, post_state {got_view}")
    for address, acc in post.items():
        if acc["balance"] == 0 and acc["nonce"] == 0 and not acc["code"]:
            problems.append(f"post_state[{address}] is an empty account")
    return problems


# ---- regression corpus ---------------------------------------------------------------------------


def replay_command(path: Path) -> str:
    root = REGRESSIONS.parent.parent
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    return (f"python -m properties.replay {shown}  "
            f"# or: pytest 'properties/test_regressions.py::test_regression[{path.stem}]'")


def corpus_dir() -> Path:
    return Path(os.environ.get(CORPUS_ENV) or REGRESSIONS)


def save_regression(fixture: dict, prop: str, problems: list[str], *, threads: Optional[list[int]] = None,
                    directory: Optional[Path] = None, path: Optional[Path] = None) -> Path:
    """Write a counterexample as a block fixture the engine can run as is (``_``-keys
    are ignored by the engine and the reference) to ``directory`` (default:
    ``corpus_dir()``); ``path`` overwrites a file saved earlier in the same shrink."""
    assert prop in PROPERTIES or prop == PLANTED, prop
    if path is None:
        directory = directory or corpus_dir()
        body = {k: v for k, v in fixture.items() if not k.startswith("_")}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:10]
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{prop}-{fixture.get('_mode', 'block')}-{digest}.json"
    doc = {"_property": prop, "_replay": "", "_problems": problems[:20]}
    if threads:
        doc["_threads"] = threads
    doc.update(fixture)
    doc["_property"] = prop
    doc["_replay"] = replay_command(path)
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def replay(fixture: dict, *, repeats: int = 100) -> list[str]:
    """Check a stored counterexample against the property it names (a parallel one
    ``repeats`` times per thread count: 2, 4, 8 and its recorded thread counts: races)."""
    prop = fixture["_property"]
    seq = run_engine(fixture, "sequential")
    if prop == "parallel_equals_sequential":
        threads = sorted(set(fixture.get("_threads") or []) | {2, 4, 8})
        return check_parallel(fixture, threads, seq=seq, repeats=repeats)[0]
    if prop == "sequential_equals_reference":
        return check_reference(fixture, seq)
    if prop == "invariants":
        return check_invariants(fixture, seq)
    if prop == "access_list":
        return [p for threads in (2, 4) for pick in range(3) for p in check_access_list(fixture, threads, seq, pick)]
    raise ValueError(f"unknown _property {prop!r}")


# ---- what an example exercised (for hypothesis.event) --------------------------------------------


def observed_features(fixture: dict, seq: Outcome, runs: list[Outcome] = ()) -> set[str]:
    """Labels for what the block really did (not just what its code contains)."""
    out: set[str] = set()
    if not seq.ok:
        kind = getattr(seq.error, "kind", None)
        out.add(f"block invalid: {kind or type(seq.error).__name__}")
        return out
    res = seq.result
    out.add("block valid")
    pre = {a.lower() for a in fixture["pre"]}
    existed = set(pre)
    destroyed_at: dict[str, int] = {}
    writers: dict[tuple[str, int], int] = {}
    for i, (receipt, changes) in enumerate(zip(res.receipts, res.tx_changes)):
        if receipt.status == 0:
            out.add("tx failed (status 0)")
        if receipt.contract_address:
            out.add("contract created by a creation tx")
        for address, change in changes.items():
            if change.get("destroyed"):
                out.add("account destroyed" if address in existed else "created and destroyed in one tx")
                destroyed_at[address] = i
                existed.discard(address)
                continue
            if change["code"] is not None and change["code"]:
                if address in destroyed_at:
                    out.add("redeployed at a destroyed address")
                out.add("contract created")
            if address not in existed and not change["code"]:
                out.add("account created by a value transfer")
            existed.add(address)
            for slot, value in change["storage"].items():
                writers[(address, slot)] = writers.get((address, slot), 0) + 1
                if value == 0:
                    out.add("storage slot cleared")
    if any(n >= 3 for n in writers.values()):
        out.add("slot written by 3+ txs")
    for r in runs:
        if r.ok:
            s = r.result.stats
            if s.get("reexecutions"):
                out.add("parallel: re-executions")
            if s.get("validation_failures"):
                out.add("parallel: validation failures")
            if s.get("dependency_waits"):
                out.add("parallel: dependency waits")
    return out
