"""What a generated block should do, computed in plain Python from the generator's
record of each transaction (TxDraft.op), never from the engine.

Ops (first element is the kind):
    ("eth", sender, recipient, value)                       plain value transfer
    ("eth_to_code", sender, account, value)                 value to a delegated account (runs its code)
    ("batch", account, [inner ops])                         an EIP-7702 wallet's calls ("eth"/"transfer")
    ("transfer", token, sender, recipient, amount)          ERC-20 transfer
    ("transfer_from", token, spender, owner, recipient, amount)
    ("swap", user, amount_in, path, recipient)              router exact-input swap; path: tuple[Token]
    ("deposit", weth, who, amount) / ("withdraw", weth, who, amount)
    ("probe", contract, caller)                             records BALANCE(coinbase)
    ("probe_self", vault, caller)                           records SELFBALANCE of the coinbase
Every op is expected to succeed (status 1); ETH value carried by a tx is TxDraft.value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .builder import MAX_UINT256, Generated, Token


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """Uniswap V2 getAmountOut (0.3% fee), the router's integer math exactly."""
    with_fee = amount_in * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


@dataclass
class Expected:
    token_balances: dict[tuple[int, int], int] = field(default_factory=dict)   # (token, holder)
    allowances: dict[tuple[int, int, int], int] = field(default_factory=dict)  # (token, owner, spender)
    reserves: dict[int, tuple[int, int]] = field(default_factory=dict)        # pair -> (r0, r1)
    eth_delta: dict[int, int] = field(default_factory=dict)                   # value moved, fees excluded
    probes: list[tuple[int, int, int]] = field(default_factory=list)          # (tx index, contract, caller)


def expected_outcome(gen: Generated) -> Expected:
    exp = Expected()
    balances = exp.token_balances
    allowances = exp.allowances
    pools_by_pair = {}
    if gen.amm is not None:
        for pool in gen.pools:
            pools_by_pair[(pool.token0.address, pool.token1.address)] = pool
            exp.reserves[pool.address] = (pool.reserve0, pool.reserve1)

    def bal(token: Token, holder: int) -> int:
        key = (token.address, holder)
        if key not in balances:
            balances[key] = token.balances.get(holder, 0)
        return balances[key]

    def move(token: Token, sender: int, recipient: int, amount: int) -> None:
        have = bal(token, sender)
        assert have >= amount, f"generator bug: {sender:#x} lacks {amount} of {token.address:#x}"
        balances[(token.address, sender)] = have - amount
        balances[(token.address, recipient)] = bal(token, recipient) + amount

    def eth(address: int, delta: int) -> None:
        exp.eth_delta[address] = exp.eth_delta.get(address, 0) + delta

    def pool_for(a: Token, b: Token):
        key = (a.address, b.address) if a.address < b.address else (b.address, a.address)
        return pools_by_pair[key]

    for index, draft in enumerate(gen.drafts):
        op = draft.op
        kind = op[0]
        if draft.value:
            eth(draft.sender, -draft.value)
            eth(draft.to, draft.value)
        if kind in ("eth", "eth_to_code"):
            pass
        elif kind == "batch":  # an EIP-7702 wallet's calls, from the account itself
            for inner in op[2]:
                if inner[0] == "eth":
                    _, sender, recipient, value = inner
                    eth(sender, -value)
                    eth(recipient, value)
                else:
                    _, token, sender, recipient, amount = inner
                    move(token, sender, recipient, amount)
        elif kind == "transfer":
            _, token, sender, recipient, amount = op
            move(token, sender, recipient, amount)
        elif kind == "transfer_from":
            _, token, spender, owner, recipient, amount = op
            key = (token.address, owner, spender)
            allowed = allowances.get(key, token.allowances.get((owner, spender), 0))
            if allowed != MAX_UINT256:
                assert allowed >= amount, "generator bug: allowance too small"
                allowances[key] = allowed - amount
            move(token, owner, recipient, amount)
        elif kind == "swap":
            _, user, amount_in, path, recipient = op
            pools = [pool_for(path[i], path[i + 1]) for i in range(len(path) - 1)]
            amounts = [amount_in]
            for i, pool in enumerate(pools):
                r0, r1 = exp.reserves[pool.address]
                if path[i].address == pool.token0.address:
                    amounts.append(amount_out(amounts[i], r0, r1))
                else:
                    amounts.append(amount_out(amounts[i], r1, r0))
            move(path[0], user, pools[0].address, amount_in)
            for i, pool in enumerate(pools):
                target = pools[i + 1].address if i + 1 < len(pools) else recipient
                assert amounts[i + 1] > 0, "generator bug: swap output rounds to 0"
                move(path[i + 1], pool.address, target, amounts[i + 1])
                exp.reserves[pool.address] = (bal(pool.token0, pool.address), bal(pool.token1, pool.address))
        elif kind == "deposit":
            _, weth, who, amount = op
            balances[(weth.address, who)] = bal(weth, who) + amount
        elif kind == "withdraw":
            _, weth, who, amount = op
            have = bal(weth, who)
            assert have >= amount
            balances[(weth.address, who)] = have - amount
            eth(weth.address, -amount)
            eth(who, amount)
        elif kind in ("probe", "probe_self"):
            exp.probes.append((index, op[1], op[2]))
        else:
            raise ValueError(f"unknown op {kind!r}")
    return exp
