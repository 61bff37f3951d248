"""Guide patterns on RE2: compiled within a guide's budget, matched in linear time.

Tokens are regular expressions as in Vale, in RE2 syntax (:func:`compile_pattern`); what
RE2 cannot do (lookaround, backreferences) is refused with a message saying what to write
instead, and a guide's patterns together are bounded (:func:`pattern_budget`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from registry.style.i18n import mark, translate
from registry.style.text import ALL_SCOPES, Unit

__all__ = [
    "GUIDE_PATTERN_LIMIT",
    "GUIDE_PROGRAM_LIMIT",
    "SPACES",
    "Found",
    "Pattern",
    "PatternError",
    "compile_pattern",
    "pattern_budget",
    "words_pattern",
]

E_REGEX = mark("not a valid regular expression: {error}")
E_LOOKBEHIND = mark(
    "lookbehind, (?<=…) or (?<!…), is not supported: patterns are RE2 syntax; match the "
    "text before as part of the pattern, or list what to skip under exceptions"
)
E_LOOKAHEAD = mark(
    "lookahead, (?=…) or (?!…), is not supported: patterns are RE2 syntax; match the "
    "text after as part of the pattern, or list what to skip under exceptions"
)
E_BACKREFERENCE = mark(
    "backreferences (\\1, (?P=name), \\k<name>) are not supported: patterns are RE2 syntax"
)
E_POSSESSIVE = mark(
    "atomic groups (?>…) and possessive quantifiers (*+, ++, ?+) are not supported: "
    "patterns are RE2 syntax; write the plain group or quantifier"
)
E_END_OF_TEXT = mark("\\Z is not RE2 syntax: write \\z for the end of the text")
E_TOO_LARGE = mark(
    "the pattern is too large: it needs more than {limit} once compiled; shorten its "
    "repetitions or split it into several rules"
)
E_REPETITION = mark("a repetition count is at most 1000")
E_GUIDE_TOO_LARGE = mark(
    "the guide's patterns together are too large (over {count} patterns or {limit} RE2 "
    "instructions): remove rules or shorten patterns"
)

_UNESCAPED_SPACES = re.compile(r"(?<!\\) +")

# Guide patterns run on RE2, as Vale's run on Go's regexp: matching takes time linear in
# the text whatever the pattern, where Python's backtracking `re` can take hours on a
# pattern such as (a+)+$. What RE2 cannot do (lookaround, backreferences) is refused
# when the guide is loaded. Each pattern may use this much memory, its compiled program
# and its DFA's cache together; a pattern that needs more is refused, and one whose DFA
# fills the cache runs on RE2's slower but still linear NFA.
# RE2's default: with less, the DFA of a list of a few hundred phrases no longer fits.
PATTERN_MEMORY = 8 << 20
# A guide's patterns together (the stored guides it extends included, the shipped one
# not): compiling takes about a microsecond an RE2 instruction, a lint reads the text once
# a pattern, and each pattern's DFA may grow to PATTERN_MEMORY on hostile text. The
# default guide has 29 patterns of about 50,000 instructions in all.
GUIDE_PROGRAM_LIMIT = 400_000
GUIDE_PATTERN_LIMIT = 200
# A word character for the bounds of tokens: any letter, mark or digit (RE2's \w and \b
# are ASCII only). A Jinja mask is none, so a token stops at a {{ variable }}.
WORD = r"\pL\pM\pN_"
SPACES = r"[\t\n\v\f\r\p{Z}]+"
_BOUND_BEFORE = rf"(?:\A|[^{WORD}])"
_BOUND_AFTER = rf"(?:[^{WORD}]|\z)"

_budget: ContextVar[list[int] | None] = ContextVar("pattern_budget", default=None)


@contextmanager
def pattern_budget(limit: int | None = GUIDE_PROGRAM_LIMIT) -> Iterator[None]:
    """Count the patterns compiled inside against one guide's limit; None: no limit.

    A limit opened inside another is the same one: a guide and the guides it extends.
    """
    if limit is not None and _budget.get() is not None:
        yield
        return
    token = _budget.set(None if limit is None else [limit, GUIDE_PATTERN_LIMIT])
    try:
        yield
    finally:
        _budget.reset(token)


class PatternError(ValueError):
    """A guide pattern that RE2 cannot take, with a message saying what to change."""

    def __init__(self, message: str, *, repeated: bool = False) -> None:
        super().__init__(message)
        # The guide's budget was spent by an earlier pattern, which reported it.
        self.repeated = repeated


# RE2's own error (its operator or escape) → what to tell whoever wrote the pattern.
_RE2_ERRORS = (
    ("invalid perl operator: (?<=", E_LOOKBEHIND),
    ("invalid perl operator: (?<!", E_LOOKBEHIND),
    ("invalid perl operator: (?=", E_LOOKAHEAD),
    ("invalid perl operator: (?!", E_LOOKAHEAD),
    ("invalid perl operator: (?P", E_BACKREFERENCE),  # (?P=name); (?P<name>…) compiles
    ("invalid escape sequence: \\k", E_BACKREFERENCE),
    ("invalid perl operator: (?>", E_POSSESSIVE),
    ("bad repetition operator: ", E_POSSESSIVE),
    ("invalid escape sequence: \\Z", E_END_OF_TEXT),
    ("pattern too large", E_TOO_LARGE),
    ("invalid repetition size", E_REPETITION),
)
_BACKREFERENCE = re.compile(r"invalid escape sequence: \\[1-9]")


@cache
def _re2() -> Any:
    """RE2, imported when a guide is first compiled: the SDK's light install has none
    (the ``lint`` extra brings it), and reads the style package's schemas all the same."""
    try:
        import re2  # type: ignore[import-untyped]
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "style checks run on google-re2, which is not installed: "
            "pip install 'prompt-registry[lint]'",
            name="re2",
        ) from exc
    return re2


