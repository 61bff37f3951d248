"""Request and response models for translations; no database or web imports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from registry.inputs import MAX_INTEGER, NulFreeStr, RequestModel
from registry.locales.messages import _
from registry.prompts.schemas import PROMPT_NAME_PATTERN, Message


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
            raise ValueError(
                # TRANSLATORS: `template` and `messages` are fields of the API; keep them.
                _("give either template (text prompt) or messages (chat prompt)")
            )
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


# At most this many translations change in one bulk review; narrow the selection beyond.
MAX_BULK_REVIEW = 1000


class TranslationBulkReview(RequestModel):
    """Review many translations of one locale at once: those named in ``prompts``, or
    every one under ``prefix`` whose status is in ``status``. All or nothing."""

    model_config = ConfigDict(extra="forbid")

    action: ReviewAction
    locale: str = Field(max_length=64, description="BCP 47 or POSIX, e.g. `fr`.")
    prompts: (
        list[Annotated[str, StringConstraints(max_length=255, pattern=PROMPT_NAME_PATTERN)]] | None
    ) = Field(
        default=None,
        min_length=1,
        max_length=MAX_BULK_REVIEW,
        description="The prompts whose translation (of their newest version) to review; "
        "each must be in a status the action applies to.",
    )
    prefix: NulFreeStr | None = Field(
        default=None, max_length=255, description="Without `prompts`: only this folder."
    )
    status: list[TranslationStatus] | None = Field(
        default=None,
        min_length=1,
        max_length=5,
        description="Without `prompts`: the statuses to select. Default: `in_review` to "
        "approve or reject, `draft` to submit.",
    )
    note: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _one_selection(self) -> TranslationBulkReview:
        if self.prompts is not None and (self.prefix is not None or self.status is not None):
            raise ValueError(
                # TRANSLATORS: the names are fields of the API; keep them as they are.
                _("give either prompts, or prefix and status, not both")
            )
        return self


class TranslationFinding(BaseModel):
    # A problem in a translation: errors block it, warnings are kept with it. The API has
    # always called it Finding: its OpenAPI schema is named after the class's qualified
    # name, its title after the config's (a docstring would add a description).
    __qualname__ = "Finding"
    model_config = ConfigDict(title="Finding")

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
    note: str = Field(
        default="",
        description="The current revision's note: for text in review, the translator's "
        "comment to the reviewer (a PO file's translator comments).",
    )
    warnings: list[TranslationFinding] = Field(default_factory=list)
    revisions: list[Revision]


class BulkReviewResult(BaseModel):
    """What a bulk review changed, each translation with its new status."""

    action: ReviewAction
    locale: str
    reviewed: list[TranslationSummary]
    warnings: list[TranslationFinding] = Field(
        default_factory=list, description="Findings that do not block, by prompt."
    )


QueueState = Literal["missing", "stale", "draft", "in_review", "rejected", "approved"]


class QueueItem(BaseModel):
    prompt: str
    version: int
    state: QueueState
    units: int = Field(
        description="Texts to translate: 1, or the number of chat messages; a message that "
        "is only a variable (`{{ question }}`) has nothing to translate and is not counted."
    )


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


class LocaleProgress(BaseModel):
    locale: str
    prompts: int = Field(description="Prompts to translate into this locale (not its source).")
    approved: int
    completeness: float = Field(description="Share of prompts with approved text, 0..1.")
    counts: dict[str, int] = Field(description="Prompts per state.")


class OverviewRow(BaseModel):
    prompt: str
    version: int
    source_locale: str
    states: dict[str, QueueState] = Field(
        description="State per locale of the overview; the source locale is left out."
    )


class QueueOverview(BaseModel):
    """Every prompt in scope against every locale it is or may be translated into."""

    locales: list[LocaleProgress] = Field(
        description="Each locale with a translation in scope, with its completeness."
    )
    prompts: list[OverviewRow]


class ImportResult(BaseModel):
    locale: str
    updated: int
    unchanged: int
    untranslated: int
    detected_language: str | None = Field(
        default=None,
        description="The language the imported text is written in, as detected over the "
        "whole file (ISO 639-1, such as fr); null when too little text changed to tell. "
        "A language other than the locale's is also a warning.",
    )
    warnings: list[TranslationFinding]
