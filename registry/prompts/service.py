"""Serving prompts: the version a label or number points to, resolved with its
components and translations, and rendered. Never commits; the caller's unit of work does
(see ``registry.db``)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cachetools import LRUCache
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from registry.access.roles import Principal
from registry.db import PreparedRead, Reads
from registry.errors import (
    Conflict,
    ErrorItem,
    Forbidden,
    InvalidInput,
    NotFound,
)
from registry.experiments.plan import ServedExperiment
from registry.experiments.running import running_plan
from registry.locales.messages import _, _n
from registry.locales.tags import format_locale
from registry.observability.metrics import ANSWERS
from registry.prompts import models
from registry.prompts.kept import KeptResolutions, ResolveQuery
from registry.prompts.prompts import get_prompt
from registry.prompts.rendering import render_resolved
from registry.prompts.schemas import (
    LATEST,
    PRODUCTION,
    Component,
    Kind,
    Message,
    Rendered,
    Resolved,
    Version,
)
from registry.prompts.versions import version_by_number as _version_by_number
from registry.prompts.versions import version_schema_of as _version_schema
from registry.templating import parse_ref
from registry.translations.lookup import Localized, Source, localize_all, servable_statuses

# ---------------------------------------------------------------- serving


@dataclass(frozen=True)
class ServedVersion:
    """What serving needs of a published version; immutable, so cached in the process."""

    id: int
    prompt: str
    kind: Kind
    number: int
    source_locale: str
    content_hash: str
    includes: tuple[str, ...]
    variables: tuple[dict[str, Any], ...]
    schema: Version

    @property
    def texts(self) -> tuple[str, ...]:
        if self.schema.template is not None:
            return (self.schema.template,)
        return tuple(m.content for m in self.schema.messages or [])


class _ServedVersions:
    """A bounded LRU of served versions.

    Keyed by id *and* the prompt, number and content hash the pointer query returned, so
    an id a rolled-back transaction handed out and the store later reused for another
    version can never serve the old content.
    """

    def __init__(self, size: int) -> None:
        self._items: LRUCache[tuple[int, int, int, str], ServedVersion] = LRUCache(size)
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int, int, str]) -> ServedVersion | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple[int, int, int, str], version: ServedVersion) -> None:
        with self._lock:
            self._items[key] = version

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


served_versions = _ServedVersions(size=20_000)

# The pointer reads of every resolve: compiled once and run on the session's DBAPI
# connection (``PreparedRead``). SQLAlchemy's execution around a statement cost ten
# times the statement itself; through the ORM, half of a resolve's time.
_VERSIONS = models.PromptVersion.__table__.c
_PROMPTS = models.Prompt.__table__.c
_LABELS = models.Label.__table__.c
_POINTER_COLUMNS = (
    _VERSIONS.id,
    _VERSIONS.prompt_id,
    _VERSIONS.number,
    _VERSIONS.content_hash,
    _PROMPTS.archived_at,
    _PROMPTS.revision,
)
_POINTER = select(*_POINTER_COLUMNS).join(
    models.Prompt.__table__, _PROMPTS.id == _VERSIONS.prompt_id
)
# Joined on the prompt too, so the (prompt_id, name) unique index finds the label: joined
# on the version alone, SQLite scanned every label (the scale benchmark found it).
_BY_LABEL = PreparedRead(
    lambda: _POINTER.join(
        models.Label.__table__,
        (_LABELS.prompt_id == _PROMPTS.id) & (_LABELS.version_id == _VERSIONS.id),
    ).where(_PROMPTS.name == bindparam("name"), _LABELS.name == bindparam("label"))
)
_BY_NUMBER = PreparedRead(
    lambda: _POINTER.where(
        _PROMPTS.name == bindparam("name"), _VERSIONS.number == bindparam("number")
    )
)
_LATEST_VERSION = PreparedRead(
    lambda: _POINTER.where(
        _PROMPTS.name == bindparam("name"),
        _VERSIONS.number == _PROMPTS.latest_version,
    )
)


# A version the process has not served yet, with what serving needs of its prompt: read
# once (versions never change), without the ORM's loading.
_SERVED_VERSION = PreparedRead(
    lambda: (
        select(
            _VERSIONS.id,
            _VERSIONS.number,
            _VERSIONS.template,
            _VERSIONS.messages,
            _VERSIONS.variables,
            _VERSIONS.model_config.label("config"),
            _VERSIONS.includes,
            _VERSIONS.message,
            _VERSIONS.author,
            _VERSIONS.content_hash,
            _VERSIONS.created_at,
            _PROMPTS.name.label("prompt_name"),
            _PROMPTS.kind,
            _PROMPTS.source_locale,
        )
        .join(models.Prompt.__table__, _PROMPTS.id == _VERSIONS.prompt_id)
        .where(_VERSIONS.id == bindparam("id"))
    )
)


def _not_found(session: Session, name: str, label: str | None, number: int | None) -> NotFound:
    prompt = get_prompt(session, name)
    if number is not None:
        try:
            _version_by_number(session, prompt, number)
        except NotFound as exc:
            return exc
    if not prompt.latest_version:
        return NotFound(_("prompt {name} has no versions yet").format(name=repr(name)))
    return NotFound(
        # TRANSLATORS: {request} is an HTTP request line, such as
        # "PUT /v1/prompts/support/greeting/-/labels/production".
        _("prompt {name} has no label {label}; set it with {request}").format(
            name=repr(name),
            label=repr(label),
            request=f"PUT /v1/prompts/{name}/-/labels/{label}",
        )
    )


# What an answer was computed from: each prompt's id and the revision read with its
# pointer (see ``registry.prompts.kept``).
Revisions = dict[int, int]


def find_served(
    session: Session,
    name: str,
    *,
    label: str | None,
    number: int | None,
    seen: Revisions | None = None,
) -> ServedVersion:
    """The version a name plus label or number points to: one small query when cached.

    ``seen`` collects the prompt's revision, read in the same statement as the pointer,
    so it is never newer than anything read after it; a prompt read twice keeps the
    older revision.
    """
    if number is not None:
        row = _BY_NUMBER.first(session, name=name, number=number)
    elif label == LATEST:
        row = _LATEST_VERSION.first(session, name=name)
    else:
        row = _BY_LABEL.first(session, name=name, label=label)
    if row is None:
        raise _not_found(session, name, label, number)
    if number is None and row.archived_at is not None:
        raise Conflict(
            _("prompt {name} is archived; only a pinned version can be resolved").format(
                name=repr(name)
            ),
            # TRANSLATORS: version=<number> is a query parameter; keep it as it is.
            [ErrorItem(loc=("query", "version"), message=_("pass version=<number>"))],
        )
    if seen is not None:
        seen[row.prompt_id] = min(row.revision, seen.get(row.prompt_id, row.revision))
    key = (row.id, row.prompt_id, row.number, row.content_hash)
    served = served_versions.get(key)
    if served is None:
        version = _SERVED_VERSION.first(session, id=row.id)
        assert version is not None
        served = ServedVersion(
            id=version.id,
            prompt=version.prompt_name,
            kind=Kind(version.kind),
            number=version.number,
            source_locale=version.source_locale,
            content_hash=version.content_hash,
            includes=tuple(version.includes),
            variables=tuple(version.variables),
            schema=_version_schema(version.prompt_name, version.kind, version),
        )
        served_versions.put(key, served)
    return served


@dataclass(frozen=True)
class _Component:
    ref: str
    version: ServedVersion


def resolve_components(
    session: Session,
    includes: Iterable[str],
    *,
    root: str,
    depth_limit: int,
    seen: Revisions | None = None,
    principal: Principal | None = None,
) -> dict[str, _Component]:
    """Every prompt reachable through includes, keyed by reference as written.

    Each must lie in the folders ``principal`` may read (None: the registry itself), and
    is refused (403) before it is looked up, so the answer never tells whether a prompt
    outside them exists, nor what it holds.
    """
    found: dict[str, _Component] = {}

    def visit(refs: Iterable[str], path: tuple[str, ...]) -> None:
        for ref in refs:
            target = parse_ref(ref)
            if principal is not None and not principal.may_read(target.name):
                raise Forbidden(
                    _(
                        "{name} includes {ref}, which lies outside the folders this key may "
                        "read ({folders}); an admin can add its folder to the key's read_folders"
                    ).format(
                        name=repr(path[-1]), ref=repr(ref), folders=principal.describe_folders()
                    )
                )
            if target.name in path:
                cycle = " → ".join((*path, target.name))
                raise Conflict(_("include cycle: {cycle}").format(cycle=cycle))
            if len(path) > depth_limit:
                raise Conflict(
                    _n(
                        "includes nest deeper than {limit} level: {path}",
                        "includes nest deeper than {limit} levels: {path}",
                        depth_limit,
                    ).format(limit=depth_limit, path=" → ".join(path))
                )
            if ref in found:
                visit(found[ref].version.includes, (*path, target.name))
                continue
            version = find_served(
                session, target.name, label=target.label, number=target.version, seen=seen
            )
            if version.kind is not Kind.text:
                raise Conflict(
                    _("{name} is a chat prompt; only text prompts can be included").format(
                        name=repr(target.name)
                    )
                )
            found[ref] = _Component(ref=ref, version=version)
            visit(version.includes, (*path, target.name))

    visit(includes, (root,))
    return found


def _etag(root: ServedVersion, localized: Localized, parts: Iterable[str]) -> str:
    lines = [f"{root.prompt}@{root.number}:{root.content_hash}:{localized.tag}"]
    lines.extend(sorted(parts))
    return '"' + hashlib.sha256("\n".join(lines).encode()).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class Resolution:
    resolved: Resolved
    immutable: bool
    # The revision of every prompt the answer was read from, root and components.
    revisions: Revisions

    @cached_property
    def body(self) -> bytes:
        """The resolve's JSON response body, made once however often it is served."""
        return self.resolved.model_dump_json().encode()

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Every prompt the answer shows: its own and each component's."""
        return (self.resolved.prompt, *(c.name for c in self.resolved.components))


