"""`python -m conformance sweep` end to end, in subprocesses: a small folder passes with
the right summary, a wrong expectation is a failure with a reproducible id, a hung item
fails on its timeout without stalling the sweep, and the selection flags select what
the pytest runner would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import data, plugin, statetests, sweep

REPO = data.REPO_ROOT


@pytest.fixture(scope="module")
def gst() -> Path:
    lookup = data.find_state_tests()
    if lookup.path is None:
        plugin.missing_data(lookup)
    plugin.require_engine()
    return lookup.path


def _sweep(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "conformance", "sweep", "-q", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _total_row(stdout: str) -> list[int]:
    line = next(line for line in stdout.splitlines() if line.startswith("total "))
    return [int(x) for x in line.split()[1:]]


def test_small_folder_passes_in_both_modes(gst, tmp_path):
    n_cases = sum(1 for ref in statetests.load_index(gst, data.cache_dir()) if ref.folder == "stExample")
    out = tmp_path / "sweep.json"
    proc = _sweep("stExample", "--workers", "2", "--json", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # passed / failed / xfailed for seq, then par
    assert _total_row(proc.stdout) == [n_cases, 0, 0, n_cases, 0, 0]
    assert f"{2 * n_cases} items: all passed" in proc.stdout
    assert re.search(r"^Cancun +\d+ +0 +0 +\d+ +0 +0$", proc.stdout, re.M)
    result = json.loads(out.read_text())
    assert result["exit_status"] == 0 and not result["failures"]
    ids = {item[0] for item in result["items"]}
    assert len(ids) == 2 * n_cases
    assert "test_state[stExample/add11.json::add11[Cancun-d0g0v0]-seq]" in ids
    assert "test_state[stExample/add11.json::add11[Cancun-d0g0v0]-par]" in ids


def test_wrong_expectation_fails_with_a_rerunnable_id(gst, tmp_path):
    """A copy of add11.json whose Cancun expectation is corrupted: exactly that case
    fails, in both modes, and the printed id reruns it."""
    corpus = tmp_path / "GeneralStateTests"
    (corpus / "stExample").mkdir(parents=True)
    fixture = json.loads((gst / "stExample" / "add11.json").read_text())
    post = fixture["add11"]["post"]
    post["Cancun"][0]["hash"] = "0x" + "00" * 32
    (corpus / "stExample" / "add11.json").write_text(json.dumps(fixture))
    n_cases = sum(len(entries) for entries in post.values())

    proc = _sweep("--ethereum-tests", str(corpus), "--no-index-cache", "--workers", "2")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    bad = "stExample/add11.json::add11[Cancun-d0g0v0]"
    for mode in ("seq", "par"):
        assert f"FAILED test_state[{bad}-{mode}]" in proc.stdout
    assert "state root: expected 0x" + "00" * 32 in proc.stdout
    assert _total_row(proc.stdout) == [n_cases - 1, 1, 0, n_cases - 1, 1, 0]
    assert f"{2 * n_cases} items: 2 failed" in proc.stdout

    # The rerun line the sweep prints reproduces the failure.
    rerun = re.search(r"rerun: python -m conformance (.*) run '(test_state\[.*-seq\])'", proc.stdout)
    assert rerun is not None
    repro = subprocess.run([sys.executable, "-m", "conformance", *rerun[1].split(), "run", rerun[2]],
                           cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
                           capture_output=True, text=True, timeout=60)
    assert repro.returncode == 1 and "state root: expected 0x" + "00" * 32 in repro.stdout


def test_a_hung_item_fails_on_its_timeout(gst):
    """CALLBlake2f_MaxRounds takes ~47 s a run: with a 2 s timeout its worker is killed,
    the item fails, and a new worker finishes the rest."""
    refs = statetests.load_index(gst, data.cache_dir())
    n_add11 = sum(1 for r in refs if r.relpath == "stExample/add11.json" and r.fork == "Cancun")
    proc = _sweep("stTimeConsuming/CALLBlake2f_MaxRounds.json", "stExample/add11.json",
                  "--fork", "Cancun", "--mode", "seq", "--timeout", "2", "--workers", "1", timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    slow = "test_state[stTimeConsuming/CALLBlake2f_MaxRounds.json::CALLBlake2f_MaxRounds[Cancun-d0g0v0]-seq]"
    assert f"FAILED {slow}" in proc.stdout
    assert "timeout: no verdict after 2 s" in proc.stdout
    assert "workers restarted: 1" in proc.stdout
    assert "FAILED test_state[stExample/add11.json" not in proc.stdout
    assert _total_row(proc.stdout) == [n_add11, 1, 0]


def test_selection_matches_the_pytest_runner(gst):
    refs = statetests.load_index(gst, data.cache_dir())
    example = [r for r in refs if r.folder == "stExample"]
    # -k is pytest's: mode keywords, forks, and/or/not.
    items = sweep.select(example, keyword="sequential and Cancun and not add11")
    assert items and all(m == "seq" and r.fork == "Cancun" and "add11" not in r.id for r, m in items)
    assert sweep.select(example, keyword="Cancun", modes=("par",)) == [(r, "par") for r in example if r.fork == "Cancun"]
    # --exclude-slow is -m "not slow"; the slow cases carry the "slow" keyword as in pytest.
    slow_refs = [r for r in refs if r.relpath == "VMTests/vmPerformance/loopMul.json"][:2]
    assert sweep.select(slow_refs, exclude_slow=True) == []
    assert sweep.select(slow_refs, keyword="slow") == [(r, m) for r in slow_refs for m in sweep.MODES]
    # --revme-set: what revme statetest runs (docs/conformance.md: 100,701 cases).
    revme = [r for r in refs if sweep.in_revme_set(r)]
    assert len(revme) == 100_701 or len(refs) != 101_161
    assert not any(r.fork == "Constantinople" or "CALLBlake2f_MaxRounds" in r.relpath for r in revme)


def test_known_failures_are_strict_xfails(monkeypatch):
    """A listed case that fails is xfailed; one that passes is an XPASS, a failure."""
    ref = statetests.CaseRef("stExample/add11.json", "add11", "add11", "Cancun", 0, 0, 0, 0)
    monkeypatch.setattr(sweep.known_failures, "state_reason", lambda r, m: "a debt" if m == "par" else None)
    assert sweep.verdict(ref, "par", ["case: x", "state root: ..."]) == ("xfailed", None)
    assert sweep.verdict(ref, "par", []) == ("xpassed", "[XPASS(strict)] a debt")
    assert sweep.verdict(ref, "seq", []) == ("passed", None)
    assert sweep.verdict(ref, "seq", ["a", "b"]) == ("failed", "a\nb")
    report = sweep.Report()
    report.add(ref, "par", "xpassed", 0.1, "[XPASS(strict)] a debt")
    assert report.failed == 1 and report.failures == [(sweep.item_id(ref, "par"), "[XPASS(strict)] a debt")]


def test_a_crashed_worker_fails_its_item_and_the_sweep_goes_on(gst):
    """SIGKILL one worker mid-run (as a crash in the extension would end it): its item
    fails with the reason, a new worker runs the rest."""
    import signal
    import time

    folders = ("stRandom", "stRandom2")
    n = sum(1 for ref in statetests.load_index(gst, data.cache_dir()) if ref.folder in folders)
    proc = subprocess.Popen([sys.executable, "-m", "conformance", "sweep", "-q", *folders, "--mode", "seq",
                             "--workers", "1"], cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        worker = None
        deadline = time.monotonic() + 30
        while worker is None and time.monotonic() < deadline:
            time.sleep(0.2)
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            for pid in children:  # the worker, not multiprocessing's resource tracker
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    worker = int(pid)
        assert worker is not None, "no worker process appeared"
        # Kill it well into the cases: after 1.5 s of CPU (start-up takes ~0.4 s, the
        # two folders ~4 s).
        while time.monotonic() < deadline:
            fields = Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()
            if (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") >= 1.5:
                break
            time.sleep(0.05)
        os.kill(worker, signal.SIGKILL)
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, out
    passed, failed, _ = _total_row(out)
    assert failed >= 1 and passed + failed == n, out
    assert "the worker died (exit code -9)" in out
    assert "workers restarted: 1" in out


def test_paths_outside_the_corpus_run_as_they_are(gst, tmp_path):
    """Like `revme statetest PATH`: a folder elsewhere on disk is its own corpus. Inside a
    folder named GeneralStateTests, ids are relative to it (so known failures apply) and
    the rerun line points `run` there; only the given paths are indexed."""
    corpus = tmp_path / "GeneralStateTests"
    (corpus / "stExample").mkdir(parents=True)
    fixture = json.loads((gst / "stExample" / "add11.json").read_text())
    fixture["add11"]["post"]["Cancun"][0]["hash"] = "0x" + "00" * 32
    (corpus / "stExample" / "add11.json").write_text(json.dumps(fixture))
    (corpus / "stOther").mkdir()
    (corpus / "stOther" / "broken.json").write_text("not json")  # not selected: never read
    proc = _sweep(str(corpus / "stExample"), "--mode", "seq", "--workers", "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    bad = "test_state[stExample/add11.json::add11[Cancun-d0g0v0]-seq]"
    assert f"FAILED {bad}" in proc.stdout
    assert f"rerun: python -m conformance --ethereum-tests {corpus} run '{bad}'" in proc.stdout
    # A file of the real corpus given by its path on disk is the corpus's own case.
    proc = _sweep(str(gst / "stExample" / "add11.json"), "--mode", "seq", "--workers", "1")
    assert proc.returncode == 0 and "items: all passed" in proc.stdout
    proc = _sweep(str(corpus / "stOther"), "--workers", "1")
    assert proc.returncode == 1 and "broken.json: not a state test" in proc.stderr
