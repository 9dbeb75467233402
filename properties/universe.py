"""The small world generated blocks live in: a handful of named addresses, so that
transactions collide on the same accounts and slots as often as possible.

Names, not addresses, appear in generated programs (``Balance("K1")``); they are
resolved when the block is assembled, because some addresses (CREATE2 children)
depend on code that is generated with the block.
"""

from __future__ import annotations

from ethereum.crypto.hash import keccak256

# EOAs that send transactions (funded in every block).
SENDERS = ("A", "B", "D")
# EOAs whose secret keys are known (delegations mode): EIP-7702 authorities, which
# also send, receive and get called.
AUTHORITY_KEYS = {"E1": bytes(31) + b"\xe1", "E2": bytes(31) + b"\xe2"}
AUTHORITIES = tuple(AUTHORITY_KEYS)


def _address_of_key(key: bytes) -> int:
    import coincurve
    point = coincurve.PrivateKey(key).public_key.format(compressed=False)
    return int.from_bytes(keccak256(point[1:])[12:], "big")
# Contracts generated per block (entry-point dispatch, see programs.py).
CONTRACTS = ("K0", "K1", "K2")

FIXED = {
    "A": 0xA000000000000000000000000000000000000001,
    "B": 0xA000000000000000000000000000000000000002,
    "D": 0xA000000000000000000000000000000000000003,
    "COINBASE": 0xC0000000000000000000000000000000000000B5,
    # An EOA absent from the pre-state: created in the block by a transfer, then a sender.
    "FRESH": 0xF000000000000000000000000000000000000001,
    "K0": 0x00000000000000000000000000000000000C0DE0,
    "K1": 0x00000000000000000000000000000000000C0DE1,
    "K2": 0x00000000000000000000000000000000000C0DE2,
    # The only contract that runs CREATE/CREATE2 (its children's addresses are known).
    "FACTORY": 0x0000000000000000000000000000000000FAC700,
}
FIXED.update({name: _address_of_key(key) for name, key in AUTHORITY_KEYS.items()})

# Entry points of every generated contract: calldata byte 0 picks one. A call made
# from entry e always targets an entry above e, and the last entry (the leaf) calls
# no code, so call depth is bounded by construction.
ENTRIES = 3
LEAF = ENTRIES - 1

# Child init-code variants and CREATE2 salts the factory uses: 2 x 2 addresses.
VARIANTS = (0, 1)
SALTS = (0, 1)
# Factory CREATE nonces whose addresses are part of the universe (the factory starts at 1).
CREATE_NONCES = (1, 2, 3)
# Creation transactions: addresses of A's and B's first nonces.
TX_CREATE_NONCES = (0, 1, 2, 3)

# Every precompile through Cancun (0x0a, point evaluation, from Cancun).
PRECOMPILES = tuple(range(1, 11))

WORD = 2**256


def hex_address(value: int) -> str:
    return "0x" + value.to_bytes(20, "big").hex()


def _rlp_bytes(data: bytes) -> bytes:
    if len(data) == 1 and data[0] < 0x80:
        return data
    assert len(data) < 56
    return bytes([0x80 + len(data)]) + data


def create_address(sender: int, nonce: int) -> int:
    """Address of a CREATE by ``sender`` at ``nonce``: keccak(rlp([sender, nonce]))[12:]."""
    nonce_bytes = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big") if nonce else b""
    payload = _rlp_bytes(sender.to_bytes(20, "big")) + _rlp_bytes(nonce_bytes)
    return int.from_bytes(keccak256(bytes([0xC0 + len(payload)]) + payload)[12:], "big")


def create2_address(creator: int, salt: int, initcode: bytes) -> int:
    digest = keccak256(b"\xff" + creator.to_bytes(20, "big") + salt.to_bytes(32, "big")
                       + keccak256(initcode))
    return int.from_bytes(digest[12:], "big")


def child_name(variant: int, salt: int) -> str:
    return f"child{variant}{salt}"


def created_name(nonce: int) -> str:
    return f"created{nonce}"


def tx_created_name(sender: str, nonce: int) -> str:
    return f"{sender}new{nonce}"


def precompile_name(n: int) -> str:
    return f"pc{n}"


class Universe:
    """Name -> address, complete once the child init codes are known."""

    def __init__(self, initcodes: dict[int, bytes]) -> None:
        self.addresses: dict[str, int] = dict(FIXED)
        factory = FIXED["FACTORY"]
        for v, code in initcodes.items():
            for s in SALTS:
                self.addresses[child_name(v, s)] = create2_address(factory, s, code)
        for n in CREATE_NONCES:
            self.addresses[created_name(n)] = create_address(factory, n)
        for sender in ("A", "B"):
            for n in TX_CREATE_NONCES:
                self.addresses[tx_created_name(sender, n)] = create_address(FIXED[sender], n)
        for n in PRECOMPILES:
            self.addresses[precompile_name(n)] = n

    def __getitem__(self, name: str) -> int:
        return self.addresses[name]

    def hex(self, name: str) -> str:
        return hex_address(self.addresses[name])

    def names_by_address(self) -> dict[str, str]:
        return {hex_address(a): n for n, a in self.addresses.items()}


# Addresses that may hold code (a call to them carries an entry byte). Children and
# created accounts get a child runtime; the rest are EOAs or precompiles.
def is_code_name(name: str) -> bool:
    return name in CONTRACTS or name == "FACTORY" or name.startswith(("child", "created")) \
        or "new" in name


def is_child_address_name(name: str) -> bool:
    """Names whose address depends on generated init code (a child's own code must
    not mention them: its hash would depend on itself)."""
    return name.startswith("child")
