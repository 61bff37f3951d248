"""A key's folders as a filter of queries: what a list shows a folder-limited key.

The same rule as :meth:`registry.access.roles.Principal.may_read`, for lists that are
filtered in the store rather than refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import InstrumentedAttribute


def readable_names(
    column: InstrumentedAttribute[str], folders: Sequence[str] | None
) -> ColumnElement[bool] | None:
    """A condition on a prompt-name ``column``: under one of ``folders`` (None: no limit)."""
    if folders is None:
        return None
    if not folders:
        return false()
    return or_(*(column.startswith(folder, autoescape=True) for folder in folders))
