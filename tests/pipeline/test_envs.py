"""The conda environment of the rules (`--sdm conda`) and environment.yml stay in step with
pyproject.toml's dependencies, so a conda-built node runs every rule (no conda is needed:
conda is on neither PyPI nor Debian, so these are the checks this machine can make)."""
from __future__ import annotations

import os
import re
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

TOOLCHAIN = {"python", "pip", "setuptools", "wheel", "gdal"}   # not Python deps of gep


def pyproject_deps(repo) -> dict[str, SpecifierSet]:
    data = tomllib.loads((repo / "pyproject.toml").read_text())
    return {canonicalize_name(r.name): r.specifier
            for r in map(Requirement, data["project"]["dependencies"])}


def conda_deps(path) -> dict[str, SpecifierSet]:
    """conda match specs -> name and pip-style specifier (`=X` means `==X`)."""
    out = {}
    for d in yaml.safe_load(path.read_text())["dependencies"]:
        if not isinstance(d, str):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", d.strip())
        name, spec = m.group(1), m.group(2).replace(" ", "")
        if re.fullmatch(r"=[^=<>!].*", spec):
            spec = "=" + spec
        out[canonicalize_name(name)] = SpecifierSet(spec)
    return out


def test_rule_environment_lists_exactly_gep_dependencies(repo):
    want = pyproject_deps(repo)
    env = conda_deps(repo / "workflow" / "envs" / "gep.yaml")
    missing = sorted(set(want) - set(env))
    assert not missing, f"workflow/envs/gep.yaml lacks {missing}"
    extra = sorted(set(env) - set(want) - TOOLCHAIN)
    assert not extra, f"workflow/envs/gep.yaml has {extra}, which pyproject.toml does not"
    for name, spec in want.items():
        assert env[name] == spec, f"{name}: gep.yaml {env[name]} vs pyproject {spec}"


def test_environment_yml_mirrors_pyproject(repo):
    data = tomllib.loads((repo / "pyproject.toml").read_text())
    env = conda_deps(repo / "environment.yml")
    reqs = list(map(Requirement, data["project"]["dependencies"]))
    for extra in data["project"]["optional-dependencies"].values():
        reqs += map(Requirement, extra)
    for r in reqs:
        name = canonicalize_name(r.name)
        assert name in env, f"environment.yml lacks {r.name}"
        assert env[name] == r.specifier, f"{r.name}: environment.yml {env[name]} vs {r}"


def test_post_deploy_installs_gep_into_the_rule_environment(repo):
    script = repo / "workflow" / "envs" / "gep.post-deploy.sh"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert re.search(r"pip install --no-deps .*-e \"\$\{GEP_SOURCE", text)
    # every rule with a conda environment uses this one, and calls gep from the PATH
    for smk in (repo / "workflow" / "rules").glob("*.smk"):
        src = smk.read_text()
        assert "sys.executable" not in src.replace("# ", "")
        for block in re.split(r"\nrule ", src)[1:]:
            assert re.search(r"\n    conda:\n        ENV\n", block), (smk.name, block[:60])
    common = (repo / "workflow" / "rules" / "common.smk").read_text()
    assert re.search(r'^GEP = os\.environ\.get\("GEP_COMMAND", "gep"\)$', common, re.M)
    assert re.search(r'^ENV = "\.\./envs/gep\.yaml"$', common, re.M)
