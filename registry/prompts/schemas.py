"""The API's request and response models for prompts; no database or web imports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from registry.experiments.plan import ExperimentPlan, ServedExperiment
from registry.inputs import MAX_INTEGER, RequestModel
from registry.locales.messages import _, _n
from registry.locales.negotiation import LocaleMatch
from registry.templating.engine import LABEL_PATTERN, NAME_PATTERN

PROMPT_NAME_PATTERN = rf"^{NAME_PATTERN}$"
LABEL_NAME_PATTERN = rf"^{LABEL_PATTERN}$"
VARIABLE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
TAG_PATTERN = r"^[a-z0-9][a-z0-9._:-]*$"
# The label every prompt has: its newest version. It cannot be set.
LATEST = "latest"
# The label a resolve serves when the caller names none.
PRODUCTION = "production"

PromptNameStr = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=PROMPT_NAME_PATTERN,
        description="Slash path of lowercase segments, e.g. `support/greeting`.",
        examples=["support/greeting"],
    ),
]
LabelNameStr = Annotated[
    str,
    Field(
        pattern=LABEL_NAME_PATTERN,
        max_length=64,
        description="Lowercase letters, digits, `_`, `.`, `-`; not all digits.",
        examples=["production"],
    ),
]
Tag = Annotated[str, Field(min_length=1, max_length=64, pattern=TAG_PATTERN)]


class Kind(StrEnum):
    text = "text"
    chat = "chat"


class VariableType(StrEnum):
    string = "string"
    integer = "integer"
    number = "number"
    boolean = "boolean"
    list = "list"
    object = "object"


def value_matches(kind: VariableType, value: Any) -> bool:
    """Whether a JSON value has the declared variable type."""
    match kind:
        case VariableType.string:
            return isinstance(value, str)
        case VariableType.integer:
            return isinstance(value, int) and not isinstance(value, bool)
        case VariableType.number:
            return isinstance(value, int | float) and not isinstance(value, bool)
        case VariableType.boolean:
            return isinstance(value, bool)
        case VariableType.list:
            return isinstance(value, list)
        case VariableType.object:
            return isinstance(value, dict)


class Variable(RequestModel):
    """A declared template variable."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=VARIABLE_NAME_PATTERN, max_length=64)
    type: VariableType = VariableType.string
    required: bool = True
    default: Any = Field(default=None, description="Used when the caller gives no value.")
    description: str = Field(default="", max_length=2000)

    # Validators run while the request is handled, so their messages are translated into
    # the request's locale when raised; the API reports them as Pydantic value errors.
    @model_validator(mode="after")
    def _default_fits(self) -> Variable:
        if self.default is not None:
            if not value_matches(self.type, self.default):
                # TRANSLATORS: {type} is a type name of the API (string, integer, …).
                message = _("default of {name} is not of type {type}")
                raise ValueError(message.format(name=repr(self.name), type=self.type.value))
            if self.required:
                raise ValueError(
                    # TRANSLATORS: `required` and `false` are the API's field and value.
                    _(
                        "{name} has a default, so it cannot be required; set required to false"
                    ).format(name=repr(self.name))
                )
        return self


class ModelConfig(RequestModel):
    """Model parameters stored with a version."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, max_length=200, examples=["gpt-4o-mini"])
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0)
    stop: list[Annotated[str, Field(min_length=1)]] | None = Field(default=None, max_length=4)
    seed: int | None = None
    response_format: dict[str, Any] | None = Field(
        default=None, description='e.g. {"type": "json_object"} or {"type": "json_schema", …}'
    )
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    extra: dict[str, Any] = Field(default_factory=dict, description="Provider-specific settings.")

    @field_validator("response_format")
    @classmethod
    def _format_has_type(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and value.get("type") not in ("text", "json_object", "json_schema"):
            raise ValueError(
                # TRANSLATORS: the field name and the three values are the API's; keep them.
                _("response_format.type must be text, json_object or json_schema")
            )
        return value


class Message(RequestModel):
    """One chat message; its content is a template."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "developer", "user", "assistant"]
    content: str


class PromptCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: PromptNameStr
    kind: Kind = Kind.text
    source_locale: str = Field(default="en", max_length=35, description="BCP 47 tag.")
    description: str = Field(default="", max_length=5000)
    tags: list[Tag] = Field(default_factory=list, max_length=50)


class PromptUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=5000)
    tags: list[Tag] | None = Field(default=None, max_length=50)


class Prompt(BaseModel):
    """A prompt and where its labels point."""

    name: str
    kind: Kind
    source_locale: str
    description: str
    tags: list[str]
    archived: bool
    latest_version: int | None = Field(description="Highest version number; null before any.")
    labels: dict[str, int] = Field(description="Label name → version number.")
    created_at: datetime
    updated_at: datetime


