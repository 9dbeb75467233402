//! The rolling commit: transactions are committed in block order while the workers
//! are still executing higher ones, so that the block-level bookkeeping is no serial
//! tail after the last execution.
//!
//! Transaction k is committed once every lower one is: its read set is validated one
//! last time — against committed, hence final, values, so the verdict is definitive —
//! and its status moves from Executed to Committed, after which no validation can abort
//! it. Committing decides what only the block's order can decide, where sequential
//! execution decides it: the gas and blob-gas budgets, the first invalid transaction,
//! the coinbase balance each lazy fee lands on, cumulative gas and receipts.
//!
//! What needs the whole state waits for the workers to finish (`post_state`): the
//! post-state is the pre-state with the committed changes applied in order, and a lazy
//! transfer's nonce and balance checks are made there, on the exact state before it
//! (settling it writes the state it reads, so the checks cost no extra look-up).

use alloy_primitives::{Address, B256, U256};
use revm::primitives::KECCAK_EMPTY;

use super::lazy::LazyTransfer;
use super::mv_memory::TxIdx;
use super::TxResult;
use crate::changes::{AccountChange, Fields, TxAccess, TxChanges};
use crate::errors::InvalidTx;
use crate::faults::{self, Fault};
use crate::fixture::BlockFixture;
use crate::receipts::TxReceipt;
use crate::result::BlockBudget;
use crate::state::{Account, WorldState};
use crate::vm::receipt;

/// The coinbase's fields at the commit position (None: it does not exist).
#[derive(Clone, Copy, Debug)]
struct AccountView {
    balance: U256,
    nonce: u64,
    code_hash: B256,
}

/// A committed transaction's state changes.
pub enum Committed {
    Changes(TxChanges, TxAccess),
    /// A lazy transfer, settled on the state in `post_state`; the coinbase's account
    /// after its fee is known at commit.
    Transfer(LazyTransfer, (Address, AccountChange)),
}

pub struct Committer<'a> {
    block: &'a BlockFixture,
    coinbase: Address,
    coinbase_view: Option<AccountView>,
    pub budget: BlockBudget,
    pub receipts: Vec<TxReceipt>,
    pub committed: Vec<Committed>,
    /// Per committed transaction, the lower transactions whose writes it read.
    pub dependencies: Vec<Vec<TxIdx>>,
    /// The run's conflict count at the start of the current window (mod.rs).
    pub conflicts_at_window: usize,
}

impl<'a> Committer<'a> {
    pub fn new(block: &'a BlockFixture, base: &WorldState) -> Self {
        let n = block.transactions.len();
        let coinbase = block.header.coinbase;
        Committer {
            block,
            coinbase,
            coinbase_view: base.accounts.get(&coinbase).map(|a| AccountView {
                balance: a.balance,
                nonce: a.nonce,
                code_hash: a.code_hash,
            }),
            budget: BlockBudget::new(block),
            receipts: Vec::with_capacity(n),
            committed: Vec::with_capacity(n),
            dependencies: Vec::with_capacity(n),
            conflicts_at_window: 0,
        }
    }

    /// The next transaction to commit.
    pub fn next(&self) -> TxIdx {
        self.receipts.len()
    }

    /// Pays `fee` to the coinbase where sequential execution pays it: onto the coinbase
    /// as it is at this position. Returns the coinbase's account change.
    fn pay_coinbase(&mut self, fee: U256) -> (Address, AccountChange) {
        let view = self.coinbase_view.get_or_insert(AccountView { balance: U256::ZERO, nonce: 0, code_hash: KECCAK_EMPTY });
        view.balance += fee;
        let change = AccountChange::Updated {
            balance: view.balance,
            nonce: view.nonce,
            code_hash: view.code_hash,
            code: None,
            storage_cleared: false,
            storage: Vec::new(),
        };
        (self.coinbase, change)
    }