def resolve_query(
    name: str,
    *,
    label: str | None = None,
    version: int | None = None,
    locales: Sequence[str] = (),
    allow_stale: bool = False,
    preview: bool = False,
) -> ResolveQuery:
    """What a resolve asks for, canonical: ``production`` when it names neither a label
    nor a version; 422 when it names both."""
    if label is not None and version is not None:
        raise InvalidInput(
            _("give a label or a version, not both"),
            [ErrorItem(loc=("query", "label"), message=_("remove label or version"))],
        )
    if version is None and label is None:
        label = PRODUCTION
    return ResolveQuery(name, label, version, tuple(locales), allow_stale, preview)


def kept_resolution(
    reads: Session | Reads,
    principal: Principal,
    *,
    query: ResolveQuery,
    kept: KeptResolutions,
    subject: str | None = None,
    kind: str = "resolve",
) -> Resolution | None:
    """The resolution kept for ``query``, if nothing it was read from has changed (one
    read), ``principal`` may read every prompt it shows, and it serves ``subject`` no
    experiment's arm; else None, and :func:`resolve` answers (with its refusal, if any)."""
    found = kept.get(query)
    if found is None:
        return None
    if subject is not None and found.resolved.experiment_plan is not None:
        return None  # the subject is served an arm: an exposure
    if not all(principal.may_read(name) for name in found.names):
        return None
    if not kept.current(reads, query, found):
        return None
    kept.served(kind)
    return found


