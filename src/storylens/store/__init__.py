"""Persistence of the pipeline's records (SQLAlchemy 2: SQLite by default, PostgreSQL for servers)."""

from storylens.store.db import ArticleWrite, Store, StoredQuote, make_engine, upgrade

__all__ = ["ArticleWrite", "Store", "StoredQuote", "make_engine", "upgrade"]
