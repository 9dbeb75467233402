//! EIP-7928 block access lists (docs/engine.md, "Block access lists").
//!
//! Out: every run's list is built from what the transactions changed and accessed
//! (`build`), the same function in both modes, so the list is identical in sequential
//! and parallel mode. In: a list given with the block is checked against execution
//! (`check`); in parallel mode it also drives execution (`exec`): each transaction
//! runs on the pre-state plus the list's values of lower indices (`view`), with no
//! speculation, and the first transaction whose writes differ from the list's ends the
//! run with a `Mismatch`. A list given only as a hint (`Trust::Hint`) is never a
//! verdict: a wrong one costs re-executions, not correctness.
//!
//! The types, encoding, hash and canonical-form validation are alloy's
//! (`alloy_eips::eip7928`); a canonical list is read in place (`view`).

pub mod build;
pub mod check;
pub mod exec;
pub mod input;
pub mod view;

pub use alloy_eips::eip7928::{AccountChanges, BlockAccessIndex};

use alloy_primitives::{Address, Bytes, U256};
use revm::primitives::KECCAK_EMPTY;

use crate::changes::{AccountChange, Fields, TxAccess, TxChanges};

/// A block access list: accounts sorted by address.
pub type BlockAccessList = Vec<AccountChanges>;

/// How far a list given with a block is trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// The block's own list (a validator's): a list that execution contradicts makes
    /// the block invalid.
    Validate,
    /// A hint of unknown quality: used to run transactions without waiting, never to
    /// decide anything.
    Hint,
}

/// One write of a block access list at some index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Write {
    Balance(U256),
    Nonce(u64),
    Code(Bytes),
    Storage(U256, U256),
}

impl Write {
    /// The field's name, as errors report it.
    pub fn field(&self) -> String {
        match self {
            Write::Balance(_) => "balance".into(),
            Write::Nonce(_) => "nonce".into(),
            Write::Code(_) => "code".into(),
            Write::Storage(slot, _) => format!("storage slot {slot:#x}"),
        }
    }

    pub fn value(&self) -> String {
        match self {
            Write::Balance(v) | Write::Storage(_, v) => format!("{v:#x}"),
            Write::Nonce(n) => n.to_string(),
            Write::Code(code) => format!("{} bytes of code", code.len()),
        }
    }
}

/// The writes a transaction (or effect) contributes to the list at its index: each
/// field it changed, at its value after it. Sorted by account, then field.
pub fn writes_of(changes: &TxChanges, access: &TxAccess) -> Vec<(Address, Write)> {
    let mut out = Vec::new();
    for (address, change) in &changes.accounts {
        let fields = access
            .accounts
            .iter()
            .filter(|(a, _)| a == address)
            .fold(Fields::NONE, |all, (_, f)| all.with(*f, true));
        match change {
            AccountChange::Destroyed => {
                if fields.has(Fields::BALANCE) {
                    out.push((*address, Write::Balance(U256::ZERO)));
                }
                if fields.has(Fields::NONCE) {
                    out.push((*address, Write::Nonce(0)));
                }
                if fields.has(Fields::CODE) {
                    out.push((*address, Write::Code(Bytes::new())));
                }
            }
            AccountChange::Updated { balance, nonce, code_hash, code, storage, .. } => {
                if fields.has(Fields::BALANCE) {
                    out.push((*address, Write::Balance(*balance)));
                }
                if fields.has(Fields::NONCE) {
                    out.push((*address, Write::Nonce(*nonce)));
                }
                if fields.has(Fields::CODE) {
                    let bytes = match code {
                        Some(code) if *code_hash != KECCAK_EMPTY => code.original_bytes(),
                        _ => Bytes::new(),
                    };
                    out.push((*address, Write::Code(bytes)));
                }
                out.extend(storage.iter().map(|(slot, value)| (*address, Write::Storage(*slot, *value))));
            }
        }
    }
    out
}

/// A list that execution contradicts: the first difference, in the order of
/// (index, account, field); differences without an index (an account or a storage
/// read listed or not) come after every indexed one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The block access index (0: before the transactions, n + 1: after them); None
    /// for an account or a storage read, which the list does not index.
    pub index: Option<u64>,
    pub account: Option<Address>,
    pub field: String,
    /// What the given list says, and what execution did ("absent" for nothing).
    pub listed: String,
    pub executed: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field == "structure" {
            return write!(f, "malformed block access list: {}", self.listed);
        }
        let at = match self.index {
            Some(index) => format!("at index {index}"),
            None => "outside any index".into(),
        };
        let account = self.account.map(|a| format!(", account {a}")).unwrap_or_default();
        write!(
            f,
            "block access list mismatch {at}{account}, {}: the list has {}, execution gives {}",
            self.field, self.listed, self.executed
        )
    }
}
