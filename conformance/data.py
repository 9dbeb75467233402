"""Where the conformance data lives.

Neither corpus is committed: ethereum/tests is a (usually empty) git submodule and the
mainnet blocks sit in the workplace's shared folder. Each lookup returns the folder it
found, or None together with the list of places it tried, so a missing corpus can be
reported loudly instead of silently running zero cases.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

ETHEREUM_TESTS_ENV = "ETHEREUM_TESTS"
MAINNET_BLOCKS_ENV = "MAINNET_BLOCKS"


@dataclass
class Lookup:
    """The outcome of a data lookup: ``path`` (None if nothing usable was found) and
    every candidate that was considered, in order, with why it was rejected."""

    what: str
    path: Path | None = None
    tried: list[str] = field(default_factory=list)

    def describe_missing(self) -> str:
        lines = [f"{self.what} not found; looked in:"]
        lines += [f"  - {t}" for t in self.tried]
        return "\n".join(lines)


def in_ci() -> bool:
    """CI sets CI=true: there a missing corpus fails the run instead of skipping."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _corpus_dir_of(root: Path, folder: str) -> Path | None:
    """`folder` (GeneralStateTests, BlockchainTests) of an ethereum/tests checkout, or
    the folder itself."""
    if root.name == folder and root.is_dir():
        return root
    for candidate in (root / "Cancun" / folder, root / folder):
        if candidate.is_dir():
            return candidate
    return None


def _find_corpus(folder: str, option: str | os.PathLike | None) -> Lookup:
    """--ethereum-tests, then $ETHEREUM_TESTS, then the repo's ethereum-tests/ submodule
    if populated, then ../shared/ethereum-tests; inside, Cancun/<folder>, else <folder>."""
    lookup = Lookup(f"ethereum/tests {folder}")
    candidates: list[tuple[str, Path]] = []
    if option:
        candidates.append(("--ethereum-tests", Path(option)))
    if os.environ.get(ETHEREUM_TESTS_ENV):
        candidates.append((f"${ETHEREUM_TESTS_ENV}", Path(os.environ[ETHEREUM_TESTS_ENV])))
    candidates.append(("submodule", REPO_ROOT / "ethereum-tests"))
    candidates.append(("shared", REPO_ROOT.parent / "shared" / "ethereum-tests"))
    for source, root in candidates:
        root = root.expanduser()
        if folder != "GeneralStateTests" and root.is_dir() and root.name == "GeneralStateTests":
            root = root.parent  # --ethereum-tests may name the state tests' folder
        found = _corpus_dir_of(root, folder) if root.is_dir() else None
        if found is not None:
            lookup.path = found.resolve()
            lookup.tried.append(f"{source}: {root} -> {lookup.path}")
            return lookup
        reason = f"no {folder} inside" if root.is_dir() else "does not exist"
        lookup.tried.append(f"{source}: {root} ({reason})")
        # An explicit choice that is wrong is an error, not a hint to look elsewhere.
        if source != "submodule" and source != "shared":
            return lookup
    return lookup


def find_state_tests(option: str | os.PathLike | None = None) -> Lookup:
    """The GeneralStateTests folder (see _find_corpus for where it is looked for)."""
    return _find_corpus("GeneralStateTests", option)


def find_blockchain_tests(option: str | os.PathLike | None = None) -> Lookup:
    """The BlockchainTests folder, found like GeneralStateTests (the runner reads its
    ValidBlocks, InvalidBlocks and TransitionTests)."""
    return _find_corpus("BlockchainTests", option)


def find_mainnet_blocks(option: str | os.PathLike | None = None) -> Lookup:
    """The mainnet-blocks folder: --mainnet-blocks, then $MAINNET_BLOCKS, then
    ../shared/mainnet-blocks. Usable when it holds at least one <number>/block.json."""
    lookup = Lookup("mainnet blocks")
    candidates: list[tuple[str, Path]] = []
    if option:
        candidates.append(("--mainnet-blocks", Path(option)))
    if os.environ.get(MAINNET_BLOCKS_ENV):
        candidates.append((f"${MAINNET_BLOCKS_ENV}", Path(os.environ[MAINNET_BLOCKS_ENV])))
    candidates.append(("shared", REPO_ROOT.parent / "shared" / "mainnet-blocks"))
    for source, root in candidates:
        root = root.expanduser()
        if root.is_dir() and any((d / "block.json").is_file() for d in root.iterdir() if d.is_dir()):
            lookup.path = root.resolve()
            lookup.tried.append(f"{source}: {root}")
            return lookup
        reason = "no <number>/block.json inside" if root.is_dir() else "does not exist"
        lookup.tried.append(f"{source}: {root} ({reason})")
        if source != "shared":
            return lookup
    return lookup


def cache_dir() -> Path:
    """The repo's ignored .cache/ folder for derived, rebuildable data (the case index)."""
    return REPO_ROOT / ".cache" / "conformance"


def usable_cores() -> int:
    """The cores this process may run on (the default for engine threads and workers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
