//! A block access list as a view of the state: transaction i (index i + 1) reads the
//! pre-state (after the effects before the transactions) overlaid with the list's
//! writes of lower indices. A canonical list is its own index: accounts, slots and
//! change lists are sorted, so every lookup is a binary search and nothing is built.

use alloy_eips::eip7928::{AccountChanges, SlotChanges};
use std::borrow::Cow;
use alloy_primitives::{map::HashMap, Address, B256, U256};
use revm::database_interface::{Database, DatabaseRef};
use revm::state::bal::BlockAccessIndex;
use revm::state::{AccountInfo, Bytecode};
use std::convert::Infallible;

use super::Write;
use crate::state::{bytecode_of, WorldState};

/// A list ready for reading at any position: the list itself when it is canonical
/// (accounts, slots and change lists sorted: lookups are binary searches, nothing is
/// built), else a normalised copy (a hint need not be canonical: sorted, one account per
/// address and one write per index, the first account and the last write kept).
pub struct BalView<'l> {
    list: Cow<'l, [AccountChanges]>,
    /// Each account's position in `list`: a binary search over a big block's accounts
    /// misses the cache at every step.
    positions: HashMap<Address, u32>,
    /// Each written slot's position in its account's `storage_changes` (a hot
    /// contract's tens of thousands of slots: the same cache misses).
    slots: HashMap<(Address, U256), u32>,
    /// Code the list writes, analysed, by (account, index).
    code_at: HashMap<(Address, BlockAccessIndex), (B256, Bytecode)>,
    /// The same code by hash (what revm asks `code_by_hash` for).
    codes: HashMap<B256, Bytecode>,
    /// How many writes the list has at each index (0..=n+1).
    writes_at: Vec<u32>,
}

fn normalised(list: &[AccountChanges]) -> Vec<AccountChanges> {
    fn by_index<T: Clone>(changes: &[T], index: impl Fn(&T) -> BlockAccessIndex) -> Vec<T> {
        let mut all = changes.to_vec();
        all.sort_by_key(&index); // stable: of two writes at one index, the later one wins
        let mut out: Vec<T> = Vec::with_capacity(all.len());
        for c in all {
            match out.last_mut() {
                Some(last) if index(last) == index(&c) => *last = c,
                _ => out.push(c),
            }
        }
        out
    }
    let mut out: Vec<AccountChanges> = Vec::with_capacity(list.len());
    let mut sorted: Vec<&AccountChanges> = list.iter().collect();
    sorted.sort_by_key(|a| a.address);
    for a in sorted {
        if out.last().is_some_and(|last| last.address == a.address) {
            continue;
        }
        let mut slots: Vec<SlotChanges> = a
            .storage_changes
            .iter()
            .map(|s| SlotChanges::new(s.slot, by_index(&s.changes, |c| c.block_access_index)))
            .collect();
        slots.sort_by_key(|s| s.slot);
        slots.dedup_by_key(|s| s.slot);
        out.push(AccountChanges {
            address: a.address,
            storage_changes: slots,
            storage_reads: a.storage_reads.clone(),
            balance_changes: by_index(&a.balance_changes, |c| c.block_access_index),
            nonce_changes: by_index(&a.nonce_changes, |c| c.block_access_index),
            code_changes: by_index(&a.code_changes, |c| c.block_access_index),
        });
    }
    out
}

/// The last change below `at` in a list sorted by index. Indices are distinct, so the
/// change at position p has an index of at least p: only the first `at` can be below
/// it, and in a dense list (the coinbase's balance, written by every transaction) the
/// answer is one of the last two of those.
fn below<T>(changes: &[T], at: BlockAccessIndex, index: impl Fn(&T) -> BlockAccessIndex) -> Option<&T> {
    let head = &changes[..changes.len().min(usize::try_from(at.get()).unwrap_or(usize::MAX))];
    let n = head.len();
    for p in (n.saturating_sub(2)..n).rev() {
        if index(&head[p]) < at {
            if head.get(p + 1).is_none_or(|next| index(next) >= at) {
                return Some(&head[p]);
            }
            break;
        }
    }
    let p = head.partition_point(|c| index(c) < at);
    p.checked_sub(1).map(|i| &head[i])
}

