//! A profiling driver: one fixture, one mode, repeated, with the engine's own timer and
//! the whole call's wall and CPU time per run. For `perf record` / `valgrind`:
//!
//!   cargo build --release --manifest-path bench/engine/Cargo.toml --example profile
//!   perf record -g bench/engine/target/release/examples/profile FIXTURE.json par 2 20
//!
//! Arguments: FIXTURE (a block-fixture JSON file), MODE (`seq` | `par`), THREADS, RUNS.
//! `par` forces Block-STM (threshold 0), as the benchmarks do.

use _engine::fixture::parse_fixture;
use _engine::parallel::execute_parallel;
use _engine::sequential::execute_sequential;
use std::time::Instant;

fn cpu_seconds() -> f64 {
    // user + system time of the whole process (every thread), from /proc/self/stat.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
    ticks / 100.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("FIXTURE");
    let mode = args.get(2).map(String::as_str).unwrap_or("seq");
    let threads: usize = args.get(3).map_or(2, |t| t.parse().expect("THREADS"));
    let runs: usize = args.get(4).map_or(10, |r| r.parse().expect("RUNS"));
    let json = std::fs::read(path).expect("readable fixture");
    let mut parse = Vec::new();
    for _ in 0..runs.min(5) {
        let started = Instant::now();
        std::hint::black_box(parse_fixture(&json).expect("a valid fixture"));
        parse.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let block = parse_fixture(&json).expect("a valid fixture");
    println!("parse ({} bytes): median {:.1} ms", json.len(), median(parse));
    let (mut engine, mut whole) = (Vec::new(), Vec::new());
    let mut phases = Vec::new();
    let cpu0 = cpu_seconds();
    for _ in 0..runs {
        let started = Instant::now();
        let out = match mode {
            "seq" => execute_sequential(&block, None),
            "par" => execute_parallel(&block, Some(threads), Some(0), None),
            other => panic!("unknown mode {other}"),
        }
        .expect("the block executes");
        whole.push(started.elapsed().as_secs_f64() * 1e3);
        engine.push(out.stats.elapsed_ns as f64 / 1e6);
        phases.push(out.stats.phases);
        std::hint::black_box(out);
    }
    let cpu = (cpu_seconds() - cpu0) * 1e3 / runs as f64;
    println!(
        "{mode} t={threads} runs={runs}: engine median {:.1} ms, whole call median {:.1} ms, CPU {:.1} ms/run",
        median(engine),
        median(whole),
        cpu
    );
    let ms = |f: fn(&_engine::result::Phases) -> u64| median(phases.iter().map(|p| f(p) as f64 / 1e6).collect());
    println!(
        "  phases (median ms): setup {:.1}, execute {:.1}, commit {:.1}, roots {:.1}",
        ms(|p| p.setup_ns),
        ms(|p| p.execute_ns),
        ms(|p| p.commit_ns),
        ms(|p| p.root_ns)
    );
}
