"""Star rating: scores, stars and incentives recomputed from the rules (not by calling the
rating code), rounding, provisional declarations, certificates, and bad input."""
from __future__ import annotations

import csv
import re
import subprocess
import sys
from fractions import Fraction

import pytest
import yaml

PARTIES = "index,party_id,name,name_zh,role,province\n1,up,Up County,上县,upstream,A\n" \
          "2,down,Down City,下市,downstream,B\n"
HEADER = ("year,enterprise_id,name,party_id,sector,revenue_cny,env_investment_cny,"
          "pollutant_baseline_t,pollutant_reduction_t,green_tech_share,emissions_t,verified")


def gep(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "gep", *args], capture_output=True, text=True,
                          cwd=cwd)


@pytest.fixture
def files(tmp_path, repo):
    (tmp_path / "parties.csv").write_text(PARTIES)
    rules = tmp_path / "rules.yaml"
    rules.write_text((repo / "config" / "star_rating.yaml").read_text())
    return tmp_path, rules


def run_rate(tmp, decl, rules, out="out"):
    return gep("rate", "--config", str(tmp / "none.yaml"), "--declarations", str(decl),
               "--rules", str(rules), "--parties", str(tmp / "parties.csv"),
               "--out", str(tmp / out))


def oracle(row: dict, rules: dict) -> tuple[Fraction, int, dict | None]:
    """Score (exact), stars and incentive straight from the rule text."""
    x = {"env_investment_share": Fraction(row["env_investment_cny"]) / Fraction(row["revenue_cny"]),
         "pollutant_reduction_rate": Fraction(row["pollutant_reduction_t"])
         / Fraction(row["pollutant_baseline_t"]),
         "green_tech_share": Fraction(row["green_tech_share"])}
    total = Fraction(0)
    for k, spec in rules["indicators"].items():
        lo, hi, w = (Fraction(str(spec[n])) for n in ("low", "high", "weight"))
        total += w * min(Fraction(1), max(Fraction(0), (x[k] - lo) / (hi - lo)))
    score = 100 * total
    # half-up to two decimals, by integer arithmetic
    cents = (score * 100 + Fraction(1, 2)).__floor__()
    rounded = Fraction(cents, 100)
    stars = sum(1 for t in rules["stars_at"] if rounded >= Fraction(str(t)))
    inc = rules["incentives"].get(stars) if row["verified"] == "true" else None
    return rounded, stars, inc


def test_demo_ratings_match_the_rules(files, repo):
    from gep.rating.demo import generate

    tmp, rules_path = files
    decl = generate([2022, 2023, 2024], tmp / "decl.csv", n=60, parties=["up", "down"])
    r = run_rate(tmp, decl, rules_path)
    assert r.returncode == 0, r.stderr
    rules = yaml.safe_load(rules_path.read_text())
    rows = {(d["year"], d["enterprise_id"]): d for d in csv.DictReader(open(decl))}
    out = list(csv.DictReader(open(tmp / "out" / "ratings.csv")))
    assert list(out[0]) == ["year", "enterprise_id", "party_id", "score", "stars",
                            "water_price_discount", "priority_funding",
                            "priority_emission_rights", "provisional"]
    assert len(out) == len(rows) == 180
    seen_stars, seen_prov = set(), 0
    for o in out:
        d = rows[(o["year"], o["enterprise_id"])]
        score, stars, inc = oracle(d, rules)
        assert Fraction(o["score"]) == score and re.fullmatch(r"\d+\.\d\d", o["score"])
        assert int(o["stars"]) == stars
        assert o["provisional"] == ("false" if d["verified"] == "true" else "true")
        if inc is None:
            assert (o["water_price_discount"], o["priority_funding"],
                    o["priority_emission_rights"]) == ("0", "false", "false")
        else:
            assert Fraction(o["water_price_discount"]) == Fraction(str(inc["water_price_discount"]))
            assert o["priority_funding"] == str(inc["priority_funding"]).lower()
            assert o["priority_emission_rights"] == str(inc["priority_emission_rights"]).lower()
        seen_stars.add(stars)
        seen_prov += o["provisional"] == "true"
    # the demo exercises the incentive tiers and the provisional case
    assert {3, 4, 5} <= seen_stars and seen_prov > 0
    # a certificate page per rated enterprise and year, bilingual
    cert = tmp / "out" / "certificates" / out[0]["year"] / f"{out[0]['enterprise_id']}.html"
    html = cert.read_text()
    assert "生态反哺星级认证" in html and "Eco Feedback Star Certificate" in html
    assert f"score {out[0]['score']}" in html
    assert len(list((tmp / "out" / "certificates").glob("*/*.html"))) == 180


