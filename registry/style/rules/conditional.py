"""``conditional``: what ``first`` finds must be defined by what ``second`` finds."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from registry.style.document import Document
from registry.style.i18n import mark, translate
from registry.style.rules.base import (
    E_NEEDS,
    Hit,
    Rule,
    Spec,
    excepted,
    matched,
    read_exceptions,
    read_ignorecase,
)
from registry.style.rules.patterns import Found, Pattern
from registry.style.text import Unit

__all__ = ["Conditional"]


M_CONDITIONAL = mark('"{match}" is used but never defined in the prompt')


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
        ignorecase = read_ignorecase(spec)
        first, second = spec.string("first"), spec.string("second")
        if first is None or second is None:
            spec.error(None, translate(E_NEEDS).format(what="first, second"))
            return None
        one = spec.regex("first", first, ignorecase)
        two = spec.regex("second", second, ignorecase)
        exceptions = read_exceptions(spec, ignorecase)
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
                    and not excepted(self.exceptions, key)
                ):
                    reported.add(key)
                    yield Hit(
                        unit, found.start, found.end, matched(unit, found), params={"match": key}
                    )


def _key(unit: Unit, found: Found) -> str:
    # Vale's convention: the first group, when the pattern has one, is what is defined.
    if found.group is not None:
        return unit.source[found.group[0] : found.group[1]]
    return matched(unit, found)
