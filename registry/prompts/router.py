"""HTTP routes for prompts, versions, labels, resolve and render.

Sub-resources of a prompt live under ``/-/`` because a prompt name is a slash path:
``/v1/prompts/support/greeting/-/versions``. A name segment never starts with ``-``, so
the split is unambiguous.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Header, Path, Query, Request, Response, status
from pydantic import Field
from sqlalchemy.orm import Session

from registry.access.roles import Principal
from registry.dependencies import (
    SERVING_SECURITY,
    PublishAccess,
    ReadAccess,
    ReadSession,
    Serving,
    ServingRead,
    SettingsDep,
    WriteSession,
)
from registry.experiments.exposures import Exposures
from registry.experiments.plan import ServedExperiment
from registry.inputs import MAX_INTEGER, NulFreeStr
from registry.locales.requests import parse_locale, requested_locales_from
from registry.locales.tags import to_bcp47
from registry.prompts import labels, prompts, publish, service, versions
from registry.prompts.kept import KeptResolutions, ResolveQuery
from registry.prompts.schemas import (
    LABEL_NAME_PATTERN,
    PROMPT_NAME_PATTERN,
    Diff,
    Label,
    LabelSet,
    Prompt,
    PromptCreate,
    PromptPage,
    PromptUpdate,
    Rendered,
    RenderRequest,
    Resolved,
    Version,
    VersionCreate,
    VersionPage,
)
from registry.routing import KeyCheckingRoute, Parameters
from registry.workers import run_cpu_bound

router = APIRouter(prefix="/v1/prompts", tags=["prompts"], route_class=KeyCheckingRoute)
# Resolve and render, the routes applications call on every use of a prompt: included
# first, so a request finds its route among two instead of after every other.
serving_router = APIRouter(prefix="/v1/prompts", tags=["prompts"], route_class=KeyCheckingRoute)

PromptName = Annotated[
    str,
    Path(
        pattern=PROMPT_NAME_PATTERN,
        max_length=255,
        description="Slash path of lowercase segments, e.g. `support/greeting`.",
    ),
]
LabelName = Annotated[str, Path(pattern=LABEL_NAME_PATTERN, max_length=64)]
VersionNumber = Annotated[int, Path(gt=0, le=MAX_INTEGER)]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]


@router.post("/{name:path}/-/versions", status_code=status.HTTP_201_CREATED)
def publish_version(
    name: PromptName,
    body: VersionCreate,
    response: Response,
    session: WriteSession,
    settings: SettingsDep,
    principal: PublishAccess,
) -> Version:
    """Publish a version (201); content equal to the newest version returns it (200).

    Protected labels in `labels` need a reviewer's key, and under four eyes cannot be
    moved by the version's own author.
    """
    version, created = publish.publish_version(
        session,
        name,
        body,
        author=principal.owner,
        depth_limit=settings.include_depth_limit,
        principal=principal,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/prompts/{name}/-/versions/{version.number}"
    return version


@router.get("/{name:path}/-/versions/{number}")
def get_version(
    name: PromptName, number: VersionNumber, session: ReadSession, _: ReadAccess
) -> Version:
    """One published version."""
    return versions.get_version(session, name, number)


@router.get("/{name:path}/-/versions")
def list_versions(
    name: PromptName,
    session: ReadSession,
    _: ReadAccess,
    cursor: str | None = None,
    limit: Limit = 50,
) -> VersionPage:
    """Versions of a prompt, newest first."""
    return versions.list_versions(session, name, cursor=cursor, limit=limit)


@router.get("/{name:path}/-/diff")
def diff_versions(
    name: PromptName,
    session: ReadSession,
    _: ReadAccess,
    from_version: Annotated[int, Query(alias="from", gt=0, le=MAX_INTEGER)],
    to_version: Annotated[int, Query(alias="to", gt=0, le=MAX_INTEGER)],
) -> Diff:
    """Unified diff of content, and structured changes of variables and config."""
    return versions.diff(session, name, from_version, to_version)


@router.get("/{name:path}/-/labels/{label}")
def get_label(
    name: PromptName, label: LabelName, session: ReadSession, response: Response, _: ReadAccess
) -> Label:
    """One label, with the history of its moves; its ETag serves `If-Match` on a move."""
    found = labels.get_label(session, name, label)
    response.headers["ETag"] = found.etag
    return found


@router.put("/{name:path}/-/labels/{label}")
def set_label(
    name: PromptName,
    label: LabelName,
    body: LabelSet,
    session: WriteSession,
    settings: SettingsDep,
    principal: PublishAccess,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(max_length=1000, description="The label's ETag as read; 412 if it moved since."),
    ] = None,
) -> Label:
    """Point a label at a version; rollback is moving it back.

    Protected labels (`production` unless a label policy says otherwise) move only with a
    reviewer's or admin's key.
    """
    moved = labels.set_label(
        session,
        name,
        label,
        body,
        actor=principal.owner,
        depth_limit=settings.include_depth_limit,
        if_match=None if if_match is None else sorted(etags_of(if_match)),
        principal=principal,
    )
    response.headers["ETag"] = moved.etag
    return moved


@router.get("/{name:path}/-/labels")
def list_labels(name: PromptName, session: ReadSession, _: ReadAccess) -> list[Label]:
    """Every label of a prompt, with the history of its moves."""
    return labels.list_labels(session, name)


def etags_of(header: str | None) -> set[str]:
    """The entity tags an ``If-None-Match`` or ``If-Match`` header lists, weak or strong alike."""
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


def resolve_headers(resolution: service.Resolution) -> dict[str, str]:
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


def _accept_language() -> Any:
    return Field(
        None,
        max_length=1000,
        title="Accept-Language",
        description="Locales wanted, with q-values; used when `locale` is not given.",
    )


class ResolveParameters(Parameters):
    """What a resolve asks for besides the prompt's name."""

    HEADERS = frozenset({"accept_language"})

    label: str | None = Field(None, pattern=LABEL_NAME_PATTERN, max_length=64)
    version: int | None = Field(None, gt=0, le=MAX_INTEGER)
    locale: str | None = Field(
        None, max_length=64, description="BCP 47 or POSIX; else Accept-Language."
    )
    allow_stale: bool = Field(False, description="Serve stale translations too.")
    preview: bool = Field(False, description="Serve draft and in-review text too.")
    subject: NulFreeStr | None = Field(
        None,
        min_length=1,
        max_length=255,
        description="A user or session id: an experiment on the label serves it one arm.",
    )
    accept_language: str | None = _accept_language()


