"""A campaign says when its time was too short: the coverage line, the report's table
of targets not reached, and exit status 2 (1 stays for failures)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from properties import campaign
from properties.blocks import MODES
from properties.checks import PROPERTIES

REPO = Path(__file__).resolve().parent.parent


def finished(tmp_path: Path, examples: Counter, failures=(), *args: str) -> dict:
    """A campaign whose workers reported `examples`, summarised and written as at its end."""
    c = campaign.Campaign(campaign.parse_args(["--seconds", "30", "--workers", "1", "--seed", "1",
                                               "--run-examples", "5", "--report-dir", str(tmp_path), *args]))
    c.started, c.started_wall, c.stop_reason, c.exit_codes = time.monotonic() - 30, time.time() - 30, "deadline", {0: 0}
    c.progress = {0: campaign.Progress(0, 1, examples=examples, failures=list(failures))}
    c.tick(final=True)
    summary = c.summary()
    campaign.write_report(tmp_path, summary)
    return summary


def test_every_target_reached(tmp_path):
    summary = finished(tmp_path, Counter({(p, m): 5 for p in PROPERTIES for m in MODES}))
    targets = len(PROPERTIES) * len(MODES)
    assert summary["coverage"] == {"min_examples": 5, "targets": targets, "reached": targets, "failed_targets": 0,
                                   "short": []}
    assert campaign.verdict(summary) == "ok" and campaign.exit_status(summary) == 0
    report = (tmp_path / "report.md").read_text()
    assert f"- coverage: {targets} of {targets} targets reached 5 examples\n" in report and "Not reached" not in report


def test_a_short_campaign_is_incomplete(tmp_path):
    """What a 30-second campaign looked like: one property, six of its modes."""
    examples = Counter({("parallel_equals_sequential", m): 9 for m in MODES[:6]})
    summary = finished(tmp_path, examples)
    coverage = summary["coverage"]
    targets = len(PROPERTIES) * len(MODES)
    assert (coverage["reached"], coverage["targets"], len(coverage["short"])) == (6, targets, targets - 6)
    assert campaign.verdict(summary) == "INCOMPLETE" and campaign.exit_status(summary) == 2
    line = campaign.coverage_line(coverage)
    assert line.startswith(f"coverage: 6 of {targets} targets reached 5 examples "
                           f"(short: parallel_equals_sequential/{MODES[6]} 0")
    assert line.endswith(f", {targets - 6 - 6} more)")
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("# Fuzz campaign ") and ": INCOMPLETE\n" in report.splitlines()[0] + "\n"
    assert "## Not reached (fewer than 5 examples)" in report
    assert "| invariants | redeploy | 0 |" in report
    assert json.loads((tmp_path / "report.json").read_text())["coverage"] == coverage


def test_a_failure_outranks_coverage_and_its_target_is_not_judged(tmp_path):
    failure = {"property": "invariants", "mode": "nonces", "fixture": None, "worker": 0, "worker_seed": 1,
               "run_seed": 2, "found_after_examples": 1, "found_at_s": 3.0, "shrunk": True, "error": "boom"}
    examples = Counter({(p, m): 5 for p in PROPERTIES for m in MODES})
    examples[("invariants", "nonces")] = 1
    summary = finished(tmp_path, examples, [failure], "--min-examples", "5")
    assert summary["coverage"]["targets"] == len(PROPERTIES) * len(MODES) - 1
    assert summary["coverage"]["failed_targets"] == 1
    assert summary["coverage"]["short"] == []
    assert campaign.verdict(summary) == "FAILED" and campaign.exit_status(summary) == 1


def test_bad_min_examples_is_an_error():
    with pytest.raises(SystemExit):
        campaign.parse_args(["--seconds", "1", "--min-examples", "-1"])


@pytest.mark.timeout(120)
def test_a_real_short_campaign_exits_2(tmp_path):
    """Five seconds, one worker, a minimum no target can reach in that time."""
    proc = subprocess.run([sys.executable, "-m", "properties.campaign", "--seconds", "5", "--workers", "1",
                           "--properties", "invariants", "--run-examples", "5", "--min-examples", "100000",
                           "--seed", "1", "--corpus", str(tmp_path / "corpus"), "--database", str(tmp_path / "db"),
                           "--report-dir", str(tmp_path / "report")],
                          cwd=REPO, capture_output=True, text=True, timeout=110)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("campaign INCOMPLETE: 0 failures, ") and f"coverage: 0 of {len(MODES)} targets reached 100000 examples" in last
