"""Which locales a prompt's text is looked up in, and what the served one says to the caller.

The server and the SDK's offline bundle both answer with these, so a bundled answer is
the one the registry would give. No database or web imports: the SDK runs it.

The caller's order of preference decides, and the prompt's source locale is a candidate
like any other: ``en, fr;q=0.9`` on an English source serves English, and ``en-GB``
reaches it as its parent. The source comes last in every case, so something is served.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from registry.locales.tags import fallback_chain

__all__ = ["LocaleMatch", "candidate_locales", "locale_match"]


class LocaleMatch(StrEnum):
    """How the served locale relates to the one asked for."""

    exact = "exact"
    fallback = "fallback"
    source = "source"


def _ancestry(locale: str) -> list[str]:
    # With itself as the source, a locale's chain is its CLDR parents alone.
    return fallback_chain(locale, locale)


def candidate_locales(requested: Sequence[str], source_locale: str) -> list[str]:
    """Every locale worth trying, in order: each requested locale's CLDR chain, then source."""
    seen: dict[str, None] = {}
    for locale in requested:
        seen.update(dict.fromkeys(_ancestry(locale)))
    seen.setdefault(source_locale)
    return list(seen)


def locale_match(served: str, requested: Sequence[str]) -> LocaleMatch:
    """How the served locale relates to the ones asked for.

    ``exact``: the first locale asked for. ``fallback``: a locale the caller's list
    reaches (a CLDR parent of one asked for, or a later choice). ``source``: none of them;
    the source locale served because nothing asked for could be, or nothing was asked.
    """
    if not requested:
        return LocaleMatch.source
    if served == requested[0]:
        return LocaleMatch.exact
    if any(served in _ancestry(locale) for locale in requested):
        return LocaleMatch.fallback
    return LocaleMatch.source
