"""A prompt's units (the text prompt, or each chat message) with their prose and positions.

Rules about wording run on the *prose*: the source with every Jinja tag, expression
and comment replaced by :data:`MASK` characters. The prose has the same length as the
source, so an offset found in it is an offset in the source, and line and column come
from the source itself. A mask character is neither a word character nor whitespace,
so ``\\b`` stops at it and a word never runs across a ``{{ variable }}``.

The text is cut into *scopes*, as Vale does (:data:`TEXT_SCOPES`), and each rule reads
the scopes it names: ``code`` (fenced code blocks and inline code), ``quote`` (block
quotes, and text in double quotes within a line: quoted examples, lyrics, answers,
JSON strings), ``heading`` (Markdown headings), ``name`` (proper names and titles:
capitalized words inside a sentence, and runs of capitalized words such as "Bora Bora"
or "Postman/Newman"), and ``prose``, the running text outside the others. What a rule
does not read is masked in its text (:meth:`Unit.scoped`), so offsets stay right.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

__all__ = [
    "ALL_SCOPES",
    "MASK",
    "TEXT_SCOPES",
    "JinjaSpan",
    "Silencing",
    "Unit",
    "scan_jinja",
    "sentences",
]

MASK = "\ue000"
TEXT_SCOPES = ("prose", "heading", "quote", "code", "name")
ALL_SCOPES = frozenset(TEXT_SCOPES)

# Markdown structure, read line by line (each pattern anchored at a line's start).
_FENCE = re.compile(r"[ \t]{0,3}(?P<fence>`{3,}|~{3,})")
_HEADING_LINE = re.compile(r"[ \t]{0,3}#{1,6}(?:[ \t]|$)")
_BLOCKQUOTE = re.compile(r"[ \t]{0,3}>")
_BACKTICKS = re.compile(r"`+")
# Quotes that open and close differently; straight double quotes pair up within a line.
_CURLY_QUOTES = re.compile(
    "\u201c[^\u201c\u201d\n]*\u201d|\u00ab[^\u00ab\u00bb\n]*\u00bb|\u201e[^\u201e\u201c\u201d\n]*[\u201c\u201d]"
)
_STRAIGHT_QUOTE = re.compile('"')
# A word that starts with a capital and is not all capitals: a name when it is not the
# first word of its sentence, or when a capitalized word is joined to it.
# Only words that start with a capital of the Latin, Greek or Cyrillic alphabets are
# looked at: reading every word of a long prompt in Python would cost a millisecond.
_TITLE_WORD = re.compile(
    "(?<!\\w)[A-Z\u00c0-\u00d6\u00d8-\u00de\u0391-\u03a9\u0400-\u042f][\\w'\u2019]*"
)
_JOINERS = frozenset(" /-")
_NOUNS_CAPITALIZED = frozenset({"de", "lb"})
# What may stand between a sentence's start and its first word: spaces, list and
# heading marks, emphasis, opening brackets and quotes.
_MARKUP = " \t*_#>|+-([{\"'\u201c\u2018\u00ab\u201e`\u2022" + MASK
_LIST_NUMBER = _MARKUP + "0123456789.)"
_SENTENCE_MARKS = frozenset(".!?:;\u2026\u3002\uff01\uff1f")

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


def _masked_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with each span masked, line breaks kept."""
    if not spans:
        return text
    parts: list[str] = []
    pos = 0
    for start, end in spans:
        parts.append(text[pos:start])
        piece = text[start:end]
        parts.append(_NOT_NEWLINE.sub(MASK, piece) if "\n" in piece else MASK * len(piece))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _gaps(spans: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """The spans between sorted, disjoint spans, from 0 to ``length``."""
    gaps = []
    pos = 0
    for start, end in spans:
        if start > pos:
            gaps.append((pos, start))
        pos = max(pos, end)
    if pos < length:
        gaps.append((pos, length))
    return gaps


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


def _line_spans(text: str) -> Iterable[tuple[int, int]]:
    start = 0
    for end in (m.start() for m in re.finditer("\n", text)):
        yield start, end
        start = end + 1
    yield start, len(text)


def _structure(text: str) -> dict[str, list[tuple[int, int]]]:
    """The spans of code, quotes and headings in a text (the prose: Jinja masked)."""
    code: list[tuple[int, int]] = []
    quote: list[tuple[int, int]] = []
    heading: list[tuple[int, int]] = []
    fence = ""
    fence_start = 0
    for start, end in _line_spans(text):
        opened = _FENCE.match(text, start, end)
        if fence:
            # A fence closes with the same character, at least as many, and nothing after.
            if (
                opened is not None
                and opened["fence"][0] == fence[0]
                and len(opened["fence"]) >= len(fence)
                and not text[opened.end() : end].strip()
            ):
                code.append((fence_start, end))
                fence = ""
            continue
        if opened:
            fence, fence_start = opened["fence"], start
            continue
        if _HEADING_LINE.match(text, start, end):
            heading.append((start, end))
        elif _BLOCKQUOTE.match(text, start, end):
            quote.append((start, end))
            continue
        code.extend(_inline_code(text, start, end))
        quote.extend(_quotes(text, start, end))
    if fence:
        code.append((fence_start, len(text)))
    return {"code": code, "quote": quote, "heading": heading}


def _inline_code(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """`code` spans of a line: a run of backticks closed by a run as long."""
    if "`" not in text[start:end]:
        return []
    spans = []
    opened: tuple[int, int] | None = None
    for run in _BACKTICKS.finditer(text, start, end):
        if opened is None:
            opened = (run.start(), len(run.group()))
        elif len(run.group()) == opened[1]:
            spans.append((opened[0], run.end()))
            opened = None
    return spans


def _quotes(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Text in double quotes within a line, the quotes included."""
    spans = [m.span() for m in _CURLY_QUOTES.finditer(text, start, end)]
    if '"' not in text[start:end]:
        return spans
    opening = -1
    for mark in _STRAIGHT_QUOTE.finditer(text, start, end):
        at = mark.start()
        if opening < 0:
            # An opening quote stands after a space or punctuation, not after a word
            # or a number (5" is five inches).
            if at == start or not text[at - 1].isalnum():
                opening = at
        elif at + 1 == end or not text[at + 1].isalnum():
            spans.append((opening, at + 1))
            opening = -1
    return sorted(spans)


def _names(text: str) -> list[tuple[int, int]]:
    """Proper names and titles: capitalized words that do not open a sentence, and
    capitalized words joined to another one ("Bora Bora", "Postman/Newman")."""
    words = [m for m in _TITLE_WORD.finditer(text) if _capitalized(m.group())]
    spans: list[tuple[int, int]] = []
    for index, word in enumerate(words):
        joined = (
            index + 1 < len(words) and _joined(text, word.end(), words[index + 1].start())
        ) or (index > 0 and _joined(text, words[index - 1].end(), word.start()))
        if joined or not _opens_sentence(text, word.start()):
            spans.append(word.span())
    return spans


# Capitalized for emphasis or by a typo far more often than as part of a name.
_FUNCTION_WORDS = frozenset(
    {"a", "an", "the", "this", "that", "these", "those", "and", "or", "but", "if", "in"}
    | {"on", "at", "of", "for", "to", "with", "by", "from", "as", "is", "are", "be", "it"}
    | {"its", "we", "you", "your", "our", "they", "i", "he", "she", "his", "her", "my"}
    | {"me", "not", "no", "do"}
)


def _capitalized(word: str) -> bool:
    # All capitals is an acronym or shouting, not a name's spelling.
    return (
        word[0].isupper()
        and not (len(word) > 1 and word.isupper())
        and word.lower() not in _FUNCTION_WORDS
    )


def _joined(text: str, end: int, start: int) -> bool:
    return start - end == 1 and text[end] in _JOINERS


def _opens_sentence(text: str, start: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    if not before.strip(_LIST_NUMBER):
        return True  # the first word of a line, a list item or a heading
    before = before.rstrip(_MARKUP)
    return not before or before[-1] in _SENTENCE_MARKS


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

    def __init__(
        self, source: str, index: int | None, role: str | None, language: str = ""
    ) -> None:
        self.source = source
        self.index = index
        self.role = role
        # German (and Luxembourgish) capitalize every noun: capitals say nothing of a
        # name there, and no text is taken for one.
        self.nouns_capitalized = language in _NOUNS_CAPITALIZED
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
    def parts(self) -> dict[str, list[tuple[int, int]]]:
        """The spans of each scope but prose, sorted (see :data:`TEXT_SCOPES`)."""
        found = _structure(self.prose)
        found["name"] = [] if self.nouns_capitalized else _names(self.prose)
        return found

    def scoped(self, reads: frozenset[str]) -> tuple[str, bytes]:
        """The prose with what a rule does not read masked, and it in UTF-8 for RE2."""
        cached = self._scoped.get(reads)
        if cached is not None:
            return cached
        if reads >= ALL_SCOPES:
            text = self.prose
        else:
            parts = self.parts
            hidden = [
                span for scope in TEXT_SCOPES[1:] if scope not in reads for span in parts[scope]
            ]
            if "prose" not in reads:
                # Only the scopes named: everything outside them is hidden.
                shown = _merged(span for scope in reads for span in parts.get(scope, ()))
                hidden.extend(_gaps(shown, len(self.prose)))
            text = _masked_spans(self.prose, _merged(hidden))
        self._scoped[reads] = (text, text.encode())
        return self._scoped[reads]

    @cached_property
    def _scoped(self) -> dict[frozenset[str], tuple[str, bytes]]:
        return {}

    def scoped_sentences(self, reads: frozenset[str]) -> list[tuple[int, int]]:
        """The sentence spans of the scoped prose."""
        spans = self._sentences.get(reads)
        if spans is None:
            spans = self._sentences[reads] = sentences(self.scoped(reads)[0])
        return spans

    @cached_property
    def _sentences(self) -> dict[frozenset[str], list[tuple[int, int]]]:
        return {}

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
