"""Webhook subscriptions, their delivery log, and redelivery.

The outbox writes (events and their deliveries) are in :mod:`registry.events.outbox`,
which the audit trail calls for every write; subscriptions changed here are audited
like every other write, without events of their own.
"""

from __future__ import annotations

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from registry.access import audit
from registry.db import utcnow
from registry.errors import ErrorItem, InvalidInput, NotFound
from registry.events.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from registry.events.schemas import (
    Delivery,
    DeliveryAttempt,
    DeliveryPage,
    DeliveryStatus,
    EventType,
    Subscription,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionUpdate,
)
from registry.events.signing import new_secret
from registry.inputs import MAX_INTEGER
from registry.locales.messages import _


def subscription_schema(row: WebhookSubscription) -> Subscription:
    return Subscription(
        id=row.id,
        url=row.url,
        description=row.description,
        event_types=[EventType(t) for t in row.event_types],
        folder=row.folder,
        active=row.active,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
    )


def _audited(subscription: Subscription) -> dict[str, object]:
    """What the audit trail keeps of a subscription: never its secret."""
    return subscription.model_dump(
        mode="json", include={"url", "event_types", "folder", "active", "description"}
    )


def create_subscription(
    session: Session, data: SubscriptionCreate, *, created_by: str
) -> SubscriptionCreated:
    now = utcnow()
    row = WebhookSubscription(
        url=data.url,
        description=data.description,
        event_types=[t.value for t in data.event_types],
        folder=data.folder,
        secret=new_secret(),
        active=data.active,
        created_at=now,
        created_by=created_by,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    schema = subscription_schema(row)
    audit.record(session, "webhook.create", target=f"webhook-{row.id}", after=_audited(schema))
    return SubscriptionCreated(**schema.model_dump(), secret=row.secret)


def _get(session: Session, subscription_id: int) -> WebhookSubscription:
    row = session.get(WebhookSubscription, subscription_id)
    if row is None:
        raise NotFound(
            _("there is no webhook subscription {id}; GET /v1/webhooks lists them").format(
                id=subscription_id
            )
        )
    return row


def get_subscription(session: Session, subscription_id: int) -> Subscription:
    return subscription_schema(_get(session, subscription_id))


def list_subscriptions(session: Session) -> list[Subscription]:
    rows = session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id))
    return [subscription_schema(row) for row in rows]


def update_subscription(
    session: Session, subscription_id: int, data: SubscriptionUpdate
) -> Subscription:
    row = _get(session, subscription_id)
    before = _audited(subscription_schema(row))
    given = data.model_fields_set
    if "folder" in given:
        row.folder = data.folder
    for field in ("url", "description", "active"):
        value = getattr(data, field)
        if field in given and value is None:
            raise InvalidInput(
                _("{field} cannot be null").format(field=field),
                [ErrorItem(loc=("body", field), message=_("give a value or leave it out"))],
            )
        if value is not None:
            setattr(row, field, value)
    if data.event_types is not None:
        row.event_types = [t.value for t in data.event_types]
    after = _audited(subscription_schema(row))
    if after != before:
        row.updated_at = utcnow()
        session.flush()
        audit.record(
            session, "webhook.update", target=f"webhook-{row.id}", before=before, after=after
        )
    return subscription_schema(row)


def delete_subscription(session: Session, subscription_id: int) -> None:
    """Delete a subscription, its pending deliveries and its log."""
    row = _get(session, subscription_id)
    before = _audited(subscription_schema(row))
    session.delete(row)
    session.flush()
    # Its deliveries and their attempts went with it (ON DELETE CASCADE); events no other
    # subscription is to receive go too.
    session.execute(
        delete(WebhookEvent).where(~exists().where(WebhookDelivery.event_id == WebhookEvent.id))
    )
    audit.record(session, "webhook.delete", target=f"webhook-{subscription_id}", before=before)


def _cursor(cursor: str) -> int:
    if not cursor.isdigit() or len(cursor) > 18 or int(cursor) > MAX_INTEGER:
        raise InvalidInput(
            _("the cursor {cursor} is not one this registry gave out").format(cursor=repr(cursor)),
            [ErrorItem(loc=("query", "cursor"), message=_("pass next_cursor from a page"))],
        )
    return int(cursor)


def list_deliveries(
    session: Session,
    subscription_id: int,
    *,
    status: DeliveryStatus | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> DeliveryPage:
    """A subscription's deliveries newest first, each with its attempts."""
    _get(session, subscription_id)
    query = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status.value)
    if cursor is not None:
        query = query.where(WebhookDelivery.id < _cursor(cursor))
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    attempts: dict[int, list[DeliveryAttempt]] = {}
    if rows:
        for attempt in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_([d.id for d, _e in rows]))
            .order_by(WebhookAttempt.id)
        ):
            attempts.setdefault(attempt.delivery_id, []).append(
                DeliveryAttempt(
                    number=attempt.number,
                    at=attempt.at,
                    status_code=attempt.status_code,
                    error=attempt.error,
                    duration_ms=attempt.duration_ms,
                )
            )
    return DeliveryPage(
        items=[delivery_schema(d, e, attempts.get(d.id, [])) for d, e in rows],
        next_cursor=str(rows[-1][0].id) if more and rows else None,
    )


def delivery_schema(
    delivery: WebhookDelivery, event: WebhookEvent, log: list[DeliveryAttempt]
) -> Delivery:
    pending = delivery.status == DeliveryStatus.pending.value
    return Delivery(
        id=delivery.id,
        subscription_id=delivery.subscription_id,
        webhook_id=event.uid,
        event_type=EventType(event.type),
        prompt=event.prompt,
        status=DeliveryStatus(delivery.status),
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if pending else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        finished_at=delivery.finished_at,
        body=event.body,
        log=log,
    )


def redeliver(session: Session, subscription_id: int, delivery_id: int) -> Delivery:
    """Post a delivery again, with the same ``webhook-id``, and a new allowance of retries.

    A delivery being posted right now is posted again too: its lease is given up, so the
    result of the post in flight is logged but changes nothing.
    """
    _get(session, subscription_id)
    found = session.execute(
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == subscription_id
        )
        .with_for_update(of=WebhookDelivery)
    ).first()
    if found is None:
        raise NotFound(
            _(
                "webhook subscription {id} has no delivery {delivery}; "
                "GET /v1/webhooks/{id}/deliveries lists them"
            ).format(id=subscription_id, delivery=delivery_id)
        )
    delivery, event = found
    now = utcnow()
    delivery.status = DeliveryStatus.pending.value
    delivery.counted_from = delivery.attempts
    delivery.scheduled_at = now
    delivery.next_attempt_at = now
    delivery.locked_until = None
    delivery.finished_at = None
    session.flush()
    audit.record(
        session,
        "webhook.redeliver",
        target=f"webhook-{subscription_id}:delivery-{delivery_id}",
        after={"webhook_id": event.uid, "event_type": event.type},
    )
    log = [
        DeliveryAttempt(
            number=a.number,
            at=a.at,
            status_code=a.status_code,
            error=a.error,
            duration_ms=a.duration_ms,
        )
        for a in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.id)
        )
    ]
    return delivery_schema(delivery, event, log)
