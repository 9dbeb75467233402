"""Checks of a sequential result that do not trust the engine.

Each takes the Generated block and a result with `.receipts` (status, gas_used) and
`.post_state` ({"0xaddr": {"balance", "nonce", "code", "storage": {int: int}}}) and
raises AssertionError naming the first discrepancy. Expected values come from
model.py (plain Python), except transaction fees, which need each receipt's gas_used:
plain value transfers are pinned to 21,000 gas, so those blocks are checked end to end.
"""

from __future__ import annotations

from collections import Counter

from .builder import BASE_FEE, DEPLOYER, MAX_FEE, Generated, unpack_reserves
from .compile import compiled
from .evm import addr_hex, mapping_slot
from .model import Expected, expected_outcome

TRANSFER_GAS = 21_000


def _account(post: dict, address: int) -> dict:
    return post.get(addr_hex(address)) or {}


def _storage(post: dict, address: int) -> dict[int, int]:
    raw = _account(post, address).get("storage") or {}
    return {(int(k, 16) if isinstance(k, str) else k): (int(v, 16) if isinstance(v, str) else v)
            for k, v in raw.items()}


def _balance(post: dict, address: int) -> int:
    value = _account(post, address).get("balance", 0)
    return int(value, 16) if isinstance(value, str) else value


def check_statuses(gen: Generated, result) -> None:
    statuses = [r.status for r in result.receipts]
    assert len(statuses) == len(gen.drafts), f"{len(statuses)} receipts for {len(gen.drafts)} txs"
    for index, (got, want) in enumerate(zip(statuses, gen.expect_status)):
        assert got == want, f"tx {index} ({gen.drafts[index].op[0]}): status {got}, expected {want}"


def check_plain_transfer_gas(gen: Generated, result) -> None:
    for index, (draft, receipt) in enumerate(zip(gen.drafts, result.receipts)):
        if draft.op[0] == "eth" and not draft.data:
            assert receipt.gas_used == TRANSFER_GAS, f"tx {index}: gas_used {receipt.gas_used} != 21000"


def check_tokens(gen: Generated, result, exp: Expected | None = None) -> None:
    """Balances and allowances equal the model's, the supply is conserved, and no
    token holds a storage slot the model cannot name."""
    exp = exp or expected_outcome(gen)
    post = result.post_state
    for token in gen.tokens:
        storage = _storage(post, token.address)
        holders = set(token.balances) | {h for (t, h) in exp.token_balances if t == token.address}
        known: dict[int, int] = {}
        for holder in holders:
            want = exp.token_balances.get((token.address, holder), token.balances.get(holder, 0))
            known[token.balance_slot(holder)] = want
        spenders = set(token.allowances) | {(o, s) for (t, o, s) in exp.allowances if t == token.address}
        for owner, spender in spenders:
            want = exp.allowances.get((token.address, owner, spender), token.allowances.get((owner, spender), 0))
            known[token.allowance_slot(owner, spender)] = want
        # ERC-20 supply is conserved; WETH's moves with deposits and withdrawals
        supply = token.total_supply
        if token.kind == "weth":
            supply = sum(exp.token_balances.get((token.address, h), token.balances.get(h, 0)) for h in holders)
        if token.kind == "erc20":
            known[token.supply_slot] = supply
            known[token.minter_slot] = DEPLOYER
        for slot, want in known.items():
            got = storage.get(slot, 0)
            assert got == want, (f"token {addr_hex(token.address)} slot {slot:#x}: {got}, expected {want}")
        stray = {slot: v for slot, v in storage.items() if v and slot not in known}
        assert not stray, f"token {addr_hex(token.address)}: unexpected storage {stray}"
        held = sum(storage.get(token.balance_slot(h), 0) for h in holders)
        assert held == supply, f"token {addr_hex(token.address)}: holders own {held}, supply {supply}"
        if token.kind == "weth":
            assert _balance(post, token.address) == supply, "WETH ether balance != supply"


