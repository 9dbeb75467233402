"""Generation itself: determinism, sizes, fixture well-formedness, CLI, speed.
No engine needed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import defaultdict

import pytest

import generators
from generators.__main__ import main as cli_main
from generators.builder import BASE_FEE

from .conftest import CASES, SMALL_CASES, case_id

HEX = re.compile(r"^0x[0-9a-f]*$")
ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")


def assert_well_formed(fixture: dict) -> None:
    # Cancun, except the EIP-7702 wallet traffic (Prague: accounts delegated in the pre-state)
    delegated = any(a.get("code", "").startswith("0xef0100") for a in fixture["pre"].values())
    assert fixture["fork"] == ("Prague" if delegated else "Cancun")
    env = fixture["env"]
    for key in ("currentCoinbase", "currentNumber", "currentTimestamp", "currentGasLimit",
                "currentBaseFee", "currentRandom"):
        assert HEX.match(env[key]), key
    assert int(env["currentBaseFee"], 16) == BASE_FEE
    for address, account in fixture["pre"].items():
        assert ADDRESS.match(address)
        assert HEX.match(account["balance"]) and HEX.match(account["nonce"])
        for slot, value in account.get("storage", {}).items():
            assert HEX.match(slot) and HEX.match(value) and int(value, 16) > 0
    next_nonce: dict[str, int] = {}
    total_limit = 0
    for tx in fixture["transactions"]:
        assert ADDRESS.match(tx["sender"]) and ADDRESS.match(tx["to"])
        sender = tx["sender"]
        if sender not in next_nonce:
            next_nonce[sender] = int(fixture["pre"].get(sender, {"nonce": "0x0"})["nonce"], 16)
        assert int(tx["nonce"], 16) == next_nonce[sender], "nonces must be consecutive in block order"
        next_nonce[sender] += 1
        assert int(tx["maxFeePerGas"], 16) >= BASE_FEE + int(tx["maxPriorityFeePerGas"], 16)
        total_limit += int(tx["gasLimit"], 16)
    assert int(env["currentGasLimit"], 16) >= total_limit


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_well_formed_and_deterministic(case):
    family, knobs = case
    first = generators.generate(family, txs=50, seed=11, **knobs)
    assert_well_formed(first)
    assert len(first["transactions"]) == 50
    assert generators.generate(family, txs=50, seed=11, **knobs) == first
    assert generators.generate(family, txs=50, seed=12, **knobs) != first


@pytest.mark.parametrize("txs,kind", SMALL_CASES)
def test_small(txs, kind):
    fixture = generators.small(txs, seed=1, kind=kind)
    assert_well_formed(fixture)
    assert len(fixture["transactions"]) == txs


def test_family_functions_match_generate():
    assert generators.erc20(20, seed=3, pattern="clusters") == generators.generate("erc20", 20, 3, pattern="clusters")
    assert generators.transfers(gas=210_000) == generators.generate("transfers", txs=10)


def test_gas_target_sizing():
    fixture = generators.generate("transfers", gas=1_000_000_000)
    assert len(fixture["transactions"]) == 47_620
    assert int(fixture["env"]["currentGasLimit"], 16) >= 47_620 * 21_000
    swaps = generators.generate("amm", gas=10_000_000, pattern="hot")
    assert len(swaps["transactions"]) == -(-10_000_000 // generators.GAS_PER_TX[("amm", "hot")])


def test_cluster_shape():
    gen = generators.build("erc20", None, 0, pattern="clusters", clusters=3, families=2, people=3, transfers=2)
    assert len(gen.drafts) == 3 * 2 * 3 * 2
    per_token = defaultdict(set)
    for draft in gen.drafts:
        _, token, sender, recipient, _ = draft.op
        per_token[token.address].update((sender, recipient))
    assert len(per_token) == 3 and all(len(people) == 6 for people in per_token.values())


def test_conflict_knobs_shape_the_block():
    hot = generators.build("transfers", 30, 0, pattern="hot")
    assert len({d.to for d in hot.drafts}) == 1
    chain = generators.build("transfers", 30, 0, pattern="chain", chain_length=10)
    assert len({d.sender for d in chain.drafts}) == 3
    pool = generators.build("amm", 30, 0, pattern="hot")
    assert len(pool.pools) == 1
    independent = generators.build("amm", 30, 0)
    assert len(independent.pools) == 30
    last = generators.build("beneficiary", 30, 0, mode="last")
    assert [d.op[0] for d in last.drafts].count("probe") == 1 and last.drafts[-1].op[0] == "probe"
    every = generators.build("beneficiary", 30, 0, mode="balance", every=3)
    assert [d.op[0] for d in every.drafts].count("probe") == 10
    sends = generators.build("beneficiary", 30, 0, mode="sends", every=5)
    assert sum(d.sender == sends.coinbase for d in sends.drafts) == 6


def test_bad_arguments():
    with pytest.raises(ValueError):
        generators.generate("nope", txs=1)
    with pytest.raises(ValueError):
        generators.generate("transfers")
    with pytest.raises(ValueError):
        generators.generate("transfers", txs=5, pattern="sideways")
    with pytest.raises(ValueError):
        generators.small(3)


def test_cli_writes_the_same_fixture(tmp_path, capsys):
    out = tmp_path / "block.json"
    assert cli_main(["erc20", "--txs", "12", "--seed", "5", "--pattern", "transfer_from",
                     "-k", "owners=2", "-o", str(out)]) == 0
    assert json.loads(out.read_text()) == generators.generate("erc20", 12, 5, pattern="transfer_from", owners=2)
    assert cli_main(["small", "--txs", "2"]) == 0
    assert json.loads(capsys.readouterr().out) == generators.small(2)


def test_cli_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "generators", "beneficiary", "--txs", "3", "--pattern", "last"],
                          capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(proc.stdout) == generators.generate("beneficiary", 3, mode="last")


@pytest.mark.timeout(120)
def test_gigagas_transfer_block_generates_in_seconds():
    generators.generate("transfers", txs=10)   # compile cache warm
    start = time.perf_counter()
    fixture = generators.generate("transfers", txs=47_620)
    json.dumps(fixture)
    assert time.perf_counter() - start < 10
