# One command to run, one to test. Both create .venv and install on first use.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt infrastructure/requirements.txt infrastructure/requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: install run reset test lint typecheck format unit integration e2e compat browser vendor-uplot bench bench-scale synth invoke infra tick task-precision ingest seed events bootstrap outbox createsuperuser localstack-up localstack-down localstack-bootstrap localstack-test clean

$(STAMP): requirements.txt requirements-dev.txt infrastructure/requirements.txt infrastructure/requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

## make run: the local cloud + API on http://localhost:8000 (PORT, DEVSTACK_*_PORT, OPENSEARCH_URL, REDIS_URL override)
## state is kept in .devstack/ (DEVSTACK_DATA_DIR) across restarts; FRESH=1 starts empty; HTTPS=1 serves TLS
run: install
	$(if $(FRESH),DEVSTACK_FRESH=true) $(if $(HTTPS),DEVSTACK_HTTPS=true) $(PY) -m devstack

## make reset: forget the local cloud's kept state (refused while it runs)
reset: install
	@$(PY) -m devstack.reset

## make test: lint, format check, import contracts, type check, unit + integration + e2e tests
test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

## make lint: ruff, the import contracts of pyproject.toml (layers, independent contexts, no cycles), mypy
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/mypy

## make typecheck: mypy as pyproject.toml configures it (strict on chalicelib/ and app.py)
typecheck: install
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

unit integration e2e compat: install
	$(VENV)/bin/pytest tests/$@

## make browser: the console's tests in headless Chromium (apt-get install -y chromium; screenshots in docs/screenshots)
browser: install
	$(VENV)/bin/pytest tests/e2e/console

## make vendor-uplot [VERSION=x.y.z]: refresh the console's chart library from the npm registry
vendor-uplot: install
	$(PY) scripts/refresh_uplot.py $(or $(VERSION),latest)

## make outbox: the last emails the running local cloud sent (reset links...)
outbox: install
	@$(PY) -m devstack.outbox

## make createsuperuser: create an administrator in the running local cloud
createsuperuser: install
	@$(PY) -m devstack.admin

## make bench: measured figures side by side with their baselines → bench/report.json
bench: install
	$(PY) -m bench.run

## make bench-scale [SIZES=1000,10000,50000]: costs as products, plans and logs grow → bench/scale.json + README
bench-scale: install
	$(PY) -m bench.scale $(if $(SIZES),--sizes $(SIZES))

## make synth: the CloudFormation template of one stage in cdk.out/ (offline, not deployable; STAGE=dev|prod)
synth: install
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(PY) -m infrastructure.app -c stage=$(or $(STAGE),dev) -c templateOnly=true

## make invoke FN=<handler> EVENT=<file>: run one handler in-process against the running local cloud
invoke: install
	@$(PY) -m devstack.invoke --fn "$(FN)" --event "$(EVENT)"

## make infra: the stack's tests (synthesis, assertions, cfn-lint)
infra: install
	$(VENV)/bin/pytest tests/infra

## make tick NAME=sweep_tasks: fire a schedule of the running local cloud now (sweep_tasks, evaluate_alerts)
tick:
	@curl -fsS -X POST http://localhost:$${PORT:-8000}/_devstack/schedules/$(NAME); echo

## make task-precision: how close to scheduled_at tasks start, on a fresh local cloud → bench/task_precision.json
task-precision: install
	$(PY) -m bench.task_precision --sweeper

## make ingest SOURCE=<url or file>: load DummyJSON-shaped products into the running local cloud
ingest: install
	@test -n "$(SOURCE)" || { echo "usage: make ingest SOURCE=<url or file>" >&2; exit 2; }
	@$(PY) -m devstack.ingest "$(SOURCE)"

## make seed: a deterministic demo shop in the running local cloud (admin, shoppers, 200 products, carts, orders)
seed: install
	@$(PY) -m devstack.seed

## make events: tail the domain events of the running local cloud, one envelope per line (Ctrl-C stops)
events: install
	@$(PY) -m devstack.events

## make bootstrap: create the declared resources against AWS_ENDPOINT_URL (LocalStack, or an account)
bootstrap: install
	$(PY) -m devstack.bootstrap

## make localstack-up / localstack-down: LocalStack + Redis in Docker (see docs/localstack.md)
localstack-up:
	docker compose -f localstack/docker-compose.yml up -d --wait

localstack-down:
	docker compose -f localstack/docker-compose.yml down

## make localstack-bootstrap: (re)create the declared resources in LocalStack from the host
localstack-bootstrap: install
	AWS_ENDPOINT_URL=$${AWS_ENDPOINT_URL:-http://localhost:4566} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
		$(PY) -m devstack.bootstrap --no-search

## make localstack-test: the integration suite against LocalStack (needs Docker; see docs/localstack.md)
localstack-test: install
	AWS_ENDPOINT_URL=$${AWS_ENDPOINT_URL:-http://localhost:4566} $(VENV)/bin/pytest tests/localstack

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
