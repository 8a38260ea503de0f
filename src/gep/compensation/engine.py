"""The rules engine: agreement + validated inputs -> transfers, exact to the fen.

Pure computation (no file access), so tests, the CLI, Snakemake and the daily dispatch all run
the same code. Rules, for each settled year t in order (docs/compensation.md has the details):

- base ``B_t = base_payment * prod(1 + cpi)``, shared by ``base_weight``;
- reward ``R_t = rate * sum(d_i) * CPI factor``: ``d_i`` is the party's GEP gain on the
  agreement's basis (``land_use``: reference-climate GEP, or ``total``), above its previous
  year or, by default, above the best level it reached in the base year or any earlier
  settled year (high-water mark), so a recovered loss is not paid twice;
- water-quality bet ``P_t = k0 * S_t``, ``S_t = sum(k_j C_j / C_j0)``; ``P_t <= 1`` pays the
  tiers ``basic + performance * s_i + excess * e_t`` with ``e_t = clip((1 - S_t) / margin)``
  (undiscounted: standing still at the baseline earns no excess tier); ``P_t > 1`` pays
  nothing and claws back ``r_t`` of what each upstream account received in the lookback years;
- fixed transfers (bet / grant clauses) for agreements like Xin'an round 1;
- punitive damages ``multiplier * damage`` paid to the fund.

Intermediate values are exact Decimals (40 significant digits); each transfer is rounded
half-up to the fen and a payment shared by several payers is split by largest remainder, so
parts always add up to the amount paid and every year's statements sum to exactly zero.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from gep.compensation.agreement import CLAUSES, Agreement
from gep.compensation.inputs import EngineInputs
from gep.errors import InputDataError
from gep.money import D, fmt, split, to_fen

PREC = 40
ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class Transfer:
    transfer_id: str
    year: int
    clause: str
    from_account: str
    to_account: str
    amount: Decimal
    explanation: str


@dataclass
class Settlement:
    """The engine's result: transfers plus the per-year figures behind them."""

    agreement: Agreement
    years: list[int]
    transfers: list[Transfer] = field(default_factory=list)
    #: year -> figures (Decimals, bools, nested dicts); serialised into summary.json
    by_year: dict[int, dict[str, Any]] = field(default_factory=dict)

    def net(self, year: int | None = None) -> dict[str, Decimal]:
        """Net amount per account (positive = receives), for one year or all years."""
        out = {a: ZERO for a in self.agreement.account_ids}
        for t in self.transfers:
            if year is None or t.year == year:
                out[t.to_account] += t.amount
                out[t.from_account] -= t.amount
        return out


def _clip01(x: Decimal) -> Decimal:
    return max(ZERO, min(ONE, x))


def _r(x: Decimal, places: int = 4) -> str:
    """A ratio for explanations: fixed decimals, no exponent."""
    return f"{x.quantize(Decimal(1).scaleb(-places)):.{places}f}"


def p_index(agreement: Agreement, concentrations: Mapping[str, Any], *,
            source: str = "concentrations") -> Decimal:
    """Water-quality index ``P = k0 * sum_j k_j * C_j / C_j0`` at the bet's section.

    ``concentrations`` maps indicator -> annual (or running) mean concentration in mg/L;
    indicators not in the agreement are ignored, a missing one is an error (never a zero).
    ``P <= 1`` means the target is met. Returns an exact Decimal (40 significant digits).
    """
    return agreement.water_quality_bet.k0 * s_index(agreement, concentrations, source=source)


def s_index(agreement: Agreement, concentrations: Mapping[str, Any], *,
            source: str = "concentrations") -> Decimal:
    """The undiscounted ratio ``S = sum_j k_j * C_j / C_j0`` (``P = k0 * S``): 1 means the
    water is exactly at the baseline. The excess tier is computed from S."""
    bet = agreement.water_quality_bet
    missing = [k for k in bet.indicators if k not in concentrations]
    if missing:
        raise InputDataError(source, f"missing indicator(s) {', '.join(missing)} for the "
                             f"P index at section '{bet.section}'", "supply a mean "
                             f"concentration (mg/L) for each of {', '.join(bet.indicators)}",
                             field=missing[0])
    with localcontext() as ctx:
        ctx.prec = PREC
        total = ZERO
        for name, ind in bet.indicators.items():
            c = D(concentrations[name])
            if not c.is_finite() or c < 0:
                raise InputDataError(source, f"concentration {c} of '{name}' is not a "
                                     "non-negative number", "check the measurement",
                                     field=name)
            total += ind.weight * c / ind.baseline_mg_l
        return total


