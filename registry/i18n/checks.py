"""Checks a translation must pass before it is stored; pure, so the SDK and CLI can run them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from registry.errors import InvalidTemplate
from registry.templating import analyze

# Outside these bounds a translation is probably truncated or padded (a warning only:
# some languages are legitimately much shorter or longer).
MIN_LENGTH_RATIO = 0.33
MAX_LENGTH_RATIO = 3.0
# Short texts vary too much in length to say anything about them.
RATIO_MIN_SOURCE_LENGTH = 20


@dataclass(frozen=True)
class Finding:
    """One problem found in a translation; errors block it, warnings are reported."""

    level: Literal["error", "warning"]
    loc: tuple[str | int, ...]
    message: str
    line: int | None = None
    column: int | None = None


def check_translation(
    source_texts: Sequence[str],
    texts: Sequence[str],
    *,
    source_roles: Sequence[str] | None = None,
    roles: Sequence[str] | None = None,
    loc: tuple[str | int, ...] = ("body",),
) -> list[Finding]:
    """Everything wrong with ``texts`` as a translation of ``source_texts``."""
    findings: list[Finding] = []
    if len(texts) != len(source_texts):
        findings.append(
            Finding(
                "error",
                (*loc, "messages"),
                f"the source has {len(source_texts)} message(s), the translation {len(texts)}",
            )
        )
        return findings
    if source_roles is not None and roles is not None and list(roles) != list(source_roles):
        findings.append(
            Finding(
                "error",
                (*loc, "messages"),
                f"message roles must stay {', '.join(source_roles)}; got {', '.join(roles)}",
            )
        )
    for i, (source, text) in enumerate(zip(source_texts, texts, strict=True)):
        where = (*loc, "template") if source_roles is None else (*loc, "messages", i, "content")
        findings.extend(_check_unit(source, text, where))
    return findings


def _check_unit(source: str, text: str, loc: tuple[str | int, ...]) -> list[Finding]:
    if not text.strip():
        return [Finding("error", loc, "the translation is empty")]
    try:
        translated = analyze(text, loc=loc)
    except InvalidTemplate as exc:
        return [
            Finding("error", item.loc, item.message, item.line, item.column) for item in exc.errors
        ]
    original = analyze(source)
    findings: list[Finding] = []
    missing = sorted(original.variables - translated.variables)
    extra = sorted(translated.variables - original.variables)
    if missing:
        findings.append(
            Finding("error", loc, f"variables missing from the translation: {', '.join(missing)}")
        )
    if extra:
        findings.append(
            Finding(
                "error",
                loc,
                f"variables not in the source: {', '.join(extra)} "
                "(variable names must not be translated)",
            )
        )
    if sorted(original.includes) != sorted(translated.includes):
        findings.append(
            Finding(
                "error",
                loc,
                "the translation must include the same prompts as the source: "
                + (", ".join(original.includes) or "none"),
            )
        )
    if source.count("\n") != text.count("\n"):
        findings.append(
            Finding(
                "error",
                loc,
                f"the source has {source.count(chr(10))} line break(s), "
                f"the translation {text.count(chr(10))}",
            )
        )
    if text == source:
        findings.append(Finding("warning", loc, "the translation is identical to the source"))
    elif len(source) >= RATIO_MIN_SOURCE_LENGTH:
        ratio = len(text) / len(source)
        if not MIN_LENGTH_RATIO <= ratio <= MAX_LENGTH_RATIO:
            findings.append(
                Finding(
                    "warning",
                    loc,
                    f"the translation is {ratio:.1f} times the length of the source",
                )
            )
    return findings
