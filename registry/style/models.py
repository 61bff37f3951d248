"""Tables for style guides stored in the registry, folder bindings and version reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, JSONType, UTCDateTime, utcnow


class StyleGuideRecord(Base):
    """A named style guide; its text lives in immutable versions."""

    __tablename__ = "style_guides"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StyleGuideVersion(Base):
    """One published text of a guide; never changed, so old reports stay explainable."""

    __tablename__ = "style_guide_versions"
    __table_args__ = (UniqueConstraint("guide_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    guide_id: Mapped[int] = mapped_column(ForeignKey("style_guides.id"))
    number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    guide: Mapped[StyleGuideRecord] = relationship(lazy="joined", innerjoin=True)


class StyleBinding(Base):
    """A folder's choice of guide; the longest matching folder wins ("" is every prompt)."""

    __tablename__ = "style_bindings"

    id: Mapped[int] = mapped_column(primary_key=True)
    folder: Mapped[str] = mapped_column(String(255), unique=True)
    guide: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))


class VersionStyleReport(Base):
    """The findings of the guide a version was published under, kept with it for good."""

    __tablename__ = "version_style_reports"

    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id"), primary_key=True)
    guide: Mapped[str] = mapped_column(String(100))
    guide_version: Mapped[int | None] = mapped_column(Integer, default=None)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
