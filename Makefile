# Two entry points: `make demo` and `make test`. Both install whatever is missing first.
# Works on a fresh Debian 12 machine with Python 3.11 (run as root, or with sudo for apt).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
CORES ?= 2
STAMP := $(VENV)/.gep-installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test install system-deps postgres-deps lint bench clean-results

demo: install
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config/config.yaml
	@echo "Report: results/demo/report/index.html"

test: install browser-deps postgres-deps
	$(VENV)/bin/pytest -q -p no:cacheprovider

install: $(STAMP)

system-deps:
	@command -v gdal-config >/dev/null && command -v g++ >/dev/null || \
	  ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends libgdal-dev gdal-bin g++)

# PostgreSQL 15 (Debian 12) for the operations tests' throwaway clusters (tests/pg.py)
postgres-deps:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends postgresql)

browser-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium chromium-driver)

# natcap.invest has no Linux wheel: its build and pygeoprocessing's need gdal-config, GDAL's
# bindings must match the system library and see numpy at build time, and pygeoprocessing does
# not compile with Cython >= 3.2. See README "Installation details".
$(STAMP): pyproject.toml | system-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade "pip>=25.3" setuptools wheel "numpy>=2,<2.4"
	V=$$(gdal-config --version); \
	  $(PY) -c "import osgeo.gdal_array, osgeo; assert osgeo.__version__ == '$$V'" 2>/dev/null || \
	  $(PIP) install --no-build-isolation "gdal==$$V"; \
	  printf "cython<3.2\ngdal==%s\n" "$$V" > $(VENV)/build-constraints.txt
	$(PIP) install --build-constraint $(VENV)/build-constraints.txt -e ".[dev]"
	touch $(STAMP)

lint: install
	$(VENV)/bin/snakemake --lint --configfile config/config.yaml

bench: install
	$(PY) benchmarks/bench_batch.py --sizes 200 1000
	$(PY) benchmarks/bench_monitoring.py
	$(PY) benchmarks/bench_ledger.py
	$(PY) benchmarks/bench_operations.py --db sqlite postgresql
	test ! -f benchmarks/bench_tuning.py || $(PY) benchmarks/bench_tuning.py

clean-results:
	rm -rf results/
