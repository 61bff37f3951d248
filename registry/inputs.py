"""What every request value must satisfy before it reaches the store.

PostgreSQL refuses NUL characters in text and JSONB, and its ``integer`` columns end at
2**31 - 1; SQLite's end at 2**63 - 1. Both are checked here, where the caller is told
which field is wrong, instead of failing in the database.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from registry.i18n.messages import _

# The largest value of an `integer` column on every supported store.
MAX_INTEGER = 2**31 - 1


def has_nul(value: Any) -> bool:
    """Whether a string, or any string inside a JSON value, contains U+0000."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def refuse_nul(value: Any) -> Any:
    if has_nul(value):
        raise ValueError(_("must not contain the NUL character (U+0000)"))
    return value


# For query, path and header parameters the models below do not cover.
NulFreeStr = Annotated[str, AfterValidator(refuse_nul)]


class RequestModel(BaseModel):
    """Base of the request bodies: unknown fields and NUL characters are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return refuse_nul(value)
