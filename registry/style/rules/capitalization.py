"""``capitalization``: Markdown headings (or token matches) in a case style or a pattern."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from registry.style.document import Document
from registry.style.i18n import Message, mark
from registry.style.rules.base import (
    Hit,
    Rule,
    Spec,
    compile_tokens,
    read_ignorecase,
)
from registry.style.rules.patterns import Pattern
from registry.style.text import MASK, Unit

__all__ = ["Capitalization"]


M_CAPITALIZATION = mark('write "{match}" as "{fix}"')
M_CAPITALIZATION_PATTERN = mark('"{match}" is not capitalized as this guide asks')

# A Markdown heading; the trailing spaces and closing hashes are cut off in Python, as a
# lazy text followed by [ \t#]*$ would try every split of a long run of spaces.
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(?P<text>[^\n]*)", re.MULTILINE)
# Words that title case leaves in lower case, unless they open or close the heading.
_SMALL_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "nor", "of"}
    | {"off", "on", "or", "per", "so", "the", "to", "up", "via", "vs", "with", "yet"}
)
_CASES = ("title", "sentence", "lower", "upper")


@dataclass(frozen=True, kw_only=True)
class Capitalization(Rule):
    """Headings (or token matches) in a case style or matching a pattern."""

    case: str | None
    pattern: Pattern | None
    tokens: Pattern | None
    exceptions: frozenset[str]

    kind = "capitalization"
    fields = ("match", "fix")
    keys = ("match", "tokens", "ignorecase", "nonword", "exceptions")

    @classmethod
    def parse(cls, spec: Spec) -> dict[str, Any] | None:
        style = spec.string("match", "sentence") or "sentence"
        case: str | None = style.lstrip("$")
        pattern = None
        if case not in _CASES:
            case = None
            pattern = spec.regex("match", style)
            if pattern is None:
                return None
        tokens = spec.strings("tokens")
        compiled = None
        if tokens:
            compiled = compile_tokens(
                spec, "tokens", tokens, read_ignorecase(spec), spec.boolean("nonword", False)
            )
            if compiled is None:
                return None
        exceptions = frozenset(spec.strings("exceptions"))
        return {"case": case, "pattern": pattern, "tokens": compiled, "exceptions": exceptions}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            if self.tokens is not None:
                spans = [(m.start, m.end) for m in self.tokens.finditer(unit, self.reads)]
            else:
                # A heading's "#" in a code block is a comment: code is masked unless read.
                spans = [
                    (m.start("text"), m.start("text") + len(m["text"].rstrip(" \t#")))
                    for m in _HEADING.finditer(unit.scoped(self.reads | {"heading"})[0])
                ]
            for start, end in spans:
                if end <= start:
                    continue
                text = unit.prose[start:end]
                if self.pattern is not None:
                    if not self.pattern.fullmatch(text):
                        yield Hit(
                            unit,
                            start,
                            end,
                            unit.source[start:end],
                            message=self.message or Message(M_CAPITALIZATION_PATTERN),
                        )
                    continue
                fixed = self._recase(unit.source, unit.prose, start, end)
                if fixed != unit.source[start:end]:
                    yield Hit(
                        unit,
                        start,
                        end,
                        unit.source[start:end],
                        fix=fixed,
                        params={"fix": fixed},
                        message=self.message or Message(M_CAPITALIZATION),
                    )

    def _recase(self, source: str, prose: str, start: int, end: int) -> str:
        words = list(re.finditer(r"\S+", prose[start:end]))
        out = []
        position = start
        for index, word in enumerate(words):
            w_start, w_end = start + word.start(), start + word.end()
            out.append(source[position:w_start])
            original = source[w_start:w_end]
            if MASK in prose[w_start:w_end] or original in self.exceptions:
                out.append(original)
            else:
                out.append(self._word_case(original, index, len(words)))
            position = w_end
        out.append(source[position:end])
        return "".join(out)

    def _word_case(self, word: str, index: int, count: int) -> str:
        letters = [c for c in word if c.isalpha()]
        # An acronym or a word with inner capitals (API, iPhone) is written as it is.
        if self.case in ("title", "sentence") and (
            (len(letters) > 1 and all(c.isupper() for c in letters))
            or any(c.isupper() for c in word[1:])
        ):
            return word
        if self.case == "upper":
            return word.upper()
        if self.case == "lower":
            return word.lower()
        if self.case == "sentence":
            return _capitalize(word) if index == 0 else word.lower()
        if index not in (0, count - 1) and word.lower() in _SMALL_WORDS:
            return word.lower()
        return _capitalize(word)


def _capitalize(word: str) -> str:
    for index, char in enumerate(word):
        if char.isalpha():
            return word[:index] + char.upper() + word[index + 1 :]
    return word
