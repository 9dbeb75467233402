"""Exceptions raised by :func:`blockstm.execute`.

They live in Python so that they carry real attributes (``index``, ``kind``, ``path``);
the Rust extension constructs them by name.
"""

from __future__ import annotations

__all__ = ["BlockstmError", "FixtureError", "InvalidTransaction", "InvalidBlock", "EngineError", "INVALID_TX_KINDS"]

#: Every value ``InvalidTransaction.kind`` can take (documented in docs/block-fixture.md).
INVALID_TX_KINDS = (
    "nonce_too_low",
    "nonce_too_high",
    "nonce_overflow",
    "insufficient_funds",
    "payment_overflow",
    "intrinsic_gas_too_low",
    "gas_floor_above_gas_limit",
    "gas_limit_above_block",
    "block_gas_exhausted",
    "gas_limit_above_cap",
    "fee_cap_below_base_fee",
    "priority_fee_above_fee_cap",
    "sender_has_code",
    "init_code_too_large",
    "invalid_chain_id",
    "missing_chain_id",
    "tx_type_not_supported",
    "blob_fee_cap_too_low",
    "empty_blobs",
    "blob_create",
    "too_many_blobs",
    "blob_block_gas_exhausted",
    "blob_version_not_supported",
    "invalid_signature",
    "empty_authorization_list",
    "set_code_create",
    "other",
)


class BlockstmError(Exception):
    """Base class of every error the engine raises on purpose."""


class FixtureError(BlockstmError, ValueError):
    """The block fixture is malformed. ``path`` is the JSON path of the offending value
    (``transactions[3].gasLimit``); ``str(err)`` starts with it."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class InvalidTransaction(BlockstmError):
    """A transaction cannot be included: the block is rejected, as a client would.

    ``index`` is the transaction's position in the block, ``kind`` one of
    :data:`INVALID_TX_KINDS`."""

    def __init__(self, message: str, index: int, kind: str) -> None:
        super().__init__(message)
        self.index = index
        self.kind = kind

    def __reduce__(self):  # picklable across pytest-xdist and multiprocessing workers
        return (type(self), (self.args[0], self.index, self.kind))


class InvalidBlock(BlockstmError):
    """The block breaks a rule outside its transactions (Prague on: a request contract
    without code or whose system call fails, a malformed deposit log): the block is
    rejected, as a client would. The message says which rule."""


class AccessListMismatch(InvalidBlock):
    """The block access list given with the block (``execute(..., access_list=...)``)
    contradicts its execution (EIP-7928): the block is invalid. The first difference,
    in the order (index, account, field): ``index`` is the block access index (0 before
    the transactions, i + 1 for transaction i, n + 1 after them; None for an account or
    a storage read, which the list does not index), ``account`` a hex address (None for
    a malformed list), ``field`` ("balance", "nonce", "code", "storage slot 0x…",
    "account", "storage read 0x…", or "structure" for a list out of canonical order),
    ``listed`` what the list says and ``executed`` what execution did ("absent": nothing)."""

    def __init__(self, message: str, index: int | None, account: str | None, field: str,
                 listed: str, executed: str) -> None:
        super().__init__(message)
        self.index = index
        self.account = account
        self.field = field
        self.listed = listed
        self.executed = executed

    def __reduce__(self):
        return (type(self), (self.args[0], self.index, self.account, self.field, self.listed, self.executed))


class EngineError(BlockstmError, RuntimeError):
    """An engine fault (a Rust panic included): a bug, never a verdict on the block."""
