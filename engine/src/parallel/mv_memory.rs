//! The multi-version memory: for every location, the values written by each
//! transaction of the block, so that transaction j reads what the highest lower
//! transaction wrote — or the pre-state.
//!
//! Locations are granular (balance, nonce, code, each storage slot), so a balance write
//! never conflicts with a nonce or code read. Every value is 32 bytes: the code location
//! holds the code hash, zero meaning "no account". Besides plain writes an entry can be
//! a lazy update (`Delta`, `EnsureExists`, see lazy.rs) or an ESTIMATE left by an aborted
//! incarnation. Validation is by value: a read is still good if resolving it again gives
//! the same value.

use alloy_primitives::{Address, B256, U256};
use alloy_primitives::map::{DefaultHashBuilder, HashMap};
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, RwLock};

use super::padded::CachePadded;
use crate::faults::{self, Fault};
use crate::state::WorldState;

pub type TxIdx = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    Balance(Address),
    Nonce(Address),
    /// The code hash; zero when the account does not exist.
    Code(Address),
    Storage(Address, U256),
    /// Written when an account's whole storage is wiped (destroyed, or created anew).
    StorageCleared(Address),
}

/// The code-location value of a missing account.
pub const NO_ACCOUNT: U256 = U256::ZERO;
/// `StorageCleared` values: the pre-state's, and a wipe's (distinct, so that validation
/// by value notices a wipe appearing below a reader).
pub const NOT_CLEARED: U256 = U256::ZERO;
pub const CLEARED: U256 = U256::from_limbs([1, 0, 0, 0]);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryData {
    Write(U256),
    /// Lazy balance increment (gas fees paid to the beneficiary).
    Delta(U256),
    /// Lazy "the account exists": an empty account unless it already exists.
    EnsureExists,
    /// The writer was aborted; its next incarnation will probably write here again.
    Estimate,
}

/// What resolving a read gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub value: U256,
    /// The highest lower transaction whose write contributed, if any.
    pub origin: Option<TxIdx>,
}

/// The read hit an ESTIMATE of this lower transaction: wait for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocked(pub TxIdx);

#[derive(Clone, Copy, Debug)]
pub struct Read {
    pub location: Location,
    pub value: U256,
    pub origin: Option<TxIdx>,
}

const SHARDS: usize = 64;

/// The entries of one location, sorted by transaction. Most locations are written by
/// one transaction: that entry is kept inline, without an allocation to chase.
#[derive(Clone, Debug)]
enum Versions {
    One((TxIdx, EntryData)),
    Many(Vec<(TxIdx, EntryData)>),
}

impl Default for Versions {
    fn default() -> Self {
        Versions::Many(Vec::new())
    }
}

impl Versions {
    fn as_slice(&self) -> &[(TxIdx, EntryData)] {
        match self {
            Versions::One(entry) => std::slice::from_ref(entry),
            Versions::Many(entries) => entries,
        }
    }

    fn insert(&mut self, tx: TxIdx, data: EntryData) {
        match self {
            Versions::Many(entries) if entries.is_empty() => *self = Versions::One((tx, data)),
            Versions::One(entry) if entry.0 == tx => entry.1 = data,
            Versions::One(entry) => {
                let entry = *entry;
                let both = if entry.0 < tx { vec![entry, (tx, data)] } else { vec![(tx, data), entry] };
                *self = Versions::Many(both);
            }
            // Transactions mostly finish in order: appending needs no search (a hot
            // location holds an entry per transaction).
            Versions::Many(entries) => match entries.last() {
                Some((last, _)) if *last < tx => entries.push((tx, data)),
                _ => match entries.binary_search_by_key(&tx, |(i, _)| *i) {
                    Ok(at) => entries[at].1 = data,
                    Err(at) => entries.insert(at, (tx, data)),
                },
            },
        }
    }

    fn remove(&mut self, tx: TxIdx) {
        match self {
            Versions::One(entry) if entry.0 == tx => *self = Versions::default(),
            Versions::One(_) => {}
            Versions::Many(entries) => {
                if let Ok(at) = entries.binary_search_by_key(&tx, |(i, _)| *i) {
                    entries.remove(at);
                }
            }
        }
    }

