"""Locale tags in one canonical form, CLDR fallback chains and Accept-Language negotiation.

Every locale the registry stores or serves is a Babel identifier with underscores
(``pt_BR``, ``zh_Hant_TW``, ``es_419``, ``en``). :func:`canonical_locale` turns any BCP 47
or POSIX spelling into that form; the other functions accept any spelling and return it.

All knowledge comes from Babel's CLDR data: locale identifiers, aliases (``iw`` → ``he``,
``en-UK`` → ``en_GB``), likely subtags and parent locales.

Decisions:

- Babel files some locales under their script: ``zh_TW`` is stored as ``zh_Hant_TW`` and
  ``zh_CN`` as ``zh_Hans_CN``, so those are their canonical forms. A Traditional Chinese
  tag therefore always carries ``Hant`` and its chain never reaches ``zh`` (Simplified).
- A tag is accepted only when Babel loads exactly what it names. Babel's own
  ``Locale.parse`` is lenient (``de-ZZ`` → ``de_DE``, ``zh-Hant-CN`` → ``zh_Hans_CN``,
  ``iw`` → ``he_IL``); those silent changes of territory or script are rejected here, and
  only the script CLDR implies may be added (``zh-TW``) or dropped (``en-Latn-US``).
- POSIX modifiers (``sr_RS@latin``) are rejected rather than dropped: they can change the
  script, and CLDR has no data for them. The codeset (``pt_BR.UTF-8``) is ignored.
- Fallback chains follow CLDR's parent locales as Babel's own data inheritance does,
  including the explicit parents that change language (``nb`` → ``no``,
  ``hi_Latn`` → ``en_IN``); "root" never appears.
- Negotiation follows RFC 4647 lookup per language range, best q first: the locale, then
  its CLDR parents, then the closest narrower locale of the same script (``pt`` is served
  by ``pt_BR``; ``zh`` never by ``zh_Hant_TW``). A range with q=0 refuses that locale
  everywhere; ``*`` ends the search with None, leaving the choice to the caller.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.core import get_global, get_locale_identifier, parse_locale
from babel.localedata import locale_identifiers

__all__ = [
    "LocaleError",
    "canonical_locale",
    "fallback_chain",
    "format_locale",
    "negotiate_locale",
    "parse_accept_language",
    "requested_locales",
    "to_bcp47",
]

# No real tag comes close; the bound keeps hostile input out of the caches.
_MAX_TAG_LENGTH = 64
_ROOT = "root"
# Why a tag is refused: a message marked for the catalogs, and the values of its
# placeholders; it is translated when the error is shown, in the language of that moment.
_Refusal = tuple[str, tuple[tuple[str, str], ...]]
_ACCEPTED: _Refusal = ("", ())
_MAX_SUGGESTIONS = 5

_SUBTAGS = re.compile(r"[A-Za-z0-9]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")
# RFC 4647 language-range; "_" is tolerated because some clients send POSIX ids.
_LANGUAGE_RANGE = re.compile(r"\*|[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")
# RFC 9110 qvalue.
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")

_Parts = tuple[str, str | None, str | None, str | None]


def N_(message: str) -> str:
    """Mark a message for the catalogs, as registry.locales.messages.N_ does.

    That module imports this one, so this one cannot import its N_ when it loads.
    """
    return message


_MALFORMED: _Refusal = (N_("not a BCP 47 or POSIX locale tag"), ())


class LocaleError(ValueError):
    """A locale tag that is malformed or that CLDR has no data for.

    ``reason`` and ``str()`` are the registry's own messages, translated when they are
    read into the language messages are in then (a request's ``Accept-Language``).
    """

    def __init__(
        self,
        tag: str,
        reason: str,
        suggestions: Iterable[str] = (),
        values: Mapping[str, str] | None = None,
    ) -> None:
        self.tag = tag
        # The English message, with {placeholders} filled from ``values``.
        self.reason_id = reason
        self.values = dict(values or {})
        self.suggestions: list[str] = list(suggestions)
        super().__init__(tag, reason)

    @property
    def reason(self) -> str:
        """Why the tag is refused, in the current language of messages."""
        return _translate(self.reason_id).format(**self.values)

    def __str__(self) -> str:
        if self.suggestions:
            return _translate("invalid locale {tag}: {reason}; did you mean {suggestions}?").format(
                tag=repr(self.tag), reason=self.reason, suggestions=", ".join(self.suggestions)
            )
        return _translate("invalid locale {tag}: {reason}").format(
            tag=repr(self.tag), reason=self.reason
        )

    def __reduce__(
        self,
    ) -> tuple[type[LocaleError], tuple[str, str, list[str], dict[str, str]]]:
        return type(self), (self.tag, self.reason_id, self.suggestions, self.values)


def _translate(message: str) -> str:
    # Imported here: registry.locales.messages imports this module.
    from registry.locales.messages import _

    return _(message)


# The messages LocaleError shows, marked for the catalogs.
N_("invalid locale {tag}: {reason}; did you mean {suggestions}?")
N_("invalid locale {tag}: {reason}")


def canonical_locale(tag: str) -> str:
    """Return the canonical Babel identifier for a BCP 47 or POSIX tag, or raise LocaleError."""
    canonical, (reason, values) = _resolve(tag)
    if canonical is None:
        raise LocaleError(tag, reason, _suggest(tag), dict(values))
    return canonical


def to_bcp47(locale_id: str) -> str:
    """Return the BCP 47 spelling of a locale (``pt_BR`` → ``pt-BR``), e.g. for Content-Language."""
    language, territory, script, variant = _parts(canonical_locale(locale_id))
    # BCP 47 writes variants in lower case; Babel upper-cases them.
    subtags = (language, script, territory, variant.lower() if variant else None)
    return "-".join(subtag for subtag in subtags if subtag)


def fallback_chain(locale_id: str, source_locale: str) -> list[str]:
    """Return the canonical locales to try in order, ending with the source locale."""
    return list(_fallback_chain(canonical_locale(locale_id), canonical_locale(source_locale)))


# Called on every render, the server's and the SDK's, with a few pairs over and over.
@lru_cache(maxsize=1024)
def format_locale(requested: str, served: str) -> str:
    """Return the locale numbers, dates and currencies are formatted for in a served text.

    A text served from a parent locale of the caller's language is formatted for the
    locale asked for (``de_CH`` served from ``de`` writes ``EUR 1'234.50``, not
    ``1.234,50 €``; ``en_IN`` served from ``en`` writes ``12,34,567``); a text in
    another language is formatted for the locale it is written in (``it`` served the
    English source formats as ``en``), so its numbers and month names match its words.
    The same language in another script is another writing (``zh_Hant_TW`` served ``zh``,
    Simplified, formats as ``zh``).
    """
    requested_id, served_id = canonical_locale(requested), canonical_locale(served)
    # Same language, not merely an ancestor: CLDR's parent of hi_Latn is en_IN, whose
    # English text would read oddly with Hindi month names.
    if _writing(requested_id) == _writing(served_id):
        return requested_id
    return served_id


def _writing(locale_id: str) -> tuple[str, str | None]:
    """Return a canonical locale's language and the script it is written in."""
    language, territory, script, _variant = _parts(locale_id)
    return language, script or _likely_script(language, territory)


def parse_accept_language(header: str) -> list[tuple[str, float]]:
    """Return the language ranges of an Accept-Language header with their q-values, best first."""
    return [(language_range, q) for language_range, q in _weighted_ranges(header) if q > 0]


def requested_locales(accept_language: str) -> list[str]:
    """Return the canonical locales an Accept-Language header asks for, best first."""
    requested: dict[str, None] = {}
    for language_range, _q in parse_accept_language(accept_language):
        canonical = _resolve(language_range)[0]
        if canonical is not None:
            requested.setdefault(canonical)
    return list(requested)


def negotiate_locale(accept_language: str, available: Iterable[str]) -> str | None:
    """Return the available canonical locale that best serves an Accept-Language header."""
    offered = {canonical: None for loc in available if (canonical := _resolve(loc)[0])}
    ranges = _weighted_ranges(accept_language)
    refused = {
        canonical
        for language_range, q in ranges
        if q == 0 and (canonical := _resolve(language_range)[0])
    }
    for language_range, q in ranges:
        if q == 0:
            continue
        if language_range == "*":
            # Any locale is acceptable from here on: the caller's default (the prompt's
            # source locale) serves it better than an arbitrary translation would.
            return None
        requested = _resolve(language_range)[0]
        if requested is None or requested in refused:
            continue
        # RFC 4647 lookup: the locale itself, then its CLDR parents.
        for candidate in _ancestry(requested):
            if candidate in offered and candidate not in refused:
                return candidate
        # Someone asking for "pt" reads pt_BR; "zh" never matches zh_Hant_TW, whose
        # ancestry stops before the bare language.
        narrower = [
            loc for loc in offered if loc not in refused and requested in _ancestry(loc)[1:]
        ]
        if narrower:
            return min(narrower, key=lambda loc: (len(_ancestry(loc)), loc))
    return None


def _resolve(tag: str) -> tuple[str | None, _Refusal]:
    """Return ``(canonical id, _ACCEPTED)`` or ``(None, why the tag is refused)``."""
    if len(tag) > 2 * _MAX_TAG_LENGTH:
        # Refused before the cache, so hostile input cannot fill it with huge keys.
        return None, _MALFORMED
    return _resolve_cached(tag)


@lru_cache(maxsize=4096)
def _resolve_cached(tag: str) -> tuple[str | None, _Refusal]:
    """Resolve a tag of bounded length; see :func:`_resolve`."""
    text = tag.strip()
    if not text:
        return None, (N_("empty locale tag"), ())
    if len(text) > _MAX_TAG_LENGTH or not text.isascii():
        return None, _MALFORMED
    stem, at, _modifier = text.partition("@")
    if at:
        return None, (N_("POSIX modifiers (@...) are not supported; name the script instead"), ())
    stem = stem.partition(".")[0]
    # parse_locale alone would take "Hant_TW" in "zh-Hant_TW" for a variant.
    if not _SUBTAGS.fullmatch(stem):
        return None, _MALFORMED
    if "-" in stem and "_" in stem:
        return None, (N_("a tag uses '-' or '_' between its parts, not both"), ())
    separator = "-" if "-" in stem else "_"
    try:
        language, territory, script, variant = parse_locale(stem, sep=separator)[:4]
    except ValueError:
        return None, _MALFORMED
    language, territory, script = _apply_aliases(language, territory, script)
    if language in {_ROOT, "und"}:
        return None, (N_("the root and undetermined locales cannot be served"), ())

    candidates = [(language, territory, script, variant)]
    if script is not None and script == _likely_script(language, territory):
        # en-Latn-US names en_US: CLDR files a locale without its default script.
        candidates.append((language, territory, None, variant))
    for parts in candidates:
        identifier = get_locale_identifier(parts)
        try:
            loaded = Locale.parse(identifier, sep="_", resolve_likely_subtags=False)
        except (UnknownLocaleError, ValueError):
            continue
        if _parts(str(loaded)) == parts:
            return str(loaded), _ACCEPTED
    if script is None:
        # zh-TW names zh_Hant_TW: let Babel add the script CLDR files the locale under,
        # but nothing else (it would turn de-ZZ into de_DE).
        try:
            loaded = Locale.parse(get_locale_identifier(candidates[0]), sep="_")
        except (UnknownLocaleError, ValueError):
            pass
        else:
            found = _parts(str(loaded))
            if (found[0], found[1], found[3]) == (language, territory, variant):
                return str(loaded), _ACCEPTED
    if _likely_script(language, None) is None:
        return None, (N_("unknown language {language}"), (("language", repr(language)),))
    missing = repr(get_locale_identifier(candidates[0]))
    return None, (N_("CLDR has no locale {locale}"), (("locale", missing),))


def _apply_aliases(
    language: str, territory: str | None, script: str | None
) -> tuple[str, str | None, str | None]:
    """Replace deprecated codes by CLDR's current ones (iw → he, sh → sr_Latn, UK → GB)."""
    alias = get_global("language_aliases").get(language)
    if alias:
        try:
            alias_language, alias_territory, alias_script = parse_locale(str(alias))[:3]
        except ValueError:
            pass
        else:
            language = alias_language
            territory = territory or alias_territory
            script = script or alias_script
    if territory:
        territory = str(get_global("territory_aliases").get(territory, (territory,))[0])
    if script:
        script = str(get_global("script_aliases").get(script, script))
    return language, territory, script


def _parts(locale_id: str) -> _Parts:
    """Split a canonical id into (language, territory, script, variant)."""
    language, territory, script, variant = parse_locale(locale_id)[:4]
    return str(language), territory, script, variant


@lru_cache(maxsize=1024)
def _likely_script(language: str, territory: str | None) -> str | None:
    """Return the script CLDR assumes for a language (in a territory), or None if unknown."""
    likely = get_global("likely_subtags")
    keys = [f"{language}_{territory}", language] if territory else [language]
    for key in keys:
        maximized = likely.get(key)
        if maximized:
            script = parse_locale(str(maximized))[2]
            return str(script) if script else None
    return None


def _cldr_parent(locale_id: str) -> str:
    """Return the CLDR parent locale, as Babel's data inheritance uses it."""
    explicit = get_global("parent_exceptions").get(locale_id)
    if explicit:
        return str(explicit)
    language, territory, script, variant = _parts(locale_id)
    if script and not territory and not variant and script != _likely_script(language, None):
        # CLDR's nonlikelyScript rule: zh_Hant and sr_Latn inherit from root, not zh or sr.
        return _ROOT
    head = locale_id.rpartition("_")[0]
    return head or _ROOT


@lru_cache(maxsize=2048)
def _ancestry(locale_id: str) -> tuple[str, ...]:
    """Return a canonical locale followed by its CLDR parents and language, never root."""
    chain = [locale_id]
    parent = _cldr_parent(locale_id)
    while parent != _ROOT and parent not in chain:
        chain.append(parent)
        parent = _cldr_parent(parent)
    language, territory, script, _variant = _parts(locale_id)
    effective_script = script or _likely_script(language, territory)
    if language not in chain and effective_script == _likely_script(language, None):
        chain.append(language)
    return tuple(chain)


@lru_cache(maxsize=2048)
def _fallback_chain(locale_id: str, source_locale: str) -> tuple[str, ...]:
    """Return the ancestry of a canonical locale, then the canonical source locale."""
    ancestry = _ancestry(locale_id)
    return ancestry if source_locale in ancestry else (*ancestry, source_locale)


def _weighted_ranges(header: str) -> list[tuple[str, float]]:
    """Parse Accept-Language into (range, q) pairs, q=0 included, best first, bad ones dropped."""
    ranges: list[tuple[str, float]] = []
    for item in header.split(","):
        language_range, *params = (piece.strip() for piece in item.split(";"))
        if not _LANGUAGE_RANGE.fullmatch(language_range) or len(params) > 1:
            continue
        q = 1.0
        if params:
            name, equals, value = params[0].partition("=")
            value = value.strip()
            if name.strip().lower() != "q" or not equals or not _QVALUE.fullmatch(value):
                continue
            q = float(value)
        ranges.append((language_range, q))
    # sort() is stable: equal weights keep the order the client sent.
    ranges.sort(key=lambda entry: -entry[1])
    return ranges


@lru_cache(maxsize=1)
def _known_ids() -> dict[str, str]:
    """Return every locale Babel has data for, keyed by its lower-cased id."""
    return {str(i).lower(): str(i) for i in locale_identifiers() if i != _ROOT}


@lru_cache(maxsize=1)
def _language_names() -> dict[str, str]:
    """Return lower-cased English language names mapped to codes Babel has locales for."""
    languages = {locale_id.split("_")[0] for locale_id in _known_ids().values()}
    names = Locale("en").languages.items()
    return {str(name).lower(): str(code) for code, name in names if code in languages}


def _suggest(tag: str) -> tuple[str, ...]:
    """Return close canonical locales for a refused tag, most likely first."""
    return _suggest_cached(tag) if len(tag) <= 2 * _MAX_TAG_LENGTH else ()


@lru_cache(maxsize=512)
def _suggest_cached(tag: str) -> tuple[str, ...]:
    """Suggest locales for a tag of bounded length; see :func:`_suggest`."""
    text = tag.strip()
    if len(text) > _MAX_TAG_LENGTH:
        return ()
    stem, at, _modifier = text.partition("@")
    subtags = [subtag for subtag in re.split(r"[-_]", stem.partition(".")[0].lower()) if subtag]
    if not subtags:
        return ()
    key = "_".join(subtags)
    language = str(get_global("language_aliases").get(subtags[0], subtags[0]))
    language = language.split("_")[0].lower()
    if language in {_ROOT, "und"}:
        return ()
    found: dict[str, None] = {}
    if not at:
        # A malformed tag often starts with a good one (en-US-u-ca-gregory, en--US); with
        # a modifier it would not (sr_RS@latin is Latin, sr_RS Cyrillic).
        for end in range(len(subtags), 0, -1):
            canonical = _resolve("_".join(subtags[:end]))[0]
            if canonical is not None:
                found[canonical] = None
                break
    known = _known_ids()
    same_language = [k for k in known if k == language or k.startswith(f"{language}_")]
    if same_language:
        # The bare language is a safe answer when only the region or script is wrong.
        ranked = sorted(
            same_language,
            key=lambda k: (k != language, -difflib.SequenceMatcher(None, key, k).ratio(), k),
        )
        found.update(dict.fromkeys(known[k] for k in ranked))
    else:
        names = _language_names()
        by_name = difflib.get_close_matches(key.replace("_", " "), names, n=2, cutoff=0.8)
        by_code = difflib.get_close_matches(key, known, n=_MAX_SUGGESTIONS, cutoff=0.75)
        found.update(dict.fromkeys([names[name] for name in by_name] + [known[k] for k in by_code]))
    return tuple(found)[:_MAX_SUGGESTIONS]
