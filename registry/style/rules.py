"""The rule kinds of a style guide (after Vale's), compiled once from their YAML form.

Every rule has an ``id``, a ``level``, a ``message`` (``{match}`` and the kind's other
fields are filled in), an optional ``link``, a ``scope`` and, with ``when: localized``,
runs only for prompts meant to be translated. A ``scope`` lists chat roles (``system``,
``user``…, or ``text`` for a text prompt) and the parts of the text the rule reads
(``prose``, ``heading``, ``quote``, ``code``, ``name``; see :mod:`registry.style.text`);
a rule that names no part reads its kind's default (:attr:`Rule.default_reads`), which
for every kind leaves out code and quoted material. The kinds:

========================  ==============================================================
``existence``             ``tokens`` (word-bounded) or ``raw`` (a regex) must not appear
``substitution``          ``swap: {wrong: right}``; the fix is the right form
``occurrence``            ``token`` appears at least ``min`` / at most ``max`` times
``repetition``            the same word twice in a row
``consistency``           ``either: {a: b}``: one form or the other in a prompt, not both
``conditional``           if ``first`` matches then ``second`` must define it
``capitalization``        Markdown headings (or ``tokens``) in ``title``/``sentence``/
                          ``lower``/``upper`` case, or matching a regex
``metric``                ``formula`` over words, sentences, characters, paragraphs,
                          lines and tokens, e.g. ``words / sentences > 25``
``builtin``               a prompt-specific check (:mod:`registry.style.builtin`)
========================  ==============================================================

Tokens are regular expressions as in Vale, in RE2 syntax (:func:`compile_pattern`),
matched case-sensitively unless ``ignorecase: true``, bounded by characters that are no
letter, mark, digit or ``_`` of any script unless ``nonword: true``; a space in a token
matches any whitespace, line breaks included. ``exceptions`` are regexes that a match
must not equal. Wording rules read the prose, never Jinja.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import re2  # type: ignore[import-untyped]
from babel.numbers import format_decimal

from registry.i18n.messages import current_locale
from registry.style import inflection
from registry.style.document import Document
from registry.style.i18n import Message, fields, mark, mark_plural
from registry.style.model import LEVELS, Level
from registry.style.names import after_name
from registry.style.text import ALL_SCOPES, MASK, TEXT_SCOPES, Unit

__all__ = [
    "KINDS",
    "SCOPES",
    "Found",
    "Hit",
    "Pattern",
    "PatternError",
    "Rule",
    "Spec",
    "compile_pattern",
    "compile_rule",
    "number",
    "pattern_budget",
    "words_pattern",
]

ROLE_SCOPES = ("any", "text", "system", "developer", "user", "assistant")
SCOPES = (*ROLE_SCOPES, *TEXT_SCOPES)
# What wording reads unless a rule says otherwise: not code, not quoted material.
WORDING = frozenset({"prose", "heading", "name"})
RULE_ID = re.compile(r"[a-z0-9][a-z0-9._-]*")
COMMON_KEYS = ("kind", "level", "message", "link", "scope", "when", "description")

# Messages of the guide checks themselves, shown to whoever writes a guide.
E_UNKNOWN_KEY = mark("unknown key {key}; use one of: {keys}")
E_STRING = mark("must be a string")
E_STRINGS = mark("must be a list of strings")
E_BOOL = mark("must be true or false")
E_INT = mark("must be a whole number of at least {min}")
E_NUMBER = mark("must be a number between {min} and {max}")
E_MAPPING = mark("must be a mapping of names to values")
E_SWAP = mark("must map each text to its replacement (both strings)")
E_LEVEL = mark("must be one of: suggestion, warning, error")
E_KIND = mark("unknown rule kind {kind}; use one of: {kinds}")
E_SCOPE = mark("unknown scope {scope}; use one of: {scopes}")
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
E_FIELD = mark("the message uses {field}, which this rule does not fill; use: {fields}")
E_BAD_MESSAGE = mark("not a valid message: write fields as {example}")
E_RULE_ID = mark("a rule id is lower-case letters, digits, '.', '_' and '-': {rule}")
E_NEEDS = mark("give {what}")
E_NEEDS_ONE = mark("give at least one of: {what}")
E_MIN_MAX = mark("min must not be greater than max")
E_INFLECT = mark("the languages whose forms can be generated are: {languages}")
E_WHEN = mark("the only condition is: localized")
E_FORMULA = mark("not a formula: {error}")
E_FORMULA_NAME = mark("unknown name {name}; use: {names}")
E_FORMULA_NODE = mark("only numbers, names, + - * / % ( ), comparisons, and, or, not")
E_FORMULA_TEST = mark("the formula compares nothing; add a comparison, such as > 25")
E_PER = mark("must be prompt or message")

# The default message of each kind, used when a rule gives none.
M_EXISTENCE = mark('avoid "{match}"')
M_SUBSTITUTION = mark('use "{fix}" instead of "{match}"')
M_OCCURRENCE_MAX = mark_plural(
    '"{match}" appears {count} time; the limit is {max}',
    '"{match}" appears {count} times; the limit is {max}',
)
M_OCCURRENCE_MIN = mark_plural(
    '"{match}" appears {count} time; the minimum is {min}',
    '"{match}" appears {count} times; the minimum is {min}',
)
M_REPETITION = mark('"{match}" is repeated')
M_CONSISTENCY = mark('use either "{match}" or "{other}" in one prompt, not both')
M_CONDITIONAL = mark('"{match}" is used but never defined in the prompt')
M_CAPITALIZATION = mark('write "{match}" as "{fix}"')
M_CAPITALIZATION_PATTERN = mark('"{match}" is not capitalized as this guide asks')
M_METRIC = mark("{formula}: the value is {value}")


class Spec:
    """Reads one mapping of a guide, collecting every error with its path."""

    def __init__(self, data: Mapping[str, Any], path: str, errors: list[tuple[str, str]]):
        self.data = data
        self.path = path
        self.errors = errors

    def at(self, key: str | int) -> str:
        """The path of a key below this mapping."""
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str | int | None, message: str) -> None:
        """Record an error at a key (or at this mapping)."""
        self.errors.append((self.path if key is None else self.at(key), message))

    def only(self, allowed: Iterable[str]) -> None:
        """Report every key that is not allowed."""
        keys = list(allowed)
        for key in self.data:
            if key not in keys:
                self.error(
                    str(key),
                    _t(E_UNKNOWN_KEY).format(key=repr(key), keys=", ".join(sorted(keys))),
                )

    def string(self, key: str, default: str | None = None) -> str | None:
        """A string value (or the default)."""
        value = self.data.get(key, default)
        if value is None or isinstance(value, str):
            return value
        self.error(key, _t(E_STRING))
        return default

    def strings(self, key: str) -> list[str]:
        """A string or a list of strings, as a list."""
        value = self.data.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        self.error(key, _t(E_STRINGS))
        return []

    def boolean(self, key: str, default: bool) -> bool:
        """A true/false value (or the default)."""
        value = self.data.get(key, default)
        if isinstance(value, bool):
            return value
        self.error(key, _t(E_BOOL))
        return default

    def integer(self, key: str, default: int | None, minimum: int = 0) -> int | None:
        """A whole number of at least ``minimum`` (or the default)."""
        value = self.data.get(key, default)
        if value is None or (
            isinstance(value, int) and not isinstance(value, bool) and value >= minimum
        ):
            return value
        self.error(key, _t(E_INT).format(min=minimum))
        return default

    def fraction(self, key: str, default: float, low: float = 0.0, high: float = 1.0) -> float:
        """A number between ``low`` and ``high`` (or the default)."""
        value = self.data.get(key, default)
        if isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high:
            return float(value)
        self.error(key, _t(E_NUMBER).format(min=low, max=high))
        return default

    def mapping(self, key: str) -> dict[str, str]:
        """A mapping of strings to strings."""
        value = self.data.get(key)
        if value is None:
            return {}
        if isinstance(value, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            return dict(value)
        self.error(key, _t(E_SWAP))
        return {}

    def regex(
        self,
        key: str | int,
        pattern: str,
        ignorecase: bool = False,
        *,
        bounded: bool = False,
        kept: bool = True,
    ) -> Pattern | None:
        """The pattern compiled with RE2, or None after recording why it cannot be."""
        try:
            return compile_pattern(pattern, ignorecase=ignorecase, bounded=bounded, kept=kept)
        except PatternError as exc:
            if not exc.repeated:
                self.error(key, str(exc))
            return None


def _t(msgid: str) -> str:
    return Message(msgid).render({})


def number(value: float) -> str:
    """A count or measure written for the current locale (1,234 / 1.234 / 12.5)."""
    if isinstance(value, float) and not value.is_integer():
        return format_decimal(round(value, 1), format="#,##0.#", locale=current_locale())
    return format_decimal(int(value), locale=current_locale())


@dataclass(frozen=True)
class Hit:
    """What a rule found, before it becomes a Finding: offsets in a unit's source."""

    unit: Unit
    start: int
    end: int
    match: str | None = None
    params: Mapping[str, object] = field(default_factory=dict)
    fix: str | None = None
    message: Message | None = None
    level: Level | None = None


