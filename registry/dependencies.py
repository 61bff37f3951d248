"""FastAPI dependencies every router shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from registry.config import Settings
from registry.db import Database
from registry.inputs import NulFreeStr

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_POSTS = ("/-/render", "/v1/lint")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed before the response is sent.

    Async so that opening the session (no I/O until the first query) costs no trip to
    the thread pool; the commit, which does I/O, runs there. POST routes that only read
    (render, lint) are listed in ``READ_ONLY_POSTS``: on SQLite a writing transaction
    takes the one write lock, which would queue every render behind every other.
    """
    db: Database = request.app.state.db
    write = request.method not in _READ_METHODS and not request.url.path.endswith(READ_ONLY_POSTS)
    scope = db.session(write=write)
    session = scope.__enter__()
    try:
        yield session
    except BaseException as exc:
        await run_in_threadpool(scope.__exit__, type(exc), exc, exc.__traceback__)
        raise
    else:
        await run_in_threadpool(scope.__exit__, None, None, None)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_actor(
    x_registry_author: Annotated[
        NulFreeStr | None,
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
