"""Mocked Ethereum blocks for the blockstm engine: block fixtures (docs/block-fixture.md)
built from Vyper contracts compiled from source (generators/contracts/).

    import generators
    fixture = generators.generate("erc20", txs=1000, seed=7, pattern="clusters")
    fixture = generators.generate("transfers", gas=1_000_000_000)   # sized by gas

Families: transfers, erc20, amm, beneficiary, mixed, small, delegations (see docs/generators.md).
`build()` returns a Generated (fixture + what each tx is meant to do) for the checks
in generators.checks. Output is a pure function of (family, size, seed, knobs).
"""

from __future__ import annotations

from .builder import Generated
from .families import FAMILIES

__all__ = ["generate", "build", "FAMILIES", "Generated", "GAS_PER_TX", "estimate_gas_per_tx",
           "transfers", "erc20", "amm", "beneficiary", "mixed", "small", "delegations"]

# Mean gas used per transaction, measured with the engine (docs/generators.md);
# used to size a block from a gas target.
GAS_PER_TX: dict[tuple[str, str], int] = {
    ("transfers", "independent"): 21_000,
    ("transfers", "self"): 21_000,
    ("transfers", "chain"): 21_000,
    ("transfers", "hot"): 21_000,
    ("erc20", "independent"): 50_985,
    ("erc20", "clusters"): 33_885,
    ("erc20", "transfer_from"): 49_500,
    ("erc20", "weth"): 39_770,
    ("amm", "independent"): 104_760,
    ("amm", "hot"): 94_570,
    ("amm", "multihop"): 177_400,
    ("beneficiary", "balance"): 44_853,
    ("beneficiary", "selfbalance"): 44_754,
    ("beneficiary", "sends"): 21_000,
    ("beneficiary", "last"): 21_000,
    ("mixed", ""): 55_400,
    ("small", ""): 40_000,
    ("delegations", "batches"): 123_400,
    ("delegations", "pays"): 21_034,
}

_DEFAULT_PATTERN = {"transfers": "independent", "erc20": "independent", "amm": "independent",
                    "beneficiary": "balance", "mixed": "", "small": "", "delegations": "batches"}


def estimate_gas_per_tx(family: str, **knobs) -> int:
    pattern = knobs.get("mode" if family == "beneficiary" else "pattern", _DEFAULT_PATTERN[family])
    return GAS_PER_TX.get((family, pattern), 60_000)


def build(family: str, txs: int | None = None, seed: int = 0, *, gas: int | None = None,
          **knobs) -> Generated:
    """Like generate() but returns the Generated record (fixture + intent)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; one of {sorted(FAMILIES)}")
    if txs is None:
        if gas is not None:
            txs = max(1, -(-gas // estimate_gas_per_tx(family, **knobs)))
        elif family == "erc20" and knobs.get("pattern") == "clusters" and knobs.get("families"):
            txs = (knobs.get("clusters", 2) * knobs["families"] * knobs.get("people", 4)
                   * knobs.get("transfers", 2))
        else:
            raise ValueError("give txs or gas")
    elif gas is not None:
        raise ValueError("give txs or gas, not both")
    if txs < 0:
        raise ValueError("txs must be >= 0")
    return FAMILIES[family](txs, seed, **knobs)


def generate(family: str, txs: int | None = None, seed: int = 0, *, gas: int | None = None,
             **knobs) -> dict:
    """The block fixture (a JSON-ready dict) of `family` with `txs` transactions (or
    about `gas` gas), deterministic in `seed`."""
    return build(family, txs, seed, gas=gas, **knobs).fixture


def _family_function(name: str):
    def generate_family(txs: int | None = None, seed: int = 0, *, gas: int | None = None, **knobs) -> dict:
        return generate(name, txs, seed, gas=gas, **knobs)

    generate_family.__name__ = name
    generate_family.__qualname__ = name
    generate_family.__doc__ = f"The fixture of a {name!r} block.\n\n" + (FAMILIES[name].__doc__ or "")
    return generate_family


transfers = _family_function("transfers")
erc20 = _family_function("erc20")
amm = _family_function("amm")
beneficiary = _family_function("beneficiary")
mixed = _family_function("mixed")
small = _family_function("small")
delegations = _family_function("delegations")
