# pragma version 0.4.3
# pragma evm-version cancun
"""
@title Batch wallet, an EIP-7702 delegate
@notice An EOA delegated here (code 0xef0100 ++ this address) batches calls in one
        transaction, as smart-wallet traffic on mainnet does: each call's target, value
        and calldata, run from the account itself. Only the account may batch; anyone
        may pay it.
"""

struct Call:
    target: address
    value: uint256
    data: Bytes[68]

event Batched:
    calls: uint256


@external
@payable
def execute(calls: DynArray[Call, 8]):
    assert msg.sender == self, "only the account itself"
    for c: Call in calls:
        raw_call(c.target, c.data, value=c.value)
    log Batched(calls=len(calls))


@external
@payable
def __default__():
    pass
