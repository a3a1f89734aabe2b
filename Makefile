# Two commands do all the set-up on a fresh machine (Python 3.11+, Java 17):
#   make demo   -- virtualenv + parzen with what the demo needs ([spark,plots]) + the seed example on local Spark
#   make test   -- the same virtualenv with the test tools too, then the whole test suite
#   make dist   -- the wheel and sdist in dist/, checked (metadata, licence, contents)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: demo test test-fast test-min test-spark35 test-ray bench bench-quick lint docs dist check-python check-java chromium clean

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || { \
	  echo "parzen needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)."; \
	  echo "Run: make PYTHON=python3.11 ..."; exit 1; }

check-java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "Java is missing: Spark needs Java 17 (or 11/21)."; \
	  echo "Install it with: sudo apt-get install -y openjdk-17-jre-headless   (Debian/Ubuntu)"; \
	  echo "             or: brew install openjdk@17                           (macOS)"; \
	  echo "and make sure 'java' is on PATH (or set JAVA_HOME)."; exit 1; }

$(STAMP): pyproject.toml | check-python
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[spark,test,plots]'
	touch $(STAMP) $(DEMO_STAMP)

# The demo needs Spark and the plots only (about 25 packages, not the test tools).
$(DEMO_STAMP): pyproject.toml | check-python
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[spark,plots]'
	touch $(DEMO_STAMP)

# The report and dashboard tests open pages in Debian's chromium (driven by playwright
# from PyPI; nothing is downloaded besides the two packages). Installed once, if missing.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "installing chromium (apt-get) for the browser tests of the report and dashboard"; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; \
	else echo "NOTE: /usr/bin/chromium is missing and apt-get is unavailable: the browser tests will be skipped"; fi

demo: check-java $(DEMO_STAMP)
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) examples/seed_example.py --report demo-report.html

test: check-java $(STAMP) chromium
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) -m pytest -q -ra $(PYTEST_ARGS)

test-fast: $(STAMP) chromium
	$(PY) -m pytest -q -m "not spark and not slow" $(PYTEST_ARGS)

# ParzenSearch against a real Ray Tune. Ray is not in the test extra (about 280 MB and 30-60 s
# to install on top of it), so its tests skip in `make test`; this target installs it and runs them.
test-ray: $(STAMP)
	$(PY) -m pip install --quiet -e '.[ray]'
	PARZEN_TEST_RAY=1 $(PY) -m pytest -q -p no:cacheprovider tests/integration/test_ray_search.py $(PYTEST_ARGS)

bench: check-java $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) benchmarks/run_all.py

# The wheel and sdist, built in an isolated environment and checked: twine's metadata check and
# .ci/check_dist.py (every module, py.typed, the licence, the version; no tests or benchmarks inside).
dist: $(STAMP)
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*
	$(PY) .ci/check_dist.py dist

# The speed guard (a few minutes; not a test: tests never assert on wall time): parzen against the
# raw-Spark floor (local[4] and a loopback standalone cluster) and TPE's loop against hyperopt and
# optuna, each ratio printed beside the one recorded in docs/benchmarks.md. RECORD=1 records this run.
bench-quick: check-java $(STAMP)
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) benchmarks/bench_quick.py $(if $(RECORD),--record)

$(DOCS_STAMP): pyproject.toml | $(STAMP)
	$(PY) -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

# The documentation site (mkdocs.yml, pages in docs/) into site/: every public name has a docstring and
# every parameter an Args entry (docs/check_api.py), the pages' examples that need no Spark run
# (tests/test_docs.py; `make test` runs the Spark ones too), then a strict build: a broken link, a page
# outside the nav or a docstring griffe cannot read fails it. Offline: no fonts or scripts are fetched.
docs: $(STAMP) $(DOCS_STAMP)
	$(PY) docs/check_api.py
	$(PY) -m pytest -q -p no:cacheprovider -m "not spark" tests/test_docs.py $(PYTEST_ARGS)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

# ruff (lint and format) and mypy on src/: what .ci/run checks before the tests.
lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks examples docs/check_api.py
	$(PY) -m ruff format --check src tests benchmarks examples docs/check_api.py
	$(PY) -m mypy

# The fast suite on the declared minimum versions of numpy, scipy, cloudpickle, tqdm and
# pyspark (.ci/minimum-versions.txt), in a virtualenv of its own.
MIN_VENV ?= .venv-min
test-min: check-python
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MIN_VENV)/bin/python -m pip install --quiet -c .ci/minimum-versions.txt -e '.[spark,test,plots]'
	$(MIN_VENV)/bin/python -m pip list 2>/dev/null | grep -iE '^(numpy|scipy|cloudpickle|tqdm|pyspark|pyarrow) '
	$(MIN_VENV)/bin/python -m pytest -q -m "not spark and not slow" $(PYTEST_ARGS)

# The Spark suite (classic, Connect, standalone, reliability) on pyspark 3.5.x, the Spark of
# Databricks 14.3-16.4 LTS, in a virtualenv of its own; `make test` runs it on the newest 4.x.
# pip's pyspark 3.5 has no Spark Connect server: the Connect tests skip, saying so.
SPARK35_VENV ?= .venv-spark35
test-spark35: check-java check-python
	$(PYTHON) -m venv $(SPARK35_VENV)
	$(SPARK35_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SPARK35_VENV)/bin/python -m pip install --quiet -c .ci/spark35-constraints.txt -e '.[spark,test,plots]'
	$(SPARK35_VENV)/bin/python -m pip list 2>/dev/null | grep -iE '^(pyspark|numpy|pandas|pyarrow) '
	PYSPARK_PYTHON=$(abspath $(SPARK35_VENV)/bin/python) $(SPARK35_VENV)/bin/python -m pytest -q -ra -m spark $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(MIN_VENV) $(SPARK35_VENV) build dist site src/*.egg-info .pytest_cache demo-report.html
