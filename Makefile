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
# the rules call `gep` from the PATH: the venv's bin first, as `source .venv/bin/activate` does
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: demo test test-cluster install system-deps browser-deps fonts-deps db-deps lint bench clean-results

# gep run: Snakemake's state under results/demo/, and a re-run after a crash recovers itself.
demo: install fonts-deps
	$(PY) -m gep run --config config/config.yaml --cores $(CORES)
	@echo "Report: results/demo/report/index.html"

test: install browser-deps fonts-deps db-deps
	$(VENV)/bin/pytest -q -p no:cacheprovider

install: $(STAMP)

# The demo through Snakemake's SLURM executor on a one-node Slurm started on this machine
# (installs Debian's slurm-wlm and munge when missing; needs root or sudo). See README
# "Running on a cluster".
SLURM_STAMP := $(VENV)/.gep-slurm-installed
test-cluster: install $(SLURM_STAMP)
	tests/cluster/slurm.sh $(VENV)/bin/pytest -q -p no:cacheprovider -m cluster tests/cluster

$(SLURM_STAMP): pyproject.toml | $(STAMP)
	$(PIP) install --build-constraint $(VENV)/build-constraints.txt -e ".[dev,slurm]"
	touch $(SLURM_STAMP)

system-deps:
	@command -v gdal-config >/dev/null && command -v g++ >/dev/null || \
	  ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends libgdal-dev gdal-bin g++)

# Chinese text in charts and PDFs (Noto Sans CJK), and Pango for WeasyPrint (the committee's
# papers and report.pdf).
# libharfbuzz-subset0: WeasyPrint subsets the 20 MB Noto CJK faces with HarfBuzz when it is
# there (0.09 CPU s per paper) and with fontTools otherwise (3.8 s): 85 papers in the demo
fonts-deps:
	@dpkg -s fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends \
	    fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)

browser-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium chromium-driver)

# PostgreSQL server binaries for the portal's tests (each test session starts its own throwaway
# cluster from /usr/lib/postgresql/<version>/bin, whatever the version).
db-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends postgresql)

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
	$(PY) benchmarks/machine_speed.py
	$(PY) benchmarks/bench_batch.py --sizes 200 1000
	$(PY) benchmarks/bench_monitoring.py
	$(PY) benchmarks/bench_ledger.py
	$(PY) benchmarks/bench_fieldtools.py --cog-size 4000 --invest-size 500
	$(PY) benchmarks/bench_operations.py --db sqlite postgresql
	test ! -f benchmarks/bench_tuning.py || $(PY) benchmarks/bench_tuning.py
	test ! -f results/demo/committee/execution.csv || $(PY) benchmarks/bench_committee.py --config config/config.yaml
	$(PY) benchmarks/bench_rules.py --sizes 200 1000
	$(PY) benchmarks/bench_demo.py --size 300 --cores $(CORES)
	$(PY) benchmarks/scaling_estimate.py
	$(PY) benchmarks/bench_portal.py

clean-results:
	rm -rf results/
