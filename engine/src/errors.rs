//! The engine's error types: malformed fixtures, invalid transactions, engine faults.
//!
//! `InvalidTxKind` names are a stable, documented API (docs/block-fixture.md): the
//! conformance runner maps ethereum/tests exception names onto them.

use revm::context::result::InvalidTransaction as RevmInvalid;
use std::fmt;

/// A fixture that cannot be turned into a block. `path` is a JSON path such as
/// `transactions[3].gasLimit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixtureError {
    pub path: String,
    pub message: String,
}

impl FixtureError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FixtureError { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a transaction cannot be included in the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InvalidTxKind {
    NonceTooLow,
    NonceTooHigh,
    NonceOverflow,
    InsufficientFunds,
    PaymentOverflow,
    IntrinsicGasTooLow,
    GasFloorAboveGasLimit,
    GasLimitAboveBlock,
    BlockGasExhausted,
    GasLimitAboveCap,
    FeeCapBelowBaseFee,
    PriorityFeeAboveFeeCap,
    SenderHasCode,
    InitCodeTooLarge,
    InvalidChainId,
    MissingChainId,
    TxTypeNotSupported,
    BlobFeeCapTooLow,
    EmptyBlobs,
    BlobCreate,
    TooManyBlobs,
    BlobBlockGasExhausted,
    BlobVersionNotSupported,
    InvalidSignature,
    EmptyAuthorizationList,
    SetCodeCreate,
    Other,
}

impl InvalidTxKind {
    pub const ALL: [InvalidTxKind; 27] = [
        InvalidTxKind::NonceTooLow,
        InvalidTxKind::NonceTooHigh,
        InvalidTxKind::NonceOverflow,
        InvalidTxKind::InsufficientFunds,
        InvalidTxKind::PaymentOverflow,
        InvalidTxKind::IntrinsicGasTooLow,
        InvalidTxKind::GasFloorAboveGasLimit,
        InvalidTxKind::GasLimitAboveBlock,
        InvalidTxKind::BlockGasExhausted,
        InvalidTxKind::GasLimitAboveCap,
        InvalidTxKind::FeeCapBelowBaseFee,
        InvalidTxKind::PriorityFeeAboveFeeCap,
        InvalidTxKind::SenderHasCode,
        InvalidTxKind::InitCodeTooLarge,
        InvalidTxKind::InvalidChainId,
        InvalidTxKind::MissingChainId,
        InvalidTxKind::TxTypeNotSupported,
        InvalidTxKind::BlobFeeCapTooLow,
        InvalidTxKind::EmptyBlobs,
        InvalidTxKind::BlobCreate,
        InvalidTxKind::TooManyBlobs,
        InvalidTxKind::BlobBlockGasExhausted,
        InvalidTxKind::BlobVersionNotSupported,
        InvalidTxKind::InvalidSignature,
        InvalidTxKind::EmptyAuthorizationList,
        InvalidTxKind::SetCodeCreate,
        InvalidTxKind::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            InvalidTxKind::NonceTooLow => "nonce_too_low",
            InvalidTxKind::NonceTooHigh => "nonce_too_high",
            InvalidTxKind::NonceOverflow => "nonce_overflow",
            InvalidTxKind::InsufficientFunds => "insufficient_funds",
            InvalidTxKind::PaymentOverflow => "payment_overflow",
            InvalidTxKind::IntrinsicGasTooLow => "intrinsic_gas_too_low",
            InvalidTxKind::GasFloorAboveGasLimit => "gas_floor_above_gas_limit",
            InvalidTxKind::GasLimitAboveBlock => "gas_limit_above_block",
            InvalidTxKind::BlockGasExhausted => "block_gas_exhausted",
            InvalidTxKind::GasLimitAboveCap => "gas_limit_above_cap",
            InvalidTxKind::FeeCapBelowBaseFee => "fee_cap_below_base_fee",
            InvalidTxKind::PriorityFeeAboveFeeCap => "priority_fee_above_fee_cap",
            InvalidTxKind::SenderHasCode => "sender_has_code",
            InvalidTxKind::InitCodeTooLarge => "init_code_too_large",
            InvalidTxKind::InvalidChainId => "invalid_chain_id",
            InvalidTxKind::MissingChainId => "missing_chain_id",
            InvalidTxKind::TxTypeNotSupported => "tx_type_not_supported",
            InvalidTxKind::BlobFeeCapTooLow => "blob_fee_cap_too_low",
            InvalidTxKind::EmptyBlobs => "empty_blobs",
            InvalidTxKind::BlobCreate => "blob_create",
            InvalidTxKind::TooManyBlobs => "too_many_blobs",
            InvalidTxKind::BlobBlockGasExhausted => "blob_block_gas_exhausted",
            InvalidTxKind::BlobVersionNotSupported => "blob_version_not_supported",
            InvalidTxKind::InvalidSignature => "invalid_signature",
            InvalidTxKind::EmptyAuthorizationList => "empty_authorization_list",
            InvalidTxKind::SetCodeCreate => "set_code_create",
            InvalidTxKind::Other => "other",
        }
    }

