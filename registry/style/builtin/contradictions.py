"""``contradictions``: "always X" and "never X" in one prompt."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from registry.style.builtin.base import WORDS, Builtin, bounded
from registry.style.document import Document
from registry.style.i18n import Message, mark
from registry.style.rules.base import Hit, Spec
from registry.style.rules.patterns import Pattern, words_pattern
from registry.style.text import Unit

__all__ = ["Contradictions"]

M_CONTRADICTION = mark('"{match}" contradicts "{other}" earlier in the prompt')
_ARTICLES = frozenset({"a", "an", "the", "please", "you", "to"})
# This module's own patterns stay on `re`, each linear: a character class, or a few
# words of a few letters tried at each position.
_CLAUSE_END = re.compile(
    "[.!?;:,\u2026\u3002\uff01\uff1f\n]|(?<!\\w)(?:and|but|or|unless|except|und|aber|oder)(?!\\w)",
    re.IGNORECASE,
)


def _normalized(text: str, start: int, end: int, limit: int) -> tuple[str, ...]:
    """The words of a clause, lower-cased, without articles; empty past ``limit`` words."""
    words: list[str] = []
    for found in WORDS.finditer(text, start, end):
        word = found.group().lower()
        if word not in _ARTICLES:
            words.append(word)
            if len(words) > limit:
                return ()
    return tuple(words)


# How many words of a clause are compared at most (see base.MAX_WINDOW).
MAX_WORDS = 64


@dataclass(frozen=True, kw_only=True)
class Contradictions(Builtin):
    """Contradictory instructions: "always X" and "never X" (or "do not X") in one prompt."""

    positive: Pattern
    negative: Pattern
    max_words: int

    check_name: ClassVar[str] = "contradictions"
    default_reads = frozenset({"prose", "heading", "name"})
    param_keys = ("always", "never", "max_words")

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        always = params.strings("always") or ["always", "you must", "make sure to"]
        never = params.strings("never") or ["never", "do not", "don't", "you must not"]
        positive = _marker(params, "always", always)
        negative = _marker(params, "never", never)
        if positive is None or negative is None:
            return None
        return {
            "positive": positive,
            "negative": negative,
            "max_words": bounded(params, "max_words", 8, 1, MAX_WORDS),
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        seen: dict[tuple[str, ...], tuple[bool, str]] = {}
        for unit in units:
            prose = unit.scoped(self.reads)[0]
            markers = [(m, True) for m in self.positive.finditer(unit, self.reads)]
            markers += [(m, False) for m in self.negative.finditer(unit, self.reads)]
            markers.sort(key=lambda pair: pair[0].start)
            for found, positive in markers:
                # A clause longer than this has more words than max_words anyway.
                window = min(len(prose), found.end + 40 * self.max_words)
                end_match = _CLAUSE_END.search(prose, found.end, window)
                end = end_match.start() if end_match else window
                what = _normalized(prose, found.end, end, self.max_words)
                if not what:
                    continue
                text = unit.source[found.start : end].strip()
                earlier = seen.get(what)
                if earlier is None:
                    seen[what] = (positive, text)
                elif earlier[0] != positive:
                    yield Hit(
                        unit,
                        found.start,
                        found.start + len(text),
                        text,
                        params={"other": earlier[1]},
                        message=Message(M_CONTRADICTION),
                    )


def _marker(params: Spec, key: str, words: Sequence[str]) -> Pattern | None:
    pattern = words_pattern([re.escape(w) for w in words])
    return params.regex(key, pattern, ignorecase=True, bounded=True)
