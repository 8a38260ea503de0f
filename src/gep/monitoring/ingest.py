"""Ingestion of water-quality and flow readings (long form) and of the stations table.

Readings: ``timestamp,station,indicator,value,unit`` in CSV or Parquet. Everything that could
silently corrupt the daily index is an error naming the file, the line (CSV) or row (Parquet)
and the fix: wrong columns, an unknown station or indicator, an unparseable timestamp, time
zones mixed in one file, an unknown unit, a series mixing units, a duplicate reading. An empty
value (or ``NaN``/``NA``) is kept as a missing reading (QARTOD flag 9 later), never dropped.

Speed matters (the benchmark is 17.5 million readings): strings are dictionary-encoded by
Arrow and only the distinct values are looked at in Python, so the per-row work is numpy.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gep.errors import InputDataError
from gep.paths import InputFiles
from gep.tables import check_utf8_file, read_table, unknown_id_fix

READING_COLUMNS = ("timestamp", "station", "indicator", "value", "unit")
STATION_COLUMNS = ("station", "party_id", "section", "role", "lon", "lat")
STATION_ROLES = ("section", "outlet")
NA_TOKENS = ("", "nan", "NaN", "NAN", "NA", "N/A", "na", "null", "NULL", "None")
_IGNORED_COLUMNS = ("__index_level_0__",)
ISO_EXAMPLE = "2021-03-01T08:00:00+08:00"
# A time of day, then an optional UTC offset. Applied to distinct timestamp strings only.
_TZ_RE = r"^.*?\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?)?$"


@dataclass
class Readings:
    """Validated readings, sorted by series (station, indicator) then time.

    ``ts`` is int64 nanoseconds since the epoch in UTC; ``value`` is in the indicator's
    canonical unit; ``series`` indexes ``series_table`` (columns station, indicator, unit,
    factor: the file's unit and its factor to the canonical unit).
    """

    ts: np.ndarray
    series: np.ndarray
    value: np.ndarray
    series_table: pd.DataFrame
    source: str

    def __len__(self) -> int:
        return int(self.ts.size)


# -- stations -----------------------------------------------------------------------------------
def read_stations(path: str | Path, party_ids: list[str] | None = None) -> pd.DataFrame:
    """Read ``station,party_id,section,role,lon,lat``; one row per station.

    ``role`` is ``section`` (an assessment section such as the provincial boundary, whose
    station may have an empty ``party_id``) or ``outlet`` (a county's outlet: ``party_id``
    required). With ``party_ids`` (from ``parties.csv``) every party must be one of them.
    """
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise InputDataError(src, "stations file does not exist",
                             "pass --stations with the stations CSV "
                             "(station,party_id,section,role,lon,lat)")
    table = read_table(path, STATION_COLUMNS, "stations", exact=True)
    seen: dict[str, int] = {}
    rows = [_station_record(src, row, seen, party_ids) for row in table]
    if not rows:
        raise InputDataError(src, "no stations", "add one row per station")
    table = pd.DataFrame(rows, columns=list(STATION_COLUMNS))
    table.attrs["source"] = src
    _check_one_party_per_section(src, table)
    return table


def _station_record(src: str, row, seen: dict[str, int], party_ids: list[str] | None) -> dict:
    """One row of the stations table, checked: a distinct id, a known role, a section, the
    party an outlet drains, coordinates in decimal degrees."""
    line = row.line
    rec = {c: row[c] for c in STATION_COLUMNS}
    if not rec["station"]:
        raise InputDataError(src, "empty station id", "name the station", line=line,
                             field="station")
    if rec["station"] in seen:
        raise InputDataError(src, f"station '{rec['station']}' is listed twice (first "
                             f"on line {seen[rec['station']]})", "keep one row per "
                             "station", line=line, field="station")
    seen[rec["station"]] = line
    if rec["role"] not in STATION_ROLES:
        raise InputDataError(src, f"role '{rec['role']}' is not one of "
                             f"{', '.join(STATION_ROLES)}", "write section (an "
                             "assessment section, e.g. the boundary) or outlet (a "
                             "county's outlet)", line=line, field="role")
    if not rec["section"]:
        raise InputDataError(src, "empty section", "name the monitoring section the "
                             "station belongs to", line=line, field="section")
    if rec["role"] == "outlet" and not rec["party_id"]:
        raise InputDataError(src, "an outlet station needs the party it drains",
                             "fill in party_id", line=line, field="party_id")
    if party_ids is not None and rec["party_id"] and rec["party_id"] not in party_ids:
        raise InputDataError(src, f"party '{rec['party_id']}' is not in parties.csv",
                             unknown_id_fix(rec["party_id"], list(party_ids),
                                            InputFiles.parties_csv), line=line,
                             field="party_id")
    for c, lim in (("lon", 180.0), ("lat", 90.0)):
        v = float(row.decimal(c))
        if not (math.isfinite(v) and -lim <= v <= lim):
            raise InputDataError(src, f"{v} is outside [-{lim:g}, {lim:g}]",
                                 "write decimal degrees (WGS 84)", line=line, field=c)
        rec[c] = v
    return rec


def _check_one_party_per_section(src: str, table: pd.DataFrame) -> None:
    parties_by_section = table.groupby("section")["party_id"].unique()
    for section, parties in parties_by_section.items():
        if len(parties) > 1:
            raise InputDataError(src, f"section '{section}' has stations of several parties "
                                 f"({', '.join(p or '(none)' for p in parties)})",
                                 "give each party's outlet its own section", field="section")


# -- readings -----------------------------------------------------------------------------------
def read_readings(path: str | Path, stations: pd.DataFrame, settings) -> Readings:
    """Read, check and convert a readings file (CSV or Parquet). Nothing is dropped."""
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise InputDataError(src, "readings file does not exist",
                             "pass --readings with a CSV or Parquet file")
    table, err = _load_readings(path)
    # stations and indicators: codes through a lookup on the distinct strings
    station_ids = list(stations["station"])
    st_code = _id_codes(table, "station", station_ids, "the stations file", err)
    ind_names = list(settings.indicators)
    ind_code = _id_codes(table, "indicator", ind_names, "the monitoring configuration", err)
    n_ind = len(ind_names)
    unit_code, unit_names = _unit_codes(table, err)
    n_units = max(len(unit_names), 1)
    # distinct small-integer keys by np.bincount (no sort of 10^7 rows); the row of an
    # offending key is looked up only when there is an error
    pair = ind_code.astype(np.int64) * n_units + unit_code
    factor_of_pair = _unit_factors(pair, n_units, ind_names, unit_names, settings, err)
    series_key = st_code.astype(np.int64) * n_ind + ind_code
    su = _one_unit_per_series(table, series_key * n_units + unit_code, n_units,
                              station_ids, ind_names, err)
    value = _canonical_values(table.column("value"), pair, factor_of_pair, n_units * n_ind,
                              err)
    del pair

    # timestamps -> int64 ns UTC
    ts = _timestamps(table.column("timestamp"), settings.timezone, err)
    del table
    series, series_table = _series_ids(series_key, su, n_units, station_ids, ind_names,
                                       unit_names)
    del series_key
    series, ts, value = _sort_without_duplicates(series, ts, value, series_table,
                                                 settings.timezone, err)
    return Readings(ts=ts, series=series, value=value, series_table=series_table, source=src)


def _load_readings(path: Path):
    """The readings as an Arrow table (blank CSV lines dropped) and the error builder that
    names a row by its CSV line or Parquet row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    src = str(path)
    kind = _kind(path)
    table = _read_parquet(path) if kind == "parquet" else _read_csv(path)
    kept = None  # CSV rows left after dropping blank lines, for line numbers
    if kind == "csv":
        blank = np.ones(table.num_rows, dtype=bool)
        for c in READING_COLUMNS:
            filled = pc.not_equal(pc.utf8_trim_whitespace(table.column(c)), "")
            blank &= ~filled.fill_null(False).to_numpy(zero_copy_only=False)
        if blank.any():
            kept = np.flatnonzero(~blank)
            table = table.filter(pa.array(~blank))
    if table.num_rows == 0:
        raise InputDataError(src, "no readings", "the file has a header but no rows")

    def err(idx, problem: str, fix: str, field: str | None = None) -> InputDataError:
        if kind == "csv":
            row = int(idx) if kept is None else int(kept[int(idx)])
            return InputDataError(src, problem, fix, line=row + 2, field=field)
        return InputDataError(src, f"row {int(idx) + 1}: {problem}", fix, field=field)

    return table, err


def _id_codes(table, column: str, known: list[str], where: str, err) -> np.ndarray:
    """Per-row positions of the station (or indicator) ids in ``known``; an empty or unknown
    id is an error naming ``where`` it must be added."""
    code, _ = _codes(table.column(column), {s: i for i, s in enumerate(known)})
    _no_null(code, err, column, f"empty {column}", f"fill in the {column} id")
    unknown = np.flatnonzero(code == -1)
    if unknown.size:
        i = unknown[0]
        raw = _raw(table, column, i)
        raise err(i, f"unknown {column} '{raw}'",
                  unknown_id_fix(raw.strip(), known, where) + f"; or add it to {where}",
                  column)
    return code


def _unit_codes(table, err) -> tuple[np.ndarray, list[str]]:
    """Per-row codes of the (text) unit column and the distinct units."""
    import pyarrow as pa

    unit_col = table.column("unit")
    if not (pa.types.is_string(unit_col.type) or pa.types.is_large_string(unit_col.type)
            or pa.types.is_dictionary(unit_col.type) or pa.types.is_null(unit_col.type)):
        raise err(0, f"unit column has type {unit_col.type}", "write units as text "
                  "(mg/L, m3/s, pH, NTU)", "unit")
    unit_code, unit_names = _codes(unit_col, None)
    _no_null(unit_code, err, "unit", "empty unit", "write the unit (e.g. mg/L, m3/s)")
    return unit_code, unit_names


def _unit_factors(pair: np.ndarray, n_units: int, ind_names: list[str],
                  unit_names: list[str], settings, err) -> dict[int, float]:
    """Each (indicator, unit) pair present must be a known unit of the indicator: its factor
    to the indicator's canonical unit, by pair key."""
    pairs = np.flatnonzero(np.bincount(pair, minlength=len(ind_names) * n_units))
    factor_of_pair = {}
    for p in pairs:
        ind = ind_names[p // n_units]
        unit = unit_names[p % n_units]
        canon = settings.indicators[ind].unit
        factor = settings.units[canon].get(unit)
        if factor is None:
            i = int(np.flatnonzero(pair == p)[0])
            raise err(i, f"unit '{unit}' does not fit indicator '{ind}' (canonical unit "
                      f"{canon})", f"use one of {', '.join(settings.units[canon])}, or add "
                      f"the unit with its factor under units.{canon} in the configuration",
                      "unit")
        factor_of_pair[int(p)] = factor
    return factor_of_pair


def _one_unit_per_series(table, sk_unit: np.ndarray, n_units: int, station_ids: list[str],
                         ind_names: list[str], err) -> np.ndarray:
    """The distinct (series, unit) keys; a series reported in two units is an error."""
    n_ind = len(ind_names)
    su = np.flatnonzero(np.bincount(sk_unit, minlength=len(station_ids) * n_ind * n_units))
    su_series = su // n_units
    mixed = np.flatnonzero(np.diff(su_series) == 0)
    if mixed.size:
        first_a = int(np.flatnonzero(sk_unit == su[mixed[0]])[0])
        first_b = int(np.flatnonzero(sk_unit == su[mixed[0] + 1])[0])
        a, b = min(first_a, first_b), max(first_a, first_b)
        st = station_ids[int(su_series[mixed[0]] // n_ind)]
        ind = ind_names[int(su_series[mixed[0]] % n_ind)]
        where = _pos_text(err, a)
        raise err(b, f"station '{st}' reports '{ind}' in mixed units: "
                  f"'{_raw(table, 'unit', b)}' here, '{_raw(table, 'unit', a)}' on {where}",
                  "report each station's indicator in one unit (convert the file first)",
                  "unit")
    return su


def _canonical_values(col, pair: np.ndarray, factor_of_pair: dict[int, float], n_pairs: int,
                      err) -> np.ndarray:
    """The values as float64 in each indicator's canonical unit."""
    value = _values(col, err)
    factors = np.ones(n_pairs, dtype=np.float64)
    for p, f in factor_of_pair.items():
        factors[p] = f
    if any(f != 1 for f in factor_of_pair.values()):
        value *= factors[pair]
    return value


def _series_ids(series_key: np.ndarray, su: np.ndarray, n_units: int, station_ids: list[str],
                ind_names: list[str], unit_names: list[str]
                ) -> tuple[np.ndarray, pd.DataFrame]:
    """Series ids: distinct (station, indicator) pairs, in stations-table then config order,
    and the table of series (station, indicator, the file's unit)."""
    n_ind = len(ind_names)
    used = np.flatnonzero(np.bincount(series_key, minlength=len(station_ids) * n_ind))
    lut = np.full(len(station_ids) * n_ind, -1, dtype=np.int32)
    lut[used] = np.arange(used.size, dtype=np.int32)
    series = lut[series_key]
    su_unit = {int(s): unit_names[int(u % n_units)] for s, u in
               zip(su // n_units, su)}
    series_table = pd.DataFrame({
        "station": [station_ids[int(k // n_ind)] for k in used],
        "indicator": [ind_names[int(k % n_ind)] for k in used],
        "unit_in": [su_unit[int(k)] for k in used],
    })
    return series, series_table


def _sort_without_duplicates(series: np.ndarray, ts: np.ndarray, value: np.ndarray,
                             series_table: pd.DataFrame, tz: str, err):
    """Sort by series then time (a no-op for sorted files); a duplicate reading, then a
    neighbour, is an error naming both rows."""
    ds, dt = np.diff(series), np.diff(ts)
    if bool(np.all((ds > 0) | ((ds == 0) & (dt >= 0)))):
        order = None
    else:
        order = np.lexsort((ts, series))
        series, ts, value = series[order], ts[order], value[order]
        ds, dt = np.diff(series), np.diff(ts)
    dup = np.flatnonzero((ds == 0) & (dt == 0))
    del ds, dt
    if dup.size:
        i, j = int(dup[0]), int(dup[0]) + 1
        a, b = (i, j) if order is None else (int(order[i]), int(order[j]))
        a, b = min(a, b), max(a, b)
        row = series_table.iloc[int(series[i])]
        when = pd.Timestamp(int(ts[i]), tz="UTC").tz_convert(tz).isoformat()
        where = _pos_text(err, a)
        raise err(b, f"duplicate reading: station '{row.station}', indicator "
                  f"'{row.indicator}' at {when} was already given on {where}",
                  "keep one reading per station, indicator and time", "timestamp")
    return series, ts, value


# -- helpers ------------------------------------------------------------------------------------
def _kind(path: Path) -> str:
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1" or path.suffix.lower() in (".parquet", ".pq"):
        return "parquet"
    return "csv"


def _check_columns(src: str, names: list[str], expected: tuple[str, ...],
                   line: int | None = None) -> None:
    names = [n for n in names if n not in _IGNORED_COLUMNS]
    missing = [c for c in expected if c not in names]
    extra = [c for c in names if c not in expected]
    dupes = sorted({c for c in names if names.count(c) > 1})
    if missing or extra or dupes:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(extra)}")
        if dupes:
            parts.append(f"repeated column(s) {', '.join(dupes)}")
        raise InputDataError(src, "; ".join(parts), f"the header must be exactly "
                             f"{','.join(expected)}", line=line)


def _read_parquet(path: Path):
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputDataError(str(path), f"not a readable Parquet file ({exc})",
                             "write the readings as Parquet or CSV") from None
    _check_columns(str(path), list(schema.names), READING_COLUMNS)
    return pq.read_table(path, columns=list(READING_COLUMNS))


def _read_csv(path: Path):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            header = [h.strip() for h in next(csv.reader(fh), [])]
    except UnicodeDecodeError:
        check_utf8_file(path)
        raise
    _check_columns(str(path), header, READING_COLUMNS, line=1)
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in READING_COLUMNS},
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        ).rename_columns(header)
    except pa.ArrowInvalid as exc:
        if "utf8" in str(exc).lower() or "utf-8" in str(exc).lower():
            check_utf8_file(path)
        raise InputDataError(str(path), f"malformed CSV ({' '.join(str(exc).split())})",
                             "every line needs the five fields "
                             "timestamp,station,indicator,value,unit") from None


def _dict_array(col):
    """A chunked string (or dictionary) column as one DictionaryArray."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(col.type):
        col = col.unify_dictionaries()
        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        return arr
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
            or pa.types.is_null(col.type)):
        col = pc.cast(col, pa.string())
    enc = pc.dictionary_encode(col)
    enc = enc.unify_dictionaries()
    return enc.combine_chunks() if enc.num_chunks != 1 else enc.chunk(0)


def _codes(col, lookup: dict[str, int] | None) -> tuple[np.ndarray, list[str]]:
    """Per-row int32 codes: ``lookup[stripped string]`` (-1 unknown) or positions in the list
    of distinct stripped strings when ``lookup`` is None; -2 for null or empty."""
    arr = _dict_array(col)
    words = [("" if w is None else str(w).strip()) for w in arr.dictionary.to_pylist()]
    if lookup is None:
        distinct = sorted({w for w in words if w})
        lookup = {w: i for i, w in enumerate(distinct)}
    else:
        distinct = list(lookup)
    lut = np.array([-2 if not w else lookup.get(w, -1) for w in words] + [-2], dtype=np.int32)
    idx = arr.indices.fill_null(len(words)).to_numpy(zero_copy_only=False)
    return lut[idx], distinct


def _no_null(codes: np.ndarray, err, field: str, problem: str, fix: str) -> None:
    bad = np.flatnonzero(codes == -2)
    if bad.size:
        raise err(bad[0], problem, fix, field)


def _raw(table, column: str, i) -> str:
    v = table.column(column)[int(i)].as_py()
    return "" if v is None else str(v)


def _short_list(items: list[str], k: int = 8) -> str:
    return ", ".join(items[:k]) + (", ..." if len(items) > k else "")


def _values(col, err) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_floating(col.type) or pa.types.is_integer(col.type) \
            or pa.types.is_decimal(col.type):
        return pc.cast(col, pa.float64()).to_numpy().astype(np.float64, copy=True)
    if pa.types.is_null(col.type):
        return np.full(len(col), np.nan)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
            or pa.types.is_dictionary(col.type)):
        raise err(0, f"value column has type {col.type}", "write values as numbers",
                  "value")
    if pa.types.is_dictionary(col.type):
        col = pc.cast(col, pa.string())
    text = pc.utf8_trim_whitespace(col)
    text = pc.if_else(pc.is_in(text, value_set=pa.array(NA_TOKENS)),
                      pa.scalar(None, pa.string()), text)
    try:
        return pc.cast(text, pa.float64()).to_numpy().astype(np.float64, copy=True)
    except pa.ArrowInvalid:
        pass
    offset = 0  # find the first text that is not a number (error path only)
    for chunk in text.chunks:
        for k, w in enumerate(chunk.to_pylist()):
            if w is None:
                continue
            try:
                float(w)
            except ValueError:
                raise err(offset + k, f"value '{w}' is not a number", "write a decimal "
                          "number, or leave the field empty for a missing reading",
                          "value") from None
        offset += len(chunk)
    raise err(0, "values are not numbers", "write decimal numbers", "value")  # unreachable


def _timestamps(col, tz: str, err) -> np.ndarray:
    """int64 ns UTC. Naive values are local time in ``tz``; one file, one time-zone form."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if col.null_count:
        i = np.flatnonzero(pc.is_null(col).to_numpy(zero_copy_only=False))[0]
        raise err(i, "empty timestamp", f"write ISO 8601 local times such as {ISO_EXAMPLE}",
                  "timestamp")
    if pa.types.is_timestamp(col.type):
        ns = pc.cast(col, pa.timestamp("ns", col.type.tz)).to_numpy().view(np.int64)
        if col.type.tz is None:
            ns = _localize(ns, tz, err)
        return np.ascontiguousarray(ns)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
            or pa.types.is_dictionary(col.type)):
        raise err(0, f"timestamp column has type {col.type}", "store timestamps as ISO 8601 "
                  "text or as Parquet timestamps", "timestamp")
    return _parse_timestamp_text(col, tz, err)


def _parse_timestamp_text(col, tz: str, err) -> np.ndarray:
    """ISO 8601 text -> int64 ns UTC, parsing each distinct string once."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _dict_array(col)
    words = [str(w).strip() for w in arr.dictionary.to_pylist()]
    idx = arr.indices.to_numpy(zero_copy_only=False)

    def first_row(k: int) -> int:
        return int(np.flatnonzero(idx == k)[0])

    tzs = pc.extract_regex(pa.array(words, pa.string()), _TZ_RE)
    matched = tzs.is_valid().to_numpy(zero_copy_only=False)
    if not matched.all():
        k = int(np.flatnonzero(~matched)[0])
        raise err(first_row(k), f"timestamp '{words[k]}' has no time of day or is not ISO "
                  "8601", f"write ISO 8601 such as {ISO_EXAMPLE}", "timestamp")
    # parseable at all? (naive strings read as UTC here, only to check the syntax)
    probe = pd.to_datetime(pd.Series(words, dtype=object), format="ISO8601", errors="coerce",
                           utc=True)
    bad = np.flatnonzero(probe.isna().to_numpy())
    if bad.size:
        k = int(min(bad, key=first_row))
        raise err(first_row(k), f"unparseable timestamp '{words[k]}'",
                  f"write ISO 8601 such as {ISO_EXAMPLE}", "timestamp")
    offsets = [_offset_minutes(t) for t in tzs.field("tz").to_pylist()]
    aware = _one_zone_form(offsets, words, first_row, tz, err)
    parsed = pd.to_datetime(pd.Series(words, dtype=object), format="ISO8601", utc=aware)
    if aware:
        lut = parsed.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype(
            "datetime64[ns]").view(np.int64)
    else:
        lut = _localize(parsed.to_numpy().astype("datetime64[ns]").view(np.int64), tz, err,
                        row_of=first_row)
    return lut[idx]


def _one_zone_form(offsets: list[int | None], words: list[str], first_row, tz: str,
                   err) -> bool:
    """All timestamps of a file carry the same UTC offset (True) or none at all (False)."""
    forms = {}
    for k, off in enumerate(offsets):
        forms.setdefault(off, k)
    if len(forms) > 1:
        (o1, k1), (o2, k2) = sorted(forms.items(), key=lambda kv: first_row(kv[1]))[:2]
        r1, r2 = first_row(k1), first_row(k2)

        def name(o):
            if o is None:
                return "no time zone"
            h, m = divmod(abs(o), 60)
            return f"UTC{'-' if o < 0 else '+'}{h:02d}:{m:02d}"

        raise err(r2, f"time zones are mixed: '{words[k2]}' ({name(o2)}) here, "
                  f"'{words[k1]}' ({name(o1)}) at {_pos_text(err, r1)}", "write all "
                  "timestamps of a file in one form: all with the same UTC offset, or all "
                  f"without (then they are read as {tz} local time)", "timestamp")
    return next(iter(forms)) is not None


def _pos_text(err, i: int) -> str:
    e = err(i, "", "")
    return f"line {e.line}" if e.line is not None else f"row {i + 1}"


def _offset_minutes(t: str | None) -> int | None:
    if not t:
        return None
    if t in ("Z", "z"):
        return 0
    sign = -1 if t[0] == "-" else 1
    digits = t[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0))


def _localize(ns: np.ndarray, tz: str, err, row_of=None) -> np.ndarray:
    """Local wall-clock ns -> UTC ns; a time that does not exist or is ambiguous is an error.
    ``row_of(i)`` maps a position in ``ns`` to the file's row (for the message)."""
    idx = pd.DatetimeIndex(ns.view("datetime64[ns]"))
    loc = idx.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    bad = np.flatnonzero(loc.isna())
    if bad.size:
        i = int(bad[0]) if row_of is None else row_of(int(bad[0]))
        raise err(i, f"local time {idx[int(bad[0])]} does not exist or is ambiguous in {tz} "
                  "(daylight-saving change)", "write timestamps with their UTC offset",
                  "timestamp")
    return loc.tz_convert("UTC").tz_localize(None).asi8.copy()