/// The change at exactly `at`.
fn exact<T>(changes: &[T], at: BlockAccessIndex, index: impl Fn(&T) -> BlockAccessIndex) -> Option<&T> {
    changes.binary_search_by_key(&at, index).ok().map(|i| &changes[i])
}

impl<'l> BalView<'l> {
    /// `transactions`: the block's count (indices above n + 1 are kept but never read).
    pub fn new(list: &'l [AccountChanges], transactions: usize) -> BalView<'l> {
        let list = match super::check::check_structure(list, transactions) {
            Ok(()) => Cow::Borrowed(list),
            Err(_) => Cow::Owned(normalised(list)),
        };
        let mut writes_at = vec![0u32; transactions + 2];
        let mut count = |index: BlockAccessIndex| {
            if let Some(c) = usize::try_from(index.get()).ok().and_then(|i| writes_at.get_mut(i)) {
                *c += 1;
            }
        };
        let (mut code_at, mut codes) = (HashMap::default(), HashMap::default());
        let mut positions = HashMap::with_capacity_and_hasher(list.len(), Default::default());
        let written: usize = list.iter().map(|a| a.storage_changes.len()).sum();
        let mut slots = HashMap::with_capacity_and_hasher(written, Default::default());
        for (i, a) in list.iter().enumerate() {
            positions.insert(a.address, i as u32);
            for (j, s) in a.storage_changes.iter().enumerate() {
                slots.insert((a.address, s.slot), j as u32);
            }
            a.balance_changes.iter().for_each(|c| count(c.block_access_index));
            a.nonce_changes.iter().for_each(|c| count(c.block_access_index));
            a.storage_changes.iter().flat_map(|s| &s.changes).for_each(|c| count(c.block_access_index));
            for c in &a.code_changes {
                count(c.block_access_index);
                let (hash, code) = if c.new_code.is_empty() {
                    (revm::primitives::KECCAK_EMPTY, Bytecode::default())
                } else {
                    (alloy_primitives::keccak256(&c.new_code), bytecode_of(&c.new_code))
                };
                if !c.new_code.is_empty() {
                    codes.insert(hash, code.clone());
                }
                code_at.insert((a.address, c.block_access_index), (hash, code));
            }
        }
        BalView { list, positions, slots, code_at, codes, writes_at }
    }

    fn account(&self, address: &Address) -> Option<&AccountChanges> {
        self.positions.get(address).map(|&i| &self.list[i as usize])
    }

    fn slot(&self, address: &Address, slot: &U256) -> Option<&SlotChanges> {
        let &j = self.slots.get(&(*address, *slot))?;
        self.account(address).map(|a| &a.storage_changes[j as usize])
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
            let Some(a) = self.account(address) else { return false };
            match write {
                Write::Balance(v) => exact(&a.balance_changes, at, |c| c.block_access_index).is_some_and(|c| c.post_balance == *v),
                Write::Nonce(v) => exact(&a.nonce_changes, at, |c| c.block_access_index).is_some_and(|c| c.new_nonce == *v),
                Write::Code(bytes) => exact(&a.code_changes, at, |c| c.block_access_index).is_some_and(|c| c.new_code == *bytes),
                Write::Storage(slot, v) => self
                    .slot(address, slot)
                    .and_then(|s| exact(&s.changes, at, |c| c.block_access_index))
                    .is_some_and(|c| c.new_value == *v),
            }
        })
    }
}

/// revm's database for one transaction: `base` overlaid with `view`'s writes below
/// `index`. Records what it answers (`reads`).
pub struct BalDb<'a> {
    pub base: &'a WorldState,
    pub view: &'a BalView<'a>,
    pub index: BlockAccessIndex,
    /// Accounts that start afresh at some index (`TxAccess::resets`), known to the
    /// in-order commit: it re-executes here a transaction that loaded one.
    pub resets: Option<&'a Resets>,
}