class PromptPage(BaseModel):
    items: list[Prompt]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class VersionCreate(RequestModel):
    """A new version: `template` for text prompts, `messages` for chat prompts."""

    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(default=None, max_length=200_000)
    messages: list[Message] | None = Field(default=None, min_length=1, max_length=100)
    variables: list[Variable] = Field(default_factory=list, max_length=200)
    config: ModelConfig = Field(default_factory=ModelConfig)
    message: str = Field(default="", max_length=5000, description="Commit message.")
    labels: list[LabelNameStr] = Field(
        default_factory=list,
        max_length=20,
        description="Labels to point at this version in the same transaction "
        "(also when the content equals the newest version).",
    )

    @model_validator(mode="after")
    def _one_body(self) -> VersionCreate:
        if (self.template is None) == (self.messages is None):
            raise ValueError(
                # TRANSLATORS: `template` and `messages` are fields of the API; keep them.
                _("give either template (text prompt) or messages (chat prompt)")
            )
        names = [v.name for v in self.variables]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            message = _n(
                "variable declared twice: {names}",
                "variables declared twice: {names}",
                len(duplicates),
            )
            raise ValueError(message.format(names=", ".join(duplicates)))
        return self


class StyleFinding(BaseModel):
    """One style finding, positioned in the template source of its unit."""

    rule: str
    level: Literal["suggestion", "warning", "error"]
    message: str
    line: int
    column: int = Field(description="1-based, in Unicode code points.")
    end_line: int
    end_column: int = Field(description="Exclusive.")
    match: str
    fix: str | None = None
    link: str | None = None
    unit: int | None = Field(default=None, description="Message index of a chat prompt.")
    role: str | None = None


class StyleReport(BaseModel):
    """The findings a version was published with, and the guide that produced them."""

    guide: str
    guide_version: int | None = Field(description="Null for the guide shipped with the registry.")
    findings: list[StyleFinding]


class Version(BaseModel):
    """One immutable published version."""

    prompt: str
    number: int
    kind: Kind
    template: str | None
    messages: list[Message] | None
    variables: list[Variable]
    config: ModelConfig
    includes: list[str] = Field(description="Prompts this version includes, as written.")
    message: str
    author: str
    content_hash: str
    created_at: datetime
    style: StyleReport | None = Field(
        default=None, description="Warnings and suggestions of the guide it was published under."
    )


class VersionPage(BaseModel):
    items: list[Version]
    next_cursor: str | None


class LabelSet(RequestModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(
        gt=0, le=MAX_INTEGER, description="Version number the label will point to."
    )
    reason: str = Field(default="", max_length=2000, description="Why it moved.")


class LabelEvent(BaseModel):
    label: str
    from_version: int | None
    to_version: int
    actor: str
    reason: str
    created_at: datetime


class Label(BaseModel):
    name: str
    version: int
    updated_at: datetime
    updated_by: str
    etag: str = Field(description="Send as `If-Match` to move the label only if it is still here.")
    history: list[LabelEvent] = Field(description="Moves of this label, newest first.")


class Change(BaseModel):
    """One structured difference between two versions."""

    path: str = Field(description="What changed, e.g. `variables.topic.type` or `temperature`.")
    change: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None


class Diff(BaseModel):
    prompt: str
    from_version: int
    to_version: int
    content: str = Field(description="Unified diff of the template or messages.")
    variables: list[Change]
    config: list[Change]


class Component(BaseModel):
    """An included prompt as it was resolved for this answer."""

    ref: str = Field(description="The reference as written in the include tag.")
    name: str
    version: int
    template: str = Field(description="In the served locale.")
    locale: str = Field(description="Locale of this component's text.")
    locale_match: LocaleMatch


class Resolved(BaseModel):
    """Everything a client needs to render a prompt with no further request."""

    prompt: str
    kind: Kind
    version: int
    label: str | None = Field(description="The label asked for, if any.")
    template: str | None
    messages: list[Message] | None
    variables: list[Variable]
    config: ModelConfig
    components: list[Component]
    locale: str = Field(description="Locale served.")
    requested_locale: str = Field(description="Locale asked for (the source if none).")
    locale_match: LocaleMatch = Field(description="exact, fallback, or source.")
    translation_status: str | None = Field(
        description="Status of the served translation; null when the source is served."
    )
    etag: str
    experiment: ServedExperiment | None = Field(
        default=None, description="The experiment and arm that served this `subject`."
    )
    experiment_plan: ExperimentPlan | None = Field(
        default=None,
        description="The experiment running on this label, so an SDK assigns subjects "
        "locally; null when none runs or it excludes the locale asked for.",
    )


class RenderRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    label: LabelNameStr | None = None
    version: int | None = Field(default=None, gt=0, le=MAX_INTEGER)
    variables: dict[str, Any] = Field(default_factory=dict)
    locale: str | None = Field(
        default=None, max_length=64, description="BCP 47 or POSIX; else Accept-Language."
    )
    allow_stale: bool = Field(default=False, description="Serve stale translations too.")
    preview: bool = Field(default=False, description="Serve draft and in-review text too.")
    subject: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="A user or session id: an experiment on the label serves it one arm.",
    )


class Rendered(BaseModel):
    prompt: str
    kind: Kind
    version: int
    label: str | None
    text: str | None = Field(description="The final text of a text prompt.")
    messages: list[Message] | None = Field(description="The final messages of a chat prompt.")
    config: ModelConfig
    components: list[Component]
    locale: str
    requested_locale: str
    locale_match: LocaleMatch
    experiment: ServedExperiment | None = Field(
        default=None, description="The experiment and arm that served this `subject`."
    )
