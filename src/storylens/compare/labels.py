"""How an article is named in comparisons and reports: its outlet, or a short label of its id."""

from __future__ import annotations

from storylens.model import Article


def outlet_label(article: Article) -> str:
    """The outlet name, or a label naming the article when the outlet is unknown."""
    if article.outlet:
        return article.outlet
    short = article.id.rsplit("/", 1)[-1]
    return f"unknown ({short[:24]})"


def short_id(article_id: str) -> str:
    return article_id.rsplit("/", 1)[-1]
