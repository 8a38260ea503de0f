"""Pre-flight checks: every file a run will read, before anything runs.

``check_run_inputs(cfg, config_file)`` is what ``gep validate-config`` and ``gep run`` call
after the config itself validated. It raises the first problem as a
:class:`gep.errors.GepError` (one line naming the file, the key or field, and the fix): a
missing or unreadable file, a table without its required columns, a parameter table that
misses a land-cover code of the legend (or of the acquired land-cover rasters), an agreement,
monitoring settings or price file that does not parse. It returns what it checked, for the
``OK`` line.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from gep.config import WORLDCOVER_CLASSES, Config
from gep.errors import ConfigError, InputDataError

#: required columns (lower case; InVEST reads table headers case-insensitively) per table key
TABLE_COLUMNS = {
    ("annual_water_yield", "biophysical_table"): ("lucode", "lulc_veg", "root_depth", "kc"),
    ("habitat_quality", "threats_table"): ("threat", "max_dist", "weight", "decay", "cur_path"),
    ("habitat_quality", "sensitivity_table"): ("lucode", "habitat"),
    ("sdr", "biophysical_table"): ("lucode", "usle_c", "usle_p"),
    ("ndr", "biophysical_table"): ("lucode", "load_n", "eff_n", "crit_len_n",
                                   "proportion_subsurface_n", "load_p", "eff_p", "crit_len_p"),
    ("carbon", "carbon_pools_table"): ("lucode", "c_above", "c_below", "c_soil", "c_dead"),
}
RUNOFF_COLUMNS = ("lucode", "runoff_coefficient")


def _readable(cfg: Config, key: str, value, what: str, file: str | None,
              directory: bool = False) -> Path:
    """The resolved path of a config key; ConfigError unless it exists and can be read."""
    path = cfg.path(value)
    if directory:
        if not path.is_dir():
            raise ConfigError(key, f"{what} {path} is not an existing folder",
                              "create it or point the key at the right folder", file=file)
        return path
    if not path.exists():
        raise ConfigError(key, f"{what} {path} does not exist",
                          "point the key at an existing file (paths are relative to the "
                          "config file's folder)", file=file)
    if not path.is_file():
        raise ConfigError(key, f"{what} {path} is a folder, not a file",
                          "point the key at a file", file=file)
    if not os.access(path, os.R_OK):
        raise ConfigError(key, f"{what} {path} is not readable",
                          "fix the file's permissions", file=file)
    return path


def read_table(path: Path, columns: tuple[str, ...], key: str) -> list[tuple[int, dict]]:
    """Rows ``(line, {lower-case column: value})`` of a CSV that has ``columns``."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise InputDataError(str(path), "the table is empty", line=1,
                                     fix=f"write a header with {','.join(columns)} and rows")
            header = [h.strip().lower() for h in header]
            missing = [c for c in columns if c not in header]
            if missing:
                raise InputDataError(str(path), f"missing column(s) {', '.join(missing)} "
                                     f"(needed by {key})", line=1, field=missing[0],
                                     fix="the header must include " + ",".join(columns))
            rows = []
            for values in reader:
                if not any(v.strip() for v in values):
                    continue
                rows.append((reader.line_num, dict(zip(header, (v.strip() for v in values)))))
    except UnicodeDecodeError:
        raise InputDataError(str(path), "not UTF-8 text", fix="save the table as UTF-8 CSV"
                             ) from None
    except csv.Error as exc:
        raise InputDataError(str(path), f"not a readable CSV ({exc})",
                             fix="save the table as CSV") from None
    return rows


def table_codes(path: Path, rows: list[tuple[int, dict]]) -> set[int]:
    codes = set()
    for line, row in rows:
        raw = row.get("lucode", "")
        try:
            value = float(raw)
            if not value.is_integer():
                raise ValueError
        except ValueError:
            raise InputDataError(str(path), f"lucode {raw!r} is not a whole number", line=line,
                                 field="lucode", fix="use the land-cover codes of the legend, "
                                 "e.g. 10, 20, 30") from None
        code = int(value)
        if code in codes:
            raise InputDataError(str(path), f"lucode {code} appears twice", line=line,
                                 field="lucode", fix="keep one row per land-cover code")
        codes.add(code)
    return codes


