"""From a results document (bench/run.py) to the summary, the Markdown table and the plots.

    python -m bench.report bench/results/<date>-<host>.json   # re-render .md and .png

Speedups divide medians of the engine's own timer (stats["elapsed_ns"]): sequential
over parallel — Block-STM, parallel with the block's access list, Block-STM with a
dependencies hint. Targets are reported, never asserted. Results of runs before the
listed modes existed have no such runs: their columns show "—".
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

GIB = 2**30
INDEPENDENT_TARGET = 1.85  # x at 2 threads, independent gigagas blocks
# With the block's access list (EIP-7928), at 2 threads: transfers, ERC-20, AMM 1-Ggas
# blocks, and the geometric mean over the mainnet blocks.
BAL_TARGET = 1.85
BAL_MAINNET_TARGET = 1.3
MAINNET_FLOOR = 1.0        # x, every mainnet block
MAINNET_MEAN_TARGET = 1.4  # x, mean over the mainnet blocks
REVM_OVERHEAD_TARGET = 1.03  # sequential executor loop / bare revm loop
MEMORY_TARGET = GIB        # peak RSS of a 1-gigagas block
WHOLE_CALL_TARGET = 1.5    # execute(json bytes) wall / engine time, 1-gigagas blocks
DICT_CALL_TARGET = 2.0     # execute(dict) wall / engine time
RESULT_TARGET_MS = 100.0   # receipts, post_state and tx_changes as Python objects
WHOLE_CALL_WORKLOADS = ("transfers", "erc20", "amm")

# Parallel modes given what a first run of the block produced (bench/worker.py):
# mode, key of their summary (per workload and over the mainnet blocks), label.
LISTED = (("parallel-bal", "with_bal", "with BAL"), ("parallel-hint", "with_hint", "with hint"))


# ---------------------------------------------------------------------------
# summary


def _ok_runs(entry: dict) -> list[dict]:
    return [r for r in entry.get("runs", []) if "error" not in r]


def _by_threads(par: list[dict], seq: dict | None, stat: str) -> dict[str, dict[str, Any]]:
    """A parallel mode's runs by thread count: times, speedups over `seq`, re-executions."""
    by_threads = {}
    for r in par:
        row = {"ms": r["engine_ms"][stat], "wall_ms": r["wall_ms"][stat],
               "cpu_ms": r["cpu_ms"][stat] if "cpu_ms" in r else None,
               "reexecutions": statistics.median(r["reexecutions"]), "fallback": r.get("fallback")}
        if r.get("access_list"):
            row["access_list"] = r["access_list"][0]
        if seq:
            row["speedup"] = seq["engine_ms"][stat] / row["ms"] if row["ms"] > 0 else None
            row["wall_speedup"] = seq["wall_ms"][stat] / row["wall_ms"] if row["wall_ms"] > 0 else None
        by_threads[str(r["threads"])] = row
    return by_threads


def _listed_summary(par: list[dict], seq: dict | None, stat: str, cores: int) -> dict[str, Any]:
    """A listed mode (LISTED): as the parallel keys of workload_summary, in one dict."""
    by_threads = _by_threads(par, seq, stat)
    best = min(par, key=lambda r: r["engine_ms"][stat])
    out: dict[str, Any] = {"parallel": by_threads, "best_threads": best["threads"],
                           "best_ms": best["engine_ms"][stat],
                           "best_speedup": by_threads[str(best["threads"])].get("speedup")}
    for key, t in (("at2", 2), ("at_cores", cores)):
        if str(t) in by_threads:
            out[key] = dict(by_threads[str(t)], threads=t)
    return out