    fn get_mut(&mut self, tx: TxIdx) -> Option<&mut EntryData> {
        match self {
            Versions::One(entry) => (entry.0 == tx).then_some(&mut entry.1),
            Versions::Many(entries) => {
                let at = entries.binary_search_by_key(&tx, |(i, _)| *i).ok()?;
                Some(&mut entries[at].1)
            }
        }
    }

    /// Entries of transactions below `tx`, highest first.
    fn below(&self, tx: TxIdx) -> impl Iterator<Item = (TxIdx, &EntryData)> {
        let entries = self.as_slice();
        let end = match entries.last() {
            Some((last, _)) if *last < tx => entries.len(),
            _ => entries.partition_point(|(i, _)| *i < tx),
        };
        entries[..end].iter().rev().map(|(i, e)| (*i, e))
            .filter(|(_, e)| !(faults::active(Fault::IgnoreEstimate) && **e == EntryData::Estimate))
    }
}

/// An account's non-storage locations in one map entry: a transaction that touches an
/// account touches several of them (a transfer: the sender's nonce and balance), and
/// in one entry they cost one cache miss, not one each.
#[derive(Default)]
struct AccountVersions {
    balance: Versions,
    nonce: Versions,
    code: Versions,
    cleared: Versions,
}

impl AccountVersions {
    fn field(&mut self, location: &Location) -> &mut Versions {
        match location {
            Location::Balance(_) => &mut self.balance,
            Location::Nonce(_) => &mut self.nonce,
            Location::Code(_) => &mut self.code,
            Location::StorageCleared(_) => &mut self.cleared,
            Location::Storage(..) => unreachable!("storage has its own map"),
        }
    }
}

/// One lock's share of the multi-version map.
#[derive(Default)]
struct Shard {
    accounts: HashMap<Address, AccountVersions>,
    slots: HashMap<(Address, U256), Versions>,
}

impl Shard {
    fn with_capacity(accounts: usize, slots: usize) -> Shard {
        Shard {
            accounts: HashMap::with_capacity_and_hasher(accounts, Default::default()),
            slots: HashMap::with_capacity_and_hasher(slots, Default::default()),
        }
    }

    fn get(&self, location: &Location) -> Option<&Versions> {
        match location {
            Location::Storage(a, slot) => self.slots.get(&(*a, *slot)),
            Location::Balance(a) => self.accounts.get(a).map(|v| &v.balance),
            Location::Nonce(a) => self.accounts.get(a).map(|v| &v.nonce),
            Location::Code(a) => self.accounts.get(a).map(|v| &v.code),
            Location::StorageCleared(a) => self.accounts.get(a).map(|v| &v.cleared),
        }
    }

    fn get_mut(&mut self, location: &Location) -> Option<&mut Versions> {
        match location {
            Location::Storage(a, slot) => self.slots.get_mut(&(*a, *slot)),
            Location::Balance(a) | Location::Nonce(a) | Location::Code(a) | Location::StorageCleared(a) => {
                self.accounts.get_mut(a).map(|v| v.field(location))
            }
        }
    }

    fn entry(&mut self, location: &Location) -> &mut Versions {
        match location {
            Location::Storage(a, slot) => self.slots.entry((*a, *slot)).or_default(),
            Location::Balance(a) | Location::Nonce(a) | Location::Code(a) | Location::StorageCleared(a) => {
                self.accounts.entry(*a).or_default().field(location)
            }
        }
    }
}

/// One transaction's lazy payment to the beneficiary. Every transaction makes one, so
/// as map entries they turned the coinbase into the block's hot spot — one lock and
/// one ever-growing version list that every worker wrote to. Kept per transaction
/// instead, they are summed only when somebody reads the coinbase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct LazyFee {
    /// `Delta` on the beneficiary's balance.
    fee: Option<U256>,
    /// `EnsureExists` on the beneficiary's code location.
    ensure_exists: bool,
    /// The writer was aborted: readers wait for its next incarnation.
    estimate: bool,
}

/// Per transaction: its lazy fee, what its last incarnation read and where it wrote.
#[derive(Default)]
struct TxRecord {
    lazy_fee: Mutex<LazyFee>,
    reads: Mutex<Vec<Read>>,
    writes: Mutex<Vec<Location>>,
}

pub struct MvMemory<'a> {
    shards: Vec<CachePadded<RwLock<Shard>>>,
    hasher: DefaultHashBuilder,
    base: &'a WorldState,
    beneficiary: Address,
    per_tx: Vec<CachePadded<TxRecord>>,
}

