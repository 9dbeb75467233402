//! Block-STM parallel execution (docs/engine.md).
//!
//! Workers take tasks from the `scheduler`, run transactions on their own revm over
//! the `mv_memory` (through `vm_db`), publish reads and writes, and validate each
//! other's reads. Between tasks a worker commits, in order, every transaction that
//! is final (`commit`): block-level rules, receipts, lazy fees folded into the
//! per-transaction changes. Once the last one is committed the post-state is the
//! pre-state with the committed changes applied.

pub mod commit;
pub mod lazy;
pub mod mv_memory;
pub mod padded;
pub mod pool;
pub mod scheduler;
pub mod vm_db;

use alloy_primitives::U256;
use revm::context::result::{EVMError, ExecutionResult};
use revm::context::ContextSetters;
use revm::context_interface::JournalTr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::{Acquire, Relaxed, Release}};
use std::sync::Mutex;
use std::time::Instant;

use crate::changes::{AccountChange, TxChanges};
use crate::env::{block_env, cfg_env};
use crate::errors::{EngineError, InvalidTx, InvalidTxKind};
use crate::fixture::BlockFixture;
use crate::result::{BlockOutput, Phases, Stats};
use crate::sequential::execute_sequential_on;
use crate::state::WorldState;
use crate::vm::build_evm;
use commit::Committer;
use mv_memory::{MvMemory, TxIdx};
use padded::CachePadded;
use scheduler::{Scheduler, Task};
use vm_db::{NewCode, ReadError, VmDb};

/// Blocks with fewer transactions run sequentially unless the caller says otherwise:
/// below this, spawning workers costs more than it saves.
pub const DEFAULT_PARALLEL_THRESHOLD: usize = 8;

/// Without an explicit threshold Block-STM needs at least two threads that can run at
/// once (requested threads, capped by the machine's cores): on one it only adds cost.
pub const MIN_PARALLEL_THREADS: usize = 2;

/// With exactly two usable threads, Block-STM is the default only for blocks whose
/// transactions' gas limits add up to this much (capped by the block's gas limit). Measured on 2 cores (docs/benchmarks.md,
/// 2026-12-01): the 1-Ggas blocks gained at 2 threads (AMM swaps 1.47x, mixed 1.15x,
/// transfers 1.05x; ERC-20 0.96x), but mainnet-sized blocks (at most 30 Mgas) lost on
/// 30 of 40 (geometric mean 0.79x, worst 0.11x): their transactions are too few and too
/// cheap, and too entangled, for two workers to recover Block-STM's cost per transaction.
/// With three or more usable threads (not measurable here) every block of
/// `DEFAULT_PARALLEL_THRESHOLD` transactions runs Block-STM, as before.
pub const MIN_GAS_ON_TWO_THREADS: u64 = 100_000_000;

