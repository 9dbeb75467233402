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

impl TxChanges {
    pub fn from_evm_state(state: EvmState) -> TxChanges {
        let mut accounts = Vec::with_capacity(state.len());
        for (address, account) in state {
            if !account.is_touched() {
                continue;
            }
            if account.is_selfdestructed() {
                accounts.push((address, AccountChange::Destroyed));
                continue;
            }
            let created = account.is_created();
            if !created && account.is_empty() {
                // EIP-161 (revm already turned pre-Spurious-Dragon touches into
                // creations or no-ops). An account that never existed stays absent.
                if !account.is_loaded_as_not_existing() {
                    accounts.push((address, AccountChange::Destroyed));
                }
                continue;
            }
            let mut storage: Vec<(U256, U256)> = account
                .storage
                .iter()
                .filter(|(_, slot)| slot.is_changed())
                .map(|(k, slot)| (*k, slot.present_value))
                .collect();
            let original = account.original_info();
            let info = &account.info;
            let info_changed = created
                || info.balance != original.balance
                || info.nonce != original.nonce
                || info.code_hash != original.code_hash
                || account.is_loaded_as_not_existing();
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
        TxChanges { accounts }
    }
}
