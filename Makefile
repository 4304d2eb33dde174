# The front door. `make help` lists every target.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# The tool cache (uv, sam, ministack, RIE, adapter) comes first on PATH; scripts/lib.sh says where it is.
export PATH := $(shell scripts/lib.sh tools-bin):$(PATH)
export UV_PYTHON_DOWNLOADS := never
# The runtime's Python (CPython 3.13), as devstack finds it: backend/Makefile compiles the zip's bytecode with it.
export LAMBDA_PYTHON := $(shell scripts/lib.sh ask lambda-python)
RUN := uv run --frozen
# devstack/ is the local environment (a workspace member): its console script, and its own tests and types.
DEVSTACK := $(RUN) devstack
IN_DEVSTACK := cd devstack && $(RUN)
PYTEST := pytest -p no:cacheprovider
ENV ?= dev
# Where `make dev` keeps its data: devstack reads the same variable (devstack/src/devstack/paths.py).
STATE_DIR := $(or $(DEVSTACK_STATE_DIR),.local)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

##@ Everyday
.PHONY: install install-browser dev debug token env reset
install: ## Install every tool and package (pinned, cached; first run ~10 min on 2 cores)
	@scripts/install.sh

install-browser: ## What the browser test adds: Debian's Chromium + chromedriver (apt-get), the Firebase JS SDK (npm)
	@scripts/install-browser.sh

dev: install build ## Run the whole local chain: emulators, deployed stack, RIE + Web Adapter + app, gateway
	@$(DEVSTACK) dev

# DEBUG=1 is what devstack reads (config.load): `DEBUG=1 make dev` is the same.
debug: install build ## `make dev` with the function's app under debugpy on 127.0.0.1:$DEBUG_PORT; timeouts lifted (docs/debugging.md)
	@DEBUG=1 $(DEVSTACK) dev

token: ## Print an ID token for a dev user of the running `make dev` (EMAIL=you@example.com ADMIN=1)
	@$(DEVSTACK) token "$(or $(EMAIL),dev@example.com)" $(if $(ADMIN),--admin)

# Prints the exports only (the shell evaluates them): no recipe echo. GNU make's own "Entering directory"
# comes before this file is read: from elsewhere, `make --no-print-directory -C DIR env`.
env: ## Point aws, sam, samlocal and boto3 at the running `make dev` or compose stack: eval "$(make env)"
	@$(DEVSTACK) env

reset: ## Wipe local data: users, notes, files (that of DEVSTACK_STATE_DIR=<dir> when set)
	rm -rf "$(STATE_DIR)/data"
	@echo "local data wiped"

##@ Containers (docker compose: the same parts as `make dev`)
.PHONY: engine engine-stop up down logs
engine: ## Start a private Docker engine when none answers (Linux, root; nothing leaves the machine) + compose
	@scripts/engine.sh start >/dev/null
	@docker compose version >/dev/null 2>&1 || scripts/compose-plugin.sh >/dev/null

engine-stop: ## Stop the private Docker engine `make engine` started
	@scripts/engine.sh stop

up: ## docker compose up --build --wait, with taken ports and unhealthy parts named
	@scripts/compose.sh up

down: ## docker compose down (V=1 also wipes users, notes and files)
	@scripts/compose.sh down $(if $(V),-v)

logs: ## Follow the compose stack's logs
	@scripts/compose.sh logs

##@ Tests and checks
.PHONY: bench
bench: install build ## Benchmarks side by side (cold start, latency, authorizer, start, per request, suites, artifact, sam local): one table + bench/results.json (BENCH_QUICK=1: short, BENCH_ONLY=sam_local,...: some groups)
	$(RUN) python -m bench.run

.PHONY: test test-main test-unit test-integration test-devstack test-infra test-compose test-local test-browser test-faults test-durability test-debug e2e fuzz smoke lint format typecheck check-iac check-security
# make test's suites in lanes (tests/suites.py): lanes run side by side, a lane's suites one after another.
# The two on the Docker engine (compose, sam local) share one lane; the in-process pytest runs and the checks
# the other. The Docker lane is the longer one on a loaded or fresh machine (engine, compose plugin, stand-ins).
TEST_LANES := test-main,test-devstack,check-iac,check-security test-compose,test-local
test: install install-browser lint typecheck build ## Run all tests: lint, types, then the suites side by side (logs in .local/test-logs, one table at the end)
	@$(RUN) python -m tests.suites $(TEST_LANES)

test-main: install install-browser build ## tests/ in one pytest run: unit, integration, e2e, browser, faults, durability, infra, debug
	$(RUN) $(PYTEST) tests --ignore=tests/smoke --ignore=tests/compose --ignore=tests/samlocal

test-unit: ## The backend's unit tests only (no emulators, seconds)
	$(RUN) $(PYTEST) tests/unit

