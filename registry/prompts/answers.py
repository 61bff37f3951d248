"""Resolve and render answers kept by each process, checked against the store on every request.

Applications resolve and render the same few prompts, labels and locales over and over.
The first request for one is answered by the app, or for a plain resolve (its usual
parameters, no experiment subject) computed here with the route's own service, key check
and response, in one read transaction without the framework's layers. What an answer was
computed from is kept with the revision of every prompt it was read from (the root and
each component, see ``registry.prompts.service.find_served``). The store's triggers bump
a prompt's revision in the same transaction as any change to what it serves: a label
move, a publish, a translation written or reviewed, an experiment started or stopped, an
archive. A later request for the same thing is answered from memory after one short read
transaction that

- looks its API key up, exactly as every other request does (so a revoked or expired key
  is refused by every process at once), and checks the key's folder;
- reads the current revisions of the answer's prompts, by primary key.

If any of that fails or differs, or the key's last use is due to be recorded, the request
is answered afresh: computed again if it is a plain resolve, else by the whole app, which
answers with its own errors. A resolve computed here that meets any error or refusal is
left to the app too. So the cache answers only what the app itself would answer, and
only while nothing it was read from has changed: every process, on either store, serves
a label move from the next request on.

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

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, partial
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import anyio.to_thread
from fastapi import Request, Response
from sqlalchemy import Engine, Integer, bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.access import keys
from registry.access.roles import Permission, Principal
from registry.db import CompiledRead, Database, utcnow
from registry.errors import RegistryError
from registry.inputs import MAX_INTEGER, json_content_type, parse_json_body
from registry.locales.requests import parse_locale, requested_locales_from
from registry.locales.tags import to_bcp47
from registry.prompts import models
from registry.prompts.schemas import (
    LABEL_NAME_PATTERN,
    PROMPT_NAME_PATTERN,
    Rendered,
    RenderRequest,
)
from registry.prompts.service import (
    Resolution,
    Revisions,
    render_resolution,
    resolve,
    resolve_to_render,
)
from registry.routing import run_cpu_bound

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
# A resolve the cache computes itself on a miss: these query parameters only, each once,
# in the forms the route reads the same way (``resolve`` in the router). Anything else
# (a subject in an experiment, a parameter the route ignores, a value it would refuse or
# read differently) goes through the app.
_PLAIN_PARAMETERS = frozenset({"label", "version", "locale", "allow_stale", "preview"})
_FLAGS = {"true": True, "false": False}
_VERSION = re.compile("[1-9][0-9]*")

Key = tuple[Any, ...]
_T = TypeVar("_T")
Stamp = tuple[tuple[int, int], ...]


# ---------------------------------------------------------------- what the routes use


def etags_of(header: str | None) -> set[str]:
    """The entity tags an ``If-None-Match`` header lists, weak or strong alike."""
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


def resolve_headers(resolution: Resolution) -> dict[str, str]:
    """A resolve's headers, for its 200 and its 304 alike."""
    resolved = resolution.resolved
    cache_control = "public, max-age=31536000, immutable" if resolution.immutable else "no-cache"
    if resolved.experiment is not None:
        cache_control = "private, no-store"  # each serving to a subject is an exposure
    return {
        "ETag": resolved.etag,
        "Cache-Control": cache_control,
        "Content-Language": to_bcp47(resolved.locale),
        "Vary": "Accept-Language",
    }


def resolved_response(resolution: Resolution, headers: dict[str, str]) -> Response:
    """A resolve's 200, the same from the route and from the cache: serialized once by
    Pydantic, not validated again by the framework."""
    return Response(
        resolution.resolved.model_dump_json(), media_type="application/json", headers=headers
    )


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


def _names(resolution: Resolution) -> tuple[str, ...]:
    """Every prompt an answer shows: its own and each component's; a key must read all."""
    resolved = resolution.resolved
    return (resolved.prompt, *(c.name for c in resolved.components))


@dataclass(frozen=True)
class _ResolveOffer:
    names: tuple[str, ...]
    revisions: Stamp
    etag: str
    headers: dict[str, str]


@dataclass(frozen=True)
class _RenderOffer:
    resolution: Resolution


