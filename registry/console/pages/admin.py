"""Admins at work: API keys, label policies, style guides and their folders, the audit trail.

Every page and form here needs the admin role, checked as the API checks it
(``Principal.require(Permission.ADMIN)``: a lesser key gets the API's refusal, as a
page), and goes through the services behind the API's routes: ``registry.access.keys``
(``/v1/keys``), ``registry.access.policies`` (``/v1/label-policies``),
``registry.style.service`` (``/v1/style-guides``, ``/v1/style-bindings``) and
``registry.access.audit.list_events`` (``/v1/audit``). A form the service refuses comes
back with the values typed and the service's message; nothing is written.

A new key's token is on the answer to the form that created it and nowhere else: the
registry keeps only its hash, so no later page can show it again.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from registry.access import audit, keys, policies
from registry.access.roles import Permission, Role
from registry.access.schemas import FOLDER_PATTERN, KeyCreate, LabelPolicySet
from registry.console.auth import Viewer, ViewerDep
from registry.console.views import PREFIX, ConsoleRoute, add_nav, redirect, render
from registry.dependencies import ReadSession, SessionDep, WriteSession
from registry.errors import ErrorItem, InvalidInput, RegistryError
from registry.locales.messages import N_, _
from registry.style import service as style
from registry.style.schemas import GUIDE_NAME_PATTERN
from registry.style.service import DEFAULT as DEFAULT_GUIDE

router = APIRouter(route_class=ConsoleRoute)
add_nav("/admin", N_("Administration"), "admin", last=True)

ADMIN = f"{PREFIX}/admin"
AUDIT_PAGE_SIZE = 50
# The actions the registry records, offered as suggestions in the audit trail's filter.
AUDIT_ACTIONS = (
    "experiment.create",
    "experiment.promote",
    "experiment.stop",
    "experiment.update",
    "key.create",
    "key.revoke",
    "label.move",
    "label_policy.delete",
    "label_policy.set",
    "prompt.archive",
    "prompt.create",
    "prompt.restore",
    "prompt.update",
    "registry.import",
    "style_binding.delete",
    "style_binding.set",
    "style_guide.publish",
    "translation.approve",
    "translation.import",
    "translation.reject",
    "translation.submit",
    "translation.withdraw",
    "version.publish",
    "webhook.create",
    "webhook.delete",
    "webhook.redeliver",
    "webhook.update",
)
# A binding's folder as the API's path takes it: a folder without its closing "/".
BINDING_FOLDER = r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*/?$"
# The words of a list typed in one field: "support/, shared/" or one per line.
_LIST_SEPARATORS = re.compile(r"[\s,]+")

KeyIdent = Annotated[str, Path(max_length=64, pattern=r"^[0-9]+$|^rk_[a-z0-9]+$")]
GuideName = Annotated[str, Path(pattern=GUIDE_NAME_PATTERN, max_length=100)]
ShortText = Annotated[str | None, Query(max_length=255)]


async def posted_form(request: Request) -> FormData:
    """The posted form, parsed on the event loop (Starlette keeps it for the request)."""
    return await request.form()


Form = Annotated[FormData, Depends(posted_form)]


def admin(viewer: Viewer) -> str:
    """Refuse (403, the API's message) a key without the admin role; the admin's name."""
    viewer.principal.require(Permission.ADMIN)
    return viewer.principal.owner


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _words(text: str) -> list[str]:
    return [word for word in _LIST_SEPARATORS.split(text) if word]


def _invalid(summary: str, exc: ValidationError, labels: dict[str, str]) -> InvalidInput:
    """A model's validation errors as the API words them, each named by its field's label."""
    from registry.app import _validation_message  # the API's wording; app imports the console

    items = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        field = str(loc[0]) if loc else ""
        message = _validation_message(err)
        items.append(
            ErrorItem(loc=("form", *loc), message=f"{labels.get(field, field)}: {message}")
        )
    return InvalidInput(summary, items)


def _notice(**done: str | None) -> str | None:
    """What the form before did, said on the page it led to."""
    if done.get("revoked"):
        return _("Key {prefix} is revoked: it is refused from now on.").format(
            prefix=done["revoked"]
        )
    if done.get("policy_set") is not None:
        return _("The label policy of {path} is saved.").format(path=_path_name(done["policy_set"]))
    if done.get("policy_deleted") is not None:
        return _("The label policy of {path} is removed.").format(
            path=_path_name(done["policy_deleted"])
        )
    if done.get("bound") is not None:
        return _("Prompts under {folder} now follow their new guide.").format(
            folder=_folder_name(done["bound"])
        )
    if done.get("unbound") is not None:
        return _("{folder} no longer chooses a guide of its own.").format(
            folder=_folder_name(done["unbound"])
        )
    return None


def _path_name(path: str | None) -> str:
    return path or _("every prompt")


def _folder_name(folder: str | None) -> str:
    return folder + "/" if folder else _("every prompt")


@router.get("/admin")
def admin_home(request: Request, viewer: ViewerDep) -> Response:
    """Administration opens on the keys."""
    admin(viewer)
    return redirect(f"{ADMIN}/keys", request)


# ---------------------------------------------------------------- keys


KEY_FIELDS = {
    "owner": N_("Owner"),
    "role": N_("Role"),
    "description": N_("Description"),
    "folders": N_("Folders"),
    "folder": N_("Folders"),
    "read_folders": N_("Folders it may also read"),
    "locales": N_("Locales"),
    "expires_at": N_("Refused from"),
}


def _keys_context(
    session: SessionDep, revoked: bool, values: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "keys": keys.list_keys(session, include_revoked=revoked),
        "show_revoked": revoked,
        "roles": [role.value for role in Role],
        "values": values or {"role": Role.READER.value},
        "error": None,
        "notice": None,
        "tab": "keys",
    }


@router.get("/admin/keys")
def keys_page(
    request: Request,
    viewer: ViewerDep,
    session: ReadSession,
    revoked: Annotated[bool, Query()] = False,
    done: Annotated[str | None, Query(alias="revoked_key", max_length=64)] = None,
) -> Response:
    """The keys (revoked ones on request), with the form that creates one."""
    admin(viewer)
    context = _keys_context(session, revoked)
    context["notice"] = _notice(revoked=done)
    return render(request, "admin/keys.html", context)


def _expiry(text: str) -> datetime | None:
    """The day a key stops working, at midnight UTC."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            _("the form is not complete or not valid"),
            [
                ErrorItem(
                    loc=("form", "expires_at"),
                    message=_("write a date as YYYY-MM-DD, e.g. 2027-01-31"),
                )
            ],
        ) from None
    return datetime.combine(day, time(), tzinfo=UTC)


