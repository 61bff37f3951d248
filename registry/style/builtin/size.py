"""``size``: characters and tokens per prompt and per message, against budgets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from babel.numbers import format_percent

from registry.locales.messages import current_locale
from registry.style.builtin.base import Builtin
from registry.style.document import Document
from registry.style.findings import Level
from registry.style.i18n import Message, mark
from registry.style.rules.base import Hit, Spec, number
from registry.style.text import Unit

__all__ = ["Size"]

M_PROMPT_CHARS_OVER = mark("the prompt has {count} characters; the limit is {limit}")
M_PROMPT_CHARS_NEAR = mark("the prompt has {count} characters, {percent} of its limit of {limit}")
M_PROMPT_TOKENS_OVER = mark("the prompt has about {count} tokens; the limit is {limit}")
M_PROMPT_TOKENS_NEAR = mark(
    "the prompt has about {count} tokens, {percent} of its limit of {limit}"
)
M_MESSAGE_CHARS_OVER = mark("this message has {count} characters; the limit is {limit}")
M_MESSAGE_CHARS_NEAR = mark(
    "this message has {count} characters, {percent} of its limit of {limit}"
)
M_MESSAGE_TOKENS_OVER = mark("this message has about {count} tokens; the limit is {limit}")
M_MESSAGE_TOKENS_NEAR = mark(
    "this message has about {count} tokens, {percent} of its limit of {limit}"
)


@dataclass(frozen=True, kw_only=True)
class Size(Builtin):
    """Character and token budgets per prompt and per chat message."""

    max_chars: int | None
    max_tokens: int | None
    max_message_chars: int | None
    max_message_tokens: int | None
    warn_at: float

    check_name: ClassVar[str] = "size"
    param_keys = ("max_chars", "max_tokens", "max_message_chars", "max_message_tokens", "warn_at")

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        return {
            "max_chars": params.integer("max_chars", 32_000, 1),
            "max_tokens": params.integer("max_tokens", 8_000, 1),
            "max_message_chars": params.integer("max_message_chars", None, 1),
            "max_message_tokens": params.integer("max_message_tokens", None, 1),
            "warn_at": params.fraction("warn_at", 0.8),
        }

    def check(self, doc: Document, units: Sequence[Unit]) -> Iterator[Hit]:
        chars = [len(unit.source) for unit in units]
        tokens = [doc.tokens(unit) for unit in units]
        yield from self._budget(
            units, chars, self.max_chars, (M_PROMPT_CHARS_OVER, M_PROMPT_CHARS_NEAR)
        )
        yield from self._budget(
            units, tokens, self.max_tokens, (M_PROMPT_TOKENS_OVER, M_PROMPT_TOKENS_NEAR)
        )
        if units[0].role is None:
            return  # a text prompt is one message: the prompt's budget is its budget
        for unit, n_chars, n_tokens in zip(units, chars, tokens, strict=True):
            yield from self._budget(
                [unit],
                [n_chars],
                self.max_message_chars,
                (M_MESSAGE_CHARS_OVER, M_MESSAGE_CHARS_NEAR),
            )
            yield from self._budget(
                [unit],
                [n_tokens],
                self.max_message_tokens,
                (M_MESSAGE_TOKENS_OVER, M_MESSAGE_TOKENS_NEAR),
            )

    def _budget(
        self,
        units: Sequence[Unit],
        sizes: Sequence[int],
        limit: int | None,
        messages: tuple[str, str],
    ) -> Iterator[Hit]:
        total = sum(sizes)
        if limit is None or total < limit * self.warn_at:
            return
        params = {
            "count": number(total),
            "limit": number(limit),
            # Rounded down: 99.6% of a budget must not read as 100%.
            "percent": format_percent(total * 100 // limit / 100, locale=current_locale()),
        }
        if total <= limit:
            yield Hit(
                units[0],
                0,
                0,
                "",
                params=params,
                message=Message(messages[1]),
                level=_lower(self.level),
            )
            return
        # Point at where the budget runs out, to the end of that unit.
        before = 0
        for unit, size in zip(units, sizes, strict=True):
            if before + size > limit:
                offset = int(len(unit.source) * (limit - before) / size) if size else 0
                yield Hit(
                    unit, offset, len(unit.source), "", params=params, message=Message(messages[0])
                )
                return
            before += size


def _lower(level: Level) -> Level:
    return "warning" if level == "error" else "suggestion"
