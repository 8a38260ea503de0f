"""Daily dispatch: pace, anomaly days paused and alerted, escrow released or forfeited,
money balancing to the fen. Expected amounts are computed by hand or with Fractions."""
from __future__ import annotations

import csv
import datetime as dt
import itertools
from decimal import Decimal
from fractions import Fraction

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from gep.errors import InputDataError
from gep.monitoring.dispatch import ALERT_HEADER, TRANSFER_HEADER, dispatch

from .helpers import CONFIG

YEAR = 2021
DAYS = [dt.date(YEAR, 1, 1) + dt.timedelta(days=i) for i in range(365)]
BASELINES = {"codmn": 2.0, "nh3n": 0.12, "tp": 0.025, "tn": 1.10}
AGREEMENT = {
    "agreement": "dispatch-test", "currency": "CNY", "base_year": 2020,
    "cpi": {2021: 0.01},
    "accounts": [{"id": "central", "role": "central"}, {"id": "fund", "role": "fund"},
                 {"id": "up_a", "role": "upstream", "base_weight": 1},
                 {"id": "up_b", "role": "upstream", "base_weight": 1},
                 {"id": "down_x", "role": "downstream", "benefit_weight": 1}],
    "funding": {"central": 0.5, "downstream": 0.5},
    "base_payment": 1000,
    "tiers": {"basic": 0.5, "performance": 0.3, "excess": 0.2}, "excess_margin": 0.15,
    "water_quality_bet": {"section": "boundary", "k0": 0.85,
                          "indicators": {k: {"weight": 0.25, "baseline_mg_l": v}
                                         for k, v in BASELINES.items()}},
}