@router.post("/admin/keys")
def create_key(request: Request, viewer: ViewerDep, session: WriteSession, form: Form) -> Response:
    """Create a key and show its token, this once."""
    owner = admin(viewer)
    values = {name: _text(form, name) for name in KEY_FIELDS}
    try:
        body: dict[str, Any] = {
            "owner": values["owner"],
            "role": values["role"],
            "description": values["description"],
            "folders": _words(values["folders"]) or None,
            "read_folders": _words(values["read_folders"]),
            "locales": _words(values["locales"]),
            "expires_at": _expiry(values["expires_at"]),
        }
        try:
            data = KeyCreate.model_validate(body)
        except ValidationError as exc:
            labels = {name: _(label) for name, label in KEY_FIELDS.items()}
            raise _invalid(_("the key is not complete or not valid"), exc, labels) from None
        with session.begin_nested():
            created = keys.create_key(session, data, created_by=owner)
    except RegistryError as exc:
        context = _keys_context(session, revoked=False, values=values)
        context["error"] = exc
        return render(request, "admin/keys.html", context, status_code=exc.status)
    return render(request, "admin/key_created.html", {"key": created, "tab": "keys"})


@router.get("/admin/keys/{key}")
def key_page(request: Request, key: KeyIdent, viewer: ViewerDep, session: ReadSession) -> Response:
    """One key: who it is for, what it may do, when it was last used. Never its token."""
    admin(viewer)
    found = keys.get_key(session, key)
    context = {"key": found, "own": found.id == viewer.principal.key_id, "tab": "keys"}
    return render(request, "admin/key.html", context)


