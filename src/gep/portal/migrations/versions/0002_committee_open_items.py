"""committee_open_items: the view the committee's monthly agenda reads

The agenda (gep.committee.portal) lists open citizen reports and patrol findings awaiting
review. This view exposes exactly what it may show — no names, phones, contacts or free text
written by the public: the kind, a public id, the party, the dates and a category.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _day(column: str, dialect: str) -> str:
    if dialect == "sqlite":   # SQLAlchemy stores ISO text: 'YYYY-MM-DD HH:MM:SS[.ffffff]'
        return f"substr({column}, 1, 10)"
    return f"to_char({column}, 'YYYY-MM-DD')"


def upgrade() -> None:
    d = op.get_bind().dialect.name
    op.execute(f"""
CREATE VIEW committee_open_items AS
SELECT 'citizen_report' AS kind, r.tracking_code AS item_id,
       COALESCE(r.party_id, '') AS party_id,
       {_day('r.created_at', d)} AS opened,
       {_day('r.resolved_at', d)} AS closed,
       r.category AS summary
  FROM reports r
UNION ALL
SELECT 'patrol_finding' AS kind,
       'P' || CAST(p.id AS VARCHAR(20)) || '-' || CAST(f.idx AS VARCHAR(20)) AS item_id,
       c.party_id AS party_id,
       {_day('p.submitted_at', d)} AS opened,
       {_day('p.reviewed_at', d)} AS closed,
       f.kind AS summary
  FROM findings f JOIN patrols p ON p.id = f.patrol_id JOIN chiefs c ON c.id = p.chief_id
""")


def downgrade() -> None:
    op.execute("DROP VIEW committee_open_items")