/// The outcome of a transaction's last incarnation.
pub enum TxResult {
    Done { result: ExecutionResult, changes: TxChanges, access: crate::changes::TxAccess, lazy_fee: Option<U256> },
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

use pool::cores;

/// A bound on the block's gas known up front: its transactions' gas limits summed,
/// capped by the block's gas limit (wallets ask for far more gas than they use).
fn gas_limits(block: &BlockFixture) -> u64 {
    let asked = block.transactions.iter().map(|tx| tx.env.gas_limit).fold(0, u64::saturating_add);
    asked.min(block.header.gas_limit)
}

fn usable_threads(threads: usize) -> usize {
    threads.min(cores())
}

/// Executes `block` with Block-STM on its fixture's pre-state, or on `parent` (a
/// previous block's post-state) when the fixture has none.
pub fn execute_parallel(
    block: &BlockFixture,
    threads: Option<usize>,
    threshold: Option<usize>,
    parent: Option<&WorldState>,
) -> Result<BlockOutput, EngineError> {
    execute_parallel_hinted(block, threads, threshold, parent, None)
}

/// `execute_parallel` with a scheduling hint: for each transaction, lower ones it is
/// expected to read from (a previous run's `dependencies`). A transaction's first
/// incarnation waits for the highest of them to have executed, as if it had met an
/// ESTIMATE there; a wrong hint only costs waiting (or the re-executions it failed to
/// spare), never correctness: validation is unchanged.
pub fn execute_parallel_hinted(
    block: &BlockFixture,
    threads: Option<usize>,
    threshold: Option<usize>,
    parent: Option<&WorldState>,
    hint: Option<&[Vec<usize>]>,
) -> Result<BlockOutput, EngineError> {
    let n = block.transactions.len();
    let threads = threads.unwrap_or_else(cores).max(1);
    let started = Instant::now();
    // The effects before the transactions are position −1: in the base state.
    let (base, effects) = crate::block_effects::start_state(block, parent)?;
    let setup_ns = started.elapsed().as_nanos() as u64;
    let fallback = match threshold {
        Some(t) if n < t => Some(format!("{n} transactions, below the parallel threshold of {t}")),
        None if n < DEFAULT_PARALLEL_THRESHOLD => {
            Some(format!("{n} transactions, below the parallel threshold of {DEFAULT_PARALLEL_THRESHOLD}"))
        }
        None if usable_threads(threads) < MIN_PARALLEL_THREADS => Some(format!(
            "1 usable thread ({threads} requested, {} cores): Block-STM would only add cost",
            cores()
        )),
        None if usable_threads(threads) == 2 && gas_limits(block) < MIN_GAS_ON_TWO_THREADS => Some(format!(
            "2 usable threads and {} gas of transactions: on two threads Block-STM pays only from {MIN_GAS_ON_TWO_THREADS} gas",
            gas_limits(block)
        )),
        _ => None,
    };
    let mut out = match fallback {
        Some(_) => execute_sequential_on(block, base, effects, fallback)?,
        // The default path may give up on an inherently serial block; an explicit
        // threshold asks for Block-STM, and gets it to the end.
        None => run_block_stm(block, base, effects, threads, threshold.is_none(), hint)?,
    };
    out.stats.phases.setup_ns = setup_ns;
    Ok(out)
}

/// Why the workers stopped before committing the whole block.
enum Failure {
    /// An engine fault (a panic in a worker included).
    Internal(String),
    /// The first invalid transaction (or one over the block's budgets), found at commit.
    Invalid(InvalidTx),
}

/// The default path gives up on Block-STM when, over a window of this many commits,
/// more than half as many conflicts (aborted incarnations and ESTIMATE waits) happened:
/// such a block is one dependency chain (every transaction reads the coinbase, one hot
/// slot), and re-executing it costs more than running it in order. Measured in
/// docs/benchmarks.md.
pub const SERIAL_WINDOW: usize = 64;

fn run_block_stm(
    block: &BlockFixture,
    base: WorldState,
    effects: Vec<crate::block_effects::BlockEffect>,
    threads: usize,
    may_give_up: bool,
    hint: Option<&[Vec<usize>]>,
) -> Result<BlockOutput, EngineError> {
    let started = Instant::now();
    let n = block.transactions.len();
    let cfg = cfg_env(block.fork, &block.header);
    let benv = block_env(block.fork, &block.header, &cfg);
    let mv = MvMemory::new(&base, n, block.header.coinbase);
    let scheduler = Scheduler::new(n);
    let new_code = NewCode::default();
    let results: Vec<CachePadded<Mutex<Option<TxResult>>>> = (0..n).map(|_| CachePadded(Mutex::new(None))).collect();
    // Per transaction, the incarnation (+1) whose successful validation began when every
    // lower transaction was already committed: its verdict is final, commit need not
    // validate again. 0: none.
    let final_validation: Vec<CachePadded<AtomicUsize>> = (0..n).map(|_| CachePadded::default()).collect();
    let committer = Mutex::new(Committer::new(block, &base));
    let committed = CachePadded(AtomicUsize::new(0));
    let counters = Mutex::new(Counters::default());
    let participants = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let conflicts = CachePadded(AtomicUsize::new(0));
    let gave_up = AtomicBool::new(false);
    let failure: Mutex<Option<Failure>> = Mutex::new(None);
    let fail = |f: Failure| {
        failure.lock().unwrap().get_or_insert(f);
        failed.store(true, Relaxed);
    };
    let coinbase = block.header.coinbase;
    let ctx = Shared {
        block,
        mv: &mv,
        scheduler: &scheduler,
        results: &results,
        final_validation: &final_validation,
        committed: &committed,
        conflicts: may_give_up.then_some(&conflicts.0),
        gave_up: &gave_up,
    };

    let worker = || {
        let work = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let db = VmDb::new(&mv, &base, &new_code);
            let mut evm = build_evm(db, cfg.clone(), benv.clone());
            let mut task: Option<Task> = None;
            let mut local = Counters::default();
            let mut worked = false;
            let mut idle = 0u32;
            while committed.load(Acquire) < n && !failed.load(Relaxed) && !gave_up.load(Relaxed) {
                let conflicts_before = local.validation_failures + local.dependency_waits;
                if task.is_none() {
                    if let Ok(mut c) = committer.try_lock() {
                        task = commit_ready(&ctx, &mut c, &mut local).map_err(|f| fail(f)).ok().flatten();
                        if failed.load(Relaxed) {
                            break;
                        }
                    }
                }
                task = match task.or_else(|| scheduler.next_task()) {
                    Some(Task::Execute(tx, inc)) if inc == 0 && waits_on_hint(&scheduler, hint, tx) => {
                        // Nothing ran: the hinted blocker resumes it (incarnation 1).
                        None
                    }
                    Some(Task::Execute(tx, inc)) => {
                        (worked, idle) = (true, 0);
                        local.executions += 1;
                        execute(&mut evm, block, tx, inc, &mv, &scheduler, &new_code, &results, &mut local, coinbase)?
                    }
                    Some(Task::Validate(tx, inc)) => {
                        (worked, idle) = (true, 0);
                        let committed_before = committed.load(Acquire);
                        let (valid, next) = validate(&mv, &scheduler, tx, inc, &mut local);
                        if valid && committed_before >= tx {
                            final_validation[tx].store(inc + 1, Release);
                        }
                        next
                    }
                    None => {
                        // An empty draw is often a skipped index (a transaction already
                        // committed): try again at once. Only a worker that keeps finding
                        // nothing gives its core away — on a loaded machine a yield costs
                        // a whole time slice.
                        idle += 1;
                        if idle < 64 {
                            std::hint::spin_loop();
                        } else {
                            std::thread::yield_now();
                        }
                        None
                    }
                };
                // Conflicts are rare on a block worth running in parallel: sharing the
                // count costs nothing there.
                let new_conflicts = local.validation_failures + local.dependency_waits - conflicts_before;
                if new_conflicts > 0 && may_give_up {
                    conflicts.fetch_add(new_conflicts as usize, Relaxed);
                }
            }
            if worked {
                participants.fetch_add(1, Relaxed);
            }
            counters.lock().unwrap().add(local);
            Ok::<(), String>(())
        }));
        match work {
            Ok(Ok(())) => {}
            Ok(Err(message)) => fail(Failure::Internal(message)),
            Err(panic) => fail(Failure::Internal(format!("engine panic in a worker: {}", panic_text(panic)))),
        }
    };
    // More workers than transactions would only spin.
    pool::run_on_workers(threads.min(n.max(1)).min(pool::MAX_THREADS), worker).map_err(EngineError::Internal)?;
    let mut execute_ns = started.elapsed().as_nanos() as u64;
    let counters = counters.into_inner().unwrap();
    drop(ctx);
    mv.discard();
    let Committer { budget, mut receipts, committed, mut dependencies, .. } = committer.into_inner().unwrap();
    let invalid = match failure.into_inner().unwrap() {
        None => None,
        Some(Failure::Internal(message)) => return Err(EngineError::Internal(message)),
        Some(Failure::Invalid(invalid)) => Some(invalid),
    };
    let mut state = base;
    let (changes, access) = match (commit::post_state(block, &mut state, &mut receipts, committed), invalid) {
        // A lazy transfer below the invalid transaction that fails its checks comes
        // first; `state` is the state before it.
        (Err(index), _) => return Err(replay_invalid(block, &state, index)),
        (Ok(_), Some(invalid)) => return Err(invalid.into()),
        (Ok(changes), None) => changes,
    };
    let committed_txs = changes.len();
    let (receipts, changes, access, state, fallback) = if gave_up.into_inner() && committed_txs < n {
        // The committed prefix is final; the rest runs in order on the state after it.
        let prefix = crate::sequential::Prefix { budget, receipts, tx_changes: changes, access };
        let rest_started = Instant::now();
        let (rest, state) = crate::sequential::execute_rest(block, state, prefix, None, None)?;
        execute_ns += rest_started.elapsed().as_nanos() as u64;
        dependencies.resize(n, Vec::new());
        let why = format!(
            "Block-STM gave up after committing {committed_txs} of {n} transactions: over {SERIAL_WINDOW} commits, \
             more than {} conflicts (an inherently serial block); the rest ran sequentially",
            SERIAL_WINDOW / 2
        );
        (rest.receipts, rest.tx_changes, rest.access, state, Some(why))
    } else {
        (receipts, changes, access, state, None)
    };
    let executions = counters.executions + (n - committed_txs) as u64;
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    let stats = Stats {
        mode: "parallel",
        threads: participants.into_inner(),
        executions,
        reexecutions: executions.saturating_sub(n as u64),
        validations: counters.validations,
        validation_failures: counters.validation_failures,
        dependency_waits: counters.dependency_waits,
        lazy_transfers: counters.lazy_transfers,
        fallback,
        access_list: None,
        elapsed_ns,
        phases: Phases { execute_ns, commit_ns: elapsed_ns - execute_ns, ..Phases::default() },
    };
    BlockOutput::new(block, receipts, changes, access, state, stats, dependencies, None, effects)
}

