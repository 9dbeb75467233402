//! Block-STM parallel execution (docs/engine.md).
//!
//! Workers take tasks from the `scheduler`, run transactions on their own revm over
//! the `mv_memory` (through `vm_db`), publish reads and writes, and validate each
//! other's reads. When every transaction is executed and validated, the block is
//! assembled in order: block-level rules, receipts, lazy fees folded into the
//! per-transaction changes, the post-state.

pub mod lazy;
pub mod mv_memory;
pub mod padded;
pub mod pool;
pub mod scheduler;
pub mod vm_db;

use alloy_primitives::{map::HashMap, U256};
use revm::context::result::{EVMError, ExecutionResult};
use revm::context::ContextSetters;
use revm::context_interface::JournalTr;
use revm::primitives::KECCAK_EMPTY;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::changes::{AccountChange, TxChanges};
use crate::env::{block_env, cfg_env};
use crate::errors::{EngineError, InvalidTx, InvalidTxKind};
use crate::faults::{self, Fault};
use crate::fixture::BlockFixture;
use crate::result::{BlockBudget, BlockOutput, Stats};
use crate::sequential::execute_sequential_on;
use crate::state::{Account, BlockHashes, WorldState};
use crate::vm::{build_evm, receipt};
use mv_memory::{MvMemory, TxIdx};
use padded::CachePadded;
use scheduler::{Scheduler, Task};
use vm_db::{NewCode, ReadError, VmDb};

/// Blocks with fewer transactions run sequentially unless the caller says otherwise:
/// below this, spawning workers costs more than it saves.
pub const DEFAULT_PARALLEL_THRESHOLD: usize = 8;

/// Without an explicit threshold, Block-STM runs only when at least this many threads
/// can run at once (requested threads, capped by the machine's cores). Measured on
/// 2 cores (docs/benchmarks.md, 2026-11-22): at 2 threads Block-STM's per-transaction
/// cost is not recovered — mainnet blocks 0.69x geometric mean, 37 of 40 below 1.0x;
/// raw transfers 0.57x, ERC-20 0.60x; only compute-heavy AMM swaps gained (1.17x).
pub const MIN_PARALLEL_THREADS: usize = 3;

/// The outcome of a transaction's last incarnation.
enum TxResult {
    Done { result: ExecutionResult, changes: TxChanges, lazy_fee: Option<U256> },
    Transfer(lazy::LazyTransfer),
    Invalid(InvalidTx),
}

/// Each worker counts on its own and adds its counts once at the end: shared
/// counters bumped per task would bounce between the cores.
#[derive(Default, Clone, Copy)]
struct Counters {
    executions: u64,
    validations: u64,
    validation_failures: u64,
    dependency_waits: u64,
    lazy_transfers: u64,
}

impl Counters {
    fn add(&mut self, other: Counters) {
        self.executions += other.executions;
        self.validations += other.validations;
        self.validation_failures += other.validation_failures;
        self.dependency_waits += other.dependency_waits;
        self.lazy_transfers += other.lazy_transfers;
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|p| p.get()).unwrap_or(1)
}

fn usable_threads(threads: usize) -> usize {
    threads.min(cores())
}

pub fn execute_parallel(block: &BlockFixture, threads: Option<usize>, threshold: Option<usize>) -> Result<BlockOutput, EngineError> {
    let n = block.transactions.len();
    let threads = threads.unwrap_or_else(cores).max(1);
    let hashes = Arc::new(BlockHashes(block.block_hashes.clone()));
    let base = WorldState::from_pre(&block.pre, hashes);
    let fallback = match threshold {
        Some(t) if n < t => Some(format!("{n} transactions, below the parallel threshold of {t}")),
        None if n < DEFAULT_PARALLEL_THRESHOLD => {
            Some(format!("{n} transactions, below the parallel threshold of {DEFAULT_PARALLEL_THRESHOLD}"))
        }
        None if usable_threads(threads) < MIN_PARALLEL_THREADS => Some(format!(
            "{} usable thread(s) ({threads} requested, {} cores): below {MIN_PARALLEL_THREADS}, Block-STM costs more than it saves",
            usable_threads(threads),
            cores()
        )),
        _ => None,
    };
    if fallback.is_some() {
        let mut out = execute_sequential_on(block, base, fallback)?;
        out.stats.threads = threads;
        return Ok(out);
    }
    run_block_stm(block, base, threads)
}

