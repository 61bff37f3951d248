"""Prompts as code: one file per prompt, YAML front matter then the template.

    ---
    kind: text
    description: Greets a customer.
    source_locale: en
    tags:
    - support
    variables:
    - name: customer_name
      type: string
    config:
      model: gpt-4o
    ---
    Hello {{ customer_name }}!

The body is the template, byte for byte. A chat prompt's body is a YAML list of
messages (``- role: system`` / ``content: …``). A prompt's path under the folder is its
name: ``support/greeting.prompt`` is ``support/greeting``.

Translations sit beside their prompt as ``<name>.<locale>.prompt`` (``greeting.fr.prompt``)
with a front matter of ``locale`` and ``status`` and the translated body. A file is a
translation only when its prompt's own file is next to it; otherwise a name with a dot
(``guide.v2.prompt``) is a prompt of that name.

:func:`dump_prompt` writes the canonical form, so a folder pulled from a registry and
pushed back is unchanged, and pulling again gives the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from registry.locales.tags import LocaleError, canonical_locale
from registry.prompts.schemas import (
    PROMPT_NAME_PATTERN,
    Kind,
    Message,
    ModelConfig,
    Variable,
)

SUFFIX = ".prompt"
_FENCE = "---\n"
_FRONT_MATTER_KEYS = ("kind", "description", "source_locale", "tags", "variables", "config")
_TRANSLATION_KEYS = ("locale", "status")


class PromptFileError(ValueError):
    """A prompt file that cannot be read; names the file, the line and what to change."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.message = message
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class PromptFile:
    """A prompt as its file states it."""

    name: str
    kind: Kind
    description: str = ""
    source_locale: str = "en"
    tags: tuple[str, ...] = ()
    variables: tuple[Variable, ...] = ()
    config: ModelConfig = field(default_factory=ModelConfig)
    template: str | None = None
    messages: tuple[Message, ...] | None = None


