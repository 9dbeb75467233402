"""scripts/mutation.py end to end (docs/detection-power.md): the engine builds with its
seeded faults, imports ahead of the normal engine, and two of the faults are caught
quickly. Slow (a cargo build): `make test` runs it, the gate does not; the full
measurement is `make mutation`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import blockstm

REPO = Path(__file__).resolve().parent.parent
FAULTS = ["skip-validation", "lose-beneficiary-delta"]
LIMIT_S = 180


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_seeded_faults_are_caught_by_the_parallel_tests(tmp_path):
    assert not hasattr(blockstm._engine, "faults"), "the normal build carries the seeded faults"
    command = [sys.executable, "scripts/mutation.py", "--out", str(tmp_path), "--skip-baseline",
               "--faults", ",".join(FAULTS), "--suites", "api", "--limit", str(LIMIT_S), "--workers", "0",
               "--", "-k", "test_parallel"]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=570)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert [f["fault"] for f in report["faults"]] == FAULTS
    for fault in report["faults"]:
        assert fault["caught"] and fault["suite"] == "api" and fault["seconds"] < LIMIT_S, fault
        assert all(test.startswith("tests/test_parallel.py::") for test in fault["tests"]), fault
    assert "| `skip-validation` | yes | api |" in (tmp_path / "report.md").read_text()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_generated_mutants_of_the_quick_slice_are_killed(tmp_path):
    """The generated-mutant machinery (scripts/mutants.py) on its saved quick slice:
    cargo-mutants' diffs applied to a snapshot, built, installed ahead of the normal
    engine, and killed by the parallel tests. No cargo-mutants needed: the list is saved."""
    quick = REPO / "scripts" / "mutants-quick.json"
    names = [m["name"] for m in json.loads(quick.read_text())]
    sources = {p: p.read_bytes() for p in (REPO / "engine" / "src").rglob("*.rs")}
    command = [sys.executable, "scripts/mutants.py", "--mutants", str(quick), "--out", str(tmp_path),
               "--suites", "api", "--limit", str(LIMIT_S), "--workers", "0", "--", "-k", "test_parallel"]
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=870)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert sorted(m["name"] for m in report["mutants"]) == sorted(names)
    for mutant in report["mutants"]:
        assert mutant["outcome"] == "killed" and mutant["suite"] == "api", mutant
        assert all(test.startswith("tests/test_parallel.py::") for test in mutant["tests"]), mutant
    assert f"**{len(names)} of {len(names)} viable mutants caught** (100%)" in (tmp_path / "report.md").read_text()
    # The checkout is untouched: the mutants edited the snapshot only.
    assert {p: p.read_bytes() for p in (REPO / "engine" / "src").rglob("*.rs")} == sources