@router.get("/admin/keys/{key}/revoke")
def revoke_key_page(
    request: Request, key: KeyIdent, viewer: ViewerDep, session: ReadSession
) -> Response:
    """Ask before revoking: nothing brings a revoked key back."""
    admin(viewer)
    found = keys.get_key(session, key)
    own = found.id == viewer.principal.key_id
    warning = _("Every program that uses this key is refused from the next request on.")
    if own:
        warning += " " + _("It is the key you are signed in with: you will be signed out.")
    context = {
        "tab": "keys",
        "title": _("Revoke key {prefix} ({owner})?").format(prefix=found.prefix, owner=found.owner),
        "warning": warning,
        "action": f"{ADMIN}/keys/{found.id}/revoke",
        "fields": {},
        "confirm": _("Revoke the key"),
        "back": f"{ADMIN}/keys/{found.id}",
    }
    return render(request, "admin/confirm.html", context)


@router.post("/admin/keys/{key}/revoke")
def revoke_key(
    request: Request, key: KeyIdent, viewer: ViewerDep, session: WriteSession
) -> Response:
    """Revoke a key, as ``DELETE /v1/keys/{key}``."""
    admin(viewer)
    revoked = keys.revoke_key(session, key)
    return redirect(f"{ADMIN}/keys?revoked_key={revoked.prefix}", request)


# ---------------------------------------------------------------- label policies


def _policy_path(text: str) -> str:
    """The path a policy applies to: "" (every prompt), a folder ending in "/", a prompt."""
    path = text.strip()
    if path in ("", "-", "*"):
        return ""
    if len(path) > 255 or not re.fullmatch(FOLDER_PATTERN, path):
        raise InvalidInput(
            _("the form is not complete or not valid"),
            [
                ErrorItem(
                    loc=("form", "path"),
                    message=_(
                        "write a folder ending in / (support/), a prompt's name, "
                        "or leave it empty for every prompt"
                    ),
                )
            ],
        )
    return path


def _policies_context(session: SessionDep, values: dict[str, str] | None) -> dict[str, Any]:
    return {
        "policies": policies.list_policies(session),
        "values": values,
        "error": None,
        "notice": None,
        "tab": "policies",
    }


@router.get("/admin/policies")
def policies_page(
    request: Request,
    viewer: ViewerDep,
    session: ReadSession,
    edit: ShortText = None,
    saved: ShortText = None,
    deleted: ShortText = None,
) -> Response:
    """The label policies; ``edit`` fills the form with one of them."""
    admin(viewer)
    values = {"path": "", "protected": "production", "four_eyes": ""}
    if edit is not None:
        path = _policy_path(edit)
        policy = policies.get_policy(session, path, viewer.principal)
        values = {
            "path": path,
            "protected": " ".join(policy.protected),
            "four_eyes": "true" if policy.four_eyes else "",
        }
    context = _policies_context(session, values)
    context["editing"] = edit is not None
    context["notice"] = _notice(policy_set=saved, policy_deleted=deleted)
    return render(request, "admin/policies.html", context)


@router.post("/admin/policies")
def set_policy(request: Request, viewer: ViewerDep, session: WriteSession, form: Form) -> Response:
    """Protect labels of every prompt, a folder or a prompt, as ``PUT /v1/label-policies``."""
    admin(viewer)
    values = {name: _text(form, name) for name in ("path", "protected", "four_eyes")}
    try:
        path = _policy_path(values["path"])
        body = {"protected": _words(values["protected"]), "four_eyes": bool(values["four_eyes"])}
        try:
            data = LabelPolicySet.model_validate(body)
        except ValidationError as exc:
            labels = {"protected": _("Protected labels"), "four_eyes": _("Four eyes")}
            raise _invalid(_("the policy is not complete or not valid"), exc, labels) from None
        with session.begin_nested():
            policies.set_policy(session, path, data)
    except RegistryError as exc:
        context = _policies_context(session, values)
        context["editing"] = False
        context["error"] = exc
        return render(request, "admin/policies.html", context, status_code=exc.status)
    return redirect(f"{ADMIN}/policies?saved={path}", request)


