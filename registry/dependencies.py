"""FastAPI dependencies every router shares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from registry.config import Settings
from registry.db import Database

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed before the response is sent."""
    db: Database = request.app.state.db
    with db.session(write=request.method not in _READ_METHODS) as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_actor(
    x_registry_author: Annotated[
        str | None,
        Header(max_length=255, description="Who makes the change; recorded with it."),
    ] = None,
) -> str:
    """The name recorded as author of a write."""
    return (x_registry_author or "").strip() or "anonymous"


# "function" scope: the commit happens before the response goes out, so a client never
# sees success for a write that failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ActorDep = Annotated[str, Depends(get_actor)]