/// Whether `tx` (about to run its first incarnation) suspends on the highest lower
/// transaction the hint names that has not executed yet.
fn waits_on_hint(scheduler: &Scheduler, hint: Option<&[Vec<usize>]>, tx: TxIdx) -> bool {
    let blocker = hint.and_then(|h| h.get(tx)).and_then(|deps| deps.iter().copied().filter(|&d| d < tx).max());
    blocker.is_some_and(|d| scheduler.add_dependency(tx, d))
}

/// Validates incarnation `incarnation` of `tx` (a validation task, or the commit's last
/// check) and aborts it if a read changed. Returns whether it was valid, and the task
/// that follows (the re-execution of an aborted transaction).
fn validate(mv: &MvMemory<'_>, scheduler: &Scheduler, tx: TxIdx, incarnation: usize, counters: &mut Counters) -> (bool, Option<Task>) {
    counters.validations += 1;
    let valid = mv.validate_read_set(tx);
    let aborted = !valid && scheduler.try_validation_abort(tx, incarnation);
    if aborted {
        counters.validation_failures += 1;
        mv.convert_writes_to_estimates(tx);
    }
    (valid, scheduler.finish_validation(tx, aborted))
}

/// What the workers share, for `commit_ready`.
struct Shared<'s, 'a> {
    block: &'s BlockFixture,
    mv: &'s MvMemory<'a>,
    scheduler: &'s Scheduler,
    results: &'s [CachePadded<Mutex<Option<TxResult>>>],
    final_validation: &'s [CachePadded<AtomicUsize>],
    committed: &'s CachePadded<AtomicUsize>,
    /// Conflicts so far, when the run may give up on the block (`SERIAL_WINDOW`).
    conflicts: Option<&'s AtomicUsize>,
    gave_up: &'s AtomicBool,
}

