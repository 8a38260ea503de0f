"""Issue 17: a job's InVEST start-up imports less, and writes the same files.

- the parameter set ``<model>.invs.json`` is written by gep, not through
  ``natcap.invest.datastack`` (whose import pulls in every InVEST model): byte for byte what
  ``datastack.build_parameter_set`` writes;
- InVEST's report modules are imported only when a report is made
  (:mod:`gep.models.lazy_reporters`); once loaded they are InVEST's own module.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest


def _fresh(code: str) -> dict:
    """Run ``code`` in a fresh interpreter (imports are per process); it prints one JSON."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _args(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (tmp_path / "inputs").mkdir()
    lulc = tmp_path / "inputs" / "landcover.tif"
    lulc.write_bytes(b"x")
    table = tmp_path / "tables" / "bio.csv"
    table.parent.mkdir()
    table.write_text("lucode\n1\n")
    return ws, {
        "workspace_dir": str(ws),
        "results_suffix": "",
        "n_workers": -1,
        "lulc_path": str(lulc),
        "biophysical_table_path": str(table) + "/../bio.csv",   # normalised
        "watersheds_path": str(tmp_path / "missing.gpkg"),     # not there: kept as given
        "threshold_flow_accumulation": 1000,
        "k_param": 2.0,
        "calc_n": True,
        "nested": {"a": [str(lulc), "plain text", 3]},
        "flow_dir_algorithm": "MFD",
    }


def test_parameter_set_is_byte_for_byte_datastacks(tmp_path):
    from natcap.invest import datastack

    from gep.invest import write_parameter_set

    ws, args = _args(tmp_path)
    ours, theirs = ws / "ours.invs.json", ws / "theirs.invs.json"
    got = write_parameter_set(args, "sdr", ours)
    want = datastack.build_parameter_set(args, "sdr", str(theirs), relative=True)
    assert got == want
    assert ours.read_bytes() == theirs.read_bytes()
    data = json.loads(ours.read_text())
    assert data["args"]["workspace_dir"] == "."
    assert data["args"]["lulc_path"] == "../inputs/landcover.tif"
    assert data["args"]["watersheds_path"] == str(tmp_path / "missing.gpkg")
    # and InVEST reads it back to the same arguments
    back = datastack.extract_parameter_set(str(ours))
    assert back.model_id == "sdr"
    assert back.args["lulc_path"] == args["lulc_path"]


def test_run_model_does_not_import_every_invest_model():
    """`gep invest`'s imports: the model's own module, not natcap.invest.models (which
    imports all ~20 InVEST models) nor the report stack while no report is made."""
    got = _fresh("""
        import json, sys
        from gep import models
        m = models.get("sdr").invest_module()
        from gep import invest
        print(json.dumps({
            "models": "natcap.invest.models" in sys.modules,
            "datastack": "natcap.invest.datastack" in sys.modules,
            "reports": "natcap.invest.reports" in sys.modules,
            "pyplot": "matplotlib.pyplot" in sys.modules,
            "altair": "altair" in sys.modules,
            "reporter": "natcap.invest.sdr.reporter" in sys.modules,
            "has_report": hasattr(sys.modules["natcap.invest.sdr.reporter"], "report"),
            "spec_reporter": m.MODEL_SPEC.reporter,
        }))
    """)
    assert got == {"models": False, "datastack": False, "reports": False, "pyplot": False,
                   "altair": False, "reporter": True, "has_report": True,
                   "spec_reporter": "natcap.invest.sdr.reporter"}