def workload_summary(entry: dict, cores: int, stat: str = "median") -> dict[str, Any]:
    """Per workload: times (the `stat` of the samples: median, or min on a noisy machine),
    speedups by thread count, the best thread count, Ggas/s, peak RSS; the same for each
    listed mode that ran, under its LISTED key."""
    runs = _ok_runs(entry)
    seq = next((r for r in runs if r["mode"] == "sequential"), None)
    par = sorted((r for r in runs if r["mode"] == "parallel"), key=lambda r: r["threads"])
    out: dict[str, Any] = {"errors": [f"{r['mode']} t={r.get('threads')}: {r['error']}"
                                      for r in entry.get("runs", []) if "error" in r]}
    gas = entry.get("gas_used") or 0
    if seq:
        out["sequential_ms"] = seq["engine_ms"][stat]
        out["sequential_wall_ms"] = seq["wall_ms"][stat]
        out["sequential_ggas_s"] = gas / (seq["engine_ms"][stat] / 1e3) / 1e9 if gas else None
    by_threads = _by_threads(par, seq, stat)
    out["parallel"] = by_threads
    for mode, key, _ in LISTED:
        listed = sorted((r for r in runs if r["mode"] == mode), key=lambda r: r["threads"])
        if listed:
            out[key] = _listed_summary(listed, seq, stat, cores)
    if par:
        best = min(par, key=lambda r: r["engine_ms"][stat])
        out["best_threads"] = best["threads"]
        out["best_ms"] = best["engine_ms"][stat]
        out["best_ggas_s"] = gas / (out["best_ms"] / 1e3) / 1e9 if gas and out["best_ms"] > 0 else None
        if seq:
            out["best_speedup"] = by_threads[str(best["threads"])]["speedup"]
    for key, t in (("at2", 2), ("at_cores", cores)):
        if str(t) in by_threads:
            out[key] = dict(by_threads[str(t)], threads=t)
    out["peak_rss_bytes"] = max((r["peak_rss_bytes"] for r in runs), default=None)
    out["sequential_peak_rss_bytes"] = seq["peak_rss_bytes"] if seq else None
    out["baseline_rss_bytes"] = min((r["baseline_rss_bytes"] for r in runs), default=None)
    return out