@cache
def _options(ignorecase: bool) -> Any:
    options = _re2().Options()
    options.max_mem = PATTERN_MEMORY
    options.case_sensitive = not ignorecase
    options.log_errors = False  # the error goes back to the guide's author instead
    return options


def compile_pattern(
    pattern: str, *, ignorecase: bool = False, bounded: bool = False, kept: bool = True
) -> Pattern:
    """A pattern compiled with RE2, or PatternError saying why it cannot be.

    ``bounded``: a match must have no word character right before or after it.
    ``kept``: the pattern is kept to match with, and counts against the guide's budget
    (one compiled only to check a piece of a list does not).
    """
    text = f"{_BOUND_BEFORE}({pattern}){_BOUND_AFTER}" if bounded else pattern
    left = _budget.get() if kept else None
    if left is not None and (left[0] < 0 or left[1] < 0):
        raise PatternError(translate(E_GUIDE_TOO_LARGE), repeated=True)
    re2 = _re2()
    try:
        compiled = re2.compile(text, _options(ignorecase))
    except re2.error as exc:
        raise PatternError(_re2_message(exc)) from None
    if left is not None:
        left[0] -= compiled.programsize
        left[1] -= 1
        if left[0] < 0 or left[1] < 0:
            raise PatternError(
                translate(E_GUIDE_TOO_LARGE).format(
                    limit=f"{GUIDE_PROGRAM_LIMIT:,}", count=GUIDE_PATTERN_LIMIT
                )
            )
    return Pattern(compiled, bounded)


def _re2_message(exc: Exception) -> str:
    error = exc.args[0] if exc.args else ""
    error = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    if _BACKREFERENCE.match(error):
        return translate(E_BACKREFERENCE)
    for prefix, message in _RE2_ERRORS:
        if error.startswith(prefix):
            return translate(message).format(limit=f"{PATTERN_MEMORY >> 20} MB")
    return translate(E_REGEX).format(error=error)


class Found(NamedTuple):
    """A match in a text: code-point offsets, ``end`` exclusive."""

    start: int
    end: int
    # The span of the pattern's first group, when it has one and the group took part.
    group: tuple[int, int] | None = None


class _Offsets:
    """Code-point offsets of byte offsets into a UTF-8 text, asked for in about rising order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.byte = 0
        self.char = 0

    def __call__(self, byte: int) -> int:
        if byte >= self.byte:
            self.char += len(self.data[self.byte : byte].decode())
        else:
            self.char -= len(self.data[byte : self.byte].decode())
        self.byte = byte
        return self.char


@dataclass(frozen=True)
class Pattern:
    """A guide's pattern on RE2: matching time is linear in the text, whatever the pattern."""

    regex: Any  # re2._Regexp; the package has no type information
    bounded: bool = False

    def finditer(self, unit: Unit, reads: frozenset[str] = ALL_SCOPES) -> Iterator[Found]:
        """The matches in the parts of a unit's prose a rule reads (``reads``); read the
        text from the source by offsets."""
        return self.find(*unit.scoped(reads))

    def find(self, text: str, data: bytes | None = None) -> Iterator[Found]:
        """The matches in a text (``data``: the text in UTF-8, when it is at hand)."""
        if data is None:
            data = text.encode()
        offset: Callable[[int], int] = int if len(data) == len(text) else _Offsets(data)
        whole = 1 if self.bounded else 0
        first = whole + 1 if self.regex.groups > whole else 0
        size = len(data)
        pos = 0
        while pos <= size:
            found = self.regex.search(data, pos)
            if found is None:
                return
            start, end = found.span(whole)
            group = None
            if first:
                group_start, group_end = found.span(first)
                if group_start >= 0:
                    group = (group_start, group_end)
            yield Found(
                offset(start),
                offset(end),
                None if group is None else (offset(group[0]), offset(group[1])),
            )
            # A token's bounds are context: the next token may start right after it.
            if end > pos:
                pos = end
            else:
                pos += 1
                while pos < size and data[pos] & 0xC0 == 0x80:
                    pos += 1  # to the next code point

    def fullmatch(self, text: str) -> bool:
        """Whether the pattern matches the whole text."""
        return self.regex.fullmatch(text) is not None

    def search(self, text: str) -> bool:
        """Whether the pattern matches anywhere in the text."""
        return self.regex.search(text) is not None

    @property
    def program_size(self) -> int:
        """RE2 instructions: a measure of the memory and time the pattern costs."""
        return int(self.regex.programsize)


def words_pattern(tokens: Sequence[str]) -> str:
    """One alternation of tokens, longest first; a space in a token matches any spaces."""
    spaced = [t if "[" in t else _UNESCAPED_SPACES.sub(lambda _: SPACES, t.strip()) for t in tokens]
    # Longest first, so "best man for the job" wins over "man" at the same position.
    spaced.sort(key=len, reverse=True)
    return "|".join(f"(?:{t})" for t in spaced)
