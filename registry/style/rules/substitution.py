"""``substitution``: one form instead of another; the fix is the preferred form."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.style import inflection
from registry.style.document import Document
from registry.style.i18n import mark, translate
from registry.style.names import after_name
from registry.style.rules.base import (
    E_NEEDS,
    Hit,
    Rule,
    Spec,
    excepted,
    keep_case,
    matched,
    read_exceptions,
    read_ignorecase,
)
from registry.style.rules.patterns import Pattern, words_pattern
from registry.style.text import Unit

__all__ = ["Substitution"]


E_INFLECT = mark("the languages whose forms can be generated are: {languages}")
M_SUBSTITUTION = mark('use "{fix}" instead of "{match}"')

_LITERAL = re.compile(r"(?:[^\\\[\](){}.*+?^$|]|\\[^A-Za-z0-9])+")
_ESCAPE = re.compile(r"\\(.)")


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
        ignorecase = read_ignorecase(spec)
        swap = spec.mapping("swap")
        nonword = spec.boolean("nonword", False)
        exceptions = read_exceptions(spec, ignorecase)
        skip_after_names = spec.boolean("skip_after_names", False)
        inflect = spec.string("inflect")
        if inflect is not None and inflect not in inflection.LANGUAGES:
            spec.error(
                "inflect", translate(E_INFLECT).format(languages=", ".join(inflection.LANGUAGES))
            )
            return None
        if not swap:
            if "swap" not in spec.data:
                spec.error(None, translate(E_NEEDS).format(what="swap"))
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
                text = matched(unit, found)
                if not text or excepted(self.exceptions, text):
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
