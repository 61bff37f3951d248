"""HTTP routes for API keys, label policies and the audit trail (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import AwareDatetime

from registry.access import audit, keys, policies
from registry.access.schemas import (
    FOLDER_PATTERN,
    AuditPage,
    Key,
    KeyCreate,
    KeyCreated,
    LabelPolicy,
    LabelPolicySet,
)
from registry.dependencies import AdminAccess, ReadAccess, ReadSession, WriteSession
from registry.inputs import NulFreeStr
from registry.routing import KeyCheckingRoute

router = APIRouter(tags=["access"], route_class=KeyCheckingRoute)

KeyIdent = Annotated[
    str, Path(max_length=64, pattern=r"^[0-9]+$|^rk_[a-z0-9]+$", description="Id or prefix.")
]
PolicyPath = Annotated[
    str,
    Path(
        max_length=255,
        pattern=rf"{FOLDER_PATTERN}|^-$",
        description="`-` for every prompt, a folder ending in `/`, or a prompt's name.",
    ),
]


@router.post("/v1/keys", status_code=status.HTTP_201_CREATED)
def create_key(body: KeyCreate, session: WriteSession, principal: AdminAccess) -> KeyCreated:
    """Create a key; its token is in this answer only, never again."""
    return keys.create_key(session, body, created_by=principal.owner)


@router.get("/v1/keys")
def list_keys(
    session: ReadSession,
    _: AdminAccess,
    include_revoked: Annotated[bool, Query(description="List revoked keys too.")] = False,
) -> list[Key]:
    """Keys by id, without their secrets."""
    return keys.list_keys(session, include_revoked=include_revoked)


@router.get("/v1/keys/{key}")
def get_key(key: KeyIdent, session: ReadSession, _: AdminAccess) -> Key:
    """One key, by id or prefix."""
    return keys.get_key(session, key)


@router.delete("/v1/keys/{key}")
def revoke_key(key: KeyIdent, session: WriteSession, _: AdminAccess) -> Key:
    """Revoke a key: every server refuses it from the next request on."""
    return keys.revoke_key(session, key)


@router.get("/v1/label-policies")
def list_label_policies(session: ReadSession, principal: ReadAccess) -> list[LabelPolicy]:
    """Which labels are protected where; the longest matching path wins.

    A folder-limited key sees the policies that apply to its prompts.
    """
    return [p for p in policies.list_policies(session) if principal.may_see_path(p.path)]


@router.get("/v1/label-policies/{path:path}")
def get_label_policy(path: PolicyPath, session: ReadSession, principal: ReadAccess) -> LabelPolicy:
    """The policy stored for a path (`-` for every prompt)."""
    return policies.get_policy(session, "" if path == "-" else path, principal)


@router.put("/v1/label-policies/{path:path}")
def set_label_policy(
    path: PolicyPath, body: LabelPolicySet, session: WriteSession, _: AdminAccess
) -> LabelPolicy:
    """Protect labels of every prompt (`-`), a folder (`support/`) or one prompt."""
    return policies.set_policy(session, "" if path == "-" else path, body)


@router.delete("/v1/label-policies/{path:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_label_policy(path: PolicyPath, session: WriteSession, _: AdminAccess) -> Response:
    """Remove a path's policy; the next shorter path's applies again."""
    policies.delete_policy(session, "" if path == "-" else path)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/audit")
def list_audit_events(
    session: ReadSession,
    _: AdminAccess,
    prompt: Annotated[NulFreeStr | None, Query(max_length=255)] = None,
    actor: Annotated[NulFreeStr | None, Query(max_length=255, description="Key owner.")] = None,
    key_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    action: Annotated[
        NulFreeStr | None, Query(max_length=64, description="e.g. `label.move`.")
    ] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="From this time on (inclusive).")
    ] = None,
    until: Annotated[AwareDatetime | None, Query(description="Before this time.")] = None,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    """Every write, newest first: who (key), what, when, before and after. Read-only."""
    return audit.list_events(
        session,
        prompt=prompt,
        actor=actor,
        key_id=key_id,
        action=action,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