@pytest.mark.parametrize("how", ["load", "attribute", "call"])
def test_lazy_reporter_becomes_investss_own_module(how):
    """However the real code is reached (gep's load, any attribute, a call of ``report``),
    the module then holds exactly the names the reporter's source defines, its ``report`` is
    the source's function, and InVEST's report stack is imported."""
    got = _fresh(f"""
        import ast, importlib.util, json, sys
        from gep.models import lazy_reporters
        lazy_reporters.install()
        import natcap.invest.annual_water_yield
        name = "natcap.invest.annual_water_yield.reporter"
        mod = sys.modules[name]
        pending = lazy_reporters.pending(name)
        how = {how!r}
        if how == "load":
            lazy_reporters.load(name)
        elif how == "attribute":
            mod.__dict__.get("LOGGER") or getattr(mod, "report_constants", None) or mod.os
        else:
            try:
                mod.report(None, None, None, None)   # real code runs, then refuses the Nones
            except Exception:
                pass
        origin = importlib.util.find_spec(name).origin
        tree = ast.parse(open(origin).read())
        defined = {{n.name for n in tree.body if isinstance(n, ast.FunctionDef)}}
        print(json.dumps({{
            "pending_before": pending,
            "pending_after": lazy_reporters.pending(name),
            "same_object": sys.modules[name] is mod,
            "report_file": mod.report.__code__.co_filename == origin,
            "functions_defined": sorted(defined - set(dir(mod))),
            "reports": "natcap.invest.reports" in sys.modules,
        }}))
    """)
    assert got == {"pending_before": True, "pending_after": False, "same_object": True,
                   "report_file": True, "functions_defined": [], "reports": True}


def test_only_reporters_are_served_lazily():
    from gep.models.lazy_reporters import is_reporter

    assert is_reporter("natcap.invest.sdr.reporter")
    assert is_reporter("natcap.invest.annual_water_yield.reporter")
    assert not is_reporter("natcap.invest.reports")
    assert not is_reporter("natcap.invest.sdr.sdr")
    assert not is_reporter("natcap.invest.reports.sdr_ndr_report_generator")
    assert not is_reporter("other.package.reporter")


@pytest.fixture(scope="module")
def carbon_inputs(tmp_path_factory, config_copy):
    """A 32 x 32 demo basin's inputs for 2020 with carbon enabled."""
    from gep import acquire
    from gep.config import load_config
    from gep.paths import Paths

    tmp = tmp_path_factory.mktemp("speed")
    path = config_copy(tmp, demo={"rows": 32, "cols": 32}, years=[2020],
                       models={"carbon": {"enabled": True}})
    cfg = load_config(path)
    acquire.acquire_static(cfg)
    acquire.acquire_parties(cfg)
    acquire.acquire_year(cfg, 2020)
    return cfg, Paths(cfg)


def _registry_rasters(ws):
    from osgeo import gdal

    out = {}
    for value in json.loads((ws / "file_registry.json").read_text()).values():
        if isinstance(value, str) and value.endswith(".tif"):
            rel = str(value).split(str(ws) + "/", 1)[-1]
            out[rel] = gdal.Open(str(ws / rel)).ReadAsArray()
    return out


def test_workers_are_passed_on_and_change_no_pixel(carbon_inputs, tmp_path):
    """``n_workers`` from the parameters reaches InVEST (every model, not only water yield)
    and the rasters are the same with and without taskgraph's worker processes; gep_run.json
    records the run's CPU seconds and peak memory."""
    from gep.invest import model_params, run_model

    cfg, p = carbon_inputs
    got = {}
    for workers in (-1, 1):
        params = model_params(cfg, "carbon") | {"n_workers": workers}
        ws = run_model("carbon", p.year_dir(2020), params, tmp_path / str(workers), 2020,
                       report=False)
        rec = json.loads((ws / "gep_run.json").read_text())
        assert rec["args"]["n_workers"] == workers
        assert rec["execute_cpu_seconds"] > 0 and rec["peak_rss_mb"] > 10
        assert rec["report"] is False and rec["dem_products"] is None
        assert not list(ws.glob("*_report.html"))
        got[workers] = _registry_rasters(ws)
    assert got[-1] and sorted(got[-1]) == sorted(got[1])
    for name, a in got[-1].items():
        assert np.array_equal(a, got[1][name], equal_nan=True), name


def test_ndr_never_gets_worker_processes(carbon_inputs, tmp_path):
    """NDR with taskgraph workers crashes a worker and hangs (see base.NO_WORKERS): its args
    keep n_workers -1 whatever the job's cores; other models take the cores they are given."""
    from gep import models
    from gep.invest import model_params

    cfg, p = carbon_inputs
    for model_id, want in (("ndr", -1), ("sdr", 2), ("habitat_quality", 2)):
        params = model_params(cfg, model_id) | {"n_workers": 2}
        args = models.get(model_id).build_args(p.year_dir(2020), params, tmp_path, 2020)
        assert args["n_workers"] == want, model_id
