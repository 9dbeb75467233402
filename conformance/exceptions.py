"""ethereum/tests `expectException` names → the `InvalidTransaction.kind` values that
satisfy them.

Every name used in the corpus is listed (test_loaders checks that against the whole
corpus); a name missing here makes its cases FAIL, never pass silently. A post entry may
combine names with '|' ("any of these"): the acceptable kinds are the union.

Two families of names exist: the retesteth ones (``TR_*``, ``IntrinsicGas``,
``SenderNotEOA``) and the execution-spec-tests ones (``TransactionException.*``). A few
EEST names that the current corpus does not use yet are mapped too, so that a corpus
update does not fail on a name whose meaning is plain.
"""

from __future__ import annotations

from dataclasses import dataclass

# Where a name allows several kinds, it is because the test cannot tell which check a
# client runs first (e.g. an account with neither the funds nor the gas), or because two
# kinds describe the same violation for a one-transaction block.
EXCEPTION_KINDS: dict[str, frozenset[str]] = {
    # --- retesteth names -----------------------------------------------------------
    "IntrinsicGas": frozenset({"intrinsic_gas_too_low"}),
    "TR_IntrinsicGas": frozenset({"intrinsic_gas_too_low"}),
    "SenderNotEOA": frozenset({"sender_has_code"}),
    "TR_NoFunds": frozenset({"insufficient_funds"}),
    # The sender can pay neither the up-front cost nor the intrinsic gas: either check
    # may reject first (NoSrcAccount*: empty sender, gas limit below intrinsic).
    "TR_NoFundsOrGas": frozenset({"insufficient_funds", "intrinsic_gas_too_low"}),
    # gasPrice * gasLimit is astronomically large (HighGasPrice: gasPrice ~ 2**248): a
    # client may report the missing funds or the overflow of the cost computation.
    "TR_NoFundsX": frozenset({"insufficient_funds", "payment_overflow"}),
    "TR_NonceHasMaxValue": frozenset({"nonce_overflow"}),
    # The transaction's gas limit is above the block's: for a one-transaction block the
    # block's remaining gas is the block gas limit, so either kind is a faithful report.
    "TR_GasLimitReached": frozenset({"gas_limit_above_block", "block_gas_exhausted"}),
    "TR_FeeCapLessThanBlocks": frozenset({"fee_cap_below_base_fee"}),
    "TR_TipGtFeeCap": frozenset({"priority_fee_above_fee_cap"}),
    "TR_TypeNotSupported": frozenset({"tx_type_not_supported"}),
    "TR_InitCodeLimitExceeded": frozenset({"init_code_too_large"}),
    "TR_BLOBCREATE": frozenset({"blob_create"}),
    "TR_EMPTYBLOB": frozenset({"empty_blobs"}),
    # 7 blobs in one transaction: above the per-block blob limit, which is the only
    # per-transaction limit in Cancun.
    "TR_BLOBLIST_OVERSIZE": frozenset({"too_many_blobs", "blob_block_gas_exhausted"}),
    "TR_BLOBVERSION_INVALID": frozenset({"blob_version_not_supported"}),
    # A field that RLP cannot carry (ValueOverflow: value = 2**256 + 1): there is no
    # transaction to validate. See FIXTURE_ERROR_NAMES.
    "TR_RLP_WRONGVALUE": frozenset(),
    # --- execution-spec-tests names ------------------------------------------------
    "TransactionException.INSUFFICIENT_ACCOUNT_FUNDS": frozenset({"insufficient_funds"}),
    "TransactionException.INSUFFICIENT_MAX_FEE_PER_GAS": frozenset({"fee_cap_below_base_fee"}),
    "TransactionException.INSUFFICIENT_MAX_FEE_PER_BLOB_GAS": frozenset({"blob_fee_cap_too_low"}),
    "TransactionException.INITCODE_SIZE_EXCEEDED": frozenset({"init_code_too_large"}),
    "TransactionException.TYPE_3_TX_PRE_FORK": frozenset({"tx_type_not_supported"}),
    "TransactionException.TYPE_3_TX_ZERO_BLOBS": frozenset({"empty_blobs"}),
    "TransactionException.TYPE_3_TX_BLOB_COUNT_EXCEEDED": frozenset(
        {"too_many_blobs", "blob_block_gas_exhausted"}
    ),
    "TransactionException.TYPE_3_TX_INVALID_BLOB_VERSIONED_HASH": frozenset(
        {"blob_version_not_supported"}
    ),
    # Not in the current corpus; plain meanings, mapped ahead of a corpus update.
    "TransactionException.INTRINSIC_GAS_TOO_LOW": frozenset({"intrinsic_gas_too_low"}),
    "TransactionException.NONCE_IS_MAX": frozenset({"nonce_overflow"}),
    "TransactionException.NONCE_MISMATCH_TOO_LOW": frozenset({"nonce_too_low"}),
    "TransactionException.NONCE_MISMATCH_TOO_HIGH": frozenset({"nonce_too_high"}),
    "TransactionException.SENDER_NOT_EOA": frozenset({"sender_has_code"}),
    "TransactionException.PRIORITY_GREATER_THAN_MAX_FEE_PER_GAS": frozenset(
        {"priority_fee_above_fee_cap"}
    ),
    "TransactionException.GAS_ALLOWANCE_EXCEEDED": frozenset(
        {"gas_limit_above_block", "block_gas_exhausted"}
    ),
    "TransactionException.TYPE_3_TX_CONTRACT_CREATION": frozenset({"blob_create"}),
    "TransactionException.TYPE_3_TX_MAX_BLOB_GAS_ALLOWANCE_EXCEEDED": frozenset(
        {"too_many_blobs", "blob_block_gas_exhausted"}
    ),
}

# Names whose cases cannot even be turned into a transaction: a field overflows what the
# transaction's RLP encoding can carry, so the engine rejects the fixture with
# blockstm.FixtureError before any validation. For these names, and only these, a
# FixtureError is the expected outcome; for every other name it is a failure (the engine
# must carry the transaction far enough to reject it with the right kind).
FIXTURE_ERROR_NAMES: frozenset[str] = frozenset({"TR_RLP_WRONGVALUE"})


class UnknownExceptionName(KeyError):
    """An `expectException` name this table does not know: the case must fail."""


@dataclass(frozen=True)
class Expectation:
    """What satisfies an `expectException` value."""

    names: tuple[str, ...]
    kinds: frozenset[str]  # acceptable InvalidTransaction.kind values
    fixture_error_ok: bool  # a blockstm.FixtureError is acceptable too

    def describe(self) -> str:
        accepted = sorted(self.kinds) + (["FixtureError"] if self.fixture_error_ok else [])
        return f"{'|'.join(self.names)} (accepts: {', '.join(accepted)})"


def split_names(expect_exception: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in expect_exception.split("|") if n.strip())


def expectation(expect_exception: str) -> Expectation:
    """The acceptable outcomes of a (possibly '|'-combined) name; raises
    UnknownExceptionName for a name not in the table."""
    names = split_names(expect_exception)
    unknown = [n for n in names if n not in EXCEPTION_KINDS]
    if unknown or not names:
        raise UnknownExceptionName(
            f"unmapped expectException name(s) {unknown or [expect_exception]!r}: "
            "add them to conformance/exceptions.py"
        )
    kinds = frozenset().union(*(EXCEPTION_KINDS[n] for n in names))
    return Expectation(names, kinds, any(n in FIXTURE_ERROR_NAMES for n in names))
