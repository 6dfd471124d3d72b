"""storylens.clean: page-furniture removal and detection (language, outlet, title, dateline, dates).

>>> from storylens.clean import prepare, FurnitureModel
>>> article = prepare(raw_document, settings, FurnitureModel())
"""

from storylens.clean.dates import infer_published, resolve_mentions
from storylens.clean.furniture import Cleaned, FurnitureChanges, FurnitureModel, clean_text, normalise_text
from storylens.clean.language import detect_language
from storylens.clean.prepare import content_hash, prepare

__all__ = [
    "Cleaned", "FurnitureChanges", "FurnitureModel", "clean_text", "content_hash", "detect_language", "infer_published",
    "normalise_text", "prepare", "resolve_mentions",
]
