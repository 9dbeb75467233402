//! What the protocol does to the state around a block's transactions, in its order:
//! before them the DAO fork's drain, the EIP-4788 beacon-root and (Prague on) EIP-2935
//! history-storage system calls; after them the block and ommer rewards (before Paris),
//! the withdrawals (Shanghai on) and (Prague on) the EIP-7685 requests: deposits from the
//! receipts' logs (EIP-6110), then the EIP-7002 and EIP-7251 request contracts' calls.
//!
//! Both executors start from `start_state` and end through `after_transactions`, so
//! the effects are the same code in both modes. Under Block-STM the effects before the
//! transactions are the block's position −1: committed into the base state every
//! incarnation reads, before any worker starts (nothing precedes them, so nothing can
//! invalidate them); the effects after are position n, applied to the committed
//! post-state (nothing follows them, so they read final values and never re-run).

use crate::changes::{AccountChange, Fields, TxAccess, TxChanges};
use crate::env::{block_env, cfg_env};
use crate::errors::EngineError;
use crate::fixture::BlockFixture;
use crate::fork::Fork;
use crate::state::{Account, BlockHashes, WorldState};
use alloy_eips::eip4895::Withdrawal;
use alloy_primitives::{Address, Bytes, B256, U256};
use crate::receipts::TxReceipt;
use revm::database_interface::WrapDatabaseRef;
use revm::handler::SystemCallEvm;
use std::collections::BTreeMap;
use std::sync::Arc;

/// An ommer (uncle) of the block, as its reward needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ommer {
    pub coinbase: Address,
    pub number: u64,
}

/// The block-level effects a fixture asks for (docs/block-fixture.md). The default —
/// none — is a state test's block: transactions only.
#[derive(Clone, Debug, Default)]
pub struct BlockEffects {
    pub parent_beacon_block_root: Option<B256>,
    pub dao_fork: bool,
    pub rewards: bool,
    pub ommers: Vec<Ommer>,
    pub withdrawals: Option<Vec<Withdrawal>>,
    /// EIP-2935: the parent block's hash, stored by the history contract.
    pub parent_hash: Option<B256>,
    /// EIP-7685: collect the block's requests (deposits, withdrawal and consolidation
    /// requests) and their hash.
    pub requests: bool,
}

/// Which effect a `BlockEffect` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    DaoFork,
    BeaconRoot,
    Rewards,
    Withdrawals,
    HistoryStorage,
    WithdrawalRequests,
    ConsolidationRequests,
}

impl Effect {
    /// Whether it comes before the transactions (EIP-7928 index 0) or after (n + 1).
    pub fn before_transactions(self) -> bool {
        matches!(self, Effect::DaoFork | Effect::BeaconRoot | Effect::HistoryStorage)
    }

    pub const ALL: [Effect; 7] = [
        Effect::DaoFork,
        Effect::BeaconRoot,
        Effect::Rewards,
        Effect::Withdrawals,
        Effect::HistoryStorage,
        Effect::WithdrawalRequests,
        Effect::ConsolidationRequests,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Effect::DaoFork => "dao_fork",
            Effect::BeaconRoot => "beacon_root",
            Effect::Rewards => "rewards",
            Effect::Withdrawals => "withdrawals",
            Effect::HistoryStorage => "history_storage",
            Effect::WithdrawalRequests => "withdrawal_requests",
            Effect::ConsolidationRequests => "consolidation_requests",
        }
    }
}

/// One effect applied, and the state it changed (the shape of a transaction's changes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockEffect {
    pub effect: Effect,
    pub changes: TxChanges,
    pub access: TxAccess,
}

/// The state the block's first transaction sees: the fixture's pre-state (or a previous
/// block's post-state, for a chain) with the effects before the transactions applied.
pub fn start_state(
    block: &BlockFixture,
    parent: Option<&WorldState>,
) -> Result<(WorldState, Vec<BlockEffect>), EngineError> {
    let hashes = Arc::new(BlockHashes(block.block_hashes.clone()));
    let mut state = match (parent, &block.pre) {
        (Some(parent), None) => WorldState { block_hashes: hashes, ..parent.clone() },
        (None, Some(pre)) => WorldState::from_pre(pre, hashes),
        (Some(_), Some(_)) => {
            return Err(crate::errors::FixtureError::new("pre", "give pre or a parent result (pre_state), not both").into())
        }
        (None, None) => return Err(crate::errors::FixtureError::new("pre", "missing field (or give a parent result: pre_state)").into()),
    };
    let mut effects = Vec::new();
    if block.effects.dao_fork {
        let (changes, access) = dao_drain(&mut state);
        effects.push(BlockEffect { effect: Effect::DaoFork, changes, access });
    }
    if let Some(root) = block.effects.parent_beacon_block_root {
        let call = system_call(block, alloy_eips::eip4788::BEACON_ROOTS_ADDRESS, root.0.into(), &mut state)?;
        effects.push(BlockEffect { effect: Effect::BeaconRoot, changes: call.changes, access: call.access });
    }
    if let Some(parent) = block.effects.parent_hash {
        let call = system_call(block, alloy_eips::eip2935::HISTORY_STORAGE_ADDRESS, parent.0.into(), &mut state)?;
        effects.push(BlockEffect { effect: Effect::HistoryStorage, changes: call.changes, access: call.access });
    }
    Ok((state, effects))
}

