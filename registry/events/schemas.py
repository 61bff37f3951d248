"""The API's models for webhook subscriptions, events and the delivery log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from registry.access.schemas import FOLDER_PATTERN
from registry.inputs import RequestModel
from registry.locales.messages import _

MAX_URL_LENGTH = 2048


class EventType(StrEnum):
    """What a subscription may be told of."""

    version_published = "version.published"
    label_moved = "label.moved"
    # A prompt serves other text because a label of a prompt it includes moved (or, for
    # `@latest` includes, because that prompt published a version).
    answer_changed = "answer.changed"
    translation_approved = "translation.approved"
    # A new source version was published: the translation is carried to it as stale.
    translation_stale = "translation.stale"
    experiment_started = "experiment.started"
    experiment_stopped = "experiment.stopped"
    experiment_promoted = "experiment.promoted"


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


def _target_url(value: str) -> str:
    """An absolute http or https URL with a host, refused with what to change."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  # a port out of range raises here
    except ValueError:
        raise ValueError(_("give an absolute http:// or https:// URL")) from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(_("the URL must start with http:// or https://"))
    if not parts.hostname:
        raise ValueError(_("the URL must name a host"))
    if any(c.isspace() for c in value):
        raise ValueError(_("the URL must not contain spaces or line breaks"))
    if parts.fragment:
        raise ValueError(_("the URL must not have a #fragment; it is never sent"))
    return value


class SubscriptionCreate(RequestModel):
    url: str = Field(
        max_length=MAX_URL_LENGTH, description="Where events are posted: http:// or https://."
    )
    event_types: list[EventType] = Field(
        default_factory=list,
        max_length=len(EventType),
        description="The event types to post; every type when empty.",
    )
    folder: str | None = Field(
        default=None,
        max_length=255,
        pattern=FOLDER_PATTERN,
        description="Only events of prompts under this folder (`support/`) or of this prompt; "
        "every prompt when absent.",
    )
    description: str = Field(default="", max_length=2000)
    active: bool = Field(default=True, description="Inactive subscriptions get no new events.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _target_url(value)

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[EventType]) -> list[EventType]:
        return list(dict.fromkeys(value))


class SubscriptionUpdate(RequestModel):
    """The fields to change; `folder: null` widens a subscription to every prompt."""

    url: str | None = Field(default=None, max_length=MAX_URL_LENGTH)
    event_types: list[EventType] | None = Field(default=None, max_length=len(EventType))
    folder: str | None = Field(default=None, max_length=255, pattern=FOLDER_PATTERN)
    description: str | None = Field(default=None, max_length=2000)
    active: bool | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _target_url(value)

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[EventType] | None) -> list[EventType] | None:
        return None if value is None else list(dict.fromkeys(value))


class Subscription(BaseModel):
    """A subscription as listed: never its secret."""

    id: int
    url: str
    description: str
    event_types: list[EventType] = Field(description="Empty: every type.")
    folder: str | None = Field(description="None: every prompt.")
    active: bool
    created_at: datetime
    created_by: str
    updated_at: datetime


class SubscriptionCreated(Subscription):
    secret: str = Field(
        description="The signing secret (`whsec_…`) for your verifier; shown only this once."
    )


class DeliveryAttempt(BaseModel):
    number: int
    at: datetime
    status_code: int | None = Field(description="The receiver's answer; None if none came.")
    error: str | None = Field(description="Why the attempt failed; None when it succeeded.")
    duration_ms: int


class Delivery(BaseModel):
    """One event to one subscription, with every attempt to post it."""

    id: int
    subscription_id: int
    webhook_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    event_type: EventType
    prompt: str | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="When it is tried next, while pending.")
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    body: Any = Field(description="The JSON body posted: `type`, `timestamp` and `data`.")
    log: list[DeliveryAttempt]


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")
