"""``allocate``: files in, the engine's three files out.

Order matters: the agreement and every input are read and checked, and the whole settlement is
computed in memory, before the first byte is written. A bad input therefore writes nothing;
each output is written to a temporary name and renamed (``gep.io``), so a crash never leaves a
half-written file that looks finished. Outputs depend only on the input *contents* (no paths,
no timestamps), so re-running on the same inputs gives byte-identical files.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

from gep import io
from gep.compensation.agreement import CLAUSES, load_agreement
from gep.compensation.engine import Settlement, settle
from gep.compensation.inputs import read_inputs
from gep.money import fmt
from gep.paths import CompensationFiles

TRANSFERS_HEADER = ("transfer_id", "year", "clause", "from_account", "to_account", "amount_cny",
                    "explanation")
STATEMENT_HEADER = ("year", "party_id", "clause", "amount_cny")
#: result key -> file name inside ``--out``, named in :class:`gep.paths.CompensationFiles`
OUTPUT_FILES = dict(CompensationFiles.NAMES)
#: keys of summary.json holding money (two decimals); other Decimals are ratios
_MONEY_KEYS = {"base", "reward_pool", "increment_total", "increment", "entitlement_base",
               "entitlement_reward", "paid_base", "paid_reward", "clawback_basis", "clawback",
               "paid_to_upstream", "transferred", "reward", "bet", "grant", "penalty", "amount",
               "change", "level", "high_water_mark", "change_total", "change_land_use",
               "change_climate"}


def statement_rows(settlement: Settlement) -> list[tuple[int, str, str, Decimal]]:
    """Net amount per year, account and clause (positive = receives), in a stable order."""
    net: dict[tuple[int, str, str], Decimal] = {}
    for t in settlement.transfers:
        for acc, sign in ((t.to_account, 1), (t.from_account, -1)):
            key = (t.year, acc, t.clause)
            net[key] = net.get(key, Decimal(0)) + sign * t.amount
    order = {a: i for i, a in enumerate(settlement.agreement.account_ids)}
    corder = {c: i for i, c in enumerate(CLAUSES)}
    keys = sorted(net, key=lambda k: (k[0], order[k[1]], corder[k[2]]))
    return [(y, acc, clause, net[(y, acc, clause)]) for y, acc, clause in keys]


def _jsonable(obj: Any, key: str = "") -> Any:
    """Decimals to strings: money with two decimals, ratios with six (or exact CPI)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v, key if key == "net" else str(k)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_jsonable(v, key) for v in obj]
    if isinstance(obj, Decimal):
        if key in _MONEY_KEYS or key == "net":
            return fmt(obj)
        if key in ("cpi_factor", "base_weight"):
            return str(obj)
        return f"{obj.quantize(Decimal('0.000001')):.6f}"
    return obj


def _sha256(path: str | Path | None) -> str | None:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None


def summary_dict(settlement: Settlement, input_hashes: dict[str, str | None]) -> dict:
    """The content of summary.json (see docs/compensation.md for the keys)."""
    a = settlement.agreement
    totals: dict[str, Any] = {c: Decimal(0) for c in CLAUSES}
    totals.update(paid_to_upstream=Decimal(0), transferred=Decimal(0), transfers=0)
    for info in settlement.by_year.values():
        for k in totals:
            totals[k] += info["totals"][k]
    return {
        "agreement": a.agreement,
        "currency": a.currency,
        "base_year": a.base_year,
        "years": settlement.years,
        "section": a.water_quality_bet.section,
        "inputs_sha256": input_hashes,
        "accounts": [{"id": x.id, "role": x.role, "name": x.name, "name_zh": x.name_zh,
                      "base_weight": None if x.base_weight is None else str(x.base_weight),
                      "benefit_weight": None if x.benefit_weight is None
                      else str(x.benefit_weight)} for x in a.accounts],
        "rules": {
            "reward_rate": None if a.reward is None else str(a.reward.rate),
            "reward_services": [] if a.reward is None else list(a.reward.services),
            "reward_basis": None if a.reward is None else a.reward.basis,
            "reward_baseline": None if a.reward is None else a.reward.baseline,
            "tiers": None if a.tiers is None else {k: str(v) for k, v in
                                                   a.tiers.model_dump().items()},
            "funding": None if a.funding is None else {k: str(v) for k, v in
                                                       a.funding.model_dump().items()},
            "punitive_multiplier": None if a.punitive_multiplier is None
            else str(a.punitive_multiplier),
            "pays_upstream": a.pays_upstream,
            "clawback": None if a.water_quality_bet.clawback is None else {
                k: str(v) for k, v in a.water_quality_bet.clawback.model_dump().items()},
        },
        "by_year": {str(t): _jsonable(info) for t, info in settlement.by_year.items()},
        "totals": _jsonable(totals),
    }


def allocate(agreement_path: str | Path, increments_path: str | Path | None,
             quality_path: str | Path, out_dir: str | Path,
             performance_path: str | Path | None = None,
             incidents_path: str | Path | None = None,
             attribution_path: str | Path | None = None) -> dict[str, Path]:
    """Settle an agreement and write ``transfers.csv``, ``statement.csv``, ``summary.json``.

    The reward reads ``attribution_path`` (``gep/attribution.csv``: its ``reward.basis``
    column); ``increments_path`` alone serves ``reward.basis: total`` only, and both may be
    None only when the agreement has no GEP reward. Raises
    :class:`gep.errors.ConfigError` / :class:`gep.errors.InputDataError` before writing
    anything when an input is wrong. Returns ``{"transfers": ..., "statement": ...,
    "summary": ...}``.
    """
    io.check_out_dir(out_dir)
    agreement = load_agreement(agreement_path)
    inputs = read_inputs(agreement, increments_path, quality_path, performance_path,
                         incidents_path, attribution_path)
    settlement = settle(agreement, inputs)
    hashes = {"agreement": _sha256(agreement_path), "increments": _sha256(increments_path),
              "quality": _sha256(quality_path), "performance": _sha256(performance_path),
              "incidents": _sha256(incidents_path),
              "attribution": _sha256(attribution_path)}
    summary = summary_dict(settlement, hashes)
    transfer_rows = [(t.transfer_id, t.year, t.clause, t.from_account, t.to_account,
                      fmt(t.amount), t.explanation) for t in settlement.transfers]
    stmt = [(y, acc, clause, fmt(v)) for y, acc, clause, v in statement_rows(settlement)]

    out = CompensationFiles(out_dir)
    paths = {k: out.file(k) for k in OUTPUT_FILES}
    io.write_csv(paths["transfers"], TRANSFERS_HEADER, transfer_rows, bom=True)
    io.write_csv(paths["statement"], STATEMENT_HEADER, stmt, bom=True)
    io.write_json(paths["summary"], summary)
    return paths
