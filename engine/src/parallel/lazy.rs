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

use super::mv_memory::{code_hash_value, EntryData, Location, CLEARED};
use super::vm_db::{ReadError, VmDb};
use crate::changes::{AccountChange, TxChanges};
use crate::faults::{self, Fault};
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
            if faults::active(Fault::DoubleLazyDelta) && !fee.is_zero() { self.lazy_fee.set(Some(fee)); }
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
    // The coinbase balance is written even when unchanged (a zero fee paid eagerly): a
    // real write bounds how far a later read must sum lazy fees back (lazy fee slots in
    // mv_memory.rs), which otherwise grows with the block.
    let put = |location: Location, value: U256, writes: &mut Vec<(Location, EntryData)>| {
        if location == Location::Balance(coinbase) || db.value_read(&location) != Some(value) {
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
                writes.push((Location::StorageCleared(a), EntryData::Write(CLEARED)));
            }
            AccountChange::Updated { balance, nonce, code_hash, storage_cleared, storage, .. } => {
                put(Location::Code(a), code_hash_value(*code_hash), &mut writes);
                put(Location::Balance(a), *balance, &mut writes);
                put(Location::Nonce(a), U256::from(*nonce), &mut writes);
                if *storage_cleared {
                    writes.push((Location::StorageCleared(a), EntryData::Write(CLEARED)));
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
        if !faults::active(Fault::LoseBeneficiaryDelta) { writes.push((Location::Balance(coinbase), EntryData::Delta(fee))); }
        writes.push((Location::Code(coinbase), EntryData::EnsureExists));
    }
    writes
}


/// *Lazy raw transfers.* A value transfer to an account without code runs no EVM code:
/// its effects follow from the transaction alone — the sender's nonce becomes
/// `nonce + 1`, its balance drops by `gas × price + value`, the recipient's rises by
/// `value`. So it is executed without reading the sender at all: it publishes an
/// absolute nonce and balance deltas, and transfers sharing accounts — a chain of
/// nonces from one sender included — run in parallel. Its only read is the
/// recipient's code (a contract there would run code).
///
/// The nonce and balance checks are not skipped but moved: the in-order commit
/// (commit.rs) checks them with the exact state at the transaction's position and, if
/// one fails, the transaction is replayed with revm to raise exactly the error
/// sequential execution raises.
#[derive(Clone, Debug)]
pub struct LazyTransfer {
    pub sender: Address,
    pub recipient: Address,
    pub value: U256,
    pub nonce: u64,
    pub gas_used: u64,
    /// Gas at the effective price plus value: what the sender pays in the end.
    pub sender_cost: U256,
    /// Gas limit at the maximum price plus value: what the sender must hold up front.
    pub upfront: U256,
    pub coinbase_fee: U256,
}

/// Whether the current transaction of `evm` can run as a lazy transfer, and its effects.
/// `None` means "run it on revm": anything unusual (code, precompile, the coinbase, a
/// zero fee, a rule revm would reject) takes the exact path.
pub fn lazy_transfer(evm: &mut ParEvm<'_>, coinbase: Address) -> Result<Option<LazyTransfer>, ReadError> {
    let ctx = &evm.ctx;
    let tx = &ctx.tx;
    let spec = ctx.cfg.spec;
    let Some(recipient) = tx.kind.to().copied() else { return Ok(None) };
    let sender = tx.caller;
    if tx.tx_type > 2
        || tx.value.is_zero()
        || tx.nonce >= u64::MAX - 1
        || recipient == sender
        || recipient == coinbase
        || sender == coinbase
        || !spec.is_enabled_in(SpecId::SPURIOUS_DRAGON)
    {
        return Ok(None);
    }
    let precompiles = revm::precompile::Precompiles::new(revm::precompile::PrecompileSpecId::from_spec_id(spec));
    if precompiles.contains(&recipient) {
        return Ok(None);
    }
    let basefee = ctx.block.basefee as u128;
    let effective_price = tx.effective_gas_price(basefee);
    let coinbase_price =
        if spec.is_enabled_in(SpecId::LONDON) { effective_price.saturating_sub(basefee) } else { effective_price };
    let max_price = tx.gas_price;
    let (value, nonce, gas_limit) = (tx.value, tx.nonce, tx.gas_limit);
    // revm's own state-independent checks (fees, chain id, type, intrinsic gas).
    let handler = LazyBeneficiaryHandler { lazy_fee: Cell::new(None), _db: PhantomData };
    // (Not `Handler::validate`: that also checks and charges the sender, reading it.)
    if handler.validate_env(evm).is_err() {
        return Ok(None);
    }
    let Ok(initial) = handler.validate_initial_tx_gas(evm) else { return Ok(None) };
    // Nothing executes, so the gas used is the intrinsic cost — or, from Prague, the
    // EIP-7623 calldata floor when that is higher (a transfer with calldata).
    let gas_used = initial.initial_total_gas().max(initial.floor_gas);
    let coinbase_fee = U256::from(coinbase_price) * U256::from(gas_used);
    let Some(upfront) = (U256::from(gas_limit) * U256::from(max_price)).checked_add(value) else { return Ok(None) };
    if coinbase_fee.is_zero() {
        return Ok(None);
    }
    let code = evm.ctx.journaled_state.database.read(Location::Code(recipient))?;
    if code != super::mv_memory::NO_ACCOUNT && code != code_hash_value(revm::primitives::KECCAK_EMPTY) {
        return Ok(None);
    }
    let sender_cost = U256::from(effective_price) * U256::from(gas_used) + value;
    Ok(Some(LazyTransfer { sender, recipient, value, nonce, gas_used, sender_cost, upfront, coinbase_fee }))
}

/// The multi-version writes of a lazy transfer: no read-modify-write anywhere.
pub fn transfer_writes(t: &LazyTransfer, coinbase: Address) -> Vec<(Location, EntryData)> {
    vec![
        (Location::Nonce(t.sender), EntryData::Write(U256::from(t.nonce + 1))),
        (Location::Balance(t.sender), EntryData::Delta(U256::ZERO.wrapping_sub(t.sender_cost))),
        (Location::Balance(t.recipient), EntryData::Delta(t.value)),
        (Location::Code(t.recipient), EntryData::EnsureExists),
        (Location::Balance(coinbase), EntryData::Delta(t.coinbase_fee)),
        (Location::Code(coinbase), EntryData::EnsureExists),
    ]
}
