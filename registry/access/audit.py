"""The audit trail: one event per write, in the write's own transaction.

The actor comes from the session: the API's authentication puts the request's
principal in ``session.info``, so a service records who acted without every function
passing it along. Work outside a request (the CLI against the database, seeding) is
recorded as ``system``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from registry.access.models import AuditEvent
from registry.access.roles import SYSTEM, Principal
from registry.access.schemas import AuditEvent as AuditEventSchema
from registry.access.schemas import AuditPage
from registry.db import utcnow
from registry.errors import ErrorItem, InvalidInput
from registry.events.outbox import record_events
from registry.locales.messages import _

PRINCIPAL = "registry.principal"

# On the table, not the mapped class: an event is written once and never read back in
# the request that writes it, so it needs none of the ORM's unit of work.
_INSERT = insert(cast(Table, AuditEvent.__table__))


def act_as(session: Session, principal: Principal) -> None:
    """Make ``principal`` the actor of the writes of this session."""
    session.info[PRINCIPAL] = principal


def acting(session: Session) -> Principal:
    principal = session.info.get(PRINCIPAL)
    return principal if isinstance(principal, Principal) else SYSTEM


def record(
    session: Session,
    action: str,
    *,
    target: str,
    prompt: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Write one audit event in the session's transaction, after its pending changes."""
    principal = acting(session)
    session.execute(
        _INSERT,
        {
            "at": utcnow(),
            "key_id": principal.key_id,
            "actor": principal.owner,
            "action": action,
            "prompt": prompt,
            "target": target,
            "before": before,
            "after": after,
        },
    )
    # Webhook events of the change, in the same transaction (the outbox).
    record_events(
        session,
        action,
        target=target,
        prompt=prompt,
        before=before,
        after=after,
        actor=principal.owner,
    )


def event_schema(event: AuditEvent) -> AuditEventSchema:
    return AuditEventSchema(
        id=event.id,
        at=event.at,
        key_id=event.key_id,
        actor=event.actor,
        action=event.action,
        prompt=event.prompt,
        target=event.target,
        before=event.before,
        after=event.after,
    )


def list_events(
    session: Session,
    *,
    prompt: str | None = None,
    actor: str | None = None,
    key_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> AuditPage:
    """Events newest first, filtered; ``cursor`` continues where a page ended."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit + 1)
    if prompt is not None:
        query = query.where(AuditEvent.prompt == prompt)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if key_id is not None:
        query = query.where(AuditEvent.key_id == key_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if cursor is not None:
        query = query.where(AuditEvent.id < _cursor(cursor))
    events = list(session.scalars(query))
    more = len(events) > limit
    events = events[:limit]
    return AuditPage(
        items=[event_schema(e) for e in events],
        next_cursor=str(events[-1].id) if more and events else None,
    )


def _cursor(cursor: str) -> int:
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput(
            _("the cursor {cursor} is not one this registry gave out").format(cursor=repr(cursor)),
            [ErrorItem(loc=("query", "cursor"), message=_("pass next_cursor from a page"))],
        )
    return int(cursor)