impl<'a> MvMemory<'a> {
    pub fn new(base: &'a WorldState, txs: usize, beneficiary: Address) -> Self {
        // A transaction touches a couple of accounts and slots: sized up front, the
        // shards do not rehash while the workers fill them.
        let per_shard = txs * 2 / SHARDS;
        MvMemory {
            shards: (0..SHARDS).map(|_| CachePadded(RwLock::new(Shard::with_capacity(per_shard, per_shard)))).collect(),
            hasher: Default::default(),
            base,
            beneficiary,
            per_tx: (0..txs).map(|_| CachePadded::default()).collect(),
        }
    }

    /// An account's locations share a shard; a slot's shard is by address and slot,
    /// so that one contract's storage spreads over every lock.
    fn shard(&self, location: &Location) -> &RwLock<Shard> {
        let hash = match location {
            Location::Storage(a, slot) => self.hasher.hash_one((a, slot)),
            Location::Balance(a) | Location::Nonce(a) | Location::Code(a) | Location::StorageCleared(a) => {
                self.hasher.hash_one(a)
            }
        };
        &self.shards[(hash as usize) % SHARDS].0
    }

    /// The pre-state value of a location.
    pub fn base_value(&self, location: &Location) -> U256 {
        let account = |a: &Address| self.base.accounts.get(a);
        match location {
            Location::Balance(a) => account(a).map(|acc| acc.balance).unwrap_or_default(),
            Location::Nonce(a) => account(a).map(|acc| U256::from(acc.nonce)).unwrap_or_default(),
            Location::Code(a) => account(a).map(|acc| U256::from_be_bytes(acc.code_hash.0)).unwrap_or(NO_ACCOUNT),
            Location::Storage(a, slot) => {
                account(a).and_then(|acc| acc.storage.get(slot).copied()).unwrap_or_default()
            }
            Location::StorageCleared(_) => NOT_CLEARED,
        }
    }

    /// The value transaction `tx` sees at `location`, lazy updates evaluated.
    pub fn resolve(&self, location: &Location, tx: TxIdx) -> Result<Resolved, Blocked> {
        match location {
            Location::Storage(address, _) => {
                return self.resolve_storage(location, &Location::StorageCleared(*address), tx)
            }
            Location::Balance(a) | Location::Code(a) if *a == self.beneficiary => {
                return self.resolve_beneficiary(location, tx)
            }
            _ => {}
        }
        let shard = self.shard(location).read().unwrap();
        let mut delta = U256::ZERO;
        let mut ensure_exists = false;
        let mut origin = None;
        if let Some(versions) = shard.get(location) {
            for (idx, data) in versions.below(tx) {
                match *data {
                    EntryData::Estimate => return Err(Blocked(idx)),
                    EntryData::Write(v) => {
                        let origin = origin.or(Some(idx));
                        return Ok(Resolved { value: finish(location, v, delta, ensure_exists), origin });
                    }
                    EntryData::Delta(d) => {
                        delta = delta.wrapping_add(d);
                        origin = origin.or(Some(idx));
                    }
                    EntryData::EnsureExists => {
                        ensure_exists = true;
                        origin = origin.or(Some(idx));
                    }
                }
            }
        }
        drop(shard);
        let base = self.base_value(location);
        Ok(Resolved { value: finish(location, base, delta, ensure_exists), origin })
    }

    /// A slot reads as the latest of: its own last write, or zero after the account's
    /// last storage wipe — whichever transaction came later.
    fn resolve_storage(&self, slot: &Location, cleared: &Location, tx: TxIdx) -> Result<Resolved, Blocked> {
        let last_write = self.latest_plain(slot, tx)?;
        let last_clear = self.latest_plain(cleared, tx)?;
        Ok(match (last_write, last_clear) {
            (Some((w, v)), Some((c, _))) if w >= c => Resolved { value: v, origin: Some(w) },
            (None, Some(_)) if faults::active(Fault::DestroyedStorageReadable) => Resolved { value: self.base_value(slot), origin: None },
            (_, Some((c, _))) => Resolved { value: U256::ZERO, origin: Some(c) },
            (Some((w, v)), None) => Resolved { value: v, origin: Some(w) },
            (None, None) => Resolved { value: self.base_value(slot), origin: None },
        })
    }