def _write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _read(path):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def make_case(tmp, funding, index_of=None, anomaly_days=(), missing_days=(), factor=1.0):
    """Write agreement, transfers, daily index, anomalies and quality files.

    ``funding``: {party: {payer: "amount"}}; ``index_of(party, day)`` -> index text;
    ``factor`` scales every bet indicator's annual mean: P = 0.85 * factor.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "agreement.yaml").write_text(yaml.safe_dump(AGREEMENT), encoding="utf-8")
    rows = [["t0", YEAR - 1, "base", "central", "up_a", "999.00", "other year"],
            ["t1", YEAR, "clawback", "up_a", "central", "5.00", "not an entitlement"]]
    for party, payers in funding.items():
        for i, (payer, amount) in enumerate(payers.items()):
            clause = "base" if i % 2 == 0 else "reward"
            rows.append([f"{party}{payer}", YEAR, clause, payer, party, amount, "x"])
    _write_csv(tmp / "transfers.csv", TRANSFER_HEADER, rows)
    idx_rows, anom_rows = [], []
    for d in DAYS:
        idx_rows.append([d.isoformat(), "boundary", "0.9000", "false", "", ""])
        for party in ("up_a", "up_b"):
            if (party, d) in missing_days:
                continue
            bad = (party, d) in anomaly_days
            reason = f"nh3n 1.2 mg/L > class III limit 1 at {party}_out" if bad else ""
            idx = index_of(party, d) if index_of else "1.0000"
            idx_rows.append([d.isoformat(), f"{party}_outlet", idx, "true" if bad else "false",
                             reason, party])
            if bad:
                anom_rows.append([d.isoformat(), f"{party}_outlet", f"{party}_out", party,
                                  "standard", "nh3n", "1.2", "1", "mg/L", "24", reason])
    _write_csv(tmp / "daily_index.csv", ["date", "section", "index", "anomaly", "reason",
                                         "party_id"], idx_rows)
    _write_csv(tmp / "anomalies.csv", ["date", "section", "station", "party_id", "cause",
                                       "indicator", "value", "limit", "unit", "n_valid",
                                       "message"], anom_rows)
    _write_csv(tmp / "quality.csv", ["year", "section", "indicator", "concentration_mg_l"],
               [[YEAR, "boundary", k, repr(v * factor)] for k, v in BASELINES.items()])
    return tmp


def run_case(case, out):
    return dispatch(case / "transfers.csv", case / "daily_index.csv", case / "agreement.yaml",
                    case / "quality.csv", YEAR, out, CONFIG)


FUNDING = {"up_a": {"central": "186150.00", "down_x": "182500.00"},   # 510.00 + 500.00 a day
           "up_b": {"central": "100000.05", "down_x": "36500.00"}}
PACE_DAY, BAD_DAY, NO_DATA_DAY = dt.date(2021, 2, 10), dt.date(2021, 3, 5), dt.date(2021, 4, 1)


@pytest.fixture
def case(tmp_path):
    def index_of(party, d):
        return "0.7500" if (party, d) == ("up_a", PACE_DAY) else "1.0000"
    return make_case(tmp_path / "in", FUNDING, index_of, anomaly_days={("up_a", BAD_DAY)},
                     missing_days={("up_a", NO_DATA_DAY)})


def test_pace_anomaly_and_missing_day(case, tmp_path):
    paths = run_case(case, tmp_path / "out")
    rows = {(r["date"], r["party_id"]): r for r in _read(paths["disbursements"])}
    assert len(rows) == 2 * 365
    normal = rows[("2021-01-05", "up_a")]
    assert (normal["scheduled_cny"], normal["paid_cny"], normal["withheld_cny"]) == \
        ("1010.00", "1010.00", "0.00")
    # pace(0.75) = 0.5 + (1 - 0.5) * (0.75 - 0.6) / (0.9 - 0.6) = 0.75
    paced = rows[(PACE_DAY.isoformat(), "up_a")]
    assert (paced["paid_cny"], paced["withheld_cny"], paced["pace"]) == \
        ("757.50", "252.50", "0.7500")
    bad = rows[(BAD_DAY.isoformat(), "up_a")]
    assert (bad["paid_cny"], bad["withheld_cny"], bad["anomaly"]) == ("0.00", "1010.00", "true")
    assert "nh3n 1.2 mg/L" in bad["reason"]
    gone = rows[(NO_DATA_DAY.isoformat(), "up_a")]
    assert (gone["paid_cny"], gone["withheld_cny"]) == ("0.00", "1010.00")
    assert "no monitoring data" in gone["reason"]
    # alerts: one per cause, with station and values from anomalies.csv
    alerts = _read(paths["alerts"])
    assert list(alerts[0]) == list(ALERT_HEADER)
    by_date = {a["date"]: a for a in alerts}
    assert set(by_date) == {BAD_DAY.isoformat(), NO_DATA_DAY.isoformat()}
    a = by_date[BAD_DAY.isoformat()]
    assert (a["party_id"], a["cause"], a["station"], a["indicator"], a["value"], a["limit"],
            a["day_withheld_cny"]) == ("up_a", "standard", "up_a_out", "nh3n", "1.2", "1",
                                       "1010.00")
    assert by_date[NO_DATA_DAY.isoformat()]["cause"] == "no_data"


def test_money_balances_and_escrow_is_released_when_p_is_met(case, tmp_path):
    paths = run_case(case, tmp_path / "out")   # P = 0.85 <= 1
    disb = _read(paths["disbursements"])
    for party, payers in FUNDING.items():
        mine = [r for r in disb if r["party_id"] == party]
        ent = sum(Decimal(v) for v in payers.values())
        assert sum(Decimal(r["scheduled_cny"]) for r in mine) == ent
        assert sum(Decimal(r["paid_cny"]) + Decimal(r["withheld_cny"]) for r in mine) == ent
    ledger = _read(paths["ledger_transfers"])
    assert list(ledger[0]) == list(TRANSFER_HEADER)
    assert len({r["transfer_id"] for r in ledger}) == len(ledger)
    assert all(Decimal(r["amount_cny"]) > 0 and len(r["amount_cny"].split(".")[1]) == 2
               for r in ledger)
    # each payer's daily transfers for a party add up to what it funds, exactly
    for party, payers in FUNDING.items():
        for payer, amount in payers.items():
            flows = [r for r in ledger if r["from_account"] == payer and (
                r["to_account"] == party or (r["to_account"] == "escrow"
                                             and f"for {party} " in r["explanation"]))]
            assert sum(Decimal(r["amount_cny"]) for r in flows) == Decimal(amount)
    release = [r for r in ledger if r["clause"] == "release"]
    assert [(r["from_account"], r["to_account"], r["amount_cny"]) for r in release] == \
        [("escrow", "up_a", "2272.50")]          # 252.50 + 1010.00 + 1010.00
    assert not [r for r in ledger if r["clause"] == "forfeit"]
    s = {r["party_id"]: r for r in _read(paths["settlement"])}
    assert (s["up_a"]["withheld_cny"], s["up_a"]["released_cny"], s["up_a"]["P"]) == \
        ("2272.50", "2272.50", "0.8500")
    assert s["up_b"]["withheld_cny"] == "0.00" and s["up_b"]["entitlement_cny"] == "136500.05"


def test_escrow_is_forfeited_to_the_payers_that_funded_it(tmp_path):
    def index_of(party, d):
        return "0.7500" if (party, d) == ("up_a", PACE_DAY) else "1.0000"
    case = make_case(tmp_path / "in", FUNDING, index_of, anomaly_days={("up_a", BAD_DAY)},
                     missing_days={("up_a", NO_DATA_DAY)}, factor=1.3)   # P = 1.105
    paths = run_case(case, tmp_path / "out")
    ledger = _read(paths["ledger_transfers"])
    forfeit = {r["to_account"]: r["amount_cny"] for r in ledger if r["clause"] == "forfeit"}
    # the paced day's 757.50 is paid 510:500 -> 382.50 + 375.00, so central put
    # 127.50 + 510 + 510 into escrow and down_x 125.00 + 500 + 500
    assert forfeit == {"central": "1147.50", "down_x": "1125.00"}
    assert not [r for r in ledger if r["clause"] == "release"]
    s = {r["party_id"]: r for r in _read(paths["settlement"])}
    assert s["up_a"]["p_met"] == "false" and s["up_a"]["forfeited_cny"] == "2272.50"


def test_bad_inputs_write_nothing(tmp_path):
    case = make_case(tmp_path / "in", FUNDING, missing_days={("up_b", d) for d in DAYS})
    with pytest.raises(InputDataError, match="no section of upstream party 'up_b' in 2021"):
        run_case(case, tmp_path / "out")
    case = make_case(tmp_path / "in2", FUNDING)
    (case / "quality.csv").write_text("year,section,indicator,concentration_mg_l\n"
                                      "2020,boundary,codmn,2\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="no annual means for section 'boundary' in 2021"):
        run_case(case, tmp_path / "out")
    (case / "daily_index.csv").write_text("date,section,index,anomaly\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"missing column\(s\) reason, party_id"):
        run_case(case, tmp_path / "out")
    assert not (tmp_path / "out").exists()


PACE_POINTS = [(Fraction(0), Fraction(0)), (Fraction(6, 10), Fraction(1, 2)),
               (Fraction(9, 10), Fraction(1)), (Fraction(1), Fraction(1))]


def _pace_fraction(i: Fraction) -> Fraction:
    for (x0, y0), (x1, y1) in itertools.pairwise(PACE_POINTS):
        if x0 <= i <= x1:
            return y0 + (y1 - y0) * (i - x0) / (x1 - x0)
    raise AssertionError


def _half_up_fen(x: Fraction) -> Fraction:
    cents = x * 100
    n = cents.numerator // cents.denominator
    if cents - n >= Fraction(1, 2):
        n += 1
    return Fraction(n, 100)


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(cents=st.lists(st.integers(0, 10**10), min_size=2, max_size=2),
       indexes=st.lists(st.integers(0, 10000), min_size=365, max_size=365),
       bad=st.sets(st.integers(0, 364), max_size=40), factor=st.sampled_from([0.9, 1.4]))
def test_dispatch_properties(tmp_path_factory, cents, indexes, bad, factor):
    """Random entitlements, indexes and anomaly days: every day pays
    round_half_up(schedule * pace) (0 on anomaly days), nothing is negative, every payer's
    flows sum to what it funds, and released + forfeited = withheld."""
    tmp = tmp_path_factory.mktemp("prop")
    funding = {"up_a": {"central": f"{cents[0] // 100}.{cents[0] % 100:02d}",
                        "down_x": f"{cents[1] // 100}.{cents[1] % 100:02d}"},
               "up_b": {"central": "1.00"}}
    idx = {d: f"{indexes[i] / 10000:.4f}" for i, d in enumerate(DAYS)}
    case = make_case(tmp / "in", funding, lambda p, d: idx[d],
                     anomaly_days={("up_a", DAYS[i]) for i in bad}, factor=factor)
    paths = run_case(case, tmp / "out")
    rows = [r for r in _read(paths["disbursements"]) if r["party_id"] == "up_a"]
    total = Fraction(cents[0] + cents[1], 100)
    assert sum(Fraction(r["scheduled_cny"]) for r in rows) == total
    for i, r in enumerate(rows):
        s, paid, held = (Fraction(r[k]) for k in ("scheduled_cny", "paid_cny", "withheld_cny"))
        assert paid >= 0 and held >= 0 and paid + held == s
        expected = 0 if i in bad else _half_up_fen(s * _pace_fraction(Fraction(indexes[i],
                                                                               10000)))
        assert paid == expected
    ledger = _read(paths["ledger_transfers"])
    assert all(Fraction(r["amount_cny"]) > 0 for r in ledger)
    for payer, amount in funding["up_a"].items():
        out = sum(Fraction(r["amount_cny"]) for r in ledger if r["from_account"] == payer
                  and (r["to_account"] == "up_a" or "for up_a " in r["explanation"]))
        assert out == Fraction(amount)
    held = sum(Fraction(r["withheld_cny"]) for r in rows)
    settled = sum(Fraction(r["amount_cny"]) for r in ledger
                  if r["clause"] in ("release", "forfeit") and (
                      r["to_account"] == "up_a" or "escrow of up_a" in r["explanation"]))
    assert settled == held
