"""Messages of findings: gettext domain ``style``, formatted safely after translation.

Messages written in code are marked with :func:`mark` (and :func:`mark_plural`), the
keywords ``make style-messages`` extracts; the shipped guide's ``message`` fields are
extracted from its YAML files. A message written in a user's guide is shown as written.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

from registry.locales.messages import style_gettext, style_ngettext

__all__ = ["Message", "fields", "format_message", "mark", "mark_plural", "translate"]

_FORMATTER = string.Formatter()


def mark(message: str) -> str:
    """Mark ``message`` for extraction into ``locales/style.pot``; translate it where shown."""
    return message


def mark_plural(singular: str, plural: str) -> tuple[str, str]:
    """Mark a message with a plural form for extraction into ``locales/style.pot``."""
    return singular, plural


def fields(template: str) -> list[str]:
    """The ``{name}`` fields of a message, or raise ValueError for a malformed one."""
    return [name for _text, name, _spec, _conv in _FORMATTER.parse(template) if name is not None]


def format_message(template: str, params: Mapping[str, object]) -> str:
    """Fill ``{name}`` fields from ``params``; anything else is kept as written.

    Only plain names are looked up, never attributes or items, so a guide's message
    cannot reach into the objects it is formatted with.
    """
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError:
        return template
    out: list[str] = []
    for text, name, spec, conversion in parsed:
        out.append(text)
        if name is None:
            continue
        if name in params and not spec and not conversion:
            out.append(str(params[name]))
        else:
            out.append("{" + name + ("!" + conversion if conversion else "") + "}")
    return "".join(out)


@dataclass(frozen=True)
class Message:
    """A message to show in the current locale: a msgid (or a user's text) and its plural."""

    text: str
    plural: str | None = None
    count: int = 1
    translatable: bool = True

    def render(self, params: Mapping[str, object]) -> str:
        """The message in the current locale with its fields filled."""
        if not self.translatable:
            template = self.text if self.plural is None or self.count == 1 else self.plural
        elif self.plural is None:
            template = style_gettext(self.text)
        else:
            template = style_ngettext(self.text, self.plural, self.count)
        return format_message(template, params)


def translate(msgid: str) -> str:
    """A marked message with no fields, in the current locale: for the errors of a guide."""
    return Message(msgid).render({})
