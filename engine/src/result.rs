//! What executing a block produces, whatever the mode, and the block-level rules
//! (gas and blob-gas budgets) that only a prefix of the block can decide.

use crate::block_effects::BlockEffect;
use crate::changes::TxChanges;
use crate::env::GAS_PER_BLOB;
use crate::errors::{InvalidTx, InvalidTxKind};
use crate::fixture::{BlockFixture, Transaction};
use crate::fork::Fork;
use crate::receipts::{block_bloom, logs_hash, receipts_root, ReceiptsRootAlongside, TxReceipt};
use crate::state::WorldState;
use alloy_primitives::{Bloom, B256};

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub mode: &'static str,
    pub threads: usize,
    pub executions: u64,
    pub reexecutions: u64,
    pub validations: u64,
    pub validation_failures: u64,
    pub dependency_waits: u64,
    /// Transactions settled as lazy raw transfers (parallel mode).
    pub lazy_transfers: u64,
    pub fallback: Option<String>,
    /// How a block access list given with the block was used: "validated" (the block's
    /// own, checked) or "hint"; None without one.
    pub access_list: Option<&'static str>,
    /// Execution and in-order bookkeeping (the benchmarks' engine time): the
    /// transaction loop, or Block-STM from its set-up through the in-order commit.
    pub elapsed_ns: u64,
    /// Where a whole call's time went, measured inside the engine.
    pub phases: Phases,
}

/// A whole call's time by phase (nanoseconds). `execute_ns` and `commit_ns` make up
/// `elapsed_ns`; the rest is outside it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Phases {
    /// JSON → a typed block.
    pub parse_ns: u64,
    /// The pre-state's world state (accounts, code analysed) and the block-level
    /// effects before the transactions (DAO drain, beacon-root call).
    pub setup_ns: u64,
    /// Transactions executed (parallel: the workers, until the last transaction is committed).
    pub execute_ns: u64,
    /// What follows execution inside `elapsed_ns` (parallel: the committed changes
    /// applied to the state once the workers stop; sequential: zero, it applies as it goes).
    pub commit_ns: u64,
    /// The block-level effects after the transactions (rewards, withdrawals), then the
    /// state root, receipts root, logs bloom and logs hash.
    pub root_ns: u64,
}

pub struct BlockOutput {
    pub fork: Fork,
    pub receipts: Vec<TxReceipt>,
    pub tx_changes: Vec<TxChanges>,
    /// Per transaction, what it accessed (for the block access list, bal/).
    pub access: Vec<crate::changes::TxAccess>,
    pub state: WorldState,
    pub state_root: B256,
    pub logs_bloom: Bloom,
    pub receipts_root: B256,
    pub logs_hash: B256,
    pub stats: Stats,
    /// For each transaction, the lower transactions whose writes it read.
    pub dependencies: Vec<Vec<usize>>,
    /// The block-level effects applied, in protocol order (block_effects.rs).
    pub effects: Vec<BlockEffect>,
    /// EIP-7685 requests (each non-empty list, type byte first) and their hash, when
    /// the fixture asks for them.
    pub requests: Option<Vec<alloy_primitives::Bytes>>,
}

impl BlockOutput {
    pub fn requests_hash(&self) -> Option<B256> {
        self.requests.as_ref().map(|r| alloy_eips::eip7685::Requests::new(r.clone()).requests_hash())
    }
}

impl BlockOutput {
    /// The block's outcome once its transactions ran: `state` is the state after the
    /// last one; the effects after the transactions are applied here (both modes), then
    /// the roots computed. `effects` are those applied before the transactions.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        block: &BlockFixture,
        receipts: Vec<TxReceipt>,
        tx_changes: Vec<TxChanges>,
        access: Vec<crate::changes::TxAccess>,
        state: WorldState,
        stats: Stats,
        dependencies: Vec<Vec<usize>>,
        alongside: Option<ReceiptsRootAlongside>,
        effects: Vec<BlockEffect>,
    ) -> Result<BlockOutput, crate::errors::EngineError> {
        let started = std::time::Instant::now();
        let fork = block.fork;
        let (mut state, mut effects) = (state, effects);
        let after = crate::block_effects::after_transactions(block, &mut state, &receipts)?;
        effects.extend(after.effects);
        let requests = after.requests;
        let receipts_root = alongside
            .and_then(|pending| pending.finish(&receipts))
            .unwrap_or_else(|| receipts_root(&receipts, fork));
        let state_root = state.state_root();
        let logs_bloom = block_bloom(&receipts);
        let logs_hash = logs_hash(&receipts);
        let mut stats = stats;
        stats.phases.root_ns = started.elapsed().as_nanos() as u64;
        Ok(BlockOutput { fork, state_root, logs_bloom, receipts_root, logs_hash, receipts, tx_changes, access, state, stats, dependencies, effects, requests })
    }
}