/// Per account, the indices at which it starts afresh (the resetting transaction's own
/// index, ascending) and whether it exists then.
pub type Resets = HashMap<Address, Vec<(BlockAccessIndex, bool)>>;

impl<'a> BalDb<'a> {
    pub fn new(base: &'a WorldState, view: &'a BalView<'a>) -> Self {
        BalDb { base, view, index: BlockAccessIndex::new(1), resets: None }
    }

    /// The last reset of `address` a read at this index sees: its index and whether the
    /// account exists after it.
    fn reset(&self, address: &Address) -> Option<(BlockAccessIndex, bool)> {
        let resets = self.resets?.get(address)?;
        resets.iter().rev().find(|(at, _)| *at < self.index).copied()
    }

    fn storage_value(&self, address: Address, slot: U256) -> U256 {
        let written = self.view.slot(&address, &slot).and_then(|s| below(&s.changes, self.index, |c| c.block_access_index));
        match self.reset(&address) {
            // After a reset only later writes count; the storage it had is gone.
            Some((reset, _)) => written.filter(|c| c.block_access_index > reset).map_or(U256::ZERO, |c| c.new_value),
            None => written.map(|c| c.new_value).unwrap_or_else(|| self.base.storage_ref(address, slot).unwrap_or_default()),
        }
    }
}

impl Database for BalDb<'_> {
    type Error = Infallible;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Infallible> {
        let reset = self.reset(&address);
        let mut info = match reset {
            Some((_, exists)) => exists.then(AccountInfo::default),
            None => self.base.basic_ref(address)?,
        };
        // After a reset, only the writes of later transactions count (the resetting
        // one's own are the zeros of a destruction).
        let after = |index: BlockAccessIndex| reset.is_none_or(|(r, _)| index > r);
        if let Some(a) = self.view.account(&address) {
            let at = self.index;
            let balance = below(&a.balance_changes, at, |c| c.block_access_index)
                .filter(|c| after(c.block_access_index))
                .map(|c| c.post_balance);
            let nonce = below(&a.nonce_changes, at, |c| c.block_access_index)
                .filter(|c| after(c.block_access_index))
                .map(|c| c.new_nonce);
            let code = below(&a.code_changes, at, |c| c.block_access_index)
                .filter(|c| after(c.block_access_index))
                .and_then(|c| self.view.code_at.get(&(address, c.block_access_index)));
            // An account the list writes exists from its first write on.
            if balance.is_some() || nonce.is_some() || code.is_some() {
                let overlaid = info.get_or_insert_with(AccountInfo::default);
                if let Some(balance) = balance {
                    overlaid.balance = balance;
                }
                if let Some(nonce) = nonce {
                    overlaid.nonce = nonce;
                }
                if let Some((hash, code)) = code {
                    overlaid.code_hash = *hash;
                    overlaid.code = Some(code.clone());
                }
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
        if let Some((reset, _)) = self.reset(&address) {
            // Only what later transactions wrote (listed as written slots).
            let Some(a) = self.view.account(&address) else { return false };
            return a.storage_changes.iter().any(|s| {
                below(&s.changes, self.index, |c| c.block_access_index)
                    .is_some_and(|c| c.block_access_index > reset && !c.new_value.is_zero())
            });
        }
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
        let list = [a];
        let view = BalView::new(&list, 4);
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
        let list = [a];
        let view = BalView::new(&list, 1);
        let both = [(A, Write::Balance(U256::from(10))), (A, Write::Nonce(1))];
        assert!(view.matches(1, &both));
        assert!(!view.matches(1, &both[..1]));
        assert!(!view.matches(1, &[(A, Write::Balance(U256::from(11))), (A, Write::Nonce(1))]));
        assert!(!view.matches(2, &both));
        assert!(view.matches(2, &[]));
    }
}
