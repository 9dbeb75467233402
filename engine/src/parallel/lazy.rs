//! Lazy updates: effects that are recorded as deltas instead of read-modify-write, so
//! that they create no dependency between transactions.
//!
//! *Lazy beneficiary.* Every transaction pays its priority fee to the coinbase. Paid
//! eagerly, each payment reads the coinbase balance the previous one wrote: the whole
//! block becomes one dependency chain. Here the handler skips the payment and the
//! transaction publishes `Delta(fee)` on the coinbase balance (plus `EnsureExists` on
//! its code location: a paid coinbase exists). The multi-version memory sums deltas onto
//! the last real write only when somebody actually reads the coinbase (BALANCE, being
//! sender or recipient …), so that read sees the exact value at its position.
//!
//! The payment stays eager — revm's own code — when the transaction already loaded the
//! coinbase (it read it anyway) or when the fee is zero (an EIP-161 touch with no
//! balance change must see the account as it is).

use alloy_primitives::{Address, U256};
use revm::context::result::{EVMError, ExecutionResult, HaltReason, InvalidTransaction};
use revm::context_interface::{Block, ContextTr, JournalTr, Transaction};
use revm::handler::{post_execution, EvmTr, FrameResult, Handler};
use revm::primitives::hardfork::SpecId;
use std::cell::Cell;
use std::marker::PhantomData;

use super::mv_memory::{code_hash_value, EntryData, Location};
use super::vm_db::{ReadError, VmDb};
use crate::changes::{AccountChange, TxChanges};
use crate::vm::Evm;

/// The mainnet handler, except that a positive beneficiary fee is left for the
/// caller to apply lazily (`lazy_fee`).
pub struct LazyBeneficiaryHandler<'a> {
    pub lazy_fee: Cell<Option<U256>>,
    _db: PhantomData<VmDb<'a>>,
}

type ParEvm<'a> = Evm<VmDb<'a>>;

impl<'a> Handler for LazyBeneficiaryHandler<'a> {
    type Evm = ParEvm<'a>;
    type Error = EVMError<ReadError, InvalidTransaction>;
    type HaltReason = HaltReason;

    fn reward_beneficiary(&self, evm: &mut Self::Evm, exec_result: &mut FrameResult) -> Result<(), Self::Error> {
        let ctx = evm.ctx();
        let beneficiary = ctx.block().beneficiary();
        let basefee = ctx.block().basefee() as u128;
        let effective_gas_price = ctx.tx().effective_gas_price(basefee);
        let coinbase_gas_price = if ctx.cfg().spec().is_enabled_in(SpecId::LONDON) {
            effective_gas_price.saturating_sub(basefee)
        } else {
            effective_gas_price
        };
        let gas = exec_result.gas();
        let used = gas.used().saturating_sub(gas.reservoir());
        let fee = U256::from(coinbase_gas_price) * U256::from(used);
        let already_loaded = ctx.journal_ref().evm_state().contains_key(&beneficiary);
        if fee.is_zero() || already_loaded {
            self.lazy_fee.set(None);
            return post_execution::reward_beneficiary(evm.ctx(), exec_result.gas()).map_err(From::from);
        }
        self.lazy_fee.set(Some(fee));
        Ok(())
    }
}

/// Runs the current transaction of `evm` with the lazy handler.
pub fn run_lazy(evm: &mut ParEvm<'_>) -> (Result<ExecutionResult, EVMError<ReadError, InvalidTransaction>>, Option<U256>) {
    let mut handler = LazyBeneficiaryHandler { lazy_fee: Cell::new(None), _db: PhantomData };
    let result = handler.run(evm);
    (result, handler.lazy_fee.get())
}

/// The multi-version writes of a transaction's changes. Fields equal to what the
/// transaction read are not written: validation guarantees they are unchanged.
pub fn write_set(changes: &TxChanges, db: &VmDb<'_>, coinbase: Address, lazy_fee: Option<U256>) -> Vec<(Location, EntryData)> {
    let mut writes = Vec::new();
    let put = |location: Location, value: U256, writes: &mut Vec<(Location, EntryData)>| {
        if db.value_read(&location) != Some(value) {
            writes.push((location, EntryData::Write(value)));
        }
    };
    for (address, change) in &changes.accounts {
        let a = *address;
        match change {
            AccountChange::Destroyed => {
                put(Location::Code(a), U256::ZERO, &mut writes);
                put(Location::Balance(a), U256::ZERO, &mut writes);
                put(Location::Nonce(a), U256::ZERO, &mut writes);
                writes.push((Location::StorageCleared(a), EntryData::Write(U256::ZERO)));
            }
            AccountChange::Updated { balance, nonce, code_hash, storage_cleared, storage, .. } => {
                put(Location::Code(a), code_hash_value(*code_hash), &mut writes);
                put(Location::Balance(a), *balance, &mut writes);
                put(Location::Nonce(a), U256::from(*nonce), &mut writes);
                if *storage_cleared {
                    writes.push((Location::StorageCleared(a), EntryData::Write(U256::ZERO)));
                }
                for (slot, value) in storage {
                    writes.push((Location::Storage(a, *slot), EntryData::Write(*value)));
                }
            }
        }
    }
    if let Some(fee) = lazy_fee {
        // The handler only defers the fee when the transaction never loaded the
        // coinbase, so the changes cannot hold it.
        debug_assert!(changes.accounts.iter().all(|(a, _)| *a != coinbase));
        writes.push((Location::Balance(coinbase), EntryData::Delta(fee)));
        writes.push((Location::Code(coinbase), EntryData::EnsureExists));
    }
    writes
}

