"""The monitoring configuration: shipped values, and errors that name the key and the fix."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from gep.errors import ConfigError
from gep.monitoring.settings import load_settings

from .helpers import CONFIG


def test_shipped_config_has_gb3838_limits_from_the_domain_notes():
    s = load_settings(CONFIG)
    # class II / III limits, GB 3838-2002 Table 1 (as gathered in shared/notes/domain.md)
    expect = {"codmn": (4, 6), "nh3n": (0.5, 1.0), "tp": (0.1, 0.2), "tn": (0.5, 1.0),
              "do": (6, 5)}
    for ind, (ii, iii) in expect.items():
        std = s.indicators[ind].standard
        assert (std.limits["II"], std.limits["III"]) == (ii, iii), ind
    assert s.indicators["do"].standard.kind == "min"
    assert s.indicators["ph"].standard.limits["III"] == (6.0, 9.0)
    assert "GB 3838-2002" in s.standard["source"]
    assert s.target_class.of("boundary") == "II" and s.target_class.of("elsewhere") == "III"


def _write(tmp_path, mutate) -> str:
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("mutate, key, fragment", [
    (lambda d: d["indicators"]["codmn"]["gross_range"].update(operator=[0, 80]),
     "indicators.codmn.gross_range", "must lie inside the sensor span"),
    (lambda d: d["dispatch"].update(pace=[[0, 0.5], [0.5, 0.2], [1, 1]]),
     "dispatch.pace", "never decrease"),
    (lambda d: d["index"]["weights"].update(cod=0.1),
     "index.weights.cod", "index.weights.cod: not an indicator"),
    (lambda d: d["indicators"]["tp"].update(unit="mg/m3"),
     "(top level)", "is not a canonical unit"),
    (lambda d: d["indicators"]["nh3n"]["standard"]["limits"].update(III=0.4),
     "indicators.nh3n.standard", "get worse from I to V"),
    (lambda d: d.update(timezone="China/Beijing"), "timezone", "not an IANA time zone"),
    (lambda d: d["responsibility"]["defaults"].update(
        redline_natural_cover={"min_km2": 3, "min_share": 0.5}),
     "responsibility.defaults.redline_natural_cover", "exactly one of min_km2 or min_share"),
])
def test_bad_config_names_key_and_fix(tmp_path, mutate, key, fragment):
    path = _write(tmp_path, mutate)
    with pytest.raises(ConfigError) as ei:
        load_settings(path)
    assert ei.value.key == key
    assert fragment in str(ei.value)
    assert str(ei.value).startswith(path) and "Fix:" in str(ei.value)


def test_party_targets_override_defaults(tmp_path):
    path = _write(tmp_path, lambda d: d["responsibility"].update(
        defaults={"water_quality_compliance_rate": 0.8, "flow_compliance_rate": 0.9},
        parties={"a": {"flow_compliance_rate": 0.5}, "b": {}}))
    r = load_settings(path).responsibility
    assert r.targets("a").flow_compliance_rate == 0.5
    assert r.targets("a").water_quality_compliance_rate == 0.8
    assert r.targets("b").flow_compliance_rate == 0.9


def test_import_is_light():
    code = ("import sys, gep.monitoring, gep.monitoring.cli; "
            "heavy = [m for m in ('ioos_qc', 'rasterio', 'matplotlib', 'pyarrow', 'geopandas',"
            " 'scipy', 'xarray') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