    /// The beneficiary's balance or code location: its last real write (an eager
    /// payment, a transaction of its own), then the lazy fees of the transactions
    /// between that write and `tx`.
    fn resolve_beneficiary(&self, location: &Location, tx: TxIdx) -> Result<Resolved, Blocked> {
        let last_write = self.latest_plain(location, tx)?;
        let (from, value, mut origin) = match last_write {
            Some((w, v)) => (w + 1, v, Some(w)),
            None => (0, self.base_value(location), None),
        };
        let is_balance = matches!(location, Location::Balance(_));
        if !is_balance && value != NO_ACCOUNT {
            // An existing account's code hash is what it is: `EnsureExists` cannot change
            // it, so the lazy fees need no scan (it would cost O(block) per read).
            return Ok(Resolved { value, origin });
        }
        let (mut delta, mut ensure_exists) = (U256::ZERO, false);
        for i in (from..tx).rev() {
            let lazy = *self.per_tx[i].lazy_fee.lock().unwrap();
            if lazy.estimate && !faults::active(Fault::IgnoreEstimate) {
                return Err(Blocked(i));
            }
            let touches = if is_balance { lazy.fee.is_some() } else { lazy.ensure_exists };
            if touches {
                delta = delta.wrapping_add(lazy.fee.unwrap_or_default());
                ensure_exists |= lazy.ensure_exists;
                origin = origin.max(Some(i));
            }
        }
        Ok(Resolved { value: finish(location, value, delta, ensure_exists), origin })
    }

    fn latest_plain(&self, location: &Location, tx: TxIdx) -> Result<Option<(TxIdx, U256)>, Blocked> {
        let shard = self.shard(location).read().unwrap();
        let Some(versions) = shard.get(location) else { return Ok(None) };
        let latest = versions.below(tx).next().map(|(idx, data)| (idx, *data));
        match latest {
            None => Ok(None),
            Some((idx, data)) => match data {
                EntryData::Write(v) => Ok(Some((idx, v))),
                EntryData::Estimate => Err(Blocked(idx)),
                // Only balance and code locations take lazy updates.
                EntryData::Delta(_) | EntryData::EnsureExists => unreachable!("lazy entry at {location:?}"),
            },
        }
    }

    /// Publishes an incarnation's reads and writes. Returns whether it wrote a
    /// location its previous incarnation did not (higher transactions must revalidate).
    pub fn record(&self, tx: TxIdx, reads: Vec<Read>, mut writes: Vec<(Location, EntryData)>) -> bool {
        let mut lazy = LazyFee::default();
        writes.retain(|(location, data)| match (location, data) {
            (Location::Balance(a), EntryData::Delta(d)) if *a == self.beneficiary => {
                lazy.fee = Some(lazy.fee.unwrap_or_default().wrapping_add(*d));
                false
            }
            (Location::Code(a), EntryData::EnsureExists) if *a == self.beneficiary => {
                lazy.ensure_exists = true;
                false
            }
            _ => true,
        });
        let had_lazy = std::mem::replace(&mut *self.per_tx[tx].lazy_fee.lock().unwrap(), lazy);
        let new_lazy = (lazy.fee.is_some() && had_lazy.fee.is_none())
            || (lazy.ensure_exists && !had_lazy.ensure_exists);
        let new_locations: Vec<Location> = writes.iter().map(|(l, _)| *l).collect();
        for (location, data) in writes {
            let mut shard = self.shard(&location).write().unwrap();
            shard.entry(&location).insert(tx, data);
        }
        let mut previous = self.per_tx[tx].writes.lock().unwrap();
        let mut wrote_new = new_lazy;
        for location in &new_locations {
            if !previous.contains(location) {
                wrote_new = true;
                break;
            }
        }
        for stale in previous.iter().filter(|l| !new_locations.contains(l)) {
            let mut shard = self.shard(stale).write().unwrap();
            if let Some(versions) = shard.get_mut(stale) {
                versions.remove(tx);
            }
        }
        *previous = new_locations;
        *self.per_tx[tx].reads.lock().unwrap() = reads;
        wrote_new
    }

