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


@dataclass(frozen=True)
class _Bet:
    """A settled year's water-quality bet and base pool: ``S``, ``P = k0 * S``, whether the
    target is met, the excess ``e``, the CPI factor and the base payment ``B_t``."""

    S: Decimal
    P: Decimal
    met: bool
    e: Decimal
    cpi_f: Decimal | None
    B: Decimal


@dataclass(frozen=True)
class _Gains:
    """A settled year's GEP gains ``d_i`` of the upstream accounts on the reward's basis."""

    change: dict[str, Decimal]
    prev_mark: dict[str, Decimal]
    d: dict[str, Decimal]
    dsum: Decimal


class _Run:
    """One settlement in progress: the agreement's constants and what carries over from year
    to year (GEP levels, high-water marks and what each upstream account received)."""

    def __init__(self, agreement: Agreement, inputs: EngineInputs):
        a = self.a = agreement
        self.inputs = inputs
        self.book = _Book(a)
        self.upstream = a.accounts_with("upstream")
        self.payers = a.payer_weights() if a.pays_upstream else []
        self.payer_share = dict(self.payers)
        # received[year][upstream_id][payer_id]: base + reward paid, the basis of clawbacks
        self.received: dict[int, dict[str, dict[str, Decimal]]] = {}
        self.needs_cpi = a.base_payment > 0 or a.reward is not None or \
            any(ft.cpi_indexed for ft in a.fixed_transfers)
        self.services = a.reward.services if a.reward else []
        self.hwm = a.reward is not None and a.reward.baseline == "high_water_mark"
        # GEP level on the reward's basis relative to the base year (sum of the yearly changes
        # of the reward services), and the best level reached so far: the base year's, 0
        self.level = {u.id: ZERO for u in self.upstream}
        self.mark = {u.id: ZERO for u in self.upstream}

    def year(self, t: int) -> dict[str, Any]:
        """Book every clause of year ``t``; returns the year's figures for summary.json."""
        a = self.a
        bet = self.water_quality_bet(t)
        gains = self.reward_gains(t)
        R = a.reward.rate * gains.dsum * bet.cpi_f if a.reward else ZERO
        parties = self.pay_upstream(t, bet, gains, R)
        fixed = self.fixed_transfers(t, bet)
        rate, lookback = self.clawback(t, bet, parties)
        self.penalties(t)
        return {
            "P": bet.P, "S": bet.S, "target_met": bet.met, "e": bet.e, "clawback_rate": rate,
            "clawback_lookback_years": lookback, "cpi_factor": bet.cpi_f,
            "base": bet.B, "reward_pool": R, "increment_total": gains.dsum,
            # exact text: the measured values, not a rounded ratio
            "concentrations_mg_l": {k: str(v) for k, v in self.inputs.quality[t].items()},
            "parties": parties, "fixed_transfers": fixed,
        }

    def water_quality_bet(self, t: int) -> _Bet:
        a = self.a
        S = s_index(a, self.inputs.quality[t], source=f"section quality {t}")
        P = a.water_quality_bet.k0 * S
        e = _clip01((1 - S) / a.excess_margin) if a.excess_margin else ZERO
        cpi_f = a.cpi_factor(t) if self.needs_cpi else None
        B = a.base_payment * cpi_f if a.base_payment > 0 else ZERO
        return _Bet(S=S, P=P, met=P <= 1, e=e, cpi_f=cpi_f, B=B)

    def reward_gains(self, t: int) -> _Gains:
        """Each upstream account's gain ``d_i``: above its high-water mark, or above the
        previous year; moves the levels and marks on to year ``t``."""
        incr = self.inputs.increments.get(t, {})
        change = {u.id: sum((incr.get(u.id, {}).get(s, ZERO) for s in self.services), ZERO)
                  for u in self.upstream}
        prev_mark = dict(self.mark)
        level, mark = self.level, self.mark
        d = {}
        for u in self.upstream:
            level[u.id] += change[u.id]
            d[u.id] = max(ZERO, level[u.id] - mark[u.id]) if self.hwm else \
                max(ZERO, change[u.id])
            mark[u.id] = max(mark[u.id], level[u.id])
        return _Gains(change=change, prev_mark=prev_mark, d=d, dsum=sum(d.values(), ZERO))

    def pay_upstream(self, t: int, bet: _Bet, gains: _Gains, R: Decimal
                     ) -> dict[str, dict[str, Any]]:
        """Base and reward of every upstream account (its figures by account id)."""
        self.received[t] = {u.id: {} for u in self.upstream}
        wsum = sum((u.base_weight or ZERO for u in self.upstream), ZERO)
        return {u.id: self._pay_account(t, u, bet, gains, R, wsum) for u in self.upstream}

    def _tier_factor(self, t: int, account: str, e: Decimal
                     ) -> tuple[list, int, Decimal, Decimal]:
        """The account's performance targets, how many it met, ``s_i`` and the tier factor
        ``basic + performance * s_i + excess * e_t``."""
        targets = self.inputs.performance.get(t, {}).get(account, [])
        n_met = sum(1 for _, ok in targets if ok)
        s = Decimal(n_met) / len(targets) if targets else ONE
        tiers = self.a.tiers
        tau = (tiers.basic + tiers.performance * s + tiers.excess * e) if tiers else ZERO
        return targets, n_met, s, tau

    def _pay_account(self, t: int, u, bet: _Bet, gains: _Gains, R: Decimal, wsum: Decimal
                     ) -> dict[str, Any]:
        """Entitlements of one upstream account, paid times the tier factor when P <= 1."""
        a, uid = self.a, u.id
        w = u.base_weight or ZERO
        Fb = bet.B * w / wsum if bet.B > 0 else ZERO
        Fr = R * gains.d[uid] / gains.dsum if gains.dsum > 0 else ZERO
        targets, n_met, s, tau = self._tier_factor(t, uid, bet.e)
        paid = {"base": to_fen(Fb * tau) if bet.met else ZERO,
                "reward": to_fen(Fr * tau) if bet.met else ZERO}
        why = {
            "base": (f"base {t} for {uid}: B_t {fmt(bet.B)} x weight {w}/{wsum} = "
                     f"{fmt(Fb)} entitled"),
            "reward": (f"reward {t} for {uid}: rate {a.reward.rate if a.reward else 0}"
                       f" x {_gain_text(a, gains.d[uid], self.level[uid], gains.prev_mark[uid])}"
                       f" x CPI factor {bet.cpi_f} = {fmt(Fr)} entitled"),
        }
        for clause in ("base", "reward"):
            amount = paid[clause]
            if amount <= 0:
                continue
            tiers = a.tiers
            head = (f"{why[clause]}; P {_r(bet.P)} <= 1, tier factor {_r(tau)} (basic "
                    f"{tiers.basic} + performance {tiers.performance} x s {_r(s)} + "
                    f"excess {tiers.excess} x e {_r(bet.e)}) -> paid {fmt(amount)}")
            self._book_funded(t, clause, uid, amount, head)
        return {
            "base_weight": w, "increment": gains.d[uid], "change": gains.change[uid],
            "level": self.level[uid], "high_water_mark": gains.prev_mark[uid],
            **_split(self.inputs, t, uid, self.services),
            "entitlement_base": Fb, "entitlement_reward": Fr,
            "targets": len(targets), "targets_met": n_met, "s": s,
            "tier_factor": tau, "paid_base": paid["base"],
            "paid_reward": paid["reward"], "clawback_basis": ZERO, "clawback": ZERO,
        }

    def _book_funded(self, t: int, clause: str, to: str, amount: Decimal, head: str) -> None:
        """A payment to an upstream account, split over its payers by their funding shares;
        what each payer paid is remembered as the basis of later clawbacks."""
        rec = self.received[t][to]
        for payer, part in split(amount, self.payers).items():
            self.book.add(t, clause, payer, to, part,
                          f"{head}; {payer} funds share {_r(self.payer_share[payer], 6)}")
            rec[payer] = rec.get(payer, ZERO) + part

    def fixed_transfers(self, t: int, bet: _Bet) -> list[dict[str, Any]]:
        """The bet and grant clauses that apply in year ``t`` (all listed, applied or not)."""
        fixed: list[dict[str, Any]] = []
        for k, ft in enumerate(self.a.fixed_transfers):
            applies = (ft.when == "always" or (ft.when == "p_le_1" and bet.met)
                       or (ft.when == "p_gt_1" and not bet.met))
            amount = to_fen(ft.amount * bet.cpi_f) if ft.cpi_indexed else to_fen(ft.amount)
            fixed.append({"index": k, "clause": ft.clause, "when": ft.when,
                          "from": ft.from_account, "to": ft.to_account,
                          "amount": amount if applies else ZERO, "applied": applies})
            if not applies:
                continue
            cond = {"always": "unconditional",
                    "p_le_1": f"because P {_r(bet.P)} <= 1",
                    "p_gt_1": f"because P {_r(bet.P)} > 1"}[ft.when]
            idx = f" x CPI factor {bet.cpi_f}" if ft.cpi_indexed else ""
            note = f" ({ft.note})" if ft.note else ""
            self.book.add(t, ft.clause, ft.from_account, ft.to_account, amount,
                          f"{ft.clause} {t}: fixed {fmt(ft.amount)}{idx} = {fmt(amount)}, "
                          f"{cond}{note}", discriminator=str(k))
        return fixed

    def clawback(self, t: int, bet: _Bet, parties: dict[str, dict[str, Any]]
                 ) -> tuple[Decimal, list[int]]:
        """When P > 1, claw back ``r_t`` of what each upstream account received in the
        lookback years, returned to each payer in proportion to what it paid."""
        cb = self.a.water_quality_bet.clawback
        if bet.met or cb is None:
            return ZERO, []
        rate = cb.min_rate + (cb.max_rate - cb.min_rate) * _clip01(
            (bet.P - 1) / (cb.p_at_max - 1))
        lookback = [y for y in range(t - cb.lookback_years, t) if y in self.received]
        for u in self.upstream:
            self._claw_account(t, u.id, bet.P, rate, lookback, parties[u.id])
        return rate, lookback

    def _claw_account(self, t: int, uid: str, P: Decimal, rate: Decimal, lookback: list[int],
                      figures: dict[str, Any]) -> None:
        basis: dict[str, Decimal] = {}
        for y in lookback:
            for payer, amt in self.received[y][uid].items():
                basis[payer] = basis.get(payer, ZERO) + amt
        total = sum(basis.values(), ZERO)
        if total <= 0:
            return
        claw = to_fen(rate * total)
        figures["clawback_basis"] = total
        figures["clawback"] = claw
        if claw <= 0:
            return
        order = [(p, basis[p]) for p, _ in self.payers if p in basis]
        for payer, part in split(claw, order).items():
            self.book.add(t, "clawback", uid, payer, part,
                          f"clawback {t} from {uid}: P {_r(P)} > 1, rate "
                          f"{_r(rate)} x {fmt(total)} received in "
                          f"{', '.join(map(str, lookback))} = {fmt(claw)}; returned "
                          f"to {payer} in proportion to the {fmt(basis[payer])} it "
                          "paid")

    def penalties(self, t: int) -> None:
        """Punitive damages of the year's incidents, paid to the fund."""
        a = self.a
        seen: dict[str, int] = {}
        for inc in self.inputs.incidents:
            if inc.year != t:
                continue
            mult = a.punitive_multiplier
            fund = a.accounts_with("fund")[0].id
            key = f"{inc.date}|{inc.damage}|{inc.description}"
            n = seen[key] = seen.get(key, -1) + 1
            self.book.add(t, "penalty", inc.party_id, fund, to_fen(mult * inc.damage),
                          f"penalty {t}: {mult} x damage {fmt(inc.damage)} for the incident "
                          f"of {inc.date}" + (f" ({inc.description})" if inc.description
                                              else ""),
                          discriminator=f"{key}|{n}")


def _add_totals(result: Settlement) -> None:
    """Per year: the total of each clause, paid to upstream, transferred, and each net."""
    totals = {t: {c: ZERO for c in CLAUSES} for t in result.years}
    counts = dict.fromkeys(result.years, 0)
    nets = {t: dict.fromkeys(result.agreement.account_ids, ZERO) for t in result.years}
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


def settle(agreement: Agreement, inputs: EngineInputs) -> Settlement:
    """Apply the agreement to the inputs, year by year. Inputs must come from read_inputs."""
    run = _Run(agreement, inputs)
    result = Settlement(agreement=agreement, years=list(inputs.years))
    with localcontext() as ctx:
        ctx.prec = PREC
        for t in inputs.years:
            result.by_year[t] = run.year(t)
    result.transfers = run.book.transfers()
    _add_totals(result)
    return result
