# Penny. `make run` starts the whole system locally; `make test` runs every test.
SHELL := /bin/bash
CARGO ?= cargo
CORPUS ?= ../shared/corpus

.PHONY: run test lint fmt migrate bench eval build clean-test-dbs

## Build (release) and start every service and the gateway with local defaults; Ctrl-C stops.
run:
	scripts/run-local.sh

## Every test: unit, integration (real PostgreSQL, RabbitMQ, nginx) and the corpus floors.
test:
	scripts/ensure-services.sh
	# The end-to-end tests (crates/e2e) start the service binaries as processes.
	$(CARGO) build --workspace --bins
	$(CARGO) nextest run --workspace --no-fail-fast

## Formatting check and clippy with warnings as errors.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Run every service's pending migrations against PENNY_DATABASE_URL (default: local `penny`).
migrate:
	$(CARGO) build --release --quiet --bins
	for s in auth ledger mail-ingest extraction; do target/release/penny-$$s migrate || exit 1; done

## Benchmarks (criterion harnesses and load binaries).
bench:
	scripts/install-deps.sh
	scripts/ensure-services.sh
	$(CARGO) bench --workspace
	# The ledger's load benchmark: 1M transactions, list/create at 64 connections with wrk, vs a bare handler.
	$(CARGO) run --release -q -p penny-ledger --bin ledger-load
	# The whole pipeline through the gateway (10,000 alerts: emails/s, latency at half load, peak memory, vs a bare lapin + PostgreSQL ceiling); writes docs/BENCHMARKS.md.
	$(CARGO) build --release -q --workspace --bins && $(CARGO) run --release -q -p penny-e2e --bin pipeline-load

## The rule engine's per-field accuracy on the development corpus, with every miss.
eval:
	$(CARGO) run -q --release -p penny-rules --example eval -- $(CORPUS)

build:
	$(CARGO) build --workspace --all-targets

## Drop test databases left behind by interrupted test runs.
clean-test-dbs:
	psql -h 127.0.0.1 -U postgres -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'penny_test_%'" \
	  | while read -r db; do psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE \"$$db\" WITH (FORCE)"; done
