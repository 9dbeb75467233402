"""One ethereum/tests GeneralStateTests case, converted by hand: the state root and
the logs hash equal the ones the test was filled with."""

from __future__ import annotations

import json

import pytest

import blockstm
from conformance.data import find_state_tests, in_ci


def test_add11_cancun_state_root_matches_its_hash():
    lookup = find_state_tests()
    if lookup.path is None:
        (pytest.fail if in_ci() else pytest.skip)(lookup.describe_missing())
    folder = lookup.path
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
