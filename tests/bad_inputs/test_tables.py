"""The one reader of tabular inputs (gep.tables): the rules it enforces, checked directly."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from gep.errors import InputDataError
from gep.tables import (
    MAX_MONEY_CNY,
    PLAUSIBLE_MG_L,
    check_concentration,
    check_utf8_file,
    decode_utf8,
    number_problem,
    parse_decimal,
    read_table,
    suggest,
)

from .harness import REPO


@pytest.mark.parametrize("text", ["0", "15071498.10", "-3", "+2.5", ".5", "5.", "1e-3",
                                  "2E+6", "007"])
def test_plain_decimals_are_accepted_exactly(text):
    assert number_problem(text) is None
    assert parse_decimal(text, file="f", field="x") == Decimal(text)


@pytest.mark.parametrize("text, problem", [
    ("15,071,498.10", "thousands separator"),
    ("1,000", "thousands separator"),
    ("1 000 000", "thousands separator"),
    ("1'000.5", "thousands separator"),
    ("1_000", "thousands separator"),        # Decimal() itself would accept this one
    ("12,5", "decimal comma"),
    ("nan", "not a finite number"),
    ("-Infinity", "not a finite number"),
    ("1.2.3", "not a number"),
    ("", "empty"),
    ("0x10", "not a number"),
])
def test_anything_else_is_refused_with_the_reason(text, problem):
    with pytest.raises(InputDataError, match=problem) as e:
        parse_decimal(text, file="t.csv", field="amount", line=7)
    assert str(e.value).startswith("t.csv, line 7, field 'amount': ")
    assert "Fix: " in str(e.value)


def test_separator_fix_gives_the_plain_number():
    problem, fix = number_problem("15,071,498.10")
    assert "write 15071498.10" in fix
    assert Decimal("15071498.10") == Decimal(fix.split("write ")[1].split()[0])


def test_money_and_magnitude_limits():
    assert parse_decimal(str(MAX_MONEY_CNY), file="f", field="x", money=True) == MAX_MONEY_CNY
    for text in ("1e308", "1.000000000000001e15", "-2e15"):
        with pytest.raises(InputDataError, match="absurdly large for an amount of money"):
            parse_decimal(text, file="f", field="x", money=True)


def test_utf8_with_or_without_bom_and_the_first_bad_byte():
    assert decode_utf8("f", "\ufeffa,b\n山,1\n".encode()) == "a,b\n山,1\n"
    data = "a,b\nx,1\n".encode() + "dégât,2\n".encode("latin-1")
    with pytest.raises(InputDataError, match=r"f: not UTF-8 \(byte 0xe9 at line 3\)\. Fix: "):
        decode_utf8("f", data)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 1 << 20])
def test_streaming_check_agrees_with_the_whole_file_check(tmp_path, chunk):
    # multi-byte characters straddle chunk edges; the bad byte's line is found whatever the size
    good = "年,站,值\n2021,山源,1\n" * 3
    bad = good.encode() + "x,µ,2\n".encode("latin-1") + b"tail\n"
    p = tmp_path / "r.csv"
    p.write_bytes(good.encode())
    check_utf8_file(p, chunk=chunk)   # no error
    p.write_bytes(bad)
    with pytest.raises(InputDataError) as whole:
        decode_utf8(p, bad)
    with pytest.raises(InputDataError) as streamed:
        check_utf8_file(p, chunk=chunk)
    assert str(streamed.value) == str(whole.value)
    assert "byte 0xb5 at line 7" in str(whole.value)   # 6 good lines before it


def test_suggestions_for_case_and_near_misses_only():
    known = ["shanyuan", "linxi", "yunling", "xiahe", "nanzhou"]
    assert suggest("Shanyuan", known) == "shanyuan"
    assert suggest("SHANYUAN ", known) == "shanyuan"
    assert suggest("shanyaun", known) == "shanyuan"      # transposed letters
    assert suggest("xiahe_city", known) == "xiahe"      # something added
    assert suggest("qingshan", known) is None
    assert suggest("water_conservaton", ["water_conservation", "biodiversity"]) == \
        "water_conservation"


def test_plausible_ranges_admit_every_gb3838_class_limit_and_the_demo_data():
    """The ranges refuse only implausible values: every class limit of GB 3838-2002 in the
    shipped monitoring configuration, every demo annual mean and every agreement baseline
    lies inside its indicator's range, and 0 and 1000x the class V limit lie outside."""
    mon = yaml.safe_load((REPO / "config" / "monitoring.yaml").read_text(encoding="utf-8"))
    checked = 0
    for ind, spec in mon["indicators"].items():
        if ind not in PLAUSIBLE_MG_L:
            continue
        low, high = PLAUSIBLE_MG_L[ind]
        limits = spec["standard"]["limits"]
        for v in limits.values():
            v = Decimal(str(v))
            check_concentration(v, ind, file="f", line=None, field="c")
            checked += 1
        worst = max(Decimal(str(v)) for v in limits.values())
        for bad in (Decimal(0), worst * 1000):
            with pytest.raises(InputDataError):
                check_concentration(bad, ind, file="f", line=None, field="c")
    assert checked >= 20
    for row in read_table(REPO / "config" / "demo" / "section_quality_standin.csv",
                          ("indicator", "concentration_mg_l"), "demo quality"):
        check_concentration(row.decimal("concentration_mg_l"), row["indicator"], file="f",
                            line=row.line, field="c")
    for name in ("agreement.yaml", "agreements/xinan_round1.yaml"):
        a = yaml.safe_load((REPO / "config" / name).read_text(encoding="utf-8"))
        for ind, spec in a["water_quality_bet"]["indicators"].items():
            assert ind in PLAUSIBLE_MG_L
            check_concentration(Decimal(str(spec["baseline_mg_l"])), ind, file="f", line=None,
                                field="c")


