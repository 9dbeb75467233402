"""blockstm.from_rpc: an RPC block plus a prestateTracer result → a block fixture.

The 41 mainnet blocks go through it in conformance/ (test_loaders.py: the fixtures
are those of the loader it replaced; test_mainnet_blocks.py: both modes against the
header). Here: the tracer's shapes, merged by hand-made traces, and the errors."""

from __future__ import annotations

import json

import pytest

import blockstm
from blockstm import rpc
from tests.blocks import ALICE, BOB, COINBASE, DEPLOY_STORE_AND_LOG, STORE_AND_LOG

CONTRACT = "0xc0de000000000000000000000000000000000001"
# SSTORE(0, SLOAD(0) + 1)
COUNTER = "0x60005460010160005500"


def rpc_block(transactions, number=19_000_000, timestamp=1_710_400_000):
    return {
        "number": hex(number), "timestamp": hex(timestamp), "miner": COINBASE, "gasLimit": hex(30_000_000),
        "difficulty": "0x0", "baseFeePerGas": "0x7", "mixHash": "0x" + "00" * 31 + "01", "excessBlobGas": "0x0",
        "gasUsed": "0x0", "logsBloom": "0x" + "00" * 256, "receiptsRoot": "0x" + "00" * 32,
        "transactions": transactions,
    }


def rpc_tx(nonce, to=CONTRACT, value="0x0", gas="0x30d40"):
    return {"from": ALICE, "to": to, "nonce": hex(nonce), "value": value, "input": "0x", "gas": gas,
            "type": "0x2", "maxFeePerGas": "0xa", "maxPriorityFeePerGas": "0x1", "accessList": [], "chainId": "0x1"}


def block_trace():
    """What debug_traceBlockByNumber(N, {tracer: prestateTracer}) gives for two calls of
    COUNTER: each transaction's pre-state is the state after the ones before it; zero
    fields are omitted, geth adds codeHash, and a missing account is {"balance": "0x0"}."""
    return [
        {"txHash": "0x01", "result": {
            ALICE: {"balance": hex(10**18), "nonce": 0},
            CONTRACT: {"balance": "0x0", "code": COUNTER, "codeHash": "0x" + "ab" * 32,
                       "storage": {"0x" + "00" * 32: "0x" + "00" * 31 + "05"}},
            COINBASE: {"balance": "0x0"},
        }},
        {"txHash": "0x02", "result": {
            ALICE: {"balance": hex(10**18 - 7 * 50_000), "nonce": 1},
            CONTRACT: {"balance": "0x0", "code": COUNTER, "codeHash": "0x" + "ab" * 32,
                       "storage": {"0x" + "00" * 32: "0x" + "00" * 31 + "06"}},
            COINBASE: {"balance": hex(50_000)},
            BOB: {"balance": "0x0"},
        }},
    ]


def test_a_block_trace_merges_to_the_first_read_of_everything():
    pre = rpc.merge_prestate(block_trace())
    assert pre == {
        ALICE: {"balance": hex(10**18), "nonce": 0, "storage": {}},
        CONTRACT: {"balance": "0x0", "nonce": "0x0", "code": COUNTER,
                   "storage": {"0x" + "00" * 32: "0x" + "00" * 31 + "05"}},
    }  # the coinbase and BOB had nothing: absent


def test_from_rpc_executes_a_traced_block():
    block = rpc_block([rpc_tx(0), rpc_tx(1)])
    fixture = blockstm.from_rpc(block, block_trace())
    assert fixture["fork"] == "Cancun" and fixture["_block"] == 19_000_000
    res = blockstm.execute(fixture)
    assert [r.status for r in res.receipts] == [1, 1]
    assert res.post_state[CONTRACT]["storage"] == {0: 7}
    # The same trace in a JSON-RPC response, as text or bytes, converts the same.
    response = json.dumps({"jsonrpc": "2.0", "id": 1, "result": block_trace()})
    wrapped_block = json.dumps({"jsonrpc": "2.0", "id": 1, "result": block})
    assert blockstm.from_rpc(wrapped_block, response) == fixture
    assert blockstm.from_rpc(block, response.encode()) == fixture


