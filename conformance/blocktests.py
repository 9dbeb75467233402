"""ethereum/tests BlockchainTests → chains of block fixtures, run on the engine.

A blockchain-test file holds one or more tests; a test holds a `network` (a fork or a
transition schedule), a genesis header and its alloc (`pre`), the `blocks` in import
order, `lastblockhash` (the head of the canonical chain after the import) and the
expected final state: `postState` (an alloc) or `postStateHash` (a state root).

Each block is executed on the result of its parent (the block whose header `hash` is
its `parentHash`; genesis: the test's `pre`). Reorg tests import side chains: every
valid block is checked against its own header on its own parent, and the final state
is that of `lastblockhash`'s block. An invalid block (`expectException`) is never a
parent. Its exception name decides what is expected of the engine (EXCEPTION_CLASSES):

* ``transaction``: the engine rejects the block with ``InvalidTransaction`` of one of
  the mapped kinds;
* ``execution``: the engine executes the block and at least one of gasUsed, logsBloom,
  receiptTrie, stateRoot differs from the block's header;
* ``header``: a header, body-encoding or consensus rule the engine does not implement
  (difficulty, gas-limit bounds, timestamps, uncles, roots of the body, PoW/PoS import
  rules, RLP): reported, never passed — the test is a skip naming the exceptions.

A name not in the table fails the test. Two layers keep collection cheap, as for the
state tests: an index of (file, test, network) cached in .cache/ keyed by every file's
size and mtime, and a loader that keeps the last few parsed files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .statetests import FORKS

# ---- networks and the fork of each block --------------------------------------------

# A transition network: (fork before, fork from the switch on, how the switch is read).
# "number": header number >= 5; "time": timestamp >= 15,000; "difficulty": the block is
# post-merge when its header difficulty is 0 (ArrowGlacier is London's EVM).
TRANSITIONS: dict[str, tuple[str, str, str, int]] = {
    "FrontierToHomesteadAt5": ("Frontier", "Homestead", "number", 5),
    "HomesteadToDaoAt5": ("Homestead", "Homestead", "number", 5),  # block 5: the DAO fork block
    "HomesteadToEIP150At5": ("Homestead", "EIP150", "number", 5),
    "EIP158ToByzantiumAt5": ("EIP158", "Byzantium", "number", 5),
    "ByzantiumToConstantinopleFixAt5": ("Byzantium", "ConstantinopleFix", "number", 5),
    "BerlinToLondonAt5": ("Berlin", "London", "number", 5),
    "ArrowGlacierToParisAtDiffC0000": ("London", "Paris", "difficulty", 0),
    "ParisToShanghaiAtTime15k": ("Paris", "Shanghai", "time", 15_000),
}
NETWORKS = (*FORKS, *TRANSITIONS)
DAO_NETWORK, DAO_BLOCK = "HomesteadToDaoAt5", 5
_FORK_ORDER = {f: i for i, f in enumerate(FORKS)}


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.startswith(("0x", "0X")):
        return int(text[2:] or "0", 16)
    return int(text or "0")


def fork_at_least(fork: str, other: str) -> bool:
    return _FORK_ORDER[fork] >= _FORK_ORDER[other]


def fork_of(network: str, header: dict) -> str:
    """The fork a block of `network` runs under, from its header."""
    if network in _FORK_ORDER:
        return network
    try:
        before, after, how, at = TRANSITIONS[network]
    except KeyError:
        raise ValueError(f"unknown network {network!r}") from None
    if how == "number":
        switched = _int(header["number"]) >= at
    elif how == "time":
        switched = _int(header["timestamp"]) >= at
    else:  # difficulty: a PoS block has difficulty 0
        switched = _int(header["difficulty"]) == 0
    return after if switched else before


def is_dao_fork_block(network: str, header: dict) -> bool:
    return network == DAO_NETWORK and _int(header["number"]) == DAO_BLOCK


# ---- expected exceptions --------------------------------------------------------------

TRANSACTION, EXECUTION, HEADER = "transaction", "execution", "header"


@dataclass(frozen=True)
class ExceptionClass:
    klass: str  # TRANSACTION, EXECUTION or HEADER
    kinds: frozenset = frozenset()  # TRANSACTION: the acceptable InvalidTransaction.kind values
    meaning: str = ""


def _tx(meaning: str, *kinds: str) -> ExceptionClass:
    return ExceptionClass(TRANSACTION, frozenset(kinds), meaning)


def _ex(meaning: str) -> ExceptionClass:
    return ExceptionClass(EXECUTION, frozenset(), meaning)


def _hd(meaning: str) -> ExceptionClass:
    return ExceptionClass(HEADER, frozenset(), meaning)


# Every `expectException` name of the BlockchainTests corpus (test_blocktests_loader.py
# checks the table against it). Several kinds where the name itself says "or", or where
# two kinds describe the same violation (a gas limit above what the block has left).
EXCEPTION_CLASSES: dict[str, ExceptionClass] = {
    # --- (a) a transaction the block cannot include ---------------------------------------
    "TR_IntrinsicGas": _tx("gas limit below the intrinsic gas", "intrinsic_gas_too_low"),
    "IntrinsicGas": _tx("gas limit below the intrinsic gas", "intrinsic_gas_too_low"),
    "TR_NoFunds": _tx("sender cannot pay gasLimit x price + value", "insufficient_funds"),
    "TR_NoFundsOrGas": _tx("no funds, or gas limit below intrinsic", "insufficient_funds", "intrinsic_gas_too_low"),
    "TR_GasLimitReached": _tx("gas limit above what the block has left", "block_gas_exhausted", "gas_limit_above_block"),
    "TR_TipGtFeeCap": _tx("maxPriorityFeePerGas above maxFeePerGas", "priority_fee_above_fee_cap"),
    "TR_FeeCapLessThanBlocks": _tx("max fee (gas price) below the block's base fee", "fee_cap_below_base_fee"),
    "TR_FeeCapLessThanBlocksORNoFunds": _tx("fee cap below the base fee, or no funds",
                                            "fee_cap_below_base_fee", "insufficient_funds"),
    "TR_FeeCapLessThanBlocksORGasLimitReached": _tx("fee cap below the base fee, or block gas used up",
                                                    "fee_cap_below_base_fee", "block_gas_exhausted",
                                                    "gas_limit_above_block"),
    "TR_NonceTooLow": _tx("nonce below the sender's", "nonce_too_low"),
    "TR_NonceTooHigh": _tx("nonce above the sender's", "nonce_too_high"),
    "TR_TypeNotSupported": _tx("transaction type not in the block's fork", "tx_type_not_supported"),
    "SenderNotEOAorNoCASH": _tx("sender has code (EIP-3607), or no funds", "sender_has_code", "insufficient_funds"),
    # --- (b) the block executes, but its header does not match the result -------------------
    "InvalidStateRoot": _ex("header stateRoot is not the post-state's root"),
    "InvalidGasUsed": _ex("header gasUsed is not the gas the transactions used"),
    "InvalidReceiptsStateRoot": _ex("header receiptTrie is not the receipts' root"),
    "InvalidLogBloom": _ex("header logsBloom is not the logs' bloom"),
    # --- (c) header, body-encoding and consensus rules, outside the engine -----------------
    "TooMuchGasUsed": _hd("header gasUsed above header gasLimit (a header rule)"),
    "InvalidGasLimit": _hd("header gasLimit above 2**63-1"),
    "InvalidGasLimit2": _hd("header gasLimit outside the parent's +-1/1024 bound"),
    "InvalidNumber": _hd("header number is not parent + 1"),
    "InvalidTimestampOlderParent": _hd("header timestamp not after the parent's"),
    "InvalidDifficulty": _hd("header difficulty is not the computed one"),
    "PostParisDifficultyIsNot0": _hd("PoS header with a difficulty"),
    "ExtraDataTooBig": _hd("header extraData above 32 bytes"),
    "ExtraDataIncorrectDAO": _hd("DAO fork blocks 5-14 without the dao-hard-fork extraData"),
    "InvalidTransactionsRoot": _hd("header transactionsTrie is not the body's root"),
    "InvalidUnclesHash": _hd("header uncleHash is not the body's uncles' hash"),
    "InvalidWithdrawals": _hd("header withdrawalsRoot is not the body's withdrawals' root"),
    "UnknownParent": _hd("parentHash names no known block"),
    "UnknownParent2": _hd("parentHash names no known block"),
    "InvalidUncleParentHash": _hd("an uncle's parent is unknown"),
    "UncleIsAncestor": _hd("an uncle is an ancestor of the block"),
    "UncleParentIsNotAncestor": _hd("an uncle's parent is not an ancestor within 7 generations"),
    "UncleIsBrother": _hd("an uncle is a sibling of the block"),
    "UncleInChain": _hd("an uncle already included by an ancestor"),
    "TooManyUncles": _hd("more than 2 uncles"),
    "PostParisUncleHashIsNotEmpty": _hd("PoS block with uncles"),
    "1559BlockImportImpossible_BaseFeeWrong": _hd("header baseFeePerGas is not the computed one"),
    "1559BlockImportImpossible_HeaderIsLegacy": _hd("London block without baseFeePerGas"),
    "LegacyBlockImportImpossible": _hd("pre-London block with baseFeePerGas"),
    "LegacyBlockImportImpossible2": _hd("pre-London block with baseFeePerGas"),
    "3675PreParis1559BlockRejected": _hd("a PoW (difficulty > 0) header after the merge"),
    "3675PoSBlockRejected": _hd("a PoS (difficulty 0) header before the merge"),
    "3675PoWBlockRejected": _hd("a PoW header after the terminal total difficulty"),
    "ParisBlockImportImpossible": _hd("a Paris-shaped header (no withdrawalsRoot) in Shanghai"),
    "ShanghaiBlockImportImpossible": _hd("a Shanghai-shaped header (withdrawalsRoot) before Shanghai"),
    "INPUT_UNMARSHAL_ERROR": _hd("a withdrawal field above its RLP range (index, validator, amount)"),
    "INPUT_UNMARSHAL_ADDRESS_ERROR": _hd("a withdrawal address that is not 20 bytes"),
    "RLP_ExpectedAsList": _hd("Shanghai block RLP without the withdrawals list"),
}

NO_BODY = "no decodable body"  # the reason for a block with neither blockHeader nor rlp_decoded


class UnknownBlockException(KeyError):
    """An `expectException` name EXCEPTION_CLASSES does not know: the test must fail."""


def exception_class(name: str) -> ExceptionClass:
    try:
        return EXCEPTION_CLASSES[name]
    except KeyError:
        raise UnknownBlockException(
            f"unmapped expectException name {name!r}: add it to EXCEPTION_CLASSES in conformance/blocktests.py"
        ) from None


def exception_table_markdown() -> str:
    """EXCEPTION_CLASSES as the Markdown table of docs/conformance.md."""
    lines = ["| expectException | class | accepted kinds | meaning |", "| --- | --- | --- | --- |"]
    for name, c in EXCEPTION_CLASSES.items():
        kinds = ", ".join(f"`{k}`" for k in sorted(c.kinds)) or "—"
        lines.append(f"| `{name}` | {c.klass} | {kinds} | {c.meaning} |")
    return "\n".join(lines)


# ---- the index ----------------------------------------------------------------------


class TestRef(NamedTuple):
    """One blockchain test, cheaply: enough to name, select and load it."""

    relpath: str  # "ValidBlocks/bcExample/basefeeExample.json", relative to BlockchainTests
    test: str  # the test's key in the file ("basefeeExample_Cancun")
    network: str
    blocks: int  # blocks in the test (for task costs and the summary)
    exceptions: str = ""  # the distinct expectException names of its blocks, sorted, ","-joined

    __test__ = False  # not a pytest class

    @property
    def id(self) -> str:
        return f"{self.relpath}::{self.test}[{self.network}]"

    @property
    def folder(self) -> str:
        return os.path.dirname(self.relpath)

    @property
    def exception_names(self) -> list[str]:
        return self.exceptions.split(",") if self.exceptions else []


INDEX_VERSION = 2


# The folders of BlockchainTests this runner reads. Upstream also has
# BlockchainTests/GeneralStateTests (the state tests again, as one-block chains): those
# cases are the state-test runner's.
FOLDERS = ("InvalidBlocks", "TransitionTests", "ValidBlocks")


def list_files(root: Path) -> list[str]:
    """Every test JSON file under root's FOLDERS, as sorted relative POSIX paths."""
    out = []
    root = Path(root)
    for dirpath, dirnames, filenames in (w for f in FOLDERS for w in os.walk(root / f)):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        for name in filenames:
            if name.endswith(".json"):
                out.append(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
    out.sort()
    return out


def index_file(content: dict, relpath: str) -> list[TestRef]:
    return [
        TestRef(relpath, name, body["network"], len(body["blocks"]),
                ",".join(sorted({b["expectException"] for b in body["blocks"] if "expectException" in b})))
        for name, body in content.items()
    ]


def _fingerprint(root: Path, files: list[str]) -> str:
    h = hashlib.sha256(str(root).encode())
    for rel in files:
        st = os.stat(root / rel)
        h.update(f"\0{rel}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()


def load_index(root: Path, cache_dir: Path | None = None) -> list[TestRef]:
    """Every test of the corpus, from the cache when no file changed, else by parsing
    every file once (and writing the cache)."""
    root = Path(root)
    files = list_files(root)
    fingerprint = _fingerprint(root, files)
    cache_file = None
    if cache_dir is not None:
        key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        cache_file = Path(cache_dir) / f"blockchain-index-{key}.json"
        try:
            cached = json.loads(cache_file.read_text())
            if cached.get("version") == INDEX_VERSION and cached.get("fingerprint") == fingerprint:
                return [TestRef(*row) for row in cached["tests"]]
        except (OSError, ValueError, TypeError, KeyError):
            pass
    refs: list[TestRef] = []
    for rel in files:
        with open(root / rel, "rb") as fh:
            refs.extend(index_file(json.load(fh), rel))
    if cache_file is not None:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps({"version": INDEX_VERSION, "fingerprint": fingerprint,
                                       "tests": [list(r) for r in refs]}))
            os.replace(tmp, cache_file)
        except OSError:
            pass
    return refs


def sample(refs: list[TestRef], n: int) -> list[TestRef]:
    """A deterministic sample of about n tests covering every folder, every network and
    every expectException name: ranked by a hash of the id, the first test of each
    folder, of each network and with each name is taken, then the ranking fills up to n
    (coverage wins over n). Corpus order kept."""
    if n <= 0 or n >= len(refs):
        return list(refs)
    ranked = sorted(range(len(refs)), key=lambda i: hashlib.sha1(refs[i].id.encode()).digest())
    chosen: set[int] = set()
    for attr in ("folder", "network"):
        seen: set[str] = set()
        for i in ranked:
            key = getattr(refs[i], attr)
            if key not in seen:
                seen.add(key)
                chosen.add(i)
    names = {n for i in chosen for n in refs[i].exception_names}
    for i in ranked:
        missing = set(refs[i].exception_names) - names
        if missing:
            names |= missing
            chosen.add(i)
    for i in ranked:
        if len(chosen) >= n:
            break
        chosen.add(i)
    return [refs[i] for i in sorted(chosen)]


# ---- blocks → fixtures ----------------------------------------------------------------

# The transaction fields a fixture takes from the test JSON; `sender` is dropped so that
# the engine recovers it from the signature.
TX_FIELDS = (
    "type", "chainId", "nonce", "to", "value", "data", "gasLimit", "gasPrice", "maxFeePerGas",
    "maxPriorityFeePerGas", "accessList", "blobVersionedHashes", "maxFeePerBlobGas", "v", "r", "s", "yParity",
)
WITHDRAWAL_FIELDS = ("index", "validatorIndex", "address", "amount")


def fixture_transaction(tx: dict) -> dict:
    """A signed transaction of the test JSON as a fixture transaction: every field but
    `sender`, which the engine recovers from v, r, s (a legacy transaction's chain id,
    or its absence at v = 27/28, is the engine's to read from v too)."""
    return {k: tx[k] for k in TX_FIELDS if k in tx}


def block_env(header: dict, fork: str) -> dict:
    env = {
        "currentCoinbase": header["coinbase"],
        "currentNumber": header["number"],
        "currentTimestamp": header["timestamp"],
        "currentGasLimit": header["gasLimit"],
        "currentDifficulty": header["difficulty"],
        "currentChainId": "0x01",
    }
    if "baseFeePerGas" in header:
        env["currentBaseFee"] = header["baseFeePerGas"]
    if fork_at_least(fork, "Paris"):
        env["currentRandom"] = header["mixHash"]
    if "excessBlobGas" in header:
        env["currentExcessBlobGas"] = header["excessBlobGas"]
    return env


def build_fixture(network: str, header: dict, body: dict, block_hashes: dict[str, str],
                  pre: dict | None, label: str = "") -> dict:
    """The block fixture of one block (header + body: transactions, uncleHeaders,
    withdrawals). `pre` for the first block after genesis; None when the engine runs it
    on its parent's result (pre_state=...)."""
    fork = fork_of(network, header)
    fx: dict[str, Any] = {"fork": fork, "env": block_env(header, fork)}
    if pre is not None:
        fx["pre"] = pre
    fx["transactions"] = [fixture_transaction(tx) for tx in body.get("transactions", [])]
    if block_hashes:
        fx["blockHashes"] = block_hashes
    if not fork_at_least(fork, "Paris"):
        fx["rewards"] = True
        ommers = [{"coinbase": u["coinbase"], "number": u["number"]} for u in body.get("uncleHeaders", [])]
        if ommers:
            fx["ommers"] = ommers
    if "withdrawals" in body and fork_at_least(fork, "Shanghai"):
        fx["withdrawals"] = [{k: w[k] for k in WITHDRAWAL_FIELDS} for w in body["withdrawals"]]
    if "parentBeaconBlockRoot" in header and fork_at_least(fork, "Cancun"):
        fx["parentBeaconBlockRoot"] = header["parentBeaconBlockRoot"]
    if is_dao_fork_block(network, header):
        fx["daoForkBlock"] = True
    if label:
        fx["_block"] = label
    return fx


@dataclass
class BlockPlan:
    """One block of a test, as the runner sees it."""

    position: int  # index in `blocks`
    header: dict | None  # blockHeader, or rlp_decoded.blockHeader of an invalid block
    body: dict | None  # {transactions, uncleHeaders, withdrawals}
    exception: str | None  # expectException
    klass: str  # "valid", TRANSACTION, EXECUTION, HEADER, or "unknown" (unmapped name)
    kinds: frozenset = frozenset()
    reason: str = ""  # HEADER: what puts it outside the engine

    @property
    def number(self) -> int | None:
        return None if self.header is None else _int(self.header["number"])

    @property
    def hash(self) -> str | None:
        return None if self.header is None else self.header["hash"].lower()

    @property
    def parent_hash(self) -> str | None:
        return None if self.header is None else self.header["parentHash"].lower()

    @property
    def label(self) -> str:
        n = "?" if self.number is None else self.number
        return f"block {self.position} (number {n}{', ' + self.exception if self.exception else ''})"


def plan_blocks(test: dict) -> list[BlockPlan]:
    plans = []
    for i, b in enumerate(test["blocks"]):
        exc = b.get("expectException")
        src = b if "blockHeader" in b else b.get("rlp_decoded")
        header = src.get("blockHeader") if src else None
        body = {k: src[k] for k in ("transactions", "uncleHeaders", "withdrawals") if k in src} if src else None
        if exc is None:
            plans.append(BlockPlan(i, header, body, None, "valid"))
            continue
        try:
            cls = exception_class(exc)
        except UnknownBlockException:
            plans.append(BlockPlan(i, header, body, exc, "unknown"))
            continue
        if header is None:
            plans.append(BlockPlan(i, None, None, exc, HEADER, reason=NO_BODY))
        else:
            plans.append(BlockPlan(i, header, body, exc, cls.klass, cls.kinds,
                                   cls.meaning if cls.klass == HEADER else ""))
    return plans


# ---- comparing states --------------------------------------------------------------


def _bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    text = str(value)
    return bytes.fromhex(text[2:] if text.startswith(("0x", "0X")) else text)


def normalise_alloc(alloc: dict) -> dict:
    """An alloc (the test's hex strings, or the engine's post_state with ints and bytes)
    as {address: (balance, nonce, code, {slot: value})}, zero slots dropped."""
    out = {}
    for addr, acct in alloc.items():
        storage = {_int(k): _int(v) for k, v in (acct.get("storage") or {}).items()}
        out[addr.lower()] = (
            _int(acct.get("balance", 0)),
            _int(acct.get("nonce", 0)),
            _bytes(acct.get("code", "0x") or b""),
            {k: v for k, v in storage.items() if v != 0},
        )
    return out


def alloc_differences(expected: dict, got: dict, limit: int = 6) -> list[str]:
    """Where two normalised allocs differ (first `limit` lines)."""
    lines = []
    for addr in sorted(set(expected) | set(got)):
        a, b = expected.get(addr), got.get(addr)
        if a == b:
            continue
        if a is None:
            lines.append(f"post-state {addr}: not expected, got balance={b[0]} nonce={b[1]} code={len(b[2])}B "
                         f"storage={len(b[3])} slots")
        elif b is None:
            lines.append(f"post-state {addr}: expected balance={a[0]} nonce={a[1]}, the account is missing")
        else:
            for name, x, y in zip(("balance", "nonce", "code"), a[:3], b[:3]):
                if x != y:
                    shown = (x.hex()[:40], y.hex()[:40]) if isinstance(x, bytes) else (x, y)
                    lines.append(f"post-state {addr}.{name}: expected {shown[0]}, got {shown[1]}")
            for slot in sorted(set(a[3]) | set(b[3])):
                if a[3].get(slot, 0) != b[3].get(slot, 0):
                    lines.append(f"post-state {addr}.storage[{hex(slot)}]: expected {hex(a[3].get(slot, 0))}, "
                                 f"got {hex(b[3].get(slot, 0))}")
                    if len(lines) >= limit:
                        break
        if len(lines) >= limit:
            break
    return lines[:limit]


def header_mismatches(header: dict, res) -> list[tuple[str, str, str]]:
    """(field, header value, engine value) for gasUsed, bloom, receiptTrie, stateRoot."""
    out = []
    if _int(header["gasUsed"]) != res.gas_used:
        out.append(("gasUsed", str(_int(header["gasUsed"])), str(res.gas_used)))
    if header["bloom"].lower() != res.logs_bloom.lower():
        out.append(("logsBloom", header["bloom"], res.logs_bloom))
    if header["receiptTrie"].lower() != res.receipts_root.lower():
        out.append(("receiptTrie", header["receiptTrie"], res.receipts_root))
    if header["stateRoot"].lower() != res.state_root.lower():
        out.append(("stateRoot", header["stateRoot"], res.state_root))
    return out


# ---- running a test ---------------------------------------------------------------------

MODE_NAMES = {"seq": "sequential", "par": "parallel"}
COUNT_KEYS = ("valid", "rejected_tx", "rejected_exec", "header_only", "failed_blocks")


@dataclass
class TestOutcome:
    """What a test's run found: the failure lines (empty = no failure), the per-block
    counts (COUNT_KEYS) and the header-only blocks' exception names."""

    failures: list = field(default_factory=list)
    counts: dict = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    header_only: list = field(default_factory=list)  # "ExceptionName" per block

    __test__ = False

    @property
    def verdict(self) -> str:
        if self.failures:
            return "failed"
        return "skipped" if self.header_only else "passed"

    def skip_reason(self) -> str:
        names: dict[str, int] = {}
        for n in self.header_only:
            names[n] = names.get(n, 0) + 1
        listed = ", ".join(f"{n} x{c}" if c > 1 else n for n, c in names.items())
        c = self.counts
        return (f"outside the engine (header/consensus rules): {listed}; "
                f"checked: {c['valid']} valid blocks, {c['rejected_tx']} rejected by transaction, "
                f"{c['rejected_exec']} by execution")


def call_engine(engine, fixture: dict, mode: str, threads: int | None, pre_state=None):
    """One engine call: ("ok", result) | ("invalid", exc) | ("fixture", exc). Parallel
    mode forces Block-STM (parallel_threshold=0). EngineError propagates."""
    kwargs = {} if pre_state is None else {"pre_state": pre_state}
    try:
        if mode == "par":
            return "ok", engine.execute(fixture, "parallel", threads, parallel_threshold=0, **kwargs)
        return "ok", engine.execute(fixture, "sequential", **kwargs)
    except engine.InvalidTransaction as exc:
        return "invalid", exc
    except engine.FixtureError as exc:
        return "fixture", exc


class BlockchainTest:
    """One loaded test: its blocks planned, ready to run in a mode."""

    __test__ = False

    def __init__(self, ref: TestRef, body: dict) -> None:
        self.ref = ref
        self.body = body
        self.plans = plan_blocks(body)
        genesis = body["genesisBlockHeader"]
        self.genesis_hash = genesis["hash"].lower()
        # hash → (number, parent hash) of every block a later block may descend from.
        self.headers = {self.genesis_hash: (_int(genesis["number"]), None)}
        for p in self.plans:
            if p.klass == "valid" and p.header is not None:
                self.headers[p.hash] = (p.number, p.parent_hash)

    def block_hashes(self, parent_hash: str) -> dict[str, str]:
        """{number: hash} of the ancestors (parent first, up to 256) along the chain."""
        out: dict[str, str] = {}
        h = parent_hash
        while h is not None and h in self.headers and len(out) < 256:
            number, parent = self.headers[h]
            out[str(number)] = h
            h = parent
        return out

    def fixture(self, plan: BlockPlan, with_pre: bool) -> dict:
        return build_fixture(self.ref.network, plan.header, plan.body or {}, self.block_hashes(plan.parent_hash),
                             self.body["pre"] if with_pre else None, f"{self.ref.id} {plan.label}")

    def run(self, engine, mode: str, threads: int | None) -> TestOutcome:
        out = TestOutcome()
        head = [f"test:  {self.ref.id}", f"mode:  {MODE_NAMES.get(mode, mode)}"]
        results: dict[str, Any] = {self.genesis_hash: None}  # None: genesis, the test's pre
        broken = None  # the first valid block that failed: its descendants cannot run

        def fail(plan: BlockPlan, *lines: str) -> None:
            out.counts["failed_blocks"] += 1
            out.failures.append(f"{plan.label}: " + lines[0])
            out.failures.extend("    " + line for line in lines[1:])

        for plan in self.plans:
            if plan.klass == "unknown":
                fail(plan, f"unmapped expectException {plan.exception!r}: add it to EXCEPTION_CLASSES "
                           "in conformance/blocktests.py")
                continue
            if plan.klass == HEADER:
                out.counts["header_only"] += 1
                out.header_only.append(plan.exception)
                continue
            if plan.parent_hash not in results:
                if broken is not None and plan.parent_hash in self.headers:
                    fail(plan, f"not run: an ancestor failed ({broken})")
                else:
                    fail(plan, f"parent {plan.parent_hash} is not a block of this test that was imported")
                continue
            parent = results[plan.parent_hash]
            fixture = self.fixture(plan, with_pre=parent is None)
            status, value = call_engine(engine, fixture, mode, threads, parent)
            if plan.klass == "valid":
                if status == "invalid":
                    fail(plan, f"expected a valid block, got InvalidTransaction index={value.index} "
                               f"kind={value.kind!r}: {value}")
                elif status == "fixture":
                    fail(plan, f"expected a valid block, got FixtureError: {value}")
                else:
                    mismatches = header_mismatches(plan.header, value)
                    if not mismatches:
                        from .checks import check_access_list

                        listed = check_access_list(engine, fixture, mode, threads, value, parent)
                        if listed:
                            fail(plan, *listed)
                        else:
                            out.counts["valid"] += 1
                        results[plan.hash] = value
                        continue
                    name, want, got = mismatches[0]
                    fail(plan, f"{name}: header {want}, engine {got}",
                         *(f"also {n}: header {w}, engine {g}" for n, w, g in mismatches[1:]),
                         f"fork {fixture['fork']}, {len(fixture['transactions'])} transactions, "
                         f"receipts: {_receipts_line(value)}")
                if broken is None:
                    broken = plan.label
                continue
            if plan.klass == TRANSACTION:
                if status == "invalid" and value.kind in plan.kinds:
                    out.counts["rejected_tx"] += 1
                elif status == "invalid":
                    fail(plan, f"expected InvalidTransaction kind in {sorted(plan.kinds)}, got "
                               f"kind={value.kind!r} (index {value.index}): {value}")
                elif status == "fixture":
                    fail(plan, f"expected InvalidTransaction kind in {sorted(plan.kinds)}, got FixtureError: {value}")
                else:
                    fail(plan, f"expected InvalidTransaction kind in {sorted(plan.kinds)}, the engine accepted "
                               f"every transaction ({len(value.receipts)}; gasUsed {value.gas_used}, "
                               f"stateRoot {value.state_root})")
                continue
            # EXECUTION
            if status == "ok":
                if header_mismatches(plan.header, value):
                    out.counts["rejected_exec"] += 1
                else:
                    fail(plan, "expected a header mismatch (gasUsed, logsBloom, receiptTrie or stateRoot), "
                               "the header matches the engine's result")
            elif status == "invalid":
                fail(plan, f"expected the block to execute (and mismatch its header), got InvalidTransaction "
                           f"index={value.index} kind={value.kind!r}: {value}")
            else:
                fail(plan, f"expected the block to execute, got FixtureError: {value}")

        if broken is None and not any(p.klass == "unknown" for p in self.plans):
            out.failures.extend(self._check_final(results))
        elif broken is not None:
            out.failures.append("post-state: not checked (a valid block failed)")
        if out.failures:
            out.failures[:0] = head
        return out

    def _check_final(self, results: dict) -> list[str]:
        last = self.body["lastblockhash"].lower()
        if last not in results:
            return [f"lastblockhash {last}: not a block this run imported"]
        res = results[last]
        if "postStateHash" in self.body:
            want = self.body["postStateHash"].lower()
            got = (res.state_root if res is not None else self.body["genesisBlockHeader"]["stateRoot"]).lower()
            return [] if want == got else [f"postStateHash: expected {want}, got {got}"]
        expected = normalise_alloc(self.body["postState"])
        got = normalise_alloc(res.post_state if res is not None else self.body["pre"])
        return [] if expected == got else alloc_differences(expected, got)


def _receipts_line(res, limit: int = 4) -> str:
    parts = [f"[{i}] status={r.status} gas={r.gas_used}" for i, r in enumerate(res.receipts[:limit])]
    more = f" (+{len(res.receipts) - limit})" if len(res.receipts) > limit else ""
    return (", ".join(parts) or "none") + more


class TestLoader:
    """Loads tests of one BlockchainTests folder, keeping the last few files parsed."""

    __test__ = False

    def __init__(self, root: Path, max_files: int = 4) -> None:
        self.root = Path(root)
        self.max_files = max_files
        self._files: OrderedDict[str, dict] = OrderedDict()

    def raw(self, relpath: str) -> dict:
        content = self._files.get(relpath)
        if content is not None:
            self._files.move_to_end(relpath)
            return content
        with open(self.root / relpath, "rb") as fh:
            content = json.load(fh)
        self._files[relpath] = content
        while len(self._files) > self.max_files:
            self._files.popitem(last=False)
        return content

    def test(self, ref: TestRef) -> BlockchainTest:
        return BlockchainTest(ref, self.raw(ref.relpath)[ref.test])


def find_test(root: Path, test_id: str) -> BlockchainTest:
    """A test by its id ("<relpath>::<test>[<network>]", or a pytest item id)."""
    text = test_id.strip()
    if text.startswith("test_blockchain[") or "::test_blockchain[" in text:
        text = text.split("test_blockchain[", 1)[1][:-1]
        for mode in ("seq", "par"):
            if text.endswith(f"]-{mode}"):
                text = text[: -len(mode) - 1]
    relpath = text.split("::", 1)[0]
    loader = TestLoader(root)
    for ref in index_file(loader.raw(relpath), relpath):
        if ref.id == text:
            return loader.test(ref)
    raise KeyError(f"no test {text!r} in {relpath}")
