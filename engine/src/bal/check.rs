//! Checking a given block access list against the one execution produced: the first
//! difference, in the order (index, account, field), names the mismatch.

use alloy_eips::eip7928::AccountChanges;
use alloy_primitives::{Address, U256};
use std::ops::RangeInclusive;

use super::{Mismatch, Write};

/// Where an item of a list sits in the comparison order. Items without an index (an
/// account's presence, a storage read) come after every indexed one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    index: u64,
    address: Address,
    /// 0 balance, 1 nonce, 2 code, 3 storage; unindexed: 0 the account, 1 a read.
    rank: u8,
    slot: U256,
}

const UNINDEXED: u64 = u64::MAX;

/// The list's items, sorted; with `indices`, only the indexed ones in that range.
fn items(list: &[AccountChanges], indices: Option<&RangeInclusive<u64>>) -> Vec<(Key, Option<Write>)> {
    let wanted = |index: u64| indices.is_none_or(|range| range.contains(&index));
    let mut out = Vec::new();
    for a in list {
        let key = |index: u64, rank: u8, slot: U256| Key { index, address: a.address, rank, slot };
        if indices.is_none() {
            out.push((key(UNINDEXED, 0, U256::ZERO), None));
            out.extend(a.storage_reads.iter().map(|slot| (key(UNINDEXED, 1, *slot), None)));
        }
        for c in a.balance_changes.iter().filter(|c| wanted(c.block_access_index.get())) {
            out.push((key(c.block_access_index.get(), 0, U256::ZERO), Some(Write::Balance(c.post_balance))));
        }
        for c in a.nonce_changes.iter().filter(|c| wanted(c.block_access_index.get())) {
            out.push((key(c.block_access_index.get(), 1, U256::ZERO), Some(Write::Nonce(c.new_nonce))));
        }
        for c in a.code_changes.iter().filter(|c| wanted(c.block_access_index.get())) {
            out.push((key(c.block_access_index.get(), 2, U256::ZERO), Some(Write::Code(c.new_code.clone()))));
        }
        for s in &a.storage_changes {
            for c in s.changes.iter().filter(|c| wanted(c.block_access_index.get())) {
                out.push((key(c.block_access_index.get(), 3, s.slot), Some(Write::Storage(s.slot, c.new_value))));
            }
        }
    }
    out.sort();
    out
}

fn describe(key: &Key, item: Option<&Option<Write>>) -> (String, String) {
    let field = match (key.index, key.rank) {
        (UNINDEXED, 0) => "account".to_string(),
        (UNINDEXED, _) => format!("storage read {:#x}", key.slot),
        (_, 3) => format!("storage slot {:#x}", key.slot),
        (_, rank) => ["balance", "nonce", "code"][rank as usize].to_string(),
    };
    let value = match item {
        None => "absent".to_string(),
        Some(None) => "it listed".to_string(),
        Some(Some(write)) => write.value(),
    };
    (field, value)
}

/// The first difference between `listed` and `executed`, comparing only indexed items
/// with an index in `indices` (None: everything, unindexed items included).
pub fn first_mismatch(
    listed: &[AccountChanges],
    executed: &[AccountChanges],
    indices: Option<RangeInclusive<u64>>,
) -> Option<Mismatch> {
    if indices.is_none() && listed == executed {
        return None; // the common case, without building the items
    }
    let listed = items(listed, indices.as_ref());
    let executed = items(executed, indices.as_ref());
    let (mut l, mut e) = (listed.iter().peekable(), executed.iter().peekable());
    loop {
        let key = match (l.peek(), e.peek()) {
            (None, None) => return None,
            (Some((lk, lv)), Some((ek, ev))) if lk == ek => {
                if lv != ev {
                    lk.clone()
                } else {
                    l.next();
                    e.next();
                    continue;
                }
            }
            (Some((lk, _)), Some((ek, _))) => lk.min(ek).clone(),
            (Some((lk, _)), None) => lk.clone(),
            (None, Some((ek, _))) => ek.clone(),
        };
        let find = |items: &[(Key, Option<Write>)]| items.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
        let (listed_item, executed_item) = (find(&listed), find(&executed));
        let (field, listed_value) = describe(&key, listed_item.as_ref());
        let (_, executed_value) = describe(&key, executed_item.as_ref());
        return Some(Mismatch {
            index: (key.index != UNINDEXED).then_some(key.index),
            account: Some(key.address),
            field,
            listed: listed_value,
            executed: executed_value,
        });
    }
}