def creation_traces():
    """Tx 0 deploys STORE_AND_LOG, tx 1 calls it. As geth's prestateTracer reports it:
    tx 0's default-mode pre-state leaves the new contract out; tx 1's has it, with code
    and nonce 1; the diffMode trace has it in tx 0's post only."""
    create = {**rpc_tx(0, to=None), "input": DEPLOY_STORE_AND_LOG}
    call = {**rpc_tx(1, to=None), "input": "0x" + "00" * 31 + "2a"}
    first = blockstm.execute(blockstm.from_rpc(rpc_block([create]), {ALICE: {"balance": hex(10**18), "nonce": 0}}))
    contract = first.receipts[0].contract_address
    call["to"] = contract
    alice_after = first.post_state_fixture()[ALICE]
    default = [{"txHash": "0x01", "result": {ALICE: {"balance": hex(10**18), "nonce": 0}}},
               {"txHash": "0x02", "result": {ALICE: {"balance": alice_after["balance"], "nonce": 1},
                                             contract: {"balance": "0x0", "nonce": 1, "code": "0x" + STORE_AND_LOG}}}]
    diff = [{"txHash": "0x01", "result": {"pre": {ALICE: {"balance": hex(10**18)}},
                                          "post": {ALICE: {"balance": alice_after["balance"], "nonce": 1},
                                                   contract: {"nonce": 1, "code": "0x" + STORE_AND_LOG}}}},
            {"txHash": "0x02", "result": {"pre": {ALICE: {"balance": alice_after["balance"], "nonce": 1}},
                                          "post": {ALICE: {"nonce": 2}}}}]
    return rpc_block([create, call]), default, diff, contract


def test_the_diff_trace_drops_accounts_the_block_created():
    block, default, diff, contract = creation_traces()
    pre = rpc.merge_prestate(default, diff)
    assert set(pre) == {ALICE}
    res = blockstm.execute(blockstm.from_rpc(block, default, prestate_diff=diff))
    assert [r.status for r in res.receipts] == [1, 1] and res.receipts[0].contract_address == contract
    assert res.post_state[contract]["storage"] == {0: 0x2A}
    # Without it the contract looks pre-existing: the creation collides, its gas is gone.
    wrong = blockstm.execute(blockstm.from_rpc(block, default))
    assert wrong.receipts[0].status == 0 and wrong.receipts[0].gas_used == int(block["transactions"][0]["gas"], 16)
    header = {**rpc.expected_header(block), "gas_used": res.gas_used, "logs_bloom": res.logs_bloom,
              "receipts_root": res.receipts_root}
    assert rpc.header_mismatches(res, **header) == []
    assert rpc.header_mismatches(wrong, **header)[0].startswith("gasUsed: expected")


def test_a_bad_diff_trace_is_named():
    block, default, diff, _ = creation_traces()
    with pytest.raises(blockstm.FixtureError, match=r"^prestate_diff: expected a list of 2 diffMode results"):
        blockstm.from_rpc(block, default, prestate_diff=diff[:1])
    with pytest.raises(blockstm.FixtureError, match=r"^prestate_diff\[1\]\.result: expected \{pre"):
        blockstm.from_rpc(block, default, prestate_diff=[diff[0], {"result": default[1]["result"]}])
    with pytest.raises(blockstm.FixtureError, match="^prestate_diff: goes with a block trace"):
        blockstm.from_rpc(block, {ALICE: {"balance": "0x1", "nonce": "0x0"}}, prestate_diff=diff)


def test_an_alloc_is_taken_as_given():
    alloc = {ALICE: {"balance": "0x1", "nonce": "0x0", "code": "0x", "storage": {}},
             BOB: {"balance": "0x0", "nonce": "0x0", "code": "0x", "storage": {}}}
    assert blockstm.from_rpc(rpc_block([]), alloc)["pre"] == alloc  # the empty BOB stays


