"""Hypothesis-generated adversarial blocks (docs/properties.md).

Four properties, each over every generator mode (properties/blocks.py):

1. parallel == sequential (2..8 threads, ``parallel_threshold=0``): receipts,
   tx_changes, post-state, roots, bloom, and the same exception (type, index, kind);
2. sequential == the EELS reference (blocks of at most 16 transactions);
3. invariants that need no oracle (properties/checks.py: ``check_invariants``);
4. block access lists (``check_access_list``): BAL(sequential) == BAL(parallel); the
   block executed with its own list gives the sequential result without re-execution
   (unless it resets an account);
   the list's writes are the transactions' changes; every mutation of the list is
   rejected, identically in both modes, and changes nothing as a hint.

A counterexample is shrunk, then written to properties/regressions/ as a block
fixture that test_regressions.py replays in every run. The example budget comes
from the Hypothesis profile (conftest.py: dev, gate, ci, nightly).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Optional, Sequence

import pytest
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st
from hypothesis.control import current_build_context

blockstm = pytest.importorskip("blockstm")  # checks.py needs the engine

from .blocks import MODES, Scenario, scenarios  # noqa: E402
from .checks import (  # noqa: E402
    Outcome,
    check_access_list,
    check_invariants,
    check_parallel,
    check_reference,
    observed_features,
    run_engine,
    save_regression,
)


# Examples per test = the profile's max_examples x this weight (the reference is the
# slow part: EELS interprets ~0.5 Mgas/s).
WEIGHTS = {"parallel": 1.0, "reference": 0.5, "invariants": 0.5, "access_list": 0.3}
PARALLEL_MAX_TXS = 24
# Parallel runs per drawn thread count: a run costs milliseconds, generating the block
# ~50 ms, and a race shows up only in some schedules.
PARALLEL_REPEATS = 3
REFERENCE_MAX_TXS = 16
# The parallel property draws thread counts from 2..MAX_THREADS (campaigns: --engine-threads).
MAX_THREADS = 8

# A deadline only a pathological example can hit (blocks take milliseconds; the
# reference ~30-100 ms): it flags engine slowdowns without flaking on a busy machine.
DEADLINE_MS = {"parallel": 10_000, "reference": 30_000, "invariants": 10_000, "access_list": 20_000}

HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def budget(kind: str) -> int:
    return max(1, round(settings().max_examples * WEIGHTS[kind]))


def timeout_for(kind: str) -> int:
    # pytest-timeout (thread method) is the outer guard; the engine call has its own
    return max(600, 4 * budget(kind))


# Called after each example with its event labels and parallel runs: properties/campaign.py
# counts examples, events and re-executions through it. None under pytest.
example_hook: Optional[Callable[[list[str], Sequence[Outcome]], None]] = None


def label(scenario: Scenario, seq: Outcome, runs=()) -> None:
    events = [f"drawn: {feature}" for feature in sorted(scenario.features)]
    events += [f"observed: {feature}" for feature in sorted(observed_features(scenario.fixture, seq, runs))]
    for name in events:
        event(name)
    if example_hook is not None:
        example_hook(events, runs)


# fixture+threads digest -> the problems a parallel run showed (see the parallel test)
_RACES: dict[str, list[str]] = {}
# (property, mode) -> the corpus file of the counterexample being shrunk in this run
_SAVED: dict[tuple[str, str], tuple[Path, int]] = {}


def report(prop: str, scenario: Scenario, problems: list[str], **extra) -> None:
    """Fail with the problems, and keep the block in the regression corpus: the
    first failure is saved at once (a race may never fail again, and Hypothesis then
    stops with a Flaky error), then overwritten by each smaller failure the shrinker
    finds and by the final replay."""
    if not problems:
        return
    key = (prop, scenario.mode)
    size = len(json.dumps(scenario.fixture))
    final = current_build_context().is_final
    saved = _SAVED.get(key)
    if saved is None:
        path = save_regression(scenario.fixture, prop, problems, **extra)
        _SAVED[key] = (path, size)
    else:
        path = saved[0]
        if final or size <= saved[1]:
            save_regression(scenario.fixture, prop, problems, path=path, **extra)
            _SAVED[key] = (path, size)
    raise AssertionError(f"{prop} violated ({len(problems)} problems):\n  "
                         + "\n  ".join(problems) + f"\ncounterexample: {path}")


def threads_lists():
    return st.lists(st.integers(2, MAX_THREADS), min_size=1, max_size=2, unique=True)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.timeout(timeout_for("parallel"))
@settings(max_examples=budget("parallel"), deadline=DEADLINE_MS["parallel"],
          suppress_health_check=HEALTH)
@given(data=st.data())
def test_parallel_equals_sequential(mode, data):
    scenario = data.draw(scenarios(mode, max_txs=PARALLEL_MAX_TXS), label="block")
    threads = data.draw(threads_lists(), label="threads")
    seq = run_engine(scenario.fixture, "sequential")
    key = hashlib.sha256(json.dumps([scenario.fixture, threads], sort_keys=True).encode()).hexdigest()
    if key in _RACES:
        # A race seldom repeats on demand: Hypothesis replaying this very example
        # (to confirm it, or as the final report) gets the failure seen before,
        # instead of stopping with a Flaky error. Shrinking still needs every
        # smaller candidate to fail on its own.
        problems, runs = _RACES[key], []
    else:
        problems, runs = check_parallel(scenario.fixture, threads, seq, repeats=PARALLEL_REPEATS)
        if problems:
            _RACES[key] = [p + "  (first seen in this run)" for p in problems]
    label(scenario, seq, runs)
    stats = [r.result.stats for r in runs if r.ok]
    # steer towards conflict-heavy blocks
    target(float(max((s["reexecutions"] for s in stats), default=0)), label="reexecutions")
    target(float(max((s["validation_failures"] for s in stats), default=0)),
           label="validation failures")
    report("parallel_equals_sequential", scenario, problems, threads=threads)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.timeout(timeout_for("reference"))
@settings(max_examples=budget("reference"), deadline=DEADLINE_MS["reference"],
          suppress_health_check=HEALTH)
@given(data=st.data())
def test_sequential_equals_reference(mode, data):
    scenario = data.draw(scenarios(mode, max_txs=REFERENCE_MAX_TXS), label="block")
    seq = run_engine(scenario.fixture, "sequential")
    label(scenario, seq)
    report("sequential_equals_reference", scenario, check_reference(scenario.fixture, seq))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.timeout(timeout_for("invariants"))
@settings(max_examples=budget("invariants"), deadline=DEADLINE_MS["invariants"],
          suppress_health_check=HEALTH)
@given(data=st.data())
def test_invariants(mode, data):
    scenario = data.draw(scenarios(mode, max_txs=PARALLEL_MAX_TXS), label="block")
    seq = run_engine(scenario.fixture, "sequential")
    label(scenario, seq)
    problems = check_invariants(scenario.fixture, seq)
    if seq.error is not None and not isinstance(seq.error, blockstm.InvalidTransaction):
        problems.append(f"sequential: {seq.describe_error()}")
    report("invariants", scenario, problems)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.timeout(timeout_for("access_list"))
@settings(max_examples=budget("access_list"), deadline=DEADLINE_MS["access_list"],
          suppress_health_check=HEALTH)
@given(data=st.data())
def test_access_list(mode, data):
    scenario = data.draw(scenarios(mode, max_txs=PARALLEL_MAX_TXS), label="block")
    threads = data.draw(st.integers(2, MAX_THREADS), label="threads")
    pick = data.draw(st.integers(0, 2**16), label="mutation pick")
    seq = run_engine(scenario.fixture, "sequential")
    label(scenario, seq)
    report("access_list", scenario, check_access_list(scenario.fixture, threads, seq, pick), threads=[threads])
