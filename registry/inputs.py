"""What every request value must satisfy before it reaches the store.

PostgreSQL refuses NUL characters in text and JSONB, and its ``integer`` columns end at
2**31 - 1; SQLite's end at 2**63 - 1. Both are checked here, where the caller is told
which field is wrong, instead of failing in the database.

A JSON body is read by :func:`parse_json_body` only, which refuses arrays and objects
nested deeper than ``MAX_JSON_DEPTH`` before parsing: neither the parser nor any code
walking a request value (validators, templates) then meets a value deep enough to
exhaust Python's recursion limit.
"""

from __future__ import annotations

import email.message
import json
import re
from itertools import accumulate
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from registry.errors import ErrorItem, InvalidInput
from registry.locales.messages import _

# The largest value of an `integer` column on every supported store.
MAX_INTEGER = 2**31 - 1
# How deep arrays and objects may nest in a request body.
MAX_JSON_DEPTH = 64

# A JSON string (brackets inside one do not nest), and the brackets outside strings.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]|[\]}]')
_NOT_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
# An opening bracket as the byte 1, a closing one as 255: -1 read as a signed byte.
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def json_content_type(content_type: str | None) -> bool:
    """Whether a body of this content type is read as JSON: ``application/json`` or
    ``application/*+json``, as FastAPI reads it; no content type at all is not JSON."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def parse_json_body(body: bytes) -> Any:
    """A request body's JSON value, refused (422) if it nests deeper than
    ``MAX_JSON_DEPTH``. Invalid JSON raises ``json.JSONDecodeError``.

    The depth is read from the bytes first, in linear time; most bodies hold fewer
    brackets than the limit and need no more than counting them.
    """
    if _deeper_than_limit(body):
        raise _too_deep(body)
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        # Bytes that are not UTF-8 are invalid JSON like any other, at the first bad byte.
        text = body.decode("utf-8", "replace")
        raise json.JSONDecodeError(f"invalid UTF-8: {exc.reason}", text, exc.start) from None


def _deeper_than_limit(body: bytes) -> bool:
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    steps = _STRING.sub(b"", body).translate(_STEPS, _NOT_BRACKETS)
    # The depth after each bracket, summed in C over the signed bytes.
    return max(accumulate(memoryview(steps).cast("b")), default=0) > MAX_JSON_DEPTH


def _too_deep(body: bytes) -> InvalidInput:
    """The error naming the limit and where the body first goes past it."""
    depth = 0
    offset = 0
    for match in _BRACKET.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                offset = match.start()
                break
        elif token in (b"]", b"}"):
            depth -= 1
    line_start = body.rfind(b"\n", 0, offset) + 1
    line = body.count(b"\n", 0, offset) + 1
    column = len(body[line_start:offset].decode("utf-8", "replace")) + 1
    limit = MAX_JSON_DEPTH
    return InvalidInput(
        _(
            "the body nests arrays and objects more than {limit} levels deep "
            "(line {line}, column {column})"
        ).format(limit=limit, line=line, column=column),
        [
            ErrorItem(
                loc=("body",),
                message=_("nest arrays and objects at most {limit} levels deep").format(
                    limit=limit
                ),
                line=line,
                column=column,
            )
        ],
    )


def has_nul(value: Any) -> bool:
    """Whether a string, or any string inside a JSON value, contains U+0000."""
    # A walk with a stack of its own: no value is too deep for it.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
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
