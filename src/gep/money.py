"""Exact money: ``decimal.Decimal`` amounts rounded half-up to the fen (0.01 CNY).

All gep amounts are Decimals; floats never touch money. Splits of one amount among several
parties use the largest-remainder method so the parts always add up to the whole exactly.
"""
from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from typing import Mapping, Sequence, TypeVar

FEN = Decimal("0.01")
K = TypeVar("K")


def D(value) -> Decimal:
    """Convert int, str or Decimal to Decimal. Floats go through ``repr`` (shortest round-trip)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def to_fen(value) -> Decimal:
    """Round half-up to 0.01."""
    with localcontext() as ctx:
        ctx.prec = 50
        return D(value).quantize(FEN, rounding=ROUND_HALF_UP)


def fmt(value) -> str:
    """Format an amount as a plain two-decimal string (no exponent)."""
    return f"{to_fen(value):.2f}"


def split(total, weights: Mapping[K, object] | Sequence[tuple[K, object]]) -> dict[K, Decimal]:
    """Split ``total`` (rounded to the fen) in proportion to non-negative ``weights``.

    Largest-remainder (Hamilton) method: each part is first rounded down to the fen, then the
    remaining fen go one each to the parts with the largest remainders (ties by order given).
    The parts sum exactly to ``to_fen(total)``. Works for negative totals symmetrically.
    """
    items = list(weights.items()) if isinstance(weights, Mapping) else list(weights)
    if not items:
        raise ValueError("split: no weights given")
    ws = [D(w) for _, w in items]
    if any(w < 0 for w in ws):
        raise ValueError("split: weights must be non-negative")
    wsum = sum(ws)
    if wsum == 0:
        raise ValueError("split: weights sum to zero")
    total = to_fen(total)
    sign = -1 if total < 0 else 1
    cents = int((abs(total) / FEN).to_integral_value())
    with localcontext() as ctx:
        ctx.prec = 60
        exact = [Decimal(cents) * w / wsum for w in ws]
        floors = [int(e.to_integral_value(rounding=ROUND_DOWN)) for e in exact]
    left = cents - sum(floors)
    order = sorted(range(len(items)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return {items[i][0]: sign * Decimal(floors[i]) * FEN for i in range(len(items))}