    /// An aborted incarnation's writes become ESTIMATEs: readers wait instead of
    /// reading values that are probably stale.
    pub fn convert_writes_to_estimates(&self, tx: TxIdx) {
        {
            let mut lazy = self.per_tx[tx].lazy_fee.lock().unwrap();
            if *lazy != LazyFee::default() && !faults::active(Fault::EarlyLazyEvaluation) {
                lazy.estimate = true;
            }
        }
        let written = self.per_tx[tx].writes.lock().unwrap();
        for location in written.iter() {
            let mut shard = self.shard(location).write().unwrap();
            if let Some(data) = shard.get_mut(location).and_then(|v| v.get_mut(tx)) {
                if faults::active(Fault::EarlyLazyEvaluation) && matches!(data, EntryData::Delta(_)) { continue; }
                *data = EntryData::Estimate;
            }
        }
    }

    /// Whether every value the last incarnation of `tx` read is still what it would read.
    pub fn validate_read_set(&self, tx: TxIdx) -> bool {
        if faults::active(Fault::SkipValidation) { return true; }
        let reads = self.per_tx[tx].reads.lock().unwrap();
        reads.iter().all(|read| {
            if faults::active(Fault::StaleBaseStorage) && read.origin.is_none() && matches!(read.location, Location::Storage(..)) {
                return true;
            }
            // A read of the pre-state stays good while no lower transaction has written
            // there: the pre-state does not change, so it need not be looked up again.
            if read.origin.is_none() && self.unwritten_below(&read.location, tx) {
                return true;
            }
            match self.resolve(&read.location, tx) {
                Ok(now) => now.value == read.value,
                Err(Blocked(_)) => false,
            }
        })
    }

    /// Whether no transaction below `tx` has an entry that `location` resolves through
    /// (the beneficiary's lazy fee slots are not looked at: false for it).
    fn unwritten_below(&self, location: &Location, tx: TxIdx) -> bool {
        let none_below = |l: &Location| {
            let shard = self.shard(l).read().unwrap();
            shard.get(l).is_none_or(|versions| versions.below(tx).next().is_none())
        };
        match location {
            Location::Balance(a) | Location::Code(a) if *a == self.beneficiary => false,
            Location::Storage(a, _) => none_below(location) && none_below(&Location::StorageCleared(*a)),
            _ => none_below(location),
        }
    }

    /// Frees the versions, on another thread for a big block: a block's worth of small
    /// allocations takes tens of milliseconds to free, and the in-order assembly need not
    /// wait for it. A small block frees in place (a thread would cost more).
    pub fn discard(self) {
        const BACKGROUND_FROM_TXS: usize = 1_000;
        if self.per_tx.len() < BACKGROUND_FROM_TXS {
            return;
        }
        let MvMemory { shards, per_tx, .. } = self;
        // If no thread can be started, the closure (and the parts) are dropped here.
        let _ = std::thread::Builder::new().name("blockstm-free".into()).spawn(move || drop((shards, per_tx)));
    }

    /// The lower transactions whose writes the last incarnation of `tx` read.
    pub fn dependencies(&self, tx: TxIdx) -> Vec<TxIdx> {
        let reads = self.per_tx[tx].reads.lock().unwrap();
        let mut deps: Vec<TxIdx> = reads.iter().filter_map(|r| r.origin).collect();
        deps.sort_unstable();
        deps.dedup();
        deps
    }

}

fn finish(location: &Location, value: U256, delta: U256, ensure_exists: bool) -> U256 {
    match location {
        Location::Code(_) if ensure_exists && value == NO_ACCOUNT => U256::from_be_bytes(revm::primitives::KECCAK_EMPTY.0),
        Location::Balance(_) => value.wrapping_add(delta),
        _ => value,
    }
}

