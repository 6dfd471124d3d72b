"""Persistence of the pipeline's records (SQLAlchemy 2: SQLite by default, PostgreSQL for servers)."""

from storylens.store.db import Store, StoredQuote, make_engine, upgrade

__all__ = ["Store", "StoredQuote", "make_engine", "upgrade"]