    /// Commits the next transaction, whose final (validated) result is `result`; an
    /// invalid transaction (or one over the block's budgets) rejects the block.
    pub fn commit(&mut self, result: TxResult, dependencies: Vec<TxIdx>) -> Result<(), InvalidTx> {
        let index = self.next();
        let tx = &self.block.transactions[index];
        self.budget.check(index, tx)?;
        let (gas_used, executed, committed) = match result {
            TxResult::Invalid(invalid) => return Err(invalid),
            TxResult::Done { result, mut changes, mut access, lazy_fee } => {
                if let Some(change) = changes.accounts.iter().find(|(a, _)| *a == self.coinbase) {
                    self.coinbase_view = match &change.1 {
                        AccountChange::Destroyed => None,
                        AccountChange::Updated { balance, nonce, code_hash, .. } => {
                            Some(AccountView { balance: *balance, nonce: *nonce, code_hash: *code_hash })
                        }
                    };
                }
                if let Some(fee) = lazy_fee {
                    // The handler defers the fee only when the transaction never loaded
                    // the coinbase, so its changes do not hold it.
                    let change = self.pay_coinbase(fee);
                    let at = changes.accounts.partition_point(|(a, _)| *a < self.coinbase);
                    changes.accounts.insert(at, change);
                    // Sequential execution loads the coinbase to pay it (the fee is not zero).
                    access.accounts.push((self.coinbase, Fields::BALANCE));
                }
                (result.tx_gas_used(), Some(result), Committed::Changes(changes, access))
            }
            TxResult::Transfer(t) => {
                // Neither the sender nor the recipient is the coinbase (lazy.rs).
                let change = self.pay_coinbase(t.coinbase_fee);
                (t.gas_used, None, Committed::Transfer(t, change))
            }
        };
        let cumulative = self.budget.consume(tx, gas_used);
        let cumulative =
            if faults::active(Fault::CumulativeGasOrder) && executed.is_none() { cumulative - gas_used } else { cumulative };
        self.receipts.push(match &executed {
            Some(result) => receipt(tx, result, cumulative),
            None => transfer_receipt(tx, gas_used, cumulative),
        });
        self.committed.push(committed);
        self.dependencies.push(dependencies);
        Ok(())
    }
}

/// The post-state: the pre-state with the committed transactions applied in order,
/// lazy transfers settled (and before Byzantium each receipt's intermediate state root).
/// Returns the per-transaction changes, or the index of the first lazy transfer that
/// fails its checks (revm, replayed on `state` — the state before it — names the error).
pub fn post_state(
    block: &BlockFixture,
    state: &mut WorldState,
    receipts: &mut [TxReceipt],
    committed: Vec<Committed>,
) -> Result<(Vec<TxChanges>, Vec<TxAccess>), TxIdx> {
    let with_roots = !block.fork.has_receipt_status();
    let mut all: Vec<TxChanges> = Vec::with_capacity(committed.len());
    let mut accesses: Vec<TxAccess> = Vec::with_capacity(committed.len());
    for (index, c) in committed.into_iter().enumerate() {
        let changes = match c {
            Committed::Changes(changes, access) => {
                state.apply(&changes);
                accesses.push(access);
                changes
            }
            Committed::Transfer(t, coinbase_change) => {
                // What revm loads for a plain transfer: sender, recipient (value > 0), coinbase (fee > 0).
                accesses.push(TxAccess::of_fields(vec![
                    (t.sender, Fields::BALANCE.with(Fields::NONCE, true)),
                    (t.recipient, Fields::BALANCE),
                    (coinbase_change.0, Fields::BALANCE),
                ]));
                let mut changes = settle(state, &t).ok_or(index)?;
                if let AccountChange::Updated { balance, .. } = &coinbase_change.1 {
                    state.accounts.entry(coinbase_change.0).or_insert_with(Account::empty).balance = *balance;
                }
                let at = changes.accounts.partition_point(|(a, _)| *a < coinbase_change.0);
                changes.accounts.insert(at, coinbase_change);
                changes
            }
        };
        if faults::active(Fault::CommitOutOfOrder) {
            if let Some(lower) = all.last() {
                state.apply(lower);
            }
        }
        if with_roots {
            receipts[index].post_state_root = Some(state.state_root());
        }
        all.push(changes);
    }
    Ok((all, accesses))
}

/// Applies a lazy transfer at its position if the sender passes the checks revm makes
/// there — it exists without code (or delegated, EIP-7702), has the transaction's nonce and holds gas limit ×
/// max price + value — and returns its changes (the coinbase fee is left to the caller).
fn settle(state: &mut WorldState, t: &LazyTransfer) -> Option<TxChanges> {
    let sender = state.accounts.get_mut(&t.sender)?;
    // EIP-3607, with EIP-7702's exception: an EOA delegated to code still sends.
    let delegated = || state.contracts.get(&sender.code_hash).is_some_and(|code| code.is_eip7702());
    if (sender.code_hash != KECCAK_EMPTY && !delegated())
        || (sender.nonce != t.nonce && !faults::active(Fault::SkipLazyNonceCheck))
        || sender.balance < t.upfront
    {
        return None;
    }
    sender.nonce += 1;
    sender.balance -= t.sender_cost;
    let sender_change = sender.fields_change();
    let recipient = state.accounts.entry(t.recipient).or_insert_with(Account::empty);
    recipient.balance += t.value;
    let recipient_change = recipient.fields_change();
    let mut accounts = vec![(t.sender, sender_change), (t.recipient, recipient_change)];
    accounts.sort_unstable_by_key(|(a, _)| *a);
    Some(TxChanges { accounts })
}

fn transfer_receipt(tx: &crate::fixture::Transaction, gas_used: u64, cumulative_gas_used: u64) -> TxReceipt {
    TxReceipt::new(tx.tx_type, true, gas_used, cumulative_gas_used, Vec::new(), None)
}
