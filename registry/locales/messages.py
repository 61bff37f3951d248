"""The registry's own messages (errors, validation messages) in the caller's language.

Messages are English in the code and translated through the gettext catalogs in
``locales/<lang>/LC_MESSAGES/messages.po``. The locale is request-scoped: the locale
middleware negotiates it from ``Accept-Language`` and sets it for the request, and
Starlette copies the context into the threadpool that runs sync endpoints, so code
anywhere below a request calls :func:`_` without passing a locale around. Outside a
request (CLI, SDK) the locale is English unless :func:`use_locale` says otherwise.

Rules for messages:

- Values go in as named placeholders, formatted after translation, so translators see
  and can move them: ``_("no prompt is named {name}").format(name=repr(name))``. Never
  an f-string or ``%`` inside ``_()``.
- A string that must be translated later, when the locale is known (class-level error
  titles), is marked with :func:`N_` and passed through :func:`_` where it is shown.
- A count that the wording depends on goes through :func:`_n`.
- Every sentence a user reads is the registry's own. Another program's words that say
  more than the registry can (Jinja's syntax and runtime errors, Pydantic's message for
  a rare validation error) follow the registry's message, set apart as
  ``… (Jinja: unexpected '}')``; they are the only English left in a translated answer.
  Texts the registry can reword itself are reworded: Babel's PO parser errors and
  Python's JSON decoder errors are mapped to messages of our own.

A catalog is compiled from its ``.po`` to a ``.mo`` beside it when the ``.mo`` is missing
or older than the ``.po``, so no compiled catalog is committed.

Adding a message: mark it in the code, run ``make messages`` (extracts every marked
message into ``locales/messages.pot`` and merges it into each ``.po``), then translate
the new and fuzzy entries of every ``.po`` and remove their ``fuzzy`` flags.
``tests/locales/test_messages.py`` fails until every catalog is complete. A comment
starting with ``TRANSLATORS:`` just above a marked message reaches the translators.

The style guides' findings (``registry.style``) use a second domain, ``style``
(``locales/style.pot``, ``<lang>/LC_MESSAGES/style.po``), through :func:`style_gettext`
and :func:`style_ngettext`: their messages come from the shipped guide's YAML files as
well as from code, so ``make style-messages`` extracts them, not ``make messages``.
"""

from __future__ import annotations

import gettext
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from registry.locales.tags import canonical_locale, fallback_chain, negotiate_locale

__all__ = [
    "DOMAIN",
    "LOCALES_DIR",
    "N_",
    "SOURCE_LOCALE",
    "STYLE_DOMAIN",
    "_",
    "_n",
    "available_locales",
    "current_locale",
    "load_catalogs",
    "request_locale",
    "style_gettext",
    "style_ngettext",
    "use_locale",
]

log = logging.getLogger(__name__)

# The package is installed editable, so the catalogs sit at the repository root like the
# migrations do (see registry.migrate).
LOCALES_DIR = Path(__file__).resolve().parent.parent.parent / "locales"
DOMAIN = "messages"
# The style guides' findings have their own catalogs (``style.po``, made by
# `make style-messages`): their msgids come from guide files as well as from code.
STYLE_DOMAIN = "style"
# The language the messages are written in: no catalog, every message is its own text.
SOURCE_LOCALE = "en"

_locale: ContextVar[str] = ContextVar("registry_messages_locale", default=SOURCE_LOCALE)
_translations: dict[tuple[str, str], gettext.NullTranslations] = {}
_lock = threading.Lock()


def _(message: str) -> str:
    """Translate ``message`` into the current locale now; format placeholders afterwards."""
    return _catalog(_locale.get()).gettext(message)


def _n(singular: str, plural: str, count: int) -> str:
    """Translate the form of a message that fits ``count`` (CLDR plural rules of the locale)."""
    return _catalog(_locale.get()).ngettext(singular, plural, count)