fn run_block_stm(block: &BlockFixture, base: WorldState, threads: usize) -> Result<BlockOutput, EngineError> {
    let started = Instant::now();
    let n = block.transactions.len();
    let cfg = cfg_env(block.fork, &block.header);
    let benv = block_env(block.fork, &block.header, &cfg);
    let mv = MvMemory::new(&base, n, block.header.coinbase);
    let scheduler = Scheduler::new(n);
    let new_code = NewCode::default();
    let results: Vec<CachePadded<Mutex<Option<TxResult>>>> = (0..n).map(|_| CachePadded(Mutex::new(None))).collect();
    let counters = Mutex::new(Counters::default());
    let failed = AtomicBool::new(false);
    let failure: Mutex<Option<String>> = Mutex::new(None);
    let coinbase = block.header.coinbase;

    let worker = || {
        let work = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let db = VmDb::new(&mv, &base, &new_code);
            let mut evm = build_evm(db, cfg.clone(), benv.clone());
            let mut task: Option<Task> = None;
            let mut local = Counters::default();
            while !scheduler.done() && !failed.load(Relaxed) {
                task = match task.or_else(|| scheduler.next_task()) {
                    Some(Task::Execute(tx, inc)) => {
                        local.executions += 1;
                        execute(&mut evm, block, tx, inc, &mv, &scheduler, &new_code, &results, &mut local, coinbase)?
                    }
                    Some(Task::Validate(tx, inc)) => {
                        local.validations += 1;
                        let valid = mv.validate_read_set(tx);
                        let aborted = !valid && scheduler.try_validation_abort(tx, inc);
                        if aborted {
                            local.validation_failures += 1;
                            mv.convert_writes_to_estimates(tx);
                        }
                        scheduler.finish_validation(tx, aborted)
                    }
                    None => {
                        std::thread::yield_now();
                        None
                    }
                };
            }
            counters.lock().unwrap().add(local);
            Ok::<(), String>(())
        }));
        let error = match work {
            Ok(Ok(())) => return,
            Ok(Err(message)) => message,
            Err(panic) => format!("engine panic in a worker: {}", panic_text(panic)),
        };
        failure.lock().unwrap().get_or_insert(error);
        failed.store(true, Relaxed);
    };
    // More workers than transactions would only spin.
    pool::run_on_workers(threads.min(n.max(1)), worker).map_err(EngineError::Internal)?;
    if let Some(message) = failure.into_inner().unwrap() {
        return Err(EngineError::Internal(message));
    }
    let dependencies: Vec<Vec<TxIdx>> = (0..n).map(|tx| mv.dependencies(tx)).collect();
    let counters = counters.into_inner().unwrap();
    let executions = counters.executions;
    let stats = Stats {
        mode: "parallel",
        threads,
        executions,
        reexecutions: executions.saturating_sub(n as u64),
        validations: counters.validations,
        validation_failures: counters.validation_failures,
        dependency_waits: counters.dependency_waits,
        lazy_transfers: counters.lazy_transfers,
        fallback: None,
        elapsed_ns: 0,
    };
    mv.discard();
    let results: Vec<TxResult> = results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.0.into_inner().unwrap().ok_or_else(|| {
                EngineError::Internal(format!("transaction {i} never executed ({})", scheduler.describe(i)))
            })
        })
        .collect::<Result<_, _>>()?;
    let (receipts, changes, state) = assemble(block, base, results)?;
    // Like the sequential timer: execution and in-order bookkeeping, not the final roots.
    let stats = Stats { elapsed_ns: started.elapsed().as_nanos() as u64, ..stats };
    Ok(BlockOutput::new(block.fork, receipts, changes, state, stats, dependencies))
}