def _write(tmp, rows):
    p = tmp / "decl.csv"
    p.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    return p


def test_score_rounds_half_up(files):
    tmp, rules = files
    # env share 6.25 / 1e6 = 0.00000625 -> 100 * 0.4 * share / 0.05 = 0.005 exactly: half-up
    # gives 0.01 (banker's rounding would give 0.00)
    decl = _write(tmp, ["2024,E-1,A,down,paper,1000000.00,6.25,10,0,0,5,true"])
    assert run_rate(tmp, decl, rules).returncode == 0
    row = next(csv.DictReader(open(tmp / "out" / "ratings.csv")))
    assert row["score"] == "0.01" and row["stars"] == "0"


def test_unverified_gets_no_incentive(files):
    tmp, rules = files
    top = "1000000.00,100000.00,10,5,0.9,5"
    decl = _write(tmp, [f"2024,E-1,A,down,paper,{top},true", f"2024,E-2,B,up,paper,{top},false"])
    assert run_rate(tmp, decl, rules).returncode == 0
    a, b = list(csv.DictReader(open(tmp / "out" / "ratings.csv")))
    assert a["stars"] == b["stars"] == "5" and a["score"] == b["score"] == "100.00"
    assert a["water_price_discount"] == "0.1" and a["priority_emission_rights"] == "true"
    assert (b["water_price_discount"], b["priority_funding"], b["provisional"]) == \
        ("0", "false", "true")


GOOD = "2024,E-1,A,down,paper,1000000.00,20000.00,10,2,0.3,8,true"
BAD_DECLARATIONS = {
    "revenue": ("2024,E-1,A,down,paper,0.00,0.00,10,2,0.3,8,true", "revenue_cny"),
    "env_share": ("2024,E-1,A,down,paper,100.00,200.00,10,2,0.3,8,true", "env_investment_cny"),
    "green_share": ("2024,E-1,A,down,paper,100.00,2.00,10,2,1.3,8,true", "green_tech_share"),
    "reduction": ("2024,E-1,A,down,paper,100.00,2.00,10,12,0.3,8,true",
                  "pollutant_reduction_t"),
    "party": ("2024,E-1,A,nowhere,paper,100.00,2.00,10,2,0.3,8,true", "party_id"),
    "duplicate": (GOOD, "enterprise_id"),
    "fen": ("2024,E-1,A,down,paper,100.001,2.00,10,2,0.3,8,true", "revenue_cny"),
}


@pytest.mark.parametrize("case", sorted(BAD_DECLARATIONS))
def test_bad_declaration_stops_cleanly(files, case):
    tmp, rules = files
    line, field = BAD_DECLARATIONS[case]
    decl = _write(tmp, [GOOD, line] if case == "duplicate" else
                  ["2023,E-9,Z,up,paper,100.00,1.00,10,1,0.1,1,true", line])
    r = run_rate(tmp, decl, rules)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert re.search(rf"decl\.csv, line 3, field '{field}': .+\. Fix: .+", lines[0]), lines[0]
    assert not (tmp / "out").exists()  # nothing written


BAD_RULES = {
    "weights": (lambda d: d["indicators"]["green_tech_share"].update(weight=0.3), "weights sum"),
    "order": (lambda d: d.update(stars_at=[20, 60, 40, 80, 95]), "stars_at"),
    "low_high": (lambda d: d["indicators"]["green_tech_share"].update(low=0.6, high=0.6),
                 "green_tech_share"),
    "unknown": (lambda d: d["indicators"].update(water_reuse={"weight": 0, "low": 0,
                                                             "high": 1}), "water_reuse"),
    "star_key": (lambda d: d["incentives"].update({7: d["incentives"][5]}), "incentives"),
    "discount": (lambda d: d["incentives"][3].update(water_price_discount=1.5),
                 "water_price_discount"),
}


@pytest.mark.parametrize("case", sorted(BAD_RULES))
def test_bad_rules_stop_cleanly(files, case):
    tmp, rules = files
    data = yaml.safe_load(rules.read_text())
    change, word = BAD_RULES[case]
    change(data)
    rules.write_text(yaml.safe_dump(data))
    r = run_rate(tmp, _write(tmp, [GOOD]), rules)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert re.search(r"rules\.yaml: .+: .+\. Fix: .+", lines[0]) and word in lines[0], lines[0]
    assert "(top level)" not in lines[0]
    assert not (tmp / "out").exists()