def offer(request: Request, resolution: Resolution, headers: dict[str, str]) -> None:
    """Let the cache keep a resolve's answer, sent with ``headers`` (an answer to a
    subject in an experiment is not kept)."""
    if resolution.resolved.experiment is None:
        request.scope.setdefault("state", {})[_OFFERED] = _ResolveOffer(
            names=_names(resolution),
            revisions=_stamp(resolution.revisions),
            etag=resolution.resolved.etag,
            headers=headers,
        )


def offer_resolution(request: Request, resolution: Resolution) -> None:
    """Let the cache keep the resolve a render rendered (not one serving a subject an
    experiment's arm)."""
    if resolution.resolved.experiment is None:
        request.scope.setdefault("state", {})[_OFFERED] = _RenderOffer(resolution)


def _stamp(revisions: Revisions) -> Stamp:
    return tuple(sorted(revisions.items()))


# ---------------------------------------------------------------- what is kept


@dataclass(frozen=True)
class Answer:
    """A resolve's response as the app sent it, and what it was read from."""

    names: tuple[str, ...]
    revisions: Stamp
    etag: str
    start: Message
    body: bytes
    not_modified: Message

    @cached_property
    def size(self) -> int:
        headers = sum(len(k) + len(v) for k, v in self.start["headers"])
        return len(self.body) + 2 * headers + sum(map(len, self.names)) + _OVERHEAD