    /// Classifies revm's validation error.
    pub fn from_revm(err: &RevmInvalid) -> InvalidTxKind {
        use RevmInvalid as R;
        match err {
            R::PriorityFeeGreaterThanMaxFee => InvalidTxKind::PriorityFeeAboveFeeCap,
            R::GasPriceLessThanBasefee => InvalidTxKind::FeeCapBelowBaseFee,
            R::CallerGasLimitMoreThanBlock => InvalidTxKind::GasLimitAboveBlock,
            R::CallGasCostMoreThanGasLimit { .. } => InvalidTxKind::IntrinsicGasTooLow,
            R::GasFloorMoreThanGasLimit { .. } => InvalidTxKind::GasFloorAboveGasLimit,
            R::RejectCallerWithCode => InvalidTxKind::SenderHasCode,
            R::LackOfFundForMaxFee { .. } => InvalidTxKind::InsufficientFunds,
            R::OverflowPaymentInTransaction => InvalidTxKind::PaymentOverflow,
            R::NonceOverflowInTransaction => InvalidTxKind::NonceOverflow,
            R::NonceTooHigh { .. } => InvalidTxKind::NonceTooHigh,
            R::NonceTooLow { .. } => InvalidTxKind::NonceTooLow,
            R::CreateInitCodeSizeLimit => InvalidTxKind::InitCodeTooLarge,
            R::InvalidChainId => InvalidTxKind::InvalidChainId,
            R::MissingChainId => InvalidTxKind::MissingChainId,
            R::TxGasLimitGreaterThanCap { .. } => InvalidTxKind::GasLimitAboveCap,
            R::AccessListNotSupported
            | R::MaxFeePerBlobGasNotSupported
            | R::BlobVersionedHashesNotSupported
            | R::AuthorizationListNotSupported
            | R::Eip2930NotSupported
            | R::Eip1559NotSupported
            | R::Eip4844NotSupported
            | R::Eip7702NotSupported
            | R::Eip7873NotSupported => InvalidTxKind::TxTypeNotSupported,
            R::BlobGasPriceGreaterThanMax { .. } => InvalidTxKind::BlobFeeCapTooLow,
            R::EmptyBlobs => InvalidTxKind::EmptyBlobs,
            R::BlobCreateTransaction => InvalidTxKind::BlobCreate,
            R::TooManyBlobs { .. } => InvalidTxKind::TooManyBlobs,
            R::BlobVersionNotSupported => InvalidTxKind::BlobVersionNotSupported,
            R::EmptyAuthorizationList => InvalidTxKind::EmptyAuthorizationList,
            _ => InvalidTxKind::Other,
        }
    }
}

/// A transaction the block cannot include: the whole block is rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidTx {
    pub index: usize,
    pub kind: InvalidTxKind,
    pub message: String,
}

impl fmt::Display for InvalidTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transaction {} is invalid ({}): {}", self.index, self.kind.name(), self.message)
    }
}

/// Everything `execute` can fail with.
#[derive(Clone, Debug)]
pub enum EngineError {
    Fixture(FixtureError),
    InvalidTx(InvalidTx),
    /// The block breaks a rule of its own, outside any transaction (a system contract
    /// missing or failing, a malformed deposit log): rejected as a client would.
    InvalidBlock(String),
    /// The block's access list (EIP-7928) contradicts its execution: the block is invalid.
    AccessList(crate::bal::Mismatch),
    /// A bug or an unusable request: never a verdict about the block.
    Internal(String),
}

impl From<FixtureError> for EngineError {
    fn from(e: FixtureError) -> Self {
        EngineError::Fixture(e)
    }
}

impl From<InvalidTx> for EngineError {
    fn from(e: InvalidTx) -> Self {
        EngineError::InvalidTx(e)
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Fixture(e) => e.fmt(f),
            EngineError::InvalidTx(e) => e.fmt(f),
            EngineError::InvalidBlock(m) => write!(f, "invalid block: {m}"),
            EngineError::AccessList(m) => write!(f, "invalid block: {m}"),
            EngineError::Internal(m) => write!(f, "internal engine error: {m}"),
        }
    }
}
