"""Tables for translations of prompt versions, their revisions, and the registry's id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, JSONType, NullableJSONType, UTCDateTime, utcnow
from registry.prompts.models import PromptVersion


class Translation(Base):
    """The current text of one version in one locale.

    ``texts`` holds one entry per translatable unit: the template of a text prompt, or
    the content of each message of a chat prompt, in order. ``source_texts`` is the
    source the translation was made from; when it differs from the version's own source,
    the translation is stale and the difference is what the translator must look at.
    """

    __tablename__ = "translations"
    __table_args__ = (
        UniqueConstraint("version_id", "locale"),
        # A prompt's translations into a locale; covering the queue's read of their
        # versions and states (see ``queue_page``).
        Index(
            "ix_translations_prompt_id_locale_version_id_status",
            "prompt_id",
            "locale",
            "version_id",
            "status",
        ),
        # The locales translations exist in, a seek each (see ``translated_locales``).
        Index("ix_translations_locale", "locale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id"))
    locale: Mapped[str] = mapped_column(String(35))
    status: Mapped[str] = mapped_column(String(16))
    texts: Mapped[list[str]] = mapped_column(JSONType)
    source_texts: Mapped[list[str]] = mapped_column(JSONType)
    # The last approved text, kept apart from ``texts`` so that editing a live
    # translation, or a new source, does not put unreviewed text online; None until a
    # reviewer approves. ``approved_stale``: approved for an older source, so served
    # only with ``allow_stale`` until text is approved for this version's source.
    approved_texts: Mapped[list[str] | None] = mapped_column(NullableJSONType, default=None)
    approved_stale: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # Every change of text, status or source goes through the ORM, which stamps it here.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))

    version: Mapped[PromptVersion] = relationship(lazy="joined", innerjoin=True)
    revisions: Mapped[list[TranslationRevision]] = relationship(
        back_populates="translation", order_by="TranslationRevision.number.desc()"
    )


class TranslationRevision(Base):
    """One change of a translation's text or status; never changed afterwards."""

    __tablename__ = "translation_revisions"
    __table_args__ = (UniqueConstraint("translation_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    translation_id: Mapped[int] = mapped_column(ForeignKey("translations.id"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    texts: Mapped[list[str]] = mapped_column(JSONType)
    note: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    translation: Mapped[Translation] = relationship(back_populates="revisions")


class RegistryInfo(Base):
    """One row: this registry's id, written into exported PO files to recognise them."""

    __tablename__ = "registry_info"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
