"""per-story streaming state: story_states, story_members, story_keys, stream_df; narrative linking:
story_summaries, story_names, narrative_summaries

Revision ID: 0003_story_stream
Revises: 0002_search
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_story_stream"
down_revision = "0002_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_states",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("closed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("first", sa.Date(), nullable=True),
        sa.Column("last", sa.Date(), nullable=True),
        sa.Column("last_arrival", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_story_states_closed", "story_states", ["closed"])
    op.create_index("ix_story_states_last", "story_states", ["last"])
    op.create_table(
        "story_members",
        sa.Column("article_id", sa.String(512), primary_key=True),
        sa.Column("story_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("best_lex", sa.Float(), nullable=False, server_default="0"),
        sa.Column("best_emb", sa.Float(), nullable=False, server_default="0"),
        sa.Column("best_xemb", sa.Float(), nullable=False, server_default="0"),
        sa.Column("compared", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_story_members_story_id", "story_members", ["story_id"])
    op.create_table(
        "story_keys",
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("story_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_story_keys_story_id", "story_keys", ["story_id"])
    op.create_table(
        "story_summaries",
        sa.Column("story_id", sa.String(64), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "story_names",
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("story_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_story_names_story_id", "story_names", ["story_id"])
    op.create_table(
        "narrative_summaries",
        sa.Column("narrative_id", sa.String(64), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "stream_df",
        sa.Column("bucket", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("count", sa.Integer(), nullable=False, server_default="0"),
    )
    # the single-blob assigner state of earlier versions is rebuilt from the stored articles on the next ingest
    op.execute("DELETE FROM state WHERE key LIKE 'story_assigner%'")


def downgrade() -> None:
    for t in ("stream_df", "narrative_summaries", "story_names", "story_summaries", "story_keys", "story_members", "story_states"):
        op.drop_table(t)
