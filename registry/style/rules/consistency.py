"""``consistency``: one of two forms in a prompt, not both."""

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
    compile_tokens,
    keep_case,
    matched,
    read_ignorecase,
)
from registry.style.rules.patterns import Pattern
from registry.style.text import Unit

__all__ = ["Consistency"]


M_CONSISTENCY = mark('use either "{match}" or "{other}" in one prompt, not both')


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
        ignorecase = read_ignorecase(spec)
        either = spec.mapping("either")
        nonword = spec.boolean("nonword", False)
        if not either:
            spec.error(None, translate(E_NEEDS).format(what="either"))
            return None
        pairs = []
        for first, second in either.items():
            one = compile_tokens(spec, f"either.{first}", [first], ignorecase, nonword)
            two = compile_tokens(spec, f"either.{first}", [second], ignorecase, nonword)
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
            other = matched(kept[0][1], kept[0][2])
            for _index, unit, found in flagged:
                text = matched(unit, found)
                fix = keep_case(text, other) if other.islower() else other
                yield Hit(unit, found.start, found.end, text, fix=fix, params={"other": other})