def test_a_setting_widens_a_range_and_ug_l_is_recognised():
    with pytest.raises(InputDataError, match="missing value typed as 0"):
        check_concentration(Decimal(0), "tn", file="f", line=2, field="c")
    check_concentration(Decimal(0), "tn", file="f", line=2, field="c",
                        overrides={"tn": (Decimal(0), Decimal(100))})
    with pytest.raises(InputDataError, match=r"a value in µg/L\? 1350 µg/L = 1.35 mg/L"):
        check_concentration(Decimal(1350), "tn", file="f", line=2, field="c")


def test_reader_keeps_true_line_numbers_and_names_the_split_field(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("year,party_id,amount\n\n2021,a,1.5\n\n2022,b,15,071,498.10\n",
                 encoding="utf-8")
    with pytest.raises(InputDataError) as e:
        read_table(p, ("year", "party_id", "amount"), "test")
    msg = str(e.value)
    assert msg.startswith(f"{p}, line 5, field 'amount': '15,071,498.10' has a thousands "
                          "separator (unquoted, it splits the line into 5 fields")
    p.write_text("year,party_id,amount\n\n2021,a,1.5\n", encoding="utf-8")
    rows = list(read_table(p, ("year", "amount"), "test"))
    assert [(r.line, r.values) for r in rows] == [(3, {"year": "2021", "party_id": "a",
                                                      "amount": "1.5"})]


def test_reader_refuses_folders_and_empty_files(tmp_path):
    with pytest.raises(InputDataError, match="is a folder"):
        read_table(tmp_path, ("a",), "test")
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(InputDataError, match="the file is empty"):
        read_table(tmp_path / "e.csv", ("a",), "test")
    with pytest.raises(InputDataError, match="does not exist"):
        read_table(Path(tmp_path / "none.csv"), ("a",), "test")


def test_case_only_suggestions_leave_real_neighbours_alone():
    # other sections legitimately sit beside the bet's section in section_quality.csv
    assert suggest("section_2", ["section_1"]) == "section_1"
    assert suggest("section_2", ["section_1"], case_only=True) is None
    assert suggest("Section_1", ["section_1"], case_only=True) == "section_1"
