"""The block families. Each `add_*` appends transactions (and the pre-state they
need) to a BlockBuilder; the family functions wrap them into a whole block.

Knobs control conflicts: which accounts and storage slots transactions share.
"""

from __future__ import annotations

import math
from typing import Callable

from .builder import MAX_UINT256, BlockBuilder, Generated, Token
from .compile import compiled
from .evm import selector, word

# calldata prefixes
SEL_TRANSFER = selector("transfer(address,uint256)")
SEL_TRANSFER_FROM = selector("transferFrom(address,address,uint256)")
SEL_SWAP = selector("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)")
SEL_PROBE = selector("probe()")
SEL_PROBE_SELF = selector("probe_self()")
SEL_DEPOSIT = selector("deposit()")
SEL_WITHDRAW = selector("withdraw(uint256)")

# Gas limits per transaction: comfortably above the measured use (docs/generators.md).
GAS_TRANSFER = 21_000
GAS_ERC20 = 80_000
GAS_SWAP_FIRST_HOP = 200_000
GAS_SWAP_EXTRA_HOP = 110_000
GAS_PROBE = 80_000
GAS_WETH = 80_000

TOKEN_BALANCE = 10**24          # per-holder token balance: far above any amount moved
SWAP_DEADLINE_SLACK = 1_800


def _value(b: BlockBuilder) -> int:
    return b.rng.randrange(10**12, 10**16)


def _amount(b: BlockBuilder) -> int:
    return b.rng.randrange(10**15, 10**21)


# ---------------------------------------------------------------------------
# raw ether transfers


