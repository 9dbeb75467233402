//! A transaction's state transition: what it changed, in a form both executors share.
//!
//! revm reports everything a transaction loaded (`EvmState`); this keeps only what it
//! changed, with revm's commit semantics made explicit: self-destructed and
//! touched-empty accounts (EIP-161) are destroyed, created accounts start from empty
//! storage. Sequential and parallel execution both go through `from_evm_state`, so
//! their per-transaction changes are comparable bit for bit.

use alloy_primitives::{Address, B256, U256};
use revm::state::{Bytecode, EvmState};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountChange {
    /// The account does not exist after the transaction; its storage is gone.
    Destroyed,
    /// The account exists with these fields. With `storage_cleared`, every slot
    /// not listed in `storage` is zero (the account was created by this transaction).
    Updated {
        balance: U256,
        nonce: u64,
        code_hash: B256,
        /// Set when the code changed (a creation); otherwise the code is unchanged.
        code: Option<Bytecode>,
        storage_cleared: bool,
        storage: Vec<(U256, U256)>,
    },
}

/// Changes of one transaction, sorted by address (and slot) for determinism.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxChanges {
    pub accounts: Vec<(Address, AccountChange)>,
}

/// Which of an account's fields a transaction changed (net over the transaction).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fields(u8);

impl Fields {
    pub const NONE: Fields = Fields(0);
    pub const BALANCE: Fields = Fields(1);
    pub const NONCE: Fields = Fields(2);
    pub const CODE: Fields = Fields(4);

    pub const fn with(self, other: Fields, when: bool) -> Fields {
        if when { Fields(self.0 | other.0) } else { self }
    }

    pub const fn has(self, field: Fields) -> bool {
        self.0 & field.0 != 0
    }

    pub const fn bits(self) -> u8 {
        self.0
    }

    pub const fn from_bits(bits: u8) -> Fields {
        Fields(bits & 7)
    }
}

/// What a transaction (or block-level effect) accessed, beyond what it changed: the
/// EIP-7928 block access list is built from this and the changes (bal/).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxAccess {
    /// Every account it loaded, with the fields it changed.
    pub accounts: Vec<(Address, Fields)>,
    /// Storage slots it loaded and left unchanged (every slot of an account it destroyed).
    pub storage_reads: Vec<(Address, U256)>,
    /// The accounts whose change a block access list cannot express, with whether they
    /// exist after it: an account that existed and is destroyed (false), an empty
    /// account brought into existence before EIP-161 (true). Either way its fields and
    /// storage start afresh (empty) after the transaction: a view of the state built
    /// from the list must reset them there (bal/view.rs).
    pub resets: Vec<(Address, bool)>,
}

impl TxAccess {
    /// The access of changes made without revm (a lazy transfer, a reward): exactly the
    /// accounts changed, with the given fields.
    pub fn of_fields(accounts: Vec<(Address, Fields)>) -> TxAccess {
        TxAccess { accounts, storage_reads: Vec::new(), resets: Vec::new() }
    }
}

impl TxChanges {
    /// The changes of `state` (revm's record of a transaction) and what it accessed.
    pub fn from_evm_state(state: EvmState) -> (TxChanges, TxAccess) {
        let mut accounts = Vec::with_capacity(state.len());
        let mut access = TxAccess { accounts: Vec::with_capacity(state.len()), storage_reads: Vec::new(), resets: Vec::new() };
        for (address, account) in state {
            let original = account.original_info();
            let existed = !account.is_loaded_as_not_existing();
            // What was read and not changed; a destroyed account's writes are gone.
            let destroyed = account.is_touched()
                && (account.is_selfdestructed() || (!account.is_created() && account.is_empty() && existed));
            access.storage_reads.extend(
                account.storage.iter().filter(|(_, slot)| destroyed || !slot.is_changed()).map(|(k, _)| (address, *k)),
            );
            if !account.is_touched() {
                access.accounts.push((address, Fields::NONE));
                continue;
            }
            if destroyed {
                let was = |present: bool| existed && present;
                let fields = Fields::NONE
                    .with(Fields::BALANCE, was(!original.balance.is_zero()))
                    .with(Fields::NONCE, was(original.nonce != 0))
                    .with(Fields::CODE, was(original.code_hash != revm::primitives::KECCAK_EMPTY));
                access.accounts.push((address, fields));
                // A destroyed account that existed: the list shows zeros, not the absence
                // (nor the storage it loses).
                if existed {
                    access.resets.push((address, false));
                }
                accounts.push((address, AccountChange::Destroyed));
                continue;
            }
            let created = account.is_created();
            if !created && account.is_empty() {
                // EIP-161 (revm already turned pre-Spurious-Dragon touches into
                // creations or no-ops). An account that never existed stays absent.
                access.accounts.push((address, Fields::NONE));
                continue;
            }
            let mut storage: Vec<(U256, U256)> = account
                .storage
                .iter()
                .filter(|(_, slot)| slot.is_changed())
                .map(|(k, slot)| (*k, slot.present_value))
                .collect();
            let info = &account.info;
            let fields = Fields::NONE
                .with(Fields::BALANCE, info.balance != original.balance)
                .with(Fields::NONCE, info.nonce != original.nonce)
                .with(Fields::CODE, info.code_hash != original.code_hash);
            access.accounts.push((address, fields));
            // An empty account brought into existence (a touch before EIP-161): nothing
            // in the list says it exists.
            if !existed && fields == Fields::NONE {
                access.resets.push((address, true));
            }
            let info_changed = created || fields != Fields::NONE || !existed;
            if !info_changed && storage.is_empty() {
                continue;
            }
            storage.sort_unstable_by_key(|(k, _)| *k);
            let code = if created || info.code_hash != original.code_hash {
                info.code.clone()
            } else {
                None
            };
            accounts.push((
                address,
                AccountChange::Updated {
                    balance: info.balance,
                    nonce: info.nonce,
                    code_hash: info.code_hash,
                    code,
                    storage_cleared: created,
                    storage,
                },
            ));
        }
        accounts.sort_unstable_by_key(|(a, _)| *a);
        (TxChanges { accounts }, access)
    }
}
