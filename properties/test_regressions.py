"""The regression corpus: every counterexample the properties ever found, replayed
against the property it broke (its ``_property`` key) in every test run. A file
here fails until the bug is fixed; then it stays, as a test."""

from __future__ import annotations

import json

import pytest

blockstm = pytest.importorskip("blockstm")  # checks.py needs the engine

from .checks import PROPERTIES, REGRESSIONS, replay  # noqa: E402

FILES = sorted(REGRESSIONS.glob("*.json"))
# Parallel counterexamples are races: each thread count gets this many schedules
# (about a second per file; a race seen once in a few thousand runs shows up often).
REPLAY_REPEATS = 300


def test_corpus_is_well_formed():
    assert (REGRESSIONS / "README.md").is_file()
    for path in FILES:
        fixture = json.loads(path.read_text())
        assert fixture.get("_property") in PROPERTIES, f"{path.name}: _property"
        assert fixture.get("_replay"), f"{path.name}: _replay"
        assert {"fork", "env", "pre", "transactions"} <= set(fixture), path.name


# Open engine bugs a file reproduces, as {stem: reason}: races fail in some schedules only,
# so the xfail is not strict. Each is a debt; delete the entry when the bug is fixed.
OPEN_BUGS: dict[str, str] = {}


def _param(path):
    reason = OPEN_BUGS.get(path.stem)
    marks = [pytest.mark.xfail(strict=False, reason=reason)] if reason else []
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", [_param(p) for p in FILES])
def test_regression(path):
    fixture = json.loads(path.read_text())
    problems = replay(fixture, repeats=REPLAY_REPEATS)
    assert not problems, f"{path.name} ({fixture['_property']}):\n  " + "\n  ".join(problems)
