"""``language``: the prose is not in the language of the declared locale."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from babel import Locale, UnknownLocaleError

from registry.locales.messages import current_locale
from registry.style.builtin.base import Builtin
from registry.style.document import Document
from registry.style.i18n import Message, mark
from registry.style.rules.base import Hit, Spec
from registry.style.text import Unit

__all__ = ["Language"]

M_LANGUAGE = mark("the text looks like {language}, but its locale is {locale}")


def _language_name(code: str) -> str:
    try:
        name = Locale.parse(code).get_display_name(current_locale())
    except (UnknownLocaleError, ValueError):
        return code
    return name or code


@dataclass(frozen=True, kw_only=True)
class Language(Builtin):
    """The prose is in the language of the declared locale."""

    min_words: int
    confidence: float

    check_name: ClassVar[str] = "language"
    param_keys = ("min_words", "confidence")

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        return {
            "min_words": params.integer("min_words", 8, 1) or 8,
            "confidence": params.fraction("confidence", 0.9),
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        detected = doc.other_language(self.min_words, self.confidence)
        if detected is None:
            return
        yield Hit(
            units[0],
            0,
            0,
            detected.language,
            params={
                "language": _language_name(detected.language),
                "locale": _language_name(doc.locale.replace("-", "_")),
            },
            message=Message(M_LANGUAGE),
        )
