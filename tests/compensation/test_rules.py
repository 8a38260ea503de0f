"""Each rule of issue 3 on a tiny case, against values computed by hand (exact fractions)."""
from __future__ import annotations

from fractions import Fraction as F

import pytest

from gep.errors import ConfigError, InputDataError

from .helpers import agreement_dict, amounts, fen, hamilton, quality_rows, run_case

PAYERS = [("central", F(1, 2)), ("down_x", F(3, 8)), ("down_y", F(1, 8))]


def incr(year, **by_party):
    """Increment rows: ``party=(water_conservation, biodiversity)``."""
    rows = []
    for party, (wc, bio) in by_party.items():
        rows.append([year, party, "water_conservation", wc])
        rows.append([year, party, "biodiversity", bio])
    return rows


def zero_incr(*years):
    return [r for y in years for r in incr(y, up_a=(0, 0), up_b=(0, 0))]


def test_base_is_cpi_indexed_and_shared_by_base_weight(tmp_path):
    # P = 0.85 * 0.8 = 0.68 <= 1 - 0.15, so e = 1; no targets, so s = 1: tier factor 1.
    transfers, _, summary = run_case(tmp_path, agreement_dict(), zero_incr(2021, 2022),
                                     quality_rows({2021: "0.8", 2022: "0.8"}))
    # B_2021 = 1e6 * 1.02; B_2022 = 1e6 * 1.02 * 1.01 = 1,030,200
    assert summary["by_year"]["2021"]["base"] == "1020000.00"
    assert summary["by_year"]["2022"]["base"] == "1030200.00"
    for year, b in ((2021, F(1020000)), (2022, F(1030200))):
        for party, share in (("up_a", F(1, 3)), ("up_b", F(2, 3))):
            paid = amounts(transfers, year=year, clause="base", to_account=party)
            assert sum(paid.values()) == fen(b * share)
    # 1,030,200 / 3 = 343,400 for the weight-1 party
    assert sum(amounts(transfers, year=2022, clause="base", to_account="up_a").values()) \
        == F(343400)


def test_reward_is_rate_times_positive_increment_over_listed_services(tmp_path):
    rows = incr(2021, up_a=("100000", "-20000"), up_b=("-50000", "10000"))
    rows.append([2021, "up_a", "carbon_sequestration", "1000000"])  # not a reward service: ignored
    transfers, _, summary = run_case(tmp_path, agreement_dict(base_payment=0), rows,
                                     quality_rows({2021: "0.8"}))
    # d_a = 80,000; d_b = max(0, -40,000) = 0; R = 0.15 * 80,000 = 12,000 at constant prices,
    # paid at current prices: x CPI factor 1.02 of 2021 = 12,240, all to up_a
    assert summary["by_year"]["2021"]["reward_pool"] == "12240.00"
    assert sum(amounts(transfers, clause="reward", to_account="up_a").values()) == F(12240)
    assert amounts(transfers, clause="reward", to_account="up_b") == {}
    assert summary["by_year"]["2021"]["parties"]["up_b"]["increment"] == "0.00"


