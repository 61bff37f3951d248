"""Business rules for prompts, versions and labels. Never commits; the caller's unit of
work does (see ``registry.db``)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from registry.access import audit, policies
from registry.access.roles import Principal
from registry.access.scopes import readable_names
from registry.db import PreparedRead, utcnow
from registry.errors import (
    Conflict,
    ErrorItem,
    Forbidden,
    InvalidInput,
    InvalidTemplate,
    NotFound,
    PreconditionFailed,
    summarize,
)
from registry.experiments.plan import ServedExperiment
from registry.experiments.running import running_plan
from registry.inputs import MAX_INTEGER, has_nul
from registry.locales.messages import _, _n
from registry.locales.requests import parse_locale
from registry.locales.tags import format_locale
from registry.prompts import models
from registry.prompts.diff import diff_versions
from registry.prompts.includes import write_links
from registry.prompts.rendering import render_resolved
from registry.prompts.schemas import (
    Component,
    Diff,
    Kind,
    Label,
    LabelEvent,
    LabelSet,
    Message,
    ModelConfig,
    Prompt,
    PromptCreate,
    PromptPage,
    PromptUpdate,
    Rendered,
    RenderRequest,
    Resolved,
    StyleReport,
    Variable,
    Version,
    VersionCreate,
    VersionPage,
)
from registry.style import service as style
from registry.templating import analyze, parse_ref
from registry.templating.arguments import argument_errors
from registry.translations.lookup import Localized, Source, localize_all, servable_statuses
from registry.translations.models import Translation
from registry.translations.revisions import carry_forward

LATEST = "latest"
PRODUCTION = "production"


# ---------------------------------------------------------------- read models


def prompt_schema(prompt: models.Prompt) -> Prompt:
    return Prompt(
        name=prompt.name,
        kind=Kind(prompt.kind),
        source_locale=prompt.source_locale,
        description=prompt.description,
        tags=prompt.tag_names,
        archived=prompt.archived_at is not None,
        latest_version=prompt.latest_version or None,
        labels={label.name: label.version.number for label in prompt.labels},
        created_at=prompt.created_at,
        updated_at=prompt.updated_at,
    )


def version_schema(version: models.PromptVersion) -> Version:
    return _version_schema(version.prompt.name, version.prompt.kind, version)


def _version_schema(
    prompt: str, kind: str, version: Any, style: StyleReport | None = None
) -> Version:
    """A version's schema from its prompt's name and kind and anything with a version's
    attributes: a mapped version, a row of its columns, or the values just written."""
    return Version(
        prompt=prompt,
        number=version.number,
        kind=Kind(kind),
        template=version.template,
        messages=[Message(**m) for m in version.messages] if version.messages else None,
        variables=[Variable(**v) for v in version.variables],
        config=ModelConfig(**version.config),
        includes=list(version.includes),
        message=version.message,
        author=version.author,
        content_hash=version.content_hash,
        created_at=version.created_at,
        style=style,
    )


# ---------------------------------------------------------------- prompts


def _prompt_query(name: str) -> Select[models.Prompt]:
    return select(models.Prompt).where(models.Prompt.name == name)


# Built once: every write to a prompt starts here.
_PROMPT_NAMED = select(models.Prompt).where(models.Prompt.name == bindparam("name"))
_PROMPT_NAMED_LOCKED = _PROMPT_NAMED.with_for_update().execution_options(populate_existing=True)


def get_prompt(session: Session, name: str, *, lock: bool = False) -> models.Prompt:
    """The prompt called ``name``; with ``lock``, its row is locked until commit."""
    query = _PROMPT_NAMED_LOCKED if lock else _PROMPT_NAMED
    prompt = session.scalars(query, {"name": name}).one_or_none()
    if prompt is None:
        raise NotFound(_("no prompt is named {name}").format(name=repr(name)))
    return prompt


_PROMPTS_NAMED_LOCKED = (
    select(models.Prompt.id)
    .where(models.Prompt.name.in_(bindparam("names", expanding=True)))
    .order_by(models.Prompt.name)
    .with_for_update()
)


def lock_prompts(session: Session, names: Iterable[str]) -> None:
    """Lock the rows of the prompts called ``names`` (those that exist) until commit.

    A write to several prompts takes their locks in name order with this first: two
    such writes over the same prompts then queue behind each other, where taking each
    lock as it comes could leave each waiting for one the other holds (a deadlock that
    PostgreSQL breaks by aborting one of them). SQLite's writers take turns anyway.
    """
    wanted = sorted(set(names))
    if wanted:
        session.execute(_PROMPTS_NAMED_LOCKED, {"names": wanted}).all()


def read_prompt(session: Session, name: str) -> Prompt:
    query = _prompt_query(name).options(
        selectinload(models.Prompt.tags), selectinload(models.Prompt.labels)
    )
    prompt = session.scalars(query).one_or_none()
    if prompt is None:
        raise NotFound(_("no prompt is named {name}").format(name=repr(name)))
    return prompt_schema(prompt)


def create_prompt(session: Session, data: PromptCreate) -> Prompt:
    if session.scalar(select(models.Prompt.id).where(models.Prompt.name == data.name)):
        raise Conflict(
            _("a prompt named {name} already exists").format(name=repr(data.name)),
            [ErrorItem(loc=("body", "name"), message=_("choose another name"))],
        )
    source_locale = parse_locale(data.source_locale, ("body", "source_locale"))
    prompt = models.Prompt(
        name=data.name,
        kind=data.kind.value,
        source_locale=source_locale,
        description=data.description,
        latest_version=0,
        tags=[models.PromptTag(tag=t) for t in dict.fromkeys(data.tags)],
        labels=[],
    )
    session.add(prompt)
    session.flush()
    schema = prompt_schema(prompt)
    audit.record(
        session, "prompt.create", prompt=prompt.name, target=prompt.name, after=_audited(schema)
    )
    return schema


def _audited(prompt: Prompt) -> dict[str, Any]:
    """What the audit trail keeps of a prompt: its settings, not its timestamps."""
    return prompt.model_dump(mode="json", include={"kind", "source_locale", "description", "tags"})


def update_prompt(session: Session, name: str, data: PromptUpdate) -> Prompt:
    prompt = get_prompt(session, name, lock=True)
    before = _audited(read_prompt(session, name))
    if data.description is not None:
        prompt.description = data.description
    if data.tags is not None:
        wanted = list(dict.fromkeys(data.tags))
        prompt.tags = [t for t in prompt.tags if t.tag in wanted]
        have = {t.tag for t in prompt.tags}
        prompt.tags.extend(models.PromptTag(tag=t) for t in wanted if t not in have)
    prompt.updated_at = utcnow()
    session.flush()
    after = read_prompt(session, name)
    if _audited(after) != before:
        audit.record(
            session, "prompt.update", prompt=name, target=name, before=before, after=_audited(after)
        )
    return after


def set_archived(session: Session, name: str, *, archived: bool) -> Prompt:
    prompt = get_prompt(session, name, lock=True)
    was_archived = prompt.archived_at is not None
    if archived and prompt.archived_at is None:
        prompt.archived_at = utcnow()
    elif not archived:
        prompt.archived_at = None
    session.flush()
    if was_archived != archived:
        audit.record(
            session,
            "prompt.archive" if archived else "prompt.restore",
            prompt=name,
            target=name,
            before={"archived": was_archived},
            after={"archived": archived},
        )
    return read_prompt(session, name)


def _encode_cursor(value: str | int) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str | int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        value = None
    if not isinstance(value, str | int) or isinstance(value, bool) or not _storable(value):
        raise _bad_cursor()
    return value


def _storable(value: str | int) -> bool:
    if isinstance(value, int):
        return abs(value) <= MAX_INTEGER
    return not has_nul(value)


def _bad_cursor() -> InvalidInput:
    return InvalidInput(
        _("the cursor is not one this registry issued"),
        [
            ErrorItem(
                loc=("query", "cursor"),
                # TRANSLATORS: next_cursor is a field of the API's answer; keep it as it is.
                message=_("pass next_cursor from a previous page"),
            )
        ],
    )


def list_prompts(
    session: Session,
    *,
    prefix: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    include_archived: bool = False,
    cursor: str | None = None,
    limit: int = 50,
    within: Sequence[str] | None = None,
) -> PromptPage:
    """A page of prompts; ``within`` are the folders a caller's key may read."""
    query = select(models.Prompt).options(
        selectinload(models.Prompt.tags), selectinload(models.Prompt.labels)
    )
    readable = readable_names(models.Prompt.name, within)
    if readable is not None:
        query = query.where(readable)
    if prefix:
        folder = prefix.rstrip("/")
        query = query.where(
            or_(
                models.Prompt.name == folder,
                models.Prompt.name.startswith(folder + "/", autoescape=True),
            )
        )
    if tag:
        query = query.where(
            models.Prompt.id.in_(
                select(models.PromptTag.prompt_id).where(models.PromptTag.tag == tag)
            )
        )
    if q:
        query = query.where(
            or_(
                models.Prompt.name.icontains(q, autoescape=True),
                models.Prompt.description.icontains(q, autoescape=True),
            )
        )
    if not include_archived:
        query = query.where(models.Prompt.archived_at.is_(None))
    if cursor:
        after = _decode_cursor(cursor)
        query = query.where(models.Prompt.name > str(after))
    rows = list(session.scalars(query.order_by(models.Prompt.name).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return PromptPage(
        items=[prompt_schema(p) for p in rows],
        next_cursor=_encode_cursor(rows[-1].name) if more else None,
    )


# ---------------------------------------------------------------- versions


def _version_by_number(
    session: Session, prompt: models.Prompt, number: int
) -> models.PromptVersion:
    version = session.scalars(
        select(models.PromptVersion).where(
            models.PromptVersion.prompt_id == prompt.id, models.PromptVersion.number == number
        )
    ).one_or_none()
    if version is None:
        if prompt.latest_version:
            message = _("prompt {name} has no version {number}; its newest is {newest}").format(
                name=repr(prompt.name), number=number, newest=prompt.latest_version
            )
        else:
            message = _("prompt {name} has no version {number}").format(
                name=repr(prompt.name), number=number
            )
        raise NotFound(message)
    return version


def get_version(session: Session, name: str, number: int) -> Version:
    row = _version_by_number(session, get_prompt(session, name), number)
    return _with_style(session, version_schema(row), row.id)


def list_versions(
    session: Session, name: str, *, cursor: str | None = None, limit: int = 50
) -> VersionPage:
    prompt = get_prompt(session, name)
    query = select(models.PromptVersion).where(models.PromptVersion.prompt_id == prompt.id)
    if cursor:
        before = _decode_cursor(cursor)
        if not isinstance(before, int):
            raise _bad_cursor()
        query = query.where(models.PromptVersion.number < before)
    rows = list(
        session.scalars(query.order_by(models.PromptVersion.number.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return VersionPage(
        items=[_with_style(session, version_schema(v), v.id) for v in rows],
        next_cursor=_encode_cursor(rows[-1].number) if more else None,
    )


def canonical_hash(kind: Kind, data: VersionCreate) -> str:
    """Hash of what a version says, so publishing the same content twice is detected."""
    content = {
        "kind": kind.value,
        "template": data.template,
        "messages": [m.model_dump(mode="json") for m in data.messages] if data.messages else None,
        "variables": [v.model_dump(mode="json") for v in data.variables],
        "config": data.config.model_dump(mode="json", exclude_none=True),
    }
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _templates(data: VersionCreate) -> list[tuple[tuple[str | int, ...], str]]:
    if data.template is not None:
        return [(("body", "template"), data.template)]
    return [
        (("body", "messages", i, "content"), m.content) for i, m in enumerate(data.messages or [])
    ]


# Publishing reads the newest version and whether the prompt has translations (one
# statement), writes the version and moves the prompt's newest number on every call:
# Core statements on the tables' columns, built once, without the ORM's loading steps
# and unit of work.
_VERSION_TABLE = cast(Table, models.PromptVersion.__table__)
_PROMPT_TABLE = cast(Table, models.Prompt.__table__)
_PUBLISHED = _VERSION_TABLE.c
_TRANSLATED = Translation.__table__.c
_NEWEST = select(
    _PUBLISHED.id,
    _PUBLISHED.prompt_id,
    _PUBLISHED.number,
    _PUBLISHED.content_hash,
    _PUBLISHED.template,
    _PUBLISHED.messages,
    exists().where(_TRANSLATED.prompt_id == bindparam("prompt_id")).label("localized"),
).where(_PUBLISHED.prompt_id == bindparam("prompt_id"), _PUBLISHED.number == bindparam("number"))
_INSERT_VERSION = insert(_VERSION_TABLE).returning(
    _PUBLISHED.id, _PUBLISHED.prompt_id, _PUBLISHED.number, _PUBLISHED.template, _PUBLISHED.messages
)
_SET_LATEST = (
    update(_PROMPT_TABLE)
    .where(_PROMPT_TABLE.c.id == bindparam("prompt"))
    .values(latest_version=bindparam("latest"), updated_at=bindparam("at"))
)


def publish_version(
    session: Session,
    name: str,
    data: VersionCreate,
    *,
    author: str,
    depth_limit: int = 10,
    principal: Principal | None = None,
) -> tuple[Version, bool]:
    """Publish a new version; returns it and whether it was created (False: same content).

    Every include must lie in the folders ``principal`` may read, and the labels it moves
    must be ones it may move (protected labels, four eyes; None: the registry itself).
    """
    if principal is not None:
        policies.check_label_moves(session, principal, name, data.labels, version=None)
    prompt = get_prompt(session, name, lock=True)
    kind = Kind(prompt.kind)
    if kind is Kind.text and data.template is None:
        raise Conflict(
            # TRANSLATORS: `template` and `messages` are fields of the API; keep them as they are.
            _("{name} is a text prompt; send `template`, not `messages`").format(name=repr(name)),
            [ErrorItem(loc=("body", "messages"), message=_("text prompts take a template"))],
        )
    if kind is Kind.chat and data.messages is None:
        raise Conflict(
            # TRANSLATORS: `template` and `messages` are fields of the API; keep them as they are.
            _("{name} is a chat prompt; send `messages`, not `template`").format(name=repr(name)),
            [ErrorItem(loc=("body", "template"), message=_("chat prompts take messages"))],
        )

    # Content equal to the newest version was checked when it was published: return it.
    digest = canonical_hash(kind, data)
    newest = None
    # Translations belong to versions, so a prompt without any has none; and they are
    # written under the prompt's lock, as this is: none now means none to carry forward.
    localized = False
    if prompt.latest_version:
        newest = session.execute(
            _NEWEST, {"prompt_id": prompt.id, "number": prompt.latest_version}
        ).first()
        if newest is None or newest.content_hash == digest:
            # The read model of the same version (or the usual 404 were it missing).
            same = _version_by_number(session, prompt, prompt.latest_version)
            _apply_labels(session, name, same.number, data, author, depth_limit, principal)
            return _with_style(session, version_schema(same), same.id), False
        localized = bool(newest.localized)

    errors: list[ErrorItem] = []
    used: set[str] = set()
    includes: list[str] = []
    for loc, source in _templates(data):
        try:
            info = analyze(source, loc=loc)
        except InvalidTemplate as exc:
            errors.extend(exc.errors)
            continue
        errors.extend(argument_errors(source, loc=loc))
        used |= info.variables
        includes.extend(ref for ref in info.includes if ref not in includes)
    if errors:
        raise InvalidTemplate(
            _("the template does not compile: {error}").format(error=errors[0].message), errors
        )

    try:
        components = resolve_components(
            session, includes, root=name, depth_limit=depth_limit, principal=principal
        )
    except (NotFound, Conflict) as exc:
        raise InvalidTemplate(
            _("an include cannot be resolved: {error}").format(error=exc.detail),
            [ErrorItem(loc=("body", "template"), message=exc.detail)],
        ) from None
    # A component's declared variables come from the including prompt's values.
    needed = set(used)
    for component in components.values():
        needed |= {v["name"] for v in component.version.variables}
    declared = {v.name for v in data.variables}
    for missing in sorted(needed - declared):
        if missing in used:
            message = _("{name} is used in the template but not declared; add it to variables")
        else:
            message = _(
                "{name} is used in an included prompt but not declared; add it to variables"
            )
        errors.append(
            ErrorItem(loc=("body", "variables"), message=message.format(name=repr(missing)))
        )
    for i, var in enumerate(data.variables):
        if var.name not in needed:
            errors.append(
                ErrorItem(
                    loc=("body", "variables", i),
                    message=_("{name} is declared but the template never uses it").format(
                        name=repr(var.name)
                    ),
                )
            )
    if errors:
        problems = summarize([e.message for e in errors])
        raise InvalidInput(
            _("the declared variables do not match the template: {problems}").format(
                problems=problems
            ),
            errors,
        )

    report = _style_report(session, prompt, data, localized=localized)
    style.refuse_errors(report)

    number = prompt.latest_version + 1
    now = utcnow()
    messages = [m.model_dump(mode="json") for m in data.messages] if data.messages else None
    variables = [v.model_dump(mode="json") for v in data.variables]
    config = data.config.model_dump(mode="json", exclude_none=True)
    version = session.execute(
        _INSERT_VERSION,
        {
            "prompt_id": prompt.id,
            "number": number,
            "template": data.template,
            "messages": messages,
            "variables": variables,
            "model_config": config,
            "includes": includes,
            "message": data.message,
            "author": author,
            "content_hash": digest,
            "created_at": now,
        },
    ).one()
    write_links(session, [(version.id, prompt.id, includes)])
    session.execute(_SET_LATEST, {"prompt": prompt.id, "latest": number, "at": now})
    # The row is written; the loaded prompt must say so too, without a second UPDATE.
    set_committed_value(prompt, "latest_version", number)
    set_committed_value(prompt, "updated_at", now)
    style.store_report(session, version.id, report)
    audit.record(
        session,
        "version.publish",
        prompt=name,
        target=f"{name}@{number}",
        after={"version": number, "content_hash": digest, "message": data.message},
    )
    if newest is not None and localized:
        carry_forward(session, newest, version, author=author)
    _apply_labels(session, name, number, data, author, depth_limit, principal)
    # What version_schema and load_report would read back from the rows just written.
    written = SimpleNamespace(
        number=number,
        template=data.template,
        messages=messages,
        variables=variables,
        config=config,
        includes=includes,
        message=data.message,
        author=author,
        content_hash=digest,
        created_at=now,
    )
    return _version_schema(prompt.name, kind, written, style=report), True


def _apply_labels(
    session: Session,
    name: str,
    number: int,
    data: VersionCreate,
    author: str,
    depth_limit: int,
    principal: Principal | None,
) -> None:
    """Point the labels a publish asked for at its version, recorded like any move."""
    for label in dict.fromkeys(data.labels):
        set_label(
            session,
            name,
            label,
            LabelSet(version=number, reason=data.message),
            actor=author,
            depth_limit=depth_limit,
            principal=principal,
        )


def _style_report(
    session: Session, prompt: models.Prompt, data: VersionCreate, *, localized: bool
) -> StyleReport:
    """The findings of the guide the prompt's folder selects, in its source locale."""
    chosen = style.choose_guide(session, prompt=prompt.name)
    return style.run_lint(
        chosen,
        template=data.template,
        messages=[(m.role, m.content) for m in data.messages] if data.messages else None,
        variables=[v.model_dump(mode="json") for v in data.variables],
        locale=prompt.source_locale,
        localized=localized,
    )


def _with_style(session: Session, version: Version, version_id: int) -> Version:
    version.style = style.load_report(session, version_id)
    return version


def diff(session: Session, name: str, old: int, new: int) -> Diff:
    prompt = get_prompt(session, name)
    return diff_versions(
        version_schema(_version_by_number(session, prompt, old)),
        version_schema(_version_by_number(session, prompt, new)),
    )


# ---------------------------------------------------------------- labels


def _label_events(session: Session, prompt_id: int, label: str | None) -> list[models.LabelEvent]:
    query = select(models.LabelEvent).where(models.LabelEvent.prompt_id == prompt_id)
    if label is not None:
        query = query.where(models.LabelEvent.label == label)
    return list(session.scalars(query.order_by(models.LabelEvent.id.desc())))


def _label_schema(label: models.Label, events: Iterable[models.LabelEvent]) -> Label:
    events = list(events)  # newest first
    return Label(
        name=label.name,
        version=label.version.number,
        updated_at=label.updated_at,
        updated_by=label.updated_by,
        etag=label_etag(events[0].id if events else 0),
        history=[
            LabelEvent(
                label=e.label,
                from_version=e.from_version,
                to_version=e.to_version,
                actor=e.actor,
                reason=e.reason,
                created_at=e.created_at,
            )
            for e in events
        ],
    )


def list_labels(session: Session, name: str) -> list[Label]:
    prompt = get_prompt(session, name)
    labels = session.scalars(
        select(models.Label).where(models.Label.prompt_id == prompt.id).order_by(models.Label.name)
    )
    events = _label_events(session, prompt.id, None)
    return [_label_schema(label, [e for e in events if e.label == label.name]) for label in labels]


def get_label(session: Session, name: str, label_name: str) -> Label:
    prompt = get_prompt(session, name)
    label = session.scalars(
        select(models.Label).where(
            models.Label.prompt_id == prompt.id, models.Label.name == label_name
        )
    ).one_or_none()
    if label is None:
        raise NotFound(
            _("prompt {name} has no label {label}").format(name=repr(name), label=repr(label_name))
        )
    return _label_schema(label, _label_events(session, prompt.id, label_name))


def set_label(
    session: Session,
    name: str,
    label_name: str,
    data: LabelSet,
    *,
    actor: str,
    depth_limit: int = 10,
    if_match: Sequence[str] | None = None,
    principal: Principal | None = None,
) -> Label:
    """Point a label at a version, recording the move.

    ``if_match`` holds the ETags the caller saw (``If-Match``); when the label has moved
    since, nothing changes and the answer is 412. ``principal`` must be allowed to move
    the label (protected labels, four eyes; None: the registry itself).
    """
    if principal is not None:
        policies.check_label_moves(session, principal, name, [label_name], version=data.version)
    if label_name == LATEST:
        raise InvalidInput(
            _("the label {latest} always means the newest version and cannot be set").format(
                latest=repr(LATEST)
            ),
            [ErrorItem(loc=("path", "label"), message=_("choose another label name"))],
        )
    prompt = get_prompt(session, name, lock=True)
    try:
        version = _version_by_number(session, prompt, data.version)
    except NotFound as exc:
        raise InvalidInput(
            exc.detail, [ErrorItem(loc=("body", "version"), message=exc.detail)]
        ) from None
    label = session.scalars(
        select(models.Label).where(
            models.Label.prompt_id == prompt.id, models.Label.name == label_name
        )
    ).one_or_none()
    if if_match is not None:
        _check_label_precondition(session, prompt, label_name, label, if_match)
    if label is not None and label.version_id == version.id:
        return _label_schema(label, _label_events(session, prompt.id, label_name))

    previous = label.version.number if label is not None else None
    now = utcnow()
    if label is None:
        label = models.Label(
            prompt_id=prompt.id, name=label_name, version=version, updated_at=now, updated_by=actor
        )
        session.add(label)
    else:
        label.version = version
        label.updated_at = now
        label.updated_by = actor
    session.add(
        models.LabelEvent(
            prompt_id=prompt.id,
            label=label_name,
            from_version=previous,
            to_version=version.number,
            actor=actor,
            reason=data.reason,
            created_at=now,
        )
    )
    session.flush()
    # The move must not close an include cycle through this prompt's other users.
    resolve_components(
        session, version.includes, root=name, depth_limit=depth_limit, principal=principal
    )
    audit.record(
        session,
        "label.move",
        prompt=name,
        target=f"{name}:{label_name}",
        before=None if previous is None else {"version": previous},
        after={"version": version.number, "reason": data.reason},
    )
    return _label_schema(label, _label_events(session, prompt.id, label_name))


def _check_label_precondition(
    session: Session,
    prompt: models.Prompt,
    label_name: str,
    label: models.Label | None,
    if_match: Sequence[str],
) -> None:
    current = None
    if label is not None:
        last_move = session.scalar(
            select(func.max(models.LabelEvent.id)).where(
                models.LabelEvent.prompt_id == prompt.id, models.LabelEvent.label == label_name
            )
        )
        current = label_etag(last_move or 0)
    if "*" in if_match and current is not None:
        return
    if current is None or current not in if_match:
        raise PreconditionFailed(
            _(
                "the label {label} of {name} has changed since you read it; read it again and retry"
            ).format(label=repr(label_name), name=repr(prompt.name)),
            [ErrorItem(loc=("header", "If-Match"), message=_("send the label's current ETag"))],
        )


def label_etag(last_event_id: int) -> str:
    """The ETag of a label: which move it is at, so a move away and back still changes it."""
    return f'"move-{last_event_id}"'


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
        self._items: OrderedDict[tuple[int, int, int, str], ServedVersion] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int, int, str]) -> ServedVersion | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[int, int, int, str], version: ServedVersion) -> None:
        with self._lock:
            self._items[key] = version
            while len(self._items) > self._size:
                self._items.popitem(last=False)

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
# pointer (see ``registry.prompts.answers``).
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
) -> Resolution:
    """The template, variables, config and components a label or version serves in a locale.

    ``locales`` are canonical, in preference order; each is tried through its CLDR
    fallback chain before the prompt's source locale is served. Every component must lie
    in the folders ``principal`` may read (None: no limit). Version content comes
    from the process's cache (it never changes); label pointers and translations are
    read from the store every time, so every replica serves the same answer.
    """
    if label is not None and version is not None:
        raise InvalidInput(
            _("give a label or a version, not both"),
            [ErrorItem(loc=("query", "label"), message=_("remove label or version"))],
        )
    if version is None and label is None:
        label = PRODUCTION
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


def render(
    session: Session,
    name: str,
    data: RenderRequest,
    *,
    locales: Sequence[str] = (),
    depth_limit: int = 10,
    principal: Principal | None = None,
) -> Rendered:
    """Resolve, then render with the caller's values in the served locale."""
    return render_resolution(
        resolve_to_render(
            session, name, data, locales=locales, depth_limit=depth_limit, principal=principal
        ),
        data.variables,
    )


def resolve_to_render(
    session: Session,
    name: str,
    data: RenderRequest,
    *,
    locales: Sequence[str] = (),
    depth_limit: int = 10,
    principal: Principal | None = None,
) -> Resolution:
    """What a render request renders: its resolve."""
    return resolve(
        session,
        name,
        label=data.label,
        version=data.version,
        locales=locales,
        allow_stale=data.allow_stale,
        preview=data.preview,
        depth_limit=depth_limit,
        subject=data.subject,
        principal=principal,
    )


def render_resolution(resolution: Resolution, variables: Mapping[str, Any]) -> Rendered:
    """A resolved prompt rendered with the caller's values in the served locale.

    Numbers and dates are written for the locale asked for when the text served is in
    its language (``de_CH`` served ``de``), else for the served one (see format_locale).

    No I/O: an answer kept by ``registry.prompts.answers`` is rendered with it too.
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


def prompt_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(models.Prompt)) or 0