@dataclass(frozen=True)
class TranslationFile:
    """One locale's text of a prompt: the template, or each message's content."""

    name: str
    locale: str
    status: str
    texts: tuple[str, ...]


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings, so templates stay readable in the file."""


# YAML reads these as line breaks wherever they appear unescaped.
_YAML_BREAKS = frozenset("\x85\u2028\u2029")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style: str | None = "|" if "\n" in value else None
    if _YAML_BREAKS.intersection(value) or any(not c.isprintable() and c != "\n" for c in value):
        style = '"'  # double quotes escape them
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _yaml(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1_000_000,
    )


def _split(text: str, path: str) -> tuple[dict[str, Any], str, int]:
    """Front matter, body, and the line the body starts on."""
    if not text.startswith(_FENCE):
        raise PromptFileError(path, "a prompt file starts with a '---' line of front matter", 1)
    end = text.find("\n" + _FENCE, len(_FENCE) - 1)
    if end < 0:
        raise PromptFileError(path, "the front matter has no closing '---' line")
    header = text[len(_FENCE) : end + 1]
    body = text[end + 1 + len(_FENCE) :]
    try:
        data = yaml.safe_load(header) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None
        raise PromptFileError(path, f"the front matter is not valid YAML: {exc}", line) from None
    if not isinstance(data, dict):
        raise PromptFileError(path, "the front matter must be a mapping of keys", 2)
    return data, body, header.count("\n") + 3


def body_line(text: str) -> int:
    """The 1-based line of the file where the body (template or messages) starts."""
    end = text.find("\n" + _FENCE, len(_FENCE) - 1)
    return text[: end + 1].count("\n") + 2 if end >= 0 else 1


def _check_keys(data: dict[str, Any], allowed: tuple[str, ...], path: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise PromptFileError(
            path, f"unknown front matter keys: {', '.join(unknown)}; allowed: {', '.join(allowed)}"
        )


def _messages(body: str, path: str, line: int) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = line + mark.line if mark is not None else line
        raise PromptFileError(path, f"the messages are not valid YAML: {exc}", at) from None
    if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
        raise PromptFileError(
            path, "a chat prompt's body is a YAML list of '- role: …' / 'content: …'", line
        )
    return data


def parse_prompt(text: str, *, name: str, path: str = "<prompt>") -> PromptFile:
    """Read a prompt file, or raise PromptFileError saying what to change."""
    if not re.fullmatch(PROMPT_NAME_PATTERN, name):
        raise PromptFileError(
            path, f"{name!r} is not a prompt name: lowercase segments [a-z0-9][a-z0-9._-]*"
        )
    data, body, body_line = _split(text, path)
    _check_keys(data, _FRONT_MATTER_KEYS, path)
    try:
        kind = Kind(data.get("kind", "text"))
        variables = tuple(Variable.model_validate(v) for v in data.get("variables") or [])
        config = ModelConfig.model_validate(data.get("config") or {})
        tags = tuple(str(t) for t in data.get("tags") or [])
        messages = None
        template: str | None = body
        if kind is Kind.chat:
            messages = tuple(Message.model_validate(m) for m in _messages(body, path, body_line))
            template = None
    except ValueError as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise PromptFileError(path, f"invalid front matter: {detail}") from None
    return PromptFile(
        name=name,
        kind=kind,
        description=str(data.get("description") or ""),
        source_locale=str(data.get("source_locale") or "en"),
        tags=tags,
        variables=variables,
        config=config,
        template=template,
        messages=messages,
    )


def dump_prompt(prompt: PromptFile) -> str:
    """The canonical file for a prompt."""
    header: dict[str, Any] = {"kind": prompt.kind.value}
    if prompt.description:
        header["description"] = prompt.description
    header["source_locale"] = prompt.source_locale
    if prompt.tags:
        header["tags"] = list(prompt.tags)
    if prompt.variables:
        header["variables"] = [_variable(v) for v in prompt.variables]
    config = prompt.config.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    if config:
        header["config"] = config
    if prompt.kind is Kind.chat:
        body = _yaml([{"role": m.role, "content": m.content} for m in prompt.messages or ()])
    else:
        body = prompt.template or ""
    return _FENCE + _yaml(header) + _FENCE + body


def _variable(variable: Variable) -> dict[str, Any]:
    out: dict[str, Any] = {"name": variable.name, "type": variable.type.value}
    if not variable.required:
        out["required"] = False
    if variable.default is not None:
        out["default"] = variable.default
    if variable.description:
        out["description"] = variable.description
    return out


def parse_translation(
    text: str, *, name: str, kind: Kind, path: str = "<translation>"
) -> TranslationFile:
    """Read a translation file of a prompt of the given kind."""
    data, body, body_line = _split(text, path)
    _check_keys(data, _TRANSLATION_KEYS, path)
    try:
        locale = canonical_locale(str(data.get("locale", "")))
    except LocaleError as exc:
        raise PromptFileError(path, str(exc), 2) from None
    texts: tuple[str, ...] = (body,)
    if kind is Kind.chat:
        try:
            texts = tuple(str(m["content"]) for m in _messages(body, path, body_line))
        except KeyError:
            raise PromptFileError(path, "every message needs a 'content'", body_line) from None
    return TranslationFile(
        name=name, locale=locale, status=str(data.get("status") or "draft"), texts=texts
    )


def dump_translation(translation: TranslationFile, *, roles: tuple[str, ...] | None) -> str:
    """The canonical file for a translation; ``roles`` for a chat prompt's messages."""
    header = {"locale": translation.locale, "status": translation.status}
    if roles is None:
        body = translation.texts[0]
    else:
        body = _yaml(
            [{"role": r, "content": t} for r, t in zip(roles, translation.texts, strict=True)]
        )
    return _FENCE + _yaml(header) + _FENCE + body


def prompt_path(root: Path, name: str, locale: str | None = None) -> Path:
    """Where the file of a prompt (or of one of its translations) lives under ``root``."""
    stem = name if locale is None else f"{name}.{locale}"
    return root.joinpath(*f"{stem}{SUFFIX}".split("/"))


@dataclass(frozen=True)
class Found:
    """A file of the folder: a prompt, or a translation of the prompt ``name``."""

    path: Path
    name: str
    locale: str | None


def scan(root: Path) -> Iterator[Found]:
    """Every prompt and translation file under ``root``, in name order."""
    files = sorted(p for p in root.rglob(f"*{SUFFIX}") if p.is_file())
    names = {p.relative_to(root).as_posix().removesuffix(SUFFIX) for p in files}
    for path in files:
        stem = path.relative_to(root).as_posix().removesuffix(SUFFIX)
        base, _, tail = stem.rpartition(".")
        if base and base in names:
            try:
                yield Found(path, base, canonical_locale(tail))
                continue
            except LocaleError:
                pass
        yield Found(path, stem, None)
