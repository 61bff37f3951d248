"""``repetition``: the same word twice in a row."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from registry.style.document import Document
from registry.style.i18n import mark
from registry.style.rules.base import (
    Hit,
    Rule,
    Spec,
    compile_tokens,
    excepted,
    read_exceptions,
)
from registry.style.rules.patterns import Found, Pattern
from registry.style.text import Unit

__all__ = ["Repetition"]


M_REPETITION = mark('"{match}" is repeated')

# Any word twice. This module's own pattern, on `re` for speed: it runs in linear time, as
# a failed attempt gives back at most the word and the spaces it read, and a shorter word
# is never followed by a space.
_REPEATED_WORD_CASED = re.compile(r"(?<!\w)(?P<word>[^\W\d_]+)[^\S\n]+(?P=word)(?!\w)")
_REPEATED_WORD = re.compile(_REPEATED_WORD_CASED.pattern, re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class Repetition(Rule):
    """The same word twice in a row."""

    # The guide's tokens; None: any word, found by this module's own pattern.
    words: Pattern | None
    ignorecase: bool
    exceptions: Pattern | None = None

    kind = "repetition"
    # Reduplicated names ("Bora Bora", "Walla Walla") are no repetition.
    default_reads = frozenset({"prose", "heading"})
    default_message = M_REPETITION
    keys = ("tokens", "ignorecase", "exceptions")

    @classmethod
    def parse(cls, spec: Spec) -> dict[str, Any] | None:
        ignorecase = spec.boolean("ignorecase", True)
        tokens = spec.strings("tokens")
        words = None
        if tokens:
            words = compile_tokens(spec, "tokens", tokens, ignorecase, nonword=False)
            if words is None:
                return None
        return {
            "words": words,
            "ignorecase": ignorecase,
            "exceptions": read_exceptions(spec, ignorecase),
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            for start, end, word_end in self._repeats(unit):
                word = unit.source[start:word_end]
                if not excepted(self.exceptions, word):
                    text = unit.source[start:end]
                    yield Hit(unit, start, end, text, fix=word, params={"match": word})

    def _repeats(self, unit: Unit) -> Iterator[tuple[int, int, int]]:
        """Each word followed by spaces and itself: start, end, and the first word's end."""
        prose = unit.scoped(self.reads)[0]
        if self.words is None:
            pattern = _REPEATED_WORD if self.ignorecase else _REPEATED_WORD_CASED
            for found in pattern.finditer(prose):
                yield found.start(), found.end(), found.end("word")
            return
        # RE2 has no backreference: compare each token with the next one.
        previous: Found | None = None
        for token in self.words.finditer(unit, self.reads):
            if previous is not None and self._same(prose, previous, token):
                yield previous.start, token.end, previous.end
                previous = None  # "the the the" is one repetition, then a lone "the"
                continue
            previous = token

    def _same(self, prose: str, first: Found, second: Found) -> bool:
        between = prose[first.end : second.start]
        # A word at a line's end and the same word starting the next line (a heading and
        # its first line, a list) are no repetition.
        if not between or not between.isspace() or "\n" in between:
            return False
        one, two = prose[first.start : first.end], prose[second.start : second.end]
        return one.casefold() == two.casefold() if self.ignorecase else one == two
