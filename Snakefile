# gep: satellite data -> GEP per party -> ecological compensation -> dispatch -> public ledger.
# All logic lives in the `gep` package (src/gep); rules only call its command line.
#   snakemake --cores 2                          # the demo basin (config/config.yaml)
#   snakemake --cores 8 --configfile my.yaml     # another basin
#   snakemake --report results/report.zip        # Snakemake's own report
import os

from snakemake.utils import min_version

min_version("9.0")


# The demo's config only when none is given: Snakemake would otherwise load it after the
# user's --configfile, merge its keys into the user's config and make it "the" config file
# (whose folder every relative path in the config is resolved against).
if not workflow.overwrite_configfiles:

    configfile: os.path.join(workflow.basedir, "config", "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/acquire.smk"
include: "workflow/rules/invest.smk"
include: "workflow/rules/gep.smk"
include: "workflow/rules/compensation.smk"
include: "workflow/rules/monitoring.smk"
include: "workflow/rules/ledger.smk"
include: "workflow/rules/rating.smk"
include: "workflow/rules/committee.smk"
include: "workflow/rules/portal.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/gis.smk"
include: "workflow/rules/tuning.smk"


rule all:
    input:
        final_outputs(),
        committee_outputs(),
    default_target: True
