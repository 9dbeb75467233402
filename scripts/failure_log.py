"""pytest plugin of scripts/mutation.py (`-p failure_log`): appends each failed test to
the JSON-lines file $MUTATION_FAILURE_LOG the moment it fails, so that the harness can
stop a suite at its first failure and time it, without waiting for pytest to finish
(or for a worker stuck in a hung engine call to reach its timeout)."""

from __future__ import annotations

import json
import os
import time


def _message(report) -> str:
    """The exception line of a failure ("E   AssertionError: ..."), else its last line."""
    lines = report.longreprtext.strip().splitlines()
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    return (errors[0] if errors else lines[-1] if lines else "")[:300]


def pytest_runtest_logreport(report) -> None:
    path = os.environ.get("MUTATION_FAILURE_LOG")
    # Under pytest-xdist the controller sees every worker's reports: record them there only.
    if not path or not report.failed or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    entry = {"test": report.nodeid, "when": report.when, "message": _message(report), "time": time.time()}
    with open(path, "a") as log:
        log.write(json.dumps(entry) + "\n")
