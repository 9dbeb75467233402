"""The Rust benchmark (engine/benches/execute.rs, criterion) driven from bench.run --rust:
runs it on the generated fixtures and reads criterion's estimates back.

    BLOCKSTM_BENCH_FIXTURE=a.json:b.json cargo bench --manifest-path bench/engine/Cargo.toml \
        --profile bench-lto --bench execute
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any


def _target_dir(manifest: Path) -> Path:
    if os.environ.get("CARGO_TARGET_DIR"):
        return Path(os.environ["CARGO_TARGET_DIR"])
    return manifest.parent / "target"


def _median_ms(target: Path, group: str, bench: str) -> float | None:
    path = target / "criterion" / group / bench / "new" / "estimates.json"
    try:
        return json.loads(path.read_text())["median"]["point_estimate"] / 1e6
    except (OSError, KeyError, ValueError):
        return None


def run(fixtures: list[Path], threads: list[int], samples: int, manifest: Path, profile: str,
        timeout: float = 7200) -> dict[str, Any]:
    if not fixtures:
        return {"error": "no generated fixtures to run"}
    env = dict(os.environ,
               BLOCKSTM_BENCH_FIXTURE=":".join(str(p) for p in fixtures),
               BLOCKSTM_BENCH_THREADS=",".join(map(str, threads)),
               BLOCKSTM_BENCH_SAMPLES=str(max(10, samples)))
    cmd = ["cargo", "bench", "--manifest-path", str(manifest), "--profile", profile, "--bench", "execute"]
    print("rust: " + " ".join(cmd), flush=True)
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{' '.join(cmd)}: {exc}", "command": cmd}
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
        return {"error": " | ".join(tail), "command": cmd}
    target = _target_dir(manifest)
    out: dict[str, Any] = {"command": cmd, "profile": profile, "fixtures": {}}
    for path in fixtures:
        group = path.stem
        revm = _median_ms(target, group, "revm_loop")
        seq_exec = _median_ms(target, group, "sequential_exec")
        out["fixtures"][group] = {
            "revm_loop_ms": revm,
            "sequential_exec_ms": seq_exec,
            "sequential_over_revm": seq_exec / revm if revm and seq_exec else None,
            "sequential_ms": _median_ms(target, group, "sequential"),
            "parallel_exec_ms": {str(t): _median_ms(target, group, f"parallel_exec/{t}") for t in threads},
            "parallel_ms": {str(t): _median_ms(target, group, f"parallel/{t}") for t in threads},
        }
    return out
