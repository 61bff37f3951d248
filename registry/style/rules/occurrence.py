"""``occurrence``: a token that must appear at least ``min`` or at most ``max`` times."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from registry.style.document import Document
from registry.style.i18n import Message, mark, mark_plural, translate
from registry.style.rules.base import (
    E_NEEDS,
    E_NEEDS_ONE,
    Hit,
    Rule,
    Spec,
    compile_tokens,
    matched,
    number,
    read_ignorecase,
)
from registry.style.rules.patterns import Pattern
from registry.style.text import Unit

__all__ = ["Occurrence"]


E_MIN_MAX = mark("min must not be greater than max")
M_OCCURRENCE_MAX = mark_plural(
    '"{match}" appears {count} time; the limit is {max}',
    '"{match}" appears {count} times; the limit is {max}',
)
M_OCCURRENCE_MIN = mark_plural(
    '"{match}" appears {count} time; the minimum is {min}',
    '"{match}" appears {count} times; the minimum is {min}',
)


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
        ignorecase = read_ignorecase(spec)
        token = spec.string("token")
        nonword = spec.boolean("nonword", False)
        minimum = spec.integer("min", None, 1)
        maximum = spec.integer("max", None, 0)
        if token is None:
            spec.error(None, translate(E_NEEDS).format(what="token"))
            return None
        if minimum is None and maximum is None:
            spec.error(None, translate(E_NEEDS_ONE).format(what="min, max"))
        if minimum is not None and maximum is not None and minimum > maximum:
            spec.error("min", translate(E_MIN_MAX))
        pattern = compile_tokens(spec, "token", [token], ignorecase, nonword)
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
            yield Hit(
                unit, over.start, over.end, matched(unit, over), params=params, message=message
            )
        if self.minimum is not None and count < self.minimum:
            singular, plural = M_OCCURRENCE_MIN
            message = self.message or Message(singular, plural, count)
            match = matched(*found[0]) if found else self.token
            yield Hit(units[0], 0, 0, match, params=params, message=message)
