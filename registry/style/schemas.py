"""Request and response models for style guides and linting; no database or web imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from registry.errors import MAX_LISTED, count_levels, most_severe
from registry.inputs import RequestModel
from registry.prompts.schemas import Message, StyleFinding, StyleReport, Variable

__all__ = ["FindingOut", "StyleReport"]

GUIDE_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"


# The report is part of a version's read model, so it lives with the prompts' schemas.
FindingOut = StyleFinding


class GuidePublish(RequestModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(max_length=500_000, description="The guide as YAML.")
    message: str = Field(default="", max_length=5000)


class GuideVersion(BaseModel):
    guide: str
    number: int
    source: str
    message: str
    author: str
    content_hash: str
    created_at: datetime


class Guide(BaseModel):
    name: str
    latest_version: int
    created_at: datetime
    updated_at: datetime


class BindingSet(RequestModel):
    model_config = ConfigDict(extra="forbid")

    guide: str = Field(pattern=GUIDE_NAME_PATTERN, max_length=100, examples=["house-style"])


class Binding(BaseModel):
    folder: str = Field(description='"" applies to every prompt.')
    guide: str
    updated_at: datetime
    updated_by: str


class LintRequest(RequestModel):
    """Text to check: a template or chat messages, as a version would hold them."""

    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(default=None, max_length=200_000)
    messages: list[Message] | None = Field(default=None, min_length=1, max_length=100)
    variables: list[Variable] = Field(default_factory=list)
    locale: str = Field(default="en", max_length=64)
    guide: str | None = Field(
        default=None,
        max_length=100,
        description="Guide name; default: the guide of `prompt`'s folder, else `default`.",
    )
    prompt: str | None = Field(
        default=None, max_length=255, description="Name the text is meant for (picks the guide)."
    )
    localized: bool = Field(default=False, description="The prompt will be translated.")

    @model_validator(mode="after")
    def _one_body(self) -> LintRequest:
        if (self.template is None) == (self.messages is None):
            raise ValueError("give either template (text prompt) or messages (chat prompt)")
        return self


class LintResult(BaseModel):
    guide: str
    guide_version: int | None
    findings: list[FindingOut] = Field(
        description=f"At most {MAX_LISTED}: the errors first, then warnings, then suggestions; "
        "in the order of the text."
    )
    counts: dict[str, int] = Field(description="Findings per level, all of them.")
    findings_omitted: int = Field(default=0, description="Findings not listed in `findings`.")

    @classmethod
    def build(cls, report: StyleReport) -> LintResult:
        levels = [finding.level for finding in report.findings]
        kept = most_severe(levels)
        return cls(
            guide=report.guide,
            guide_version=report.guide_version,
            findings=[report.findings[i] for i in kept],
            counts=count_levels(levels),
            findings_omitted=len(levels) - len(kept),
        )


def finding_dict(finding: Any) -> dict[str, Any]:
    """A finding of the engine as JSON."""
    return FindingOut.model_validate(finding, from_attributes=True).model_dump(mode="json")
