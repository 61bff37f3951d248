"""The locales a request names: a ``locale`` parameter or an ``Accept-Language`` header,
in canonical form, or a 422 that names the tag refused."""

from __future__ import annotations

from registry.errors import ErrorItem, InvalidInput
from registry.locales.messages import _
from registry.locales.tags import (
    LocaleError,
    canonical_locale,
    parse_accept_language,
    requested_locales,
)


def parse_locale(tag: str, loc: tuple[str | int, ...]) -> str:
    """The canonical form of a locale the caller named, or a 422 that names it."""
    try:
        return canonical_locale(tag)
    except LocaleError as exc:
        # The reason is English unless registry.locales.tags marks it for translation;
        # gettext("") would be the catalog's header, hence the guard.
        reason = _(exc.reason) if exc.reason else exc.reason
        if exc.suggestions:
            suggestions = ", ".join(exc.suggestions)
            detail = _("unknown locale {tag}; did you mean {suggestions}?").format(
                tag=repr(tag), suggestions=suggestions
            )
            # TRANSLATORS: {reason} says why a locale tag is refused.
            message = _("{reason}; did you mean {suggestions}?").format(
                reason=reason, suggestions=suggestions
            )
        else:
            detail = _("unknown locale {tag}").format(tag=repr(tag))
            message = reason
        raise InvalidInput(detail, [ErrorItem(loc=loc, message=message)]) from None


def requested_locales_from(locale: str | None, accept_language: str | None) -> list[str]:
    """The locales a request asks for: an explicit ``locale``, else ``Accept-Language``.

    Entries that are malformed or name no locale are skipped, as HTTP allows. ``*`` ends
    the list: any language will do from there, and the source locale, which every
    lookup ends with, serves it better than an arbitrary translation would.
    """
    if locale:
        return [parse_locale(locale, ("query", "locale"))]
    if not accept_language:
        return []
    ranges = [language_range for language_range, _q in parse_accept_language(accept_language)]
    if "*" in ranges:
        ranges = ranges[: ranges.index("*")]
    # The ranges are sorted best first and hold no "," or ";": written back as a header
    # of equal weights, they keep their order.
    return requested_locales(", ".join(ranges))