#[allow(clippy::too_many_arguments)]
fn execute(
    evm: &mut crate::vm::Evm<VmDb<'_>>,
    block: &BlockFixture,
    tx: TxIdx,
    incarnation: usize,
    mv: &MvMemory<'_>,
    scheduler: &Scheduler,
    new_code: &NewCode,
    results: &[CachePadded<Mutex<Option<TxResult>>>],
    counters: &mut Counters,
    coinbase: alloy_primitives::Address,
) -> Result<Option<Task>, String> {
    loop {
        evm.ctx.journaled_state.database.begin(tx);
        // A database error revm kept from an earlier transaction must not leak into this one.
        evm.ctx.error = Ok(());
        evm.ctx.set_tx(block.transactions[tx].env.clone());
        match lazy::lazy_transfer(evm, coinbase) {
            Ok(Some(transfer)) => {
                // Nothing ran, but leave no trace in the journal for the next transaction.
                let _ = evm.ctx.journaled_state.finalize();
                counters.lazy_transfers += 1;
                let writes = lazy::transfer_writes(&transfer, coinbase);
                let reads = std::mem::take(&mut evm.ctx.journaled_state.database.reads);
                *results[tx].lock().unwrap() = Some(TxResult::Transfer(transfer));
                let wrote_new = mv.record(tx, reads, writes);
                return Ok(scheduler.finish_execution(tx, incarnation, wrote_new));
            }
            Ok(None) => {}
            Err(ReadError::Blocked(blocking)) => {
                counters.dependency_waits += 1;
                if scheduler.add_dependency(tx, blocking) {
                    return Ok(None);
                }
                continue;
            }
        }
        let (outcome, lazy_fee) = lazy::run_lazy(evm);
        let state = evm.ctx.journaled_state.finalize();
        evm.ctx.error = Ok(());
        let db = &evm.ctx.journaled_state.database;
        // Whatever revm made of it, an incarnation that met an ESTIMATE read incomplete
        // state: it waits for the blocker and runs again.
        let outcome = match db.blocked {
            Some(blocking) => Err(EVMError::Database(ReadError::Blocked(blocking))),
            None => outcome,
        };
        let (result, writes) = match outcome {
            Err(EVMError::Database(ReadError::Blocked(blocking))) => {
                if blocking >= tx {
                    return Err(format!("transaction {tx} blocked on a higher transaction {blocking}"));
                }
                counters.dependency_waits += 1;
                if scheduler.add_dependency(tx, blocking) {
                    return Ok(None);
                }
                continue; // the blocker finished meanwhile: run again at once
            }
            Err(EVMError::Transaction(e)) => {
                let invalid = InvalidTx { index: tx, kind: InvalidTxKind::from_revm(&e), message: e.to_string() };
                (TxResult::Invalid(invalid), Vec::new())
            }
            Err(other) => return Err(format!("transaction {tx}: {other}")),
            Ok(result) => {
                let changes = TxChanges::from_evm_state(state);
                for (_, change) in &changes.accounts {
                    if let AccountChange::Updated { code: Some(code), code_hash, .. } = change {
                        new_code.0.write().unwrap().entry(*code_hash).or_insert_with(|| code.clone());
                    }
                }
                let writes = lazy::write_set(&changes, db, coinbase, lazy_fee);
                (TxResult::Done { result, changes, lazy_fee }, writes)
            }
        };
        let reads = std::mem::take(&mut evm.ctx.journaled_state.database.reads);
        *results[tx].lock().unwrap() = Some(result);
        let wrote_new = mv.record(tx, reads, writes);
        return Ok(scheduler.finish_execution(tx, incarnation, wrote_new));
    }
}

