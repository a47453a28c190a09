# `make run` and `make test` bootstrap .venv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORE := bot4/core/*,bot4/venue/*,bot4/market/*,bot4/risk/*,bot4/service/*

NATIVE := native/Cargo.toml native/Cargo.lock $(wildcard native/src/*.rs native/src/*/*.rs)
CARGO ?= cargo

.PHONY: run test services lint typecheck native wheel bench fuzz fuzz-native differential-long clean

# installs bot4 in place, which builds its Rust core (native/) with maturin: needs cargo
$(STAMP): pyproject.toml $(NATIVE)
	@command -v $(CARGO) >/dev/null 2>&1 || { echo "cargo is missing: bot4's core is Rust; install it with https://rustup.rs (curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "bot4 needs Python >= 3.11; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/bot4 run

lint: $(STAMP)
	$(BIN)/ruff check bot4 tests benchmarks
	$(BIN)/ruff format --check bot4 tests benchmarks
	$(BIN)/lint-imports  # the layers: [tool.importlinter] in pyproject.toml

typecheck: $(STAMP)
	$(BIN)/mypy bot4

# the Rust core: formatting, clippy (warnings are errors) and its unit and property tests
native: $(STAMP)
	cd native && $(CARGO) fmt --check
	cd native && PYO3_PYTHON=$(CURDIR)/$(BIN)/python $(CARGO) clippy --all-targets --features python -- -D warnings
	cd native && $(CARGO) test --quiet

# a wheel of bot4 with its compiled core, for cluster images and nodes (see cluster/README.md)
wheel: $(STAMP)
	$(BIN)/python -m pip wheel --no-deps --wheel-dir dist .

test: services lint typecheck native
	$(BIN)/pytest --cov=bot4 --cov-report=term --cov-report=
	@echo "--- coverage of the pure core ($(CORE)), must be >= 95%"
	$(BIN)/coverage report --include='$(CORE)' --fail-under=95
	@echo "--- coverage of the whole package"
	@$(BIN)/coverage report | tail -1

# the Redis store tests start a real redis-server and the metrics tests a real prometheus:
# install them when missing (as root)
services:
	@command -v redis-server >/dev/null 2>&1 || test -x /usr/bin/redis-server \
	  || test -x /usr/sbin/redis-server || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing redis-server (needed by the Redis store tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; \
	  else \
	    echo "redis-server is missing: run 'sudo apt-get install -y redis-server' (make test installs it when run as root)" >&2; \
	    exit 1; \
	  fi; }
	@command -v prometheus >/dev/null 2>&1 || test -x /usr/bin/prometheus \
	  || test -x /usr/local/bin/prometheus || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing prometheus (needed by the metrics tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; \
	  else \
	    echo "prometheus is missing: run 'sudo apt-get install -y prometheus' (make test installs it when run as root)" >&2; \
	    exit 1; \
	  fi; }

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py

# the native engine's request path under random inputs and its invariants, on stable Rust
# (native/fuzz/README.md: the same check under cargo-fuzz with nightly Rust)
FUZZ_SECONDS ?= 300
fuzz-native: $(STAMP)
	cd native/fuzz && $(CARGO) run --release --quiet --no-default-features --bin stable -- --seconds $(FUZZ_SECONDS)

# the two engine backends over ten million seeded requests (make test sends one million)
LONG_REQUESTS ?= 10000000
differential-long: $(STAMP)
	BOT4_LONG_REQUESTS=$(LONG_REQUESTS) $(BIN)/pytest -q tests/native/test_long_streams.py

# The hypothesis property suites only (the "fuzz" profile of tests/conftest.py: FUZZ_SCALE x
# the CI examples, randomised), in rounds with a fresh seed each until FUZZ_MINUTES have passed
# (a round that has begun runs to its end; FUZZ_MINUTES=0: one round). Every round prints its
# seed; on a failure it stops and prints the command that replays the failing round.
# BOT4_HYPOTHESIS_SEED=<seed> runs that one seed once. FUZZ_TESTS narrows the files.
FUZZ_MINUTES ?= 30
FUZZ_SCALE ?= 10
FUZZ_TESTS ?= tests
BOT4_HYPOTHESIS_SEED ?=
fuzz: $(STAMP)
	@end=$$(( $$(date +%s) + 60 * $(FUZZ_MINUTES) )); round=1; \
	while :; do \
	  seed="$(BOT4_HYPOTHESIS_SEED)"; \
	  [ -n "$$seed" ] || seed=$$(od -An -N4 -tu4 /dev/urandom | tr -d ' '); \
	  echo "=== make fuzz: round $$round, seed $$seed, $(FUZZ_SCALE)x the CI examples"; \
	  HYPOTHESIS_PROFILE=fuzz BOT4_FUZZ_SCALE=$(FUZZ_SCALE) BOT4_HYPOTHESIS_SEED=$$seed \
	    $(BIN)/pytest -q -p no:cacheprovider $(FUZZ_TESTS) || { \
	    echo "=== make fuzz: round $$round FAILED with seed $$seed; replay it with:"; \
	    echo "    make fuzz BOT4_HYPOTHESIS_SEED=$$seed FUZZ_SCALE=$(FUZZ_SCALE) FUZZ_TESTS='$(FUZZ_TESTS)'"; \
	    exit 1; }; \
	  if [ -n "$(BOT4_HYPOTHESIS_SEED)" ] || [ $$(date +%s) -ge $$end ]; then break; fi; \
	  round=$$((round + 1)); \
	done; echo "=== make fuzz: $$round round(s) passed"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage native/target bot4/*.so