def test_tiers_scale_payment_by_performance_share_and_excess_factor(tmp_path):
    # factor 0.95: S = 0.95, P = 0.8075; e = (1 - S) / 0.15 = 1/3 (from S, not from P).
    perf = [[2021, "up_b", "redline_area", "true"], [2021, "up_b", "flow_days", "TRUE"],
            [2021, "up_b", "compliance", "false"]]
    transfers, _, summary = run_case(
        tmp_path, agreement_dict(), incr(2021, up_a=("100000", "-20000"), up_b=("0", "0")),
        quality_rows({2021: "0.95"}), performance=perf)
    tau_a = F(1, 2) + F(3, 10) + F(1, 5) * F(1, 3)            # s = 1 (no targets): 13/15
    tau_b = F(1, 2) + F(3, 10) * F(2, 3) + F(1, 5) * F(1, 3)  # s = 2/3: 23/30
    assert tau_a == F(13, 15) and tau_b == F(23, 30)
    base_a = sum(amounts(transfers, clause="base", to_account="up_a").values())
    base_b = sum(amounts(transfers, clause="base", to_account="up_b").values())
    reward_a = sum(amounts(transfers, clause="reward", to_account="up_a").values())
    assert base_a == fen(F(340000) * tau_a) == F("294666.67")
    assert base_b == fen(F(680000) * tau_b) == F("521333.33")
    # reward at current prices: 0.15 x 80,000 x 1.02 = 12,240
    assert reward_a == fen(F(12240) * tau_a) == F("10608.00")
    info = summary["by_year"]["2021"]
    assert info["P"] == "0.807500" and info["S"] == "0.950000" and info["e"] == "0.333333"
    assert info["parties"]["up_b"]["targets"] == 3
    assert info["parties"]["up_b"]["targets_met"] == 2


def test_each_payment_is_funded_by_central_and_downstream_by_largest_remainder(tmp_path):
    transfers, _, _ = run_case(
        tmp_path, agreement_dict(), incr(2021, up_a=("100000", "-20000"), up_b=("0", "0")),
        quality_rows({2021: "0.95"}))
    # up_a's base 340,000 x 13/15 = 294,666.67: central 147,333.335, down_x 110,500.00125,
    # down_y 36,833.33375; floors 147,333.33 / 110,500.00 / 36,833.33 leave one fen for
    # central (largest remainder)
    got = amounts(transfers, clause="base", to_account="up_a")
    assert got == {("central", "up_a"): F("147333.34"), ("down_x", "up_a"): F("110500.00"),
                   ("down_y", "up_a"): F("36833.33")}
    for party in ("up_a", "up_b"):
        for clause in ("base", "reward"):
            got = amounts(transfers, clause=clause, to_account=party)
            if got:
                total = sum(got.values())
                assert {k[0]: v for k, v in got.items() if v} == {
                    k: v for k, v in hamilton(total, PAYERS).items() if v}


def test_missed_target_pays_nothing_and_claws_back_in_funders_proportions(tmp_path):
    rows = incr(2021, up_a=("100000", "-20000"), up_b=("0", "0")) + zero_incr(2022)
    transfers, _, summary = run_case(tmp_path, agreement_dict(), rows,
                                     quality_rows({2021: "1.1", 2022: "1.3"}))
    # 2022: P = 0.85 * 1.3 = 1.105 > 1, r = 0.10 + 0.20 * (0.105 / 0.20) = 0.205
    info = summary["by_year"]["2022"]
    assert info["P"] == "1.105000" and info["clawback_rate"] == "0.205000"
    assert not [t for t in transfers if t["year"] == "2022" and t["clause"] in
                ("base", "reward")]
    for party in ("up_a", "up_b"):
        paid_by = {}
        for (frm, _), v in amounts(transfers, year=2021, to_account=party).items():
            paid_by[frm] = paid_by.get(frm, 0) + v
        received = sum(paid_by.values())
        claw = amounts(transfers, year=2022, clause="clawback", from_account=party)
        assert sum(claw.values()) == fen(F("0.205") * received)
        expected = hamilton(fen(F("0.205") * received),
                            [(p, paid_by[p]) for p, _ in PAYERS if p in paid_by])
        assert {to: v for (_, to), v in claw.items()} == {k: v for k, v in expected.items()
                                                          if v}
    # 2021 (S = 1.1, so e = 0 and tau = 0.8): up_a received base 340,000 x 0.8 = 272,000.00
    # and reward 12,240 x 0.8 = 9,792.00; 0.205 x 281,792.00 = 57,767.36
    assert sum(amounts(transfers, year=2022, clause="clawback",
                       from_account="up_a").values()) == F("57767.36")