@dataclass(frozen=True)
class KeptResolution:
    """The resolve a render rendered, and what it was read from."""

    revisions: Stamp
    resolution: Resolution

    @cached_property
    def names(self) -> tuple[str, ...]:
        return _names(self.resolution)

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

    Read by renders in worker threads and written on the event loop, under one lock.
    """

    def __init__(self, max_bytes: int) -> None:
        self._items: OrderedDict[Key, Kept] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.max_bytes = max_bytes

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        return self._bytes

    def get(self, key: Key) -> Kept | None:
        with self._lock:
            kept = self._items.get(key)
            if kept is not None:
                self._items.move_to_end(key)
            return kept

    def put(self, key: Key, kept: Kept) -> None:
        with self._lock:
            self._discard(key)
            if kept.size > self.max_bytes:
                return
            self._items[key] = kept
            self._bytes += kept.size
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.size

    def discard(self, key: Key) -> None:
        with self._lock:
            self._discard(key)

    def _discard(self, key: Key) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old.size


# ---------------------------------------------------------------- the middleware


class AnswerCache:
    """ASGI middleware answering repeated resolves and renders from kept answers."""

    def __init__(
        self,
        app: ASGIApp,
        db: Database,
        max_bytes: int,
        max_body_bytes: int,
        include_depth_limit: int,
    ) -> None:
        self.app = app
        self.db = db
        self.max_body_bytes = max_body_bytes
        self.include_depth_limit = include_depth_limit
        self.kept = _Kept(max_bytes)
        # Statements compiled once, by dialect and number of prompts (0: the key lookup).
        self._compiled: dict[tuple[str, int], CompiledRead] = {}
        # Requests answered from memory; kept answers found but not used (changed, a key
        # refused or due to be recorded, values the app must report on); and resolves
        # computed here rather than by the app.
        self.hits = 0
        self.misses = 0
        self.computed = 0

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
        languages = 0
        authorization: str | None = None
        if_none_match: bytes | None = None
        for name, value in scope["headers"]:
            if name in (b"content-length", b"transfer-encoding"):
                # A GET with a body: the app says what it makes of it.
                await self.app(scope, receive, send)
                return
            if name == b"accept-language":
                language = language + b"," + value if language else value
                languages += 1
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
        # Not kept: computed here if it is a plain resolve, else answered by the app.
        responder = self.app
        plain = None if languages > 1 else _plain_resolve(scope, language.decode("latin-1"))
        if plain is not None:
            compute = partial(
                resolve,
                name=plain.name,
                label=plain.label,
                version=plain.version,
                locales=plain.locales,
                allow_stale=plain.allow_stale,
                preview=plain.preview,
                depth_limit=self.include_depth_limit,
            )
            resolution = await self._run(
                self._computed, plain.name, compute, authorization, transaction=True
            )
            if resolution is not None:
                self.computed += 1
                responder = _responding(resolution)
        if if_none_match is None:
            await self._through_app(key, scope, receive, send, responder)
            return
        # A revalidation (the SDK's, after its own cache expired): the whole answer is
        # asked for, so that it can be kept, and the caller gets the 304 it would have.
        unconditional = [(k, v) for k, v in scope["headers"] if k != b"if-none-match"]
        buffered: list[Message] = []

        async def buffer(message: Message) -> None:
            buffered.append(message)

        await self._through_app(
            key, {**scope, "headers": unconditional}, receive, buffer, responder
        )
        answer = self.kept.get(key)
        if isinstance(answer, Answer) and buffered and buffered[0].get("status") == 200:
            await _send_answer(answer, if_none_match, send)
            return
        for message in buffered:  # not kept: an error, or an arm served to a subject
            await send(message)

    # ------------------------------------------------------------ render

    async def _render(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        body, receive = await self._body(scope, receive)
        if body is None:
            await self.app(scope, receive, send)
            return
        # Reading the body, checking the key and rendering are the caller's work, so none
        # of it runs on the event loop: all of it in one trip to a worker thread.
        reads = self.db.immediate_reads() or self.db.check_reads()
        work = await run_cpu_bound(self._rendering, name, Headers(scope=scope), body, reads)
        if work is None:  # a body the app reports on
            await self.app(scope, receive, send)
            return
        if work.missed:
            self.misses += 1
        if work.rendered is None:
            await self._through_app(work.key, scope, receive, send)
        elif work.computed is None:
            self.hits += 1
            await rendered_response(work.rendered)(scope, receive, send)
        else:
            self.computed += 1
            responder = _rendered_responder(work.computed, work.rendered)
            await self._through_app(work.key, scope, receive, send, responder)

    def _rendering(
        self, name: str, headers: Headers, body: bytes, reads: Engine
    ) -> _RenderWork | None:
        """A render request read, and rendered from its kept resolve (checked on
        ``reads``) or from one computed here; None if the body is not one to render."""
        request = _render_request(headers, body)
        if request is None:
            return None
        data, locales = request
        key: Key = ("render", name, data.label, data.version, tuple(locales))
        key += (data.allow_stale, data.preview)
        kept = self.kept.get(key)
        authorization = headers.get("authorization")
        missed = False
        if isinstance(kept, KeptResolution) and (
            data.subject is None or kept.resolution.resolved.experiment_plan is None
        ):
            if self._current(kept, authorization, reads):
                try:
                    return _RenderWork(key, render_resolution(kept.resolution, data.variables))
                except RegistryError:
                    # The app reports it, as it would have. The resolve is current, so
                    # computing it again would only render, and fail, once more.
                    return _RenderWork(key, missed=True)
            missed = True
        # Not kept: computed here unless a subject may be in an experiment (an exposure to
        # record) or anything is amiss, which the app answers.
        if data.subject is None and _plain_name(name):

            def compute(session: Session) -> Resolution:
                return resolve_to_render(
                    session, name, data, locales=locales, depth_limit=self.include_depth_limit
                )

            resolution = self._computed(name, compute, authorization, self.db.engine)
            if resolution is not None:
                try:
                    rendered = render_resolution(resolution, data.variables)
                except RegistryError:
                    rendered = None  # the app reports it, as it would have
                if rendered is not None:
                    return _RenderWork(key, rendered, computed=resolution, missed=missed)
        return _RenderWork(key, missed=missed)

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

    # ------------------------------------------------------------ both

    def _lookup(self, engine: Engine) -> CompiledRead:
        """The key lookup, compiled for ``engine``."""
        key = (engine.dialect.name, 0)
        lookup = self._compiled.get(key)
        if lookup is None:
            lookup = self._compiled[key] = CompiledRead(keys.LOOKUP, engine.dialect)
        return lookup

    def _revisions(self, engine: Engine, count: int) -> CompiledRead:
        """The revisions of ``count`` prompts (one or more), compiled for ``engine``."""
        key = (engine.dialect.name, count)
        revisions = self._compiled.get(key)
        if revisions is None:
            params = [bindparam(f"id{i}", type_=Integer) for i in range(count)]
            statement = select(_PROMPTS.id, _PROMPTS.revision).where(_PROMPTS.id.in_(params))
            revisions = self._compiled[key] = CompiledRead(statement, engine.dialect)
        return revisions

    async def _run(self, work: Callable[..., _T], *args: Any, transaction: bool = False) -> _T:
        """Run ``work`` in a worker thread, on the registry's own engine if it needs one
        ``transaction`` (a resolve computed), else on connections for single statements
        (``Database.check_reads``). A kept answer's check (two indexed reads) runs on the
        event loop instead where the store's reads never wait (a SQLite file in WAL mode,
        see ``Database.immediate_reads``)."""
        if not transaction:
            immediate = self.db.immediate_reads()
            if immediate is not None:
                return work(*args, immediate)
        engine = self.db.engine if transaction else self.db.check_reads()
        return await anyio.to_thread.run_sync(partial(work, *args, engine))

    def _key_allows(
        self,
        authorization: str | None,
        names: Iterable[str],
        dbapi_connection: Any,
        engine: Engine,
    ) -> Principal | None:
        """The request's key, if it may read every prompt of ``names`` now, with no use to
        record; else None, and the app answers (with its own refusal, if any).

        The key's lookup and check, as the app's; a refused key raises its error.
        """
        if authorization is None:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        lookup = self._lookup(engine)
        prefix, secret = keys.parse_token(token)
        checked = keys.verify(lookup.first(dbapi_connection, prefix=prefix), prefix, secret)
        principal = checked.principal
        if _use_to_record(checked.last_used_at) or not principal.can(Permission.READ):
            return None
        # An answer shows its components too: each must lie in the key's folders.
        if not all(principal.may_read(name) for name in names):
            return None
        return principal

    def _current(self, kept: Kept, authorization: str | None, engine: Engine) -> bool:
        """Whether the key may read the kept answer's prompt now, and the answer holds.

        Two indexed queries on a pooled connection. Any doubt (a malformed key, an error,
        a key use to record) says no, and the app answers the request. A connection that
        failed is not used again: the pool replaces it.
        """
        if authorization is None:
            return False
        revisions = self._revisions(engine, len(kept.revisions))
        dbapi_error = engine.dialect.loaded_dbapi.Error
        try:
            connection = engine.raw_connection()
        except (SQLAlchemyError, dbapi_error) as exc:
            log.info("could not check a kept answer; the app answers: %s", exc)
            return False
        try:
            if self._key_allows(authorization, kept.names, connection, engine) is None:
                return False
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

    def _computed(
        self,
        name: str,
        compute: Callable[[Session], Resolution],
        authorization: str | None,
        engine: Engine,
    ) -> Resolution | None:
        """The resolve of prompt ``name`` the route would read, computed with the route's
        own service in one read transaction; None where the app must answer (a key refused
        or due to be recorded, any error the app reports, a database error)."""
        dbapi_error = engine.dialect.loaded_dbapi.Error
        try:
            with engine.connect() as connection:
                dbapi_connection = connection.connection.dbapi_connection
                principal = self._key_allows(authorization, [name], dbapi_connection, engine)
                if principal is None:
                    return None
                with Session(bind=connection) as session:
                    resolution = compute(session)
                if not all(principal.may_read(shown) for shown in _names(resolution)):
                    return None
        except RegistryError:
            return None
        except (SQLAlchemyError, dbapi_error) as exc:
            log.info("could not compute a resolve; the app answers: %s", exc)
            return None
        except Exception:
            # The app answers, with its own error handling, what it makes of the request.
            log.warning("computing a resolve failed; the app answers", exc_info=True)
            return None
        # Without a subject no arm is served; checked all the same: exposures are the app's.
        return resolution if resolution.resolved.experiment is None else None

    async def _through_app(
        self,
        key: Key,
        scope: Scope,
        receive: Receive,
        send: Send,
        responder: ASGIApp | None = None,
    ) -> None:
        """Let the app (or ``responder``) answer, and keep what was offered if the answer
        is a 200."""
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

        await (responder or self.app)(scope, receive, capture)
        offered = state.get(_OFFERED)
        if start is None or start["status"] != 200 or not complete:
            return
        if isinstance(offered, _ResolveOffer) and key[0] == "resolve":
            self.kept.put(
                key,
                Answer(
                    names=offered.names,
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
                    revisions=_stamp(offered.resolution.revisions),
                    resolution=offered.resolution,
                ),
            )


@dataclass(frozen=True)
class _RenderWork:
    """What a render's trip to a worker thread found: its key, whether a kept resolve
    was found but not used, and the render, if the cache answers it (``computed``: the
    resolve it rendered, computed here rather than kept)."""

    key: Key
    rendered: Rendered | None = None
    computed: Resolution | None = None
    missed: bool = False


@dataclass(frozen=True)
class _Plain:
    """A resolve's arguments, read from a request the cache can compute it for."""

    name: str
    label: str | None
    version: int | None
    locales: list[str]
    allow_stale: bool
    preview: bool


