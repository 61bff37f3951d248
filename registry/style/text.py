"""A prompt's units (the text prompt, or each chat message) with their prose and positions.

Rules about wording run on the *prose*: the source with every Jinja tag, expression
and comment replaced by :data:`MASK` characters. The prose has the same length as the
source, so an offset found in it is an offset in the source, and line and column come
from the source itself. A mask character is neither a word character nor whitespace,
so ``\\b`` stops at it and a word never runs across a ``{{ variable }}``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

__all__ = ["MASK", "JinjaSpan", "Silencing", "Unit", "scan_jinja", "sentences"]

MASK = "\ue000"

_OPEN = re.compile(r"\{[{%#]")
_CLOSERS = {"{": "}}", "%": "%}", "#": "#}"}
_KINDS: dict[str, Literal["expression", "statement", "comment"]] = {
    "{": "expression",
    "%": "statement",
    "#": "comment",
}
_RAW = re.compile(r"\{%[-+]?\s*raw\s*[-+]?%\}")
_ENDRAW = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")
# The rules are cut from their trailing spaces and whitespace control (-#}) in Python: a
# lazy list followed by \s*[-+]?#} would try every split of a long run of spaces.
_SILENCE = re.compile(r"\{#[-+]?\s*style\s*:\s*(?P<switch>off|on)\b(?P<rules>[^#]*)#\}\Z")
_RULE_LIST = re.compile(r"[\s,]+")
# A sentence ends at . ! ? (also the full-width forms) before a space or the end, or at a
# line break; list items and headings are sentences of their own. A run of marks is read
# whole, once, from its start: a run not followed by a space is no end, and reading it
# again from each of its marks would take quadratic time ("....x").
_SENTENCE_END = re.compile(
    "(?<![.!?\u2026\u3002\uff01\uff1f])[.!?\u2026\u3002\uff01\uff1f]++(?=[\\s\"')\\]]|\\Z)|\n"
)
_WORD = re.compile("[^\\W_]+(?:['\u2019-][^\\W_]+)*")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_NOT_NEWLINE = re.compile(r"[^\n]")
_BLANK = " \t\n\r\f\v\u00a0\u3000" + MASK
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
# A name read in Jinja code: not an attribute (after a dot), not part of a longer name.
_NAME = re.compile(r"(?<![\w.])[^\W\d]\w*")


@dataclass(frozen=True)
class JinjaSpan:
    """A Jinja tag, expression or comment in a unit's source, ``end`` exclusive."""

    start: int
    end: int
    kind: Literal["expression", "statement", "comment"]


@dataclass(frozen=True)
class Silencing:
    """A ``{# style: off … #}`` comment and the span it silences, ``end`` exclusive."""

    start: int
    end: int
    comment_end: int
    rules: frozenset[str]  # empty: every rule


def scan_jinja(source: str) -> list[JinjaSpan]:
    """The Jinja constructs of a template in order; an unclosed one runs to the end."""
    spans: list[JinjaSpan] = []
    pos = 0
    length = len(source)
    while pos < length:
        found = _OPEN.search(source, pos)
        if found is None:
            break
        start = found.start()
        opener = source[start + 1]
        closer = _CLOSERS[opener]
        if opener == "#":
            close = source.find(closer, start + 2)
            end = length if close < 0 else close + 2
        else:
            end = _close_code(source, start + 2, closer)
        spans.append(JinjaSpan(start, end, _KINDS[opener]))
        pos = end
        if opener == "%" and _RAW.fullmatch(source, start, end):
            # {% raw %}…{% endraw %}: the text between the tags is literal prose.
            endraw = _ENDRAW.search(source, end)
            if endraw is None:
                break
            spans.append(JinjaSpan(endraw.start(), endraw.end(), "statement"))
            pos = endraw.end()
    return spans


def _close_code(source: str, pos: int, closer: str) -> int:
    """The end of an expression or statement, skipping string literals that hold ``}}``."""
    length = len(source)
    quote = ""
    while pos < length:
        char = source[pos]
        if quote:
            if char == "\\":
                pos += 2
                continue
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif source.startswith(closer, pos):
            return pos + 2
        pos += 1
    return length


def _masked(source: str, spans: list[JinjaSpan]) -> str:
    if not spans:
        return source
    parts: list[str] = []
    pos = 0
    for span in spans:
        parts.append(source[pos : span.start])
        # Line breaks stay, so lines, paragraphs and headings keep their shape.
        piece = source[span.start : span.end]
        parts.append(_NOT_NEWLINE.sub(MASK, piece) if "\n" in piece else MASK * len(piece))
        pos = span.end
    parts.append(source[pos:])
    return "".join(parts)