@serving_router.get(
    "/{name:path}/-/resolve",
    response_model=Resolved,
    responses={304: {"description": "The caller's copy (If-None-Match) is current."}},
    openapi_extra={**SERVING_SECURITY, "parameters": ResolveParameters.openapi()},
)
async def resolve(name: PromptName, request: Request, serving: ServingRead) -> Any:
    """Template or messages, variables, config and components of a label or version."""
    asked = ResolveParameters.read(request)
    subject = asked.subject
    query = service.resolve_query(
        name,
        label=asked.label,
        version=asked.version,
        locales=requested_locales_from(asked.locale, asked.accept_language),
        allow_stale=asked.allow_stale,
        preview=asked.preview,
    )
    kept: KeptResolutions = request.app.state.kept_resolutions
    resolution = await serving.kept(
        partial(service.kept_resolution, query=query, kept=kept, subject=subject)
    )
    if resolution is None:
        resolution = await serving.run(
            partial(
                _resolve,
                query=query,
                subject=subject,
                depth_limit=serving.settings.include_depth_limit,
                kept=kept,
            )
        )
    resolved = resolution.resolved
    headers = resolve_headers(resolution)
    if resolved.experiment is not None:
        # Each serving to a subject is an exposure with its own resolve id.
        exposures = _exposures(serving, resolved.experiment)
        return Response(
            resolution.body, media_type="application/json", headers=headers, background=exposures
        )
    if resolved.etag in etags_of(request.headers.get("if-none-match")):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    # Serialized once by Pydantic (and kept with the resolution), not validated again.
    return Response(resolution.body, media_type="application/json", headers=headers)


def _exposures(serving: Serving, experiment: ServedExperiment | None) -> BackgroundTasks | None:
    """The recording of an arm served to a subject, to run after the response."""
    if experiment is None:
        return None
    tasks = BackgroundTasks()
    Exposures(tasks, serving.db.session).served(experiment)
    return tasks


def _resolve(
    session: Session,
    principal: Principal,
    *,
    query: ResolveQuery,
    subject: str | None,
    depth_limit: int,
    kept: KeptResolutions,
) -> service.Resolution:
    resolution = service.resolve_for(
        session, query, depth_limit=depth_limit, subject=subject, principal=principal, kept=kept
    )
    # Serialized here, in the worker thread, rather than on the event loop.
    _ = resolution.body
    return resolution


