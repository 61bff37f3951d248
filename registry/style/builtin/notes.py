"""``leftover-notes``: a note to self (TODO, FIXME…) left in the prompt."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from registry.style.builtin.base import Builtin
from registry.style.document import Document
from registry.style.i18n import Message, mark
from registry.style.rules.base import Hit, Spec
from registry.style.text import Unit

__all__ = ["LeftoverNotes"]

M_NOTE = mark('leftover note "{match}": finish or remove it before publishing')


@dataclass(frozen=True, kw_only=True)
class LeftoverNotes(Builtin):
    """A note the author left for themselves: ``TODO:``, ``FIXME(ann):``, ``XXX:`` in the
    prose, or a marker opening a Jinja or HTML comment. The word alone is no note: "a
    todo app", "status: TODO", "(XXX) XXX-XXXX", "write TBD" are the prompt's text."""

    markers: tuple[str, ...]
    note: re.Pattern[str]
    comment: re.Pattern[str]

    check_name: ClassVar[str] = "leftover-notes"
    # Code and quoted examples show notes on purpose ("// TODO: implement").
    default_reads = frozenset({"prose", "heading", "name"})
    param_keys = ("markers", "alone")

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        markers = params.strings("markers") or ["TODO", "FIXME", "XXX", "TBD"]
        # Markers that are no word of any task: a note wherever they stand.
        alone = params.strings("alone") if "alone" in params.data else ["FIXME"]
        words = "|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True))
        # The marker, an optional (author) or (#issue), a colon before a space.
        pattern = rf"(?<![\w-])(?:{words})(?:\([^()\n]{{0,40}}\))?:(?=\s|\Z)"
        # A marker alone on its line, or closing it after a sentence: "Answer. TODO".
        pattern += rf"|(?:^|(?<=[.!?] ))[ \t]*(?:[-*+][ \t]+)?(?:{words})[ \t]*$"
        if alone:
            pattern += r"|(?<![\w-])(?:" + "|".join(re.escape(m) for m in alone) + r")(?![\w-])"
        note = re.compile(pattern, re.MULTILINE)
        comment = re.compile(rf"(?:<!--)?[-+\s]*(?:{words})(?!\w)")
        return {"markers": tuple(markers), "note": note, "comment": comment}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            if not any(marker in unit.source for marker in self.markers):
                continue  # most prompts: one substring search a marker, no pattern
            prose = unit.scoped(self.reads)[0]
            hits = [self._marker(m) for m in self.note.finditer(prose)]
            for found in re.finditer("<!--", prose):
                close = prose.find("-->", found.end())
                hits.extend(
                    self._comment(prose, found.start(), close if close >= 0 else len(prose))
                )
            for span in unit.jinja:
                if span.kind == "comment":
                    hits.extend(self._comment(unit.source, span.start + 2, span.end))
            for start, end in sorted(set(hits)):
                yield Hit(unit, start, end, unit.source[start:end], message=Message(M_NOTE))

    def _comment(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        found = self.comment.match(text, start, end)
        if found is None:
            return []
        marker = found.group().lstrip("<!-+ \t\r\n")
        return [(found.end() - len(marker), found.end())]

    @staticmethod
    def _marker(found: re.Match[str]) -> tuple[int, int]:
        # The finding is the marker word: "TODO", not "- TODO" or "TODO(ann):".
        word = re.search(r"\w+", found.group())
        if word is None:
            return found.span()
        return found.start() + word.start(), found.start() + word.end()