def resolve(
    session: Session,
    name: str,
    *,
    label: str | None = None,
    version: int | None = None,
    locales: Sequence[str] = (),
    allow_stale: bool = False,
    preview: bool = False,
    depth_limit: int = 10,
    subject: str | None = None,
    principal: Principal | None = None,
    kept: KeptResolutions | None = None,
    kind: str = "resolve",
) -> Resolution:
    """The template, variables, config and components a label or version serves in a locale.

    ``locales`` are canonical, in preference order; each is tried through its CLDR
    fallback chain before the prompt's source locale is served. Every component must lie
    in the folders ``principal`` may read (None: no limit). Version content comes
    from the process's cache (it never changes); label pointers and translations are
    read from the store every time, so every replica serves the same answer.

    With ``kept`` (the API's process cache), a resolution kept there is served while
    nothing it was read from has changed, and one computed is kept (see
    ``registry.prompts.kept``); ``kind`` names the answer in the metrics.
    """
    query = resolve_query(
        name,
        label=label,
        version=version,
        locales=locales,
        allow_stale=allow_stale,
        preview=preview,
    )
    return resolve_for(
        session,
        query,
        depth_limit=depth_limit,
        subject=subject,
        principal=principal,
        kept=kept,
        kind=kind,
    )


def resolve_for(
    session: Session,
    query: ResolveQuery,
    *,
    depth_limit: int = 10,
    subject: str | None = None,
    principal: Principal | None = None,
    kept: KeptResolutions | None = None,
    kind: str = "resolve",
) -> Resolution:
    """:func:`resolve` of a query already read (:func:`resolve_query`)."""
    if kept is not None and principal is not None:
        found = kept_resolution(
            session, principal, query=query, kept=kept, subject=subject, kind=kind
        )
        if found is not None:
            return found
    resolution = _resolve(
        session, query, depth_limit=depth_limit, subject=subject, principal=principal
    )
    if kept is not None:
        ANSWERS.labels(kind, "computed").inc()
        kept.keep(query, resolution)
    return resolution