@router.get("/admin/policies/delete")
def delete_policy_page(
    request: Request, viewer: ViewerDep, session: ReadSession, path: ShortText = ""
) -> Response:
    """Ask before removing a policy: the next shorter path's applies again."""
    admin(viewer)
    found = _policy_path(path or "")
    policy = policies.get_policy(session, found, viewer.principal)
    if not policy.stored:
        raise InvalidInput(_("the built-in policy cannot be removed; set one for every prompt"))
    context = {
        "tab": "policies",
        "title": _("Remove the label policy of {path}?").format(path=_path_name(found)),
        "warning": _("Its prompts then follow the policy of the next shorter path."),
        "action": f"{ADMIN}/policies/delete",
        "fields": {"path": found},
        "confirm": _("Remove the policy"),
        "back": f"{ADMIN}/policies",
    }
    return render(request, "admin/confirm.html", context)


@router.post("/admin/policies/delete")
def delete_policy(
    request: Request, viewer: ViewerDep, session: WriteSession, form: Form
) -> Response:
    """Remove a path's policy, as ``DELETE /v1/label-policies/{path}``."""
    admin(viewer)
    path = _policy_path(_text(form, "path"))
    policies.delete_policy(session, path)
    return redirect(f"{ADMIN}/policies?deleted={path}", request)


# ---------------------------------------------------------------- style guides


def _binding_folder(text: str) -> str:
    """A folder as bindings store it, without its closing "/"; "" for every prompt."""
    folder = text.strip()
    if folder in ("", "-", "*", "/"):
        return ""
    if len(folder) > 255 or not re.fullmatch(BINDING_FOLDER, folder):
        raise InvalidInput(
            _("the form is not complete or not valid"),
            [
                ErrorItem(
                    loc=("form", "folder"),
                    message=_(
                        "write a folder such as support/, or leave it empty for every prompt"
                    ),
                )
            ],
        )
    return folder.rstrip("/")


def _style_context(session: SessionDep, values: dict[str, str]) -> dict[str, Any]:
    guides = style.list_guides(session)
    return {
        "guides": guides,
        "guide_names": [DEFAULT_GUIDE, *(g.name for g in guides if g.name != DEFAULT_GUIDE)],
        "default_guide": DEFAULT_GUIDE,
        "bindings": style.list_bindings(session),
        "values": values,
        "error": None,
        "notice": None,
        "tab": "style",
    }


@router.get("/admin/style")
def style_page(
    request: Request,
    viewer: ViewerDep,
    session: ReadSession,
    guide: Annotated[str | None, Query(max_length=100)] = None,
    bound: ShortText = None,
    unbound: ShortText = None,
) -> Response:
    """The style guides, which folder uses which, and the form that binds one
    (``guide`` chosen in it)."""
    admin(viewer)
    context = _style_context(session, {"folder": "", "guide": guide or DEFAULT_GUIDE})
    context["notice"] = _notice(bound=bound, unbound=unbound)
    return render(request, "admin/style.html", context)


@router.get("/admin/style/guides/{guide}")
def guide_page(
    request: Request,
    guide: GuideName,
    viewer: ViewerDep,
    session: ReadSession,
    version: Annotated[int | None, Query(gt=0, le=2**31)] = None,
) -> Response:
    """A guide's text, its newest version or the one asked for."""
    admin(viewer)
    found = style.get_guide_version(session, guide, version)
    listed = {g.name: g for g in style.list_guides(session)}
    context = {
        "guide": found,
        "latest": listed[guide].latest_version if guide in listed else found.number,
        "folders": [b.folder for b in style.list_bindings(session) if b.guide == guide],
        "tab": "style",
    }
    return render(request, "admin/guide.html", context)


