"""Resolve and render answers kept by each process, checked against the store on every request.

Applications resolve and render the same few prompts, labels and locales over and over.
The first request for one goes through the whole app; what it was computed from is kept
with the revision of every prompt it was read from (the root and each component, see
``registry.prompts.service.find_served``). The store's triggers bump a prompt's revision
in the same transaction as any change to what it serves: a label move, a publish, a
translation written or reviewed, an experiment started or stopped, an archive. A later
request for the same thing is answered from memory after one short read transaction
that

- looks its API key up, exactly as every other request does (so a revoked or expired key
  is refused by every process at once), and checks the key's folder;
- reads the current revisions of the answer's prompts, by primary key.

If any of that fails or differs, or the key's last use is due to be recorded, the request
goes through the whole app, which answers it (with its own errors) and offers its answer
to keep. So the cache answers only what the app itself answered, and only while nothing
it was read from has changed: every process, on either store, serves a label move from
the next request on.

- **Resolve** answers are kept as the bytes the app sent, by path, query string and
  ``Accept-Language`` (the only header resolve reads besides the key).
- **Render** keeps the resolve it rendered, by prompt, label or version, locales and
  the translation statuses asked for; each request's variables are rendered into it
  with the same code as the app's route, and a request the cache cannot render (an
  invalid body, a variable that does not fit) goes through the app for its error.

Answers to a subject in an experiment are never kept: each is an exposure the app
records.
"""

from __future__ import annotations

import email.message
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, partial
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Request, Response
from sqlalchemy import Engine, Integer, bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.access import keys
from registry.access.roles import Permission
from registry.db import CompiledRead, Database, utcnow
from registry.errors import RegistryError
from registry.i18n.locales import to_bcp47
from registry.i18n.serving import parse_locale, requested_locales_from
from registry.prompts import models
from registry.prompts.schemas import Rendered, RenderRequest
from registry.prompts.service import Resolution, Revisions, render_resolution

log = logging.getLogger("registry.answers")

_PREFIX = "/v1/prompts/"
_RESOLVE = "/-/resolve"
_RENDER = "/-/render"
_OFFERED = "registry.answer"
_PROMPTS = models.Prompt.__table__.c
# What a kept resolve answer costs beyond its body and headers (its key, the messages,
# the entry), and a kept render answer beyond its texts (the resolve's models): measured
# with tracemalloc, about 3.3 KB in all for a 1.2 KB body, 2.5 KB for a 0.6 KB template.
_OVERHEAD = 1_800
_RESOLUTION_OVERHEAD = 2_000
# The longest Accept-Language the routes accept (``AcceptLanguage`` in the router).
_MAX_ACCEPT_LANGUAGE = 1000

Key = tuple[Any, ...]
_T = TypeVar("_T")
Stamp = tuple[tuple[int, int], ...]


# ---------------------------------------------------------------- what the routes use


def etags_of(header: str | None) -> set[str]:
    """The entity tags an ``If-None-Match`` header lists, weak or strong alike."""
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


def render_locales(data: RenderRequest, accept_language: str | None) -> list[str]:
    """The locales a render request asks for: the body's, else ``Accept-Language``."""
    if data.locale:
        return [parse_locale(data.locale, ("body", "locale"))]
    return requested_locales_from(None, accept_language)


def rendered_response(rendered: Rendered) -> Response:
    """A render's response, the same from the route and from a kept answer."""
    return Response(
        rendered.model_dump_json(),
        media_type="application/json",
        headers={"Content-Language": to_bcp47(rendered.locale), "Vary": "Accept-Language"},
    )


@dataclass(frozen=True)
class _ResolveOffer:
    name: str
    revisions: Stamp
    etag: str
    headers: dict[str, str]


@dataclass(frozen=True)
class _RenderOffer:
    name: str
    resolution: Resolution


def offer(request: Request, name: str, resolution: Resolution, headers: dict[str, str]) -> None:
    """Let the cache keep a resolve's answer, sent with ``headers`` (an answer to a
    subject in an experiment is not kept)."""
    if resolution.resolved.experiment is None:
        request.scope.setdefault("state", {})[_OFFERED] = _ResolveOffer(
            name=name,
            revisions=_stamp(resolution.revisions),
            etag=resolution.resolved.etag,
            headers=headers,
        )


