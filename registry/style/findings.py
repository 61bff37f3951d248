"""What goes into a lint and what comes out of it: the input, the findings and their levels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["LEVELS", "Finding", "GuideError", "Level", "LintInput"]

Level = Literal["suggestion", "warning", "error"]
LEVELS: tuple[Level, ...] = ("suggestion", "warning", "error")


@dataclass(frozen=True)
class Finding:
    """One problem in a prompt: where it is, what it is and how to fix it.

    Lines and columns are 1-based and count Unicode code points in the template source
    of the unit (the text prompt, or one chat message); ``end_column`` is exclusive.
    """

    rule: str
    level: Level
    message: str
    line: int
    column: int
    end_line: int
    end_column: int
    match: str
    fix: str | None = None
    link: str | None = None
    unit: int | None = None
    role: str | None = None


@dataclass(frozen=True)
class LintInput:
    """A prompt to lint: a text template, or chat messages as ``(role, content)`` pairs."""

    template: str | None
    messages: list[tuple[str, str]] | None
    variables: list[dict[str, object]] = field(default_factory=list)
    locale: str = "en"
    localized: bool = False


class GuideError(ValueError):
    """A style guide that cannot be used; ``errors`` names each place to change and why."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        lines = [f"{path}: {message}" if path else message for path, message in errors]
        super().__init__("\n".join(lines))
