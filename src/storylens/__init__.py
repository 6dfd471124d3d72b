"""storylens: one story, every outlet.

The public Python API is :class:`storylens.Corpus`; records are in :mod:`storylens.model`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Corpus", "Settings", "__version__"]

if TYPE_CHECKING:
    from storylens.corpus import Corpus
    from storylens.settings import Settings


def __getattr__(name: str) -> Any:  # lazy: `import storylens` stays cheap for the CLI's --help
    if name == "Corpus":
        from storylens.corpus import Corpus

        return Corpus
    if name == "Settings":
        from storylens.settings import Settings

        return Settings
    raise AttributeError(name)
