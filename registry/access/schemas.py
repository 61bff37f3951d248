"""The API's request and response models for keys, label policies and audit events."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from registry.access.roles import Role
from registry.inputs import RequestModel
from registry.locales.messages import _
from registry.prompts.schemas import LabelNameStr
from registry.templating.engine import NAME_PATTERN

FOLDER_PATTERN = rf"^{NAME_PATTERN}/?$"
# Control, format (bidirectional marks, zero-width), line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


class KeyCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    owner: str = Field(
        min_length=1,
        max_length=255,
        description="The person or service the key is for; recorded as the author of changes.",
    )
    role: Role
    description: str = Field(default="", max_length=2000)
    folders: list[Annotated[str, Field(max_length=255, pattern=FOLDER_PATTERN)]] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description=(
            'Limit the key to the prompts under these folders, e.g. `["support/"]`: its '
            "role applies there, and nothing outside them (or `read_folders`) is revealed."
        ),
    )
    folder: str | None = Field(
        default=None,
        max_length=255,
        pattern=FOLDER_PATTERN,
        description="One folder: the same as `folders` with one item.",
    )
    read_folders: list[Annotated[str, Field(max_length=255, pattern=FOLDER_PATTERN)]] = Field(
        default_factory=list,
        max_length=50,
        description=(
            'Folders the key may also read but not change, e.g. `["shared/"]` for '
            "components its prompts include. Only for a key limited by `folders`."
        ),
    )
    locales: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="The locales a translator key may write; other roles list none.",
    )
    expires_at: datetime | None = Field(default=None, description="Refused from this time on.")

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError(_("write who the key is for"))
        # The owner is shown in lists and recorded as the author of every change: no
        # line breaks, no characters that reorder or hide text (U+202E, U+200B).
        if any(unicodedata.category(c) in _HIDDEN_CATEGORIES for c in stripped):
            raise ValueError(
                _("use printable characters only: no line breaks or control characters")
            )
        return stripped

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(_("give a time zone, e.g. 2027-01-01T00:00:00Z"))
        if value is not None and value <= datetime.now(UTC):
            raise ValueError(_("give a time in the future; this one has passed"))
        return value


class Key(BaseModel):
    """A key as listed: never its secret."""

    id: int
    prefix: str = Field(description="The visible start of the token, `rk_…`.")
    owner: str
    description: str
    role: Role
    folders: list[str] | None = Field(description="None: every prompt.")
    read_folders: list[str]
    locales: list[str]
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(Key):
    token: str = Field(description="Send as `Authorization: Bearer …`; shown only this once.")


class LabelPolicySet(RequestModel):
    model_config = ConfigDict(extra="forbid")

    protected: list[LabelNameStr] = Field(
        max_length=50,
        description="Labels only reviewers and admins may move.",
    )
    four_eyes: bool = Field(
        default=False,
        description="A protected label moves only to a version someone else published.",
    )

    @field_validator("protected")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class LabelPolicy(BaseModel):
    path: str = Field(description='"" for every prompt, a folder ending in `/`, or a prompt.')
    protected: list[str]
    four_eyes: bool
    updated_at: datetime | None
    updated_by: str | None
    stored: bool = Field(description="False for the built-in default (`production` protected).")


class AuditEvent(BaseModel):
    id: int
    at: datetime
    key_id: int | None
    actor: str
    action: str
    prompt: str | None
    target: str
    before: Any
    after: Any


class AuditPage(BaseModel):
    items: list[AuditEvent]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")
