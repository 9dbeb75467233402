//! A block access list as a view of the state: transaction i (index i + 1) reads the
//! pre-state (after the effects before the transactions) overlaid with the list's
//! writes of lower indices. The index is revm's (`revm::state::bal`): per location, the
//! writes sorted by index, looked up by binary search.

use alloy_eips::eip7928::AccountChanges;
use alloy_primitives::{map::HashMap, Address, B256, U256};
use revm::database_interface::{Database, DatabaseRef};
use revm::state::bal::{AccountBal, BalWrites, BlockAccessIndex};
use revm::state::{AccountInfo, Bytecode};
use std::convert::Infallible;

use super::Write;
use crate::state::{bytecode_of, WorldState};

/// A list indexed for reading at any position, normalised (every change list sorted by
/// index, one write per index: a hint need not be canonical).
pub struct BalView {
    accounts: HashMap<Address, AccountBal>,
    /// Code written by the list, by hash.
    codes: HashMap<B256, Bytecode>,
    /// How many writes the list has at each index (0..=n+1).
    writes_at: Vec<u32>,
}

fn writes<T: PartialEq + Clone>(changes: impl Iterator<Item = (BlockAccessIndex, T)>, counts: &mut [u32]) -> BalWrites<T> {
    let mut all: Vec<(BlockAccessIndex, T)> = changes.collect();
    // Stable: of two writes at one index, the later one in the list wins.
    all.sort_by_key(|(index, _)| *index);
    let mut out: Vec<(BlockAccessIndex, T)> = Vec::with_capacity(all.len());
    for (index, value) in all {
        match out.last_mut() {
            Some(last) if last.0 == index => last.1 = value,
            _ => out.push((index, value)),
        }
    }
    for (index, _) in &out {
        if let Some(count) = usize::try_from(index.get()).ok().and_then(|i| counts.get_mut(i)) {
            *count += 1;
        }
    }
    BalWrites { writes: out }
}

impl BalView {
    /// `transactions`: the block's count (indices above n + 1 are kept but never read).
    pub fn new(list: &[AccountChanges], transactions: usize) -> BalView {
        let mut counts = vec![0u32; transactions + 2];
        let mut accounts: HashMap<Address, AccountBal> = HashMap::default();
        let mut codes = HashMap::default();
        for a in list {
            let account = accounts.entry(a.address).or_default();
            let balance = writes(a.balance_changes.iter().map(|c| (c.block_access_index, c.post_balance)), &mut counts);
            let nonce = writes(a.nonce_changes.iter().map(|c| (c.block_access_index, c.new_nonce)), &mut counts);
            let code = writes(
                a.code_changes.iter().map(|c| {
                    let code = bytecode_of(&c.new_code);
                    let hash = if c.new_code.is_empty() { revm::primitives::KECCAK_EMPTY } else { alloy_primitives::keccak256(&c.new_code) };
                    if !c.new_code.is_empty() {
                        codes.insert(hash, code.clone());
                    }
                    (c.block_access_index, (hash, code))
                }),
                &mut counts,
            );
            // A repeated account (a hint) keeps its first entry's fields.
            if account.account_info.balance.is_empty() {
                account.account_info.balance = balance;
            }
            if account.account_info.nonce.is_empty() {
                account.account_info.nonce = nonce;
            }
            if account.account_info.code.is_empty() {
                account.account_info.code = code;
            }
            for slot in &a.storage_changes {
                let slot_writes = writes(slot.changes.iter().map(|c| (c.block_access_index, c.new_value)), &mut counts);
                account.storage.storage.entry(slot.slot).or_insert(slot_writes);
            }
        }
        BalView { accounts, codes, writes_at: counts }
    }

    /// Whether `executed` — the writes of the transaction or effects at `index` — are
    /// exactly the list's writes there: each one listed with its value, and nothing else.
    pub fn matches(&self, index: u64, executed: &[(Address, Write)]) -> bool {
        let listed = usize::try_from(index).ok().and_then(|i| self.writes_at.get(i)).copied().unwrap_or(0);
        if executed.len() != listed as usize {
            return false;
        }
        let at = BlockAccessIndex::new(index);
        executed.iter().all(|(address, write)| {
            let Some(account) = self.accounts.get(address) else { return false };
            let info = &account.account_info;
            match write {
                Write::Balance(v) => exact(&info.balance.writes, at).is_some_and(|i| info.balance.writes[i].1 == *v),
                Write::Nonce(v) => exact(&info.nonce.writes, at).is_some_and(|i| info.nonce.writes[i].1 == *v),
                Write::Code(bytes) => {
                    exact(&info.code.writes, at).is_some_and(|i| info.code.writes[i].1 .1.original_bytes() == *bytes)
                }
                Write::Storage(slot, v) => account
                    .storage
                    .storage
                    .get(slot)
                    .and_then(|w| exact(&w.writes, at).map(|i| w.writes[i].1 == *v))
                    .unwrap_or(false),
            }
        })
    }
}