def raster_codes(path: Path) -> set[int]:
    """The distinct values of a land-cover raster (nodata excluded), block by block."""
    import numpy as np
    import rasterio

    codes: set[int] = set()
    with rasterio.open(path) as src:
        nodata = src.nodata
        for _, window in src.block_windows(1):
            block = src.read(1, window=window)
            values = np.unique(block)
            if nodata is not None:
                values = values[values != nodata]
            codes.update(int(v) for v in values)
    return codes


def check_codes_covered(table: Path, codes_in_table: set[int], needed: set[int],
                        source: str, key: str) -> None:
    missing = sorted(needed - codes_in_table)
    if missing:
        listed = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        names = ", ".join(f"{c} ({WORLDCOVER_CLASSES[c]})" for c in missing[:3]
                          if c in WORLDCOVER_CLASSES)
        raise InputDataError(str(table), f"land-cover code(s) {listed} of {source} have no "
                             f"row in {key}" + (f" [{names}]" if names else ""), field="lucode",
                             fix=f"add a row for lucode {missing[0]} (and each other missing "
                             "code) with its parameters")


def legend_codes(cfg: Config, file: str | None) -> tuple[set[int], str]:
    """The land-cover codes a run can meet, and where they come from."""
    from gep.paths import Paths

    p = Paths(cfg)
    acquired = [p.year_file(y, "landcover") for y in cfg.years]
    if all(f.exists() for f in acquired):
        codes: set[int] = set()
        for f in acquired:
            codes |= raster_codes(f)
        return codes, f"the acquired land-cover rasters ({p.year_dir('<year>')})"
    if cfg.landcover_legend is not None:
        legend = _readable(cfg, "landcover_legend", cfg.landcover_legend, "legend table", file)
        rows = read_table(legend, ("source_code", "worldcover_code"), "landcover_legend")
        codes = set()
        for line, row in rows:
            try:
                codes.add(int(float(row["worldcover_code"])))
            except ValueError:
                raise InputDataError(str(legend), f"worldcover_code {row['worldcover_code']!r} "
                                     "is not a whole number", line=line,
                                     field="worldcover_code", fix="use a WorldCover code "
                                     "(10, 20, ... 100)") from None
        return codes, f"the legend {legend}"
    if cfg.source == "local":
        return set(), ""  # unknown until the rasters are acquired; checked at gep invest
    return set(WORLDCOVER_CLASSES), "the ESA WorldCover legend"


def check_run_inputs(cfg: Config, file: str | None = None) -> list[str]:
    """Check every file the run reads; raise the first problem. Returns what was checked."""
    checked: list[str] = []
    models = cfg.models.enabled()
    if not models:
        raise ConfigError("models", "every model is disabled", "enable at least "
                          "annual_water_yield or habitat_quality", file=file)
    results = cfg.path(cfg.results_dir)
    if results.exists() and not results.is_dir():
        raise ConfigError("results_dir", f"{results} is a file, not a folder",
                          "point results_dir at a folder", file=file)
    codes, source = legend_codes(cfg, file)
    _check_source_inputs(cfg, file)
    _check_classification(cfg, file)
    checked += _check_model_tables(cfg, models, codes, source, file)
    checked += _check_valuation(cfg, codes, source, file)
    checked += _check_downstream_stages(cfg, file)
    return checked


def _check_source_inputs(cfg: Config, file: str | None) -> None:
    """The parties, legend, red line and road files, and every layer of a local source."""
    if cfg.parties is not None:
        _readable(cfg, "parties.path", cfg.parties.path, "parties file", file)
    for key in ("landcover_legend", "redline", "roads"):
        if getattr(cfg, key) is not None:
            _readable(cfg, key, getattr(cfg, key), key.replace("_", " ") + " file", file)
    if cfg.source == "local":
        _check_local_layers(cfg, file)


