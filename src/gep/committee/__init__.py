"""The committee's cycle (issue 12): agreement execution rate, the monthly agenda (议事),
quarterly bulletin (通报) and annual assessment (评估) as bilingual HTML and PDF, and the
agreement's filing (备案) in the sunshine ledger. Formats: docs/committee.md.
"""
from __future__ import annotations

from gep.committee.periods import Period, parse_period, periods_of_year

__all__ = ["Period", "parse_period", "periods_of_year"]