def test_options_chain_id_fork_block_hashes():
    fixture = blockstm.from_rpc(rpc_block([]), {}, chain_id=5, fork="Shanghai", block_hashes={"0x10": "0x" + "11" * 32})
    assert fixture["env"]["currentChainId"] == "0x5" and fixture["fork"] == "Shanghai"
    assert "currentExcessBlobGas" not in fixture["env"] and fixture["blockHashes"] == {"16": "0x" + "11" * 32}
    with pytest.raises(ValueError, match="chain_id must be a non-negative int, got True"):
        blockstm.from_rpc(rpc_block([]), {}, chain_id=True)
    with pytest.raises(ValueError, match="fork must be one of Frontier, .*, got 'Amsterdam'"):
        blockstm.from_rpc(rpc_block([]), {}, fork="Amsterdam")


def test_header_mismatches_name_each_field():
    res = blockstm.execute(blockstm.from_rpc(rpc_block([rpc_tx(0)]), block_trace()))
    header = rpc.expected_header(rpc_block([rpc_tx(0)]))
    header["logs_bloom"] = "0x" + "ff" * 256
    lines = rpc.header_mismatches(res, **{**header, "tx_count": 2})
    assert [line.split(":")[0] for line in lines] == ["receipts", "gasUsed", "logsBloom", "receiptsRoot"]
    assert lines[1] == f"gasUsed: expected 0, got {res.gas_used}"
    header.update(gas_used=res.gas_used, logs_bloom=res.logs_bloom, receipts_root=res.receipts_root)
    assert rpc.header_mismatches(res, **header) == []
    assert rpc.header_mismatches(res, **{**header, "fork": "EIP158", "receipts_root": "0x00"}) == []


BAD = [
    ("hashes only", lambda b, p: b.update(transactions=["0x" + "aa" * 32]), "block.transactions[0]",
     "eth_getBlockByNumber(N, true)"),
    ("missing tx field", lambda b, p: b["transactions"][0].pop("gas"), "block.transactions[0].gas", "missing field"),
    ("missing header field", lambda b, p: b.pop("miner"), "block.miner", "missing field"),
    ("bad number", lambda b, p: b.update(number="0xzz"), "block.number", "hex quantity"),
    ("diff mode", lambda b, p: p.__setitem__(0, {"txHash": "0x1", "result": {"pre": {}, "post": {}}}),
     "prestate[0].result", "diffMode"),
    ("failed trace", lambda b, p: p.__setitem__(1, {"txHash": "0x2", "error": "execution timeout"}),
     "prestate[1]", "execution timeout"),
    ("not an account", lambda b, p: p[0]["result"].__setitem__(BOB, "0x1"), f"prestate[0].result.{BOB}",
     "expected an object"),
]


@pytest.mark.parametrize("name,change,path,message", BAD, ids=[b[0] for b in BAD])
def test_bad_rpc_input_names_the_path(name, change, path, message):
    block, trace = rpc_block([rpc_tx(0), rpc_tx(1)]), block_trace()
    change(block, trace)
    with pytest.raises(blockstm.FixtureError) as info:
        blockstm.from_rpc(block, trace)
    assert info.value.path == path and str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_bad_json_and_node_errors():
    with pytest.raises(blockstm.FixtureError, match="^block: invalid JSON"):
        blockstm.from_rpc("{", {})
    with pytest.raises(blockstm.FixtureError, match="^prestate: not UTF-8 JSON"):
        blockstm.from_rpc(rpc_block([]), b"\xff\xfe")
    with pytest.raises(blockstm.FixtureError, match="^prestate: the node answered with an error"):
        blockstm.from_rpc(rpc_block([]), {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601}})
    with pytest.raises(blockstm.FixtureError, match="^block_hashes.ten: expected a block number, got 'ten'"):
        blockstm.from_rpc(rpc_block([]), {}, block_hashes={"ten": "0x" + "00" * 32})
    with pytest.raises(blockstm.FixtureError, match="^prestate: a diffMode trace"):
        blockstm.from_rpc(rpc_block([]), {"pre": {}, "post": {}})
