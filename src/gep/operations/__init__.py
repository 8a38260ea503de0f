"""Daily operations (issue 18): station uploads sealed in the ledger, the daily run that pays,
reduces or pauses each day's money by the monitoring and dispatch rules, alerts, dashboard.

Modules: ``settings`` (config/operations.yaml), ``db`` (tables ``ops_*``, own Alembic
history), ``service`` (keys, uploads), ``daily`` (``gep daily``), ``alerts`` (SMTP, webhooks),
``api`` (FastAPI router and dashboard), ``cli``. See docs/operations.md.
"""