def _gain_text(a: Agreement, d: Decimal, level: Decimal, mark: Decimal) -> str:
    if a.reward is None:
        return f"increment d_i {fmt(d)}"
    what = "land-use (reference-climate)" if a.reward.basis == "land_use" else "total"
    if a.reward.baseline == "high_water_mark":
        return (f"{what} GEP gain d_i {fmt(d)} (level {fmt(level)} above high-water mark "
                f"{fmt(mark)}, constant prices)")
    return f"{what} GEP increment d_i {fmt(d)} (constant prices)"


def _split(inputs: EngineInputs, t: int, party: str, services) -> dict[str, Decimal]:
    """The party's change of the reward services split into land use and climate (when the
    attribution table was given)."""
    per = inputs.attribution.get(t, {}).get(party)
    if per is None:
        return {}
    out = {}
    for k in ("total", "land_use", "climate"):
        out[f"change_{k}"] = sum((per[s][k] for s in services if s in per), ZERO)
    return out


def transfer_id(agreement_id: str, year: int, clause: str, from_account: str, to_account: str,
                discriminator: str = "") -> str:
    """Stable id: the same agreement, year, clause and accounts give the same id on every run.

    The amount is deliberately not part of the id: a corrected amount for the same obligation
    keeps its id, so an idempotent ledger rejects it as a changed transfer instead of booking
    it twice.
    """
    key = "\x1f".join([agreement_id, str(year), clause, from_account, to_account, discriminator])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


class _Book:
    """Collects transfers per clause, with stable, unique ids."""

    def __init__(self, agreement: Agreement):
        self.agreement = agreement
        self.by_clause: dict[str, list[Transfer]] = {c: [] for c in CLAUSES}
        self.ids: set[str] = set()

    def add(self, year: int, clause: str, frm: str, to: str, amount: Decimal,
            explanation: str, discriminator: str = "") -> None:
        if amount <= 0:
            return  # only positive transfers exist; a zero obligation moves no money
        tid = transfer_id(self.agreement.agreement, year, clause, frm, to, discriminator)
        if tid in self.ids:  # pragma: no cover - would need a 64-bit hash collision
            raise RuntimeError(f"duplicate transfer id {tid} for {year} {clause} {frm}->{to}")
        self.ids.add(tid)
        self.by_clause[clause].append(Transfer(tid, year, clause, frm, to, to_fen(amount),
                                               explanation))

    def transfers(self) -> list[Transfer]:
        """All transfers ordered by year, then clause (CLAUSES order), then creation order."""
        out: list[Transfer] = []
        for clause in CLAUSES:
            out += self.by_clause[clause]
        return sorted(out, key=lambda tr: tr.year)  # stable: keeps clause order within a year