/// What the effects after the transactions produce besides state changes.
pub struct AfterTransactions {
    pub effects: Vec<BlockEffect>,
    /// EIP-7685: each non-empty request list, its type byte first (when asked for).
    pub requests: Option<Vec<Bytes>>,
}

/// Applies the effects after the transactions to the post-state; returns them.
pub fn after_transactions(
    block: &BlockFixture,
    state: &mut WorldState,
    receipts: &[TxReceipt],
) -> Result<AfterTransactions, EngineError> {
    let mut effects = Vec::new();
    if block.effects.rewards {
        if let Some(reward) = block_reward(block.fork) {
            let number = u64::try_from(block.header.number).unwrap_or(u64::MAX);
            let ommers = &block.effects.ommers;
            let mut book = Credits::default();
            // The block's miner: the reward and a 32nd of it per ommer included.
            book.credit(state, block.header.coinbase, reward + reward / U256::from(32) * U256::from(ommers.len()));
            for ommer in ommers {
                let age = U256::from(number - ommer.number);
                book.credit(state, ommer.coinbase, (U256::from(8) - age) * reward / U256::from(8));
            }
            let (changes, access) = book.changes(state, false);
            effects.push(BlockEffect { effect: Effect::Rewards, changes, access });
        }
    }
    if let Some(withdrawals) = &block.effects.withdrawals {
        let mut book = Credits::default();
        for w in withdrawals {
            book.credit(state, w.address, U256::from(w.amount) * U256::from(1_000_000_000u64));
        }
        // EIP-161 holds for withdrawals too: a zero withdrawal leaves no empty account.
        let (changes, access) = book.changes(state, true);
        effects.push(BlockEffect { effect: Effect::Withdrawals, changes, access });
    }
    let requests = if block.effects.requests {
        let mut requests = Vec::new();
        let deposits = deposit_requests(receipts)?;
        if !deposits.is_empty() {
            requests.push(typed(alloy_eips::eip6110::DEPOSIT_REQUEST_TYPE, &deposits));
        }
        for (effect, contract, kind) in [
            (Effect::WithdrawalRequests, alloy_eips::eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS, alloy_eips::eip7002::WITHDRAWAL_REQUEST_TYPE),
            (Effect::ConsolidationRequests, alloy_eips::eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS, alloy_eips::eip7251::CONSOLIDATION_REQUEST_TYPE),
        ] {
            // A request contract must be there and must succeed, or the block is invalid.
            if state.accounts.get(&contract).is_none_or(|a| a.code_hash == revm::primitives::KECCAK_EMPTY) {
                return Err(EngineError::InvalidBlock(format!("no code at the {} contract {contract}", effect.name())));
            }
            let call = system_call(block, contract, Bytes::new(), state)?;
            if !call.result.is_success() {
                return Err(EngineError::InvalidBlock(format!("the {} contract's system call failed: {:?}", effect.name(), call.result)));
            }
            let output = call.result.output().cloned().unwrap_or_default();
            if !output.is_empty() {
                requests.push(typed(kind, &output));
            }
            effects.push(BlockEffect { effect, changes: call.changes, access: call.access });
        }
        Some(requests)
    } else {
        None
    };
    Ok(AfterTransactions { effects, requests })
}

fn typed(kind: u8, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(1 + data.len());
    out.push(kind);
    out.extend_from_slice(data);
    out.into()
}

/// EIP-6110's deposit contract (mainnet's) and its `DepositEvent` topic.
const DEPOSIT_CONTRACT: Address = alloy_eips::eip6110::MAINNET_DEPOSIT_CONTRACT_ADDRESS;
const DEPOSIT_EVENT: B256 = alloy_primitives::b256!("649bbc62d0e31342afea4e5cd82d4049e7e1ee912fc0889aa790803be39038c5");

