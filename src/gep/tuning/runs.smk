# The InVEST runs of a tuning study (sweep, sensitivity, calibration) as Snakemake jobs, so they
# fan out on whatever executor the pipeline uses (local cores, Slurm, ...). Run by
# gep.tuning.executor.SnakemakeRunner with --directory <results>/<basin>/tuning/cache and
# --config tasks=<a JSON file>: {workspace (relative): {"task": task file, "mem_mb": MB,
# "runtime": minutes}}. Each job runs `gep tuning-run TASK` (one InVEST model for one year with
# the study's parameters) into its content-addressed workspace, replaced atomically.
import json


with open(config["tasks"], encoding="utf-8") as _fh:
    TASKS = json.load(_fh)


rule all:
    input:
        list(TASKS),
    default_target: True


rule tuning_invest:
    input:
        lambda wc: TASKS[f"invest/{wc.year}/{wc.model}/{wc.key}"]["task"],
    output:
        directory("invest/{year}/{model}/{key}"),
    wildcard_constraints:
        year=r"\d{4}",
        model=r"[a-z_]+",
        key=r"[0-9a-f]+",
    threads: 1
    resources:
        mem_mb=lambda wc: TASKS[f"invest/{wc.year}/{wc.model}/{wc.key}"]["mem_mb"],
        runtime=lambda wc: TASKS[f"invest/{wc.year}/{wc.model}/{wc.key}"]["runtime"],
    log:
        "logs/{year}/{model}/{key}.log",
    shell:
        "gep tuning-run {input:q} --workers {threads} > {log:q} 2>&1"
