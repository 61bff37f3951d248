"""The one copy between a stored row and its backup record: same-named fields, as they are.

A record names other rows by what they are called (a prompt's name, a version's number)
where the row holds ids; those, and nested records, are given by the caller. Everything
else is copied by name, with one rule per kind of value, so a new column needs a field
in the record and nothing here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import inspect

from registry.db import Base

R = TypeVar("R", bound=BaseModel)
M = TypeVar("M", bound=Base)


def to_record(record: type[R], row: object, **given: Any) -> R:
    """A backup record of a row: each field not ``given`` is the row's attribute of its name.

    Times are written in UTC and JSON values with sorted keys (JSONB keeps its own order),
    so every store writes the same file.
    """
    values = {
        name: _exported(getattr(row, name)) for name in record.model_fields if name not in given
    }
    return record(**values, **given)


def to_row(model: type[M], record: BaseModel, **given: Any) -> M:
    """A new row from a record: each of the model's columns the record has, plus ``given``
    (ids of the rows the record names, nested rows)."""
    columns = {c.key for c in inspect(model).column_attrs}
    values = {
        name: _stored(getattr(record, name))
        for name in type(record).model_fields
        if name in columns and name not in given
    }
    return model(**values, **given)


def _exported(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return canonical(value)


def _stored(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def canonical(value: Any) -> Any:
    """A JSON value with its object keys sorted, lists copied."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value