def _resolve(
    session: Session,
    query: ResolveQuery,
    *,
    depth_limit: int,
    subject: str | None,
    principal: Principal | None,
) -> Resolution:
    name, label, version, locales = query.name, query.label, query.version, query.locales
    allow_stale, preview = query.allow_stale, query.preview
    seen: Revisions = {}
    root = find_served(session, name, label=label, number=version, seen=seen)
    plan, served = None, None
    if label is not None and label != LATEST:
        # An experiment on the label serves a subject its arm's version instead.
        plan = running_plan(session, name, label, locales, root.source_locale)
        if plan is not None and subject is not None:
            arm = plan.assign(subject)
            served = ServedExperiment.serving(plan, arm, subject)
            root = find_served(session, name, label=None, number=arm.version, seen=seen)
    components = list(
        resolve_components(
            session,
            root.includes,
            root=name,
            depth_limit=depth_limit,
            seen=seen,
            principal=principal,
        ).values()
    )
    statuses = servable_statuses(allow_stale=allow_stale, preview=preview)
    localized, *parts = localize_all(
        session,
        [Source(v.id, v.source_locale, v.texts) for v in (root, *(c.version for c in components))],
        locales,
        statuses,
    )
    schema = root.schema
    messages = schema.messages
    if messages is not None:
        messages = [
            Message(role=m.role, content=text)
            for m, text in zip(messages, localized.texts, strict=False)
        ]
    served_components = [
        Component(
            ref=c.ref,
            name=c.version.prompt,
            version=c.version.number,
            template=part.texts[0],
            locale=part.locale,
            locale_match=part.match,
        )
        for c, part in zip(components, parts, strict=True)
    ]
    etag_parts = [
        f"{c.ref}={c.version.prompt}@{c.version.number}:{c.version.content_hash}:{part.tag}"
        for c, part in zip(components, parts, strict=True)
    ]
    if plan is not None:
        etag_parts.append(f"experiment={plan.id}:{served.arm if served else '-'}")
    resolved = Resolved(
        prompt=name,
        kind=schema.kind,
        version=root.number,
        label=label,
        template=localized.texts[0] if schema.template is not None else None,
        messages=messages,
        variables=schema.variables,
        config=schema.config,
        components=served_components,
        locale=localized.locale,
        requested_locale=localized.requested,
        locale_match=localized.match,
        translation_status=localized.status,
        etag=_etag(root, localized, etag_parts),
        experiment=served,
        experiment_plan=plan,
    )
    # Only a pinned version whose components are pinned too, served from approved text
    # only, can never change; anything a label move or a review can change revalidates.
    immutable = (
        version is not None and all(parse_ref(c.ref).pinned for c in components) and not locales
    )
    return Resolution(resolved=resolved, immutable=immutable, revisions=seen)


def render_resolution(resolution: Resolution, variables: Mapping[str, Any]) -> Rendered:
    """A resolved prompt rendered with the caller's values in the served locale.

    Numbers and dates are written for the locale asked for when the text served is in
    its language (``de_CH`` served ``de``), else for the served one (see format_locale).

    No I/O: a kept resolution (``registry.prompts.kept``) is rendered with it too.
    """
    resolved = resolution.resolved
    output = render_resolved(
        resolved, variables, locale=format_locale(resolved.requested_locale, resolved.locale)
    )
    return Rendered(
        prompt=resolved.prompt,
        kind=resolved.kind,
        version=resolved.version,
        label=resolved.label,
        text=output if isinstance(output, str) else None,
        messages=output if isinstance(output, list) else None,
        config=resolved.config,
        components=resolved.components,
        locale=resolved.locale,
        requested_locale=resolved.requested_locale,
        locale_match=resolved.locale_match,
        experiment=resolved.experiment,
    )
