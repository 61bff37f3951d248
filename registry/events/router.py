"""HTTP routes for webhook subscriptions and their delivery log (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from registry.dependencies import AdminAccess, ReadSession, WriteSession
from registry.events import service
from registry.events.schemas import (
    Delivery,
    DeliveryPage,
    DeliveryStatus,
    Subscription,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionUpdate,
)
from registry.inputs import MAX_INTEGER
from registry.routing import KeyCheckingRoute

router = APIRouter(tags=["webhooks"], route_class=KeyCheckingRoute)

# Ids are the store's integers (32 bits on PostgreSQL): a larger one is refused as invalid.
SubscriptionId = Annotated[int, Path(ge=1, le=MAX_INTEGER, description="The subscription's id.")]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_INTEGER, description="The delivery's id.")]


@router.post("/v1/webhooks", status_code=status.HTTP_201_CREATED)
def create_webhook(
    body: SubscriptionCreate, session: WriteSession, principal: AdminAccess
) -> SubscriptionCreated:
    """Subscribe a URL to events; the signing secret is in this answer only, never again."""
    return service.create_subscription(session, body, created_by=principal.owner)


@router.get("/v1/webhooks")
def list_webhooks(session: ReadSession, _: AdminAccess) -> list[Subscription]:
    """Subscriptions by id, without their secrets."""
    return service.list_subscriptions(session)


@router.get("/v1/webhooks/{subscription_id}")
def get_webhook(
    subscription_id: SubscriptionId, session: ReadSession, _: AdminAccess
) -> Subscription:
    """One subscription."""
    return service.get_subscription(session, subscription_id)


@router.patch("/v1/webhooks/{subscription_id}")
def update_webhook(
    subscription_id: SubscriptionId,
    body: SubscriptionUpdate,
    session: WriteSession,
    _: AdminAccess,
) -> Subscription:
    """Change a subscription's URL, event types, folder, description or activity."""
    return service.update_subscription(session, subscription_id, body)


@router.delete("/v1/webhooks/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(
    subscription_id: SubscriptionId, session: WriteSession, _: AdminAccess
) -> Response:
    """Delete a subscription with its pending deliveries and delivery log."""
    service.delete_subscription(session, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/webhooks/{subscription_id}/deliveries")
def list_webhook_deliveries(
    subscription_id: SubscriptionId,
    session: ReadSession,
    _: AdminAccess,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status.")] = None,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    """The delivery log, newest first: each event, its status and every attempt."""
    return service.list_deliveries(
        session, subscription_id, status=status, cursor=cursor, limit=limit
    )


@router.post(
    "/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
)
def redeliver_webhook(
    subscription_id: SubscriptionId,
    delivery_id: DeliveryId,
    session: WriteSession,
    _: AdminAccess,
) -> Delivery:
    """Post a delivery again (same `webhook-id`), with a new allowance of retries."""
    return service.redeliver(session, subscription_id, delivery_id)
