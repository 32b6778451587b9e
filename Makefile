# One-command entry points. Everything the build needs is installed from requirements.lock
# into .venv (no system packages are required; see `make apt-optional` for extras).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
PY := $(BIN)/python
STAMP := $(VENV)/.belmig-installed
CORES ?= all
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

PHONY_EDITOR := check preview
.PHONY: $(PHONY_EDITOR) install report bundle attack test test-fast approve bench lint format docs dag clean apt-optional lock

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -qq -r requirements.lock
	$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_path("purelib"), "belmig.pth").write_text(str(pathlib.Path("src").resolve()) + "\n")'
	@touch $@

## Build the report (PDF + HTML) through the Snakemake DAG.
report: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

## The `snakemake --report` bundle (report/snakemake-report.zip), added to the public manifest.
bundle: report
	$(BIN)/snakemake --cores 1 --report report/snakemake-report.zip
	$(PY) -m belmig.privacy manifest --out public_manifest.json --extend --public report/snakemake-report.zip

## Attack the build as issue 14's adversary would (tests/attacks); fails on any success.
attack: $(STAMP)
	$(PY) -m tests.attacks.run .

## Check every edition (number lint, numbers in words, claim guards and their words, unguarded
## quantifiers, keys, cross-references) against the last build's ledger, without rendering (~1 s).
check: $(STAMP)
	@$(PY) -m belmig.report check

## Watch the report, re-check and re-render on save, serve the HTML with live reload on
## http://127.0.0.1:$(PORT)/ and refresh the PDF. LANG=ru or LANG=lt previews an edition.
PORT ?= 8000
EDITION = $(or $(filter en ru lt,$(LANG)),en)
preview: $(STAMP)
	@env LANG=C.UTF-8 $(PY) -m belmig.report preview --lang $(EDITION) --port $(PORT)

## The whole test suite, including the integration test that runs the DAG in a temporary copy.
test: $(STAMP)
	$(PY) -m pytest

## Unit tests only (no DAG run).
test-fast: $(STAMP)
	$(PY) -m pytest -m "not integration"

## Record the current value ledger as the approved snapshot (after reading the value diff).
approve: $(STAMP)
	$(PY) -m belmig.cli approve

## Benchmarks (see benchmarks/README.md); they print and save a results table. The preview's
## benchmark runs on this checkout's build (the others build their own copies).
bench: report
	$(PY) benchmarks/run_all.py

## Lint and format checks: ruff (Python, notebooks), snakefmt (Snakefile, rules), snakemake --lint.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint

## Apply the formatters (ruff format + safe fixes, snakefmt).
format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/snakefmt Snakefile rules

## Regenerate the stage table and module list of docs/architecture.md (tests/test_layout.py checks them).
docs: $(STAMP)
	$(PY) tools/architecture.py

dag: $(STAMP)
	$(BIN)/snakemake -n

## Optional system tools: R + survey (to regenerate the reference fixtures), poppler (PNG previews).
apt-optional:
	apt-get update -qq && apt-get install -y -qq r-base-core r-cran-survey poppler-utils

## Re-resolve the lock from requirements.in (needs network access to PyPI).
lock:
	rm -rf .lock-venv && python3 -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -r requirements.in
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^pip==' | LC_ALL=C sort -f > requirements.lock
	python3 tools/write_environment_yml.py
	rm -rf .lock-venv

clean:
	rm -rf data/processed data/release figures/*.svg figures/*.png figures/*.txt notebooks/executed report/report.pdf report/report.html report/_build .snakemake