def _plain_name(name: str) -> bool:
    """Whether the route reads ``name`` from the path as it is (else: the app's 422)."""
    return len(name) <= 255 and re.fullmatch(PROMPT_NAME_PATTERN, name) is not None


def _plain_resolve(scope: Scope, accept_language: str) -> _Plain | None:
    """The arguments of a resolve as the route reads them; None for anything but the
    plain forms of its parameters (``_PLAIN_PARAMETERS``), which the app then reads."""
    name = scope["path"][len(_PREFIX) : -len(_RESOLVE)]
    if not _plain_name(name):
        return None
    pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    query = dict(pairs)
    if len(query) != len(pairs) or not query.keys() <= _PLAIN_PARAMETERS:
        return None
    label, version, locale = query.get("label"), query.get("version"), query.get("locale")
    if label is not None and (len(label) > 64 or not re.fullmatch(LABEL_NAME_PATTERN, label)):
        return None
    if version is not None and (
        not _VERSION.fullmatch(version) or len(version) > 20 or int(version) > MAX_INTEGER
    ):
        return None
    if locale is not None and not 0 < len(locale) <= 64:
        return None
    allow_stale = _FLAGS.get(query.get("allow_stale", "false"))
    preview = _FLAGS.get(query.get("preview", "false"))
    if allow_stale is None or preview is None or len(accept_language) > _MAX_ACCEPT_LANGUAGE:
        return None
    try:
        locales = requested_locales_from(locale, accept_language or None)
    except RegistryError:
        return None
    return _Plain(
        name,
        label,
        None if version is None else int(version),
        locales,
        allow_stale=allow_stale,
        preview=preview,
    )


