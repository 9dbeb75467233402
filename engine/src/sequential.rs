//! The sequential executor: the block's transactions in order on one revm instance.
//! It is the baseline oracle the parallel executor must match bit for bit.

use crate::env::{block_env, cfg_env};
use crate::errors::EngineError;
use crate::fixture::BlockFixture;
use crate::result::{BlockBudget, BlockOutput, Phases, Stats};
use crate::state::WorldState;
use crate::changes::TxChanges;
use crate::receipts::{ReceiptsRootAlongside, TxReceipt};
use crate::vm::{build_evm, receipt, transact};
use revm::database_interface::WrapDatabaseRef;
use std::time::Instant;

/// Executes `block` on its fixture's pre-state, or on `parent` (a previous block's
/// post-state) when the fixture has none.
pub fn execute_sequential(block: &BlockFixture, parent: Option<&WorldState>) -> Result<BlockOutput, EngineError> {
    let started = Instant::now();
    let (state, effects) = crate::block_effects::start_state(block, parent)?;
    let setup_ns = started.elapsed().as_nanos() as u64;
    let mut out = execute_sequential_on(block, state, effects, None)?;
    out.stats.phases.setup_ns = setup_ns;
    Ok(out)
}

/// Runs the block's transactions on `state` (the effects before them, `effects`,
/// applied); `fallback` records why parallel mode came here.
pub fn execute_sequential_on(
    block: &BlockFixture,
    state: WorldState,
    effects: Vec<crate::block_effects::BlockEffect>,
    fallback: Option<String>,
) -> Result<BlockOutput, EngineError> {
    execute_checked_on(block, state, effects, fallback, None)
}

/// Checks each transaction's outcome as it is applied (a block access list: bal/).
pub type TxCheck<'c> = &'c dyn Fn(usize, &TxChanges, &crate::changes::TxAccess) -> Result<(), EngineError>;

/// `execute_sequential_on`, with `check` called on each transaction once executed.
pub fn execute_checked_on(
    block: &BlockFixture,
    state: WorldState,
    effects: Vec<crate::block_effects::BlockEffect>,
    fallback: Option<String>,
    check: Option<TxCheck<'_>>,
) -> Result<BlockOutput, EngineError> {
    let started = Instant::now();
    let n = block.transactions.len();
    let done = Prefix { budget: BlockBudget::new(block), receipts: Vec::with_capacity(n), tx_changes: Vec::with_capacity(n), access: Vec::with_capacity(n) };
    // The pool's threads are idle while one thread executes: they build the receipts
    // trie as the receipts come.
    let mut alongside = (n >= ReceiptsRootAlongside::FROM_RECEIPTS).then(|| ReceiptsRootAlongside::start(block.fork));
    let (done, state) = execute_rest(block, state, done, alongside.as_mut(), check)?;
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    let stats = Stats {
        mode: "sequential",
        threads: 1,
        executions: n as u64,
        fallback,
        elapsed_ns,
        phases: Phases { execute_ns: elapsed_ns, ..Phases::default() },
        ..Stats::default()
    };
    BlockOutput::new(block, done.receipts, done.tx_changes, done.access, state, stats, vec![Vec::new(); n], alongside, effects)
}

/// The transactions of a block already executed, in order: their receipts and changes
/// and what they used of the block's budgets.
pub struct Prefix {
    pub budget: BlockBudget,
    pub receipts: Vec<TxReceipt>,
    pub tx_changes: Vec<TxChanges>,
    pub access: Vec<crate::changes::TxAccess>,
}

/// Executes the rest of the block — the transactions after `done` — in order on
/// `state`, the state after `done`. Parallel mode comes here when it gives up on a
/// block mid-way (parallel/mod.rs). Each receipt also goes to `alongside`, if given;
/// each transaction's outcome to `check`.
pub fn execute_rest(
    block: &BlockFixture,
    state: WorldState,
    mut done: Prefix,
    mut alongside: Option<&mut ReceiptsRootAlongside>,
    check: Option<TxCheck<'_>>,
) -> Result<(Prefix, WorldState), EngineError> {
    let cfg = cfg_env(block.fork, &block.header);
    let benv = block_env(block.fork, &block.header, &cfg);
    let mut evm = build_evm(WrapDatabaseRef(state), cfg, benv);
    let with_roots = !block.fork.has_receipt_status();
    let from = done.receipts.len();
    for (index, tx) in block.transactions.iter().enumerate().skip(from) {
        done.budget.check(index, tx)?;
        let outcome = transact(&mut evm, index, tx)?;
        if let Some(check) = check {
            check(index, &outcome.changes, &outcome.access)?;
        }
        let db = &mut evm.ctx.journaled_state.database.0;
        db.apply(&outcome.changes);
        let cumulative = done.budget.consume(tx, outcome.result.tx_gas_used());
        let mut r = receipt(tx, &outcome.result, cumulative);
        if with_roots {
            r.post_state_root = Some(db.state_root());
        }
        if let Some(alongside) = alongside.as_deref_mut() {
            alongside.push(&r);
        }
        done.receipts.push(r);
        done.tx_changes.push(outcome.changes);
        done.access.push(outcome.access);
    }
    let state = std::mem::take(&mut evm.ctx.journaled_state.database.0);
    Ok((done, state))
}