/// The deposit requests of the block: each `DepositEvent` of the deposit contract, its
/// five ABI-encoded byte strings (pubkey 48, withdrawal credentials 32, amount 8,
/// signature 96, index 8) concatenated. A log of another layout makes the block invalid.
fn deposit_requests(receipts: &[TxReceipt]) -> Result<Vec<u8>, EngineError> {
    const FIELDS: [(usize, usize); 5] = [(160, 48), (256, 32), (320, 8), (384, 96), (512, 8)];
    let mut out = Vec::new();
    for (index, receipt) in receipts.iter().enumerate() {
        for log in &receipt.logs {
            if log.address != DEPOSIT_CONTRACT || log.topics().first() != Some(&DEPOSIT_EVENT) {
                continue;
            }
            let data = &log.data.data;
            let bad = |what: &str| EngineError::InvalidBlock(format!("transaction {index}: a deposit log with {what}"));
            if data.len() != 576 {
                return Err(bad(&format!("{} bytes of data, not 576", data.len())));
            }
            let word = |at: usize| U256::from_be_slice(&data[at..at + 32]);
            for (field, &(offset, size)) in FIELDS.iter().enumerate() {
                if word(32 * field) != U256::from(offset) {
                    return Err(bad(&format!("field {field} at offset {}, not {offset}", word(32 * field))));
                }
                if word(offset) != U256::from(size) {
                    return Err(bad(&format!("field {field} of size {}, not {size}", word(offset))));
                }
            }
            for &(offset, size) in &FIELDS {
                out.extend_from_slice(&data[offset + 32..offset + 32 + size]);
            }
        }
    }
    Ok(out)
}

/// The block reward of a proof-of-work fork (none from Paris on).
fn block_reward(fork: Fork) -> Option<U256> {
    const ETHER: u128 = 1_000_000_000_000_000_000;
    let ether = match fork {
        f if f >= Fork::Paris => return None,
        f if f >= Fork::Constantinople => 2,
        Fork::Byzantium => 3,
        _ => 5,
    };
    Some(U256::from(ether * ETHER))
}

/// Balance changes made directly to the state, collected as changes.
#[derive(Default)]
struct Credits {
    /// Each account touched, with its balance before the first credit.
    touched: BTreeMap<Address, U256>,
}

impl Credits {
    fn account<'s>(&mut self, state: &'s mut WorldState, address: Address) -> &'s mut Account {
        let account = state.accounts.entry(address).or_insert_with(Account::empty);
        self.touched.entry(address).or_insert(account.balance);
        account
    }

    fn credit(&mut self, state: &mut WorldState, address: Address, amount: U256) {
        let account = self.account(state, address);
        account.balance = account.balance.saturating_add(amount);
    }

    /// The touched accounts as changes (sorted by address). With `eip161`, a touched
    /// account left empty is destroyed.
    fn changes(self, state: &mut WorldState, eip161: bool) -> (TxChanges, TxAccess) {
        let mut accounts = Vec::with_capacity(self.touched.len());
        let mut access = Vec::with_capacity(self.touched.len());
        for (address, before) in self.touched {
            let account = &state.accounts[&address];
            access.push((address, Fields::NONE.with(Fields::BALANCE, account.balance != before)));
            if eip161 && account.balance.is_zero() && account.nonce == 0 && account.code_hash == revm::primitives::KECCAK_EMPTY {
                state.accounts.remove(&address);
                accounts.push((address, AccountChange::Destroyed));
                continue;
            }
            accounts.push((address, account.fields_change()));
        }
        (TxChanges { accounts }, TxAccess::of_fields(access))
    }
}

/// The DAO fork's drain: every listed account's balance to the refund contract. Like
/// the protocol (and every client), it leaves each listed account existing, empty or
/// not: Homestead has no EIP-161.
fn dao_drain(state: &mut WorldState) -> (TxChanges, TxAccess) {
    let mut book = Credits::default();
    for address in crate::dao::DRAIN_LIST {
        let account = book.account(state, address);
        let balance = std::mem::take(&mut account.balance);
        book.credit(state, crate::dao::REFUND_CONTRACT, balance);
    }
    book.credit(state, crate::dao::REFUND_CONTRACT, U256::ZERO);
    book.changes(state, false)
}

/// A system call's outcome.
struct SystemCall {
    changes: TxChanges,
    access: TxAccess,
    result: revm::context::result::ExecutionResult,
}

/// A system call (EIP-4788, EIP-2935, EIP-7002, EIP-7251): `target` called by the system
/// address with `data`, applied to `state`. Not a transaction: no nonce, no fee, no gas
/// counted in the block. Calling an address without code succeeds and changes nothing.
fn system_call(block: &BlockFixture, target: Address, data: Bytes, state: &mut WorldState) -> Result<SystemCall, EngineError> {
    let cfg = cfg_env(block.fork, &block.header);
    let benv = block_env(block.fork, &block.header, &cfg);
    let mut evm = crate::vm::build_evm(WrapDatabaseRef(std::mem::take(state)), cfg, benv);
    let outcome = evm.system_call(target, data);
    *state = std::mem::take(&mut evm.ctx.journaled_state.database.0);
    let outcome = outcome.map_err(|e| EngineError::Internal(format!("the system call to {target}: {e}")))?;
    let mut touched = outcome.state;
    // revm loads the caller and warms the coinbase for any call; a system call touches
    // neither (an empty coinbase must not be swept by EIP-161 here).
    touched.remove(&alloy_eips::eip4788::SYSTEM_ADDRESS);
    touched.remove(&block.header.coinbase);
    let (changes, access) = TxChanges::from_evm_state(touched);
    state.apply(&changes);
    Ok(SystemCall { changes, access, result: outcome.result })
}