def settle(agreement: Agreement, inputs: EngineInputs) -> Settlement:
    """Apply the agreement to the inputs, year by year. Inputs must come from read_inputs."""
    a = agreement
    book = _Book(a)
    result = Settlement(agreement=a, years=list(inputs.years))
    upstream = a.accounts_with("upstream")
    payers = a.payer_weights() if a.pays_upstream else []
    payer_share = dict(payers)
    # received[year][upstream_id][payer_id]: base + reward paid, the basis of clawbacks
    received: dict[int, dict[str, dict[str, Decimal]]] = {}
    bet = a.water_quality_bet
    needs_cpi = a.base_payment > 0 or a.reward is not None or \
        any(ft.cpi_indexed for ft in a.fixed_transfers)
    services = a.reward.services if a.reward else []
    hwm = a.reward is not None and a.reward.baseline == "high_water_mark"
    # GEP level on the reward's basis relative to the base year (sum of the yearly changes of
    # the reward services), and the best level reached so far: the base year's, 0
    level = {u.id: ZERO for u in upstream}
    mark = {u.id: ZERO for u in upstream}

    with localcontext() as ctx:
        ctx.prec = PREC
        for t in inputs.years:
            S = s_index(a, inputs.quality[t], source=f"section quality {t}")
            P = bet.k0 * S
            met = P <= 1
            e = _clip01((1 - S) / a.excess_margin) if a.excess_margin else ZERO
            cpi_f = a.cpi_factor(t) if needs_cpi else None
            B = a.base_payment * cpi_f if a.base_payment > 0 else ZERO
            wsum = sum((u.base_weight or ZERO for u in upstream), ZERO)

            incr = inputs.increments.get(t, {})
            change = {u.id: sum((incr.get(u.id, {}).get(s, ZERO) for s in services), ZERO)
                      for u in upstream}
            prev_mark = dict(mark)
            d = {}
            for u in upstream:
                level[u.id] += change[u.id]
                d[u.id] = max(ZERO, level[u.id] - mark[u.id]) if hwm else \
                    max(ZERO, change[u.id])
                mark[u.id] = max(mark[u.id], level[u.id])
            dsum = sum(d.values(), ZERO)
            R = a.reward.rate * dsum * cpi_f if a.reward else ZERO

            received[t] = {u.id: {} for u in upstream}
            parties: dict[str, dict[str, Any]] = {}
            for u in upstream:
                w = u.base_weight or ZERO
                Fb = B * w / wsum if B > 0 else ZERO
                Fr = R * d[u.id] / dsum if dsum > 0 else ZERO
                targets = inputs.performance.get(t, {}).get(u.id, [])
                n_met = sum(1 for _, ok in targets if ok)
                s = Decimal(n_met) / len(targets) if targets else ONE
                tiers = a.tiers
                tau = (tiers.basic + tiers.performance * s + tiers.excess * e) if tiers else ZERO
                paid = {"base": to_fen(Fb * tau) if met else ZERO,
                        "reward": to_fen(Fr * tau) if met else ZERO}
                why = {
                    "base": (f"base {t} for {u.id}: B_t {fmt(B)} x weight {w}/{wsum} = "
                             f"{fmt(Fb)} entitled"),
                    "reward": (f"reward {t} for {u.id}: rate {a.reward.rate if a.reward else 0}"
                               f" x {_gain_text(a, d[u.id], level[u.id], prev_mark[u.id])}"
                               f" x CPI factor {cpi_f} = {fmt(Fr)} entitled"),
                }
                for clause in ("base", "reward"):
                    amount = paid[clause]
                    if amount <= 0:
                        continue
                    head = (f"{why[clause]}; P {_r(P)} <= 1, tier factor {_r(tau)} (basic "
                            f"{tiers.basic} + performance {tiers.performance} x s {_r(s)} + "
                            f"excess {tiers.excess} x e {_r(e)}) -> paid {fmt(amount)}")
                    for payer, part in split(amount, payers).items():
                        book.add(t, clause, payer, u.id, part,
                                 f"{head}; {payer} funds share {_r(payer_share[payer], 6)}")
                        rec = received[t][u.id]
                        rec[payer] = rec.get(payer, ZERO) + part
                parties[u.id] = {
                    "base_weight": w, "increment": d[u.id], "change": change[u.id],
                    "level": level[u.id], "high_water_mark": prev_mark[u.id],
                    **_split(inputs, t, u.id, services),
                    "entitlement_base": Fb, "entitlement_reward": Fr,
                    "targets": len(targets), "targets_met": n_met, "s": s,
                    "tier_factor": tau, "paid_base": paid["base"],
                    "paid_reward": paid["reward"], "clawback_basis": ZERO, "clawback": ZERO,
                }

            fixed: list[dict[str, Any]] = []
            for k, ft in enumerate(a.fixed_transfers):
                applies = (ft.when == "always" or (ft.when == "p_le_1" and met)
                           or (ft.when == "p_gt_1" and not met))
                amount = to_fen(ft.amount * cpi_f) if ft.cpi_indexed else to_fen(ft.amount)
                fixed.append({"index": k, "clause": ft.clause, "when": ft.when,
                              "from": ft.from_account, "to": ft.to_account,
                              "amount": amount if applies else ZERO, "applied": applies})
                if not applies:
                    continue
                cond = {"always": "unconditional",
                        "p_le_1": f"because P {_r(P)} <= 1",
                        "p_gt_1": f"because P {_r(P)} > 1"}[ft.when]
                idx = f" x CPI factor {cpi_f}" if ft.cpi_indexed else ""
                note = f" ({ft.note})" if ft.note else ""
                book.add(t, ft.clause, ft.from_account, ft.to_account, amount,
                         f"{ft.clause} {t}: fixed {fmt(ft.amount)}{idx} = {fmt(amount)}, "
                         f"{cond}{note}", discriminator=str(k))

            rate = ZERO
            lookback: list[int] = []
            if not met and bet.clawback is not None:
                cb = bet.clawback
                rate = cb.min_rate + (cb.max_rate - cb.min_rate) * _clip01(
                    (P - 1) / (cb.p_at_max - 1))
                lookback = [y for y in range(t - cb.lookback_years, t) if y in received]
                for u in upstream:
                    basis: dict[str, Decimal] = {}
                    for y in lookback:
                        for payer, amt in received[y][u.id].items():
                            basis[payer] = basis.get(payer, ZERO) + amt
                    total = sum(basis.values(), ZERO)
                    if total <= 0:
                        continue
                    claw = to_fen(rate * total)
                    parties[u.id]["clawback_basis"] = total
                    parties[u.id]["clawback"] = claw
                    if claw <= 0:
                        continue
                    order = [(p, basis[p]) for p, _ in payers if p in basis]
                    for payer, part in split(claw, order).items():
                        book.add(t, "clawback", u.id, payer, part,
                                 f"clawback {t} from {u.id}: P {_r(P)} > 1, rate "
                                 f"{_r(rate)} x {fmt(total)} received in "
                                 f"{', '.join(map(str, lookback))} = {fmt(claw)}; returned "
                                 f"to {payer} in proportion to the {fmt(basis[payer])} it "
                                 "paid")

            seen: dict[str, int] = {}
            for inc in inputs.incidents:
                if inc.year != t:
                    continue
                mult = a.punitive_multiplier
                fund = a.accounts_with("fund")[0].id
                key = f"{inc.date}|{inc.damage}|{inc.description}"
                n = seen[key] = seen.get(key, -1) + 1
                book.add(t, "penalty", inc.party_id, fund, to_fen(mult * inc.damage),
                         f"penalty {t}: {mult} x damage {fmt(inc.damage)} for the incident "
                         f"of {inc.date}" + (f" ({inc.description})" if inc.description
                                             else ""),
                         discriminator=f"{key}|{n}")

            result.by_year[t] = {
                "P": P, "S": S, "target_met": met, "e": e, "clawback_rate": rate,
                "clawback_lookback_years": lookback, "cpi_factor": cpi_f,
                "base": B, "reward_pool": R, "increment_total": dsum,
                # exact text: the measured values, not a rounded ratio
                "concentrations_mg_l": {k: str(v) for k, v in inputs.quality[t].items()},
                "parties": parties, "fixed_transfers": fixed,
            }

    result.transfers = book.transfers()
    totals = {t: {c: ZERO for c in CLAUSES} for t in result.years}
    counts = dict.fromkeys(result.years, 0)
    nets = {t: dict.fromkeys(a.account_ids, ZERO) for t in result.years}
    for tr in result.transfers:  # one pass: settlements can hold 10^5 transfers
        totals[tr.year][tr.clause] += tr.amount
        counts[tr.year] += 1
        nets[tr.year][tr.to_account] += tr.amount
        nets[tr.year][tr.from_account] -= tr.amount
    for t in result.years:
        tot = totals[t]
        result.by_year[t]["totals"] = {**tot, "paid_to_upstream": tot["base"] + tot["reward"],
                                       "transferred": sum(tot.values()),
                                       "transfers": counts[t]}
        result.by_year[t]["net"] = nets[t]
    return result
