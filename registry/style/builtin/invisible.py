"""``invisible``: zero-width, bidirectional-control, tag and control characters."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from registry.style.builtin.base import Builtin
from registry.style.document import Document
from registry.style.i18n import Message, mark, mark_plural, translate
from registry.style.rules.base import Hit, Spec, number
from registry.style.text import Unit

__all__ = ["Invisible"]

E_CODEPOINT = mark("write a character as U+ and its hexadecimal code, such as U+200D")
M_INVISIBLE = mark_plural(
    "invisible or control character {codes}: remove it",
    "{count} invisible or control characters ({codes}): remove them",
)
_JOINERS = "\u200c\u200d"
# Left-to-right, right-to-left and Arabic letter marks: invisible, but how right-to-left
# text gets its punctuation and numbers in the right place. Allowed on a line that has
# right-to-left letters (Hebrew, Arabic, Syriac, Thaana, N'Ko…); the embeddings and
# overrides that reorder code (U+202A-U+202E, U+2066-U+2069) never are.
_DIRECTION_MARKS = frozenset("\u200e\u200f\u061c")
_RIGHT_TO_LEFT = re.compile(
    "[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff\U00010800-\U00010fff\U0001e800-\U0001efff]"
)
_INVISIBLE = re.compile(
    "["
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # control characters (not tab, line feed, CR)
    "\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"  # zero-width and bidi controls
    "\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\U000e0000-\U000e007f"  # tag characters: invisible ASCII, used to smuggle text
    "]+"
)


def _code(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}" if name else f"U+{ord(char):04X}"


@dataclass(frozen=True, kw_only=True)
class Invisible(Builtin):
    """Zero-width, bidirectional-control, tag and control characters."""

    allow: frozenset[str]

    check_name: ClassVar[str] = "invisible"
    param_keys = ("allow",)

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        allowed = set()
        for i, text in enumerate(params.strings("allow")):
            found = re.fullmatch(r"U\+([0-9A-Fa-f]{4,6})", text.strip())
            if found is None:
                params.error(f"allow[{i}]", translate(E_CODEPOINT))
            else:
                allowed.add(chr(int(found[1], 16)))
        return {"allow": frozenset(allowed)}

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            source = unit.source
            for found in _INVISIBLE.finditer(source):
                start, end = found.start(), found.end()
                run = found.group()
                if all(c in self.allow for c in run):
                    continue
                if run in _JOINERS and self._joins_letters(source, start, end):
                    continue
                if _DIRECTION_MARKS.issuperset(run) and self._in_right_to_left(source, start):
                    continue
                codes = list(dict.fromkeys(_code(c) for c in run))
                shown = ", ".join(codes[:3]) + (", …" if len(codes) > 3 else "")
                singular, plural = M_INVISIBLE
                yield Hit(
                    unit,
                    start,
                    end,
                    run,
                    fix="",
                    params={"codes": shown, "count": number(len(run))},
                    message=Message(singular, plural, len(run)),
                )

    @staticmethod
    def _in_right_to_left(source: str, start: int) -> bool:
        line_start = source.rfind("\n", 0, start) + 1
        line_end = source.find("\n", start)
        line = source[line_start : len(source) if line_end < 0 else line_end]
        return _RIGHT_TO_LEFT.search(line) is not None

    @staticmethod
    def _joins_letters(source: str, start: int, end: int) -> bool:
        # A single ZWJ or ZWNJ between two non-ASCII characters is part of the writing:
        # emoji sequences, Persian and Indic scripts.
        if start == 0 or end >= len(source):
            return False
        before, after = source[start - 1], source[end]
        return not (before.isascii() or after.isascii() or before.isspace() or after.isspace())
