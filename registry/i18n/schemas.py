"""Request and response models for translations; no database or web imports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from registry.inputs import MAX_INTEGER, RequestModel
from registry.prompts.schemas import LocaleMatch, Message

__all__ = ["LocaleMatch"]


class TranslationStatus(StrEnum):
    draft = "draft"
    in_review = "in_review"
    approved = "approved"
    rejected = "rejected"
    stale = "stale"


class TranslationSubmit(RequestModel):
    """New text for a locale: `template` for text prompts, `messages` for chat prompts."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        default=None, gt=0, le=MAX_INTEGER, description="Default: the newest version."
    )
    template: str | None = Field(default=None, max_length=200_000)
    messages: list[Message] | None = Field(default=None, min_length=1, max_length=100)
    status: Literal["draft", "in_review"] = Field(
        default="draft", description="Submit straight for review with `in_review`."
    )
    note: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _one_body(self) -> TranslationSubmit:
        if (self.template is None) == (self.messages is None):
            raise ValueError("give either template (text prompt) or messages (chat prompt)")
        return self


class ReviewAction(StrEnum):
    submit = "submit"
    approve = "approve"
    reject = "reject"


class TranslationReview(RequestModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        default=None, gt=0, le=MAX_INTEGER, description="Default: the newest version."
    )
    action: ReviewAction
    note: str = Field(default="", max_length=2000)


class Finding(BaseModel):
    level: Literal["error", "warning", "suggestion"]
    loc: list[str | int]
    message: str
    line: int | None = None
    column: int | None = None


class Revision(BaseModel):
    number: int
    status: TranslationStatus
    texts: list[str]
    note: str
    author: str
    created_at: datetime


class TranslationSummary(BaseModel):
    prompt: str
    version: int
    locale: str
    status: TranslationStatus
    revision: int
    updated_at: datetime
    updated_by: str
    etag: str = Field(description="Send as `If-Match` to review only what you read.")


class Translation(TranslationSummary):
    """A translation with its source, what changed in the source, and its history."""

    template: str | None
    messages: list[Message] | None
    source_template: str | None
    source_messages: list[Message] | None
    source_diff: str = Field(
        description="Unified diff from the source this text was made from to the current "
        "source; empty unless the translation is stale."
    )
    warnings: list[Finding] = Field(default_factory=list)
    revisions: list[Revision]


QueueState = Literal["missing", "stale", "draft", "in_review", "rejected", "approved"]


class QueueItem(BaseModel):
    prompt: str
    version: int
    state: QueueState
    units: int = Field(description="Texts to translate: 1, or the number of chat messages.")


class FolderProgress(BaseModel):
    folder: str
    prompts: int
    approved: int
    completeness: float = Field(description="Share of prompts with approved text, 0..1.")
    counts: dict[str, int] = Field(description="Prompts per state.")


class Queue(BaseModel):
    """A translator's work list for one locale."""

    locale: str
    items: list[QueueItem] = Field(description="Prompts needing work, by name.")
    prompts: list[QueueItem] = Field(description="Every prompt in scope with its state.")
    folders: list[FolderProgress]
    total: FolderProgress


class ImportResult(BaseModel):
    locale: str
    updated: int
    unchanged: int
    untranslated: int
    warnings: list[Finding]
