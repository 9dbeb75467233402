"""ethereum/tests GeneralStateTests, every case in both modes.

Item ids: ``test_state[<file>::<test>[<fork>-d<i>g<j>v<k>]-<seq|par>]``; select with
``-k`` by folder, file, test or fork (``-k "stExample and Cancun"``). A case passes when
the post-state root equals `hash` and the logs hash equals `logs`, or, for an invalid
transaction, when the engine rejects it with a kind that conformance/exceptions.py
accepts for its `expectException`; a valid case's block access list must equal the
sequential run's and be accepted by a run with it (``checks.check_access_list``). The
items are made by conformance/plugin.py.
"""

from __future__ import annotations

import pytest

from conformance import checks, plugin


@plugin.state_cases
def test_state(ref, mode, conformance):
    if ref is None:
        plugin.missing_data(conformance.state_lookup)
    engine = plugin.require_engine()
    case = conformance.state_case(ref)
    outcome = checks.execute(engine, case.fixture_json, mode, conformance.threads)
    failures = checks.check_state_case(case, mode, outcome)
    if not failures and outcome.result is not None:
        failures = checks.check_access_list(engine, case.fixture_json, mode, conformance.threads, outcome.result)
        failures = [f"case:  {case.ref.id}", f"mode:  {checks.MODE_NAMES[mode]}", *failures] if failures else []
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
