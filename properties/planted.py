"""A planted bug for the campaign's own tests (properties/test_campaign.py).

A fake property that fails when one sender sends three consecutive transactions that
each call a contract: reachable (about one `generic` block in 13) but not immediate, so
a campaign has to search, then shrink and save it like a real failure. Only
``python -m properties.campaign --planted`` runs it, and only with a ``--corpus`` other
than properties/regressions/; pytest never collects it (not a ``test_*.py`` file).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from .blocks import scenarios
from .checks import PLANTED, run_engine
from .test_properties import DEADLINE_MS, HEALTH, PARALLEL_MAX_TXS, budget, label, report

MODES = ("generic",)


def planted_problems(fixture: dict) -> list[str]:
    code = {address.lower() for address, account in fixture["pre"].items()
            if (account.get("code") or "0x") != "0x"}
    txs = fixture["transactions"]
    for i in range(len(txs) - 2):
        window = txs[i:i + 3]
        if len({tx["sender"].lower() for tx in window}) == 1 \
                and all((tx.get("to") or "").lower() in code for tx in window):
            return [f"planted: transactions {i}..{i + 2} are contract calls from one sender"]
    return []


@settings(max_examples=budget("invariants"), deadline=DEADLINE_MS["invariants"],
          suppress_health_check=HEALTH)
@given(data=st.data())
def test_planted(mode, data):
    scenario = data.draw(scenarios(mode, max_txs=PARALLEL_MAX_TXS), label="block")
    label(scenario, run_engine(scenario.fixture, "sequential"))
    report(PLANTED, scenario, planted_problems(scenario.fixture))
