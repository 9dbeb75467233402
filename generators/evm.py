"""Small EVM helpers: keccak, RLP of short lists, contract addresses, ABI words.

Everything here is pure Python and engine-independent; the generators use it to lay
out pre-states by hand and the checks use it to read them back.
"""

from __future__ import annotations

from Crypto.Hash import keccak as _keccak

__all__ = [
    "keccak256",
    "create_address",
    "create2_address",
    "mapping_slot",
    "nested_mapping_slot",
    "selector",
    "word",
    "addr_hex",
    "addr_int",
]


def keccak256(data: bytes) -> bytes:
    return _keccak.new(data=data, digest_bits=256).digest()


def _rlp_bytes(item: bytes) -> bytes:
    if len(item) == 1 and item[0] < 0x80:
        return item
    assert len(item) <= 55, "only short items are needed here"
    return bytes([0x80 + len(item)]) + item


def _rlp_list(items: list[bytes]) -> bytes:
    body = b"".join(_rlp_bytes(i) for i in items)
    assert len(body) <= 55
    return bytes([0xC0 + len(body)]) + body


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""


def create_address(sender: int, nonce: int) -> int:
    """Address of the contract that `sender` creates with CREATE at `nonce`."""
    encoded = _rlp_list([sender.to_bytes(20, "big"), _int_bytes(nonce)])
    return int.from_bytes(keccak256(encoded)[12:], "big")


def create2_address(deployer: int, salt: bytes, init_code_hash: bytes) -> int:
    digest = keccak256(b"\xff" + deployer.to_bytes(20, "big") + salt + init_code_hash)
    return int.from_bytes(digest[12:], "big")


def mapping_slot(base: int, key: int) -> int:
    """Slot of `map[key]` for a Vyper HashMap at slot `base`: keccak256(base ++ key).

    (Vyper puts the slot first; Solidity puts the key first.)"""
    return int.from_bytes(keccak256(base.to_bytes(32, "big") + key.to_bytes(32, "big")), "big")


def nested_mapping_slot(base: int, key1: int, key2: int) -> int:
    return mapping_slot(mapping_slot(base, key1), key2)


def selector(signature: str) -> str:
    """4-byte function selector as 8 hex digits (no 0x)."""
    return keccak256(signature.encode()).hex()[:8]


def word(value: int) -> str:
    """One ABI word (a uint or an address) as 64 hex digits."""
    return f"{value:064x}"


def addr_hex(address: int) -> str:
    return f"0x{address:040x}"


def addr_int(address: str) -> int:
    return int(address, 16)
