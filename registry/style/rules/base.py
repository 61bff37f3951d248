"""What every rule kind shares: the guide reader, the compiled rule and what it finds."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from babel.numbers import format_decimal

from registry.locales.messages import current_locale
from registry.style.document import Document
from registry.style.findings import Level
from registry.style.i18n import Message, mark, translate
from registry.style.rules.patterns import (
    Found,
    Pattern,
    PatternError,
    compile_pattern,
    words_pattern,
)
from registry.style.text import Unit

__all__ = [
    "WORDING",
    "Hit",
    "Rule",
    "Spec",
    "compile_tokens",
    "excepted",
    "keep_case",
    "matched",
    "number",
    "read_exceptions",
    "read_ignorecase",
]

# What wording reads unless a rule says otherwise: not code, not quoted material.
WORDING = frozenset({"prose", "heading", "name"})

# Messages of the guide checks themselves, shown to whoever writes a guide.
E_UNKNOWN_KEY = mark("unknown key {key}; use one of: {keys}")
E_STRING = mark("must be a string")
E_STRINGS = mark("must be a list of strings")
E_BOOL = mark("must be true or false")
E_INT = mark("must be a whole number of at least {min}")
E_NUMBER = mark("must be a number between {min} and {max}")
E_SWAP = mark("must map each text to its replacement (both strings)")
E_NEEDS = mark("give {what}")
E_NEEDS_ONE = mark("give at least one of: {what}")


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
                    translate(E_UNKNOWN_KEY).format(key=repr(key), keys=", ".join(sorted(keys))),
                )

    def string(self, key: str, default: str | None = None) -> str | None:
        """A string value (or the default)."""
        value = self.data.get(key, default)
        if value is None or isinstance(value, str):
            return value
        self.error(key, translate(E_STRING))
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
        self.error(key, translate(E_STRINGS))
        return []

    def boolean(self, key: str, default: bool) -> bool:
        """A true/false value (or the default)."""
        value = self.data.get(key, default)
        if isinstance(value, bool):
            return value
        self.error(key, translate(E_BOOL))
        return default

    def integer(self, key: str, default: int | None, minimum: int = 0) -> int | None:
        """A whole number of at least ``minimum`` (or the default)."""
        value = self.data.get(key, default)
        if value is None or (
            isinstance(value, int) and not isinstance(value, bool) and value >= minimum
        ):
            return value
        self.error(key, translate(E_INT).format(min=minimum))
        return default

    def fraction(self, key: str, default: float, low: float = 0.0, high: float = 1.0) -> float:
        """A number between ``low`` and ``high`` (or the default)."""
        value = self.data.get(key, default)
        if isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high:
            return float(value)
        self.error(key, translate(E_NUMBER).format(min=low, max=high))
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
        self.error(key, translate(E_SWAP))
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


def compile_tokens(
    spec: Spec, key: str, tokens: Sequence[str], ignorecase: bool, nonword: bool
) -> Pattern | None:
    """A guide's list of tokens as one bounded pattern; each token is checked alone first,
    so an error names the token at fault."""
    ok = all(
        spec.regex(f"{key}[{i}]", token, ignorecase, kept=False) for i, token in enumerate(tokens)
    )
    if not ok:
        return None
    return spec.regex(key, words_pattern(tokens), ignorecase, bounded=not nonword)


def read_ignorecase(spec: Spec) -> bool:
    """The rule's ``ignorecase`` (off unless the kind says otherwise)."""
    return spec.boolean("ignorecase", False)


def read_exceptions(spec: Spec, ignorecase: bool) -> Pattern | None:
    """The rule's ``exceptions`` as one pattern, or None when it has none (or they fail)."""
    patterns = spec.strings("exceptions")
    if not patterns:
        return None
    if not all(
        spec.regex(f"exceptions[{i}]", p, ignorecase, kept=False) for i, p in enumerate(patterns)
    ):
        return None
    return spec.regex("exceptions", "|".join(f"(?:{p})" for p in patterns), ignorecase)


def excepted(exceptions: Pattern | None, text: str) -> bool:
    """Whether a match is one of the rule's exceptions (which must match it whole)."""
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


def matched(unit: Unit, found: Found) -> str:
    """The source text of a match."""
    return unit.source[found.start : found.end]
