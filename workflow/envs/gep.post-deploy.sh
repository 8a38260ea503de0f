#!/usr/bin/env bash
# Snakemake runs this inside the new conda environment of gep.yaml (--sdm conda): install gep
# itself, without dependencies (the environment has them), from the checkout the workflow runs
# from. GEP_SOURCE is set by workflow/rules/common.smk; editable, so the environment follows
# the checkout's code.
set -euo pipefail
python -m pip install --no-deps --no-build-isolation -e "${GEP_SOURCE:?run through the gep workflow}"
