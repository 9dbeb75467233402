//! The engine alone, without Python: sequential and parallel execution of block
//! fixtures, next to a bare revm loop over the same transactions.
//!
//! Fixtures come from files (bench/run.py writes them to .cache/bench/fixtures/):
//!
//!   BLOCKSTM_BENCH_FIXTURE=a.json:b.json   fixtures, separated by ':' (required)
//!   BLOCKSTM_BENCH_THREADS=1,2,4           parallel thread counts (default: 1, 2, ..,
//!                                          cores, 2 x cores)
//!   BLOCKSTM_BENCH_SAMPLES=10              samples per benchmark (criterion's minimum is 10)
//!
//!   cargo bench --manifest-path bench/engine/Cargo.toml --profile bench-lto --bench execute
//!
//! Per fixture (criterion group = the file's stem):
//!   revm_loop         a CacheDB built from the pre-state, transact_commit per transaction;
//!                     the loop alone is timed
//!   sequential_exec   the engine's sequential executor, its own loop timer (stats.elapsed_ns):
//!                     the same work as revm_loop plus what the engine adds per transaction
//!                     (block budget, state changes, receipts). Target: within 3% of revm_loop.
//!   parallel_exec/T   Block-STM on T threads, its own timer (stats.elapsed_ns)
//!   sequential        execute_sequential on a parsed block: state set-up, loop, roots
//!   parallel/T        execute_parallel, likewise
//! State set-up for the *_exec and revm_loop benchmarks happens outside the timed part.

use _engine::env::{block_env, cfg_env};
use _engine::fixture::{parse_fixture, BlockFixture};
use _engine::parallel::execute_parallel;
use _engine::sequential::{execute_sequential, execute_sequential_on};
use _engine::state::{bytecode_of, BlockHashes, WorldState};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::{KECCAK_EMPTY, U256};
use revm::state::AccountInfo;
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Fixture {
    name: String,
    block: BlockFixture,
}

fn fixtures() -> Vec<Fixture> {
    let paths = std::env::var("BLOCKSTM_BENCH_FIXTURE").unwrap_or_else(|_| {
        panic!("set BLOCKSTM_BENCH_FIXTURE to one or more fixture files (':'-separated); `python -m bench.run` writes them")
    });
    paths
        .split(':')
        .filter(|p| !p.is_empty())
        .map(|path| {
            let json = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let block = parse_fixture(&json).unwrap_or_else(|e| panic!("{path}: {e}"));
            let name = Path::new(path).file_stem().unwrap().to_string_lossy().into_owned();
            Fixture { name, block }
        })
        .collect()
}

fn thread_counts() -> Vec<usize> {
    if let Ok(list) = std::env::var("BLOCKSTM_BENCH_THREADS") {
        return list.split(',').map(|t| t.trim().parse().expect("BLOCKSTM_BENCH_THREADS: integers")).collect();
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut counts: Vec<usize> = (1..=cores).collect();
    counts.push(2 * cores);
    counts
}

/// revm's own in-memory database holding the pre-state. Missing block hashes fall
/// through to EmptyDB, which answers keccak256(decimal number) — the fixtures' convention.
fn revm_db(block: &BlockFixture) -> CacheDB<EmptyDB> {
    let mut db = CacheDB::new(EmptyDB::default());
    for (address, account) in block.pre.as_deref().expect("a benchmark fixture has its pre-state") {
        let code = (!account.code.is_empty()).then(|| bytecode_of(&account.code));
        let code_hash = code.as_ref().map_or(KECCAK_EMPTY, |c| c.hash_slow());
        db.insert_account_info(
            *address,
            AccountInfo { balance: account.balance, nonce: account.nonce, code_hash, code, ..Default::default() },
        );
        for (slot, value) in &account.storage {
            db.insert_account_storage(*address, *slot, *value).unwrap();
        }
    }
    for (number, hash) in &block.block_hashes {
        db.cache.block_hashes.insert(U256::from(*number), *hash);
    }
    db
}

/// The bare loop: every transaction in order, committed; returns the gas used and the
/// time the loop took.
fn revm_loop(block: &BlockFixture, db: CacheDB<EmptyDB>) -> (u64, Duration) {
    let cfg = cfg_env(block.fork, &block.header);
    let benv = block_env(block.fork, &block.header, &cfg);
    let mut evm = Context::mainnet().with_db(db).with_cfg(cfg).with_block(benv).build_mainnet();
    let started = Instant::now();
    let mut gas_used = 0;
    for tx in &block.transactions {
        let result = evm.transact_commit(tx.env.clone()).expect("a valid transaction");
        gas_used += result.tx_gas_used();
    }
    let elapsed = started.elapsed();
    black_box(&evm);
    (gas_used, elapsed)
}

fn world_state(block: &BlockFixture) -> WorldState {
    let pre = block.pre.as_deref().expect("a benchmark fixture has its pre-state");
    WorldState::from_pre(pre, Arc::new(BlockHashes(block.block_hashes.clone())))
}

fn bench_fixture(c: &mut Criterion, fixture: &Fixture, threads: &[usize], samples: usize) {
    let block = &fixture.block;
    // The comparison only means something if both loops did the same work.
    let engine_gas = execute_sequential(block, None).expect("the block executes").receipts.last().map_or(0, |r| r.cumulative_gas_used);
    let (revm_gas, _) = revm_loop(block, revm_db(block));
    assert_eq!(engine_gas, revm_gas, "{}: the engine and the bare revm loop disagree on gas used", fixture.name);

    let mut group = c.benchmark_group(&fixture.name);
    group.sample_size(samples.max(10));
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));

    group.bench_function("revm_loop", |b| {
        b.iter_custom(|iters| {
            (0..iters).map(|_| revm_loop(block, revm_db(block)).1).sum()
        })
    });
    group.bench_function("sequential_exec", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let out = execute_sequential_on(block, world_state(block), Vec::new(), None).unwrap();
                    Duration::from_nanos(out.stats.elapsed_ns)
                })
                .sum()
        })
    });
    for &t in threads {
        group.bench_with_input(BenchmarkId::new("parallel_exec", t), &t, |b, &t| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let out = execute_parallel(block, Some(t), Some(0), None).unwrap();
                        Duration::from_nanos(out.stats.elapsed_ns)
                    })
                    .sum()
            })
        });
    }
    group.bench_function("sequential", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let started = Instant::now();
                    let out = execute_sequential(block, None).unwrap();
                    let elapsed = started.elapsed();
                    drop(black_box(out));
                    elapsed
                })
                .sum()
        })
    });
    for &t in threads {
        group.bench_with_input(BenchmarkId::new("parallel", t), &t, |b, &t| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let started = Instant::now();
                        let out = execute_parallel(block, Some(t), Some(0), None).unwrap();
                        let elapsed = started.elapsed();
                        drop(black_box(out));
                        elapsed
                    })
                    .sum()
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    let threads = thread_counts();
    let samples = std::env::var("BLOCKSTM_BENCH_SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    for fixture in fixtures() {
        bench_fixture(c, &fixture, &threads, samples);
    }
}

criterion_group!(execute, benches);
criterion_main!(execute);
