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

.PHONY: install run data test test-fast bench lint viz viz-screenshot notebook serve mlflow-ui clean-data

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

test: install
	$(BIN)/pytest -q -n 2 --dist loadgroup

test-fast: install
	$(BIN)/pytest -q -n 2 --dist loadgroup -m "not slow and not spark"

bench: install
	$(BIN)/python benchmarks/run.py

lint: install
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks notebooks

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

# The MLflow UI on the project's tracking store (sqlite), http://127.0.0.1:5000
mlflow-ui: install
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000

clean-data:
	find data -mindepth 2 ! -name .gitkeep -delete
