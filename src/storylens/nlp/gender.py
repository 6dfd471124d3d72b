"""Grammatical gender of a person's first name, for pronoun agreement ("Ann Lee said. He disagreed" is not Ann).

The name lists are Faker's (MIT): first names by gender for several dozen locales, Latin and Cyrillic.  A name
listed under both genders anywhere (Jordan, Andrea) has no gender: unsure never decides.
"""

from __future__ import annotations

import functools
import importlib
import logging
import pkgutil

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def first_names() -> dict[str, str]:
    """Case-folded first name -> "m" or "f"; empty when Faker is not installed."""
    try:
        import faker.providers.person as person
    except ImportError:  # pragma: no cover - a declared dependency
        log.warning("faker is not installed: first names carry no gender")
        return {}
    seen: dict[str, set[str]] = {}
    for mod in pkgutil.iter_modules(person.__path__):
        try:
            provider = importlib.import_module(f"{person.__name__}.{mod.name}").Provider
        except (ImportError, AttributeError):
            continue
        for attr, g in (("first_names_female", "f"), ("first_names_male", "m")):
            for name in getattr(provider, attr, ()) or ():
                if isinstance(name, str) and name.isalpha():
                    seen.setdefault(name.casefold(), set()).add(g)
    return {n: next(iter(gs)) for n, gs in seen.items() if len(gs) == 1}


def name_gender(first: str) -> str | None:
    return first_names().get(first.casefold().strip(".")) if first else None