def offer_resolution(request: Request, name: str, resolution: Resolution) -> None:
    """Let the cache keep the resolve a render rendered (not one serving a subject an
    experiment's arm)."""
    if resolution.resolved.experiment is None:
        request.scope.setdefault("state", {})[_OFFERED] = _RenderOffer(name, resolution)


def _stamp(revisions: Revisions) -> Stamp:
    return tuple(sorted(revisions.items()))


# ---------------------------------------------------------------- what is kept


@dataclass(frozen=True)
class Answer:
    """A resolve's response as the app sent it, and what it was read from."""

    name: str
    revisions: Stamp
    etag: str
    start: Message
    body: bytes
    not_modified: Message

    @cached_property
    def size(self) -> int:
        headers = sum(len(k) + len(v) for k, v in self.start["headers"])
        return len(self.body) + 2 * headers + len(self.name) + _OVERHEAD


@dataclass(frozen=True)
class KeptResolution:
    """The resolve a render rendered, and what it was read from."""

    name: str
    revisions: Stamp
    resolution: Resolution

    @cached_property
    def size(self) -> int:
        resolved = self.resolution.resolved
        texts = [resolved.template or ""]
        texts.extend(m.content for m in resolved.messages or ())
        texts.extend(c.template for c in resolved.components)
        return sum(len(t) for t in texts) + _RESOLUTION_OVERHEAD


Kept = Answer | KeptResolution


class _Kept:
    """A least-recently-used map of kept answers, bounded by their approximate size.

    Used from the event loop only, so it needs no lock.
    """

    def __init__(self, max_bytes: int) -> None:
        self._items: OrderedDict[Key, Kept] = OrderedDict()
        self._bytes = 0
        self.max_bytes = max_bytes

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        return self._bytes

    def get(self, key: Key) -> Kept | None:
        kept = self._items.get(key)
        if kept is not None:
            self._items.move_to_end(key)
        return kept

    def put(self, key: Key, kept: Kept) -> None:
        self.discard(key)
        if kept.size > self.max_bytes:
            return
        self._items[key] = kept
        self._bytes += kept.size
        while self._bytes > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= dropped.size

    def discard(self, key: Key) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old.size


# ---------------------------------------------------------------- the middleware