/// The block's gas and blob-gas budgets, consumed transaction by transaction.
pub struct BlockBudget {
    gas_limit: u64,
    gas_used: u64,
    blob_gas_used: u64,
    /// The fork's blob gas per block.
    max_blob_gas: u64,
    /// EIP-7825 (Osaka): a transaction's gas limit cap.
    tx_gas_cap: Option<u64>,
}

/// EIP-7825's cap on a transaction's gas limit (Osaka on).
pub const TX_GAS_LIMIT_CAP: u64 = 1 << 24;

impl BlockBudget {
    pub fn new(block: &BlockFixture) -> BlockBudget {
        let max_blob_gas = block.fork.blob_params().map_or(0, |b| b.per_block * GAS_PER_BLOB);
        let tx_gas_cap = (block.fork >= crate::fork::Fork::Osaka).then_some(TX_GAS_LIMIT_CAP);
        BlockBudget { gas_limit: block.header.gas_limit, gas_used: 0, blob_gas_used: 0, max_blob_gas, tx_gas_cap }
    }

    /// Whether transaction `index` fits in what the block has left.
    pub fn check(&self, index: usize, tx: &Transaction) -> Result<(), InvalidTx> {
        // revm leaves this to transaction decoding: a blob or set-code transaction
        // always has a `to`.
        if tx.tx_type == 3 && tx.env.kind.is_create() {
            return Err(InvalidTx {
                index,
                kind: InvalidTxKind::BlobCreate,
                message: "a blob transaction cannot create a contract".into(),
            });
        }
        if tx.tx_type == 4 && tx.env.kind.is_create() {
            return Err(InvalidTx {
                index,
                kind: InvalidTxKind::SetCodeCreate,
                message: "a set-code transaction cannot create a contract".into(),
            });
        }
        if let Some(why) = &tx.signature_error {
            return Err(InvalidTx { index, kind: InvalidTxKind::InvalidSignature, message: why.clone() });
        }
        if tx.fee_overflow {
            return Err(InvalidTx {
                index,
                kind: InvalidTxKind::InsufficientFunds,
                message: "a fee field above 2**128-1: no balance can pay gas at that price".into(),
            });
        }
        let gas_limit = tx.env.gas_limit;
        // The cap is a rule of the transaction itself: it comes before the block's budget.
        if let Some(cap) = self.tx_gas_cap.filter(|&cap| gas_limit > cap) {
            return Err(InvalidTx {
                index,
                kind: InvalidTxKind::GasLimitAboveCap,
                message: format!("gas limit {gas_limit} above the transaction cap {cap} (EIP-7825)"),
            });
        }
        if gas_limit > self.gas_limit {
            return Err(InvalidTx {
                index,
                kind: InvalidTxKind::GasLimitAboveBlock,
                message: format!("gas limit {gas_limit} above the block's {}", self.gas_limit),
            });
        }
        if gas_limit > self.gas_limit - self.gas_used {
            return Err(InvalidTx {
                index,
                kind: InvalidTxKind::BlockGasExhausted,
                message: format!(
                    "gas limit {gas_limit} above the block's remaining {}",
                    self.gas_limit - self.gas_used
                ),
            });
        }
        let blob_gas = tx.env.blob_hashes.len() as u64 * GAS_PER_BLOB;
        // A transaction over the per-transaction limit is revm's to reject (too_many_blobs).
        if blob_gas > 0 && blob_gas <= self.max_blob_gas && self.blob_gas_used + blob_gas > self.max_blob_gas {
            return Err(InvalidTx {
                index,
                kind: InvalidTxKind::BlobBlockGasExhausted,
                message: format!(
                    "blob gas {blob_gas} above the block's remaining {}",
                    self.max_blob_gas - self.blob_gas_used
                ),
            });
        }
        Ok(())
    }

    /// Consumes the budget; returns the cumulative gas used.
    pub fn consume(&mut self, tx: &Transaction, gas_used: u64) -> u64 {
        self.gas_used += gas_used;
        self.blob_gas_used += tx.env.blob_hashes.len() as u64 * GAS_PER_BLOB;
        self.gas_used
    }
}