def add_transfers(b: BlockBuilder, n: int, pattern: str = "independent", *, chain_length: int = 8,
                  hot_fraction: float = 1.0, interleave: bool = True) -> None:
    """pattern:
    independent  distinct senders, each paying a first-time recipient
    self         every sender pays itself
    chain        senders send `chain_length` transactions each (consecutive nonces);
                 `interleave` round-robins the chains, else each chain is contiguous
    hot          a `hot_fraction` of the transactions pay one shared recipient
    """
    rng = b.rng
    if pattern == "independent":
        for _ in range(n):
            sender, recipient, value = b.new_eoa(), b.fresh_address(), _value(b)
            b.tx(sender, recipient, value=value, gas_limit=GAS_TRANSFER, op=("eth", sender, recipient, value))
    elif pattern == "self":
        for _ in range(n):
            sender, value = b.new_eoa(), _value(b)
            b.tx(sender, sender, value=value, gas_limit=GAS_TRANSFER, op=("eth", sender, sender, value))
    elif pattern == "chain":
        if chain_length < 1:
            raise ValueError("chain_length must be >= 1")
        senders = [b.new_eoa() for _ in range(math.ceil(n / chain_length))]
        if interleave:
            order = [senders[i % len(senders)] for i in range(n)]
        else:
            order = [senders[i // chain_length] for i in range(n)]
        for sender in order:
            recipient, value = b.fresh_address(), _value(b)
            b.tx(sender, recipient, value=value, gas_limit=GAS_TRANSFER, op=("eth", sender, recipient, value))
    elif pattern == "hot":
        hot = b.new_eoa(balance=10**18)
        for _ in range(n):
            sender, value = b.new_eoa(), _value(b)
            recipient = hot if rng.random() < hot_fraction else b.fresh_address()
            b.tx(sender, recipient, value=value, gas_limit=GAS_TRANSFER, op=("eth", sender, recipient, value))
    else:
        raise ValueError(f"transfers: unknown pattern {pattern!r} (independent, self, chain, hot)")


# ---------------------------------------------------------------------------
# ERC-20


def _erc20_transfer(b: BlockBuilder, token: Token, sender: int, recipient: int, amount: int) -> None:
    data = SEL_TRANSFER + word(recipient) + word(amount)
    b.tx(sender, token.address, data=data, gas_limit=GAS_ERC20,
         op=("transfer", token, sender, recipient, amount))


def add_erc20(b: BlockBuilder, n: int, pattern: str = "independent", *, tokens: int = 1,
              clusters: int = 2, families: int | None = None, people: int = 4, transfers: int = 2,
              owners: int | None = None) -> None:
    """pattern:
    independent    distinct senders, first-time recipients, spread over `tokens` tokens
    clusters       `clusters` tokens, each with `families` groups of `people` holders
                   who send `transfers` transfers each to members of their own group,
                   shuffled through the block (n = clusters*families*people*transfers;
                   with `families` unset it is derived from n)
    transfer_from  spenders move tokens of `owners` owners (default: one per tx)
                   through allowances (half exact, so they drop to zero)
    weth           deposits and withdrawals of wrapped ether
    """
    rng = b.rng
    if pattern == "independent":
        toks = [b.token() for _ in range(max(1, tokens))]
        for i in range(n):
            token = toks[i % len(toks)]
            sender, recipient, amount = b.new_eoa(), b.fresh_address(), _amount(b)
            token.credit(sender, amount + rng.randrange(10**21))
            _erc20_transfer(b, token, sender, recipient, amount)
    elif pattern == "clusters":
        if people < 2:
            raise ValueError("clusters need people >= 2")
        per_family = people * transfers
        if families is None:
            families = max(1, math.ceil(n / (clusters * per_family)))
        planned = []
        for _ in range(clusters):
            token = b.token()
            for _ in range(families):
                members = [b.new_eoa() for _ in range(people)]
                for member in members:
                    token.credit(member, TOKEN_BALANCE)
                for member in members:
                    for _ in range(transfers):
                        other = rng.choice([m for m in members if m != member])
                        planned.append((token, member, other, _amount(b)))
        rng.shuffle(planned)
        for token, sender, recipient, amount in planned[:n]:
            _erc20_transfer(b, token, sender, recipient, amount)
    elif pattern == "transfer_from":
        token = b.token()
        owner_list = [b.new_eoa() for _ in range(owners or n)]
        for i in range(n):
            owner = owner_list[i % len(owner_list)]
            spender, recipient, amount = b.new_eoa(), b.fresh_address(), _amount(b)
            token.credit(owner, amount)
            token.approve(owner, spender, amount if rng.random() < 0.5 else amount + _amount(b))
            data = SEL_TRANSFER_FROM + word(owner) + word(recipient) + word(amount)
            b.tx(spender, token.address, data=data, gas_limit=GAS_ERC20,
                 op=("transfer_from", token, spender, owner, recipient, amount))
    elif pattern == "weth":
        add_weth(b, n)
    else:
        raise ValueError(f"erc20: unknown pattern {pattern!r} (independent, clusters, transfer_from, weth)")


def add_weth(b: BlockBuilder, n: int) -> None:
    """Alternating deposits (new holders) and withdrawals (existing holders)."""
    weth = b.token("weth")
    for i in range(n):
        who, amount = b.new_eoa(), _value(b)
        if i % 2 == 0:
            b.tx(who, weth.address, value=amount, data=SEL_DEPOSIT, gas_limit=GAS_WETH,
                 op=("deposit", weth, who, amount))
        else:
            weth.credit(who, amount + _value(b))
            b.tx(who, weth.address, data=SEL_WITHDRAW + word(amount), gas_limit=GAS_WETH,
                 op=("withdraw", weth, who, amount))


# ---------------------------------------------------------------------------
# AMM


def _swap_calldata(amount_in: int, path: list[Token], recipient: int, deadline: int) -> str:
    head = word(amount_in) + word(0) + word(0xA0) + word(recipient) + word(deadline)
    return SEL_SWAP + head + word(len(path)) + "".join(word(t.address) for t in path)


def _reserve(b: BlockBuilder) -> int:
    return b.rng.randrange(10**24, 10**25)


def _swap(b: BlockBuilder, path: list[Token], first_reserve_in: int) -> None:
    amm = b.amm()
    user = b.new_eoa()
    # 0.001%..0.1% of the first pool's input reserve: output never rounds to zero
    # and no pool drains, whatever order the swaps run in
    amount_in = first_reserve_in // b.rng.randrange(1_000, 100_000)
    path[0].credit(user, amount_in)
    path[0].approve(user, amm.router, MAX_UINT256)
    deadline = b.timestamp + SWAP_DEADLINE_SLACK
    b.tx(user, amm.router, data=_swap_calldata(amount_in, path, user, deadline),
         gas_limit=GAS_SWAP_FIRST_HOP + GAS_SWAP_EXTRA_HOP * (len(path) - 2),
         op=("swap", user, amount_in, tuple(path), user))


def add_swaps(b: BlockBuilder, n: int, pattern: str = "independent", *, pools: int | None = None,
              tokens: int = 6, hops: int = 3, weth: bool = False) -> None:
    """pattern:
    independent  one pool per swap (pools = n unless given: then swaps share them
                 round-robin); pools pair up distinct tokens of a shared token set
    hot          every swap on one pool, random direction
    multihop     a ring of `tokens` tokens with a pool between neighbours; each swap
                 follows `hops` pools from a random start in a random direction
    weth         make the first token wrapped ether
    """
    rng = b.rng
    amm = b.amm()
    if pattern == "hot":
        pattern, pools = "independent", 1
    if pattern == "independent":
        count = max(1, min(pools or n, n))
        k = 2
        while k * (k - 1) // 2 < count:
            k += 1
        toks = [b.token("weth" if weth and i == 0 else "erc20") for i in range(k)]
        pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
        rng.shuffle(pairs)
        pool_list = [amm.create_pool(toks[i], toks[j], _reserve(b), _reserve(b)) for i, j in pairs[:count]]
        for i in range(n):
            pool = pool_list[i % len(pool_list)]
            if rng.random() < 0.5:
                _swap(b, [pool.token0, pool.token1], pool.reserve0)
            else:
                _swap(b, [pool.token1, pool.token0], pool.reserve1)
    elif pattern == "multihop":
        if tokens < 3:
            raise ValueError("multihop needs tokens >= 3")
        if not 1 <= hops < tokens:
            raise ValueError("multihop needs 1 <= hops < tokens")
        toks = [b.token("weth" if weth and i == 0 else "erc20") for i in range(tokens)]
        for i in range(tokens):
            amm.create_pool(toks[i], toks[(i + 1) % tokens], _reserve(b), _reserve(b))
        for _ in range(n):
            start = rng.randrange(tokens)
            step = rng.choice((1, -1))
            path = [toks[(start + step * h) % tokens] for h in range(hops + 1)]
            first = amm.pool(path[0], path[1])
            reserve_in = first.reserve0 if path[0] is first.token0 else first.reserve1
            _swap(b, path, reserve_in)
    else:
        raise ValueError(f"amm: unknown pattern {pattern!r} (independent, hot, multihop)")


# ---------------------------------------------------------------------------
# coinbase


def add_beneficiary(b: BlockBuilder, n: int, mode: str = "balance", *, every: int | None = None) -> None:
    """mode:
    balance      every `every`-th tx (default 1) calls a probe doing BALANCE(COINBASE)
    selfbalance  the coinbase is a contract; every `every`-th tx calls its SELFBALANCE probe
    sends        the coinbase is a funded EOA sending value every `every`-th tx (default 4)
    last         only the last tx reads the coinbase balance
    Other transactions are independent ether transfers (each credits the coinbase a tip).
    """
    if mode in ("balance", "last"):
        target, call = b.probe_contract(), SEL_PROBE
    elif mode == "selfbalance":
        target, call = b.coinbase_vault(), SEL_PROBE_SELF
    elif mode == "sends":
        b.coinbase = b.new_eoa()
        target, call = None, None
    else:
        raise ValueError(f"beneficiary: unknown mode {mode!r} (balance, selfbalance, sends, last)")
    every = every or (4 if mode == "sends" else 1)
    for i in range(n):
        special = (i == n - 1) if mode == "last" else (i % every == every - 1)
        if not special:
            add_transfers(b, 1)
        elif mode == "sends":
            recipient, value = b.fresh_address(), _value(b)
            b.tx(b.coinbase, recipient, value=value, gas_limit=GAS_TRANSFER,
                 op=("eth", b.coinbase, recipient, value))
        else:
            caller = b.new_eoa()
            b.tx(caller, target, data=call, gas_limit=GAS_PROBE,
                 op=("probe_self" if mode == "selfbalance" else "probe", target, caller))


# ---------------------------------------------------------------------------
# whole blocks

MIX = (
    # (share, adder, knobs)
    (0.20, add_transfers, {"pattern": "independent"}),
    (0.05, add_transfers, {"pattern": "hot"}),
    (0.05, add_transfers, {"pattern": "chain", "chain_length": 4}),
    (0.15, add_erc20, {"pattern": "independent"}),
    (0.10, add_erc20, {"pattern": "clusters"}),
    (0.05, add_erc20, {"pattern": "transfer_from", "owners": 3}),
    (0.05, add_erc20, {"pattern": "weth"}),
    (0.10, add_swaps, {"pattern": "independent"}),
    (0.10, add_swaps, {"pattern": "hot"}),
    (0.05, add_swaps, {"pattern": "multihop", "weth": True}),
    (0.10, add_beneficiary, {"mode": "balance", "every": 1}),
)


def _block(family: str, seed: int, knobs: dict, fill: Callable[[BlockBuilder], None]) -> Generated:
    b = BlockBuilder(seed)
    fill(b)
    return b.finish(family, knobs)


def transfers(txs: int, seed: int = 0, **knobs) -> Generated:
    return _block("transfers", seed, knobs, lambda b: add_transfers(b, txs, **knobs))


def erc20(txs: int, seed: int = 0, **knobs) -> Generated:
    return _block("erc20", seed, knobs, lambda b: add_erc20(b, txs, **knobs))


def amm(txs: int, seed: int = 0, **knobs) -> Generated:
    return _block("amm", seed, knobs, lambda b: add_swaps(b, txs, **knobs))


def beneficiary(txs: int, seed: int = 0, **knobs) -> Generated:
    return _block("beneficiary", seed, knobs, lambda b: add_beneficiary(b, txs, **knobs))


def mixed(txs: int, seed: int = 0, **knobs) -> Generated:
    """A blend of every family, shuffled (each sender's nonces stay in order)."""
    if knobs:
        raise ValueError(f"mixed takes no knobs, got {sorted(knobs)}")

    def fill(b: BlockBuilder) -> None:
        counts = [int(share * txs) for share, _, _ in MIX]
        counts[0] += txs - sum(counts)
        for count, (_, adder, kn) in zip(counts, MIX):
            if count:
                adder(b, count, **kn)
        b.interleave()

    return _block("mixed", seed, knobs, fill)


def small(txs: int, seed: int = 0, kind: str | None = None) -> Generated:
    """0, 1 or 2 transactions. kind: "transfer" (1: a plain transfer; 2: B pays C out
    of what A just paid B, so the second is only valid after the first), "erc20"
    (1: a transfer; 2: A->B then B->C of the tokens just received), "swap" (1 or 2
    swaps on one pool)."""
    if txs not in (0, 1, 2):
        raise ValueError("small blocks have 0, 1 or 2 transactions")
    kind = kind or ("transfer" if txs == 2 else "erc20")

    def fill(b: BlockBuilder) -> None:
        if txs == 0:
            b.new_eoa()
            b.token().credit(b.new_eoa(), TOKEN_BALANCE)
            return
        if kind == "transfer":
            a = b.new_eoa()
            if txs == 1:
                add_transfers(b, 1)
                return
            middle = b.fresh_address()   # can pay for its tx only after the first
            c = b.fresh_address()
            b.tx(a, middle, value=10**18, gas_limit=GAS_TRANSFER, op=("eth", a, middle, 10**18))
            b.tx(middle, c, value=10**17, gas_limit=GAS_TRANSFER, op=("eth", middle, c, 10**17))
        elif kind == "erc20":
            token = b.token()
            a, middle = b.new_eoa(), b.new_eoa()
            token.credit(a, TOKEN_BALANCE)
            _erc20_transfer(b, token, a, middle, 10**20)
            if txs == 2:
                _erc20_transfer(b, token, middle, b.fresh_address(), 10**20)  # spends what it got
        elif kind == "swap":
            add_swaps(b, txs, "hot")
        else:
            raise ValueError(f"small: unknown kind {kind!r} (transfer, erc20, swap)")

    return _block("small", seed, {"kind": kind}, fill)


# ---------------------------------------------------------------------------
# EIP-7702 smart-wallet traffic (Prague)

SEL_EXECUTE = selector("execute((address,uint256,bytes)[])")
GAS_BATCH_BASE = 60_000
GAS_BATCH_CALL = 45_000


def encode_calls(calls: list[tuple[int, int, bytes]]) -> str:
    """ABI encoding of execute's argument: a dynamic array of (address, uint256, bytes)."""
    tuples = []
    for target, value, data in calls:
        padded = data + b"\0" * (-len(data) % 32)
        tuples.append(word(target) + word(value) + word(0x60) + word(len(data)) + padded.hex())
    offsets, at = [], 32 * len(tuples)
    for t in tuples:
        offsets.append(word(at))
        at += len(t) // 2
    return word(0x20) + word(len(calls)) + "".join(offsets) + "".join(tuples)


def add_delegations(b: BlockBuilder, n: int, pattern: str = "batches", *, calls: int = 3,
                    wallets: int | None = None) -> None:
    """pattern:
    batches   EOAs delegated (EIP-7702) to one batch-wallet contract send themselves
              `execute` with `calls` calls each: ether to first-time recipients and
              token transfers out of the account's own balance; `wallets` accounts
              (default: one per transaction) share the block
    pays      raw transfers *to* delegated accounts (each runs the wallet's code): never
              a lazy transfer for Block-STM
    """
    wallet_code = compiled("batch_wallet").runtime
    wallet = b.deploy(wallet_code)
    if pattern == "batches":
        if calls < 1 or calls > 8:
            raise ValueError("calls must be 1..8 (the wallet's batch size)")
        token = b.token()
        accounts = [b.delegated_eoa(wallet) for _ in range(wallets or n)]
        for i in range(n):
            account = accounts[i % len(accounts)]
            batch, inner = [], []
            for j in range(calls):
                recipient = b.fresh_address()
                if j % 2 == 0:
                    value = _value(b)
                    batch.append((recipient, value, b""))
                    inner.append(("eth", account, recipient, value))
                else:
                    amount = _amount(b)
                    token.credit(account, amount)
                    batch.append((token.address, 0, bytes.fromhex((SEL_TRANSFER + word(recipient) + word(amount)))))
                    inner.append(("transfer", token, account, recipient, amount))
            b.tx(account, account, data=SEL_EXECUTE + encode_calls(batch),
                 gas_limit=GAS_BATCH_BASE + GAS_BATCH_CALL * calls, op=("batch", account, inner))
    elif pattern == "pays":
        accounts = [b.delegated_eoa(wallet) for _ in range(wallets or max(1, n // 4))]
        for i in range(n):
            sender, account, value = b.new_eoa(), accounts[i % len(accounts)], _value(b)
            b.tx(sender, account, value=value, gas_limit=GAS_WALLET_PAY, op=("eth_to_code", sender, account, value))
    else:
        raise ValueError(f"delegations: unknown pattern {pattern!r} (batches, pays)")


GAS_WALLET_PAY = 40_000


def delegations(txs: int, seed: int = 0, **knobs) -> Generated:
    b = BlockBuilder(seed, fork="Prague")
    add_delegations(b, txs, **knobs)
    return b.finish("delegations", knobs)


FAMILIES: dict[str, Callable[..., Generated]] = {
    "transfers": transfers,
    "erc20": erc20,
    "amm": amm,
    "beneficiary": beneficiary,
    "mixed": mixed,
    "small": small,
    "delegations": delegations,
}
