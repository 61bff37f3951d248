"""``user-input``: a variable that carries user input inside a system message."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from registry.errors import InvalidTemplate
from registry.style.builtin.base import Builtin
from registry.style.builtin.variables import variable_spans
from registry.style.document import Document
from registry.style.i18n import Message, mark
from registry.style.rules.base import Hit, Spec
from registry.style.rules.patterns import Pattern
from registry.style.text import Unit

__all__ = ["UserInput"]

M_USER_INPUT = mark(
    '"{match}" looks like user input inside a system message: pass it in a user message, '
    "or fence it and tell the model to treat it as data"
)
_USER_NAMES = (
    r"user_?input",
    r"input",
    r"query",
    r"question",
    r"message",
    r"request",
    r"text",
    r"content",
    r"comment",
    r"feedback",
    r"review",
    r"search",
    r"utterance",
    r"conversation",
    r"chat_history",
    r"user_\w+",
    r"\w+_(?:input|query|question|message|request|text|comment|feedback)",
)
_USER_DESCRIPTIONS = (
    r"\buser(?:'s)?[- ](?:input|provided|supplied|written|typed|entered|message|question|"
    r"query|text)\b",
    r"\b(?:from|by|of) the (?:end[- ])?(?:user|customer|visitor|caller|client)\b",
    r"\b(?:untrusted|user input|free text|free-form)\b",
)


@dataclass(frozen=True, kw_only=True)
class UserInput(Builtin):
    """A variable that carries user input inside a system message."""

    names: Pattern | None
    descriptions: Pattern | None
    trusted: frozenset[str]

    check_name: ClassVar[str] = "user-input"
    param_keys = ("names", "descriptions", "trusted")

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        names = params.strings("names") if "names" in params.data else list(_USER_NAMES)
        descriptions = (
            params.strings("descriptions")
            if "descriptions" in params.data
            else list(_USER_DESCRIPTIONS)
        )
        compiled_names = _alternatives(params, "names", names, ignorecase=False)
        compiled_descriptions = _alternatives(params, "descriptions", descriptions, ignorecase=True)
        return {
            "names": compiled_names,
            "descriptions": compiled_descriptions,
            "trusted": frozenset(params.strings("trusted")),
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        for unit in units:
            if unit.role is None:
                continue  # a text prompt has no system message
            info = doc.analysis(unit)
            if isinstance(info, InvalidTemplate):
                continue
            for name in sorted(info.variables):
                if self._user_input(name, doc.declared.get(name)):
                    for start, end in variable_spans(unit, name):
                        yield Hit(unit, start, end, name, message=Message(M_USER_INPUT))

    def _user_input(self, name: str, declared: Mapping[str, object] | None) -> bool:
        if name in self.trusted:
            return False
        if declared is not None and declared.get("type", "string") not in ("string", None):
            return False  # a number or a flag cannot carry instructions
        if self.names is not None and self.names.fullmatch(name.lower()):
            return True
        description = str(declared.get("description") or "") if declared else ""
        return self.descriptions is not None and self.descriptions.search(description)


def _alternatives(
    params: Spec, key: str, patterns: Sequence[str], *, ignorecase: bool
) -> Pattern | None:
    if not patterns:
        return None
    if not all(
        params.regex(f"{key}[{i}]", p, ignorecase, kept=False) for i, p in enumerate(patterns)
    ):
        return None
    return params.regex(key, "|".join(f"(?:{p})" for p in patterns), ignorecase)
