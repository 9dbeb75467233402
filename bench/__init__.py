"""Benchmarks of the blockstm engine (docs/benchmarks.md).

    python -m bench.run              # gigagas blocks + mainnet blocks, 10 samples
    python -m bench.run --quick      # small blocks, 3 samples (CI smoke test)
    python -m bench.report FILE.json # re-render the table and plots of a past run
"""