def check_pools(gen: Generated, result, exp: Expected | None = None) -> None:
    """Reserves equal the model's and the pair's token balances; k = x*y never
    decreases; touched pools carry the block's timestamp."""
    if not gen.pools:
        return
    exp = exp or expected_outcome(gen)
    post = result.post_state
    layout = compiled("pair").storage
    timestamp = int(gen.fixture["env"]["currentTimestamp"], 16)
    token_storage = {t.address: _storage(post, t.address) for t in gen.tokens}
    for pool in gen.pools:
        storage = _storage(post, pool.address)
        r0, r1, last = unpack_reserves(storage.get(layout["packed_reserves"], 0))
        want0, want1 = exp.reserves[pool.address]
        where = f"pool {addr_hex(pool.address)}"
        assert (r0, r1) == (want0, want1), f"{where}: reserves {(r0, r1)}, expected {(want0, want1)}"
        assert r0 * r1 >= pool.reserve0 * pool.reserve1, f"{where}: k decreased"
        bal0 = token_storage[pool.token0.address].get(pool.token0.balance_slot(pool.address), 0)
        bal1 = token_storage[pool.token1.address].get(pool.token1.balance_slot(pool.address), 0)
        assert (bal0, bal1) == (r0, r1), f"{where}: reserves {(r0, r1)} != balances {(bal0, bal1)}"
        touched = (r0, r1) != (pool.reserve0, pool.reserve1)
        assert last == (timestamp if touched else pool.timestamp_last) % 2**32, f"{where}: timestamp {last}"
        assert storage.get(layout["unlocked"]) == 1, f"{where}: lock left taken"
        if touched and pool.timestamp_last != timestamp:
            assert storage.get(layout["price0CumulativeLast"], 0) != pool.cumulative0, f"{where}: oracle not updated"


def _effective_tip(draft) -> int:
    return min(draft.tip, MAX_FEE - BASE_FEE)


def check_eth(gen: Generated, result, exp: Expected | None = None) -> None:
    """Every account's ether: pre + value received - value sent - fees (+ tips for
    the coinbase); every sender's nonce advanced by its transaction count."""
    exp = exp or expected_outcome(gen)
    post = result.post_state
    want: dict[int, int] = {}
    for address, account in gen.pre.items():
        want[address] = account.balance
    for address, delta in exp.eth_delta.items():
        want[address] = want.get(address, 0) + delta
    coinbase = gen.coinbase
    for draft, receipt in zip(gen.drafts, result.receipts):
        tip = _effective_tip(draft)
        want[draft.sender] = want.get(draft.sender, 0) - receipt.gas_used * (BASE_FEE + tip)
        want[coinbase] = want.get(coinbase, 0) + receipt.gas_used * tip
    for address, balance in want.items():
        got = _balance(post, address)
        assert got == balance, f"{addr_hex(address)}: balance {got}, expected {balance} ({got - balance:+})"
    sent = Counter(d.sender for d in gen.drafts)
    for address, count in sent.items():
        pre_nonce = gen.pre[address].nonce if address in gen.pre else 0
        got = _account(post, address).get("nonce", 0)
        got = int(got, 16) if isinstance(got, str) else got
        assert got == pre_nonce + count, f"{addr_hex(address)}: nonce {got}, expected {pre_nonce + count}"


def check_probes(gen: Generated, result, exp: Expected | None = None) -> None:
    """Each probe recorded the coinbase balance as of its transaction: the pre
    balance plus the tips of every earlier transaction plus value moved."""
    exp = exp or expected_outcome(gen)
    if not exp.probes:
        return
    post = result.post_state
    coinbase = gen.coinbase
    balance = gen.pre[coinbase].balance if coinbase in gen.pre else 0
    seen_at: dict[int, int] = {}
    for index, (draft, receipt) in enumerate(zip(gen.drafts, result.receipts)):
        seen_at[index] = balance
        if draft.sender == coinbase:
            balance -= receipt.gas_used * (BASE_FEE + _effective_tip(draft)) + draft.value
        if draft.to == coinbase:
            balance += draft.value
        balance += receipt.gas_used * _effective_tip(draft)
    seen_slot_base = compiled("coinbase_probe").storage["seen"]
    for index, contract, caller in exp.probes:
        got = _storage(post, contract).get(mapping_slot(seen_slot_base, caller), 0)
        assert got == seen_at[index], (f"tx {index}: probe saw {got}, coinbase had {seen_at[index]} "
                                       f"({got - seen_at[index]:+})")


def check_all(gen: Generated, result) -> None:
    exp = expected_outcome(gen)
    check_statuses(gen, result)
    check_plain_transfer_gas(gen, result)
    check_tokens(gen, result, exp)
    check_pools(gen, result, exp)
    check_eth(gen, result, exp)
    check_probes(gen, result, exp)
