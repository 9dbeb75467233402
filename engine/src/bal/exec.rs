//! Executing a block with its access list (docs/engine.md, "Block access lists").
//!
//! Parallel mode: workers take transactions in order from a counter and run each on a
//! `BalDb` — the state before the transactions overlaid with the list's writes of lower
//! indices — so no transaction waits for another and none is speculative. A worker that
//! finds the committer free commits, in block order, every transaction done: the
//! block-level rules as sequential execution applies them, then its writes against the
//! list's at its index.
//!
//! Why no validation is needed: if every lower transaction wrote exactly the list's
//! writes at its index (and the effects before the transactions matched index 0), the
//! view at a transaction equals the exact state there, location by location — except
//! for what a list cannot express: an account that existed being destroyed, and an empty
//! account coming into existence before EIP-161 (`TxAccess::resets`). The commit keeps
//! those resets; a transaction that loaded a reset account (or came out invalid) after
//! one is run again by the commit on the view with the resets (`BalDb::resets`): a
//! transaction's execution can only differ from the exact one after reading something
//! that differs, and every such location belongs to a reset account it loaded. A hint
//! whose writes differ from a transaction's is trusted no further: the committed prefix
//! stands and the rest of the block runs in order on the exact state, still checked.
//!
//! The list is checked in the order sequential mode checks it: index 0, then each
//! transaction as it is applied (so a list wrong below an invalid transaction names the
//! list, not the transaction), then, once the block is done, the whole list against the
//! one execution produced — accounts, storage reads and index n + 1 included.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

use super::build::{block_access_list, Builder};
use super::check::{check_structure, first_mismatch};
use super::view::{BalDb, BalView, Resets};
use super::{writes_of, BlockAccessList, Mismatch, Trust};
use crate::block_effects::BlockEffect;
use crate::changes::{TxAccess, TxChanges};
use crate::env::{block_env, cfg_env};
use crate::errors::{EngineError, InvalidTx};
use crate::fixture::BlockFixture;
use crate::parallel::padded::CachePadded;
use crate::parallel::pool;
use crate::receipts::TxReceipt;
use crate::result::{BlockBudget, BlockOutput, Phases, Stats};
use crate::sequential::{execute_checked_on, execute_rest, Prefix, TxCheck};
use crate::state::WorldState;
use crate::vm::{build_evm, receipt, transact, TxOutcome};
use revm::state::bal::BlockAccessIndex;

/// The first difference at `index` between the list and what `changes`/`access` wrote.
fn mismatch_at(list: &[super::AccountChanges], index: u64, parts: &[(&TxChanges, &TxAccess)]) -> Option<Mismatch> {
    let mut builder = Builder::default();
    for (changes, access) in parts {
        builder.add(index, changes, access);
    }
    first_mismatch(list, &builder.finish(), Some(index..=index))
}

/// Index 0: the effects before the transactions against the list.
fn mismatch_before(list: &[super::AccountChanges], effects: &[BlockEffect]) -> Option<Mismatch> {
    let before: Vec<_> = effects.iter().filter(|e| e.effect.before_transactions()).map(|e| (&e.changes, &e.access)).collect();
    mismatch_at(list, 0, &before)
}

/// The whole list against the one `out` produced.
fn check_whole(list: &[super::AccountChanges], out: BlockOutput) -> Result<BlockOutput, EngineError> {
    match first_mismatch(list, &block_access_list(&out), None) {
        Some(m) => Err(EngineError::AccessList(m)),
        None => Ok(out),
    }
}

/// Sequential mode with the block's list: executed in order, the list checked as
/// described above. `start`: the state before the transactions and the effects applied.
pub fn execute_sequential_checked(
    block: &BlockFixture,
    start: (WorldState, Vec<BlockEffect>),
    list: &BlockAccessList,
) -> Result<BlockOutput, EngineError> {
    let n = block.transactions.len();
    check_structure(list, n).map_err(EngineError::AccessList)?;
    let (state, effects) = start;
    if let Some(m) = mismatch_before(list, &effects) {
        return Err(EngineError::AccessList(m));
    }
    let view = BalView::new(list, n);
    let check = tx_check(list, &view);
    let out = execute_checked_on(block, state, effects, None, Some(&check))?;
    check_whole(list, out)
}

/// Each transaction's writes against the list at its index.
fn tx_check<'c>(list: &'c BlockAccessList, view: &'c BalView) -> impl Fn(usize, &TxChanges, &TxAccess) -> Result<(), EngineError> + 'c {
    move |i, changes, access| {
        let index = i as u64 + 1;
        if view.matches(index, &writes_of(changes, access)) {
            return Ok(());
        }
        let m = mismatch_at(list, index, &[(changes, access)]).unwrap_or_else(|| Mismatch {
            index: Some(index),
            account: None,
            field: "writes".into(),
            listed: "other writes".into(),
            executed: "these".into(),
        });
        Err(EngineError::AccessList(m))
    }
}