def sentences(prose: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` spans of the sentences of a prose, stripped of spaces."""
    found: list[tuple[int, int]] = []
    start = 0
    for end_match in _SENTENCE_END.finditer(prose):
        end = end_match.end() if end_match.group() != "\n" else end_match.start()
        _append_stripped(prose, start, end, found)
        start = end_match.end()
    _append_stripped(prose, start, len(prose), found)
    return found


def _append_stripped(prose: str, start: int, end: int, found: list[tuple[int, int]]) -> None:
    piece = prose[start:end]
    stripped = piece.lstrip(_BLANK)
    start += len(piece) - len(stripped)
    end = start + len(stripped.rstrip(_BLANK))
    if end > start and _WORD.search(prose, start, end):
        found.append((start, end))


_AFTER_ALL = 1 << 62


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans sorted and merged where they overlap or touch."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class Unit:
    """One template of a prompt: the text prompt, or one chat message."""

    def __init__(self, source: str, index: int | None, role: str | None) -> None:
        self.source = source
        self.index = index
        self.role = role
        if role is None:
            self.scopes = frozenset({"text"})
        elif role == "developer":
            # The developer role is OpenAI's new name for the system message.
            self.scopes = frozenset({"developer", "system"})
        else:
            self.scopes = frozenset({role})

    @cached_property
    def jinja(self) -> list[JinjaSpan]:
        """Every Jinja tag, expression and comment of the source."""
        return scan_jinja(self.source)

    @cached_property
    def names(self) -> dict[str, list[tuple[int, int]]]:
        """Where each name is read in the Jinja expressions and statements (not in strings).

        Every name at once: one pass over the code, however many variables are asked for.
        """
        names: dict[str, list[tuple[int, int]]] = {}
        for span in self.jinja:
            if span.kind == "comment":
                continue
            start = span.start + 2
            inner = self.source[start : max(start, span.end - 2)]
            code = _STRING_LITERAL.sub(lambda m: " " * len(m.group()), inner)
            for found in _NAME.finditer(code):
                names.setdefault(found.group(), []).append(
                    (start + found.start(), start + found.end())
                )
        return names

    @cached_property
    def prose(self) -> str:
        """The source with Jinja masked; same length, same offsets."""
        return _masked(self.source, self.jinja)

    @cached_property
    def prose_utf8(self) -> bytes:
        """The prose in UTF-8, as RE2 reads it."""
        return self.prose.encode()

    @cached_property
    def line_starts(self) -> list[int]:
        """The offset at which each line starts."""
        starts = [0]
        starts.extend(m.end() for m in re.finditer("\n", self.source))
        return starts

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based line and column (in code points) of an offset."""
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    @cached_property
    def switches(self) -> list[tuple[int, int, bool, frozenset[str]]]:
        """The ``{# style: off|on [rules] #}`` comments: start, end, off?, rules named."""
        found_switches = []
        for span in self.jinja:
            if span.kind != "comment":
                continue
            found = _SILENCE.match(self.source, span.start, span.end)
            if found is not None:
                listed = found["rules"]
                if listed.endswith(("-", "+")):
                    listed = listed[:-1]  # {# style: off -#}
                rules = frozenset(r for r in _RULE_LIST.split(listed) if r)
                found_switches.append((span.start, span.end, found["switch"] == "off", rules))
        return found_switches

    @cached_property
    def silencings(self) -> list[Silencing]:
        """The spans the ``{# style: off #}`` comments silence, each up to its ``on``."""
        open_all: tuple[int, int] | None = None
        opened: dict[str, tuple[int, int]] = {}
        spans: list[Silencing] = []
        for start, end, off, rules in self.switches:
            if off:
                if not rules and open_all is None:
                    open_all = (start, end)
                for rule in rules:
                    opened.setdefault(rule, (start, end))
                continue
            for rule in rules or set(opened):
                if rule in opened:
                    began, comment_end = opened.pop(rule)
                    spans.append(Silencing(began, end, comment_end, frozenset({rule})))
            if not rules and open_all is not None:
                spans.append(Silencing(open_all[0], end, open_all[1], frozenset()))
                open_all = None
        length = len(self.source)
        for rule, (began, comment_end) in opened.items():
            spans.append(Silencing(began, length, comment_end, frozenset({rule})))
        if open_all is not None:
            spans.append(Silencing(open_all[0], length, open_all[1], frozenset()))
        return spans

    def silenced(self, rule: str, offset: int) -> bool:
        """Whether a finding of ``rule`` at ``offset`` is inside a silenced span."""
        if not self.silencings:
            return False
        spans = self._silenced_spans.get(rule)
        if spans is None:
            spans = self._silenced_spans[rule] = _merged(
                (s.start, s.end) for s in self.silencings if not s.rules or rule in s.rules
            )
        index = bisect.bisect_right(spans, (offset, _AFTER_ALL)) - 1
        return index >= 0 and offset < spans[index][1]

    @cached_property
    def _silenced_spans(self) -> dict[str, list[tuple[int, int]]]:
        # Per rule, the spans it is silenced in, merged and sorted: one bisect a finding.
        return {}

    @cached_property
    def sentences(self) -> list[tuple[int, int]]:
        """The sentence spans of the prose."""
        return sentences(self.prose)

    @cached_property
    def words(self) -> int:
        """How many words the prose has."""
        return len(_WORD.findall(self.prose))

    @cached_property
    def paragraphs(self) -> int:
        """How many paragraphs (blocks separated by blank lines) have words in them."""
        return sum(1 for block in _PARAGRAPH.split(self.prose) if _WORD.search(block))

    @cached_property
    def characters(self) -> int:
        """How many characters the prose has, Jinja and surrounding space left out."""
        return len(self.prose.strip()) - self.prose.count(MASK)
