//! VM glue: revm's `Database` over the multi-version memory, as seen by one
//! transaction, recording every read for validation.

use alloy_primitives::{Address, B256, U256};
use revm::database_interface::{DBErrorMarker, Database};
use revm::primitives::KECCAK_EMPTY;
use revm::state::{AccountInfo, Bytecode};
use std::collections::HashMap;
use std::sync::RwLock;

use super::mv_memory::{Blocked, Location, MvMemory, Read, TxIdx, NOT_CLEARED, NO_ACCOUNT};
use crate::state::WorldState;

/// Why a read could not be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// A lower transaction's value is an ESTIMATE: suspend until it re-executes.
    Blocked(TxIdx),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Blocked(tx) => write!(f, "read blocked on transaction {tx}"),
        }
    }
}

impl std::error::Error for ReadError {}
impl DBErrorMarker for ReadError {}

/// Code created during the block, by hash (immutable once inserted).
#[derive(Default)]
pub struct NewCode(pub RwLock<HashMap<B256, Bytecode>>);

pub struct VmDb<'a> {
    pub mv: &'a MvMemory<'a>,
    pub base: &'a WorldState,
    pub new_code: &'a NewCode,
    pub tx: TxIdx,
    pub reads: Vec<Read>,
    /// The first ESTIMATE this incarnation ran into. revm does not surface every
    /// database error (some paths turn one into a halt and carry on), so the engine
    /// decides from this, never from revm's outcome alone.
    pub blocked: Option<TxIdx>,
}

impl<'a> VmDb<'a> {
    pub fn new(mv: &'a MvMemory<'a>, base: &'a WorldState, new_code: &'a NewCode) -> Self {
        VmDb { mv, base, new_code, tx: 0, reads: Vec::new(), blocked: None }
    }

    /// Prepares for an incarnation of transaction `tx`.
    pub fn begin(&mut self, tx: TxIdx) {
        self.tx = tx;
        // The last incarnation's reads were handed to the multi-version memory: start
        // from a vector big enough for a typical transaction, not from empty.
        self.reads = Vec::with_capacity(16);
        self.blocked = None;
    }

    pub fn read(&mut self, location: Location) -> Result<U256, ReadError> {
        if let Some(seen) = self.reads.iter().find(|r| r.location == location) {
            return Ok(seen.value);
        }
        let resolved = match self.mv.resolve(&location, self.tx) {
            Ok(resolved) => resolved,
            Err(Blocked(blocking)) => {
                self.blocked.get_or_insert(blocking);
                return Err(ReadError::Blocked(blocking));
            }
        };
        self.reads.push(Read { location, value: resolved.value, origin: resolved.origin });
        Ok(resolved.value)
    }

    /// What this incarnation read at `location`, if it did.
    pub fn value_read(&self, location: &Location) -> Option<U256> {
        self.reads.iter().find(|r| r.location == *location).map(|r| r.value)
    }

    fn code(&self, hash: &B256) -> Option<Bytecode> {
        if *hash == KECCAK_EMPTY {
            return Some(Bytecode::default());
        }
        self.base
            .code(hash)
            .cloned()
            .or_else(|| self.new_code.0.read().unwrap().get(hash).cloned())
    }
}

impl crate::eip7610::StorageProbe for VmDb<'_> {
    /// Storage at a create target can only come from the pre-state (a contract created
    /// in the block has a nonce or code, which collides anyway), and only a wipe by a
    /// lower transaction can remove it: read as `StorageCleared`, so validation sees it.
    fn has_storage(&mut self, address: Address) -> bool {
        if !self.base.has_storage(&address) {
            return false;
        }
        // Blocked: the answer does not matter, the incarnation runs again.
        self.read(Location::StorageCleared(address)).map_or(true, |cleared| cleared == NOT_CLEARED)
    }
}

impl Database for VmDb<'_> {
    type Error = ReadError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, ReadError> {
        let code = self.read(Location::Code(address))?;
        if code == NO_ACCOUNT {
            return Ok(None);
        }
        let code_hash = B256::from(code.to_be_bytes::<32>());
        let balance = self.read(Location::Balance(address))?;
        let nonce = self.read(Location::Nonce(address))?;
        Ok(Some(AccountInfo {
            balance,
            nonce: nonce.to::<u64>(),
            code_hash,
            code: self.code(&code_hash),
            ..Default::default()
        }))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, ReadError> {
        Ok(self.code(&code_hash).unwrap_or_default())
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, ReadError> {
        self.read(Location::Storage(address, index))
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, ReadError> {
        Ok(self.base.block_hashes.get(number))
    }
}
