"""Keyword-only factories for test data, through the same service calls as the API."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from registry.prompts.labels import set_label
from registry.prompts.prompts import create_prompt
from registry.prompts.publish import publish_version
from registry.prompts.schemas import LabelSet, PromptCreate, Version, VersionCreate

_counter = itertools.count(1)


def unique_name(prefix: str = "test/prompt") -> str:
    return f"{prefix}-{next(_counter)}"


def make_prompt(
    session: Session,
    *,
    name: str | None = None,
    kind: str = "text",
    template: str | None = "Hello {{ who }}",
    messages: list[dict[str, str]] | None = None,
    variables: list[dict[str, Any]] | None = None,
    labels: tuple[str, ...] = ("production",),
    description: str = "",
    tags: tuple[str, ...] = (),
) -> str:
    """A prompt with one published version carrying ``labels``; returns its name."""
    name = name or unique_name()
    create_prompt(
        session,
        PromptCreate(name=name, kind=kind, description=description, tags=list(tags)),  # type: ignore[arg-type]
    )
    if kind == "chat":
        template = None
        messages = messages or [{"role": "user", "content": "Hello {{ who }}"}]
    publish(session, name=name, template=template, messages=messages, variables=variables)
    for label in labels:
        set_label(session, name, label, LabelSet(version=1), actor="tests")
    return name


def publish(
    session: Session,
    *,
    name: str,
    template: str | None = None,
    messages: list[dict[str, str]] | None = None,
    variables: list[dict[str, Any]] | None = None,
    config: dict[str, Any] | None = None,
) -> Version:
    if variables is None:
        variables = [{"name": "who", "type": "string"}]
    data = VersionCreate.model_validate(
        {
            "template": template,
            "messages": messages,
            "variables": variables,
            "config": config or {},
        }
    )
    version, _ = publish_version(session, name, data, author="tests")
    return version
