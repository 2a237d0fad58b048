# KYCC — two commands on a fresh machine: `make run` and `make test`. Only python3 (3.11) is assumed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export KEDRO_DISABLE_TELEMETRY := 1
export LITELLM_LOCAL_MODEL_COST_MAP := True
export HF_HUB_OFFLINE := 1
export COLUMNS ?= 150

# DATA_ROOT moves every dataset (KYCC_DATA_ROOT); GENERATE_ARGS are passed to `kycc generate`, BACKFILL_ARGS to
# `kycc backfill`. make run's world: 10,000 customers over 2023-01..2025-06 (30 months), so that the monthly
# cycle trains at 2024-12 and then monitors 7 months (2024-12..2025-06); `kycc generate` alone keeps its defaults.
DATA_ROOT ?= data
GENERATE_ARGS ?= --customers 10000 --end 2025-06-01
BACKFILL_ARGS ?=
export KYCC_DATA_ROOT := $(DATA_ROOT)

.PHONY: install run data test test-e2e test-deploy test-slow test-all test-fast bench lint viz viz-screenshot notebook serve airflow-dags airflow-test dagster-dev mlflow-ui pocketbase clean-data

# torch first and exactly 2.13.0: the CPU wheel on this machine (any other version pulls a multi-GB CUDA build).
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

# Synthetic data when data/01_raw has none (keeps a lender's real exports untouched).
data: install
	@if [ ! -f $(DATA_ROOT)/01_raw/lms_loan_daily.csv ]; then \
		$(BIN)/kycc generate --output $(DATA_ROOT)/01_raw $(GENERATE_ARGS); \
	else echo "$(DATA_ROOT)/01_raw already has data: not generating"; fi

# The main job end to end: the monthly cycle over every month in data/01_raw (catch-up): label store, feature
# store, training on its schedule, inference, monitoring, actions, then the dashboard (its path is printed last).
run: data
	$(BIN)/kycc backfill $(BACKFILL_ARGS)

# Test tiers (docs/testing.md; decided in tests/conftest.py): `make test` is what every change must pass (952 tests,
# 5m55s on 2 cores, quiet, 2026-12-03; goal < 5 min); test-e2e the monthly cycle end to end (the shared cycle state,
# kycc backfill runs, make run, PySpark); test-deploy orchestration and serving (Airflow DAGs, Dagster, kycc serve,
# the notebook); test-slow both in one run (the shared cycle state built once; what CI runs after make test);
# test-all every tier in one run; test-fast the test tier without its slow tests. PYTEST_ARGS are passed on.
PYTEST_ARGS ?=
# the deploy tier runs one month under a real Apache Airflow 3, from its own virtualenv (see airflow-test below)
AIRFLOW_VENV := .venv-airflow
PYTEST := $(BIN)/pytest -q -n 2 --dist load --maxschedchunk 2 $(PYTEST_ARGS)

test: install
	$(PYTEST) --tier=test

test-e2e: install
	$(PYTEST) --tier=e2e

test-deploy: install $(AIRFLOW_VENV)/.installed
	$(PYTEST) --tier=deploy

test-slow: install $(AIRFLOW_VENV)/.installed
	$(PYTEST) --tier=e2e --tier=deploy

test-all: install
	$(PYTEST)

test-fast: install
	$(PYTEST) --tier=test -m "not slow"

bench: install
	$(BIN)/python benchmarks/run.py

lint: install
	$(BIN)/ruff check src tests benchmarks notebooks deploy
	$(BIN)/ruff format --check src tests benchmarks notebooks deploy

viz: install
	$(BIN)/kedro viz run --host 127.0.0.1 --no-browser

# Regenerates docs/images/kedro_viz_lineage.png (needs Chromium: apt-get install chromium)
viz-screenshot: install
	scripts/viz_screenshot.sh

# Jupyter with the project loaded (catalog, context, session); start with notebooks/01_tour.ipynb
notebook: install
	$(BIN)/kedro jupyter notebook --no-browser

# The HTTP API on 127.0.0.1:8000 (docs at /docs); the key of its mutating endpoints: conf/local/credentials.yml
serve: install
	$(BIN)/kycc serve --host 127.0.0.1 --port 8000

# The monthly cycle's Airflow DAG `kycc_cycle` (one month per run = `kycc backfill --start M --end M`, run from
# .venv as a command; kycc.orchestration.airflow, docs/orchestration.md) written into AIRFLOW_DAGS
AIRFLOW_DAGS ?= airflow_dags
airflow-dags: install
	$(BIN)/python -m kycc.orchestration.airflow --target-dir $(AIRFLOW_DAGS)

# Apache Airflow 3 in a virtualenv of its own (airflow-core pins fastapi<0.137, the project 0.165; kycc is never
# installed there), then one month through `airflow dags test kycc_cycle` compared with `kycc backfill`.
AIRFLOW_PINS := apache-airflow-core==3.3.2 apache-airflow-task-sdk==1.3.2 apache-airflow-providers-standard==1.21.0
$(AIRFLOW_VENV)/.installed:
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --upgrade pip
	nice $(AIRFLOW_VENV)/bin/pip install --quiet $(AIRFLOW_PINS)
	touch $@

airflow-test: install $(AIRFLOW_VENV)/.installed
	nice $(BIN)/pytest -q -n 0 tests/orchestration/test_airflow_month.py

# Dagster UI on the monthly cycle (kycc.orchestration.dagster: job kycc_cycle, one month per partition = kycc
# backfill for that month), http://127.0.0.1:3000; runs in .dagster/, one cycle run at a time (deploy/dagster.yaml)
dagster-dev: install
	mkdir -p .dagster
	cp -n deploy/dagster.yaml .dagster/dagster.yaml
	DAGSTER_HOME=$(CURDIR)/.dagster $(BIN)/dagster dev -m kycc.orchestration.dagster -h 127.0.0.1 -p 3000

# The MLflow UI on DATA_ROOT's tracking store (sqlite; KYCC_MLFLOW_URI overrides), http://127.0.0.1:5000
mlflow-ui: install
	$(BIN)/mlflow ui --backend-store-uri $${KYCC_MLFLOW_URI:-sqlite:///$(abspath $(DATA_ROOT))/06_models/mlflow.db} --host 127.0.0.1 --port 5000

# The issue_mining PocketBase (the embedded one under DATA_ROOT) in the foreground: http://127.0.0.1:8090/_/
pocketbase: install
	$(BIN)/kycc pocketbase

clean-data:
	find data -mindepth 2 ! -name .gitkeep -delete
