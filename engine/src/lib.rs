//! blockstm: Block-STM parallel execution of Ethereum blocks on revm.
//!
//! A block flows: JSON fixture (`fixture`) → revm environments (`env`) → an executor
//! (`sequential`, or `parallel`) running transactions through `vm` → per-transaction
//! `changes` applied to a `state` → receipts and roots (`receipts`, `result`). The
//! protocol's own changes around the transactions (rewards, withdrawals, system calls)
//! are `block_effects`.

pub mod bal;
pub mod block_effects;
pub mod changes;
pub mod constantinople;
pub mod dao;
pub mod eip7610;
pub mod env;
pub mod errors;
pub mod faults;
pub mod fixture;
pub mod fork;
pub mod json;
pub mod parallel;
#[cfg(feature = "python")]
pub mod python;
pub mod receipts;
pub mod result;
pub mod sequential;
pub mod signature;
pub mod state;
pub mod trie;
pub mod vm;

use errors::EngineError;
use result::BlockOutput;

/// How to execute a block.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Sequential,
    /// Block-STM on `threads` workers (None: every core); blocks with fewer than
    /// `threshold` transactions take the sequential path.
    Parallel { threads: Option<usize>, threshold: Option<usize> },
}

/// What the caller knows of the block beyond the fixture.
pub enum Given {
    /// A block access list, and how far it is trusted (bal/).
    List { list: bal::BlockAccessList, trust: bal::Trust },
    /// A scheduling hint for Block-STM: per transaction, lower ones it reads from.
    Dependencies(Vec<Vec<usize>>),
}

/// Parses a JSON block fixture and executes it, on `parent` (a previous block's
/// post-state) if the fixture has no `pre`.
pub fn execute_block(
    json: &[u8],
    mode: Mode,
    parent: Option<&state::WorldState>,
    given: Option<&Given>,
) -> Result<BlockOutput, EngineError> {
    let started = std::time::Instant::now();
    let tree = json::Json::parse(json).map_err(|e| errors::FixtureError::new("", format!("invalid JSON: {e}")))?;
    execute_json(&tree, mode, started, parent, given)
}

/// Executes a fixture already decoded into a JSON tree (`started`: when decoding
/// began, for `stats["parse_ns"]`).
pub fn execute_json(
    tree: &json::Json<'_>,
    mode: Mode,
    started: std::time::Instant,
    parent: Option<&state::WorldState>,
    given: Option<&Given>,
) -> Result<BlockOutput, EngineError> {
    #[cfg(feature = "faults")]
    faults::check_selection()?;
    let block = fixture::from_json(tree)?;
    let parse_ns = started.elapsed().as_nanos() as u64;
    let mut out = match (mode, given) {
        // A hint is for scheduling: sequential execution has nothing to schedule.
        (Mode::Sequential, None | Some(Given::Dependencies(_)) | Some(Given::List { trust: bal::Trust::Hint, .. })) => {
            sequential::execute_sequential(&block, parent)
        }
        (Mode::Parallel { threads, threshold }, None) => parallel::execute_parallel(&block, threads, threshold, parent),
        (Mode::Parallel { threads, threshold }, Some(Given::Dependencies(hint))) => {
            parallel::execute_parallel_hinted(&block, threads, threshold, parent, Some(hint))
        }
        (mode, Some(Given::List { list, trust })) => execute_listed(&block, mode, parent, list, *trust),
    }?;
    out.stats.phases.parse_ns = parse_ns;
    Ok(out)
}

/// A block with its access list: checked (sequential), or executed from it (parallel).
fn execute_listed(
    block: &fixture::BlockFixture,
    mode: Mode,
    parent: Option<&state::WorldState>,
    list: &bal::BlockAccessList,
    trust: bal::Trust,
) -> Result<BlockOutput, EngineError> {
    let started = std::time::Instant::now();
    let start = block_effects::start_state(block, parent)?;
    let setup_ns = started.elapsed().as_nanos() as u64;
    let mut out = match mode {
        Mode::Sequential => bal::exec::execute_sequential_checked(block, start, list)?,
        Mode::Parallel { threads, .. } => {
            let threads = threads.unwrap_or_else(parallel::pool::cores).max(1);
            bal::exec::execute_parallel_listed(block, start, list, trust, threads)?
        }
    };
    out.stats.phases.setup_ns = setup_ns;
    if out.stats.access_list.is_none() {
        out.stats.access_list = Some("validated");
    }
    Ok(out)
}

/// Worker threads allocate constantly (multi-version entries, read sets). glibc grows a
/// secondary thread's arena with one mprotect call per page run — thousands per block —
/// which mimalloc avoids.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
