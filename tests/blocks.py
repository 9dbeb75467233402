"""Small hand-written blocks for the engine's unit tests."""

from __future__ import annotations

import copy

COINBASE = "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba"
ALICE = "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b"
BOB = "0x1000000000000000000000000000000000000000"
CONTRACT = "0xc0de000000000000000000000000000000000001"
ETHER = 10**18

# Runtime: SSTORE(0, CALLDATALOAD(0)); MSTORE(0, that); LOG1(0, 32, topic 0xaa); STOP
STORE_AND_LOG = "6000358060005560005260aa60206000a100"
# Init code that returns STORE_AND_LOG (CODECOPY from offset 11, 18 bytes).
DEPLOY_STORE_AND_LOG = "0x601280600b6000396000f3" + STORE_AND_LOG
# SSTORE(0, 1) then REVERT(0, 0): the write must be undone.
STORE_THEN_REVERT = "0x600160005560006000fd"
# JUMPDEST; PUSH1 0; JUMP — loops until out of gas.
INFINITE_LOOP = "0x5b600056"


def block(transactions, fork="Cancun", pre=None, **env):
    header = {
        "currentCoinbase": COINBASE,
        "currentNumber": "0x1",
        "currentTimestamp": "0x3e8",
        "currentGasLimit": hex(30_000_000),
        "currentBaseFee": "0x7",
        "currentRandom": "0x" + "00" * 31 + "01",
        "currentDifficulty": "0x0",
        "currentExcessBlobGas": "0x0",
    }
    header.update(env)
    if pre is None:
        pre = {ALICE: {"balance": hex(10 * ETHER), "nonce": "0x0"}}
    return {"fork": fork, "env": header, "pre": copy.deepcopy(pre), "transactions": transactions}


def tx(nonce=0, to=BOB, value=0, data="0x", gas=100_000, sender=ALICE, **extra):
    t = {"sender": sender, "to": to, "nonce": hex(nonce), "value": hex(value), "data": data,
         "gasLimit": hex(gas), "gasPrice": "0xa"}
    t.update(extra)
    if "maxFeePerGas" in extra:
        t.pop("gasPrice")
    return t
