"""the learned furniture model line by line (furniture_lines), written incrementally instead of one JSON state

Revision ID: 0004_furniture_lines
Revises: 0003_story_stream
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0004_furniture_lines"
down_revision = "0003_story_stream"
branch_labels = None
depends_on = None


def upgrade() -> None:
    lines = op.create_table(
        "furniture_lines",
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("furniture", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("articles", sa.Text(), nullable=False, server_default=""),
    )
    # a store written before this revision holds the whole model as one JSON state: moved into rows
    conn = op.get_bind()
    data = conn.execute(sa.text("SELECT data FROM state WHERE key = 'furniture'")).scalar()
    if data:
        model = json.loads(bytes(data).decode("utf-8"))
        rows = [{"key": k, "furniture": True, "articles": ""} for k in model.get("furniture", [])]
        rows += [{"key": k, "furniture": False, "articles": ",".join(v)} for k, v in model.get("seen", {}).items()]
        for i in range(0, len(rows), 5000):
            op.bulk_insert(lines, rows[i:i + 5000])
        conn.execute(sa.text("DELETE FROM state WHERE key = 'furniture'"))


def downgrade() -> None:
    op.drop_table("furniture_lines")