class RenderParameters(Parameters):
    """What a render asks for besides its body."""

    HEADERS = frozenset({"accept_language"})

    accept_language: str | None = _accept_language()


@serving_router.post(
    "/{name:path}/-/render",
    response_model=Rendered,
    openapi_extra={**SERVING_SECURITY, "parameters": RenderParameters.openapi()},
)
async def render(
    name: PromptName,
    body: RenderRequest,
    request: Request,
    serving: ServingRead,
) -> Any:
    """Resolve and render with variable values: final text, or chat messages."""
    accept_language = RenderParameters.read(request).accept_language
    if body.locale:
        locales = [parse_locale(body.locale, ("body", "locale"))]
    else:
        locales = requested_locales_from(None, accept_language)
    query = service.resolve_query(
        name,
        label=body.label,
        version=body.version,
        locales=locales,
        allow_stale=body.allow_stale,
        preview=body.preview,
    )
    kept: KeptResolutions = request.app.state.kept_resolutions
    resolution = await serving.kept(
        partial(
            service.kept_resolution, query=query, kept=kept, subject=body.subject, kind="render"
        )
    )
    if resolution is not None:
        rendered = await run_cpu_bound(service.render_resolution, resolution, body.variables)
    else:
        rendered = await serving.run(
            partial(
                _render,
                query=query,
                body=body,
                depth_limit=serving.settings.include_depth_limit,
                kept=kept,
            ),
            cpu_bound=True,
        )
    return Response(
        rendered.model_dump_json(),
        media_type="application/json",
        headers={"Content-Language": to_bcp47(rendered.locale), "Vary": "Accept-Language"},
        background=_exposures(serving, rendered.experiment),
    )


def _render(
    session: Session,
    principal: Principal,
    *,
    query: ResolveQuery,
    body: RenderRequest,
    depth_limit: int,
    kept: KeptResolutions,
) -> Rendered:
    resolution = service.resolve_for(
        session,
        query,
        depth_limit=depth_limit,
        subject=body.subject,
        principal=principal,
        kept=kept,
        kind="render",
    )
    return service.render_resolution(resolution, body.variables)


@router.post("/{name:path}/-/archive")
def archive(name: PromptName, session: WriteSession, _: PublishAccess) -> Prompt:
    """Archive a prompt: kept forever, resolvable only by pinned version."""
    return prompts.set_archived(session, name, archived=True)


@router.post("/{name:path}/-/restore")
def restore(name: PromptName, session: WriteSession, _: PublishAccess) -> Prompt:
    """Undo an archive."""
    return prompts.set_archived(session, name, archived=False)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_prompt(
    body: PromptCreate, response: Response, session: WriteSession, principal: PublishAccess
) -> Prompt:
    """Create a prompt; publish versions to it next."""
    principal.require_scope(body.name, change=True)
    prompt = prompts.create_prompt(session, body)
    response.headers["Location"] = f"/v1/prompts/{prompt.name}"
    return prompt


@router.get("")
def list_prompts(
    session: ReadSession,
    principal: ReadAccess,
    prefix: Annotated[
        NulFreeStr | None, Query(max_length=255, description="Folder, e.g. `support/`.")
    ] = None,
    tag: Annotated[NulFreeStr | None, Query(max_length=64)] = None,
    q: Annotated[
        NulFreeStr | None, Query(max_length=200, description="Text in name or description.")
    ] = None,
    include_archived: bool = False,
    cursor: str | None = None,
    limit: Limit = 50,
) -> PromptPage:
    """Prompts by name, filtered by folder, tag or text."""
    return prompts.list_prompts(
        session,
        prefix=prefix,
        tag=tag,
        q=q,
        include_archived=include_archived,
        cursor=cursor,
        limit=limit,
        within=principal.readable,
    )


@router.get("/{name:path}")
def get_prompt(name: PromptName, session: ReadSession, _: ReadAccess) -> Prompt:
    """One prompt and where its labels point."""
    return prompts.read_prompt(session, name)


@router.patch("/{name:path}")
def update_prompt(
    name: PromptName, body: PromptUpdate, session: WriteSession, _: PublishAccess
) -> Prompt:
    """Change the description or tags."""
    return prompts.update_prompt(session, name, body)