/// A transaction run on the view, waiting for its turn to commit.
struct Executed {
    outcome: Result<TxOutcome, InvalidTx>,
    /// Its writes are exactly the list's at its index.
    matches: bool,
}

/// Runs transaction `i` on `evm` (a `BalDb` at its index) and checks its writes
/// against the list's at its index.
fn run_one(evm: &mut crate::vm::Evm<BalDb<'_>>, block: &BlockFixture, view: &BalView<'_>, i: usize) -> Result<Executed, String> {
    let outcome = match transact(evm, i, &block.transactions[i]) {
        Ok(outcome) => Ok(outcome),
        Err(crate::vm::TxError::Invalid(invalid)) => Err(invalid),
        Err(crate::vm::TxError::Db(never)) => match never {},
        Err(crate::vm::TxError::Internal(message)) => return Err(message),
    };
    let matches = outcome.as_ref().is_ok_and(|o| view.matches(i as u64 + 1, &writes_of(&o.changes, &o.access)));
    Ok(Executed { outcome, matches })
}

/// What the in-order commit has decided so far.
struct Commit {
    next: usize,
    /// Accounts reset by committed transactions (`TxAccess::resets`).
    resets: Resets,
    /// Transactions the commit ran again, with the resets, over a worker's result.
    reexecutions: u64,
    budget: BlockBudget,
    receipts: Vec<TxReceipt>,
    changes: Vec<TxChanges>,
    access: Vec<TxAccess>,
    failure: Option<EngineError>,
}

