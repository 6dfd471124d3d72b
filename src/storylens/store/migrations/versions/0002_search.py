"""full-text search over articles and quotes

SQLite: two FTS5 tables kept in step with ``articles`` and ``quotes`` by triggers.  The FTS row id of an article is
its ``seq`` (an explicit, stable integer); the FTS row id of a quote is ``seq * 2**20 + n`` (its arrival number within
the article), so deleting an article or its quotes removes their index rows by row-id range, never by a scan.
PostgreSQL: generated ``tsvector`` columns with GIN indexes (the ``simple`` configuration: no stemming, so English
and Russian are treated alike).

Revision ID: 0002_search
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002_search"
down_revision = "0001"
branch_labels = None
depends_on = None

QUOTE_SPAN = 1 << 20  # quotes per article in the FTS row-id space (storylens.store.search.QUOTE_SPAN)

SQLITE_UP = [
    "CREATE VIRTUAL TABLE articles_fts USING fts5(article_id UNINDEXED, title, body, "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE quotes_fts USING fts5(quote_id UNINDEXED, article_id UNINDEXED, body, "
    "tokenize='unicode61 remove_diacritics 2')",
    """CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN
         DELETE FROM articles_fts WHERE rowid = new.seq;
         INSERT INTO articles_fts(rowid, article_id, title, body) VALUES (new.seq, new.id, coalesce(new.title, ''), new.text);
       END""",
    """CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN
         DELETE FROM articles_fts WHERE rowid = old.seq;
         DELETE FROM quotes_fts WHERE rowid BETWEEN old.seq * SPAN AND old.seq * SPAN + SPAN - 1;
       END""",
    """CREATE TRIGGER articles_fts_au AFTER UPDATE OF title, text, seq ON articles BEGIN
         DELETE FROM articles_fts WHERE rowid = old.seq;
         INSERT INTO articles_fts(rowid, article_id, title, body) VALUES (new.seq, new.id, coalesce(new.title, ''), new.text);
       END""",
    """CREATE TRIGGER quotes_fts_ai AFTER INSERT ON quotes BEGIN
         INSERT INTO quotes_fts(rowid, quote_id, article_id, body)
         SELECT a.seq * SPAN + coalesce((SELECT max(f.rowid) - a.seq * SPAN + 1 FROM quotes_fts f
                   WHERE f.rowid BETWEEN a.seq * SPAN AND a.seq * SPAN + SPAN - 1), 0),
                new.id, new.article_id, new.text
         FROM articles a WHERE a.id = new.article_id;
       END""",
    """CREATE TRIGGER quotes_fts_ad AFTER DELETE ON quotes BEGIN
         DELETE FROM quotes_fts WHERE rowid IN (
           SELECT f.rowid FROM quotes_fts f, articles a WHERE a.id = old.article_id
             AND f.rowid BETWEEN a.seq * SPAN AND a.seq * SPAN + SPAN - 1 AND f.quote_id = old.id);
       END""",
    """CREATE TRIGGER quotes_fts_au AFTER UPDATE OF text ON quotes BEGIN
         UPDATE quotes_fts SET body = new.text WHERE rowid IN (
           SELECT f.rowid FROM quotes_fts f, articles a WHERE a.id = old.article_id
             AND f.rowid BETWEEN a.seq * SPAN AND a.seq * SPAN + SPAN - 1 AND f.quote_id = old.id);
       END""",
]

SQLITE_UP = [stmt.replace("SPAN", str(QUOTE_SPAN)) for stmt in SQLITE_UP]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS quotes_fts_au", "DROP TRIGGER IF EXISTS quotes_fts_ad", "DROP TRIGGER IF EXISTS quotes_fts_ai",
    "DROP TRIGGER IF EXISTS articles_fts_au", "DROP TRIGGER IF EXISTS articles_fts_ad",
    "DROP TRIGGER IF EXISTS articles_fts_ai", "DROP TABLE IF EXISTS quotes_fts", "DROP TABLE IF EXISTS articles_fts",
]

# PostgreSQL caps a tsvector at 1 MB: index the first 100,000 characters of very long texts
PG_UP = [
    "ALTER TABLE articles ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, left(text, 100000)), 'B')) STORED",
    "CREATE INDEX ix_articles_search_tsv ON articles USING GIN (search_tsv)",
    "ALTER TABLE quotes ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ("
    "to_tsvector('simple'::regconfig, left(text, 100000))) STORED",
    "CREATE INDEX ix_quotes_search_tsv ON quotes USING GIN (search_tsv)",
]

PG_DOWN = [
    "DROP INDEX IF EXISTS ix_quotes_search_tsv", "ALTER TABLE quotes DROP COLUMN IF EXISTS search_tsv",
    "DROP INDEX IF EXISTS ix_articles_search_tsv", "ALTER TABLE articles DROP COLUMN IF EXISTS search_tsv",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for stmt in SQLITE_UP:
            op.execute(stmt)
        # index what is already stored
        op.execute("INSERT INTO articles_fts(rowid, article_id, title, body) "
                   "SELECT seq, id, coalesce(title, ''), text FROM articles")
        op.execute(f"INSERT INTO quotes_fts(rowid, quote_id, article_id, body) "
                   f"SELECT a.seq * {QUOTE_SPAN} + (SELECT count(*) FROM quotes q2 WHERE q2.article_id = q.article_id "
                   f"AND q2.rowid < q.rowid), q.id, q.article_id, q.text FROM quotes q JOIN articles a ON a.id = q.article_id")
    elif dialect == "postgresql":
        for stmt in PG_UP:
            op.execute(stmt)
    # other back ends: search falls back to LIKE (storylens.store.search)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for stmt in SQLITE_DOWN:
            op.execute(stmt)
    elif dialect == "postgresql":
        for stmt in PG_DOWN:
            op.execute(stmt)