/// Puts the block together in order, as a sequential run would have: the first
/// invalid transaction rejects the block; lazy fees are folded into each
/// transaction's changes with the coinbase balance at that position.
type Assembled = (Vec<crate::receipts::TxReceipt>, Vec<TxChanges>, WorldState);

fn assemble(block: &BlockFixture, mut state: WorldState, results: Vec<TxResult>) -> Result<Assembled, EngineError> {
    let coinbase = block.header.coinbase;
    let mut budget = BlockBudget::new(block);
    let mut receipts = Vec::with_capacity(results.len());
    let mut all_changes = Vec::with_capacity(results.len());
    let with_roots = !block.fork.has_receipt_status();
    for (index, (tx, result)) in block.transactions.iter().zip(results).enumerate() {
        budget.check(index, tx)?;
        let (gas_used, receipt_of, mut changes, lazy_fee) = match result {
            TxResult::Invalid(invalid) => return Err(invalid.into()),
            TxResult::Done { result, changes, lazy_fee } => {
                state.apply(&changes);
                if faults::active(Fault::CommitOutOfOrder) { if let Some(lower) = all_changes.last() { state.apply(lower); } }
                (result.tx_gas_used(), Some(result), changes, lazy_fee)
            }
            TxResult::Transfer(t) => match lazy::settle_transfer(&mut state, &t) {
                Some(changes) => (t.gas_used, None, changes, Some(t.coinbase_fee)),
                // A check failed: revm, replayed here, names the error.
                None => return Err(replay_invalid(block, &state, index)),
            },
        };
        if let Some(fee) = lazy_fee {
            let account = state.accounts.entry(coinbase).or_insert_with(|| Account {
                balance: U256::ZERO,
                nonce: 0,
                code_hash: KECCAK_EMPTY,
                storage: HashMap::default(),
            });
            account.balance += fee;
            let change = AccountChange::Updated {
                balance: account.balance,
                nonce: account.nonce,
                code_hash: account.code_hash,
                code: None,
                storage_cleared: false,
                storage: Vec::new(),
            };
            let at = changes.accounts.partition_point(|(a, _)| *a < coinbase);
            changes.accounts.insert(at, (coinbase, change));
        }
        let cumulative = budget.consume(tx, gas_used);
        let cumulative = if faults::active(Fault::CumulativeGasOrder) && receipt_of.is_none() { cumulative - gas_used } else { cumulative };
        let mut r = match &receipt_of {
            Some(result) => receipt(tx, result, cumulative),
            None => transfer_receipt(tx, gas_used, cumulative),
        };
        if with_roots {
            r.post_state_root = Some(state.state_root());
        }
        receipts.push(r);
        all_changes.push(changes);
    }
    Ok((receipts, all_changes, state))
}

/// Replays transaction `index` with revm on the exact state before it, to raise the
/// error sequential execution raises. A replay that succeeds means a lazy check was
/// stricter than revm: an engine bug, reported as such rather than papered over.
fn replay_invalid(block: &BlockFixture, state: &WorldState, index: usize) -> EngineError {
    let cfg = cfg_env(block.fork, &block.header);
    let benv = block_env(block.fork, &block.header, &cfg);
    let mut evm = build_evm(revm::database_interface::WrapDatabaseRef(state), cfg, benv);
    match crate::vm::transact(&mut evm, index, &block.transactions[index]) {
        Err(e) => e.into(),
        Ok(_) => EngineError::Internal(format!("transaction {index}: lazy transfer checks failed but revm accepts it")),
    }
}

fn transfer_receipt(tx: &crate::fixture::Transaction, gas_used: u64, cumulative_gas_used: u64) -> crate::receipts::TxReceipt {
    crate::receipts::TxReceipt {
        tx_type: tx.tx_type,
        success: true,
        gas_used,
        cumulative_gas_used,
        logs: Vec::new(),
        contract_address: None,
        post_state_root: None,
    }
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".into())
}