@dataclass(frozen=True, kw_only=True)
class Rule:
    """A compiled rule: immutable, shared by every lint that uses its guide."""

    id: str
    level: Level
    message: Message | None
    link: str | None = None
    scope: frozenset[str] = frozenset()
    # The parts of the text the rule reads (registry.style.text.TEXT_SCOPES).
    reads: frozenset[str] = WORDING
    localized_only: bool = False

    kind: ClassVar[str] = ""
    # The parts a rule of this kind reads when its scope names none.
    default_reads: ClassVar[frozenset[str]] = WORDING
    default_message: ClassVar[str | None] = None
    # The fields a message of this kind may use.
    fields: ClassVar[tuple[str, ...]] = ("match",)
    keys: ClassVar[tuple[str, ...]] = ()

    def applies_to(self, unit: Unit) -> bool:
        """Whether this rule reads a unit (its role is in the rule's scope)."""
        return not self.scope or not self.scope.isdisjoint(unit.scopes)

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        """Every problem of this rule in the units it applies to."""
        raise NotImplementedError

    @classmethod
    def parse(cls, spec: Spec) -> dict[str, Any] | None:
        """The kind's own fields from its YAML form; None when they have errors."""
        raise NotImplementedError


_LITERAL = re.compile(r"(?:[^\\\[\](){}.*+?^$|]|\\[^A-Za-z0-9])+")
_ESCAPE = re.compile(r"\\(.)")
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


