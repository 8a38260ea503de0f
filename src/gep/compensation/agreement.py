"""The compensation agreement (补偿协议): a typed model loaded from YAML and validated up front.

Why up front: a settlement moves hundreds of millions of yuan. Every mistake in the agreement
(a share that does not add up, a negative weight, an account that does not exist) must stop the
run before anything is computed or written, with a message naming the key and the fix.

Pydantic checks the shape of each key (types, ranges, unknown keys); :func:`_check` then checks
the rules that span several keys (shares summing to 1, accounts referenced by other clauses).
Every number is a :class:`decimal.Decimal`: YAML floats are converted through their shortest
``repr`` so ``0.009`` stays exactly ``0.009``.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
)

from gep.errors import ConfigError
from gep.io import read_settings, validate_settings
from gep.money import D
from gep.services import VALUED_SERVICES
from gep.tables import MAX_MONEY_CNY, PLAUSIBLE_MG_L, suggest

ROLES = ("central", "fund", "upstream", "downstream")
#: Clause names used in transfers.csv and statement.csv, in the order they are settled.
CLAUSES = ("base", "reward", "bet", "grant", "clawback", "penalty")
#: Tolerance for "shares add up to 1" (lets users write thirds as 0.333333333).
SHARE_TOLERANCE = Decimal("1e-9")


def _to_decimal(value: Any) -> Any:
    """Turn YAML numbers into exact Decimals; leave anything else for pydantic to reject."""
    if isinstance(value, bool):
        # pydantic turns only ValueError into a validation error naming the key
        raise ValueError("expected a number, got true/false")  # noqa: TRY004
    if isinstance(value, (int, float, str)) and not isinstance(value, Decimal):
        try:
            dec = D(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise ValueError(f"'{value}' is not a number") from None
        value = dec
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError("must be a finite number")
    return value


Dec = Annotated[Decimal, BeforeValidator(_to_decimal)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Account(_Model):
    """A party to the agreement. ``base_weight`` (upstream) splits the base payment;
    ``benefit_weight`` (downstream) splits the downstream share of the funding."""

    id: str = Field(..., pattern=r"^[A-Za-z0-9_.\-]+$", description="Account id (party_id).")
    role: Literal["central", "fund", "upstream", "downstream"]
    base_weight: Dec | None = Field(None, ge=0, description="Upstream share of the base.")
    benefit_weight: Dec | None = Field(None, ge=0, description="Downstream share of funding.")
    name: str | None = Field(None, description="English name, for statements.")
    name_zh: str | None = Field(None, description="Chinese name, for statements.")


class Funding(_Model):
    central: Dec = Field(..., ge=0, le=1, description="Share of each payment paid by central.")
    downstream: Dec = Field(..., ge=0, le=1, description="Share paid by downstream accounts.")


class Reward(_Model):
    rate: Dec = Field(..., ge=0, le=1, description="Share of the GEP increment paid as reward.")
    services: list[str] = Field(..., min_length=1, description="GEP services counted.")
    basis: Literal["land_use", "total"] = Field(
        "land_use", description="land_use: pay on the change of GEP under the reference "
        "climate (stewardship); total: on the change of actual GEP (land use and weather).")
    baseline: Literal["previous_year", "high_water_mark"] = Field(
        "high_water_mark", description="high_water_mark: pay only above the best level "
        "reached in the base year or any earlier settled year; previous_year: pay every "
        "year-on-year gain.")


class Tiers(_Model):
    basic: Dec = Field(..., ge=0, le=1)
    performance: Dec = Field(..., ge=0, le=1)
    excess: Dec = Field(..., ge=0, le=1)


class Indicator(_Model):
    weight: Dec = Field(..., ge=0, description="k_j in P = k0 * sum k_j C_j / C_j0.")
    baseline_mg_l: Dec = Field(..., gt=0, description="C_j0, the baseline concentration (mg/L).")


class Clawback(_Model):
    min_rate: Dec = Field(..., ge=0, le=1)
    max_rate: Dec = Field(..., ge=0, le=1)
    p_at_max: Dec = Field(..., gt=1, description="P at which the rate reaches max_rate.")
    lookback_years: int = Field(1, ge=1, le=50)


class WaterQualityBet(_Model):
    section: str = Field(..., min_length=1, description="Monitoring section id, e.g. boundary.")
    k0: Dec = Field(..., gt=0)
    indicators: dict[str, Indicator] = Field(..., min_length=1)
    clawback: Clawback | None = None
    plausible_mg_l: dict[str, tuple[Dec, Dec]] = Field(
        default_factory=dict, description="Plausible annual means [low, high] (mg/L) by "
        "indicator, widening gep.tables.PLAUSIBLE_MG_L (e.g. tn: [0, 100] allows a true 0).")


class FixedTransfer(_Model):
    """A fixed amount between two accounts, optionally conditional on the bet's outcome.

    Needed for agreements such as Xin'an round 1: "P <= 1: Zhejiang pays Anhui 100 million,
    otherwise Anhui pays Zhejiang 100 million; the centre gives Anhui 300 million a year".
    """

    clause: Literal["bet", "grant"]
    when: Literal["always", "p_le_1", "p_gt_1"] = "always"
    from_account: str = Field(..., alias="from")
    to_account: str = Field(..., alias="to")
    amount: Dec = Field(..., gt=0, le=MAX_MONEY_CNY,
                        description="CNY per year (base_year prices if indexed).")
    cpi_indexed: bool = False
    note: str | None = None


class Agreement(_Model):
    """A river-basin compensation agreement (see docs/compensation.md)."""

    agreement: str = Field(..., pattern=r"^[A-Za-z0-9_.\-]+$", description="Agreement id.")
    currency: Literal["CNY"] = "CNY"
    base_year: int = Field(..., ge=1900, le=2200)
    end_year: int | None = Field(None, description="Last year settled (default: last with data).")
    cpi: dict[int, Dec] = Field(default_factory=dict, description="Annual CPI change by year.")
    accounts: list[Account] = Field(..., min_length=1)
    funding: Funding | None = None
    base_payment: Dec = Field(Decimal(0), ge=0, le=MAX_MONEY_CNY,
                              description="Per year, in base_year prices.")
    reward: Reward | None = None
    tiers: Tiers | None = None
    excess_margin: Dec | None = Field(None, gt=0)
    water_quality_bet: WaterQualityBet
    punitive_multiplier: Dec | None = Field(None, gt=0)
    fixed_transfers: list[FixedTransfer] = Field(default_factory=list)

    _source: str | None = PrivateAttr(default=None)

    # -- convenience views ------------------------------------------------------------------
    @property
    def source(self) -> str | None:
        """The file the agreement was loaded from (for error messages)."""
        return self._source

    def accounts_with(self, role: str) -> list[Account]:
        return [a for a in self.accounts if a.role == role]

    @property
    def account_ids(self) -> list[str]:
        return [a.id for a in self.accounts]

    def account(self, account_id: str) -> Account:
        for a in self.accounts:
            if a.id == account_id:
                return a
        raise KeyError(account_id)

    @property
    def pays_upstream(self) -> bool:
        """True when the base or reward clause can pay upstream accounts."""
        return self.base_payment > 0 or self.reward is not None

    def payer_weights(self) -> list[tuple[str, Decimal]]:
        """Who funds each payment to an upstream account, with weights summing to 1.

        ``funding.central`` goes to the central account; ``funding.downstream`` is split among
        downstream accounts by ``benefit_weight``. Zero weights are dropped.
        """
        assert self.funding is not None
        out: list[tuple[str, Decimal]] = []
        central = self.accounts_with("central")
        if self.funding.central > 0:
            out.append((central[0].id, self.funding.central))
        if self.funding.downstream > 0:
            down = [(a.id, a.benefit_weight or Decimal(0))
                    for a in self.accounts_with("downstream")]
            total = sum((w for _, w in down), Decimal(0))
            out += [(i, self.funding.downstream * w / total) for i, w in down if w > 0]
        return out

    def cpi_factor(self, year: int) -> Decimal:
        """``prod(1 + cpi[y] for y in base_year+1..year)``; a missing year is an error."""
        factor = Decimal(1)
        for y in range(self.base_year + 1, year + 1):
            if y not in self.cpi:
                raise ConfigError(
                    f"cpi.{y}", f"no CPI change for {y}, needed to index payments for {year}",
                    f"add '{y}: <annual CPI change, e.g. 0.002 for 0.2 %>' under cpi (NBS "
                    "figures); a missing year is never taken as zero", file=self.source)
            factor *= 1 + self.cpi[y]
        return factor


# -- loading and cross-key checks ---------------------------------------------------------------
_FIXES = {
    "missing": "add this key",
    "extra_forbidden": "remove it or check its spelling against config/agreement.yaml",
    "literal_error": "use one of the allowed values",
    "greater_than_equal": "weights, shares and amounts cannot be negative; use 0 or more",
    "less_than_equal": "shares and rates are fractions between 0 and 1 (0.15 for 15 %)",
    "greater_than": "use a positive value",
    "string_pattern_mismatch": "use letters, digits, '_', '.' or '-' only",
    "too_short": "give at least one entry",
}


def _loc(err: dict, data: Any) -> str:
    """Readable key path: ``accounts[2] (up_b).base_weight``."""
    parts: list[str] = []
    node = data
    for item in err["loc"]:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node):
                node = node[item]
                if isinstance(node, dict) and "id" in node:
                    label += f" ({node['id']})"
            parts.append(label)
        else:
            node = node.get(item) if isinstance(node, dict) else None
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def validate_agreement(data: Any, file: str | None = None) -> Agreement:
    """Validate an agreement mapping; raise :class:`ConfigError` for the first problem."""
    agreement = validate_settings(data, Agreement, file=file, example="config/agreement.yaml",
                                  doc="see docs/compensation.md", fixes=_FIXES,
                                  key=lambda err: _loc(err, data))
    agreement._source = file
    _check(agreement, file)
    return agreement


def load_agreement(path: str | Path) -> Agreement:
    """Load and validate an agreement YAML file (errors: :class:`gep.errors.ConfigError`)."""
    data = read_settings(path, what="agreement file",
                         missing_fix="pass --agreement with an existing file, e.g. "
                                     "config/agreement.yaml")
    return validate_agreement(data, file=str(path))


def _share_sum_error(key: str, parts: dict[str, Decimal], example: str, file: str | None):
    total = sum(parts.values(), Decimal(0))
    if abs(total - 1) > SHARE_TOLERANCE:
        shown = " + ".join(f"{k} {v}" for k, v in parts.items())
        raise ConfigError(key, f"shares must add up to 1, but {shown} = {total}",
                          f"adjust them so they sum to 1, e.g. {example}", file=file)


def _check(a: Agreement, file: str | None) -> None:
    """Rules spanning several keys. Raise ConfigError naming the key and the fix.

    The checks run in this order, so the first problem of a file is always the one reported.
    """
    _check_accounts(a, file)
    _check_years(a, file)
    _check_upstream_payments(a, file)
    _check_funding(a, file)
    _check_tiers_and_reward(a, file)
    _check_bet(a, file)
    _check_penalty_and_fixed_transfers(a, file)


def _check_accounts(a: Agreement, file: str | None) -> None:
    """Distinct ids, weights on the right roles, one central and one fund, some upstream."""
    seen: set[str] = set()
    for i, acc in enumerate(a.accounts):
        key = f"accounts[{i}] ({acc.id})"
        if acc.id in seen:
            raise ConfigError(f"{key}.id", f"account id '{acc.id}' is used twice",
                              "give every account a distinct id", file=file)
        seen.add(acc.id)
        if acc.base_weight is not None and acc.role != "upstream":
            raise ConfigError(f"{key}.base_weight", "base_weight applies to upstream accounts "
                              "only", f"remove it, or set role: upstream for '{acc.id}'",
                              file=file)
        if acc.benefit_weight is not None and acc.role != "downstream":
            raise ConfigError(f"{key}.benefit_weight", "benefit_weight applies to downstream "
                              "accounts only", f"remove it, or set role: downstream for "
                              f"'{acc.id}'", file=file)
    for role in ("central", "fund"):
        found = a.accounts_with(role)
        if len(found) > 1:
            raise ConfigError("accounts", f"{len(found)} accounts have role '{role}' "
                              f"({', '.join(x.id for x in found)})",
                              f"keep exactly one '{role}' account", file=file)
    upstream = a.accounts_with("upstream")
    if not upstream:
        raise ConfigError("accounts", "no account has role 'upstream'",
                          "add the upstream parties, e.g. {id: up_a, role: upstream, "
                          "base_weight: 1}", file=file)


def _check_years(a: Agreement, file: str | None) -> None:
    """The end year after the base year, CPI changes above -100 %."""
    if a.end_year is not None and a.end_year <= a.base_year:
        raise ConfigError("end_year", f"end_year {a.end_year} is not after base_year "
                          f"{a.base_year}", "set end_year to the last year to settle, or "
                          "remove it", file=file)
    for y, c in a.cpi.items():
        if c <= -1:
            raise ConfigError(f"cpi.{y}", f"a CPI change of {c} would make prices vanish",
                              "write the annual change as a fraction, e.g. 0.009 for 0.9 %",
                              file=file)


def _check_upstream_payments(a: Agreement, file: str | None) -> None:
    """Base or reward paid to upstream: who funds it, its tiers, the base weights."""
    upstream = a.accounts_with("upstream")
    if a.pays_upstream:
        if a.funding is None:
            raise ConfigError("funding", "the agreement pays upstream accounts (base_payment "
                              "or reward) but does not say who funds the payments",
                              "add funding: {central: 0.5, downstream: 0.5}", file=file)
        if a.tiers is None:
            raise ConfigError("tiers", "the agreement pays upstream accounts but has no tiers",
                              "add tiers: {basic: 0.5, performance: 0.3, excess: 0.2}",
                              file=file)
    if a.base_payment > 0:
        for i, acc in enumerate(a.accounts):
            if acc.role == "upstream" and acc.base_weight is None:
                raise ConfigError(f"accounts[{i}] ({acc.id}).base_weight",
                                  "an upstream account needs base_weight to share the base "
                                  "payment", "add base_weight: <its share, e.g. its area>",
                                  file=file)
        if sum((u.base_weight or Decimal(0) for u in upstream), Decimal(0)) == 0:
            raise ConfigError("accounts", "every upstream base_weight is 0, so the base payment "
                              "cannot be shared", "give at least one upstream account a "
                              "positive base_weight", file=file)


def _check_funding(a: Agreement, file: str | None) -> None:
    """Funding shares add up to 1 and each share has accounts to carry it."""
    ids = a.account_ids
    if a.funding is not None:
        _share_sum_error("funding", {"central": a.funding.central,
                                     "downstream": a.funding.downstream},
                         "central: 0.5, downstream: 0.5", file)
        if a.funding.central > 0 and not a.accounts_with("central"):
            raise ConfigError("funding.central", "a central share is set but no account has "
                              "role 'central'", "add {id: central, role: central} to "
                              "accounts, or set funding.central to 0", file=file)
        if a.funding.downstream > 0:
            down = a.accounts_with("downstream")
            for acc in down:
                if acc.benefit_weight is None:
                    i = ids.index(acc.id)
                    raise ConfigError(f"accounts[{i}] ({acc.id}).benefit_weight",
                                      "a downstream account needs benefit_weight to share "
                                      "the downstream funding", "add benefit_weight: <its "
                                      "share of the benefit>", file=file)
            if sum((d.benefit_weight or Decimal(0) for d in down), Decimal(0)) == 0:
                raise ConfigError("funding.downstream", "a downstream share is set but no "
                                  "downstream account has a positive benefit_weight",
                                  "add downstream accounts with benefit_weight, or set "
                                  "funding.downstream to 0", file=file)


def _check_tiers_and_reward(a: Agreement, file: str | None) -> None:
    """Tier shares add up to 1 (excess needs a margin); reward services valued, listed once."""
    if a.tiers is not None:
        _share_sum_error("tiers", {"basic": a.tiers.basic, "performance": a.tiers.performance,
                                   "excess": a.tiers.excess},
                         "basic: 0.5, performance: 0.3, excess: 0.2", file)
        if a.tiers.excess > 0 and a.excess_margin is None:
            raise ConfigError("excess_margin", "tiers.excess is set but excess_margin is "
                              "missing", "add excess_margin: 0.15 (P below 1 - margin earns "
                              "the full excess tier)", file=file)
    if a.reward is not None and len(set(a.reward.services)) != len(a.reward.services):
        raise ConfigError("reward.services", "a service is listed twice",
                          "list each service once", file=file)
    if a.reward is not None:
        for i, svc in enumerate(a.reward.services):
            if svc not in VALUED_SERVICES:
                guess = suggest(svc, VALUED_SERVICES)
                raise ConfigError(f"reward.services[{i}]", f"'{svc}' is not a service gep "
                                  "values", f"did you mean '{guess}'? Ids are matched exactly"
                                  " (case too)" if guess else
                                  f"use some of {', '.join(VALUED_SERVICES)}", file=file)


def _check_bet(a: Agreement, file: str | None) -> None:
    """Indicator weights add up to 1; plausible ranges; the clawback's rates in order."""
    bet = a.water_quality_bet
    _share_sum_error("water_quality_bet.indicators",
                     {k: v.weight for k, v in bet.indicators.items()},
                     "weight: 0.25 for each of four indicators", file)
    for ind, (low, high) in bet.plausible_mg_l.items():
        key = f"water_quality_bet.plausible_mg_l.{ind}"
        if ind not in bet.indicators and ind not in PLAUSIBLE_MG_L:
            raise ConfigError(key, f"'{ind}' is neither an indicator of the bet nor a known "
                              "GB 3838 indicator", "use an indicator id of "
                              "water_quality_bet.indicators", file=file)
        if not (0 <= low <= high):
            raise ConfigError(key, f"[{low}, {high}] is not a range 0 <= low <= high",
                              "write [low, high] in mg/L, e.g. [0, 100]", file=file)
    if bet.clawback is not None and bet.clawback.min_rate > bet.clawback.max_rate:
        raise ConfigError("water_quality_bet.clawback", f"min_rate {bet.clawback.min_rate} "
                          f"is above max_rate {bet.clawback.max_rate}",
                          "make min_rate <= max_rate, e.g. 0.10 and 0.30", file=file)


def _check_penalty_and_fixed_transfers(a: Agreement, file: str | None) -> None:
    """Punitive damages need a fund; fixed transfers move money between two accounts."""
    ids = a.account_ids
    if a.punitive_multiplier is not None and not a.accounts_with("fund"):
        raise ConfigError("punitive_multiplier", "punitive damages are paid to the 'fund' "
                          "account, but no account has role 'fund'",
                          "add {id: basin_fund, role: fund} to accounts", file=file)
    for i, ft in enumerate(a.fixed_transfers):
        key = f"fixed_transfers[{i}]"
        for side, acc_id in (("from", ft.from_account), ("to", ft.to_account)):
            if acc_id not in ids:
                raise ConfigError(f"{key}.{side}", f"'{acc_id}' is not an account",
                                  f"use one of {', '.join(ids)}", file=file)
        if ft.from_account == ft.to_account:
            raise ConfigError(key, f"'{ft.from_account}' would pay itself",
                              "use two different accounts", file=file)
