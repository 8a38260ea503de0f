"""One reader for every tabular (CSV) input a user or a spreadsheet can write.

Why one reader: the classes of silent error seen in practice all come from lenient parsing.
A spreadsheet's thousands separator splits ``15,071,498.10`` into three fields and the amount
becomes 15; an id in another case (``Shanyuan``) matches nothing and its rows vanish; a
missing value typed as ``0`` or a value in µg/L passes as a concentration in mg/L; a Latin-1
file ends in a traceback. Every CSV input of gep is therefore read here, and every check is
strict by default and says how to fix the file:

- encoding: UTF-8 only (a byte-order mark is accepted); anything else is an error naming the
  first bad byte and its line;
- shape: the header must hold the expected columns once each; every line must have exactly as
  many fields as the header (an extra field is almost always an unquoted comma, e.g. a
  thousands separator);
- numbers: plain decimals only (``15071498.10``, ``-3``, ``1e-3``): no thousands separators,
  no decimal commas, no underscores, nothing non-finite, nothing beyond ``MAX_MAGNITUDE``
  (money beyond ``MAX_MONEY_CNY``);
- ids: matched exactly against the ids the agreement or configuration knows; a case
  difference or a near miss is reported with "did you mean '...'?";
- water-quality concentrations: within the plausible range of the indicator
  (:data:`PLAUSIBLE_MG_L`), so a 0 or a µg/L value stops the run unless a setting widens the
  range (see docs/compensation.md, "Input rules").

Every error is an :class:`gep.errors.InputDataError` reading
``<file>, line <n>, field '<field>': <problem>. Fix: <fix>``.
"""
from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

from gep.errors import InputDataError

#: Largest magnitude accepted for any number in an input table.
MAX_MAGNITUDE = Decimal("1e15")
#: Largest amount of money (CNY) accepted anywhere (inputs, agreement amounts).
MAX_MONEY_CNY = Decimal("1e15")

#: Plausible annual-mean concentrations (mg/L) of GB 3838-2002 indicators, [low, high].
#: Low: about the method's detection limit (GB 11892 permanganate index 0.5, HJ 535 ammonia
#: 0.025, GB 11893 total phosphorus 0.01, HJ 636 total nitrogen 0.05 mg/L; dissolved oxygen
#: never reaches 0 as an annual mean), so a 0 (a missing value typed as 0) is refused. High:
#: far beyond class V (劣V), so a value written in µg/L (1000 x) is refused. An agreement may
#: widen a range (water_quality_bet.plausible_mg_l) when a real value lies outside it.
PLAUSIBLE_MG_L: dict[str, tuple[Decimal, Decimal]] = {
    "codmn": (Decimal("0.1"), Decimal("100")),   # permanganate index 高锰酸盐指数 (V: 15)
    "nh3n": (Decimal("0.005"), Decimal("50")),   # ammonia nitrogen 氨氮 (V: 2.0)
    "tp": (Decimal("0.001"), Decimal("10")),     # total phosphorus 总磷 (V: 0.4)
    "tn": (Decimal("0.01"), Decimal("100")),     # total nitrogen 总氮 (V: 2.0)
    "cod": (Decimal("1"), Decimal("1000")),      # chemical oxygen demand 化学需氧量 (V: 40)
    "bod5": (Decimal("0.1"), Decimal("500")),    # five-day BOD 五日生化需氧量 (V: 10)
    "do": (Decimal("0.1"), Decimal("20")),       # dissolved oxygen 溶解氧 (V: >= 2)
}

_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_SEPARATED_RE = re.compile(r"^[+-]?\d{1,3}([,'\u00a0\u202f _]\d{3})+([.,]\d+)?$")
_DECIMAL_COMMA_RE = re.compile(r"^[+-]?\d+,\d+$")


