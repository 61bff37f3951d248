"""A prompt's page: labels, versions newest first, style reports, includes both ways;
and moving its labels.

Everything shown comes from the prompts domain (``registry.prompts``); a move goes through the same
checks as ``PUT /v1/prompts/{name}/-/labels/{label}`` (the role, the key's folders, the
service's label policy check for protected labels and four eyes, the label's ETag so a
move made meanwhile is not overwritten).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, Response
from sqlalchemy.orm import Session

from registry.access import policies
from registry.access.roles import Permission, Principal
from registry.console.auth import ViewerDep
from registry.console.views import PREFIX, ConsoleRoute, is_htmx, redirect, render
from registry.dependencies import ReadSession, SettingsDep, WriteSession
from registry.errors import ErrorItem, InvalidInput
from registry.inputs import MAX_INTEGER
from registry.locales.messages import _
from registry.prompts.includes import included_by_newest
from registry.prompts.labels import get_label, list_labels, set_label
from registry.prompts.prompts import get_prompt, read_prompt
from registry.prompts.schemas import LABEL_NAME_PATTERN, PROMPT_NAME_PATTERN, LabelSet, Version
from registry.prompts.versions import list_versions
from registry.templating import parse_ref

router = APIRouter(route_class=ConsoleRoute)

VERSIONS_PER_PAGE = 10
MAX_INCLUDERS = 50

PromptName = Annotated[str, Path(pattern=PROMPT_NAME_PATTERN, max_length=255)]
LabelName = Annotated[str, Path(pattern=LABEL_NAME_PATTERN, max_length=64)]


def readable_prompt(principal: Principal, name: str, *, change: bool = False) -> None:
    """Refuse (403) a prompt outside the viewer's folders, as the API does."""
    principal.require_scope(name, change=change)


def included_by(session: Session, name: str, principal: Principal) -> list[tuple[str, int]]:
    """The prompts whose newest version includes ``name`` (by label, version or bare name),
    among those the viewer may read: (prompt, version)."""
    return included_by_newest(session, name, folders=principal.readable, limit=MAX_INCLUDERS)


def includes_of(version: Version | None, principal: Principal) -> list[dict[str, Any]]:
    """What a version includes, each with the prompt's page when the viewer may read it."""
    if version is None:
        return []
    found = []
    for ref in version.includes:
        try:
            target = parse_ref(ref)
        except ValueError:
            found.append({"ref": ref, "name": None})
            continue
        visible = principal.may_read(target.name)
        found.append({"ref": ref, "name": target.name if visible else None})
    return found


def label_moves(viewer_principal: Principal, policy: policies.Policy, name: str) -> dict[str, Any]:
    """What the viewer may do with this prompt's labels, to show only usable controls."""
    may_publish = viewer_principal.can(Permission.PUBLISH) and viewer_principal.may_change(name)
    return {
        "may_move": may_publish,
        "may_move_protected": may_publish and viewer_principal.can(Permission.REVIEW),
        "protected": sorted(policy.protected),
        "four_eyes": policy.four_eyes,
    }


@router.get("/prompts/{name:path}/-/labels/{label}")
def label_page(
    request: Request, name: PromptName, label: LabelName, viewer: ViewerDep, session: ReadSession
) -> Response:
    """One label's history, with a form to move it for keys that may."""
    readable_prompt(viewer.principal, name)
    prompt = read_prompt(session, name)
    found = get_label(session, name, label)
    policy = policies.policy_for(session, name)
    context = {
        "prompt": prompt,
        "label": found,
        "moves": label_moves(viewer.principal, policy, name),
        "error": None,
    }
    return render(request, "prompts/label.html", context)


@router.post("/prompts/{name:path}/-/labels")
def move_label(
    request: Request,
    name: PromptName,
    label: Annotated[str, Form(pattern=LABEL_NAME_PATTERN, max_length=64)],
    viewer: ViewerDep,
    session: WriteSession,
    settings: SettingsDep,
    version: Annotated[int, Form(gt=0, le=MAX_INTEGER)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    etag: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Point a label at a version: the checks of the API's label move, then the move."""
    principal = viewer.principal
    principal.require(Permission.PUBLISH)
    readable_prompt(principal, name, change=True)
    policy = policies.policy_for(session, name)
    if label in policy.protected and not reason.strip():
        raise InvalidInput(
            _("say why the protected label {label} moves").format(label=repr(label)),
            [ErrorItem(loc=("form", "reason"), message=_("a reason is required"))],
        )
    set_label(
        session,
        name,
        label,
        LabelSet(version=version, reason=reason.strip()),
        actor=principal.owner,
        depth_limit=settings.include_depth_limit,
        if_match=[etag] if etag else None,
        principal=principal,
    )
    return redirect(f"{PREFIX}/prompts/{name}#labels", request)


@router.get("/prompts/{name:path}/-/included-by")
def included_by_fragment(
    request: Request, name: PromptName, viewer: ViewerDep, session: ReadSession
) -> Response:
    """Which prompts include this one (from the include links, see
    ``registry.prompts.includes``): loaded after the page, so the page never waits for it."""
    readable_prompt(viewer.principal, name)
    get_prompt(session, name)  # the usual 404 for a prompt that is not there
    found = included_by(session, name, viewer.principal)
    template = "prompts/_included_by.html" if is_htmx(request) else "prompts/included_by.html"
    return render(request, template, {"included_by": found, "name": name})


def _notice(published: int | None, unchanged: int | None, experiment: int | None) -> str | None:
    if published:
        return _("Version {number} is published.").format(number=published)
    if unchanged:
        return _("Nothing changed: version {number} already holds this content.").format(
            number=unchanged
        )
    if experiment:
        return _("The experiment has started (id {id}).").format(id=experiment)
    return None


@router.get("/prompts/{name:path}")
def prompt_page(
    request: Request,
    name: PromptName,
    viewer: ViewerDep,
    session: ReadSession,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    published: Annotated[int | None, Query(gt=0, le=MAX_INTEGER)] = None,
    unchanged: Annotated[int | None, Query(gt=0, le=MAX_INTEGER)] = None,
    experiment: Annotated[int | None, Query(gt=0, le=MAX_INTEGER)] = None,
) -> Response:
    """A prompt: its labels, its versions newest first, and its includes both ways.

    ``published``, ``unchanged`` and ``experiment`` say what the form before did.
    """
    principal = viewer.principal
    readable_prompt(principal, name)
    prompt = read_prompt(session, name)
    labels = list_labels(session, name)
    versions = list_versions(session, name, cursor=cursor or None, limit=VERSIONS_PER_PAGE)
    newest = versions.items[0] if versions.items and not cursor else None
    policy = policies.policy_for(session, name)
    by_version: dict[int, list[str]] = {}
    for found in labels:
        by_version.setdefault(found.version, []).append(found.name)
    context = {
        "prompt": prompt,
        "labels": labels,
        "labels_by_version": by_version,
        "versions": versions,
        "first_page": not cursor,
        "includes": includes_of(newest, principal),
        "moves": label_moves(principal, policy, name),
        "may_publish": principal.can(Permission.PUBLISH) and principal.may_change(name),
        "notice": _notice(published, unchanged, experiment),
    }
    return render(request, "prompts/prompt.html", context)