def style_gettext(message: str) -> str:
    """Translate a style-guide message (domain ``style``) into the current locale now."""
    return _catalog(_locale.get(), STYLE_DOMAIN).gettext(message)


def style_ngettext(singular: str, plural: str, count: int) -> str:
    """Translate the form of a style-guide message (domain ``style``) that fits ``count``."""
    return _catalog(_locale.get(), STYLE_DOMAIN).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark ``message`` for extraction only; translate it with :func:`_` where it is shown."""
    return message


def current_locale() -> str:
    """The canonical locale messages are translated into right now."""
    return _locale.get()


@contextmanager
def use_locale(locale: str) -> Iterator[str]:
    """Translate messages into ``locale`` (any BCP 47 or POSIX spelling) inside the block."""
    token = _locale.set(canonical_locale(locale))
    try:
        yield _locale.get()
    finally:
        _locale.reset(token)


@lru_cache(maxsize=1)
def available_locales() -> tuple[str, ...]:
    """The locales messages are served in: English, then every catalog in ``locales/``."""
    found: set[str] = set()
    if LOCALES_DIR.is_dir():
        for po in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
            try:
                found.add(canonical_locale(po.parent.parent.name))
            except ValueError:
                log.warning("ignoring the catalog of an unknown locale: %s", po)
    found.discard(SOURCE_LOCALE)
    return (SOURCE_LOCALE, *sorted(found))


def request_locale(accept_language: str | None) -> str:
    """The available locale that best serves an ``Accept-Language`` header; else English."""
    if not accept_language:
        return SOURCE_LOCALE
    return negotiate_locale(accept_language, available_locales()) or SOURCE_LOCALE


def load_catalogs() -> None:
    """Compile and load every catalog now (at start-up) rather than at its first message."""
    for locale in available_locales():
        _catalog(locale)
        _catalog(locale, STYLE_DOMAIN)


def _catalog(locale: str, domain: str = DOMAIN) -> gettext.NullTranslations:
    """The translations of a canonical locale, falling back along its CLDR chain to English."""
    translations = _translations.get((domain, locale))
    if translations is not None:
        return translations
    with _lock:
        translations = _translations.get((domain, locale))
        if translations is None:
            translations = _load(locale, domain)
            _translations[(domain, locale)] = translations
    return translations


def _load(locale: str, domain: str = DOMAIN) -> gettext.NullTranslations:
    # fr_CA reads fr_CA, then fr, then the English source; the chain never reaches a
    # language of another script (see fallback_chain).
    chain: list[gettext.NullTranslations] = []
    for candidate in fallback_chain(locale, SOURCE_LOCALE):
        if candidate == SOURCE_LOCALE:
            break
        po = LOCALES_DIR / candidate / "LC_MESSAGES" / f"{domain}.po"
        if po.is_file():
            chain.append(Translations(BytesIO(_compiled(po, domain)), domain=domain))
    if not chain:
        return gettext.NullTranslations()
    for translations in chain[1:]:
        chain[0].add_fallback(translations)
    return chain[0]


def _compiled(po: Path, domain: str = DOMAIN) -> bytes:
    """The ``.mo`` bytes of a catalog, compiling the ``.po`` when the ``.mo`` is out of date."""
    mo = po.with_suffix(".mo")
    try:
        if mo.stat().st_mtime_ns >= po.stat().st_mtime_ns:
            return mo.read_bytes()
    except FileNotFoundError:
        pass
    with po.open("rb") as source:
        catalog = read_po(source, locale=po.parent.parent.name, domain=domain)
    buffer = BytesIO()
    # Fuzzy entries are not compiled: an unchecked translation is worse than English.
    write_mo(buffer, catalog)
    data = buffer.getvalue()
    try:
        # Atomic, so another process or replica never reads half a file.
        fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=f".{mo.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, mo)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        # A read-only install still serves translations, compiled in memory each start.
        log.warning("cannot write %s (%s); using the catalog compiled in memory", mo, exc)
    return data
