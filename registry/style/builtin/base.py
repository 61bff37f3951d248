"""What every prompt-specific check shares: the ``builtin`` rule kind and its params."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from registry.style.i18n import mark, translate
from registry.style.rules.base import E_NUMBER, Rule, Spec
from registry.style.text import ALL_SCOPES

__all__ = ["MAX_WINDOW", "WORDS", "Builtin", "bounded"]

E_PARAMS = mark("must be a mapping of parameter names to values")


@dataclass(frozen=True, kw_only=True)
class Builtin(Rule):
    """A prompt-specific check; ``params`` keeps what the guide wrote, for overrides."""

    params: Mapping[str, Any]

    kind = "builtin"
    # A check reads the whole text unless it is about wording (it says so itself).
    default_reads = ALL_SCOPES
    fields = ("match", "fix")
    keys = ("params",)
    check_name: ClassVar[str] = ""
    param_keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def parse(cls, spec: Spec) -> dict[str, Any] | None:
        raw = spec.data.get("params", {})
        if not isinstance(raw, Mapping):
            spec.error("params", translate(E_PARAMS))
            return None
        params = Spec(raw, spec.at("params"), spec.errors)
        params.only(cls.param_keys)
        before = len(spec.errors)
        own = cls.parse_params(params)
        if own is None or len(spec.errors) > before:
            return None
        return {"params": dict(raw), **own}

    @classmethod
    def parse_params(cls, params: Spec) -> dict[str, Any] | None:
        """The check's settings from its ``params``."""
        return {}


# Words of a clause: letters and digits, with inner apostrophes.
WORDS = re.compile("[^\\W_]+(?:['\u2019][^\\W_]+)*")

# Upper bounds of the counts that set how far a check reads after each match: past them
# a prompt of many matches would be read again for each one.
MAX_WINDOW = 2000


def bounded(params: Spec, key: str, default: int, low: int, high: int) -> int:
    """A whole-number param between ``low`` and ``high`` (or the default)."""
    value = params.integer(key, default, low) or default
    if value > high:
        params.error(key, translate(E_NUMBER).format(min=low, max=high))
        return default
    return value