test-integration: ## API tests against MiniStack and the Firebase Auth emulator
	$(RUN) $(PYTEST) tests/integration

test-devstack: build ## devstack's own tests: local facts, the gateway vs SAM CLI, the real RIE + Web Adapter chain
	$(IN_DEVSTACK) $(PYTEST)

test-compose: build ## The compose stack for real (engine, stand-ins, up), the e2e suite and tests/compose on it
	@scripts/test-compose.sh

test-local: install build ## `make local` (SAM CLI's sam local start-api) for real: the e2e suite and tests/samlocal on it
	@scripts/test-local.sh

test-browser: install install-browser build ## Headless Chromium edits a note across origins through the whole chain (template CORS vs before the fix)
	$(RUN) $(PYTEST) tests/browser

test-faults: install build ## A dependency stopped or slow, a part of `make dev` killed: named, served again or stopped cleanly
	$(RUN) $(PYTEST) tests/faults

test-durability: install build ## Users, notes and files survive a stop + start of `make dev`; `make reset` wipes them
	$(RUN) $(PYTEST) tests/durability

test-infra: ## Template tests and the deploy/update/destroy cycle on MiniStack
	$(RUN) $(PYTEST) tests/infra

test-debug: install build ## make debug driven by a real DAP client: a breakpoint in backend/ hit through the gateway, again after a save
	$(RUN) $(PYTEST) tests/debug

e2e: install build ## End-to-end through gateway -> RIE -> Web Adapter -> uvicorn (BASE_URL= to target a running stack)
	$(RUN) $(PYTEST) tests/e2e

fuzz: install build ## schemathesis through the chain, FUZZ_EXAMPLES random examples per operation (default 300; BASE_URL= as e2e)
	FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),300) $(RUN) $(PYTEST) tests/e2e/test_hostile_input.py

smoke: ## Smoke tests against a deployed API (API_URL=https://...)
	$(RUN) $(PYTEST) tests/smoke

lint: ## ruff lint + format check; backend/requirements.txt in sync with uv.lock
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	@scripts/check-requirements.sh

format: ## Apply ruff formatting and fixes
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

typecheck: ## mypy --strict (the backend with its tests, then devstack with its own)
	$(RUN) mypy backend tests bench
	$(IN_DEVSTACK) mypy

check-iac: ## sam validate --lint, cfn-lint, checkov, actionlint, zizmor, workflow + compose schemas, hadolint, shellcheck
	@scripts/check-iac.sh

check-security: ## gitleaks (tree + history), pip-audit (Lambda requirements + whole lock; a named skip when offline)
	@scripts/check-security.sh

##@ Build and deploy
.PHONY: requirements build clean local local-invoke deploy-local destroy-local deploy-dev deploy-staging deploy-prod function-logs status
requirements: ## Re-export backend/requirements.txt from uv.lock (what sam build installs)
	@scripts/lib.sh ask requirements

# sam build again only when what it reads changed (directories count: a deleted file changes its directory):
# an unchanged tree costs no 4 s in `make dev`, `make e2e` ... and a changed one is never served stale.
BUILT := .aws-sam/build/template.yaml
$(BUILT): template.yml samconfig.toml $(shell find backend -not -path '*/__pycache__*' -not -path '*/.*')
	@scripts/stack.sh build

build: $(BUILT) ## sam build, when template.yml or backend/ changed since the last one (make clean forces it)

clean: ## Remove build artifacts
	@scripts/stack.sh clean

local: install build ## SAM CLI's own sam local start-api (on LOCAL_API_PORT) with its own emulators (needs Docker; `make dev` needs none)
	@scripts/stack.sh local-api

local-invoke: ## sam local invoke of an HTTP API event (GET /health; EVENT=file for another) on the running `make local`
	@scripts/stack.sh local-invoke $(if $(EVENT),--event "$(EVENT)")

deploy-local: ## Build and deploy the stack to the running emulator (devstack deploy: samconfig env `local`)
	@scripts/stack.sh deploy-local

destroy-local: ## Delete the stack from the running emulator
	@scripts/stack.sh destroy-local

deploy-dev: ## Build, deploy to dev, health check, smoke tests
	@scripts/deploy.sh dev

deploy-staging: ## Build, deploy to staging, health check, smoke tests
	@scripts/deploy.sh staging

deploy-prod: ## Build, deploy to prod (confirms the change set), health check, smoke tests
	@scripts/deploy.sh prod

function-logs: ## Tail a deployed function's logs (ENV=dev|staging|prod|local)
	@scripts/stack.sh logs "$(ENV)"

status: ## Show the stack, its outputs and the function configuration (ENV=dev|staging|prod|local)
	@scripts/stack.sh status "$(ENV)"
