# blockstm — two commands matter: `make gate` (pre-merge) and `make test` (everything CI runs).
# Both set everything up on a fresh machine: .venv, pinned Python deps, the release wheel.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
DEPS   := $(VENV)/.deps-installed
# Test workers (pytest-xdist) and engine threads share the machine's cores:
# see docs/campaigns.md. WORKERS: auto (one per core), N, or 0 (no xdist: one process).
# ENGINE_THREADS: threads of the conformance suites' parallel runs (default: every core).
# PYTEST_ARGS go to every pytest suite; a selection (-k, -m) skips the suites it selects
# nothing in (scripts/gate.py). make gate WORKERS=0 ENGINE_THREADS=2 PYTEST_ARGS="-k stExample"
WORKERS ?= auto
ENGINE_THREADS ?=
PYTEST_ARGS ?=
GATE_OPTIONS = --workers $(WORKERS) $(if $(ENGINE_THREADS),--engine-threads $(ENGINE_THREADS))

.PHONY: setup build gate test test-rust bench fuzz faults-build mutation mutants-tool clean

setup: build

$(DEPS): pyproject.toml
	command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server) \
		|| echo "warning: no redis-server: the campaign's redis test skips (fails under CI=true)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(PY) scripts/pinned_deps.py | xargs $(VENV)/bin/pip install -q
	touch $@

# Release build of the extension, installed into the venv (incremental: fast when unchanged).
build: $(DEPS)
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH \
		$(VENV)/bin/maturin develop --release --quiet

# Engine unit tests (Rust, no Python linked).
test-rust:
	cargo test --release --manifest-path engine/Cargo.toml --lib

# The pre-merge gate: bounded, deterministic, one summary table (scripts/gate.py):
# engine unit tests, API tests, the regression corpus, mocked blocks, mainnet blocks,
# a GeneralStateTests sample covering every fork and folder, properties (gate profile).
GATE_STATE_SAMPLE ?= 2000
gate: build
	$(PY) scripts/gate.py $(GATE_OPTIONS) --state-sample $(GATE_STATE_SAMPLE) -- $(PYTEST_ARGS)

# Everything CI runs: the same suites with the full corpora and the slow tests.
test: build
	$(PY) scripts/gate.py --full $(GATE_OPTIONS) -- $(PYTEST_ARGS)

# Benchmarks (docs/benchmarks.md): make bench BENCH_ARGS="--quick" | "--rust"
BENCH_ARGS ?=
bench: build
	$(PY) -m bench.run $(BENCH_ARGS)

# Fuzz campaign (docs/campaigns.md): the properties for HOURS of wall clock on WORKERS
# processes (auto: one per core; here at least 1), live progress, a report in
# .cache/campaigns/<timestamp>/; exit status 2 when a target got too few examples.
# make fuzz HOURS=0.5 WORKERS=2 FUZZ_ARGS="--database redis://host:6379 --seed 1000"
HOURS ?= 8
FUZZ_ARGS ?=
fuzz: build
	$(PY) -m properties.campaign --hours $(HOURS) --workers $(WORKERS) $(FUZZ_ARGS)

# Detection power (docs/detection-power.md): the engine built with seeded bugs (cargo
# feature `faults`, into engine/target-faults and .cache/faults/site: never the shipped
# wheel), then the gate's suites against each bug.
# make mutation MUTATION_ARGS="--faults skip-validation,drop-wake-up --limit 300"
MUTATION_ARGS ?=
faults-build: $(DEPS)
	$(PY) scripts/mutation.py --build-only

mutation: $(DEPS)
	$(PY) scripts/mutation.py --workers $(WORKERS) $(MUTATION_ARGS)

# Generated mutants (cargo-mutants' edits of the engine, scripts/mutants.py): each built
# and run against the gate's suites; report in .cache/mutation/generated/.
# make mutation MUTATION_ARGS="--generated --sample 20 --seed 1"
# make mutation MUTATION_ARGS="--generated --files src/parallel/lazy.rs --limit 300"
# Listing needs cargo-mutants (make mutants-tool); a saved list (--mutants FILE) does not.
CARGO_MUTANTS_VERSION = 27.1.0
mutants-tool:
	test -x .cache/tools/bin/cargo-mutants || \
		cargo install cargo-mutants --version $(CARGO_MUTANTS_VERSION) --locked --root .cache/tools

clean:
	rm -rf $(VENV) engine/target engine/target-faults engine/target-mutants .cache