/// Commits every transaction that can be committed now, in order. Returns the
/// re-execution of a transaction whose commit-time validation failed.
fn commit_ready(ctx: &Shared<'_, '_>, committer: &mut Committer<'_>, counters: &mut Counters) -> Result<Option<Task>, Failure> {
    let n = ctx.block.transactions.len();
    loop {
        let tx = committer.next();
        if tx == n {
            return Ok(None);
        }
        // `done` first: once it holds, every transaction is executed for good, so a
        // status seen after it is final (seen before it, it may be changing).
        let done = ctx.scheduler.done();
        let Some(incarnation) = ctx.scheduler.executed_incarnation(tx) else {
            if done {
                return Err(Failure::Internal(format!(
                    "transaction {tx} never executed ({})",
                    ctx.scheduler.describe(tx)
                )));
            }
            return Ok(None);
        };
        if ctx.final_validation[tx].load(Acquire) != incarnation + 1 {
            // Every lower transaction is committed: this validation is definitive.
            ctx.scheduler.begin_commit_validation();
            let (valid, next) = validate(ctx.mv, ctx.scheduler, tx, incarnation, counters);
            if !valid {
                return Ok(next);
            }
        }
        if !ctx.scheduler.try_commit(tx, incarnation) {
            return Ok(None); // aborted meanwhile by a validation: its re-execution comes
        }
        let result = ctx.results[tx].lock().unwrap().take().ok_or_else(|| {
            Failure::Internal(format!("transaction {tx} committed without a result"))
        })?;
        committer.commit(result, ctx.mv.dependencies(tx)).map_err(Failure::Invalid)?;
        ctx.committed.store(tx + 1, Release);
        if let Some(conflicts) = ctx.conflicts {
            if (tx + 1) % SERIAL_WINDOW == 0 && tx + 1 < n {
                let now = conflicts.load(Relaxed);
                if now - std::mem::replace(&mut committer.conflicts_at_window, now) > SERIAL_WINDOW / 2 {
                    ctx.gave_up.store(true, Relaxed);
                    return Ok(None);
                }
            }
        }
    }
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
                let (changes, access) = TxChanges::from_evm_state(state);
                for (_, change) in &changes.accounts {
                    if let AccountChange::Updated { code: Some(code), code_hash, .. } = change {
                        new_code.0.write().unwrap().entry(*code_hash).or_insert_with(|| code.clone());
                    }
                }
                let writes = lazy::write_set(&changes, db, coinbase, lazy_fee);
                (TxResult::Done { result, changes, access, lazy_fee }, writes)
            }
        };
        let reads = std::mem::take(&mut evm.ctx.journaled_state.database.reads);
        *results[tx].lock().unwrap() = Some(result);
        let wrote_new = mv.record(tx, reads, writes);
        return Ok(scheduler.finish_execution(tx, incarnation, wrote_new));
    }
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

pub(crate) fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".into())
}
