"""Root pytest configuration: shared options, hypothesis profiles, engine-call helpers.

Plugins: `conformance.plugin` adds the corpus options (--ethereum-tests,
--mainnet-blocks, --engine-threads, --rerun-parallel, --state-tests-sample).
Here: --test-threads N, an alias of pytest-xdist's -n.
"""

from __future__ import annotations

import os

import pytest
from xdist.plugin import parse_numprocesses

pytest_plugins = []
if os.path.exists(os.path.join(os.path.dirname(__file__), "conformance", "plugin.py")):
    pytest_plugins.append("conformance.plugin")


def pytest_addoption(parser: pytest.Parser) -> None:
    # `cargo test -- --test-threads N` spelled for pytest: it stores into pytest-xdist's own
    # `-n` option (same dest), so xdist starts N workers exactly as with `-n N`.
    parser.getgroup("blockstm").addoption(
        "--test-threads", dest="numprocesses", metavar="N", type=parse_numprocesses,
        help="test worker processes: an alias of pytest-xdist's -n (N, auto or 0). Workers x "
             "--engine-threads <= cores is the rule of thumb (docs/campaigns.md)")


# ---- Hypothesis profiles (properties/, docs/properties.md) ---------------------------------
# Pick one with `--hypothesis-profile=NAME` or HYPOTHESIS_PROFILE=NAME (default: dev).
# max_examples is the budget of each property test; properties/test_properties.py
# scales it per property (the EELS reference gets half).
from pathlib import Path as _Path

from hypothesis import HealthCheck as _HealthCheck
from hypothesis import Phase as _Phase
from hypothesis import settings as _settings
from hypothesis.database import DirectoryBasedExampleDatabase as _DirectoryDatabase

# Failing examples are kept here and replayed first by every profile that has a
# database (the shrunk block also goes to properties/regressions/ as JSON).
_HYPOTHESIS_DB = _DirectoryDatabase(str(_Path(__file__).resolve().parent / ".hypothesis" / "examples"))
_SLOW_OK = [_HealthCheck.too_slow, _HealthCheck.data_too_large]

# dev: quick local runs, random, remembers failures.
_settings.register_profile("dev", max_examples=20, database=_HYPOTHESIS_DB,
                           suppress_health_check=_SLOW_OK)
# gate: the pre-merge gate; the same examples every run (derandomize implies no
# database), bounded: the properties suite takes about a minute on 2 cores. No shrink
# phase: a failure fails the gate at once (its block is already in
# properties/regressions/); shrinking a rare race can take Hypothesis minutes.
_settings.register_profile("gate", max_examples=80, derandomize=True, print_blob=True,
                           phases=[_Phase.explicit, _Phase.reuse, _Phase.generate, _Phase.target],
                           suppress_health_check=_SLOW_OK)
# ci: `make test`; random (new examples every run), with the database, a few minutes.
_settings.register_profile("ci", max_examples=150, database=_HYPOTHESIS_DB, print_blob=True,
                           suppress_health_check=_SLOW_OK)
# nightly: long campaigns; persistent database, so what one night finds the next replays.
_settings.register_profile("nightly", max_examples=1500, database=_HYPOTHESIS_DB, print_blob=True,
                           suppress_health_check=_SLOW_OK)
_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