def _options(ignorecase: bool) -> Any:
    options = re2.Options()
    options.max_mem = PATTERN_MEMORY
    options.case_sensitive = not ignorecase
    options.log_errors = False  # the error goes back to the guide's author instead
    return options


_OPTIONS = {ignorecase: _options(ignorecase) for ignorecase in (False, True)}


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
        raise PatternError(_t(E_GUIDE_TOO_LARGE), repeated=True)
    try:
        compiled = re2.compile(text, _OPTIONS[ignorecase])
    except re2.error as exc:
        raise PatternError(_re2_message(exc)) from None
    if left is not None:
        left[0] -= compiled.programsize
        left[1] -= 1
        if left[0] < 0 or left[1] < 0:
            raise PatternError(
                _t(E_GUIDE_TOO_LARGE).format(
                    limit=f"{GUIDE_PROGRAM_LIMIT:,}", count=GUIDE_PATTERN_LIMIT
                )
            )
    return Pattern(compiled, bounded)


def _re2_message(exc: Exception) -> str:
    error = exc.args[0] if exc.args else ""
    error = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    if _BACKREFERENCE.match(error):
        return _t(E_BACKREFERENCE)
    for prefix, message in _RE2_ERRORS:
        if error.startswith(prefix):
            return _t(message).format(limit=f"{PATTERN_MEMORY >> 20} MB")
    return _t(E_REGEX).format(error=error)


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


def _compile_tokens(
    spec: Spec, key: str, tokens: Sequence[str], ignorecase: bool, nonword: bool
) -> Pattern | None:
    ok = all(
        spec.regex(f"{key}[{i}]", token, ignorecase, kept=False) for i, token in enumerate(tokens)
    )
    if not ok:
        return None
    return spec.regex(key, words_pattern(tokens), ignorecase, bounded=not nonword)