class AnswerCache:
    """ASGI middleware answering repeated resolves and renders from kept answers."""

    def __init__(self, app: ASGIApp, db: Database, max_bytes: int, max_body_bytes: int) -> None:
        self.app = app
        self.db = db
        self.max_body_bytes = max_body_bytes
        self.kept = _Kept(max_bytes)
        # Statements compiled once, by dialect and number of prompts (0: the key lookup).
        self._compiled: dict[tuple[str, int], CompiledRead] = {}
        # Requests answered from memory, and kept answers found but not used (changed, a
        # key refused or due to be recorded, values the app must report on).
        self.hits = 0
        self.misses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.kept.max_bytes:
            path: str = scope["path"]
            if path.startswith(_PREFIX):
                if scope["method"] == "GET" and path.endswith(_RESOLVE):
                    await self._resolve(scope, receive, send)
                    return
                if scope["method"] == "POST" and path.endswith(_RENDER):
                    await self._render(path[len(_PREFIX) : -len(_RENDER)], scope, receive, send)
                    return
        await self.app(scope, receive, send)

    # ------------------------------------------------------------ resolve

    async def _resolve(self, scope: Scope, receive: Receive, send: Send) -> None:
        language = b""
        authorization: str | None = None
        if_none_match: bytes | None = None
        for name, value in scope["headers"]:
            if name in (b"content-length", b"transfer-encoding"):
                # A GET with a body: the app says what it makes of it.
                await self.app(scope, receive, send)
                return
            if name == b"accept-language":
                language = language + b"," + value if language else value
            elif name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")  # the first, as the app reads it
            elif name == b"if-none-match":
                if_none_match = if_none_match + b"," + value if if_none_match else value
        key: Key = ("resolve", scope["raw_path"] or scope["path"].encode(), scope["query_string"])
        key += (language,)
        answer = self.kept.get(key)
        if isinstance(answer, Answer):
            if await self._run(self._current, answer, authorization):
                self.hits += 1
                await _send_answer(answer, if_none_match, send)
                return
            self.misses += 1
            self.kept.discard(key)
        if if_none_match is None:
            await self._through_app(key, scope, receive, send)
            return
        # A revalidation (the SDK's, after its own cache expired): the app is asked for the
        # whole answer, so that it can be kept, and the caller gets the 304 it would have.
        unconditional = [(k, v) for k, v in scope["headers"] if k != b"if-none-match"]
        buffered: list[Message] = []

        async def buffer(message: Message) -> None:
            buffered.append(message)

        await self._through_app(key, {**scope, "headers": unconditional}, receive, buffer)
        answer = self.kept.get(key)
        if isinstance(answer, Answer) and buffered and buffered[0].get("status") == 200:
            await _send_answer(answer, if_none_match, send)
            return
        for message in buffered:  # not kept: an error, or an arm served to a subject
            await send(message)

    # ------------------------------------------------------------ render

    async def _render(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        body, receive = await self._body(scope, receive)
        request = None if body is None else _render_request(scope, body)
        if request is None:
            await self.app(scope, receive, send)
            return
        data, locales = request
        key: Key = ("render", name, data.label, data.version, tuple(locales))
        key += (data.allow_stale, data.preview)
        kept = self.kept.get(key)
        if isinstance(kept, KeptResolution) and (
            data.subject is None or kept.resolution.resolved.experiment_plan is None
        ):
            authorization = Headers(scope=scope).get("authorization")
            rendered = await self._run(self._rendered, kept, authorization, data.variables)
            if rendered is not None:
                self.hits += 1
                await rendered_response(rendered)(scope, receive, send)
                return
            self.misses += 1
        await self._through_app(key, scope, receive, send)

    async def _body(self, scope: Scope, receive: Receive) -> tuple[bytes | None, Receive]:
        """The request's body, if it is within the limit, and a ``receive`` replaying it."""
        chunks: list[bytes] = []
        size = 0
        more = True
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return None, receive
        while more and size <= self.max_body_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return None, _replaying(chunks, receive, message)
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        replay = _replaying(chunks, receive, None if not more else "more")
        return (None if more else b"".join(chunks)), replay

    def _rendered(
        self,
        kept: KeptResolution,
        authorization: str | None,
        variables: dict[str, Any],
        engine: Engine,
    ) -> Rendered | None:
        """The render of a kept resolve with these values; None if the app must answer."""
        if not self._current(kept, authorization, engine):
            return None
        try:
            return render_resolution(kept.resolution, variables)
        except RegistryError:
            return None  # the app reports it, as it would have

    # ------------------------------------------------------------ both

    def _reads(self, engine: Engine, count: int) -> tuple[CompiledRead, CompiledRead]:
        """The key lookup, and the revisions of ``count`` prompts, compiled for ``engine``."""
        dialect = engine.dialect
        lookup = self._compiled.get((dialect.name, 0))
        if lookup is None:
            lookup = self._compiled[(dialect.name, 0)] = CompiledRead(keys.LOOKUP, dialect)
        revisions = self._compiled.get((dialect.name, count))
        if revisions is None:
            params = [bindparam(f"id{i}", type_=Integer) for i in range(count)]
            statement = select(_PROMPTS.id, _PROMPTS.revision).where(_PROMPTS.id.in_(params))
            revisions = self._compiled[(dialect.name, count)] = CompiledRead(statement, dialect)
        return lookup, revisions

    async def _run(self, check: Callable[..., _T], *args: Any) -> _T:
        """Run a check on the event loop where the store's reads never wait (a SQLite
        file in WAL mode, see ``Database.immediate_reads``), else in a worker thread on
        connections for single statements (``Database.check_reads``)."""
        immediate = self.db.immediate_reads()
        if immediate is not None:
            return check(*args, immediate)
        return await anyio.to_thread.run_sync(partial(check, *args, self.db.check_reads()))

    def _current(self, kept: Kept, authorization: str | None, engine: Engine) -> bool:
        """Whether the key may read the kept answer's prompt now, and the answer holds.

        Two indexed queries on a pooled connection. Any doubt (a malformed key, an error,
        a key use to record) says no, and the app answers the request. A connection that
        failed is not used again: the pool replaces it.
        """
        if authorization is None:
            return False
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        lookup, revisions = self._reads(engine, len(kept.revisions))
        dbapi_error = engine.dialect.loaded_dbapi.Error
        try:
            connection = engine.raw_connection()
        except (SQLAlchemyError, dbapi_error) as exc:
            log.info("could not check a kept answer; the app answers: %s", exc)
            return False
        try:
            prefix, secret = keys.parse_token(token)
            checked = keys.verify(lookup.first(connection, prefix=prefix), prefix, secret)
            if _use_to_record(checked.last_used_at):
                return False
            principal = checked.principal
            principal.require(Permission.READ)
            principal.require_scope(kept.name)
            ids = {f"id{i}": prompt_id for i, (prompt_id, _) in enumerate(kept.revisions)}
            rows = revisions.all(connection, **ids)
        except RegistryError:
            return False
        except (SQLAlchemyError, dbapi_error) as exc:
            log.info("could not check a kept answer; the app answers: %s", exc)
            connection.invalidate(exc)
            return False
        finally:
            connection.close()
        return tuple(sorted((row.id, row.revision) for row in rows)) == kept.revisions

    async def _through_app(self, key: Key, scope: Scope, receive: Receive, send: Send) -> None:
        """Let the app answer, and keep what its route offered if the answer is a 200."""
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
        offered = state.get(_OFFERED)
        if start is None or start["status"] != 200 or not complete:
            return
        if isinstance(offered, _ResolveOffer) and key[0] == "resolve":
            self.kept.put(
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
        elif isinstance(offered, _RenderOffer) and key[0] == "render":
            self.kept.put(
                key,
                KeptResolution(
                    name=offered.name,
                    revisions=_stamp(offered.resolution.revisions),
                    resolution=offered.resolution,
                ),
            )


async def _send_answer(answer: Answer, if_none_match: bytes | None, send: Send) -> None:
    """A kept resolve answer, or its 304 if the caller holds its ETag."""
    if if_none_match is not None and answer.etag in etags_of(if_none_match.decode("latin-1")):
        await send(answer.not_modified)
        await send({"type": "http.response.body", "body": b""})
    else:
        await send(answer.start)
        await send({"type": "http.response.body", "body": answer.body})


def _render_request(scope: Scope, body: bytes) -> tuple[RenderRequest, list[str]] | None:
    """A render request's body and locales as the route reads them; None if invalid."""
    headers = Headers(scope=scope)
    if not _json_body(headers.get("content-type")):
        return None
    language = headers.get("accept-language")
    if language is not None and len(language) > _MAX_ACCEPT_LANGUAGE:
        return None
    try:
        data = RenderRequest.model_validate(json.loads(body))
        return data, render_locales(data, language)
    except (ValueError, RegistryError):  # JSON, validation and locale errors alike
        return None


def _json_body(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this content type as JSON (no type at all, or
    ``application/json`` or ``application/*+json``); any other body is a 422 there."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _replaying(chunks: list[bytes], receive: Receive, last: Message | str | None) -> Receive:
    """``receive``, giving first the body already read (and the message that ended it)."""
    pending: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
    ]
    if pending and last is None:
        pending[-1]["more_body"] = False
    if isinstance(last, dict):
        pending.append(last)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def answer_cache(app: ASGIApp) -> AnswerCache | None:
    """The answer cache among an app's middlewares, once it has served a request."""
    layer: object = getattr(app, "middleware_stack", None)
    while layer is not None and not isinstance(layer, AnswerCache):
        layer = getattr(layer, "app", None)
    return layer


def _encoded(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def _use_to_record(last_used_at: datetime | None) -> bool:
    return last_used_at is None or utcnow() - last_used_at >= keys.LAST_USED_RESOLUTION
