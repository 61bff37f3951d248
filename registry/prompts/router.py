"""HTTP routes for prompts, versions, labels, resolve and render.

Sub-resources of a prompt live under ``/-/`` because a prompt name is a slash path:
``/v1/prompts/support/greeting/-/versions``. A name segment never starts with ``-``, so
the split is unambiguous.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from registry.dependencies import (
    PublishAccess,
    ReadAccess,
    SessionDep,
    SettingsDep,
)
from registry.experiments.exposures import ExposuresDep
from registry.inputs import MAX_INTEGER, NulFreeStr
from registry.locales.requests import requested_locales_from
from registry.prompts import answers, service
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
from registry.routing import KeyCheckingRoute

router = APIRouter(prefix="/v1/prompts", tags=["prompts"], route_class=KeyCheckingRoute)

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
    session: SessionDep,
    settings: SettingsDep,
    principal: PublishAccess,
) -> Version:
    """Publish a version (201); content equal to the newest version returns it (200).

    Protected labels in `labels` need a reviewer's key, and under four eyes cannot be
    moved by the version's own author.
    """
    version, created = service.publish_version(
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
    name: PromptName, number: VersionNumber, session: SessionDep, _: ReadAccess
) -> Version:
    """One published version."""
    return service.get_version(session, name, number)


@router.get("/{name:path}/-/versions")
def list_versions(
    name: PromptName,
    session: SessionDep,
    _: ReadAccess,
    cursor: str | None = None,
    limit: Limit = 50,
) -> VersionPage:
    """Versions of a prompt, newest first."""
    return service.list_versions(session, name, cursor=cursor, limit=limit)


@router.get("/{name:path}/-/diff")
def diff_versions(
    name: PromptName,
    session: SessionDep,
    _: ReadAccess,
    from_version: Annotated[int, Query(alias="from", gt=0, le=MAX_INTEGER)],
    to_version: Annotated[int, Query(alias="to", gt=0, le=MAX_INTEGER)],
) -> Diff:
    """Unified diff of content, and structured changes of variables and config."""
    return service.diff(session, name, from_version, to_version)


@router.get("/{name:path}/-/labels/{label}")
def get_label(
    name: PromptName, label: LabelName, session: SessionDep, response: Response, _: ReadAccess
) -> Label:
    """One label, with the history of its moves; its ETag serves `If-Match` on a move."""
    found = service.get_label(session, name, label)
    response.headers["ETag"] = found.etag
    return found


@router.put("/{name:path}/-/labels/{label}")
def set_label(
    name: PromptName,
    label: LabelName,
    body: LabelSet,
    session: SessionDep,
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
    moved = service.set_label(
        session,
        name,
        label,
        body,
        actor=principal.owner,
        depth_limit=settings.include_depth_limit,
        if_match=None if if_match is None else sorted(answers.etags_of(if_match)),
        principal=principal,
    )
    response.headers["ETag"] = moved.etag
    return moved


@router.get("/{name:path}/-/labels")
def list_labels(name: PromptName, session: SessionDep, _: ReadAccess) -> list[Label]:
    """Every label of a prompt, with the history of its moves."""
    return service.list_labels(session, name)


AcceptLanguage = Annotated[
    str | None,
    Header(
        max_length=1000,
        description="Locales wanted, with q-values; used when `locale` is not given.",
    ),
]


@router.get(
    "/{name:path}/-/resolve",
    response_model=Resolved,
    responses={304: {"description": "The caller's copy (If-None-Match) is current."}},
)
def resolve(
    name: PromptName,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: ReadAccess,
    exposures: ExposuresDep,
    label: Annotated[str | None, Query(pattern=LABEL_NAME_PATTERN, max_length=64)] = None,
    version: Annotated[int | None, Query(gt=0, le=MAX_INTEGER)] = None,
    locale: Annotated[
        str | None, Query(max_length=64, description="BCP 47 or POSIX; else Accept-Language.")
    ] = None,
    allow_stale: Annotated[bool, Query(description="Serve stale translations too.")] = False,
    preview: Annotated[bool, Query(description="Serve draft and in-review text too.")] = False,
    accept_language: AcceptLanguage = None,
    subject: Annotated[
        NulFreeStr | None,
        Query(
            min_length=1,
            max_length=255,
            description="A user or session id: an experiment on the label serves it one arm.",
        ),
    ] = None,
) -> Any:
    """Template or messages, variables, config and components of a label or version."""
    resolution = service.resolve(
        session,
        name,
        label=label,
        version=version,
        locales=requested_locales_from(locale, accept_language),
        allow_stale=allow_stale,
        preview=preview,
        depth_limit=settings.include_depth_limit,
        subject=subject,
        principal=principal,
    )
    resolved = resolution.resolved
    if resolved.experiment is not None:
        # Each serving to a subject is an exposure with its own resolve id.
        exposures.served(resolved.experiment)
    headers = answers.resolve_headers(resolution)
    answers.offer(request, resolution, headers)
    if resolved.experiment is None and resolved.etag in answers.etags_of(
        request.headers.get("if-none-match")
    ):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return answers.resolved_response(resolution, headers)


@router.post("/{name:path}/-/render", response_model=Rendered)
def render(
    name: PromptName,
    body: RenderRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: ReadAccess,
    exposures: ExposuresDep,
    accept_language: AcceptLanguage = None,
) -> Any:
    """Resolve and render with variable values: final text, or chat messages."""
    resolution = service.resolve_to_render(
        session,
        name,
        body,
        locales=answers.render_locales(body, accept_language),
        depth_limit=settings.include_depth_limit,
        principal=principal,
    )
    rendered = service.render_resolution(resolution, body.variables)
    exposures.served(rendered.experiment)
    answers.offer_resolution(request, resolution)
    return answers.rendered_response(rendered)


@router.post("/{name:path}/-/archive")
def archive(name: PromptName, session: SessionDep, _: PublishAccess) -> Prompt:
    """Archive a prompt: kept forever, resolvable only by pinned version."""
    return service.set_archived(session, name, archived=True)


@router.post("/{name:path}/-/restore")
def restore(name: PromptName, session: SessionDep, _: PublishAccess) -> Prompt:
    """Undo an archive."""
    return service.set_archived(session, name, archived=False)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_prompt(
    body: PromptCreate, response: Response, session: SessionDep, principal: PublishAccess
) -> Prompt:
    """Create a prompt; publish versions to it next."""
    principal.require_scope(body.name, change=True)
    prompt = service.create_prompt(session, body)
    response.headers["Location"] = f"/v1/prompts/{prompt.name}"
    return prompt


@router.get("")
def list_prompts(
    session: SessionDep,
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
    return service.list_prompts(
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
def get_prompt(name: PromptName, session: SessionDep, _: ReadAccess) -> Prompt:
    """One prompt and where its labels point."""
    return service.read_prompt(session, name)


@router.patch("/{name:path}")
def update_prompt(
    name: PromptName, body: PromptUpdate, session: SessionDep, _: PublishAccess
) -> Prompt:
    """Change the description or tags."""
    return service.update_prompt(session, name, body)
