"""One ethereum/tests GeneralStateTests case, converted by hand: the state root and
the logs hash equal the ones the test was filled with."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import blockstm

REPO = Path(__file__).resolve().parent.parent


def state_tests_dir() -> Path | None:
    candidates = [os.environ.get("ETHEREUM_TESTS"), REPO / "ethereum-tests", REPO.parent / "shared" / "ethereum-tests"]
    for root in filter(None, candidates):
        for sub in ("Cancun/GeneralStateTests", "GeneralStateTests"):
            if (Path(root) / sub).is_dir() and any((Path(root) / sub).iterdir()):
                return Path(root) / sub
    return None


def test_add11_cancun_state_root_matches_its_hash():
    folder = state_tests_dir()
    if folder is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ethereum/tests data not found (set ETHEREUM_TESTS)")
        pytest.skip("ethereum/tests data not found")
    test = json.loads((folder / "stExample" / "add11.json").read_text())["add11"]
    t = test["transaction"]
    (post,) = test["post"]["Cancun"]
    idx = post["indexes"]
    fixture = {
        "fork": "Cancun",
        "env": {k: v for k, v in test["env"].items() if k != "currentBeaconRoot" and k.startswith("current")},
        "pre": test["pre"],
        "transactions": [{
            "secretKey": t["secretKey"], "to": t["to"], "nonce": t["nonce"],
            "data": t["data"][idx["data"]], "gasLimit": t["gasLimit"][idx["gas"]],
            "value": t["value"][idx["value"]], "gasPrice": t["gasPrice"],
        }],
    }
    for key in list(fixture["env"]):
        if key not in ("currentCoinbase", "currentNumber", "currentTimestamp", "currentGasLimit",
                       "currentBaseFee", "currentRandom", "currentDifficulty", "currentExcessBlobGas"):
            del fixture["env"][key]
    res = blockstm.execute(fixture)
    assert res.state_root == post["hash"]
    assert res.logs_hash == post["logs"]
