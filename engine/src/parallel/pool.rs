//! The engine's worker threads: one rayon pool for the life of the process, so a block
//! pays no thread start-up and the process's thread count stays bounded whatever
//! callers ask. It grows (up to `MAX_THREADS`) when a block asks for more workers than
//! it has, and Block-STM's workers and the parallel trie builders both run on it.

use rayon::{ThreadPool, ThreadPoolBuilder};
use std::sync::{Arc, Mutex, OnceLock};

/// The most worker threads one block gets, whatever it asks: past the machine's cores
/// more workers only interleave (useful to tests), and each costs a thread and a revm.
pub const MAX_THREADS: usize = 64;

/// The machine's cores (as this process may use them).
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|p| p.get()).unwrap_or(1)
}

fn pool(threads: usize) -> Result<Arc<ThreadPool>, String> {
    static POOL: OnceLock<Mutex<Option<Arc<ThreadPool>>>> = OnceLock::new();
    let threads = threads.clamp(1, MAX_THREADS);
    let mut current = POOL.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(pool) = current.as_ref().filter(|p| p.current_num_threads() >= threads) {
        return Ok(pool.clone());
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("blockstm-worker-{i}"))
        .build()
        .map_err(|e| format!("cannot start {threads} worker threads: {e}"))?;
    // The smaller pool it replaces ends its threads once its last job returns.
    let pool = Arc::new(pool);
    *current = Some(pool.clone());
    Ok(pool)
}

/// Runs `work` as `workers` jobs on the pool and returns when all are done. Jobs may
/// run one after another (a job that starts late finds the block done): Block-STM's
/// workers need no partner to make progress. `work` must not panic (callers catch
/// panics inside it).
pub fn run_on_workers(workers: usize, work: impl Fn() + Sync) -> Result<(), String> {
    let work = &work;
    pool(workers)?.scope(|scope| {
        for _ in 0..workers {
            scope.spawn(move |_| work());
        }
    });
    Ok(())
}

/// Runs `f` (which may use rayon's parallel iterators) on the pool, sized to the cores.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match pool(cores()) {
        Ok(pool) => pool.install(f),
        Err(_) => f(), // no thread could be started: the same work on this one
    }
}

/// Starts `work` on the pool and returns at once. A panic inside it is caught (rayon
/// would abort the process): `work` just ends, and whoever waits for it sees it gone.
pub fn spawn(work: impl FnOnce() + Send + 'static) {
    let work = move || {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    };
    match pool(cores()) {
        Ok(pool) => pool.spawn(work),
        Err(_) => work(),
    }
}