def test_clawback_looks_back_the_configured_number_of_years(tmp_path):
    bet = agreement_dict()["water_quality_bet"]
    bet["clawback"]["lookback_years"] = 2
    transfers, _, summary = run_case(
        tmp_path, agreement_dict(water_quality_bet=bet), zero_incr(2021, 2022, 2023),
        quality_rows({2021: "0.8", 2022: "0.8", 2023: "1.5"}))
    # P = 1.275 >= p_at_max 1.2: rate = max_rate 0.30 on 2021 + 2022 base payments
    assert summary["by_year"]["2023"]["clawback_rate"] == "0.300000"
    assert summary["by_year"]["2023"]["clawback_lookback_years"] == [2021, 2022]
    received = F(1020000 + 1030200) / 3
    got = sum(amounts(transfers, year=2023, clause="clawback", from_account="up_a").values())
    assert got == fen(F(3, 10) * received)


@pytest.mark.parametrize("factor, rate", [("1.18", "0.103000"), ("1.2", "0.120000"),
                                          ("2", "0.300000")])
def test_clawback_rate_is_linear_between_min_and_max(tmp_path, factor, rate):
    # P = 0.85 * factor: 1.003 -> 0.10 + 0.20 * 0.003 / 0.20 = 0.103; 1.02 -> 0.12;
    # 1.7 is beyond p_at_max 1.2 -> max_rate 0.30
    _, _, summary = run_case(tmp_path, agreement_dict(), zero_incr(2021),
                             quality_rows({2021: factor}))
    assert summary["by_year"]["2021"]["clawback_rate"] == rate
    assert summary["by_year"]["2021"]["target_met"] is False


def test_punitive_damages_are_multiplier_times_damage_paid_to_the_fund(tmp_path):
    incidents = [["2021-06-01", "down_y", "1234.565", "sewage spill"],
                 ["2021-07-01", "up_a", "10", ""],
                 ["2021-07-01", "up_a", "10", ""]]  # the same incident twice: two penalties
    transfers, statement, _ = run_case(tmp_path, agreement_dict(), zero_incr(2021),
                                       quality_rows({2021: "0.8"}), incidents=incidents)
    pen = [t for t in transfers if t["clause"] == "penalty"]
    assert [(t["from_account"], t["to_account"], t["amount_cny"]) for t in pen] == [
        ("down_y", "basin_fund", "3703.70"),  # 3 * 1234.565 = 3703.695, half-up
        ("up_a", "basin_fund", "30.00"), ("up_a", "basin_fund", "30.00")]
    assert len({t["transfer_id"] for t in pen}) == 3
    fund = [r for r in statement if r["party_id"] == "basin_fund"]
    assert fund == [{"year": "2021", "party_id": "basin_fund", "clause": "penalty",
                     "amount_cny": "3763.70"}]


def test_missing_cpi_year_is_an_error_not_a_zero(tmp_path):
    data = agreement_dict(cpi={2021: 0.02})
    with pytest.raises(ConfigError, match=r"cpi\.2022: no CPI change for 2022"):
        run_case(tmp_path, data, zero_incr(2021, 2022), quality_rows({2021: "0.8",
                                                                     2022: "0.8"}))
    assert not (tmp_path / "out").exists()


def test_statement_is_net_per_account_and_clause(tmp_path):
    rows = incr(2021, up_a=("100000", "0"), up_b=("0", "0")) + zero_incr(2022)
    transfers, statement, summary = run_case(
        tmp_path, agreement_dict(), rows, quality_rows({2021: "0.8", 2022: "1.3"}),
        incidents=[["2022-01-05", "up_a", "100", "x"]])
    net: dict = {}
    for t in transfers:
        a = F(t["amount_cny"])
        for acc, sign in ((t["to_account"], 1), (t["from_account"], -1)):
            key = (t["year"], acc, t["clause"])
            net[key] = net.get(key, 0) + sign * a
    assert {(r["year"], r["party_id"], r["clause"]): F(r["amount_cny"]) for r in statement} \
        == net
    # up_a in 2022: pays a clawback and a penalty (300.00); both appear as negative lines
    lines = {r["clause"]: F(r["amount_cny"]) for r in statement
             if r["year"] == "2022" and r["party_id"] == "up_a"}
    assert lines["penalty"] == F(-300) and lines["clawback"] < 0
    for year in ("2021", "2022"):
        assert sum(F(v) for v in summary["by_year"][year]["net"].values()) == 0