pub fn code_hash_value(hash: B256) -> U256 {
    U256::from_be_bytes(hash.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::WorldState;

    fn addr(n: u8) -> Address {
        Address::repeat_byte(n)
    }

    #[test]
    fn reads_the_highest_lower_write_or_the_base() {
        let base = WorldState::default();
        let mv = MvMemory::new(&base, 4, addr(0xcb));
        let loc = Location::Balance(addr(1));
        mv.record(0, vec![], vec![(loc, EntryData::Write(U256::from(10)))]);
        mv.record(2, vec![], vec![(loc, EntryData::Write(U256::from(30)))]);
        assert_eq!(mv.resolve(&loc, 0).unwrap().value, U256::ZERO);
        assert_eq!(mv.resolve(&loc, 2).unwrap(), Resolved { value: U256::from(10), origin: Some(0) });
        assert_eq!(mv.resolve(&loc, 3).unwrap().value, U256::from(30));
    }

    #[test]
    fn deltas_accumulate_onto_the_last_write_and_estimates_block() {
        let base = WorldState::default();
        let mv = MvMemory::new(&base, 4, addr(0xcb));
        let loc = Location::Balance(addr(1));
        mv.record(0, vec![], vec![(loc, EntryData::Write(U256::from(100)))]);
        mv.record(1, vec![], vec![(loc, EntryData::Delta(U256::from(5)))]);
        mv.record(2, vec![], vec![(loc, EntryData::Delta(U256::from(7)))]);
        assert_eq!(mv.resolve(&loc, 3).unwrap().value, U256::from(112));
        mv.convert_writes_to_estimates(1);
        assert_eq!(mv.resolve(&loc, 3), Err(Blocked(1)));
        assert_eq!(mv.resolve(&loc, 1).unwrap().value, U256::from(100));
    }

    #[test]
    fn lazy_fees_sum_onto_the_beneficiarys_last_write_and_estimates_block() {
        let base = WorldState::default();
        let mv = MvMemory::new(&base, 5, addr(0xcb));
        let balance = Location::Balance(addr(0xcb));
        let code = Location::Code(addr(0xcb));
        let fee = |d: u64| vec![(balance, EntryData::Delta(U256::from(d))), (code, EntryData::EnsureExists)];
        assert!(mv.record(0, vec![], fee(5)));
        assert!(!mv.record(0, vec![], fee(6)), "the same lazy locations again");
        mv.record(1, vec![], vec![(balance, EntryData::Write(U256::from(100)))]);
        mv.record(3, vec![], fee(7));
        assert_eq!(mv.resolve(&balance, 1).unwrap(), Resolved { value: U256::from(6), origin: Some(0) });
        assert_eq!(mv.resolve(&code, 1).unwrap().value, code_hash_value(revm::primitives::KECCAK_EMPTY));
        assert_eq!(mv.resolve(&code, 0).unwrap(), Resolved { value: NO_ACCOUNT, origin: None });
        assert_eq!(mv.resolve(&balance, 4).unwrap(), Resolved { value: U256::from(107), origin: Some(3) });
        assert_eq!(mv.resolve(&balance, 3).unwrap(), Resolved { value: U256::from(100), origin: Some(1) });
        mv.convert_writes_to_estimates(3);
        assert_eq!(mv.resolve(&balance, 4), Err(Blocked(3)));
        assert_eq!(mv.resolve(&code, 4), Err(Blocked(3)));
        mv.record(3, vec![], vec![]);
        assert_eq!(mv.resolve(&balance, 4).unwrap().value, U256::from(100));
    }

    #[test]
    fn a_storage_wipe_hides_older_slot_writes() {
        let base = WorldState::default();
        let mv = MvMemory::new(&base, 4, addr(0xcb));
        let slot = Location::Storage(addr(1), U256::from(1));
        mv.record(0, vec![], vec![(slot, EntryData::Write(U256::from(9)))]);
        mv.record(1, vec![], vec![(Location::StorageCleared(addr(1)), EntryData::Write(CLEARED))]);
        assert_eq!(mv.resolve(&slot, 1).unwrap().value, U256::from(9));
        assert_eq!(mv.resolve(&slot, 2).unwrap().value, U256::ZERO);
        mv.record(1, vec![], vec![
            (Location::StorageCleared(addr(1)), EntryData::Write(CLEARED)),
            (slot, EntryData::Write(U256::from(4))),
        ]);
        assert_eq!(mv.resolve(&slot, 3).unwrap().value, U256::from(4));
    }

    #[test]
    fn record_reports_new_locations_and_drops_stale_ones() {
        let base = WorldState::default();
        let mv = MvMemory::new(&base, 2, addr(0xcb));
        let a = Location::Nonce(addr(1));
        let b = Location::Nonce(addr(2));
        assert!(mv.record(0, vec![], vec![(a, EntryData::Write(U256::from(1)))]));
        assert!(!mv.record(0, vec![], vec![(a, EntryData::Write(U256::from(2)))]));
        assert!(mv.record(0, vec![], vec![(b, EntryData::Write(U256::from(3)))]));
        assert_eq!(mv.resolve(&a, 1).unwrap().value, U256::ZERO);
    }
}
