# The front door: `make run` builds the warehouse, `make test` checks it.
# Every target installs what it needs first, so a fresh clone needs nothing else.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export WH_LANDING_DIR ?= $(CURDIR)/landing
export WH_DUCKDB_PATH ?= $(CURDIR)/warehouse/warehouse.duckdb
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export PYTHONPATH := $(CURDIR)
# The venv's tools first: dagster-dbt runs `dbt parse` by name under `dagster dev`.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Salt of personal-data hashes: WH_PII_SALT, else one generated once and kept outside the
# repository (~/.config/loyalty-warehouse/pii_salt; see orchestration/settings.py).
ifndef WH_PII_SALT
export WH_PII_SALT := $(shell $(PYTHON) -m orchestration.settings salt)
endif
DAGSTER_PORT ?= 3000
CUSTOMERS ?= 5000
YEARS ?= 3
SEED ?= 42
# The demo firm's exports run to yesterday, as a daily CRM export would: the marts, whose
# as_of is today, then see a current customer base (CLV and churn depend on that).
DEMO_END_DATE ?= $(shell date -d yesterday +%F)

.PHONY: install run dev test lint format lock demo-data demo parse clean report docs test-postgres test-spark

install: $(STAMP)

# uv (with --compile-bytecode: this environment sets PYTHONDONTWRITEBYTECODE=1) when present,
# else pip. Re-runs only when the lock file or pyproject.toml changes.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if command -v uv >/dev/null 2>&1; then \
		echo "installing with uv"; \
		uv pip install --python $(BIN)/python --compile-bytecode -r requirements.lock; \
	else \
		echo "installing with pip (install uv for a faster install)"; \
		$(BIN)/python -m pip install --quiet --upgrade pip; \
		$(BIN)/python -m pip install --quiet --progress-bar off -r requirements.lock; \
	fi
	@touch $(STAMP)

lock:
	uv pip compile -p python3.11 --extra dev pyproject.toml -o requirements.lock --no-header

$(DAGSTER_HOME)/dagster.yaml:
	@mkdir -p $(DAGSTER_HOME)
	@printf 'telemetry:\n  enabled: false\nnux:\n  enabled: false\nrun_retries:\n  enabled: true\n' > $@

# The demo firm goes only into the project's own landing/ (make run, make demo-data) or
# wherever `make demo` is asked to put it; never into a configured WH_LANDING_DIR by make run,
# where an empty folder is reported by orchestration.run instead.
GENERATE_DEMO = $(BIN)/python -m orchestration.synthetic --customers $(CUSTOMERS) \
	--years $(YEARS) --seed $(SEED) --end-date $(DEMO_END_DATE) --out $(WH_LANDING_DIR) \
	--truth $(CURDIR)/truth

demo-data: install
	@if [ "$$(realpath -m $(WH_LANDING_DIR))" != "$$(realpath -m $(CURDIR)/landing)" ]; then \
		echo "WH_LANDING_DIR=$(WH_LANDING_DIR) is configured: no demo data generated there" \
			"(make demo does it on request)"; \
	elif [ -z "$$(ls -A $(WH_LANDING_DIR) 2>/dev/null)" ]; then $(GENERATE_DEMO); \
	else echo "landing data present in $(WH_LANDING_DIR): not generating"; fi

demo: install
	@if [ -z "$$(ls -A $(WH_LANDING_DIR) 2>/dev/null)" ]; then $(GENERATE_DEMO); \
	else echo "landing data present in $(WH_LANDING_DIR): not generating"; fi

parse: install
	@$(BIN)/dbt parse --quiet

# JOB=incremental_refresh runs the daily job (only the changed rows of the incremental facts).
JOB ?= full_refresh
run: install demo-data parse $(DAGSTER_HOME)/dagster.yaml
	@$(BIN)/python -m orchestration.run --job $(JOB)

