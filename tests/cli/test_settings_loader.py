"""One YAML-to-model loader (gep.io.load_settings) behind every settings file.

Each loader is given the same broken files; each must answer with one ConfigError that names
the file, the key and a fix, its own example file in the fix, and never a traceback.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from gep.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _config(p):
    from gep.config import load_config

    return load_config(p)


def _monitoring(p):
    from gep.monitoring.settings import load_settings

    return load_settings(p)


def _tuning(p):
    from gep.tuning.settings import load_tuning

    return load_tuning(p, Path(p).parent)


def _rules(p):
    from gep.rating.rules import load_rules

    return load_rules(p)


def _agreement(p):
    from gep.compensation.agreement import load_agreement

    return load_agreement(p)


def _operations(p):
    from gep.operations.settings import load_operations

    return load_operations(p)


def _portal(p):
    from gep.portal.settings import load_settings

    return load_settings(p)


# loader, its example file (named in fixes), a valid file to start from
LOADERS = {
    "config": (_config, "config/config.yaml", "config/config.yaml"),
    "monitoring": (_monitoring, "config/monitoring.yaml", "config/monitoring.yaml"),
    "tuning": (_tuning, "config/tuning.yaml", "config/tuning.yaml"),
    "rules": (_rules, "config/star_rating.yaml", "config/star_rating.yaml"),
    "agreement": (_agreement, "config/agreement.yaml", "config/agreement.yaml"),
    "operations": (_operations, "config/operations.yaml", "config/operations.yaml"),
    "portal": (_portal, "config/portal.yaml", "config/portal.yaml"),
}


def _copy(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _one_line(exc: ConfigError, path: Path) -> str:
    msg = str(exc)
    assert "\n" not in msg and msg.startswith(str(path)) and ". Fix: " in msg, msg
    return msg


@pytest.mark.parametrize("name", LOADERS)
def test_the_example_loads(name):
    load, _, example = LOADERS[name]
    assert load(REPO / example) is not None


@pytest.mark.parametrize("name", LOADERS)
def test_an_unknown_key_names_the_key_and_the_example(name, tmp_path):
    load, example, src = LOADERS[name]
    text = (REPO / src).read_text(encoding="utf-8") + "\nno_such_key_xyz: 1\n"
    path = _copy(tmp_path, Path(src).name, text)
    with pytest.raises(ConfigError) as ei:
        load(path)
    assert ei.value.key == "no_such_key_xyz"
    msg = _one_line(ei.value, path)
    assert f"check its spelling against {example}" in msg


@pytest.mark.parametrize("name", LOADERS)
def test_a_list_instead_of_a_mapping(name, tmp_path):
    load, example, src = LOADERS[name]
    path = _copy(tmp_path, Path(src).name, "- a\n- b\n")
    with pytest.raises(ConfigError) as ei:
        load(path)
    assert ei.value.key == "(top level)"
    assert f"start from {example}" in _one_line(ei.value, path)


@pytest.mark.parametrize("name", LOADERS)
def test_a_duplicate_key_is_refused(name, tmp_path):
    load, _, src = LOADERS[name]
    text = (REPO / src).read_text(encoding="utf-8")
    first = next(line for line in text.splitlines() if line and line[0].isalpha()
                 and ":" in line)
    path = _copy(tmp_path, Path(src).name, text + "\n" + first + "\n")
    with pytest.raises(ConfigError) as ei:
        load(path)
    assert ei.value.key == first.split(":")[0]
    assert "duplicate key" in _one_line(ei.value, path)


@pytest.mark.parametrize("name", LOADERS)
def test_bad_utf8_and_bad_yaml(name, tmp_path):
    load, _, src = LOADERS[name]
    path = _copy(tmp_path, Path(src).name, "note: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as ei:
        load(path)
    assert ei.value.key == "(encoding)"
    _one_line(ei.value, path)
    path = _copy(tmp_path, Path(src).name, "a: [1, 2\n")
    with pytest.raises(ConfigError) as ei:
        load(path)
    assert ei.value.key == "(syntax)"
    _one_line(ei.value, path)


@pytest.mark.parametrize("name", [n for n in LOADERS if n != "operations"])
def test_a_missing_file_names_it(name, tmp_path):
    """(operations.yaml is optional: a missing one means the defaults)"""
    load, _, _ = LOADERS[name]
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as ei:
        load(path)
    assert str(path) in str(ei.value) and "does not exist" in str(ei.value)
    assert "Fix: " in str(ei.value)


def test_a_check_of_the_whole_file_is_reported_under_its_key(tmp_path):
    """A model validator that names its key ("reward.rate: ...") gets that key."""
    from pydantic import BaseModel, model_validator

    from gep.io import load_settings

    class M(BaseModel):
        a: int = 1

        @model_validator(mode="after")
        def _check(self):
            raise ValueError("a.b: is wrong")

    path = _copy(tmp_path, "m.yaml", "a: 2\n")
    with pytest.raises(ConfigError) as ei:
        load_settings(path, M, what="m file", example="m.yaml", doc="see docs/m.md")
    assert ei.value.key == "a.b" and ei.value.problem == "is wrong"
    assert ei.value.fix == "see docs/m.md"