# -- encoding -------------------------------------------------------------------------------------
def decode_utf8(path: str | Path, data: bytes) -> str:
    """``data`` as text; not UTF-8 -> an error naming the first bad byte and its line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputDataError(str(path), f"not UTF-8 (byte 0x{data[exc.start]:02x} at line "
                             f"{line})", "save the file as UTF-8 (a spreadsheet's 'CSV UTF-8' "
                             "format); a byte-order mark is fine") from None
    return text.removeprefix("\ufeff")


def check_utf8_config(path: str | Path) -> None:
    """A settings file (YAML) that exists must be UTF-8: else a ConfigError naming the byte."""
    from gep.errors import ConfigError

    path = Path(path)
    if not path.is_file():
        return  # the loader reports a missing file in its own words
    try:
        decode_utf8(path, path.read_bytes())
    except InputDataError as exc:
        raise ConfigError("(encoding)", exc.problem, exc.fix, file=str(path)) from None


def check_utf8_file(path: str | Path, chunk: int = 1 << 24) -> None:
    """Stream ``path`` and raise like :func:`decode_utf8` at the first byte that is not UTF-8.

    For large files read by other parsers (pyarrow), called on their error path only.
    """
    import codecs

    dec = codecs.getincrementaldecoder("utf-8")()
    lines = 1
    offset = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            try:
                dec.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                # the decoder's buffered tail may precede this block: locate within the block
                pos = max(exc.start - len(exc.object) + len(block), 0)
                line = lines + block.count(b"\n", 0, pos)
                bad = block[pos] if pos < len(block) else exc.object[exc.start]
                raise InputDataError(str(path), f"not UTF-8 (byte 0x{bad:02x} at line "
                                     f"{line})", "save the file as UTF-8 (a spreadsheet's "
                                     "'CSV UTF-8' format); a byte-order mark is fine") from None
            if not block:
                return
            lines += block.count(b"\n")
            offset += len(block)


# -- ids ------------------------------------------------------------------------------------------
def suggest(value: str, known: Iterable[str], case_only: bool = False) -> str | None:
    """The known id ``value`` was probably meant to be: same id in another case, else (unless
    ``case_only``) the closest near miss (difflib) or a known id with something added or cut
    off, else None. ``case_only`` is for files where other ids legitimately sit beside the
    known ones (sections ``s_1`` and ``s_2`` are near misses of each other, but both real)."""
    known = list(known)
    low = value.strip().lower()
    for k in known:
        if k.lower() == low:
            return k
    if case_only:
        return None
    close = difflib.get_close_matches(low, [k.lower() for k in known], n=1, cutoff=0.75)
    if close:
        return next(k for k in known if k.lower() == close[0])
    # a known id with something added or cut off (xiahe_city, shanyuan_county, water_cons)
    stems = [k for k in known if len(k) >= 4 and len(low) >= 4
             and (low.startswith(k.lower()) or k.lower().startswith(low))]
    return stems[0] if len(stems) == 1 else None


def unknown_id_fix(value: str, known: Sequence[str], where: str) -> str:
    """``Fix:`` text for an id not in ``known``: a did-you-mean when there is one."""
    guess = suggest(value, known)
    listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    if guess is not None:
        return f"did you mean '{guess}'? Ids are matched exactly (case too); {where} has " \
               f"{listed}"
    return f"use one of {listed} ({where})"


# -- numbers --------------------------------------------------------------------------------------
def number_problem(text: str) -> tuple[str, str] | None:
    """Why ``text`` is not a plain decimal number, as (problem, fix); None when it is one."""
    if _NUMBER_RE.match(text):
        return None
    if not text:
        return "empty", "fill in the number"
    if _SEPARATED_RE.match(text):
        sign = text[0] if text[0] in "+-" else ""
        body = text.lstrip("+-")
        cut = len(body) - 3 if _DECIMAL_COMMA_RE.match(text) else len(body)
        frac = re.search(r"\.\d+$", body)
        digits = re.sub(r"\D", "", body[: frac.start()] if frac else body)
        plain = sign + digits + (frac.group(0) if frac else "")
        alt = f", or {text.replace(',', '.')} if the comma is a decimal point" \
            if cut != len(body) else ""
        return (f"'{text}' has a thousands separator",
                f"write {plain}{alt} (digits only, '.' as the decimal point; in a spreadsheet "
                "choose a number format without separators before saving as CSV)")
    if _DECIMAL_COMMA_RE.match(text):
        return (f"'{text}' has a decimal comma",
                f"write {text.replace(',', '.')} ('.' as the decimal point)")
    if text.lower().lstrip("+-") in ("nan", "inf", "infinity", "snan"):
        return f"'{text}' is not a finite number", "write a measured or computed value"
    return f"'{text}' is not a number", "write a plain decimal number such as 1234.56"


def parse_decimal(text: str, *, file: str, field: str, line: int | None = None,
                  money: bool = False, min_value: Decimal | None = None,
                  positive: bool = False, max_value: Decimal | None = None) -> Decimal:
    """``text`` as an exact Decimal, refusing anything but a plain decimal of sane size."""
    bad = number_problem(text)
    if bad is not None:
        raise InputDataError(file, bad[0], bad[1], line=line, field=field)
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        raise InputDataError(file, f"'{text}' is not a number", "write a plain decimal",
                             line=line, field=field) from None
    limit = MAX_MONEY_CNY if money else MAX_MAGNITUDE
    if abs(value) > limit:
        what = "an amount of money" if money else "a value"
        raise InputDataError(file, f"{text} is absurdly large for {what} (limit {limit:,.0f}"
                             f"{' CNY' if money else ''})", "check the value and its unit",
                             line=line, field=field)
    if positive and value <= 0:
        raise InputDataError(file, f"{text} must be positive", "check the value",
                             line=line, field=field)
    if min_value is not None and value < min_value:
        raise InputDataError(file, f"{text} is below {min_value}", "amounts and "
                             "concentrations cannot be negative" if min_value == 0 else
                             "check the value", line=line, field=field)
    if max_value is not None and value > max_value:
        raise InputDataError(file, f"{text} is above {max_value}", "check the value",
                             line=line, field=field)
    return value


def check_concentration(value: Decimal, indicator: str, *, file: str, line: int | None,
                        field: str, overrides: dict | None = None) -> None:
    """Refuse an annual mean concentration (mg/L) outside the indicator's plausible range.

    ``overrides`` maps indicator -> (low, high) from the agreement; indicators without a
    range must simply be positive.
    """
    rng = (overrides or {}).get(indicator) or PLAUSIBLE_MG_L.get(indicator)
    setting = f"water_quality_bet.plausible_mg_l.{indicator}"
    if rng is None:
        if value <= 0:
            raise InputDataError(file, f"a concentration of {value} mg/L for '{indicator}' is "
                                 "not plausible (a missing value typed as 0?)",
                                 "leave the year out or give the measured mean; a true 0 "
                                 f"needs {setting}: [0, HIGH] in the agreement", line=line,
                                 field=field)
        return
    low, high = rng
    if value < low:
        hint = " (a missing value typed as 0?)" if value == 0 else ""
        raise InputDataError(file, f"{value} mg/L of '{indicator}' is below the plausible "
                             f"{low}-{high} mg/L{hint}", "give the measured annual mean, or "
                             f"if the value is real widen the range with {setting}: "
                             f"[{value}, {high}] in the agreement", line=line, field=field)
    if value > high:
        micro = value / 1000
        hint = f" (a value in µg/L? {value} µg/L = {micro.normalize():f} mg/L)" \
            if low <= micro <= high else ""
        raise InputDataError(file, f"{value} mg/L of '{indicator}' is above the plausible "
                             f"{low}-{high} mg/L{hint}", "write concentrations in mg/L, or if "
                             f"the value is real widen the range with {setting}: [{low}, "
                             f"{value}] in the agreement", line=line, field=field)


# -- the reader -----------------------------------------------------------------------------------
class Row:
    """One data line of a table: ``row[column]`` is its stripped text; typed getters check."""

    __slots__ = ("table", "line", "values")

    def __init__(self, table: Table, line: int, values: dict[str, str]):
        self.table = table
        self.line = line
        self.values = values

    def __getitem__(self, column: str) -> str:
        return self.values[column]

    def get(self, column: str, default: str = "") -> str:
        return self.values.get(column, default)

    def error(self, field: str | None, problem: str, fix: str) -> InputDataError:
        return InputDataError(self.table.file, problem, fix, line=self.line, field=field)

    def text(self, column: str, what: str | None = None) -> str:
        """A required text field."""
        v = self.values[column]
        if not v:
            raise self.error(column, f"empty {what or column}", f"fill in the {what or column}")
        return v

    def decimal(self, column: str, **kw) -> Decimal:
        return parse_decimal(self.values[column], file=self.table.file, field=column,
                             line=self.line, **kw)

    def number(self, column: str, **kw) -> float:
        return float(self.decimal(column, **kw))

    def integer(self, column: str, what: str = "a whole number") -> int:
        v = self.values[column]
        if not re.fullmatch(r"[+-]?\d+", v):
            bad = number_problem(v)
            problem = bad[0] if bad and "separator" in bad[0] else f"'{v}' is not {what}"
            raise self.error(column, problem, f"write {what}")
        return int(v)

    def year(self, column: str = "year") -> int:
        v = self.values[column]
        if not re.fullmatch(r"\d{4}", v):
            raise self.error(column, f"'{v}' is not a year", "write a four-digit year")
        year = int(v)
        if not 1900 <= year <= 2200:
            raise self.error(column, f"year {year} is out of range", "write a four-digit year")
        return year

    def date(self, column: str = "date") -> dt.date:
        v = self.values[column]
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            raise self.error(column, f"'{v}' is not a date", "write it as YYYY-MM-DD") from None

    def boolean(self, column: str) -> bool:
        v = self.values[column].lower()
        if v in ("true", "1"):
            return True
        if v in ("false", "0"):
            return False
        raise self.error(column, f"'{self.values[column]}' is not true or false",
                         "write true or false")

    def id(self, column: str, known: Sequence[str], where: str, *,
           allow_empty: bool = False) -> str:
        """An id that must be one of ``known`` exactly (did-you-mean on a near miss)."""
        v = self.values[column]
        if not v:
            if allow_empty:
                return v
            raise self.error(column, f"empty {column}", f"fill in the {column}")
        if v not in known:
            raise self.error(column, f"{column} '{v}' is not in {where}",
                             unknown_id_fix(v, list(known), where))
        return v


class Table:
    """A checked CSV input: ``header``, ``rows`` (``Row``), ``file`` (the path as text)."""

    def __init__(self, path: str | Path, header: list[str], rows: list[Row] | None = None):
        self.path = Path(path)
        self.file = str(path)
        self.header = header
        self.rows: list[Row] = rows or []

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def error(self, problem: str, fix: str, field: str | None = None,
              line: int | None = None) -> InputDataError:
        return InputDataError(self.file, problem, fix, line=line, field=field)


def read_table(path: str | Path, columns: Sequence[str], what: str, *,
               optional: Sequence[str] = (), exact: bool = False,
               missing_fix: str | None = None) -> Table:
    """Read and check a CSV input (see the module docstring); rows keep their line numbers.

    ``columns`` must all be present; ``optional`` columns may be; other columns are allowed
    unless ``exact``. Values are stripped; blank lines are skipped.
    """
    path = Path(path)
    src = str(path)
    if not path.exists():
        raise InputDataError(src, f"{what} file does not exist",
                             missing_fix or "check the path passed on the command line")
    if not path.is_file():
        raise InputDataError(src, f"{what} path is a folder, not a file",
                             "pass the CSV file itself")
    text = decode_utf8(path, path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        raw = next(reader, None)
    except csv.Error as exc:
        raise InputDataError(src, f"malformed CSV ({exc})", "fix the header line",
                             line=1) from None
    if raw is None:
        raise InputDataError(src, "the file is empty", f"write the header "
                             f"{','.join(columns)} and one row per line", line=1)
    header = [h.strip() for h in raw]
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise InputDataError(src, f"repeated column(s) {', '.join(dupes)}",
                             "keep each column once", line=1)
    missing = [c for c in columns if c not in header]
    extra = [h for h in header if h not in columns and h not in optional] if exact else []
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(extra)}")
        guess = {c: suggest(c, [h for h in header if h and h not in columns])
                 for c in missing}
        hint = "; ".join(f"'{g}' should read '{c}'" for c, g in guess.items() if g)
        must = (f"the header must be exactly {','.join([*columns, *optional])}" if exact
                else f"the header must include {','.join(columns)}")
        raise InputDataError(src, "; ".join(parts), (f"{hint}; " if hint else "") + must,
                             line=1)
    table = Table(path, header)
    n = len(header)
    try:
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != n:
                raise _field_count_error(src, line, header, fields)
            table.rows.append(Row(table, line, {h: f.strip() for h, f in zip(header, fields)}))
    except csv.Error as exc:
        raise InputDataError(src, f"malformed CSV ({exc})", "check the quoting of that line",
                             line=reader.line_num) from None
    return table


def _field_count_error(src: str, line: int, header: list[str],
                       fields: list[str]) -> InputDataError:
    """A line with too many or too few fields; names the field an unquoted thousands
    separator split, when that is what happened."""
    n, extra = len(header), len(fields) - len(header)
    if extra > 0:
        for k in range(n):
            joined = ",".join(f.strip() for f in fields[k:k + extra + 1])
            if _SEPARATED_RE.match(joined):
                bad = number_problem(joined)
                return InputDataError(src, f"{bad[0]} (unquoted, it splits the line into "
                                      f"{len(fields)} fields; the header has {n})", bad[1],
                                      line=line, field=header[k])
        return InputDataError(src, f"{len(fields)} fields but the header has {n}: a comma "
                              "inside a value, such as a thousands separator (15,071,498.10)?",
                              "remove thousands separators from numbers and put text that "
                              "contains commas in double quotes", line=line)
    return InputDataError(src, f"{len(fields)} fields but the header has {n}",
                          f"give every line the {n} fields {','.join(header)}", line=line)
