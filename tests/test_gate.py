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
    proc = run_gate("--only", "api", "--", "-k", "no_test_has_this_name")
    assert proc.returncode == 1
    rows = {m["suite"]: m for m in ROW.finditer(proc.stdout)}
    assert rows["api"]["result"] == "EMPTY" and rows["total"]["result"] == "FAILED"