def _geomean(values: list[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def whole_call(run: dict, stat: str = "median") -> dict[str, float] | None:
    """A run's whole call by phase (ms): the engine's phases, the rest of the call
    (Python, the FFI, freeing), its CPU time, and the result's objects built after it."""
    if "error" in run or "phases_ms" not in run:
        return None
    p = {k: v[stat] for k, v in run["phases_ms"].items()}
    out = {"engine": run["engine_ms"][stat], "parse": p["parse"], "setup": p["setup"], "roots": p["root"],
           "wall": run["wall_ms"][stat], "cpu": run["cpu_ms"][stat], "result": run["result_ms"][stat]}
    out["other"] = out["wall"] - out["engine"] - out["parse"] - out["setup"] - out["roots"]
    out["ratio"] = out["wall"] / out["engine"] if out["engine"] > 0 else None
    return out


def whole_call_runs(w: dict, cores: int, listed: bool = False) -> list[tuple[str, dict]]:
    """(label, run) of a workload for the whole-call table: sequential and parallel at
    every core on JSON bytes, with `listed` the listed modes at every core too, and
    sequential on a dict."""
    runs = _ok_runs(w)
    out = [("bytes, sequential", r) for r in runs if r["mode"] == "sequential"]
    out += [(f"bytes, parallel t={r['threads']}", r) for r in runs
            if r["mode"] == "parallel" and r["threads"] == cores]
    if listed:
        for mode, _, label in LISTED:
            out += [(f"bytes, parallel {label} t={r['threads']}", r) for r in runs
                    if r["mode"] == mode and r["threads"] == cores]
    if w.get("dict_run") and "error" not in w["dict_run"]:
        out.append(("dict, sequential", w["dict_run"]))
    return out


def _whole_call_targets(doc: dict, stat: str) -> list[dict[str, Any]]:
    cores = doc["machine"]["cores"]
    big = [w for w in doc["workloads"] if w["kind"] == "generated" and w["name"] in WHOLE_CALL_WORKLOADS
           and (w.get("target_gas") or 0) >= 10**9]
    bytes_item = {"target": f"whole call, bytes in, <= {WHOLE_CALL_TARGET}x the engine time "
                            f"(transfers, ERC-20, AMM 1-Ggas; sequential and parallel)"}
    dict_item = {"target": f"whole call, dict in, <= {DICT_CALL_TARGET}x the engine time"}
    result_item = {"target": f"receipts, post_state and tx_changes as Python objects <= {RESULT_TARGET_MS:.0f} ms "
                             "(largest post-state)"}
    ratios, dict_ratios, results = [], [], []
    for w in big:
        for label, run in whole_call_runs(w, cores):
            call = whole_call(run, stat)
            if not call or call["ratio"] is None:
                continue
            if label.startswith("dict"):
                dict_ratios.append((w["name"], call["ratio"]))
            else:
                ratios.append((f"{w['name']} {label.split(', ')[1]}", call["ratio"]))
                if label.endswith("sequential"):
                    results.append((w["name"], call["result"]))
    for item, got, target in ((bytes_item, ratios, WHOLE_CALL_TARGET), (dict_item, dict_ratios, DICT_CALL_TARGET)):
        if got:
            item["measured"] = ", ".join(f"{n} {r:.2f}x" for n, r in got)
            item["status"] = "met" if all(r <= target for _, r in got) else "missed"
        else:
            item.update(measured="— (no 1-gigagas transfer/ERC-20/AMM block)", status="not measured")
    if results:
        result_item["measured"] = ", ".join(f"{n} {ms:.0f} ms" for n, ms in results)
        result_item["status"] = "met" if max(ms for _, ms in results) <= RESULT_TARGET_MS else "missed"
    else:
        result_item.update(measured="—", status="not measured")
    return [bytes_item, dict_item, result_item]


def targets(doc: dict) -> list[dict[str, Any]]:
    cores = doc["machine"]["cores"]
    generated = [w for w in doc["workloads"] if w["kind"] == "generated"]
    mainnet = [w for w in doc["workloads"] if w["kind"] == "mainnet"]
    out = []

    # Independent blocks at 2 threads.
    rows = [(w, w["summary"].get("at2", {}).get("speedup")) for w in generated if w.get("independent")]
    measured = [(w, s) for w, s in rows if s is not None]
    item = {"target": f"independent gigagas blocks >= {INDEPENDENT_TARGET}x at 2 threads"}
    if measured:
        item["measured"] = ", ".join(f"{w['name']} {s:.2f}x" for w, s in measured)
        item["status"] = "met" if all(s >= INDEPENDENT_TARGET for _, s in measured) else "missed"
        sizes = {w.get("target_gas") for w, _ in measured}
        if any(g is None or g < 10**9 for g in sizes):
            item["scope"] = f"blocks of {_gas(min(g or 0 for g in sizes))} gas, not 1 Ggas"
    else:
        item.update(measured="—", status="not measured")
    out.append(item)

    # Mainnet, at every core (the engine's default thread count).
    comparable = [w for w in mainnet if w.get("txs")]
    speedups = [(w, w["summary"].get("at_cores", {}).get("speedup")) for w in comparable]
    speedups = [(w, s) for w, s in speedups if s is not None]
    floor = {"target": f"mainnet blocks never below {MAINNET_FLOOR}x (at {cores} threads)"}
    mean = {"target": f"mainnet blocks >= {MAINNET_MEAN_TARGET}x on average (geometric mean, at {cores} threads)"}
    if speedups:
        worst_w, worst = min(speedups, key=lambda p: p[1])
        below = sum(1 for _, s in speedups if s < MAINNET_FLOOR)
        floor["measured"] = f"min {worst:.2f}x (block {worst_w.get('block_number')}); {below} of {len(speedups)} below"
        floor["status"] = "met" if below == 0 else "missed"
        g = _geomean([s for _, s in speedups])
        a = statistics.mean(s for _, s in speedups)
        mean["measured"] = f"geometric {g:.2f}x, arithmetic {a:.2f}x over {len(speedups)} blocks"
        e2e = [w["summary"].get("at_cores", {}).get("wall_speedup") for w, _ in speedups]
        if all(e2e):
            mean["measured"] += f"; end to end: geometric {_geomean(e2e):.2f}x, min {min(e2e):.2f}x"
        mean["status"] = "met" if g >= MAINNET_MEAN_TARGET else "missed"
        scope = []
        if len(mainnet) < 41:
            scope.append(f"{len(mainnet)} of the 41 blocks run")
        if scope:
            floor["scope"] = mean["scope"] = "; ".join(scope)
    else:
        floor.update(measured="—", status="not measured")
        mean.update(measured="—", status="not measured")
    out += [floor, mean]

    # With the block's access list, at 2 threads.
    bal = {"target": f"with BAL: transfers, ERC-20, AMM 1-Ggas blocks >= {BAL_TARGET}x at 2 threads"}
    rows = [(w, w["summary"].get("with_bal", {}).get("at2", {}).get("speedup"))
            for w in generated if w["name"] in ("transfers", "erc20", "amm")]
    rows = [(w, x) for w, x in rows if x is not None]
    if rows:
        bal["measured"] = ", ".join(f"{w['name']} {x:.2f}x" for w, x in rows)
        bal["status"] = "met" if all(x >= BAL_TARGET for _, x in rows) else "missed"
    else:
        bal.update(measured="— (run the parallel-bal mode)", status="not measured")
    bal_mainnet = {"target": f"with BAL: mainnet blocks >= {BAL_MAINNET_TARGET}x (geometric mean, at 2 threads)"}
    values = [w["summary"].get("with_bal", {}).get("at2", {}).get("speedup") for w in mainnet if w.get("txs")]
    values = [x for x in values if x]
    if values:
        g = _geomean(values)
        bal_mainnet["measured"] = f"geometric {g:.2f}x over {len(values)} blocks"
        bal_mainnet["status"] = "met" if g >= BAL_MAINNET_TARGET else "missed"
    else:
        bal_mainnet.update(measured="—", status="not measured")
    out += [bal, bal_mainnet]

    # Sequential executor against a bare revm loop (Rust benchmark).
    item = {"target": f"sequential path within {round((REVM_OVERHEAD_TARGET - 1) * 100)}% of a bare revm loop"}
    ratios = [(name, r["sequential_over_revm"]) for name, r in (doc.get("rust") or {}).get("fixtures", {}).items()
              if r.get("sequential_over_revm")]
    if ratios:
        item["measured"] = ", ".join(f"{n} {r:.3f}" for n, r in ratios)
        item["status"] = "met" if all(r <= REVM_OVERHEAD_TARGET for _, r in ratios) else "missed"
    else:
        item.update(measured="— (run with --rust)", status="not measured")
    out.append(item)

    # Memory of a gigagas block.
    item = {"target": "peak RSS of a 1-gigagas block < 1 GiB"}
    big = [w for w in generated if (w.get("target_gas") or 0) >= 10**9 and w["summary"].get("peak_rss_bytes")]
    if big:
        worst = max(big, key=lambda w: w["summary"]["peak_rss_bytes"])
        item["measured"] = ", ".join(f"{w['name']} {w['summary']['peak_rss_bytes'] / 2**20:.0f} MiB" for w in big)
        item["status"] = "met" if worst["summary"]["peak_rss_bytes"] < MEMORY_TARGET else "missed"
        item["scope"] = "whole process (Python, the fixture's JSON, the engine), worst of all modes"
    else:
        item.update(measured="— (no 1-gigagas block in this run)", status="not measured")
    out.append(item)
    out += _whole_call_targets(doc, doc["options"].get("statistic", "median"))
    return out


def summarise_doc(doc: dict) -> dict[str, Any]:
    cores = doc["machine"]["cores"]
    stat = doc["options"].get("statistic", "median")
    for w in doc["workloads"]:
        w["summary"] = workload_summary(w, cores, stat)
    mainnet = [w["summary"] for w in doc["workloads"]
               if w["kind"] == "mainnet" and w.get("txs")]
    summary: dict[str, Any] = {"targets": targets(doc)}
    if mainnet:
        def per_threads(of) -> dict[str, dict[str, Any]]:
            out = {}
            for t in doc["options"]["threads"]:
                values = [s_["parallel"][str(t)]["speedup"] for s_ in map(of, mainnet)
                          if str(t) in s_["parallel"] and s_["parallel"][str(t)].get("speedup")]
                if values:
                    out[str(t)] = {"geomean": _geomean(values), "mean": statistics.mean(values),
                                   "min": min(values), "max": max(values), "blocks": len(values)}
            return out

        summary["mainnet_speedup"] = per_threads(lambda s: s)
        for _, key, _ in LISTED:
            got = per_threads(lambda s: s.get(key, {"parallel": {}}))
            if got:
                summary[f"mainnet_speedup_{key}"] = got
    return summary


# ---------------------------------------------------------------------------
# Markdown


def _gas(g: int | float | None) -> str:
    if not g:
        return "0"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if g >= scale:
            return f"{g / scale:.2f} {unit}"
    return str(int(g))


def _ms(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.1f}" if v >= 10 else f"{v:.2f}"


def _x(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}x"


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:,.0f}"


def _rate(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def _mib(v: int | None) -> str:
    return "—" if not v else f"{v / 2**20:,.0f}"


def _listed_cell(listed: dict | None) -> str:
    """A listed mode's speedup, best / at 2 threads; "—" if the run did not measure it."""
    if not listed:
        return "—"
    return f"{_x(listed.get('best_speedup'))} / {_x(listed.get('at2', {}).get('speedup'))}"


def _main_row(first: str, w: dict) -> list[str]:
    s = w["summary"]
    at2 = s.get("at2", {})
    best = (f"{_ms(s.get('best_ms'))} (t={s['best_threads']})" if s.get("best_ms") is not None else "—")
    best_reexec = s.get("parallel", {}).get(str(s.get("best_threads")), {}).get("reexecutions")
    row = [first, _num(w.get("txs")), _gas(w.get("gas_used")), _ms(s.get("sequential_ms")), best,
           _ms(at2.get("ms")), f"{_x(s.get('best_speedup'))} / {_x(at2.get('speedup'))}",
           f"{_num(best_reexec)} / {_num(at2.get('reexecutions'))}",
           *(_listed_cell(s.get(key)) for _, key, _ in LISTED),
           f"{_rate(s.get('sequential_ggas_s'))} / {_rate(s.get('best_ggas_s'))}", _mib(s.get("peak_rss_bytes"))]
    if s.get("errors"):
        row[0] += " (errors: " + "; ".join(s["errors"])[:200].replace("|", "/") + ")"
    if w.get("results_agree") is False:
        row[0] += " **RESULTS DIFFER**"
    return row


MAIN_HEADER = ["Workload", "Txs", "Gas", "Sequential (ms)", "Parallel best (ms)", "Parallel 2 threads (ms)",
               "Speedup best / 2 thr", "Re-executions best / 2 thr",
               "Parallel with BAL: speedup best / 2 thr", "Parallel with hint: speedup best / 2 thr",
               "Ggas/s seq / best", "Peak RSS (MiB)"]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def markdown(doc: dict) -> str:
    m, o = doc["machine"], doc["options"]
    if "summary" not in doc:
        doc["summary"] = summarise_doc(doc)
    load = f"{doc['loadavg_start'][0]:.2f} at the start, {doc.get('loadavg_end', ['?'])[0]:.2f} at the end"
    threshold = "engine default" if o["parallel_threshold"] is None else o["parallel_threshold"]
    stat = o.get("statistic", "median")
    lines = [
        f"# blockstm benchmarks: {doc['date']}, {m['hostname']}",
        "",
        f"- Machine: {m.get('cpu_model', '?')}, {m['cores']} cores, "
        f"{(m.get('memory_bytes') or 0) / GIB:.0f} GiB; {m['platform']}; Python {m['python']}.",
        f"- Load average (1 min): {load}. The machine was "
        + ("quiet." if max(doc["loadavg_start"][0], doc.get("loadavg_end", [0])[0]) < 0.5
           else "**not quiet**: treat the numbers as indicative."),
        f"- Engine: commit {doc['git'].get('commit', '?')[:12]}{' (engine/ modified)' if doc['git'].get('dirty') else ''}.",
        f"- `{o['command']}`: {o['samples']} samples after {o['warmup']} warm-up run(s); parallel threads "
        f"{', '.join(map(str, o['threads']))}; parallel_threshold {threshold}.",
        f"- Times: the {stat} of the samples of the engine's own timer (`stats[\"elapsed_ns\"]`: execution "
        "without JSON parsing or result conversion). Speedup = sequential / parallel. Re-executions: median "
        "per run. Peak RSS: the measuring process, worst of all modes.",
        "- Parallel with BAL: `mode=\"parallel\"` given the block's access list (`access_list=`, RLP, built by "
        "a sequential run of the block before the clock): no speculation, no parallel_threshold. Parallel with hint: Block-STM given "
        "the `dependencies` of a parallel run at the same thread count and threshold (`hint=`), also built "
        "before the clock. \"—\": not measured in this run.",
        "",
    ]
    generated = [w for w in doc["workloads"] if w["kind"] == "generated"]
    mainnet = [w for w in doc["workloads"] if w["kind"] == "mainnet"]
    if generated:
        lines += ["## Generated blocks", ""]
        lines += _table(MAIN_HEADER, [_main_row(w["label"], w) for w in generated])
        lines.append("")
    if mainnet:
        lines += [f"## Mainnet blocks ({len(mainnet)})", ""]
        cores = m["cores"]
        header = ["Block"] + MAIN_HEADER[1:] + [f"e2e speedup {cores} thr"]
        header.insert(1, "Fork")
        rows = []
        for w in mainnet:
            row = _main_row(str(w.get('block_number')), w)
            row.insert(1, w.get("fork", "?"))
            row.append(_x(w["summary"].get("at_cores", {}).get("wall_speedup")))
            rows.append(row)
        lines += _table(header, rows)
        ms = doc["summary"].get("mainnet_speedup", {})
        if ms:
            listed = [doc["summary"].get(f"mainnet_speedup_{key}", {}) for _, key, _ in LISTED]
            lines += ["", "Speedup over the mainnet blocks with transactions, by thread count:", ""]
            lines += _table(["Threads", "Geometric mean", "Mean", "Min", "Max", "Blocks"]
                            + [f"Geometric mean {label}" for _, _, label in LISTED],
                            [[t, _x(v["geomean"]), _x(v["mean"]), _x(v["min"]), _x(v["max"]), str(v["blocks"])]
                             + [_x(lm.get(t, {}).get("geomean")) for lm in listed]
                             for t, v in ms.items()])
        lines.append("")
    if generated:
        threads = o["threads"]
        lines += ["## Speedup by thread count, and end to end", "",
                  f"End to end: `blockstm.execute()` from Python on the fixture's JSON bytes (parsing, set-up, "
                  f"execution, roots; the result's Python objects are built on access, timed apart below). Threads above {m['cores']} oversubscribe the cores.", ""]
        header = ["Workload"] + [f"t={t}" for t in threads] + ["e2e sequential (ms)", "e2e parallel best (ms)",
                                                               "e2e speedup best"]
        # Rows of the listed modes too, when this run measured any.
        modes = [("parallel", None)] + [(key, label) for _, key, label in LISTED
                                        if any(key in w["summary"] for w in generated)]
        rows = []
        for w in generated:
            s = w["summary"]
            for key, label in modes:
                par = s.get("parallel", {}) if key == "parallel" else s.get(key, {}).get("parallel", {})
                e2e = [(t, v["wall_ms"], v.get("wall_speedup")) for t, v in par.items()]
                best = min(e2e, key=lambda e: e[1]) if e2e else None
                rows.append([w["label"] + (f", {label}" if label else "")]
                            + [_x(par.get(str(t), {}).get("speedup")) for t in threads]
                            + [_ms(s.get("sequential_wall_ms")),
                               f"{_ms(best[1])} (t={best[0]})" if best else "—", _x(best[2] if best else None)])
        lines += _table(header, rows)
        lines.append("")
    if generated and any(whole_call_runs(w, m["cores"]) and whole_call(whole_call_runs(w, m["cores"])[0][1])
                         for w in generated):
        stat = o.get("statistic", "median")
        lines += ["## Whole call, by phase", "",
                  "What a caller waits for: `blockstm.execute()` wall time, split by the engine's own phase "
                  "timers (`stats`: parse, set-up, engine = execution and in-order bookkeeping, roots = state "
                  "root, receipts root, blooms, logs hash); *other* is the rest of the call (Python, the FFI, "
                  "the payload's copy). CPU: the process's user + system time during the call, every thread. "
                  "Result: building `receipts`, `post_state` and `tx_changes` as Python objects after the call. "
                  f"Medians (ms) of the same samples as above.", ""]
        rows = []
        for w in generated:
            for label, run in whole_call_runs(w, m["cores"], listed=True):
                c = whole_call(run, stat)
                if c:
                    rows.append([w["label"], label] + [_ms(c[k]) for k in
                                ("parse", "setup", "engine", "roots", "other", "wall")]
                                + [_x(c["ratio"]), _ms(c["cpu"]), _ms(c["result"])])
        lines += _table(["Workload", "Input, mode", "parse", "set-up", "engine", "roots", "other", "call wall",
                         "call / engine", "call CPU", "result objects"], rows)
        lines.append("")
    rust = doc.get("rust")
    if rust:
        lines += ["## Engine alone (Rust, criterion medians)", ""]
        if rust.get("error"):
            lines += [f"Not measured: {rust['error']}", ""]
        else:
            rows = []
            for name, r in rust.get("fixtures", {}).items():
                rows.append([name, _ms(r.get("revm_loop_ms")), _ms(r.get("sequential_exec_ms")),
                             f"{r['sequential_over_revm']:.3f}" if r.get("sequential_over_revm") else "—",
                             ", ".join(f"t={t}: {_ms(v)}" for t, v in r.get("parallel_exec_ms", {}).items()),
                             _ms(r.get("sequential_ms")),
                             ", ".join(f"t={t}: {_ms(v)}" for t, v in r.get("parallel_ms", {}).items())])
            lines += ["Loops: the engine's own timers (as above) against revm's `transact_commit` loop on a "
                      "`CacheDB`; whole: a call on a parsed block, state set-up and roots included.", ""]
            lines += _table(["Fixture", "bare revm loop (ms)", "sequential loop (ms)", "ratio",
                             "parallel loop (ms)", "sequential whole (ms)", "parallel whole (ms)"], rows)
            lines.append("")
    lines += ["## Targets (reported, not asserted)", ""]
    lines += _table(["Target", "Measured", "Status"],
                    [[t["target"], t["measured"] + (f" ({t['scope']})" if t.get("scope") else ""),
                      {"met": "met", "missed": "**missed**"}.get(t["status"], t["status"])]
                     for t in doc["summary"]["targets"]])
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# plots


def plots(doc: dict, stem: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cores = doc["machine"]["cores"]
    threads = doc["options"]["threads"]
    written = []
    generated = [w for w in doc["workloads"] if w["kind"] == "generated"]
    mainnet = [w for w in doc["workloads"] if w["kind"] == "mainnet" and w.get("txs")]

    # Block-STM solid; the listed modes in the same colour, dashed and dash-dotted.
    styles = {"parallel": ("-", ""), "with_bal": ("--", ", with BAL"), "with_hint": ("-.", ", with hint")}
    if generated or mainnet:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for i, w in enumerate(generated):
            s = w["summary"]
            for key, (style, suffix) in styles.items():
                par = s.get("parallel", {}) if key == "parallel" else s.get(key, {}).get("parallel", {})
                pts = [(t, par[str(t)]["speedup"]) for t in threads if par.get(str(t), {}).get("speedup")]
                if pts:
                    ax.plot(*zip(*pts), marker="o", linestyle=style, color=f"C{i % 10}", label=w["label"] + suffix)
        for key, (style, suffix) in styles.items():
            ms = doc["summary"].get("mainnet_speedup" + ("" if key == "parallel" else f"_{key}"), {})
            pts = [(int(t), v["geomean"]) for t, v in ms.items()]
            if pts:
                blocks = max(v["blocks"] for v in ms.values())
                ax.plot(*zip(*sorted(pts)), marker="s", linestyle=style, color="black",
                        label=f"mainnet{suffix}, geometric mean ({blocks} blocks)")
        ideal = [t for t in threads if t <= cores]
        ax.plot(ideal, ideal, linestyle=":", color="grey", label="linear")
        ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.axvline(cores, color="red", linewidth=0.8, linestyle=":", label=f"{cores} cores")
        ax.set_xticks(threads)
        ax.set_xlabel("threads")
        ax.set_ylabel("speedup over sequential")
        ax.set_title("Speedup by thread count")
        if len(ax.get_lines()) > 12:  # the listed modes' lines too: the legend beside the axes
            fig.set_size_inches(10, 4.5)
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        else:
            ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = stem.with_name(stem.name + "-threads.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    if mainnet:
        fig, ax = plt.subplots(figsize=(max(7, 0.28 * len(mainnet) + 2), 4.5))
        xs = range(len(mainnet))
        bars = [(f"{cores} threads", [w["summary"].get("at_cores", {}).get("speedup") for w in mainnet])]
        for _, key, label in LISTED:
            values = [w["summary"].get(key, {}).get("at_cores", {}).get("speedup") for w in mainnet]
            if any(values):
                bars.append((f"{cores} threads, {label}", values))
        bars.append(("best thread count", [w["summary"].get("best_speedup") for w in mainnet]))
        width = 0.8 / len(bars)
        for i, (label, values) in enumerate(bars):
            ax.bar([x - 0.4 + width * (i + 0.5) for x in xs], [v or float("nan") for v in values],
                   width=width, label=label)
        ax.axhline(MAINNET_FLOOR, color="red", linewidth=0.8, label=f"{MAINNET_FLOOR}x floor")
        ax.axhline(MAINNET_MEAN_TARGET, color="green", linewidth=0.8, linestyle="--",
                   label=f"{MAINNET_MEAN_TARGET}x mean target")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([f"{w['block_number']}"
                            for w in mainnet], rotation=75, fontsize=7)
        # Log scale: 0.5x and 2x sit equally far from 1x, and outliers do not flatten the rest.
        ax.set_yscale("log")
        ax.set_xlabel("block")
        ax.set_ylabel("speedup over sequential")
        ax.set_title("Speedup per mainnet block")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path = stem.with_name(stem.name + "-mainnet.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.report RESULTS.json", file=sys.stderr)
        return 2
    path = Path(argv[0])
    doc = json.loads(path.read_text())
    doc["summary"] = summarise_doc(doc)
    stem = path.with_suffix("")
    stem.with_suffix(".md").write_text(markdown(doc))
    for png in plots(doc, stem):
        print(f"plot: {png}")
    print(stem.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