def _ignorecase(spec: Spec) -> bool:
    return spec.boolean("ignorecase", False)


def _exceptions(spec: Spec, ignorecase: bool) -> Pattern | None:
    patterns = spec.strings("exceptions")
    if not patterns:
        return None
    if not all(
        spec.regex(f"exceptions[{i}]", p, ignorecase, kept=False) for i, p in enumerate(patterns)
    ):
        return None
    return spec.regex("exceptions", "|".join(f"(?:{p})" for p in patterns), ignorecase)


def _excepted(exceptions: Pattern | None, text: str) -> bool:
    return exceptions is not None and exceptions.fullmatch(text)


def keep_case(match: str, replacement: str) -> str:
    """The replacement in the case of the text it replaces, unless it has capitals itself."""
    if not replacement or any(c.isupper() for c in replacement):
        return replacement
    if len(match) > 1 and match.isupper():
        return replacement.upper()
    if match[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _text(unit: Unit, found: Found) -> str:
    return unit.source[found.start : found.end]


@dataclass(frozen=True, kw_only=True)
class Existence(Rule):
    """Tokens or a pattern that should not appear."""

    patterns: tuple[Pattern, ...]
    exceptions: Pattern | None = None
    fix: str | None = None

    kind = "existence"
    default_message = M_EXISTENCE
    keys = ("tokens", "raw", "ignorecase", "nonword", "exceptions", "fix")

    @classmethod
    def parse(cls, spec: Spec) -> dict[str, Any] | None:
        ignorecase = _ignorecase(spec)
        tokens, raw = spec.strings("tokens"), spec.strings("raw")
        nonword = spec.boolean("nonword", False)
        exceptions = _exceptions(spec, ignorecase)
        fix = spec.string("fix")
        if not tokens and not raw:
            spec.error(None, _t(E_NEEDS_ONE).format(what="tokens, raw"))
            return None
        patterns = []
        if tokens:
            patterns.append(_compile_tokens(spec, "tokens", tokens, ignorecase, nonword))
        if raw:
            # As in Vale, the pieces of a raw list are one regex, written in pieces.
            patterns.append(spec.regex("raw", "".join(raw), ignorecase))
        if None in patterns:
            return None
        return {"patterns": tuple(patterns), "exceptions": exceptions, "fix": fix}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            matches = (f for pattern in self.patterns for f in pattern.finditer(unit, self.reads))
            for found in matches:
                text = _text(unit, found)
                if text and not _excepted(self.exceptions, text):
                    yield Hit(unit, found.start, found.end, text, fix=self.fix)


@dataclass(frozen=True, kw_only=True)
class Substitution(Rule):
    """Use one form instead of another; the fix is the preferred form."""

    pattern: Pattern
    literal: Mapping[str, str]
    others: tuple[tuple[Pattern, str], ...]
    ignorecase: bool
    exceptions: Pattern | None = None
    # The language whose inflections the swap's entries stand for (inflection.py).
    inflect: str | None = None
    skip_after_names: bool = False

    kind = "substitution"
    # A fix is a suggestion a person applies: never to a name or a title.
    default_reads = frozenset({"prose", "heading"})
    default_message = M_SUBSTITUTION
    fields = ("match", "fix")
    keys = ("swap", "ignorecase", "nonword", "exceptions", "inflect", "skip_after_names")

    @classmethod
    def parse(cls, spec: Spec) -> dict[str, Any] | None:
        ignorecase = _ignorecase(spec)
        swap = spec.mapping("swap")
        nonword = spec.boolean("nonword", False)
        exceptions = _exceptions(spec, ignorecase)
        skip_after_names = spec.boolean("skip_after_names", False)
        inflect = spec.string("inflect")
        if inflect is not None and inflect not in inflection.LANGUAGES:
            spec.error("inflect", _t(E_INFLECT).format(languages=", ".join(inflection.LANGUAGES)))
            return None
        if not swap:
            if "swap" not in spec.data:
                spec.error(None, _t(E_NEEDS).format(what="swap"))
            return None
        if inflect is not None:
            swap = inflection.expand(inflect, swap)
        others: list[tuple[Pattern, str]] = []
        literal: dict[str, str] = {}
        for wrong, right in swap.items():
            compiled = spec.regex(f"swap.{wrong}", wrong, ignorecase)
            if compiled is None:
                return None
            if _LITERAL.fullmatch(wrong):
                key = _normal(_ESCAPE.sub(r"\1", wrong), ignorecase)
                literal[key] = right
            else:
                others.append((compiled, right))
        pattern = spec.regex("swap", words_pattern(list(swap)), ignorecase, bounded=not nonword)
        if pattern is None:
            return None
        return {
            "pattern": pattern,
            "literal": literal,
            "others": tuple(others),
            "ignorecase": ignorecase,
            "exceptions": exceptions,
            "inflect": inflect,
            "skip_after_names": skip_after_names,
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            for found in self.pattern.finditer(unit, self.reads):
                text = _text(unit, found)
                if not text or _excepted(self.exceptions, text):
                    continue
                right = self._replacement(text)
                if right is None:
                    continue
                if self.skip_after_names and after_name(unit.prose, found.start):
                    continue  # "the Hollywood blacklist" is history, not a list to rename
                if self.inflect is not None:
                    right = inflection.fix_in_context(
                        self.inflect, unit.prose, found.start, text, right
                    )
                    if right is None:
                        continue
                fix = keep_case(text, right)
                if fix != text:
                    yield Hit(unit, found.start, found.end, text, fix=fix, params={"fix": fix})

    def _replacement(self, text: str) -> str | None:
        right = self.literal.get(_normal(text, self.ignorecase))
        if right is not None:
            return right
        # A regex key: the one that matches the whole text, as the combined pattern did.
        return next((r for pattern, r in self.others if pattern.fullmatch(text)), None)


def _normal(text: str, ignorecase: bool) -> str:
    text = re.sub(r"\s+", " ", text.strip())
    return text.lower() if ignorecase else text


@dataclass(frozen=True, kw_only=True)
class Occurrence(Rule):
    """A token that must appear at least ``min`` or at most ``max`` times in the prompt."""

    pattern: Pattern
    token: str
    minimum: int | None
    maximum: int | None

    kind = "occurrence"
    fields = ("match", "count", "min", "max")
    keys = ("token", "ignorecase", "nonword", "min", "max")

    @classmethod
    def parse(cls, spec: Spec) -> dict[str, Any] | None:
        ignorecase = _ignorecase(spec)
        token = spec.string("token")
        nonword = spec.boolean("nonword", False)
        minimum = spec.integer("min", None, 1)
        maximum = spec.integer("max", None, 0)
        if token is None:
            spec.error(None, _t(E_NEEDS).format(what="token"))
            return None
        if minimum is None and maximum is None:
            spec.error(None, _t(E_NEEDS_ONE).format(what="min, max"))
        if minimum is not None and maximum is not None and minimum > maximum:
            spec.error("min", _t(E_MIN_MAX))
        pattern = _compile_tokens(spec, "token", [token], ignorecase, nonword)
        if pattern is None:
            return None
        return {"pattern": pattern, "token": token, "minimum": minimum, "maximum": maximum}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        found = [(unit, m) for unit in units for m in self.pattern.finditer(unit, self.reads)]
        count = len(found)
        params = {"count": number(count), "min": self.minimum, "max": self.maximum}
        if self.maximum is not None and count > self.maximum:
            unit, over = found[self.maximum]
            singular, plural = M_OCCURRENCE_MAX
            message = self.message or Message(singular, plural, count)
            yield Hit(unit, over.start, over.end, _text(unit, over), params=params, message=message)
        if self.minimum is not None and count < self.minimum:
            singular, plural = M_OCCURRENCE_MIN
            message = self.message or Message(singular, plural, count)
            match = _text(*found[0]) if found else self.token
            yield Hit(units[0], 0, 0, match, params=params, message=message)


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
            words = _compile_tokens(spec, "tokens", tokens, ignorecase, nonword=False)
            if words is None:
                return None
        return {
            "words": words,
            "ignorecase": ignorecase,
            "exceptions": _exceptions(spec, ignorecase),
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            for start, end, word_end in self._repeats(unit):
                word = unit.source[start:word_end]
                if not _excepted(self.exceptions, word):
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


# Any word twice. This module's own pattern, on `re` for speed: it runs in linear time, as
# a failed attempt gives back at most the word and the spaces it read, and a shorter word
# is never followed by a space.
_REPEATED_WORD_CASED = re.compile(r"(?<!\w)(?P<word>[^\W\d_]+)[^\S\n]+(?P=word)(?!\w)")
_REPEATED_WORD = re.compile(_REPEATED_WORD_CASED.pattern, re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class Consistency(Rule):
    """One of two forms in a prompt, not both."""

    pairs: tuple[tuple[Pattern, Pattern], ...]

    kind = "consistency"
    default_message = M_CONSISTENCY
    fields = ("match", "other")
    keys = ("either", "ignorecase", "nonword")

    @classmethod
    def parse(cls, spec: Spec) -> dict[str, Any] | None:
        ignorecase = _ignorecase(spec)
        either = spec.mapping("either")
        nonword = spec.boolean("nonword", False)
        if not either:
            spec.error(None, _t(E_NEEDS).format(what="either"))
            return None
        pairs = []
        for first, second in either.items():
            one = _compile_tokens(spec, f"either.{first}", [first], ignorecase, nonword)
            two = _compile_tokens(spec, f"either.{first}", [second], ignorecase, nonword)
            if one is None or two is None:
                return None
            pairs.append((one, two))
        return {"pairs": tuple(pairs)}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for one, two in self.pairs:
            ones = [
                (i, unit, m) for i, unit in enumerate(units) for m in one.finditer(unit, self.reads)
            ]
            twos = [
                (i, unit, m) for i, unit in enumerate(units) for m in two.finditer(unit, self.reads)
            ]
            if not ones or not twos:
                continue
            # The form the prompt uses first is the one it meant; the other is flagged.
            ones_first = (ones[0][0], ones[0][2].start) <= (twos[0][0], twos[0][2].start)
            kept, flagged = (ones, twos) if ones_first else (twos, ones)
            other = _text(kept[0][1], kept[0][2])
            for _index, unit, found in flagged:
                text = _text(unit, found)
                fix = keep_case(text, other) if other.islower() else other
                yield Hit(unit, found.start, found.end, text, fix=fix, params={"other": other})


@dataclass(frozen=True, kw_only=True)
class Conditional(Rule):
    """What ``first`` finds must be defined by what ``second`` finds."""

    first: Pattern
    second: Pattern
    exceptions: Pattern | None = None

    kind = "conditional"
    default_message = M_CONDITIONAL
    keys = ("first", "second", "ignorecase", "exceptions")

    @classmethod
    def parse(cls, spec: Spec) -> dict[str, Any] | None:
        ignorecase = _ignorecase(spec)
        first, second = spec.string("first"), spec.string("second")
        if first is None or second is None:
            spec.error(None, _t(E_NEEDS).format(what="first, second"))
            return None
        one = spec.regex("first", first, ignorecase)
        two = spec.regex("second", second, ignorecase)
        exceptions = _exceptions(spec, ignorecase)
        if one is None or two is None:
            return None
        return {"first": one, "second": two, "exceptions": exceptions}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        defined = {_key(unit, m) for unit in units for m in self.second.finditer(unit, self.reads)}
        reported: set[str] = set()
        for unit in units:
            for found in self.first.finditer(unit, self.reads):
                key = _key(unit, found)
                if (
                    key
                    and key not in defined
                    and key not in reported
                    and not _excepted(self.exceptions, key)
                ):
                    reported.add(key)
                    yield Hit(
                        unit, found.start, found.end, _text(unit, found), params={"match": key}
                    )


def _key(unit: Unit, found: Found) -> str:
    # Vale's convention: the first group, when the pattern has one, is what is defined.
    if found.group is not None:
        return unit.source[found.group[0] : found.group[1]]
    return _text(unit, found)


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
            compiled = _compile_tokens(
                spec, "tokens", tokens, _ignorecase(spec), spec.boolean("nonword", False)
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


# ---------------------------------------------------------------- metric formulas

_METRIC_NAMES = ("words", "sentences", "characters", "paragraphs", "lines", "tokens")
_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
Formula = Callable[[Mapping[str, float]], float]


class FormulaError(ValueError):
    """A formula that uses something other than counts, arithmetic and comparisons."""


def compile_formula(text: str) -> tuple[Formula, Formula | None, frozenset[str]]:
    """A formula's test, the value it compares (if any) and the counts it reads.

    Python's parser reads the text; only numbers, the count names, arithmetic,
    comparisons and boolean operators are accepted, and the tree is turned into
    closures, so nothing in a guide is ever evaluated as code.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise FormulaError(_t(E_FORMULA).format(error=exc.msg)) from None
    names: set[str] = set()
    test = _compile_node(tree, names)
    value = None
    if isinstance(tree, ast.Compare) and len(tree.ops) == 1:
        value = _compile_node(tree.left, set())
    if not isinstance(tree, ast.Compare | ast.BoolOp) and not (
        isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not)
    ):
        raise FormulaError(_t(E_FORMULA_TEST))
    return test, value, frozenset(names)


def _compile_node(node: ast.expr, names: set[str]) -> Formula:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise FormulaError(_t(E_FORMULA_NODE))
        constant = float(node.value)
        return lambda counts: constant
    if isinstance(node, ast.Name):
        if node.id not in _METRIC_NAMES:
            raise FormulaError(
                _t(E_FORMULA_NAME).format(name=repr(node.id), names=", ".join(_METRIC_NAMES))
            )
        name = node.id
        names.add(name)
        return lambda counts: counts[name]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op = _BINARY[type(node.op)]
        left, right = _compile_node(node.left, names), _compile_node(node.right, names)
        return lambda counts: op(left(counts), right(counts))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
        operand = _compile_node(node.operand, names)
        if isinstance(node.op, ast.USub):
            return lambda counts: -operand(counts)
        if isinstance(node.op, ast.Not):
            return lambda counts: float(not operand(counts))
        return operand
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        operands = [_compile_node(n, names) for n in (node.left, *node.comparators)]
        ops = [_COMPARE[type(op)] for op in node.ops]

        def compare(counts: Mapping[str, float]) -> float:
            values = [operand(counts) for operand in operands]
            return float(all(op(a, b) for op, a, b in zip(ops, values, values[1:], strict=False)))

        return compare
    if isinstance(node, ast.BoolOp):
        parts = [_compile_node(n, names) for n in node.values]
        if isinstance(node.op, ast.And):
            return lambda counts: float(all(part(counts) for part in parts))
        return lambda counts: float(any(part(counts) for part in parts))
    raise FormulaError(_t(E_FORMULA_NODE))


@dataclass(frozen=True, kw_only=True)
class Metric(Rule):
    """A formula over counts of the prose, with a condition that fails the prompt."""

    formula: str
    test: Formula
    value: Formula | None
    names: frozenset[str]
    per_message: bool

    kind = "metric"
    fields = ("formula", "value")
    keys = ("formula", "condition", "per")

    @classmethod
    def parse(cls, spec: Spec) -> dict[str, Any] | None:
        formula = spec.string("formula")
        condition = spec.string("condition")
        per = spec.string("per", "prompt")
        if per not in ("prompt", "message"):
            spec.error("per", _t(E_PER))
        if formula is None:
            spec.error(None, _t(E_NEEDS).format(what="formula"))
            return None
        text = f"({formula}) {condition}" if condition else formula
        try:
            test, value, names = compile_formula(text)
        except FormulaError as exc:
            spec.error("condition" if condition else "formula", str(exc))
            return None
        return {
            "formula": formula.strip(),
            "test": test,
            "value": value,
            "names": names,
            "per_message": per == "message",
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        groups = [[unit] for unit in units] if self.per_message else [list(units)]
        for group in groups:
            counts = {name: float(self._count(doc, group, name)) for name in self.names}
            try:
                failed = bool(self.test(counts))
                value = self.value(counts) if self.value is not None else None
            except ZeroDivisionError:
                continue  # no sentences (or words): the measure does not apply
            if failed:
                unit = group[0]
                shown = number(value) if value is not None else ""
                yield Hit(
                    unit,
                    0,
                    0,
                    self.formula,
                    params={"formula": self.formula, "value": shown},
                    message=self.message or Message(M_METRIC),
                )

    @staticmethod
    def _count(doc: Document, units: Sequence[Unit], name: str) -> int:
        if name == "tokens":
            return sum(doc.tokens(unit) for unit in units)
        if name == "lines":
            return sum(len(unit.line_starts) for unit in units)
        if name == "sentences":
            return sum(len(unit.sentences) for unit in units)
        return sum(int(getattr(unit, name)) for unit in units)


KINDS: dict[str, type[Rule]] = {
    kind.kind: kind
    for kind in (
        Existence,
        Substitution,
        Occurrence,
        Repetition,
        Consistency,
        Conditional,
        Capitalization,
        Metric,
    )
}


def compile_rule(
    rule_id: str,
    data: object,
    path: str,
    errors: list[tuple[str, str]],
    *,
    translatable: bool,
    builtins: Mapping[str, type[Rule]],
) -> Rule | None:
    """Compile one rule from its YAML form, or record why it cannot be and return None."""
    spec = Spec(data if isinstance(data, Mapping) else {}, path, errors)
    if not RULE_ID.fullmatch(rule_id):
        spec.error(None, _t(E_RULE_ID).format(rule=repr(rule_id)))
        return None
    if not isinstance(data, Mapping):
        spec.error(None, _t(E_MAPPING))
        return None
    before = len(errors)
    kind_name = spec.string("kind")
    kind: type[Rule] | None = None
    if kind_name == "builtin":
        check = spec.string("check")
        kind = builtins.get(check or "")
        if kind is None:
            spec.error(
                "check",
                _t(E_KIND).format(kind=repr(check), kinds=", ".join(sorted(builtins))),
            )
    else:
        kind = KINDS.get(kind_name or "")
        if kind is None:
            kinds = ", ".join([*sorted(KINDS), "builtin"])
            spec.error("kind", _t(E_KIND).format(kind=repr(kind_name), kinds=kinds))
    if kind is None:
        return None
    spec.only([*COMMON_KEYS, *kind.keys, *(("check",) if kind_name == "builtin" else ())])
    common = _common(spec, kind, translatable)
    own = kind.parse(spec)
    if own is None or common is None or len(errors) > before:
        return None
    return kind(id=rule_id, **common, **own)


def _common(spec: Spec, kind: type[Rule], translatable: bool) -> dict[str, Any] | None:
    level = spec.data.get("level", "warning")
    if level not in LEVELS:
        spec.error("level", _t(E_LEVEL))
        return None
    scope, reads = parse_scope(spec)
    when = spec.string("when")
    if when not in (None, "localized"):
        spec.error("when", _t(E_WHEN))
    text = spec.string("message")
    message = None
    if text is not None:
        message = parse_message(spec, "message", text, kind.fields, translatable)
    spec.string("description")
    return {
        "level": level,
        "message": message,
        "link": spec.string("link"),
        "scope": scope,
        "reads": reads or kind.default_reads,
        "localized_only": when == "localized",
    }


def parse_scope(spec: Spec) -> tuple[frozenset[str], frozenset[str]]:
    """The roles a rule reads (empty: every unit) and the parts of the text (empty: the
    kind's default)."""
    scopes = spec.strings("scope")
    for scope in scopes:
        if scope not in SCOPES:
            spec.error("scope", _t(E_SCOPE).format(scope=repr(scope), scopes=", ".join(SCOPES)))
    roles = frozenset(s for s in scopes if s in ROLE_SCOPES)
    parts = frozenset(s for s in scopes if s in TEXT_SCOPES)
    return (frozenset() if not roles or "any" in roles else roles), parts


def parse_message(
    spec: Spec, key: str, text: str, allowed: Sequence[str], translatable: bool
) -> Message | None:
    """A rule's message, checked to use only the fields its kind fills."""
    try:
        used = fields(text)
    except ValueError:
        spec.error(key, _t(E_BAD_MESSAGE).format(example="{match}"))
        return None
    for name in used:
        if name not in allowed:
            spec.error(
                key,
                _t(E_FIELD).format(
                    field="{" + name + "}", fields=", ".join("{" + f + "}" for f in allowed)
                ),
            )
            return None
    return Message(text, translatable=translatable)
