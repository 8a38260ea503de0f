"""The citizen portal (``gep serve``): civic river chiefs (民间河长) who apply, patrol and earn
points; public reports (监督举报) and their handling; fund use (资金用途) recorded by each party
against what the sunshine ledger shows it received. FastAPI + SQLAlchemy + Alembic on SQLite
(embedded default) or PostgreSQL. See docs/portal.md.
"""
