//! Merkle-Patricia roots (alloy-trie's `HashBuilder`), built in parallel where the trie
//! is large: a trie whose keys start with at least two different nibbles has a branch
//! at its root, and the sixteen subtries below it are independent.

use alloy_primitives::{keccak256, B256, U256};
use alloy_trie::nodes::{BranchNode, RlpNode};
use alloy_trie::{HashBuilder, Nibbles, TrieMask, EMPTY_ROOT_HASH};
use rayon::prelude::*;

/// Below this many leaves one thread builds the whole trie: splitting costs more.
pub const PARALLEL_FROM_LEAVES: usize = 2_048;

/// The root of a trie of `(hashed key, RLP value)` leaves, in any order.
pub fn trie_root(leaves: Vec<(B256, Vec<u8>)>) -> B256 {
    let unpack = |(key, value): (B256, Vec<u8>)| (Nibbles::unpack(key), value);
    nibble_trie_root(if leaves.len() < PARALLEL_FROM_LEAVES {
        leaves.into_iter().map(unpack).collect()
    } else {
        leaves.into_par_iter().map(unpack).collect()
    })
}

/// The root of a trie of `(key path, value)` leaves, in any order; no key may be a
/// prefix of another (hashed keys, RLP-encoded indices).
pub fn nibble_trie_root(mut leaves: Vec<(Nibbles, Vec<u8>)>) -> B256 {
    if leaves.is_empty() {
        return EMPTY_ROOT_HASH;
    }
    if leaves.len() < PARALLEL_FROM_LEAVES {
        leaves.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        return serial_root(&leaves, 0);
    }
    leaves.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let first = |leaf: &(Nibbles, Vec<u8>)| leaf.0.get_unchecked(0);
    let groups: Vec<&[(Nibbles, Vec<u8>)]> = leaves.chunk_by(|a, b| first(a) == first(b)).collect();
    if groups.len() < 2 {
        // One first nibble for every key: the root is an extension, not a branch.
        return serial_root(&leaves, 0);
    }
    // Each group is the subtrie at depth 1: keys without their first nibble. With this
    // many leaves its root node holds a long path or hashes, so it is over 32 bytes and
    // referenced by hash (never inlined).
    let children: Vec<(u8, B256)> = groups.par_iter().map(|group| (first(&group[0]), serial_root(group, 1))).collect();
    let mut mask = 0u16;
    let mut stack = Vec::with_capacity(children.len());
    for (nibble, hash) in children {
        mask |= 1 << nibble;
        stack.push(RlpNode::word_rlp(&hash));
    }
    let branch = BranchNode { stack, state_mask: TrieMask::new(mask) };
    let mut rlp = Vec::with_capacity(17 * 33 + 3);
    alloy_rlp::Encodable::encode(&branch, &mut rlp);
    keccak256(&rlp)
}

/// The root hash of the (sub)trie of sorted `leaves`, their keys read from nibble `skip` on.
fn serial_root(leaves: &[(Nibbles, Vec<u8>)], skip: usize) -> B256 {
    let mut builder = HashBuilder::default();
    for (key, value) in leaves {
        builder.add_leaf(if skip == 0 { *key } else { key.slice(skip..) }, value);
    }
    builder.root()
}

/// A storage trie's root: slots keyed by keccak256 of the slot, values RLP-encoded.
pub fn storage_root<'a>(storage: impl Iterator<Item = (&'a U256, &'a U256)>) -> B256 {
    let leaves: Vec<(B256, Vec<u8>)> = storage
        .filter(|(_, value)| !value.is_zero())
        .map(|(slot, value)| (keccak256(B256::from(*slot)), alloy_rlp::encode_fixed_size(value).to_vec()))
        .collect();
    trie_root(leaves)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Address;
    use alloy_trie::TrieAccount;

    fn account(i: u64) -> TrieAccount {
        TrieAccount { nonce: i, balance: U256::from(i * 7 + 1), storage_root: EMPTY_ROOT_HASH, code_hash: B256::ZERO }
    }

    #[test]
    fn equals_alloys_serial_root_at_every_size() {
        for n in [1usize, 2, 17, 2_047, 2_048, 2_049, 5_000] {
            let accounts: Vec<(Address, TrieAccount)> =
                (0..n as u64).map(|i| (Address::with_last_byte(i as u8).create(i), account(i))).collect();
            let expected = alloy_trie::root::state_root_unhashed(accounts.clone());
            let leaves = accounts.iter().map(|(a, acc)| (keccak256(a), alloy_rlp::encode(acc))).collect();
            assert_eq!(trie_root(leaves), expected, "{n} accounts");
        }
    }

    #[test]
    fn ordered_roots_equal_alloys_at_every_size() {
        for n in [0usize, 1, 2, 127, 128, 2_047, 2_048, 3_000] {
            let items: Vec<Vec<u8>> = (0..n).map(|i| vec![(i % 251) as u8; 40 + i % 7]).collect();
            let expected = alloy_trie::root::ordered_trie_root_with_encoder(&items, |v, buf| buf.extend_from_slice(v));
            let leaves = items.iter().enumerate().map(|(i, v)| (Nibbles::unpack(alloy_rlp::encode(i)), v.clone())).collect();
            assert_eq!(nibble_trie_root(leaves), expected, "{n} items");
        }
    }

    #[test]
    fn a_large_trie_under_one_first_nibble_is_built_serially_and_right() {
        // Keys chosen to share their first nibble: the root is an extension node.
        let leaves: Vec<(B256, Vec<u8>)> = (0..3_000u64)
            .map(|i| {
                let mut key = keccak256(i.to_be_bytes());
                key.0[0] = 0x50 | (key.0[0] & 0x0f);
                (key, alloy_rlp::encode(U256::from(i + 1)))
            })
            .collect();
        let mut sorted = leaves.clone();
        sorted.sort_unstable_by_key(|(k, _)| *k);
        let mut builder = HashBuilder::default();
        for (k, v) in &sorted {
            builder.add_leaf(Nibbles::unpack(k), v);
        }
        assert_eq!(trie_root(leaves), builder.root());
    }

    #[test]
    fn storage_roots_match_alloy_and_skip_zero_slots() {
        for n in [0u64, 1, 3, 4_000] {
            let storage: Vec<(U256, U256)> = (0..n).map(|i| (U256::from(i * 3), U256::from(i % 5))).collect();
            let expected = alloy_trie::root::storage_root_unhashed(
                storage.iter().filter(|(_, v)| !v.is_zero()).map(|(k, v)| (B256::from(*k), *v)),
            );
            assert_eq!(storage_root(storage.iter().map(|(k, v)| (k, v))), expected, "{n} slots");
        }
    }
}
