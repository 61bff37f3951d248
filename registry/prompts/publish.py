"""Publishing a version: its checks (template, includes, variables, style guide), its
rows, its labels and its events. Never commits; the caller's unit of work does (see
``registry.db``)."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from registry.access import audit, policies
from registry.access.roles import Principal
from registry.db import utcnow
from registry.errors import (
    Conflict,
    ErrorItem,
    InvalidInput,
    InvalidTemplate,
    NotFound,
    summarize,
)
from registry.locales.messages import _
from registry.prompts import models, repository
from registry.prompts.includes import write_links
from registry.prompts.labels import set_label
from registry.prompts.prompts import get_prompt
from registry.prompts.schemas import Kind, LabelSet, StyleReport, Version, VersionCreate
from registry.prompts.service import resolve_components
from registry.prompts.versions import (
    version_by_number,
    version_schema,
    version_schema_of,
    with_style,
)
from registry.style import service as style
from registry.templating import analyze
from registry.templating.arguments import argument_errors
from registry.translations.revisions import carry_forward


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
            repository.NEWEST, {"prompt_id": prompt.id, "number": prompt.latest_version}
        ).first()
        if newest is None or newest.content_hash == digest:
            # The read model of the same version (or the usual 404 were it missing).
            same = version_by_number(session, prompt, prompt.latest_version)
            _apply_labels(session, name, same.number, data, author, depth_limit, principal)
            return with_style(session, version_schema(same), same.id), False
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
    version = session.execute(
        repository.INSERT_VERSION,
        {
            "prompt_id": prompt.id,
            "number": number,
            "template": data.template,
            "messages": messages,
            "variables": [v.model_dump(mode="json") for v in data.variables],
            "model_config": data.config.model_dump(mode="json", exclude_none=True),
            "includes": includes,
            "message": data.message,
            "author": author,
            "content_hash": digest,
            "created_at": now,
        },
    ).one()
    write_links(session, [(version.id, prompt.id, includes)])
    session.execute(repository.SET_LATEST, {"prompt": prompt.id, "latest": number, "at": now})
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
    return version_schema_of(prompt.name, kind, version, style=report), True


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
