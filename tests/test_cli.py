"""The `blockstm` console script, run as a user runs it: a subprocess of the installed
entry point (and `python -m blockstm`), its output, exit status and one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import blockstm
from conformance import data, plugin
from tests.blocks import ALICE, BOB, block, tx
from tests.test_rpc import block_trace, creation_traces, rpc_block, rpc_tx

SCRIPT = Path(sys.executable).with_name("blockstm")  # what [project.scripts] installed
pytestmark = pytest.mark.timeout(120)


def cli(*args: str, stdin: bytes | None = None, cwd: Path | None = None, env: dict | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], input=stdin, capture_output=True, timeout=timeout, cwd=cwd,
                          env=env)


def text(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.decode() + proc.stderr.decode()


def write(tmp_path: Path, name: str, value) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value))
    return str(path)


def test_the_console_script_is_installed():
    assert SCRIPT.is_file(), "make build installs the [project.scripts] entry point"
    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.decode().strip() == f"blockstm {blockstm.__version__}"
    module = subprocess.run([sys.executable, "-m", "blockstm", "--version"], capture_output=True, timeout=60)
    assert module.returncode == 0 and module.stdout == proc.stdout


@pytest.mark.parametrize("command,words", [
    ([], ["run", "rpc", "statetest", "blocktest", "Exit status"]),
    (["run"], ["FIXTURE", "--mode", "--threads", "--json", "- reads stdin", "examples:"]),
    (["rpc"], ["--prestate", "prestateTracer", "diffMode", "receiptsRoot", "--chain-id"]),
    (["statetest"], ["PATH", "revme", "-k EXPR", "--mode", "--workers"]),
    (["blocktest"], ["stateRoot", "parent", "-k EXPR", "--mode", "--workers"]),
])
def test_help_reads_well(command, words):
    proc = cli(*command, "--help")
    assert proc.returncode == 0, text(proc)
    out = proc.stdout.decode()
    for word in words:
        assert word in out, word
    assert max(len(line) for line in out.splitlines()) <= 100  # no unwrapped paragraphs


def test_run_prints_receipts_roots_and_stats(tmp_path):
    fixture = block([tx(value=5, gas=21_000), tx(nonce=1, to=None, gas=60_000)])
    expected = blockstm.execute(fixture)
    proc = cli("run", write(tmp_path, "block.json", fixture))
    assert proc.returncode == 0, text(proc)
    lines = proc.stdout.decode().splitlines()
    assert lines[1].split() == ["0", "ok", "21000", "21000", "0", "0", "-"]
    assert lines[2].split()[:3] == ["1", "ok", str(expected.receipts[1].gas_used)]
    assert f"state root     {expected.state_root}" in lines
    assert f"receipts root  {expected.receipts_root}" in lines
    stats = {line.split()[0]: line.split()[1] for line in lines[lines.index("stats") + 1:]}
    assert stats["mode"] == "sequential" and stats["transactions"] == "2"
    assert set(stats) == set(blockstm.STATS_KEYS)


def test_the_readme_example():
    """README's first command: `blockstm run docs/examples/transfer.json`."""
    proc = cli("run", "docs/examples/transfer.json", cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0, text(proc)
    out = proc.stdout.decode()
    assert out.splitlines()[1].split() == ["0", "ok", "21000", "21000", "0", "0", "-"]
    assert "logs bloom     0x00…00 (no logs)" in out
    assert max(map(len, out.splitlines())) < 120


def test_run_json_from_stdin_in_parallel_mode():
    fixture = block([tx(nonce=i, value=1, gas=21_000) for i in range(4)])
    proc = cli("run", "-", "--mode", "parallel", "--threads", "2", "--parallel-threshold", "0", "--json",
               stdin=json.dumps(fixture).encode())
    assert proc.returncode == 0, text(proc)
    out = json.loads(proc.stdout)
    expected = blockstm.execute(fixture)
    # Workers that took part: with 4 cheap transactions one may do them all.
    assert out["stats"]["mode"] == "parallel" and 1 <= out["stats"]["threads"] <= 2
    assert (out["stateRoot"], out["receiptsRoot"], out["logsBloom"], out["gasUsed"]) == \
        (expected.state_root, expected.receipts_root, expected.logs_bloom, expected.gas_used)
    assert [r["cumulativeGasUsed"] for r in out["receipts"]] == [21_000 * (i + 1) for i in range(4)]


def test_post_state_feeds_the_next_block(tmp_path):
    post = tmp_path / "post.json"
    proc = cli("run", write(tmp_path, "one.json", block([tx(value=7, gas=21_000)])), "--post-state", str(post))
    assert proc.returncode == 0, text(proc)
    pre = json.loads(post.read_text())
    assert pre[BOB]["balance"] == "0x7" and pre[ALICE]["nonce"] == "0x1"
    proc = cli("run", write(tmp_path, "two.json", block([tx(nonce=1, value=7, gas=21_000)], pre=pre)), "--json")
    assert proc.returncode == 0, text(proc)
    assert json.loads(proc.stdout)["receipts"][0]["status"] == 1


@pytest.mark.parametrize("name,stdin,args,status,message", [
    ("fixture error", json.dumps(block([tx(gas=21_000, gasLimit="abc")])).encode(), [], 1,
     'blockstm run: stdin: invalid fixture: transactions[0].gasLimit: expected hex quantity, got "abc"'),
    ("invalid transaction", json.dumps(block([tx(nonce=3, gas=21_000)])).encode(), [], 1,
     "blockstm run: stdin: transaction 0 is invalid (nonce_too_high): "),
    ("not utf-8", b"\xff{}", [], 1, "blockstm run: stdin: invalid fixture: block: bytes that are not UTF-8 JSON"),
    ("threads without parallel", b"{}", ["--threads", "2"], 2,
     "blockstm run: error: --threads applies to --mode parallel"),
    ("bad threads", b"{}", ["--mode", "parallel", "--threads", "0"], 2,
     "blockstm run: error: argument --threads: expected a positive integer, got '0'"),
])
def test_run_errors_are_one_line(name, stdin, args, status, message):
    proc = cli("run", "-", *args, stdin=stdin)
    assert proc.returncode == status
    err = proc.stderr.decode().strip().splitlines()
    assert err[-1].startswith(message), err
    assert proc.stdout == b"" and "Traceback" not in text(proc)
    if status == 1:
        assert len(err) == 1


def test_run_on_a_missing_file():
    proc = cli("run", "/no/such/block.json")
    assert proc.returncode == 2
    assert proc.stderr.decode() == "blockstm run: fixture /no/such/block.json: No such file or directory\n"


def test_rpc_checks_the_header(tmp_path):
    block = rpc_block([rpc_tx(0), rpc_tx(1)])
    res = blockstm.execute(blockstm.from_rpc(block, block_trace()))
    block.update(gasUsed=hex(res.gas_used), logsBloom=res.logs_bloom, receiptsRoot=res.receipts_root)
    trace = write(tmp_path, "trace.json", {"jsonrpc": "2.0", "id": 1, "result": block_trace()})
    proc = cli("rpc", write(tmp_path, "block.json", block), "--prestate", trace, "--mode", "parallel",
               "--threads", "2", "--parallel-threshold", "0")
    assert proc.returncode == 0, text(proc)
    assert proc.stdout.decode().rstrip().endswith(
        "block 19000000 (Cancun), header: gasUsed matches, logsBloom matches, receiptsRoot matches")
    block["gasUsed"] = hex(res.gas_used + 1)
    proc = cli("rpc", write(tmp_path, "bad.json", block), "--prestate", trace, "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["header"]["mismatches"] == [f"gasUsed: expected {res.gas_used + 1}, got {res.gas_used}"]
    proc = cli("rpc", str(tmp_path / "bad.json"), "--prestate", write(tmp_path, "diff.json", {"pre": {}, "post": {}}))
    assert proc.returncode == 1
    assert proc.stderr.decode().startswith(f"blockstm rpc: {tmp_path}/diff.json: prestate: a diffMode trace")
    del block["transactions"][0]["gas"]
    proc = cli("rpc", write(tmp_path, "nogas.json", block), "--prestate", trace)
    assert proc.returncode == 1
    assert proc.stderr.decode() == f"blockstm rpc: {tmp_path}/nogas.json: block.transactions[0].gas: missing field\n"


def test_rpc_with_the_diff_trace(tmp_path):
    block, default, diff, _ = creation_traces()
    res = blockstm.execute(blockstm.from_rpc(block, default, prestate_diff=diff))
    block.update(gasUsed=hex(res.gas_used), logsBloom=res.logs_bloom, receiptsRoot=res.receipts_root)
    args = ["rpc", write(tmp_path, "block.json", block), "--prestate", write(tmp_path, "trace.json", default)]
    proc = cli(*args, "--prestate-diff", write(tmp_path, "diff.json", diff))
    assert proc.returncode == 0, text(proc)
    proc = cli(*args)  # without it: the creation collides
    assert proc.returncode == 1 and "MISMATCH" in proc.stdout.decode() and "gasUsed: expected" in proc.stdout.decode()
    proc = cli(*args, "--prestate-diff", write(tmp_path, "short.json", diff[:1]))
    assert proc.returncode == 1
    assert proc.stderr.decode().startswith(f"blockstm rpc: {tmp_path}/short.json: prestate_diff: expected a list of 2")


def mainnet_dir() -> Path:
    lookup = data.find_mainnet_blocks()
    if lookup.path is None:
        plugin.missing_data(lookup)
    return lookup.path


@pytest.mark.parametrize("number", [46147, 12244000, 19933597])
def test_rpc_on_mainnet_blocks(number):
    folder = mainnet_dir() / str(number)
    args = ["rpc", str(folder / "block.json"), "--prestate", str(folder / "pre_state.json")]
    if (folder / "block_hashes.json").is_file():
        args += ["--block-hashes", str(folder / "block_hashes.json")]
    proc = cli(*args, "--json")
    assert proc.returncode == 0, text(proc)
    out = json.loads(proc.stdout)
    assert out["block"] == number and out["header"]["mismatches"] == []
    assert out["header"]["checked"] == (["gasUsed", "logsBloom"] if number < 4_370_000
                                        else ["gasUsed", "logsBloom", "receiptsRoot"])


def add11(tmp_path: Path) -> Path:
    lookup = data.find_state_tests()
    if lookup.path is None:
        plugin.missing_data(lookup)
    path = tmp_path / "add11.json"
    shutil.copy(lookup.path / "stExample" / "add11.json", path)
    return path


def test_statetest_on_a_file_anywhere(tmp_path):
    path = add11(tmp_path)
    proc = cli("statetest", str(path), "--workers", "1", "-q", cwd=tmp_path)
    assert proc.returncode == 0, text(proc)
    n = sum(len(entries) for entries in json.loads(path.read_text())["add11"]["post"].values())
    assert proc.stdout.decode().rstrip().endswith(f"{2 * n} items: all passed")
    wrong = json.loads(path.read_text())
    wrong["add11"]["post"]["Cancun"][0]["hash"] = "0x" + "00" * 32
    path.write_text(json.dumps(wrong))
    proc = cli("statetest", str(path), "--workers", "1", "-q", "--mode", "seq", cwd=tmp_path)
    assert proc.returncode == 1
    assert "FAILED test_state[add11.json::add11[Cancun-d0g0v0]-seq]" in proc.stdout.decode()
    assert f"rerun: python -m conformance sweep {path} --mode seq" in proc.stdout.decode()


def test_blocktest_runs_whole_blocks():
    proc = cli("blocktest", "-k", "bcExample", "--workers", "1", "-q")
    assert proc.returncode == 0, text(proc)
    assert "0 failed" in proc.stdout.decode()


def test_statetest_outside_a_checkout_says_what_it_needs(tmp_path):
    """The wheel alone (its package copied elsewhere, no repository around it): the
    command exists and says it needs the checkout's conformance package."""
    shutil.copytree(Path(blockstm.__file__).parent, tmp_path / "blockstm")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "blockstm", "statetest", "x.json"], capture_output=True,
                          cwd=tmp_path, env=env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith("blockstm statetest: statetest needs the conformance package of a "
                                           "blockstm repository checkout")


def test_access_lists_written_then_given(tmp_path):
    fixture = write(tmp_path, "block.json", block([tx(0, value=1, gas=21_000), tx(1, value=2, gas=21_000)]))
    bal = tmp_path / "bal.json"
    proc = cli("run", fixture, "--write-access-list", str(bal), "--json")
    assert proc.returncode == 0, text(proc)
    listed = json.loads(bal.read_text())
    assert json.loads(proc.stdout)["blockAccessListHash"] == blockstm.execute(json.loads(Path(fixture).read_text())).block_access_list_hash
    proc = cli("run", fixture, "--mode", "parallel", "--threads", "2", "--access-list", str(bal), "--json")
    assert proc.returncode == 0, text(proc)
    assert json.loads(proc.stdout)["stats"]["access_list"] == "validated"
    bob = next(a for a in listed if a["address"].lower() == BOB)
    bob["balanceChanges"][0]["value"] = "0x7"
    bad = write(tmp_path, "bad.json", listed)
    for mode in ("sequential", "parallel"):
        proc = cli("run", fixture, "--mode", mode, "--access-list", bad)
        assert proc.returncode == 1 and "block access list mismatch at index 1" in text(proc), text(proc)
        assert "Traceback" not in text(proc)
    proc = cli("run", fixture, "--mode", "parallel", "--hint", bad)
    assert proc.returncode == 0, text(proc)
    proc = cli("run", fixture, "--access-list", str(tmp_path / "missing.json"))
    assert proc.returncode == 2 and "cannot read the access list" in text(proc)
