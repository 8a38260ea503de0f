"""Issue 14 items 5, 6, 9 and 10 on the 64 x 64 demo, two years, run twice with ``gep run``:

* once from a folder whose name holds a space and Chinese characters, with a config file that
  is not config/config.yaml (relative paths resolve against its own folder, the demo config is
  not merged in, every path in the rules is quoted, nothing is written outside its results);
* once from a plain folder; both must publish byte-identical files and the same ledger root
  (no run times, machine paths or file timestamps in anything published).
"""
from __future__ import annotations

import hashlib
import os

import pytest
import yaml

from .run_helpers import basin_folder, gep_run, published

pytestmark = pytest.mark.slow


def _tree(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    # Both configs leave out habitat_quality.half_saturation_constant: the demo config's 0.35
    # must not leak in (Snakemake used to merge config/config.yaml under the user's file).
    runs = {}
    keys = tmp_path_factory.mktemp("keys")  # one installation's keys: same signer, same secret
    for name, folder, file_name in (("spaced", "流域 数据", "my_basin.yaml"),
                                    ("plain", "cfg", "config.yaml")):
        root = tmp_path_factory.mktemp(name)
        cfg = basin_folder(root / folder, file_name, rows=64, keys=keys)
        data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
        del data["models"]["habitat_quality"]["half_saturation_constant"]
        cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        before = _tree(root)
        r = gep_run(cfg, cwd=root)
        runs[name] = dict(root=root, cfg=cfg, result=r, before=before,
                          out=cfg.parent / "results" / "demo")
    return runs


def test_both_runs_succeed(two_runs):
    for run in two_runs.values():
        r = run["result"]
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


def test_paths_resolve_against_the_users_config_file(two_runs):
    run = two_runs["spaced"]
    eff = yaml.safe_load((run["out"] / "config.effective.yaml").read_text(encoding="utf-8"))
    assert eff["config_dir"] == str(run["cfg"].parent.resolve())
    # the key left out keeps the model default, not the demo config's value
    assert eff["models"]["habitat_quality"]["half_saturation_constant"] == 0.05


def test_nothing_written_outside_the_results_folder(two_runs):
    for run in two_runs.values():
        after = _tree(run["root"])
        results = os.path.relpath(run["out"].parent, run["root"]) + os.sep
        keys = "keys" + os.sep  # ledger.key_dir ../keys: the signing key, kept out of results
        outside = {k: v for k, v in after.items()
                   if not k.startswith(results) and not k.startswith(keys)}
        assert outside == run["before"], sorted(set(outside) ^ set(run["before"]))


def test_snakemake_state_lives_in_the_results_folder(two_runs):
    for run in two_runs.values():
        state = run["out"] / ".snakemake"
        assert state.is_dir() and (state / "log").is_dir()
        locks = state / "locks"
        assert not locks.exists() or not any(locks.iterdir())  # released on a clean exit


def test_identical_inputs_publish_identical_bytes(two_runs):
    a = published(two_runs["spaced"]["out"])
    b = published(two_runs["plain"]["out"])
    different = [k for k in a if a[k] != b[k]]
    assert not different, different
    # the report records the models' versions but no run time
    html = a["report/index.html"].decode("utf-8")
    assert "execute (s)" not in html and "natcap.invest" in html
