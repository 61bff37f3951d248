"""Resolve answers kept by each process, and checked against the store on every request.

Applications resolve the same few prompts, labels and locales over and over. The first
request for one goes through the whole app; its answer is kept with the revision of
every prompt it was read from (the root and each component, see
``registry.prompts.service.find_served``). The store's triggers bump a prompt's revision
in the same transaction as any change to what it serves: a label move, a publish, a
translation written or reviewed, an experiment started or stopped, an archive. A later
identical request is answered from memory after one short read transaction that

- looks its API key up, exactly as every other request does (so a revoked or expired key
  is refused by every process at once), and checks the key's folder;
- reads the current revisions of the answer's prompts, by primary key.

If any of that fails or differs, or the key's last use is due to be recorded, the request
goes through the whole app, which answers it (with its own errors) and keeps the new
answer. So the cache answers only what the app itself answered for the same request,
and only while nothing it was read from has changed: every process, on either store,
serves a label move from the next request on.

Requests are told apart by path, query string and ``Accept-Language`` (the only header
resolve reads besides the key). Answers to a subject in an experiment are never kept:
each is an exposure the app records.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import anyio.to_thread
from fastapi import Request
from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.access import keys
from registry.access.roles import Permission
from registry.db import Database, utcnow
from registry.errors import RegistryError
from registry.prompts import models
from registry.prompts.service import Resolution, Revisions

log = logging.getLogger("registry.answers")

_STATE_KEY = "registry.answer"
_PROMPTS = models.Prompt.__table__.c
_REVISIONS = select(_PROMPTS.id, _PROMPTS.revision).where(
    _PROMPTS.id.in_(bindparam("ids", expanding=True))
)
# Bytes an answer costs beyond its body and headers: the key, the entry, the dict slot.
_OVERHEAD = 400


@dataclass(frozen=True)
class Offer:
    """What the resolve route hands the cache along with its answer."""

    name: str
    revisions: tuple[tuple[int, int], ...]
    etag: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Answer:
    """A kept answer: the response as sent, and what it was read from."""

    name: str
    revisions: tuple[tuple[int, int], ...]
    etag: str
    start: Message
    body: bytes
    not_modified: Message

    @property
    def size(self) -> int:
        headers = sum(len(k) + len(v) for k, v in self.start["headers"])
        return len(self.body) + 2 * headers + len(self.name) + _OVERHEAD


def offer(request: Request, name: str, resolution: Resolution, headers: dict[str, str]) -> None:
    """Let the cache keep this answer, which ``headers`` go with (an answer to a subject in
    an experiment is not kept)."""
    if resolution.resolved.experiment is not None:
        return
    request.scope.setdefault("state", {})[_STATE_KEY] = Offer(
        name=name,
        revisions=_sorted(resolution.revisions),
        etag=resolution.resolved.etag,
        headers=headers,
    )


def etags_of(header: str | None) -> set[str]:
    """The entity tags an ``If-None-Match`` header lists, weak or strong alike."""
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


def _sorted(revisions: Revisions) -> tuple[tuple[int, int], ...]:
    return tuple(sorted(revisions.items()))


class _Answers:
    """A least-recently-used map of answers, bounded by their approximate size in bytes.

    Used from the event loop only, so it needs no lock.
    """

    def __init__(self, max_bytes: int) -> None:
        self._items: OrderedDict[tuple[bytes, ...], Answer] = OrderedDict()
        self._bytes = 0
        self.max_bytes = max_bytes

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        return self._bytes

    def get(self, key: tuple[bytes, ...]) -> Answer | None:
        answer = self._items.get(key)
        if answer is not None:
            self._items.move_to_end(key)
        return answer

    def put(self, key: tuple[bytes, ...], answer: Answer) -> None:
        self.discard(key)
        if answer.size > self.max_bytes:
            return
        self._items[key] = answer
        self._bytes += answer.size
        while self._bytes > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= dropped.size

    def discard(self, key: tuple[bytes, ...]) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old.size


class AnswerCache:
    """ASGI middleware answering repeated resolve requests from kept answers."""

    def __init__(self, app: ASGIApp, db: Database, max_bytes: int) -> None:
        self.app = app
        self.db = db
        self.answers = _Answers(max_bytes)
        # Requests answered from memory, and kept answers found changed or refused.
        self.hits = 0
        self.misses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._request_key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        answer = self.answers.get(key)
        if answer is not None:
            token = headers.get(b"authorization", b"")
            current = await anyio.to_thread.run_sync(self._current, answer, token)
            if current:
                self.hits += 1
                await self._send(answer, headers.get(b"if-none-match"), send)
                return
            self.misses += 1
            self.answers.discard(key)
        await self._through_app(key, scope, receive, send)

    def _request_key(self, scope: Scope) -> tuple[bytes, ...] | None:
        """What tells a resolve request's answer apart; None for every other request."""
        if scope["type"] != "http" or scope["method"] != "GET" or not self.answers.max_bytes:
            return None
        path: str = scope["path"]
        if not (path.startswith("/v1/prompts/") and path.endswith("/-/resolve")):
            return None
        language = b""
        for name, value in scope["headers"]:
            if name in (b"content-length", b"transfer-encoding"):
                return None  # a GET with a body: the app says what it makes of it
            if name == b"accept-language":
                language = language + b"," + value if language else value
        return (scope["raw_path"] or path.encode(), scope["query_string"], language)

    def _current(self, answer: Answer, authorization: bytes) -> bool:
        """Whether the key may read the answer's prompt now, and the answer still holds.

        Blocking: one read transaction, two indexed queries. Any doubt (a malformed key,
        an error, a key use to record) says no, and the app answers the request.
        """
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        try:
            with self.db.engine.connect() as conn:
                checked = keys.check_token(conn, token)
                if _use_to_record(checked.last_used_at):
                    return False
                principal = checked.principal
                principal.require(Permission.READ)
                principal.require_scope(answer.name)
                ids = [prompt_id for prompt_id, _ in answer.revisions]
                rows = conn.execute(_REVISIONS, {"ids": ids}).all()
        except RegistryError:
            return False
        except SQLAlchemyError as exc:
            log.info("could not check a kept answer; the app answers: %s", exc)
            return False
        return tuple(sorted((row.id, row.revision) for row in rows)) == answer.revisions

    async def _send(self, answer: Answer, if_none_match: bytes | None, send: Send) -> None:
        if if_none_match is not None and answer.etag in etags_of(if_none_match.decode("latin-1")):
            await send(answer.not_modified)
            await send({"type": "http.response.body", "body": b""})
            return
        await send(answer.start)
        await send({"type": "http.response.body", "body": answer.body})

    async def _through_app(
        self, key: tuple[bytes, ...], scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Let the app answer, and keep its answer if the resolve route offered it."""
        # Made here, so every copy of the scope down the app shares it.
        state = scope.setdefault("state", {})
        start: Message | None = None
        chunks: list[bytes] = []
        complete = False

        async def capture(message: Message) -> None:
            nonlocal start, complete
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        await self.app(scope, receive, capture)
        offered = state.get(_STATE_KEY)
        if not isinstance(offered, Offer) or start is None or start["status"] != 200:
            return
        if not complete:
            return
        self.answers.put(
            key,
            Answer(
                name=offered.name,
                revisions=offered.revisions,
                etag=offered.etag,
                start=start,
                body=b"".join(chunks),
                not_modified={
                    "type": "http.response.start",
                    "status": 304,
                    "headers": _encoded(offered.headers.items()),
                },
            ),
        )


def answer_cache(app: ASGIApp) -> AnswerCache | None:
    """The answer cache among an app's middlewares, once it has served a request."""
    layer: object = getattr(app, "middleware_stack", None)
    while layer is not None and not isinstance(layer, AnswerCache):
        layer = getattr(layer, "app", None)
    return layer


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request headers resolve reads: the key, and the caller's ETags."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in (b"authorization", b"if-none-match"):
            found[name] = found[name] + b"," + value if name in found else value
    return found


def _encoded(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def _use_to_record(last_used_at: datetime | None) -> bool:
    return last_used_at is None or utcnow() - last_used_at >= keys.LAST_USED_RESOLUTION
