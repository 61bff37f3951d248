"""``variables``: declared but unused, and used but undeclared variables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from registry.errors import InvalidTemplate
from registry.style.builtin.base import Builtin
from registry.style.document import Document
from registry.style.i18n import Message, mark
from registry.style.rules.base import Hit
from registry.style.text import Unit
from registry.templating.engine import ENVIRONMENT

__all__ = ["Variables", "variable_spans"]

M_UNUSED = mark('the variable "{match}" is declared but the prompt never uses it')
M_UNDECLARED = mark('the variable "{match}" is used but not declared; add it to the variables')


def variable_spans(unit: Unit, name: str) -> list[tuple[int, int]]:
    """Where a name is read in a unit's Jinja expressions and statements (not in strings)."""
    return unit.names.get(name, [])


@dataclass(frozen=True, kw_only=True)
class Variables(Builtin):
    """Declared but unused, and used but undeclared variables."""

    check_name: ClassVar[str] = "variables"

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        used: dict[str, Unit] = {}
        complete = True
        for unit in units:
            info = doc.analysis(unit)
            if isinstance(info, InvalidTemplate):
                complete = False  # the engine reports it; what it uses is unknown
                continue
            if info.includes:
                complete = False  # an included prompt may read any declared variable
            for name in sorted(info.variables):
                if name not in ENVIRONMENT.globals:
                    used.setdefault(name, unit)
                    if name not in doc.declared:
                        spans = variable_spans(unit, name) or [(0, 0)]
                        yield Hit(
                            unit, spans[0][0], spans[0][1], name, message=Message(M_UNDECLARED)
                        )
        if complete and len(units) == len(doc.units):
            for name in doc.declared:
                if name not in used:
                    yield Hit(units[0], 0, 0, name, message=Message(M_UNUSED))