def test_fixed_transfers_follow_the_bet_and_can_be_cpi_indexed(tmp_path):
    data = agreement_dict(base_payment=0, reward=None, fixed_transfers=[
        {"clause": "bet", "when": "p_le_1", "from": "down_x", "to": "up_a", "amount": 100},
        {"clause": "bet", "when": "p_gt_1", "from": "up_a", "to": "down_x", "amount": 100},
        {"clause": "grant", "from": "central", "to": "up_b", "amount": 1000,
         "cpi_indexed": True}])
    transfers, _, _ = run_case(tmp_path, data, None, quality_rows({2021: "1", 2022: "1.2"}))
    got = [(t["year"], t["clause"], t["from_account"], t["to_account"], t["amount_cny"])
           for t in transfers]
    assert got == [
        ("2021", "bet", "down_x", "up_a", "100.00"),          # P = 0.85 <= 1
        ("2021", "grant", "central", "up_b", "1020.00"),      # 1000 * 1.02
        ("2022", "bet", "up_a", "down_x", "100.00"),          # P = 1.02 > 1
        ("2022", "grant", "central", "up_b", "1030.20"),      # 1000 * 1.02 * 1.01
    ]


def test_downstream_parties_in_increments_are_ignored(tmp_path):
    base_rows = incr(2021, up_a=("1000", "0"), up_b=("500", "0"))
    extra = incr(2021, down_x=("999999", "0"))
    q = quality_rows({2021: "0.9"})
    plain = run_case(tmp_path / "plain", agreement_dict(), base_rows, q)
    mixed = run_case(tmp_path / "mixed", agreement_dict(), base_rows + extra, q)
    assert [t["amount_cny"] for t in plain[0]] == [t["amount_cny"] for t in mixed[0]]
    assert plain[1] == mixed[1]


def test_parties_unknown_to_the_agreement_in_increments_are_errors(tmp_path):
    # issue 14: rows of a party the agreement does not name used to vanish silently
    base_rows = incr(2021, up_a=("1000", "0"), up_b=("500", "0"))
    q = quality_rows({2021: "0.9"})
    with pytest.raises(InputDataError, match=r"field 'party_id': party 'elsewhere' is not an "
                       r"account of the agreement"):
        run_case(tmp_path / "x", agreement_dict(), base_rows + incr(2021, elsewhere=("5", "5")),
                 q)
    with pytest.raises(InputDataError, match=r"party 'Up_B' .*did you mean 'up_b'\?"):
        run_case(tmp_path / "y", agreement_dict(), incr(2021, up_a=("1000", "0"),
                                                        Up_B=("500", "0")), q)


def test_transfer_ids_are_stable_unique_and_tied_to_the_agreement(tmp_path):
    rows = zero_incr(2021, 2022)
    q = quality_rows({2021: "0.8", 2022: "0.9"})
    first = run_case(tmp_path / "a", agreement_dict(), rows, q)[0]
    again = run_case(tmp_path / "b", agreement_dict(), rows, q)[0]
    other = run_case(tmp_path / "c", agreement_dict(agreement="other-basin"), rows, q)[0]
    ids = [t["transfer_id"] for t in first]
    assert ids == [t["transfer_id"] for t in again]
    assert len(set(ids)) == len(ids)
    assert not set(ids) & {t["transfer_id"] for t in other}

