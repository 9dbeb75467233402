//! Worker threads that outlive blocks: one rayon pool per thread count, built on the
//! first block that asks for it and kept for the life of the process, so a block pays
//! no thread start-up.

use rayon::{ThreadPool, ThreadPoolBuilder};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

fn pool(threads: usize) -> Result<Arc<ThreadPool>, String> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(pool) = pools.get(&threads) {
        return Ok(pool.clone());
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("blockstm-worker-{i}"))
        .build()
        .map_err(|e| format!("cannot start {threads} worker threads: {e}"))?;
    let pool = Arc::new(pool);
    pools.insert(threads, pool.clone());
    Ok(pool)
}

/// Runs `work` once on each of `threads` pooled threads and returns when all are done.
/// `work` must not panic (callers catch panics inside it).
pub fn run_on_workers(threads: usize, work: impl Fn() + Sync) -> Result<(), String> {
    pool(threads)?.broadcast(|_| work());
    Ok(())
}
