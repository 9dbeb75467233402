"""The gate runner: its summary table is parsed and checked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^(?P<suite>[\w-]+)\s+(?P<cases>\d+)\s+(?P<passed>\d+)\s+(?P<failed>\d+)\s+(?P<skipped>\d+)\s+"
                 r"(?P<time>[\d.]+)\s+(?P<result>\w+)$", re.M)


def run_gate(*args):
    return subprocess.run([sys.executable, "scripts/gate.py", "--workers", "0", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.timeout(600)
def test_gate_table_reports_a_passing_suite():
    proc = run_gate("--only", "api", "--", "-k", "test_panic or test_empty_block")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = {m["suite"]: m for m in ROW.finditer(proc.stdout)}
    assert rows["api"]["result"] == "ok" and int(rows["api"]["passed"]) == 2 and rows["api"]["failed"] == "0"
    assert rows["total"]["result"] == "ok"
    assert proc.stdout.rstrip().splitlines()[-1] == "gate: 2 passed, 0 failed, 0 skipped"


@pytest.mark.timeout(600)
def test_gate_fails_on_a_suite_that_runs_nothing():
    proc = run_gate("--only", "api", "--", "--ignore-glob=*test_*.py")  # no selection: running nothing fails
    assert proc.returncode == 1
    rows = {m["suite"]: m for m in ROW.finditer(proc.stdout)}
    assert rows["api"]["result"] == "EMPTY" and rows["total"]["result"] == "FAILED"


@pytest.mark.timeout(600)
def test_a_selection_skips_the_suites_it_selects_nothing_in():
    """The README's `make gate PYTEST_ARGS="-k stExample"`, on three suites: one where
    the expression selects tests, one where it selects none, one that is not pytest."""
    proc = run_gate("--only", "engine-unit,api,state-tests", "--state-sample", "50", "--", "-k", "stExample")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    rows = {m["suite"]: m for m in ROW.finditer(proc.stdout)}
    assert rows["state-tests"]["result"] == "ok" and int(rows["state-tests"]["passed"]) >= 2
    assert rows["api"]["result"] == "skipped" and rows["engine-unit"]["result"] == "skipped"
    assert rows["total"]["result"] == "ok"
    assert "  engine-unit: not pytest: -k stExample cannot select in it\n" in proc.stdout
    assert "  api: -k stExample selects nothing in it\n" in proc.stdout
    assert "cargo test" not in proc.stdout  # not run at all


@pytest.mark.timeout(600)
def test_a_selection_that_selects_nothing_anywhere_fails():
    proc = run_gate("--only", "api,loaders", "--", "-k", "no_test_has_this_name")
    assert proc.returncode == 1
    rows = {m["suite"]: m for m in ROW.finditer(proc.stdout)}
    assert rows["api"]["result"] == rows["loaders"]["result"] == "skipped"
    assert rows["total"]["result"] == "FAILED" and "FAILED: nothing ran in any suite" in proc.stdout


def test_unknown_suite_lists_the_names():
    proc = run_gate("--only", "api,foo")
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("error: unknown suites: foo; the suites are: engine-unit, api, regressions, "
                                        "mocked-blocks, mainnet-blocks, state-tests, blockchain-tests, loaders, properties, "
                                        "bench-smoke")


def test_without_a_venv_it_says_run_make_setup(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "gate.py").write_text((REPO / "scripts" / "gate.py").read_text())
    proc = subprocess.run([sys.executable, "scripts/gate.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr == f"gate.py: no {tmp_path}/.venv/bin/pytest: run `make setup` first (or `make gate`, which does)\n"


@pytest.mark.timeout(600)
def test_engine_threads_and_no_xdist():
    """`make gate ENGINE_THREADS=3 WORKERS=0`: the conformance suites run parallel blocks
    on 3 threads, in one pytest process."""
    # --no-print-directory: under `make gate` itself this runs as a sub-make.
    make = subprocess.run(["make", "--no-print-directory", "-n", "gate", "ENGINE_THREADS=3", "WORKERS=0"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    command = make.stdout.strip().splitlines()[-1]
    assert command.startswith(".venv/bin/python scripts/gate.py --workers 0 --engine-threads 3 "), make.stdout
    proc = run_gate("--engine-threads", "3", "--only", "mainnet-blocks", "--", "-k", "46147")
    assert proc.returncode == 0, proc.stdout[-3000:]
    rows = {m["suite"]: m for m in ROW.finditer(proc.stdout)}
    assert rows["mainnet-blocks"]["passed"] == "3"  # seq, par-t2, par-t3
    assert "engine threads for parallel runs: 3" in proc.stdout
    assert "worker [" not in proc.stdout and "workers [" not in proc.stdout  # -n 0: no xdist


def test_a_marker_expression_is_combined_with_the_gates():
    """pytest keeps the last -m: the gate's own (slow, nightly) must not silently replace
    the one given in PYTEST_ARGS, nor be replaced by it."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gate", REPO / "scripts" / "gate.py")
    gate = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gate", gate)  # dataclasses look their module up there
    spec.loader.exec_module(gate)
    commands = {s.name: s.command for s in gate.suites(False, "0", 100, ["-m", "not gate", "-x"])}
    api = commands["api"]
    assert api[len(api) - 1 - api[::-1].index("-m") + 1] == "(not gate) and (gate or not (slow or nightly))"
    regressions = commands["regressions"]  # no marker expression of its own: the user's applies
    assert regressions[regressions.index("-m") + 1] == "not gate" and "-x" in regressions
    full = {s.name: s.command for s in gate.suites(True, "0", 0, ["-mslow"])}["properties"]
    assert full[len(full) - 1 - full[::-1].index("-m") + 1] == "(slow) and (not nightly)"

