"""Command-line options of the root conftest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(120)
def test_test_threads_is_an_alias_of_xdist_n():
    proc = subprocess.run([sys.executable, "-m", "pytest", "--test-threads", "2", "-p", "no:cacheprovider",
                           "tests/test_gate.py", "-k", "no_test_has_this_name"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "2 workers [0 items]" in proc.stdout, proc.stdout + proc.stderr