/// EIP-7928's canonical form: accounts and slots sorted and unique, change lists sorted
/// by index, every index within the block (alloy's validation).
pub fn check_structure(list: &[AccountChanges], transactions: usize) -> Result<(), Mismatch> {
    alloy_eips::eip7928::validate_block_access_list(list, transactions).map_err(|e| Mismatch {
        index: None,
        account: None,
        field: "structure".into(),
        listed: e.to_string(),
        executed: "a canonical list (EIP-7928)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_eips::eip7928::{BalanceChange, BlockAccessIndex, SlotChanges, StorageChange};
    use alloy_primitives::address;

    fn account(a: Address, balances: &[(u64, u64)], slots: &[(u64, &[(u64, u64)])], reads: &[u64]) -> AccountChanges {
        let mut c = AccountChanges::new(a);
        c.balance_changes = balances.iter().map(|&(i, v)| BalanceChange::new(BlockAccessIndex::new(i), U256::from(v))).collect();
        c.storage_changes = slots
            .iter()
            .map(|&(slot, changes)| {
                SlotChanges::new(
                    U256::from(slot),
                    changes.iter().map(|&(i, v)| StorageChange::new(BlockAccessIndex::new(i), U256::from(v))).collect(),
                )
            })
            .collect();
        c.storage_reads = reads.iter().map(|&r| U256::from(r)).collect();
        c
    }

    const A: Address = address!("00000000000000000000000000000000000000aa");
    const B: Address = address!("00000000000000000000000000000000000000bb");

    #[test]
    fn equal_lists_have_no_mismatch() {
        let list = vec![account(A, &[(1, 5)], &[(3, &[(2, 9)])], &[4]), account(B, &[(2, 1)], &[], &[])];
        assert_eq!(first_mismatch(&list, &list.clone(), None), None);
    }

    #[test]
    fn the_lowest_index_comes_first_then_account_then_field() {
        let executed = vec![account(A, &[(1, 5), (3, 7)], &[(3, &[(2, 9)])], &[]), account(B, &[(2, 1)], &[], &[])];
        // Wrong at index 3 (A's balance) and at index 2 (B's balance): index 2 is named.
        let listed = vec![account(A, &[(1, 5), (3, 8)], &[(3, &[(2, 9)])], &[]), account(B, &[(2, 2)], &[], &[])];
        let m = first_mismatch(&listed, &executed, None).unwrap();
        assert_eq!((m.index, m.account, m.field.as_str(), m.listed.as_str(), m.executed.as_str()), (Some(2), Some(B), "balance", "0x2", "0x1"));
    }

    #[test]
    fn a_missing_and_an_extra_entry_are_named() {
        let executed = vec![account(A, &[(1, 5)], &[(3, &[(2, 9)])], &[])];
        let missing = vec![account(A, &[(1, 5)], &[], &[])];
        let m = first_mismatch(&missing, &executed, None).unwrap();
        assert_eq!((m.index, m.field.as_str(), m.listed.as_str(), m.executed.as_str()), (Some(2), "storage slot 0x3", "absent", "0x9"));
        let extra = vec![account(A, &[(1, 5)], &[(3, &[(2, 9)])], &[7])];
        let m = first_mismatch(&extra, &executed, None).unwrap();
        assert_eq!((m.index, m.field.as_str(), m.listed.as_str(), m.executed.as_str()), (None, "storage read 0x7", "it listed", "absent"));
        let m = first_mismatch(&[], &executed, None).unwrap();
        assert_eq!(m.index, Some(1)); // indexed items first, the account's presence last
    }

    #[test]
    fn a_range_compares_only_its_indices() {
        let executed = vec![account(A, &[(1, 5), (2, 6)], &[], &[4])];
        let listed = vec![account(A, &[(1, 5), (2, 7)], &[], &[])];
        assert_eq!(first_mismatch(&listed, &executed, Some(1..=1)), None);
        assert_eq!(first_mismatch(&listed, &executed, Some(2..=2)).unwrap().index, Some(2));
    }

    #[test]
    fn structure_is_alloys_canonical_form() {
        let sorted = vec![account(A, &[(1, 5)], &[], &[]), account(B, &[], &[], &[])];
        assert!(check_structure(&sorted, 1).is_ok());
        let unsorted = vec![sorted[1].clone(), sorted[0].clone()];
        assert_eq!(check_structure(&unsorted, 1).unwrap_err().field, "structure");
        let beyond = vec![account(A, &[(3, 5)], &[], &[])];
        assert!(check_structure(&beyond, 1).is_err()); // index 3 > n + 1 = 2
    }
}