def _responding(resolution: Resolution) -> ASGIApp:
    """An ASGI app answering a computed resolve as the route does, offering it to keep."""

    async def respond(scope: Scope, receive: Receive, send: Send) -> None:
        headers = resolve_headers(resolution)
        offer(Request(scope), resolution, headers)
        await resolved_response(resolution, headers)(scope, receive, send)

    return respond


def _rendered_responder(resolution: Resolution, rendered: Rendered) -> ASGIApp:
    """An ASGI app answering a computed render as the route does, offering its resolve."""

    async def respond(scope: Scope, receive: Receive, send: Send) -> None:
        offer_resolution(Request(scope), resolution)
        await rendered_response(rendered)(scope, receive, send)

    return respond


async def _send_answer(answer: Answer, if_none_match: bytes | None, send: Send) -> None:
    """A kept resolve answer, or its 304 if the caller holds its ETag."""
    if if_none_match is not None and answer.etag in etags_of(if_none_match.decode("latin-1")):
        await send(answer.not_modified)
        await send({"type": "http.response.body", "body": b""})
    else:
        await send(answer.start)
        await send({"type": "http.response.body", "body": answer.body})


def _render_request(headers: Headers, body: bytes) -> tuple[RenderRequest, list[str]] | None:
    """A render request's body and locales as the route reads them; None if invalid."""
    if not json_content_type(headers.get("content-type")):
        return None
    language = headers.get("accept-language")
    if language is not None and len(language) > _MAX_ACCEPT_LANGUAGE:
        return None
    try:
        data = RenderRequest.model_validate(parse_json_body(body))
        return data, render_locales(data, language)
    except (ValueError, RegistryError):  # JSON, depth, validation and locale errors alike
        return None


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
