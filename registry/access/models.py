"""Tables for API keys, label policies and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, JSONType, NullableJSONType, UTCDateTime, utcnow


class ApiKey(Base):
    """A key as stored: its visible prefix and a salted hash, never the secret."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(16))
    # The folders the key's role applies to (None: every prompt), and folders it may
    # only read; see ``registry.access.roles.Principal``.
    folders: Mapped[list[str] | None] = mapped_column(NullableJSONType, default=None)
    read_folders: Mapped[list[str]] = mapped_column(JSONType, default=list)
    locales: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class LabelPolicy(Base):
    """Which labels of a folder or prompt are protected, and whether four eyes apply.

    ``path`` is ``""`` for every prompt, a folder ending in ``/``, or one prompt's name;
    the longest matching path wins.
    """

    __tablename__ = "label_policies"

    path: Mapped[str] = mapped_column(String(255), primary_key=True)
    protected: Mapped[list[str]] = mapped_column(JSONType, default=list)
    four_eyes: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))


class AuditEvent(Base):
    """One write: who, what, when, and the state before and after. Never changed."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_prompt_id", "prompt", "id"),
        Index("ix_audit_events_actor_id", "actor", "id"),
        Index("ix_audit_events_action_id", "action", "id"),
        Index("ix_audit_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    key_id: Mapped[int | None] = mapped_column(Integer, default=None)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    prompt: Mapped[str | None] = mapped_column(String(255), default=None)
    target: Mapped[str] = mapped_column(String(512), default="")
    before: Mapped[Any] = mapped_column(NullableJSONType, nullable=True, default=None)
    after: Mapped[Any] = mapped_column(NullableJSONType, nullable=True, default=None)
