"""The backup file: one JSON document, versioned, that names rows by what they are called.

Nothing in it is a database id. A version is its prompt's name and its number, a guide
version its guide's name and number, so a backup restores into any store.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from registry.prompts.schemas import Kind, LabelNameStr, PromptNameStr, Tag

FORMAT = "prompt-registry-backup"
FORMAT_VERSION = 1

# Column sizes, so a hand-edited file is refused here and not by the store.
Who = Annotated[str, Field(max_length=255)]
Locale = Annotated[str, Field(min_length=1, max_length=35)]
GuideName = Annotated[str, Field(min_length=1, max_length=100)]
Number = Annotated[int, Field(ge=1)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegistryRecord(_Record):
    id: str = Field(min_length=1, max_length=36, description="The registry's id (in PO files).")
    created_at: AwareDatetime


class PromptRecord(_Record):
    name: PromptNameStr
    kind: Kind
    source_locale: Locale
    description: str
    tags: list[Tag]
    latest_version: int = Field(ge=0, description="Highest version number; 0 with none.")
    created_at: AwareDatetime
    updated_at: AwareDatetime
    archived_at: AwareDatetime | None


class VersionRecord(_Record):
    prompt: PromptNameStr
    number: Number
    template: str | None
    messages: list[dict[str, str]] | None
    variables: list[dict[str, Any]]
    config: dict[str, Any]
    includes: list[str]
    message: str
    author: Who
    content_hash: str = Field(max_length=64)
    created_at: AwareDatetime


class LabelRecord(_Record):
    prompt: PromptNameStr
    name: LabelNameStr
    version: Number
    updated_at: AwareDatetime
    updated_by: Who


class LabelEventRecord(_Record):
    prompt: PromptNameStr
    label: LabelNameStr
    from_version: Number | None
    to_version: Number
    actor: Who
    reason: str
    created_at: AwareDatetime


class RevisionRecord(_Record):
    number: Number
    status: str = Field(max_length=16)
    texts: list[str]
    note: str
    author: Who
    created_at: AwareDatetime


class TranslationRecord(_Record):
    prompt: PromptNameStr
    version: Number
    locale: Locale
    status: str = Field(max_length=16)
    texts: list[str]
    source_texts: list[str]
    approved_texts: list[str] | None
    approved_stale: bool = Field(
        default=False, description="The approved text is of an older source (allow_stale)."
    )
    revision: int = Field(ge=0)
    updated_at: AwareDatetime
    updated_by: Who
    revisions: list[RevisionRecord] = Field(description="Oldest first.")


class GuideVersionRecord(_Record):
    number: Number
    source: str
    content_hash: str = Field(max_length=64)
    message: str
    author: Who
    created_at: AwareDatetime


class GuideRecord(_Record):
    name: GuideName
    latest_version: int = Field(ge=0)
    created_at: AwareDatetime
    updated_at: AwareDatetime
    versions: list[GuideVersionRecord] = Field(description="Oldest first.")


class BindingRecord(_Record):
    folder: str = Field(max_length=255)
    guide: GuideName
    updated_at: AwareDatetime
    updated_by: Who


class StyleReportRecord(_Record):
    prompt: PromptNameStr
    version: Number
    guide: GuideName
    guide_version: int | None
    findings: list[dict[str, Any]]
    created_at: AwareDatetime


class LabelPolicyRecord(_Record):
    path: str = Field(max_length=255)
    protected: list[LabelNameStr]
    four_eyes: bool
    updated_at: AwareDatetime
    updated_by: Who


class AuditEventRecord(_Record):
    """One audit event; ``key_id`` names a key of the registry that wrote it (keys are
    credentials of one deployment and are not in backups)."""

    at: AwareDatetime
    key_id: int | None
    actor: Who
    action: str = Field(max_length=64)
    prompt: PromptNameStr | None
    target: str = Field(max_length=512)
    before: Any
    after: Any


class ArmRecord(_Record):
    name: str = Field(max_length=64)
    version: Number
    weight: int = Field(ge=0, le=100)


class ExposureRecord(_Record):
    subject: str = Field(max_length=255)
    arm: str = Field(max_length=64)
    first_at: AwareDatetime


class FeedbackRecord(_Record):
    subject: str = Field(max_length=255)
    arm: str = Field(max_length=64)
    value: float
    resolve_id: str | None = Field(max_length=128)
    source: str = Field(max_length=64)
    created_at: AwareDatetime


class ExperimentRecord(_Record):
    """An experiment with its arms (in order), exposures and outcomes. Experiments are
    restored in file order, so they keep their numbers, which resolve ids embed."""

    prompt: PromptNameStr
    name: str = Field(max_length=64)
    description: str
    label: LabelNameStr
    running: bool
    metric: str = Field(max_length=16)
    locales: list[Locale]
    min_samples: int = Field(ge=1)
    salt: str = Field(max_length=64)
    status: str = Field(max_length=16)
    created_at: AwareDatetime
    created_by: Who
    ended_at: AwareDatetime | None
    ended_by: Who | None
    promoted_arm: str | None = Field(max_length=64)
    arms: list[ArmRecord]
    exposures: list[ExposureRecord] = Field(description="By subject.")
    feedback: list[FeedbackRecord] = Field(description="Oldest first.")


class Backup(_Record):
    """Everything a registry holds; written by `GET /v1/admin/export` and `registry export`."""

    format: Literal["prompt-registry-backup"]
    format_version: Literal[1]
    exported_at: AwareDatetime
    registry: RegistryRecord
    prompts: list[PromptRecord] = Field(description="By name.")
    versions: list[VersionRecord] = Field(description="By prompt, then number.")
    labels: list[LabelRecord] = Field(description="By prompt, then label.")
    label_events: list[LabelEventRecord] = Field(description="By prompt, oldest first.")
    translations: list[TranslationRecord] = Field(description="Oldest first.")
    style_guides: list[GuideRecord] = Field(description="By name.")
    style_bindings: list[BindingRecord] = Field(description="By folder.")
    style_reports: list[StyleReportRecord] = Field(description="By prompt, then version.")
    label_policies: list[LabelPolicyRecord] = Field(default_factory=list, description="By path.")
    audit_events: list[AuditEventRecord] = Field(default_factory=list, description="Oldest first.")
    experiments: list[ExperimentRecord] = Field(default_factory=list, description="Oldest first.")


class ImportSummary(BaseModel):
    """How many rows of each kind a restore wrote."""

    registry_id: str
    prompts: int
    versions: int
    labels: int
    label_events: int
    translations: int
    translation_revisions: int
    style_guides: int
    style_guide_versions: int
    style_bindings: int
    style_reports: int
    label_policies: int
    audit_events: int
    experiments: int
