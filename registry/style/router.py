"""HTTP routes for style guides, folder bindings, and linting without publishing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from registry.dependencies import AdminAccess, ReadAccess, ReadSession, WriteSession
from registry.inputs import MAX_INTEGER
from registry.routing import KeyCheckingRoute
from registry.style import service
from registry.style.schemas import (
    GUIDE_NAME_PATTERN,
    Binding,
    BindingSet,
    Guide,
    GuidePublish,
    GuideVersion,
    LintRequest,
    LintResult,
)

router = APIRouter(tags=["style"], route_class=KeyCheckingRoute)

GuideName = Annotated[str, Path(pattern=GUIDE_NAME_PATTERN, max_length=100)]
Folder = Annotated[
    str,
    Path(
        max_length=255,
        pattern=r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$|^-$",
        description="A prompt folder such as `support`, or `-` for every prompt.",
    ),
]


@router.post("/v1/lint")
def lint(body: LintRequest, session: ReadSession, principal: ReadAccess) -> LintResult:
    """Check a template or chat messages against a style guide; nothing is stored."""
    if body.prompt is not None:
        # The guide a prompt's folder selects is the folder's business.
        principal.require_scope(body.prompt)
    return service.lint_request(session, body)


@router.get("/v1/style-guides")
def list_guides(session: ReadSession, _: ReadAccess) -> list[Guide]:
    """Style guides stored in the registry (`default` ships with it and is not listed)."""
    return service.list_guides(session)


# The path parameter is ``guide``, not ``name``: ``requires`` checks a ``name`` against
# the key's folder, as the name of a prompt.
@router.put("/v1/style-guides/{guide}")
def publish_guide(
    guide: GuideName, body: GuidePublish, session: WriteSession, principal: AdminAccess
) -> GuideVersion:
    """Publish a new version of a guide (YAML); versions are immutable."""
    return service.publish_guide(session, guide, body, author=principal.owner)


@router.get("/v1/style-guides/{guide}")
def get_guide(
    guide: GuideName,
    session: ReadSession,
    _: ReadAccess,
    version: Annotated[
        int | None, Query(gt=0, le=MAX_INTEGER, description="Default: the newest.")
    ] = None,
) -> GuideVersion:
    """A guide's text, newest version or the one asked for."""
    return service.get_guide_version(session, guide, version)


@router.get("/v1/style-bindings")
def list_bindings(session: ReadSession, principal: ReadAccess) -> list[Binding]:
    """Which folders use which guide; the longest matching folder wins.

    A folder-limited key sees the bindings that apply to its prompts.
    """
    # A binding's folder is stored without its closing "/" ("" for every prompt).
    return [
        b
        for b in service.list_bindings(session)
        if principal.may_see_path(b.folder and b.folder + "/")
    ]


@router.put("/v1/style-bindings/{folder:path}")
def set_binding(
    folder: Folder, body: BindingSet, session: WriteSession, principal: AdminAccess
) -> Binding:
    """Make the prompts of a folder (`-` for all) use a guide."""
    return service.set_binding(
        session, "" if folder == "-" else folder, body.guide, actor=principal.owner
    )


@router.delete("/v1/style-bindings/{folder:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_binding(folder: Folder, session: WriteSession, _: AdminAccess) -> Response:
    """Stop a folder choosing a guide; it falls back to its parent's, then `default`."""
    service.delete_binding(session, "" if folder == "-" else folder)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