/// Parallel mode with a list (`trust`: the block's own, or a hint).
pub fn execute_parallel_listed(
    block: &BlockFixture,
    start: (WorldState, Vec<BlockEffect>),
    list: &BlockAccessList,
    trust: Trust,
    threads: usize,
) -> Result<BlockOutput, EngineError> {
    let started = Instant::now();
    let n = block.transactions.len();
    if trust == Trust::Validate {
        check_structure(list, n).map_err(EngineError::AccessList)?;
    }
    let (base, effects) = start;
    let before = mismatch_before(list, &effects);
    if let (Trust::Validate, Some(m)) = (trust, &before) {
        return Err(EngineError::AccessList(m.clone()));
    }
    if before.is_some() {
        // A hint wrong from index 0 on: nothing of it can be trusted.
        let why = "the access list hint's index 0 differs from the effects before the transactions: the block ran sequentially";
        let mut out = execute_checked_on(block, base, effects, Some(why.into()), None)?;
        out.stats.access_list = Some("hint");
        return Ok(out);
    }
    let view = BalView::new(list, n);
    let cfg = cfg_env(block.fork, &block.header);
    let benv = block_env(block.fork, &block.header, &cfg);
    let slots: Vec<CachePadded<Mutex<Option<Executed>>>> = (0..n).map(|_| CachePadded(Mutex::new(None))).collect();
    let next = CachePadded(AtomicUsize::new(0));
    // The view is exact for the next transaction to commit (see the module's comment).
    let exact = AtomicBool::new(true);
    let stop = AtomicBool::new(false);
    let executions = AtomicUsize::new(0);
    let participants = AtomicUsize::new(0);
    let commit = Mutex::new(Commit {
        next: 0,
        budget: BlockBudget::new(block),
        receipts: Vec::with_capacity(n),
        changes: Vec::with_capacity(n),
        access: Vec::with_capacity(n),
        failure: None,
        resets: Resets::default(),
        reexecutions: 0,
    });
    let commit_ready = |c: &mut Commit| {
        while c.next < n && exact.load(Relaxed) && c.failure.is_none() {
            let i = c.next;
            let Some(mut executed) = slots[i].lock().unwrap().take() else { return };
            // A transaction that loaded an account a lower one reset ran on a view that
            // did not know it (an invalid one may have): it runs again, knowing. One
            // that loaded none read only what the list says exactly.
            let stale = !c.resets.is_empty()
                && executed.outcome.as_ref().map_or(true, |o| o.access.accounts.iter().any(|(a, _)| c.resets.contains_key(a)));
            if stale {
                let db = BalDb { base: &base, view: &view, index: BlockAccessIndex::from_tx_index(i as u64), resets: Some(&c.resets) };
                let mut evm = build_evm(db, cfg.clone(), benv.clone());
                executed = match run_one(&mut evm, block, &view, i) {
                    Ok(executed) => executed,
                    Err(message) => {
                        c.failure = Some(EngineError::Internal(message));
                        break;
                    }
                };
                c.reexecutions += 1;
            }
            let tx = &block.transactions[i];
            let outcome = match c.budget.check(i, tx).and(executed.outcome) {
                Ok(outcome) => outcome,
                Err(invalid) => {
                    c.failure = Some(invalid.into());
                    break;
                }
            };
            if !executed.matches {
                if trust == Trust::Validate {
                    c.failure = tx_check(list, &view)(i, &outcome.changes, &outcome.access).err();
                    break;
                }
                exact.store(false, Relaxed);
            }
            for (address, exists) in &outcome.access.resets {
                c.resets.entry(*address).or_default().push((BlockAccessIndex::from_tx_index(i as u64), *exists));
            }
            let cumulative = c.budget.consume(tx, outcome.result.tx_gas_used());
            c.receipts.push(receipt(tx, &outcome.result, cumulative));
            c.changes.push(outcome.changes);
            c.access.push(outcome.access);
            c.next += 1;
        }
        if c.failure.is_some() || !exact.load(Relaxed) {
            stop.store(true, Relaxed);
        }
    };
    let worker = || {
        let work = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut evm = build_evm(BalDb::new(&base, &view), cfg.clone(), benv.clone());
            let mut ran = 0;
            while !stop.load(Relaxed) {
                let i = next.0.fetch_add(1, Relaxed);
                if i >= n {
                    break;
                }
                evm.ctx.journaled_state.database.index = BlockAccessIndex::from_tx_index(i as u64);
                let executed = run_one(&mut evm, block, &view, i)?;
                *slots[i].lock().unwrap() = Some(executed);
                ran += 1;
                if let Ok(mut c) = commit.try_lock() {
                    commit_ready(&mut c);
                }
            }
            executions.fetch_add(ran, Relaxed);
            if ran > 0 {
                participants.fetch_add(1, Relaxed);
            }
            Ok(())
        }));
        let failure = match work {
            Ok(Ok(())) => return,
            Ok(Err(message)) => EngineError::Internal(message),
            Err(panic) => EngineError::Internal(format!("engine panic in a worker: {}", crate::parallel::panic_text(panic))),
        };
        commit.lock().unwrap_or_else(|p| p.into_inner()).failure.get_or_insert(failure);
        stop.store(true, Relaxed);
    };
    pool::run_on_workers(threads.clamp(1, pool::MAX_THREADS).min(n.max(1)), worker).map_err(EngineError::Internal)?;
    let mut c = commit.into_inner().unwrap_or_else(|p| p.into_inner());
    // What the workers left uncommitted (the last results).
    commit_ready(&mut c);
    if let Some(failure) = c.failure {
        return Err(failure);
    }
    let execute_ns = started.elapsed().as_nanos() as u64;
    let mut state = base;
    let committed = c.next;
    let with_roots = !block.fork.has_receipt_status();
    for (i, changes) in c.changes.iter().enumerate() {
        state.apply(changes);
        if with_roots {
            c.receipts[i].post_state_root = Some(state.state_root());
        }
    }
    let mut executions = executions.into_inner() as u64 + c.reexecutions;
    let (receipts, changes, access, state, fallback) = if committed < n {
        // The view stopped being exact: the rest in order on the exact state.
        let prefix = Prefix { budget: c.budget, receipts: c.receipts, tx_changes: c.changes, access: c.access };
        let check = tx_check(list, &view);
        let check: Option<TxCheck<'_>> = (trust == Trust::Validate).then_some(&check);
        let (rest, state) = execute_rest(block, state, prefix, None, check)?;
        executions += (n - committed) as u64;
        let why = format!(
            "the access list's view was exact for {committed} of {n} transactions (then a transaction's writes \
             differed from the list's, or could not be expressed in a list); the rest ran sequentially"
        );
        (rest.receipts, rest.tx_changes, rest.access, state, Some(why))
    } else {
        (c.receipts, c.changes, c.access, state, None)
    };
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    let stats = Stats {
        mode: "parallel",
        access_list: Some(match trust {
            Trust::Validate => "validated",
            Trust::Hint => "hint",
        }),
        threads: participants.into_inner(),
        executions,
        reexecutions: executions.saturating_sub(n as u64),
        fallback,
        elapsed_ns,
        phases: Phases { execute_ns, commit_ns: elapsed_ns - execute_ns, ..Phases::default() },
        ..Stats::default()
    };
    let out = BlockOutput::new(block, receipts, changes, access, state, stats, vec![Vec::new(); n], None, effects)?;
    match trust {
        Trust::Validate => check_whole(list, out),
        Trust::Hint => Ok(out),
    }
}

