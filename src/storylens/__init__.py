"""storylens: one story, every outlet."""

from __future__ import annotations

__version__ = "0.1.0"
