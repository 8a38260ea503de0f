"""Settlement in memory: the compensation engine's inputs built from GEP rows instead of
files, and its statement as table rows.

``gep.compensation.allocate`` reads every input from a file and writes three files; a sweep
settles thousands of combinations, so it calls the engine (:func:`gep.compensation.settle`,
which takes objects) directly. The section water quality, performance and incidents are the
basin's own files, read with the compensation package's readers; the attribution table
(``reward.basis``) is built here from the valuation's rows with the checks
:func:`gep.compensation.inputs.read_attribution` applies to the file.

The coverage check and the reward basis are the compensation package's own
(:func:`~gep.compensation.inputs.check_attribution_covers_upstream`,
:func:`~gep.compensation.inputs.increments_on_basis`).
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path


PAYOUT_NET = "payout_net"
#: how the in-memory attribution table is named in error messages
SOURCE = "gep/attribution.csv (computed in memory by the tuning study)"


def attribution_from_rows(rows: list[dict], agreement, years: list[int]
                          ) -> dict[int, dict[str, dict[str, dict[str, Decimal]]]]:
    """Attribution rows (``gep.attribution.attribute.attribution_rows``) as the engine's
    ``EngineInputs.attribution``; every upstream account needs rows for every settled year
    when the agreement has a reward."""
    from gep.compensation.inputs import check_attribution_covers_upstream

    out: dict[int, dict[str, dict[str, dict[str, Decimal]]]] = {}
    for r in rows:
        vals = {k: Decimal(str(r[k])) for k in ("total", "land_use", "climate")}
        out.setdefault(int(r["year"]), {}).setdefault(str(r["party_id"]), {})[
            str(r["service"])] = vals
    check_attribution_covers_upstream(out, agreement, years, SOURCE)
    return out


def engine_inputs(agreement, attribution: list[dict], quality: str | Path,
                  performance: str | Path | None = None, incidents: str | Path | None = None):
    """:class:`gep.compensation.EngineInputs` as ``read_inputs`` builds them from files, the
    attribution table taken from memory."""
    from gep.compensation.inputs import (
        EngineInputs,
        increments_on_basis,
        read_incidents,
        read_performance,
        read_quality,
        settled_years,
    )

    q = read_quality(quality, agreement)
    years = settled_years(agreement, q, quality)
    att = attribution_from_rows(attribution, agreement, years)
    increments = increments_on_basis(att, agreement)
    return EngineInputs(years=years, quality={y: q[y] for y in years},
                        increments=increments, attribution=att,
                        performance=read_performance(performance, agreement),
                        incidents=read_incidents(incidents, agreement, years))


def payout_rows(settlement) -> list[tuple[int, str, str, float, str]]:
    """The statement (net per year, account and clause, to the fen) and each account's
    ``payout_net`` per settled year, as (year, account, clause, CNY, "CNY") rows."""
    from gep.compensation.allocate import statement_rows
    from gep.money import fmt

    pay, net = [], {}
    for y, acc, clause, v in statement_rows(settlement):
        amt = Decimal(fmt(v))
        pay.append((int(y), str(acc), str(clause), float(amt), "CNY"))
        net[(int(y), str(acc))] = net.get((int(y), str(acc)), Decimal(0)) + amt
    for y in settlement.years:
        for a in settlement.agreement.account_ids:
            pay.append((int(y), a, PAYOUT_NET, float(net.get((int(y), a), Decimal(0))), "CNY"))
    return pay


def settle_rows(agreement, gep_rows: list[dict], reference_rows: list[dict],
                quality: str | Path, performance: str | Path | None = None,
                incidents: str | Path | None = None) -> list[tuple]:
    """Settle ``agreement`` (a validated :class:`gep.compensation.Agreement`) on GEP rows of
    the actual and the reference climate; return :func:`payout_rows`."""
    from gep.attribution.attribute import attribution_rows
    from gep.compensation import settle

    att = attribution_rows(gep_rows, reference_rows)
    return payout_rows(settle(agreement, engine_inputs(agreement, att, quality, performance,
                                                       incidents)))
