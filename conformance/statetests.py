"""ethereum/tests GeneralStateTests → block fixtures.

A state-test file holds one or more tests; a test holds one pre-state, one environment,
a transaction *template* (lists of data, gasLimit and value) and, per fork, a list of
post entries, each naming one (data, gas, value) combination by its `indexes` and
giving the expected post-state root (`hash`), logs hash (`logs`), the signed
transaction (`txbytes`) and, for an invalid transaction, `expectException`.

One case = (file, test, fork, post entry) = a one-transaction block fixture plus those
expectations. The corpus has 101,161 of them.

Two layers keep collection and execution cheap:

* the index (:func:`load_index`): the case references only, cached in the repo's
  .cache/ keyed by every file's size and mtime, so collection parses no JSON at all
  when nothing changed;
* :class:`CaseLoader`: per file, the parse and the JSON text of each test's env and pre
  are kept, so a case's fixture is a string concatenation plus one small
  ``json.dumps`` of its transaction.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple

FORKS = (
    "Frontier", "Homestead", "EIP150", "EIP158", "Byzantium", "Constantinople",
    "ConstantinopleFix", "Istanbul", "Berlin", "London", "Paris", "Shanghai", "Cancun",
    "Prague", "Osaka", "BPO1", "BPO2",  # none in ../shared's corpus (filled up to Cancun)
)

# The env fields a block fixture takes from a state test (the rest, if any, is ignored).
ENV_FIELDS = (
    "currentCoinbase", "currentNumber", "currentTimestamp", "currentGasLimit",
    "currentBaseFee", "currentRandom", "currentDifficulty", "currentExcessBlobGas",
)

INDEX_VERSION = 3


class CaseRef(NamedTuple):
    """One case, cheaply: enough to name it, select it and load it later (a tuple:
    101,161 of them are built at every collection)."""

    relpath: str  # "stExample/add11.json", relative to GeneralStateTests
    test: str  # the test's key in the file
    label: str  # the test's display name (Pyspecs keys are shortened, see _labels)
    fork: str
    post_index: int  # position in post[fork]
    d: int
    g: int
    v: int

    @property
    def id(self) -> str:
        return f"{self.relpath}::{self.label}[{self.fork}-d{self.d}g{self.g}v{self.v}]"

    @property
    def folder(self) -> str:
        return os.path.dirname(self.relpath)


@dataclass(slots=True)
class StateCase:
    """A loaded case: the block fixture (as JSON text) and what must come out."""

    ref: CaseRef
    fixture_json: str
    expected_hash: str
    expected_logs: str
    expect_exception: str | None
    txbytes: str

    def fixture(self) -> dict:
        return json.loads(self.fixture_json)


# ---- the index --------------------------------------------------------------------


def list_files(gst_dir: Path) -> list[str]:
    """Every state-test JSON file under gst_dir, as sorted relative POSIX paths."""
    out = []
    for dirpath, dirnames, filenames in os.walk(gst_dir):
        dirnames.sort()
        rel = os.path.relpath(dirpath, gst_dir)
        for name in filenames:
            if name.endswith(".json"):
                out.append(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
    out.sort()
    return out


def _labels(tests: Iterable[str]) -> dict[str, str]:
    """Display names. execution-spec-tests keys repeat the filler's path
    ("src/GeneralStateTestsFiller/.../test_x.py::test_y[params]"); the part after the
    last '::' names the test just as well, unless that makes two tests collide."""
    tests = list(tests)
    short = {t: t.rsplit("::", 1)[-1] for t in tests}
    if len(set(short.values())) != len(tests):
        return {t: t for t in tests}
    return short


def index_file(data: dict, relpath: str) -> list[CaseRef]:
    """The case references of one parsed state-test file, in file order."""
    refs = []
    labels = _labels(data)
    for test, body in data.items():
        for fork, entries in body["post"].items():
            for i, entry in enumerate(entries):
                ix = entry["indexes"]
                refs.append(CaseRef(relpath, test, labels[test], fork, i, ix["data"], ix["gas"], ix["value"]))
    return refs


def _fingerprint(gst_dir: Path, files: list[str]) -> str:
    h = hashlib.sha256(str(gst_dir).encode())
    for rel in files:
        st = os.stat(gst_dir / rel)
        h.update(f"\0{rel}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()


def load_index(gst_dir: Path, cache_dir: Path | None = None) -> list[CaseRef]:
    """Every case of the corpus, from the cache when no file changed (size and mtime),
    else by parsing every file once (and writing the cache)."""
    gst_dir = Path(gst_dir)
    files = list_files(gst_dir)
    fingerprint = _fingerprint(gst_dir, files)
    cache_file = None
    if cache_dir is not None:
        key = hashlib.sha256(str(gst_dir).encode()).hexdigest()[:16]
        cache_file = Path(cache_dir) / f"state-index-{key}.json"
        try:
            cached = json.loads(cache_file.read_text())
            if cached.get("version") == INDEX_VERSION and cached.get("fingerprint") == fingerprint:
                return [
                    CaseRef(rel, test, label, fork, i, d, g, v)
                    for rel, tests in cached["files"]
                    for test, label, forks in tests
                    for fork, entries in forks
                    for i, (d, g, v) in enumerate(entries)
                ]
        except (OSError, ValueError, TypeError, KeyError):
            pass  # absent or stale or corrupt: rebuild
    refs: list[CaseRef] = []
    table = []
    for rel in files:
        with open(gst_dir / rel, "rb") as fh:
            file_refs = index_file(json.load(fh), rel)
        refs.extend(file_refs)
        # Nested as file → test → fork → [d, g, v] (the post index is the position).
        tests: dict[str, list] = {}
        for r in file_refs:
            forks = tests.setdefault(r.test, [r.test, r.label, {}])[2]
            forks.setdefault(r.fork, []).append([r.d, r.g, r.v])
        table.append([rel, [[t, label, list(forks.items())] for t, label, forks in tests.values()]])
    if cache_file is not None:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps({"version": INDEX_VERSION, "fingerprint": fingerprint, "files": table}))
            os.replace(tmp, cache_file)  # atomic: xdist workers may race here
        except OSError:
            pass  # a read-only checkout still works, just without the cache
    return refs


def sample(refs: list[CaseRef], n: int) -> list[CaseRef]:
    """A deterministic sample of about n cases that covers every folder and every fork.

    Cases are ranked by a hash of their id (stable across runs and machines); the first
    case of each folder and of each fork is taken, then the ranking fills up to n. When
    n is smaller than the coverage needs, coverage wins. The result keeps corpus order.
    """
    if n <= 0 or n >= len(refs):
        return list(refs)
    ranked = sorted(range(len(refs)), key=lambda i: hashlib.sha1(refs[i].id.encode()).digest())
    chosen: set[int] = set()
    for attr in ("folder", "fork"):
        seen: set[str] = set()
        for i in ranked:
            key = getattr(refs[i], attr)
            if key not in seen:
                seen.add(key)
                chosen.add(i)
    for i in ranked:
        if len(chosen) >= n:
            break
        chosen.add(i)
    return [refs[i] for i in sorted(chosen)]


# ---- loading a case -------------------------------------------------------------


def _quantity(value: str) -> str:
    """ethereum/tests writes some out-of-range quantities as "0x:bigint 0x1000..."; the
    engine gets the plain hex (and rejects it as out of range, by name)."""
    if isinstance(value, str) and value.startswith("0x:bigint "):
        return value[len("0x:bigint "):].strip()
    return value


def _rlp_item(buf: bytes, pos: int) -> tuple[Any, int]:
    """Decodes one RLP item at pos: (bytes or list, end). Enough for txbytes."""
    prefix = buf[pos]
    if prefix < 0x80:
        return buf[pos:pos + 1], pos + 1
    if prefix < 0xB8:
        end = pos + 1 + prefix - 0x80
        return buf[pos + 1:end], end
    if prefix < 0xC0:
        size_len = prefix - 0xB7
        start = pos + 1 + size_len
        end = start + int.from_bytes(buf[pos + 1:start], "big")
        return buf[start:end], end
    if prefix < 0xF8:
        start, end = pos + 1, pos + 1 + prefix - 0xC0
    else:
        size_len = prefix - 0xF7
        start = pos + 1 + size_len
        end = start + int.from_bytes(buf[pos + 1:start], "big")
    items, cur = [], start
    while cur < end:
        item, cur = _rlp_item(buf, cur)
        items.append(item)
    return items, end


_NO_CHAIN_ID = object()


def chain_id_of(txbytes: str) -> Any:
    """The chain id the transaction was signed for, read from its RLP: an int, None for
    a pre-EIP-155 legacy transaction (v = 27/28: the fixture's `"chainId": null`), or
    _NO_CHAIN_ID when the bytes cannot be read (then the engine's default applies)."""
    try:
        raw = bytes.fromhex(txbytes[2:] if txbytes.startswith("0x") else txbytes)
        if raw[0] >= 0xC0:  # legacy: [nonce, gasPrice, gas, to, value, data, v, r, s]
            fields, _ = _rlp_item(raw, 0)
            v = int.from_bytes(fields[6], "big")
            return None if v in (27, 28) else (v - 35) // 2
        fields, _ = _rlp_item(raw, 1)  # typed: chainId is the first field
        return int.from_bytes(fields[0], "big")
    except (ValueError, IndexError, TypeError):
        return _NO_CHAIN_ID


def tx_type_of(txbytes: str) -> int | None:
    """The EIP-2718 type in txbytes (0 for legacy), None if unreadable."""
    try:
        first = bytes.fromhex(txbytes[2:4])[0]
    except (ValueError, IndexError):
        return None
    return 0 if first >= 0xC0 else first


def build_transaction(tx: dict, d: int, g: int, v: int, txbytes: str | None = None) -> dict:
    """The fixture transaction for indexes (d, g, v) of a test's transaction template."""
    out: dict[str, Any] = {}
    if "sender" in tx:
        out["sender"] = tx["sender"]  # cheaper than deriving it from secretKey
    else:
        out["secretKey"] = tx["secretKey"]
    out["to"] = tx["to"] or None  # "" = contract creation
    out["nonce"] = _quantity(tx["nonce"])
    out["value"] = _quantity(tx["value"][v])
    out["data"] = tx["data"][d]
    out["gasLimit"] = _quantity(tx["gasLimit"][g])
    if "maxFeePerGas" in tx:
        out["maxFeePerGas"] = _quantity(tx["maxFeePerGas"])
        out["maxPriorityFeePerGas"] = _quantity(tx["maxPriorityFeePerGas"])
    else:
        out["gasPrice"] = _quantity(tx["gasPrice"])
    access_lists = tx.get("accessLists")
    # accessLists[d] present (even []) makes an EIP-2930/1559 transaction; a null entry
    # means this data index is sent as a legacy transaction.
    if access_lists is not None and d < len(access_lists) and access_lists[d] is not None:
        out["accessList"] = access_lists[d]
        if "maxFeePerGas" not in tx and "blobVersionedHashes" not in tx:
            out["type"] = 1  # explicit: the one type a field's mere presence decides
    if "blobVersionedHashes" in tx:
        out["blobVersionedHashes"] = tx["blobVersionedHashes"]
    if "maxFeePerBlobGas" in tx:
        out["maxFeePerBlobGas"] = _quantity(tx["maxFeePerBlobGas"])
    if txbytes is not None:
        chain_id = chain_id_of(txbytes)
        if chain_id is not _NO_CHAIN_ID:
            out["chainId"] = chain_id
    return out


def inferred_tx_type(tx: dict) -> int:
    """The type the engine gives a fixture transaction (docs: blob fields → 3,
    maxFeePerGas → 2, accessList → 1, else 0), or the explicit `type`."""
    if "type" in tx:
        return int(tx["type"])
    if "blobVersionedHashes" in tx or "maxFeePerBlobGas" in tx:
        return 3
    if "maxFeePerGas" in tx:
        return 2
    if "accessList" in tx:
        return 1
    return 0


class _PreparedTest:
    """A test with its env and pre already serialised: shared by all its cases."""

    __slots__ = ("body", "head")

    def __init__(self, body: dict) -> None:
        self.body = body
        env = {k: body["env"][k] for k in ENV_FIELDS if k in body["env"]}
        # The fork goes first, the transaction last: both are spliced in per case.
        self.head = (
            '"env":' + json.dumps(env, separators=(",", ":"))
            + ',"pre":' + json.dumps(body["pre"], separators=(",", ":"))
        )


class CaseLoader:
    """Loads cases of one GeneralStateTests folder, keeping the last few files parsed
    (cases arrive grouped by file, so a small cache serves nearly every case)."""

    def __init__(self, gst_dir: Path, max_files: int = 8) -> None:
        self.gst_dir = Path(gst_dir)
        self.max_files = max_files
        self._files: OrderedDict[str, dict[str, _PreparedTest]] = OrderedDict()

    def raw(self, relpath: str) -> dict:
        """The parsed JSON of a file (cached)."""
        return {t: p.body for t, p in self._prepared(relpath).items()}

    def _prepared(self, relpath: str) -> dict[str, _PreparedTest]:
        tests = self._files.get(relpath)
        if tests is not None:
            self._files.move_to_end(relpath)
            return tests
        with open(self.gst_dir / relpath, "rb") as fh:
            data = json.load(fh)
        tests = {name: _PreparedTest(body) for name, body in data.items()}
        self._files[relpath] = tests
        while len(self._files) > self.max_files:
            self._files.popitem(last=False)
        return tests

    def case(self, ref: CaseRef) -> StateCase:
        prepared = self._prepared(ref.relpath)[ref.test]
        entry = prepared.body["post"][ref.fork][ref.post_index]
        tx = build_transaction(prepared.body["transaction"], ref.d, ref.g, ref.v, entry.get("txbytes"))
        fixture_json = (
            '{"fork":' + json.dumps(ref.fork) + "," + prepared.head
            + ',"transactions":[' + json.dumps(tx, separators=(",", ":")) + "]"
            + ',"_case":' + json.dumps(ref.id) + "}"
        )
        return StateCase(
            ref=ref,
            fixture_json=fixture_json,
            expected_hash=entry["hash"],
            expected_logs=entry["logs"],
            expect_exception=entry.get("expectException"),
            txbytes=entry.get("txbytes", ""),
        )

    def cases_of_file(self, relpath: str) -> Iterator[StateCase]:
        for ref in index_file(self.raw(relpath), relpath):
            yield self.case(ref)
