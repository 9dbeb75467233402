//! The block access list of an executed block, from each transaction's (and effect's)
//! changes and accesses: index 0 for the effects before the transactions, i + 1 for
//! transaction i, n + 1 for the effects after them.

use alloy_eips::eip7928::{
    AccountChanges, BalanceChange, BlockAccessIndex, CodeChange, NonceChange, SlotChanges, StorageChange,
};
use alloy_primitives::{map::HashMap, Address, U256};
use std::collections::{BTreeMap, BTreeSet};

use super::{writes_of, BlockAccessList, Write};
use crate::changes::{TxAccess, TxChanges};
use crate::result::BlockOutput;

#[derive(Default)]
struct Account {
    storage: BTreeMap<U256, Vec<StorageChange>>,
    reads: BTreeSet<U256>,
    balance: Vec<BalanceChange>,
    nonce: Vec<NonceChange>,
    code: Vec<CodeChange>,
}

/// Pushes `change` at `index`, or replaces the last one if it has the same index (two
/// effects before the transactions share index 0: the list holds the value after both).
fn put<T>(list: &mut Vec<T>, index: BlockAccessIndex, change: T, index_of: impl Fn(&T) -> BlockAccessIndex) {
    match list.last_mut() {
        Some(last) if index_of(last) == index => *last = change,
        _ => list.push(change),
    }
}

/// Collects the parts of a list, index by index in increasing order.
#[derive(Default)]
pub struct Builder {
    accounts: HashMap<Address, Account>,
}

impl Builder {
    pub fn add(&mut self, index: u64, changes: &TxChanges, access: &TxAccess) {
        let index = BlockAccessIndex::new(index);
        for (address, _) in &access.accounts {
            self.accounts.entry(*address).or_default();
        }
        for (address, slot) in &access.storage_reads {
            self.accounts.entry(*address).or_default().reads.insert(*slot);
        }
        for (address, write) in writes_of(changes, access) {
            let account = self.accounts.entry(address).or_default();
            match write {
                Write::Balance(v) => put(&mut account.balance, index, BalanceChange::new(index, v), |c| c.block_access_index),
                Write::Nonce(v) => put(&mut account.nonce, index, NonceChange::new(index, v), |c| c.block_access_index),
                Write::Code(v) => put(&mut account.code, index, CodeChange::new(index, v), |c| c.block_access_index),
                Write::Storage(slot, v) => {
                    let changes = account.storage.entry(slot).or_default();
                    put(changes, index, StorageChange::new(index, v), |c| c.block_access_index)
                }
            }
        }
    }

    pub fn finish(self) -> BlockAccessList {
        let mut list: BlockAccessList = self
            .accounts
            .into_iter()
            .map(|(address, a)| AccountChanges {
                address,
                storage_reads: a.reads.into_iter().filter(|slot| !a.storage.contains_key(slot)).collect(),
                storage_changes: a.storage.into_iter().map(|(slot, changes)| SlotChanges::new(slot, changes)).collect(),
                balance_changes: a.balance,
                nonce_changes: a.nonce,
                code_changes: a.code,
            })
            .collect();
        list.sort_unstable_by_key(|a| a.address);
        list
    }
}

/// The block's list: what `out`'s effects and transactions changed and accessed.
pub fn block_access_list(out: &BlockOutput) -> BlockAccessList {
    let n = out.tx_changes.len() as u64;
    let mut builder = Builder::default();
    let (before, after): (Vec<_>, Vec<_>) = out.effects.iter().partition(|e| e.effect.before_transactions());
    for effect in before {
        builder.add(0, &effect.changes, &effect.access);
    }
    for (i, (changes, access)) in out.tx_changes.iter().zip(&out.access).enumerate() {
        builder.add(i as u64 + 1, changes, access);
    }
    for effect in after {
        builder.add(n + 1, &effect.changes, &effect.access);
    }
    builder.finish()
}

/// The list's RLP encoding (EIP-7928: the list of account changes).
pub fn encode(list: &BlockAccessList) -> Vec<u8> {
    let mut out = Vec::new();
    alloy_rlp::encode_list(list, &mut out);
    out
}

/// keccak256 of the encoding: the header's `block_access_list_hash`.
pub fn hash(list: &BlockAccessList) -> alloy_primitives::B256 {
    alloy_eips::eip7928::compute_block_access_list_hash(list)
}