/// The position of the write at exactly `at`.
fn exact<T>(writes: &[(BlockAccessIndex, T)], at: BlockAccessIndex) -> Option<usize> {
    writes.binary_search_by_key(&at, |(i, _)| *i).ok()
}

/// revm's database for one transaction: `base` overlaid with `view`'s writes below
/// `index`. Records what it answers (`reads`).
pub struct BalDb<'a> {
    pub base: &'a WorldState,
    pub view: &'a BalView,
    pub index: BlockAccessIndex,
}

impl<'a> BalDb<'a> {
    pub fn new(base: &'a WorldState, view: &'a BalView) -> Self {
        BalDb { base, view, index: BlockAccessIndex::new(1) }
    }

    fn storage_value(&self, address: Address, slot: U256) -> U256 {
        self.view
            .accounts
            .get(&address)
            .and_then(|a| a.storage.storage.get(&slot))
            .and_then(|w| w.get(self.index))
            .unwrap_or_else(|| self.base.storage_ref(address, slot).unwrap_or_default())
    }
}

impl Database for BalDb<'_> {
    type Error = Infallible;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Infallible> {
        let mut info = self.base.basic_ref(address)?;
        if let Some(account) = self.view.accounts.get(&address) {
            let existed = info.is_some();
            let mut overlaid = info.take().unwrap_or_default();
            // An account the list writes exists from its first write on.
            if account.populate_account_info(self.index, &mut overlaid) || existed {
                info = Some(overlaid);
            }
        }
        Ok(info)
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Infallible> {
        Ok(self
            .base
            .code(&code_hash)
            .or_else(|| self.view.codes.get(&code_hash))
            .cloned()
            .unwrap_or_default())
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Infallible> {
        Ok(self.storage_value(address, index))
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Infallible> {
        self.base.block_hash_ref(number)
    }
}

impl crate::eip7610::StorageProbe for BalDb<'_> {
    /// As in parallel/vm_db.rs: storage at a create target comes from the pre-state; the
    /// list can only have zeroed it.
    fn has_storage(&mut self, address: Address) -> bool {
        self.base.accounts.get(&address).is_some_and(|account| {
            account.storage.keys().any(|slot| !self.storage_value(address, *slot).is_zero())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_eips::eip7928::{BalanceChange, NonceChange};
    use alloy_primitives::address;

    const A: Address = address!("00000000000000000000000000000000000000aa");

    #[test]
    fn reads_see_the_last_write_below_their_index() {
        let mut a = AccountChanges::new(A);
        a.balance_changes = vec![
            BalanceChange::new(BlockAccessIndex::new(1), U256::from(10)),
            BalanceChange::new(BlockAccessIndex::new(3), U256::from(30)),
        ];
        a.nonce_changes = vec![NonceChange::new(BlockAccessIndex::new(3), 1)];
        let view = BalView::new(&[a], 4);
        let base = WorldState::default();
        let mut db = BalDb::new(&base, &view);
        db.index = BlockAccessIndex::new(1);
        assert_eq!(db.basic(A).unwrap(), None); // nothing below index 1, not in the base
        db.index = BlockAccessIndex::new(2);
        assert_eq!(db.basic(A).unwrap().map(|i| (i.balance, i.nonce)), Some((U256::from(10), 0)));
        db.index = BlockAccessIndex::new(4);
        assert_eq!(db.basic(A).unwrap().map(|i| (i.balance, i.nonce)), Some((U256::from(30), 1)));
    }

    #[test]
    fn matches_needs_every_write_and_nothing_else() {
        let mut a = AccountChanges::new(A);
        a.balance_changes = vec![BalanceChange::new(BlockAccessIndex::new(1), U256::from(10))];
        a.nonce_changes = vec![NonceChange::new(BlockAccessIndex::new(1), 1)];
        let view = BalView::new(&[a], 1);
        let both = [(A, Write::Balance(U256::from(10))), (A, Write::Nonce(1))];
        assert!(view.matches(1, &both));
        assert!(!view.matches(1, &both[..1]));
        assert!(!view.matches(1, &[(A, Write::Balance(U256::from(11))), (A, Write::Nonce(1))]));
        assert!(!view.matches(2, &both));
        assert!(view.matches(2, &[]));
    }
}