def _check_local_layers(cfg: Config, file: str | None) -> None:
    from gep.config import STATIC_LAYERS, YEAR_LAYERS
    from gep.sources.local import layer_path

    for name in cfg.layers:
        per_year = name in YEAR_LAYERS or name not in STATIC_LAYERS
        for year in (cfg.years if per_year else [None]):
            if per_year and not isinstance(cfg.layers[name], dict) \
                    and "{year}" not in str(cfg.layers[name]):
                year = None  # one file for every year
            try:
                path = layer_path(cfg, name, year)
            except ConfigError as exc:
                raise ConfigError(exc.key, exc.problem, exc.fix, file=file) from None
            if not os.access(path, os.R_OK):
                raise ConfigError(f"layers.{name}", f"{path} is not readable",
                                  "fix the file's permissions", file=file)


def _check_classification(cfg: Config, file: str | None) -> None:
    c = cfg.classification
    if c.enabled and not c.demo_imagery:
        _readable(cfg, "classification.training", c.training, "training data", file)
        for y, img in c.imagery.items():
            _readable(cfg, f"classification.imagery.{y}", img, "imagery", file)


def _check_model_tables(cfg: Config, models, codes: set[int], source: str,
                        file: str | None) -> list[str]:
    """Each enabled model's parameter tables: columns, threats, and the land-cover codes."""
    checked: list[str] = []
    threats: list[str] = []
    for model in models:
        mcfg = getattr(cfg.models, model)
        for (m, key), columns in TABLE_COLUMNS.items():
            if m != model:
                continue
            full_key = f"models.{model}.{key}"
            path = _readable(cfg, full_key, getattr(mcfg, key), "table", file)
            rows = read_table(path, columns, full_key)
            if key == "threats_table":
                threats = [r["threat"] for _, r in rows]
                _check_threats(path, rows)
                continue
            if key == "sensitivity_table":
                _check_sensitivity(path, rows, threats)
            check_codes_covered(path, table_codes(path, rows), codes, source, full_key)
            checked.append(full_key)
    return checked


def _check_sensitivity(path: Path, rows: list[tuple[int, dict]], threats: list[str]) -> None:
    missing = [t for t in threats if t.lower() not in rows[0][1]] if rows else []
    if missing:
        raise InputDataError(str(path), f"no column for threat {missing[0]!r} of "
                             "the threats table", line=1, field=missing[0],
                             fix=f"add a column {missing[0]} (0-1 sensitivity)")


def _check_valuation(cfg: Config, codes: set[int], source: str, file: str | None) -> list[str]:
    from gep.valuation import load_prices

    prices = _readable(cfg, "valuation.prices", cfg.valuation.prices, "price file", file)
    load_prices(prices)
    runoff = _readable(cfg, "valuation.runoff_coefficients", cfg.valuation.runoff_coefficients,
                       "runoff coefficient table", file)
    rows = read_table(runoff, RUNOFF_COLUMNS, "valuation.runoff_coefficients")
    check_codes_covered(runoff, table_codes(runoff, rows), codes, source,
                        "valuation.runoff_coefficients")
    return ["valuation.prices", "valuation.runoff_coefficients"]


def _check_downstream_stages(cfg: Config, file: str | None) -> list[str]:
    """Compensation, monitoring, rating, committee, portal, operations and ledger settings."""
    checked: list[str] = []
    monitoring = cfg.monitoring.enabled and cfg.compensation.agreement is not None
    checked += _check_compensation(cfg, monitoring, file)
    if monitoring:
        checked += _check_monitoring(cfg, file)
    checked += _check_rating_committee_portal(cfg, file)
    if monitoring:
        from gep.operations.settings import load_operations

        ops = cfg.config_dir / "operations.yaml"   # gep serve / gep daily read it when present
        if ops.is_file():
            load_operations(ops)
            checked.append("operations.yaml")
    if cfg.ledger.enabled:
        key_dir = cfg.path(cfg.ledger.key_dir)
        if key_dir.exists() and not key_dir.is_dir():
            raise ConfigError("ledger.key_dir", f"{key_dir} is a file, not a folder",
                              "point ledger.key_dir at a folder", file=file)
    return checked