@router.post("/admin/style/bindings")
def set_binding(request: Request, viewer: ViewerDep, session: WriteSession, form: Form) -> Response:
    """Make a folder's prompts use a guide, as ``PUT /v1/style-bindings/{folder}``."""
    owner = admin(viewer)
    values = {"folder": _text(form, "folder"), "guide": _text(form, "guide")}
    try:
        folder = _binding_folder(values["folder"])
        guide = values["guide"]
        if not re.fullmatch(GUIDE_NAME_PATTERN, guide) or len(guide) > 100:
            raise InvalidInput(
                _("the form is not complete or not valid"),
                [ErrorItem(loc=("form", "guide"), message=_("choose one of the guides"))],
            )
        with session.begin_nested():
            style.set_binding(session, folder, guide, actor=owner)
    except RegistryError as exc:
        context = _style_context(session, values)
        context["error"] = exc
        return render(request, "admin/style.html", context, status_code=exc.status)
    return redirect(f"{ADMIN}/style?bound={folder}", request)


@router.get("/admin/style/bindings/delete")
def delete_binding_page(
    request: Request, viewer: ViewerDep, session: ReadSession, folder: ShortText = ""
) -> Response:
    """Ask before a folder stops choosing its guide."""
    admin(viewer)
    found = _binding_folder(folder or "")
    context = {
        "tab": "style",
        "title": _("Stop {folder} choosing a guide?").format(folder=_folder_name(found)),
        "warning": _("Its prompts then follow the guide of the parent folder, else the default."),
        "action": f"{ADMIN}/style/bindings/delete",
        "fields": {"folder": found},
        "confirm": _("Remove the binding"),
        "back": f"{ADMIN}/style",
    }
    return render(request, "admin/confirm.html", context)


@router.post("/admin/style/bindings/delete")
def delete_binding(
    request: Request, viewer: ViewerDep, session: WriteSession, form: Form
) -> Response:
    """Stop a folder choosing a guide, as ``DELETE /v1/style-bindings/{folder}``."""
    admin(viewer)
    folder = _binding_folder(_text(form, "folder"))
    style.delete_binding(session, folder)
    return redirect(f"{ADMIN}/style?unbound={folder}", request)


# ---------------------------------------------------------------- audit trail


def _day(text: str | None, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            _("the filter is not valid"),
            [
                ErrorItem(
                    loc=("query", field), message=_("write a date as YYYY-MM-DD, e.g. 2027-01-31")
                )
            ],
        ) from None


def _pretty(value: Any) -> str:
    """A before or after state as indented JSON, its text as written (not \\u escapes)."""
    return json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


@router.get("/admin/audit")
def audit_page(
    request: Request,
    viewer: ViewerDep,
    session: ReadSession,
    actor: ShortText = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    prompt: ShortText = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Every write, newest first, filtered as ``GET /v1/audit`` filters; a page at a time.

    Dates are whole days in UTC, both included.
    """
    admin(viewer)
    filters = {
        "actor": (actor or "").strip(),
        "action": (action or "").strip(),
        "prompt": (prompt or "").strip(),
        "since": (since or "").strip(),
        "until": (until or "").strip(),
    }
    first, last = _day(filters["since"], "since"), _day(filters["until"], "until")
    page = audit.list_events(
        session,
        actor=filters["actor"] or None,
        action=filters["action"] or None,
        prompt=filters["prompt"] or None,
        since=_midnight(first) if first else None,
        until=_midnight(last + timedelta(days=1)) if last else None,
        cursor=cursor or None,
        limit=AUDIT_PAGE_SIZE,
    )
    context = {
        "page": page,
        "filters": filters,
        "filtered": {k: v for k, v in filters.items() if v},
        "first_page": not cursor,
        "actions": AUDIT_ACTIONS,
        "pretty": _pretty,
        "tab": "audit",
    }
    return render(request, "admin/audit.html", context)
