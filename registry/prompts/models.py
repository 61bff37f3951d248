"""Tables for prompts, versions, labels and label history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from registry.db import Base, JSONType, UTCDateTime, utcnow
from registry.locales.messages import _


class Prompt(Base):
    __tablename__ = "prompts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    source_locale: Mapped[str] = mapped_column(String(35), default="en")
    description: Mapped[str] = mapped_column(Text, default="")
    # Highest version number; bumped under a row lock so numbers stay contiguous.
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Bumped by the store's triggers (migration 0006) whenever what the prompt serves may
    # have changed: its serving columns, labels, versions, translations or experiments.
    # Read by the serving path only; the ORM never writes it.
    revision: Mapped[int] = mapped_column(Integer, server_default="0")

    tags: Mapped[list[PromptTag]] = relationship(
        back_populates="prompt",
        cascade="all, delete-orphan",
        order_by="PromptTag.tag",
    )
    labels: Mapped[list[Label]] = relationship(back_populates="prompt", order_by="Label.name")

    @property
    def tag_names(self) -> list[str]:
        return sorted(t.tag for t in self.tags)


class PromptTag(Base):
    __tablename__ = "prompt_tags"

    prompt_id: Mapped[int] = mapped_column(
        ForeignKey("prompts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)

    prompt: Mapped[Prompt] = relationship(back_populates="tags")


class PromptVersion(Base):
    """One published version; never updated or deleted once written."""

    __tablename__ = "prompt_versions"
    __table_args__ = (UniqueConstraint("prompt_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id"))
    number: Mapped[int] = mapped_column(Integer)
    template: Mapped[str | None] = mapped_column(Text, default=None)
    messages: Mapped[list[dict[str, str]] | None] = mapped_column(JSONType, default=None)
    variables: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    config: Mapped[dict[str, Any]] = mapped_column("model_config", JSONType, default=dict)
    includes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    message: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    prompt: Mapped[Prompt] = relationship(lazy="joined", innerjoin=True)


class VersionInclude(Base):
    """One prompt a version includes, parsed from its ``includes`` when it was written.

    Rows are written with their version and never change (``registry.prompts.includes``);
    the index on the included prompt answers "who includes X" without reading every
    version's JSON.
    """

    __tablename__ = "version_includes"
    __table_args__ = (Index("ix_version_includes_target", "target_name", "target_label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id"))
    # The including prompt, the version's own (read without joining the version).
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id"))
    target_name: Mapped[str] = mapped_column(String(255))
    # ``name@label`` (a bare ``name`` means ``production``); None when pinned.
    target_label: Mapped[str | None] = mapped_column(String(64), default=None)
    # ``name@3``; None unless pinned.
    target_version: Mapped[int | None] = mapped_column(Integer, default=None)


class Label(Base):
    """A movable pointer from a name such as ``production`` to one version."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("prompt_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id"))
    name: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))

    prompt: Mapped[Prompt] = relationship(back_populates="labels")
    version: Mapped[PromptVersion] = relationship(lazy="joined", innerjoin=True)


class LabelEvent(Base):
    """Every label move: from which version to which, by whom, when and why."""

    __tablename__ = "label_events"
    __table_args__ = (Index("ix_label_events_prompt_id_label", "prompt_id", "label", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id"))
    label: Mapped[str] = mapped_column(String(64))
    from_version: Mapped[int | None] = mapped_column(Integer, default=None)
    to_version: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImmutableVersionError(RuntimeError):
    """Raised when code tries to change or delete a published version.

    Its message is translated when raised (in a request, into the request's locale); the
    API reports it as a conflict.
    """


@event.listens_for(Session, "before_flush")
def _refuse_version_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in session.dirty:
        if isinstance(obj, PromptVersion) and session.is_modified(obj, include_collections=False):
            raise ImmutableVersionError(
                _("version {number} is published and cannot change").format(number=obj.number)
            )
    for obj in session.deleted:
        if isinstance(obj, PromptVersion):
            raise ImmutableVersionError(
                _("version {number} is published and cannot be deleted").format(number=obj.number)
            )