def _check_compensation(cfg: Config, monitoring: bool, file: str | None) -> list[str]:
    comp = cfg.compensation
    if comp.agreement is None:
        return []
    from gep.compensation import load_agreement

    agreement = _readable(cfg, "compensation.agreement", comp.agreement, "agreement", file)
    load_agreement(agreement)
    for key in ("quality", "performance", "incidents"):
        value = getattr(comp, key)
        if value is not None and (key != "quality" or not monitoring):
            _readable(cfg, f"compensation.{key}", value, f"{key} file", file)
    if not monitoring and comp.quality is None:
        raise ConfigError("compensation.quality", "needed when monitoring is disabled",
                          "point it at a section_quality.csv (year,section,indicator,"
                          "concentration_mg_l)", file=file)
    return ["compensation.agreement"]


def _check_monitoring(cfg: Config, file: str | None) -> list[str]:
    from gep.monitoring.settings import load_settings

    m = cfg.monitoring
    load_settings(_readable(cfg, "monitoring.config", m.config, "monitoring settings", file))
    if m.readings is not None:
        _readable(cfg, "monitoring.readings", m.readings, "readings file", file)
        if m.stations is None:
            raise ConfigError("monitoring.stations", "readings are given but no stations",
                              "set monitoring.stations (the stations CSV)", file=file)
        _readable(cfg, "monitoring.stations", m.stations, "stations file", file)
    elif cfg.source != "demo":
        raise ConfigError("monitoring.readings", "no readings for a non-demo basin",
                          "set monitoring.readings and monitoring.stations, or "
                          "monitoring.enabled: false", file=file)
    return ["monitoring.config"]


def _check_rating_committee_portal(cfg: Config, file: str | None) -> list[str]:
    checked: list[str] = []
    if cfg.rating.enabled:
        from gep.rating.rules import load_rules

        load_rules(_readable(cfg, "rating.rules", cfg.rating.rules, "star-rating rules", file))
        checked.append("rating.rules")
        if cfg.rating.declarations is not None:
            _readable(cfg, "rating.declarations", cfg.rating.declarations,
                      "enterprise declarations", file)
            checked.append("rating.declarations")
    if cfg.committee.enabled and cfg.committee.payments is not None:
        _readable(cfg, "committee.payments", cfg.committee.payments, "payments file", file)
        checked.append("committee.payments")
    if cfg.portal.enabled:
        from gep.portal.settings import load_settings as load_portal

        load_portal(_readable(cfg, "portal.config", cfg.portal.config, "portal settings", file))
        checked.append("portal.config")
    return checked


def _check_threats(path: Path, rows: list[tuple[int, dict]]) -> None:
    from gep.paths import YEAR_FILES, Paths

    acquired = {Paths.layer_name(f) for f in YEAR_FILES}
    if not rows:
        raise InputDataError(str(path), "the threats table has no rows", line=2,
                             fix="add one row per threat (see config/tables/threats.csv)")
    for line, row in rows:
        if row["cur_path"] not in acquired:
            raise InputDataError(str(path), f"cur_path {row['cur_path']!r} is not a layer gep "
                                 "acquires", line=line, field="cur_path",
                                 fix="use one of " + ", ".join(sorted(
                                     a for a in acquired if a.startswith("threat_"))))
        for col in ("max_dist", "weight"):
            try:
                float(row[col])
            except ValueError:
                raise InputDataError(str(path), f"{col} {row[col]!r} is not a number",
                                     line=line, field=col, fix="write a number") from None
        if row["decay"] not in ("linear", "exponential"):
            raise InputDataError(str(path), f"decay {row['decay']!r} is unknown", line=line,
                                 field="decay", fix="use linear or exponential")


def check_landcover_for_model(cfg: Config, model: str, landcover: Path) -> None:
    """Before InVEST runs: every land-cover code of the raster has a row in the model's
    parameter table (InVEST would otherwise stop with a KeyError deep in its code)."""
    mcfg = getattr(cfg.models, model)
    codes = raster_codes(landcover)
    for (m, key), columns in TABLE_COLUMNS.items():
        if m != model or "lucode" not in columns:
            continue
        full_key = f"models.{model}.{key}"
        path = cfg.path(getattr(mcfg, key))
        if not path.is_file():
            raise ConfigError(full_key, f"table {path} does not exist",
                              "point the key at an existing file")
        rows = read_table(path, columns, full_key)
        check_codes_covered(path, table_codes(path, rows), codes, f"the raster {landcover}",
                            full_key)