# The report again from the last publish (make run writes it too): REPORT_LANGUAGE=zh|en.
REPORT_LANGUAGE ?= zh
report: install
	@test -e $(dir $(WH_DUCKDB_PATH))published/bi.duckdb || \
		{ echo "nothing published yet in $(dir $(WH_DUCKDB_PATH))published: run make run first"; exit 1; }
	@$(BIN)/python -m orchestration.report --database $(dir $(WH_DUCKDB_PATH))published/bi.duckdb \
		--out $(dir $(WH_DUCKDB_PATH))reports/loyalty_report_$(REPORT_LANGUAGE).html \
		--language $(REPORT_LANGUAGE)

# The dbt models on a private PostgreSQL 15 cluster, compared with DuckDB's marts
# (docs/engines.md). Installs Debian's postgresql server binaries when they are missing.
test-postgres: install parse $(DAGSTER_HOME)/dagster.yaml
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }
	WH_DBT_TARGET=dev WH_TEST_POSTGRES=1 $(BIN)/python -m pytest tests/postgres

# The dbt models on Spark (dbt-spark session method, local[2] on 127.0.0.1), compared with
# DuckDB's marts (docs/engines.md). Installs requirements-spark.txt on top of the lock and
# Debian's Java runtime when `java` is missing.
SPARK_STAMP := $(VENV)/.installed-spark
$(SPARK_STAMP): $(STAMP) requirements-spark.txt
	@if command -v uv >/dev/null 2>&1; then \
		uv pip install --python $(BIN)/python --compile-bytecode \
			-r requirements-spark.txt -c requirements.lock; \
	else \
		$(BIN)/python -m pip install --quiet --progress-bar off \
			-r requirements-spark.txt -c requirements.lock; \
	fi
	@touch $@

test-spark: install $(SPARK_STAMP) parse $(DAGSTER_HOME)/dagster.yaml
	@command -v java >/dev/null 2>&1 || [ -n "$${JAVA_HOME:-}" ] || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
			openjdk-17-jre-headless >/dev/null; }
	SPARK_LOCAL_IP=127.0.0.1 WH_DBT_TARGET=dev WH_TEST_SPARK=1 $(BIN)/python -m pytest tests/spark

# dbt's documentation site as one offline file (models, columns, tests, lineage, and the
# built tables' types and row counts; without them before the first make run, in a target
# folder of its own: the in-memory parse would name the semantic manifest's catalog "memory"
# and `mf query` would look there), and docs/metrics.md again from the catalogue seed.
DOCS_DIR := $(dir $(WH_DUCKDB_PATH))docs
docs: install parse
	@$(BIN)/python -m orchestration.catalogue
	@mkdir -p $(DOCS_DIR)
	@if [ -e $(WH_DUCKDB_PATH) ]; then \
		$(BIN)/dbt docs generate --static --quiet && \
		cp $${DBT_TARGET_PATH:-target}/static_index.html $(DOCS_DIR)/index.html; \
	else \
		echo "no warehouse yet: documenting without table statistics (make run first for them)"; \
		WH_DUCKDB_PATH=:memory: $(BIN)/dbt docs generate --static --empty-catalog --quiet \
			--target-path $(CURDIR)/target/docs-without-warehouse && \
		cp target/docs-without-warehouse/static_index.html $(DOCS_DIR)/index.html; \
	fi
	@echo "$(DOCS_DIR)/index.html"

# dagster dev in its own process group: Ctrl-C and SIGTERM (`kill %1` of `make dev &`) stop it,
# its webserver, daemon and code servers (orchestration/devserver.py, tests/test_devserver.py).
dev: install parse $(DAGSTER_HOME)/dagster.yaml
	@exec $(BIN)/python -m orchestration.devserver -- \
		$(BIN)/dagster dev -h 127.0.0.1 -p $(DAGSTER_PORT) -m orchestration.definitions

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	WH_DUCKDB_PATH=:memory: $(BIN)/sqlfluff lint models macros tests/dbt --disable-progress-bar --nocolor

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	WH_DUCKDB_PATH=:memory: $(BIN)/sqlfluff fix models tests/dbt --disable-progress-bar

test: install parse $(DAGSTER_HOME)/dagster.yaml lint
	$(BIN)/python -m pytest

clean:
	rm -rf target logs warehouse .dagster_home
