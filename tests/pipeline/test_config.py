"""Configuration: defaults load, errors name the key and the fix, the schema stays in step."""
from __future__ import annotations

import json

import pytest
import yaml

from gep.config import Config, json_schema, load_config
from gep.errors import ConfigError


def test_default_config_loads(repo):
    cfg = load_config(repo / "config" / "config.yaml")
    assert cfg.basin == "demo" and cfg.source == "demo"
    assert cfg.years == [2020, 2021, 2022, 2023, 2024]
    # paths resolve relative to the config file, not the working directory
    assert cfg.path(cfg.valuation.prices) == (repo / "config" / "prices.yaml")
    assert cfg.out == (repo / "results" / "demo").resolve()


@pytest.mark.parametrize("override, key, fragment", [
    ({"sources": "demo"}, "sources", "remove it or check its spelling"),
    ({"source": "ftp"}, "source", "use one of the allowed values"),
    ({"years": [2021, 2020]}, "years", "strictly increasing"),
    ({"grid": {"crs": "EPSG:4326"}}, "grid.crs", "geographic"),
    ({"models": {"annual_water_yield": {"seasonality_constant": 45}}},
     "models.annual_water_yield.seasonality_constant", "less than or equal to 30"),
    ({"source": "local"}, "parties", "needs 'parties"),
])
def test_bad_config_names_key(config_factory, override, key, fragment):
    path = config_factory(**override)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert exc.value.key == key
    assert fragment in str(exc.value)
    assert str(path) in str(exc.value)


def test_missing_required_key(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"basin": "x"}))
    with pytest.raises(ConfigError, match=r"years: Field required\. Fix: add this key"):
        load_config(p)


def test_schema_file_in_step_with_models(repo):
    """workflow/schemas/config.schema.json is generated from gep.config; regenerate it with
    `gep validate-config --write-schema workflow/schemas/config.schema.json`."""
    on_disk = json.loads((repo / "workflow" / "schemas" / "config.schema.json").read_text())
    assert on_disk == json.loads(json.dumps(json_schema()))


def test_schema_accepts_default_and_rejects_typo(repo):
    import jsonschema

    data = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    jsonschema.validate(data, json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data | {"yeras": [2020]}, json_schema())


def test_config_is_immutable(repo):
    cfg = load_config(repo / "config" / "config.yaml")
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="frozen"):
        cfg.basin = "other"
    assert isinstance(cfg, Config)
