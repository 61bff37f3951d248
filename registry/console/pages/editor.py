"""Editors at work: a new version with live style findings and a preview, diffs, and
starting an experiment.

The editor's form holds a draft version (template or chat messages, variables, model
configuration, a message, labels to set). While the editor types, htmx posts the form
to ``-/lint`` (400 ms after the last key): the same engine as ``POST /v1/lint``
(``registry.style.service.lint_request``), its findings shown under the text at their
line and column. ``-/preview`` renders the draft with sample values in a chosen locale,
with the registry's own template engine. Publishing makes the calls of
``POST /v1/prompts/{name}/-/versions``; a version the guide refuses comes back to the
editor with every finding in place, and nothing is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import ValidationError
from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from registry.access.roles import Permission, Principal
from registry.config import Settings
from registry.console.auth import Viewer, ViewerDep
from registry.console.views import PREFIX, ConsoleRoute, redirect, render
from registry.dependencies import ReadSession, SettingsDep, WriteSession
from registry.errors import (
    MAX_LISTED,
    ErrorItem,
    InvalidInput,
    RegistryError,
    StyleViolation,
)
from registry.experiments import service as experiments
from registry.experiments.schemas import ExperimentCreate
from registry.inputs import MAX_INTEGER
from registry.locales.messages import _
from registry.locales.requests import parse_locale
from registry.locales.tags import format_locale
from registry.prompts import service, versions
from registry.prompts.prompts import get_prompt, read_prompt
from registry.prompts.publish import publish_version
from registry.prompts.rendering import bind_variables
from registry.prompts.schemas import (
    PROMPT_NAME_PATTERN,
    Kind,
    Prompt,
    Variable,
    VariableType,
    Version,
    VersionCreate,
)
from registry.style import service as style
from registry.style.schemas import FindingOut, LintRequest
from registry.templating import analyze, render_template
from registry.translations.lookup import Source, localize_all, servable_statuses
from registry.translations.models import Translation
from registry.workers import run_cpu_bound

router = APIRouter(route_class=ConsoleRoute)

PromptName = Annotated[str, Path(pattern=PROMPT_NAME_PATTERN, max_length=255)]
VersionNumber = Annotated[int, Query(gt=0, le=MAX_INTEGER)]

# The model configuration's fields the form shows one by one; `extra` and
# `response_format` are JSON objects.
NUMBER_FIELDS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
INTEGER_FIELDS = ("max_tokens", "seed")
JSON_FIELDS = ("response_format", "extra")
COMMON_LOCALES = ("en", "en-GB", "fr", "fr-CA", "de", "de-CH", "es", "es-MX", "it", "ja", "pt-BR")


async def posted_form(request: Request) -> FormData:
    """The posted form, parsed on the event loop (Starlette keeps it for the request)."""
    return await request.form()


Form = Annotated[FormData, Depends(posted_form)]


# ---------------------------------------------------------------- the draft


@dataclass
class Draft:
    """What the editor's form holds, as typed (values kept as strings to show again)."""

    template: str | None
    messages: list[dict[str, str]]
    variables: list[dict[str, Any]]
    config: dict[str, str]
    message: str = ""
    labels: str = ""

    @classmethod
    def of_version(cls, version: Version | None, kind: Kind) -> Draft:
        """The draft a new version starts from: the newest one's content."""
        if version is None:
            if kind is Kind.chat:
                return cls(None, [{"role": "system", "content": ""}], [], {})
            return cls("", [], [], {})
        config: dict[str, str] = {}
        for key, value in version.config.model_dump(exclude_none=True).items():
            if key == "stop":
                config[key] = "\n".join(value)
            elif key in JSON_FIELDS:
                if value:
                    config[key] = json.dumps(value, ensure_ascii=False)
            else:
                config[key] = str(value)
        return cls(
            template=version.template,
            messages=[m.model_dump() for m in version.messages or []],
            variables=[
                {
                    "name": v.name,
                    "type": v.type.value,
                    "required": v.required,
                    "default": "" if v.default is None else json.dumps(v.default),
                    "description": v.description,
                }
                for v in version.variables
            ],
            config=config,
        )

    @classmethod
    def of_form(cls, form: FormData, kind: Kind) -> Draft:
        def text(key: str) -> str:
            value = form.get(key)
            return value if isinstance(value, str) else ""

        rows: dict[str, dict[int, dict[str, str]]] = {"messages": {}, "variables": {}}
        for key in form:
            match = re.fullmatch(r"(messages|variables)\.(\d{1,4})\.(\w+)", key)
            if match:
                group, index, field = match[1], int(match[2]), match[3]
                rows[group].setdefault(index, {})[field] = text(key)
        messages = [
            {"role": row.get("role", "user"), "content": row.get("content", "")}
            for _i, row in sorted(rows["messages"].items())
        ]
        variables: list[dict[str, Any]] = [
            {
                "name": row.get("name", "").strip(),
                "type": row.get("type", "string"),
                "required": row.get("required") == "true",
                "default": row.get("default", ""),
                "description": row.get("description", ""),
            }
            for _i, row in sorted(rows["variables"].items())
            if row.get("name", "").strip()
        ]
        fields = ("model", "stop", *NUMBER_FIELDS, *INTEGER_FIELDS, *JSON_FIELDS)
        config = {f: text(f"config.{f}").strip() for f in fields if text(f"config.{f}").strip()}
        return cls(
            template=text("template") if kind is Kind.text else None,
            messages=messages if kind is Kind.chat else [],
            variables=variables,
            config=config,
            message=text("message"),
            labels=text("labels"),
        )

    def label_names(self) -> list[str]:
        return [label for label in re.split(r"[\s,]+", self.labels) if label]

    def version_create(self) -> VersionCreate:
        """The draft as the API's body; a 422 naming each field that does not fit."""
        errors: list[ErrorItem] = []
        variables = []
        for i, row in enumerate(self.variables):
            default: Any = None
            if row["default"].strip():
                default = _json_value(row["default"], row["type"], ("variables", i, "default"))
                if isinstance(default, ErrorItem):
                    errors.append(default)
                    default = None
            variables.append({**row, "default": default})
        config: dict[str, Any] = {}
        for key, raw in self.config.items():
            if key == "stop":
                config[key] = [line for line in raw.splitlines() if line]
            elif key in JSON_FIELDS:
                value = _json_value(raw, "object", ("config", key))
                if isinstance(value, ErrorItem):
                    errors.append(value)
                else:
                    config[key] = value
            else:
                config[key] = raw
        body = {
            "template": self.template,
            "messages": self.messages or None,
            "variables": variables,
            "config": config,
            "message": self.message,
            "labels": self.label_names(),
        }
        try:
            created = VersionCreate.model_validate(body)
        except ValidationError as exc:
            errors.extend(_validation_items(exc))
            created = None
        if errors or created is None:
            raise InvalidInput(_("the draft is not complete or not valid"), errors[:MAX_LISTED])
        return created


def _json_value(raw: str, kind: str, loc: tuple[str | int, ...]) -> Any:
    """A value typed in the form: a string as it is, anything else as JSON."""
    if kind == VariableType.string.value:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return ErrorItem(loc=loc, message=_("write it as JSON, e.g. 3, true or [1, 2]"))


def _validation_items(exc: ValidationError) -> list[ErrorItem]:
    return [
        ErrorItem(
            loc=tuple(err["loc"]),
            message=_("invalid value (Pydantic: {cause})").format(cause=err["msg"]),
        )
        for err in exc.errors()
    ]


# ---------------------------------------------------------------- helpers


def _editable(principal: Principal, name: str) -> None:
    """The API's checks for a publish: the role, then the key's folders."""
    principal.require(Permission.PUBLISH)
    principal.require_scope(name, change=True)


def _localized(session: Session, name: str) -> bool:
    """Whether the prompt has translations: the guide then checks translatability."""
    prompt = get_prompt(session, name)
    return bool(session.scalar(select(exists().where(Translation.prompt_id == prompt.id))))


def _newest(session: Session, prompt: Prompt) -> Version | None:
    if not prompt.latest_version:
        return None
    return versions.get_version(session, prompt.name, prompt.latest_version)


def _lint_request(draft: Draft, prompt: Prompt, *, localized: bool) -> LintRequest | None:
    """The draft as ``POST /v1/lint`` takes it; None while there is nothing to check."""
    variables = []
    for row in draft.variables:
        try:
            variables.append(Variable(name=row["name"], type=row["type"], required=row["required"]))
        except ValidationError:
            continue  # a half-typed variable; the publish reports it
    if prompt.kind is Kind.text:
        if not (draft.template or "").strip():
            return None
        return LintRequest(
            template=draft.template,
            variables=variables,
            locale=prompt.source_locale,
            prompt=prompt.name,
            localized=localized,
        )
    messages = [m for m in draft.messages if m["content"].strip()]
    if not messages:
        return None
    return LintRequest.model_validate(
        {
            "messages": messages,
            "variables": [v.model_dump() for v in variables],
            "locale": prompt.source_locale,
            "prompt": prompt.name,
            "localized": localized,
        }
    )


def placed(findings: list[Any], draft: Draft) -> list[dict[str, Any]]:
    """Each finding with the line of text it points at, split around its span."""
    texts = [draft.template or ""] if draft.template is not None else []
    if draft.template is None:
        texts = [m["content"] for m in draft.messages]
    out = []
    for f in findings:
        unit = f.unit or 0
        lines = texts[unit].split("\n") if unit < len(texts) else []
        line = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
        start = max(0, f.column - 1)
        end = f.end_column - 1 if f.end_line == f.line else len(line)
        end = max(start, min(len(line), end))
        out.append(
            {
                "finding": f,
                "before": line[:start],
                "span": line[start:end],
                "after": line[end:],
                "field": "template" if draft.template is not None else f"message-{unit}",
            }
        )
    return out


def _editor_context(
    prompt: Prompt, draft: Draft, base: int | None, principal: Principal
) -> dict[str, Any]:
    return {
        "prompt": prompt,
        "draft": draft,
        "base": base,
        "variable_types": [t.value for t in VariableType],
        "roles": ["system", "developer", "user", "assistant"],
        "number_fields": NUMBER_FIELDS,
        "integer_fields": INTEGER_FIELDS,
        "json_fields": JSON_FIELDS,
        "locales": COMMON_LOCALES,
        "may_move_protected": principal.can(Permission.REVIEW),
        "error": None,
        "findings": [],
        "samples": {},
    }


# ---------------------------------------------------------------- routes


@router.get("/prompts/{name:path}/-/edit")
def editor(
    request: Request,
    name: PromptName,
    viewer: ViewerDep,
    session: ReadSession,
    start: Annotated[int | None, Query(alias="from", gt=0, le=MAX_INTEGER)] = None,
) -> Response:
    """The editor, holding the newest version (or the one named) as a draft."""
    principal = viewer.principal
    _editable(principal, name)
    prompt = read_prompt(session, name)
    base = versions.get_version(session, name, start) if start else _newest(session, prompt)
    draft = Draft.of_version(base, prompt.kind)
    context = _editor_context(prompt, draft, base.number if base else None, principal)
    return render(request, "editor/edit.html", context)


@router.post("/prompts/{name:path}/-/lint")
async def lint(
    request: Request, name: PromptName, viewer: ViewerDep, session: ReadSession, form: Form
) -> Response:
    """The style findings of the draft as it stands: the engine of ``POST /v1/lint``, in
    one of the CPU-bound slots the API's lint and render share."""
    return await run_cpu_bound(_lint, request, name, viewer, session, form)


def _lint(
    request: Request, name: str, viewer: Viewer, session: Session, form: FormData
) -> Response:
    principal = viewer.principal
    principal.require_scope(name)
    prompt = read_prompt(session, name)
    draft = Draft.of_form(form, prompt.kind)
    lint_request = _lint_request(draft, prompt, localized=_localized(session, name))
    result = None if lint_request is None else style.lint_request(session, lint_request)
    findings = [] if result is None else result.findings
    names = ",".join(v["name"] for v in draft.variables)
    context = {
        "result": result,
        "placed": placed(findings, draft),
        # The preview's sample fields follow the variables, redrawn only when they change
        # (redrawing them while the editor types a value would lose the cursor).
        "samples_changed": form.get("samples_for") != names,
        "draft": draft,
        "samples": _typed_samples(form),
    }
    return render(request, "editor/_lint.html", context)


def _typed_samples(form: FormData) -> dict[str, str]:
    return {
        key.removeprefix("sample."): value
        for key, value in form.items()
        if key.startswith("sample.") and isinstance(value, str)
    }


@router.post("/prompts/{name:path}/-/preview")
async def preview(
    request: Request,
    name: PromptName,
    viewer: ViewerDep,
    session: ReadSession,
    settings: SettingsDep,
    form: Form,
) -> Response:
    """The draft rendered with sample values, as the API would serve it in a locale; in
    one of the CPU-bound slots the API's lint and render share."""
    return await run_cpu_bound(_preview, request, name, viewer, session, settings, form)


def _preview(
    request: Request,
    name: str,
    viewer: Viewer,
    session: Session,
    settings: Settings,
    form: FormData,
) -> Response:
    principal = viewer.principal
    principal.require_scope(name)
    prompt = read_prompt(session, name)
    draft = Draft.of_form(form, prompt.kind)
    context: dict[str, Any] = {"output": None, "error": None, "served_in": None}
    try:
        raw_locale = form.get("preview_locale")
        locale = parse_locale(
            raw_locale if isinstance(raw_locale, str) and raw_locale else prompt.source_locale,
            ("form", "preview_locale"),
        )
        context["output"], context["served_in"] = _render_draft(
            session, prompt, draft, form, locale, settings.include_depth_limit, principal
        )
    except RegistryError as exc:
        context["error"] = exc
    return render(request, "editor/_preview.html", context)


def _render_draft(
    session: Session,
    prompt: Prompt,
    draft: Draft,
    form: FormData,
    locale: str,
    depth_limit: int,
    principal: Principal,
) -> tuple[list[tuple[str | None, str]], str]:
    """The draft's text (or each message) rendered, and the locale it is formatted for.

    The draft is in the prompt's source language; its includes are served in the locale
    asked for when an approved translation exists, as a resolve would serve them.
    """
    body = draft.version_create()
    sources = (
        [body.template] if body.template is not None else [m.content for m in body.messages or []]
    )
    includes: list[str] = []
    for i, source in enumerate(sources):
        loc = ("template",) if body.template is not None else ("messages", i, "content")
        info = analyze(source, loc=loc)
        includes.extend(ref for ref in info.includes if ref not in includes)
    components = list(
        service.resolve_components(
            session, includes, root=prompt.name, depth_limit=depth_limit, principal=principal
        ).values()
    )
    parts = (
        localize_all(
            session,
            [Source(c.version.id, c.version.source_locale, c.version.texts) for c in components],
            [locale],
            servable_statuses(),
        )
        if components
        else []
    )
    templates = {c.ref: part.texts[0] for c, part in zip(components, parts, strict=True)}
    values = _sample_values(form, body.variables)
    bound = bind_variables(body.variables, values)
    formatted_for = format_locale(locale, prompt.source_locale)
    if body.template is not None:
        text = render_template(body.template, bound, templates, locale=formatted_for)
        return [(None, text)], formatted_for
    return [
        (
            m.role,
            render_template(
                m.content, bound, templates, locale=formatted_for, loc=("messages", i, "content")
            ),
        )
        for i, m in enumerate(body.messages or [])
    ], formatted_for


def _sample_values(form: FormData, variables: list[Variable]) -> dict[str, Any]:
    """The preview's sample values: strings as typed, other types as JSON; blank: unset."""
    values: dict[str, Any] = {}
    errors = []
    for variable in variables:
        raw = form.get(f"sample.{variable.name}")
        if not isinstance(raw, str) or raw == "":
            continue
        value = _json_value(raw, variable.type.value, ("sample", variable.name))
        if isinstance(value, ErrorItem):
            errors.append(value)
        else:
            values[variable.name] = value
    if errors:
        raise InvalidInput(_("a sample value is not valid"), errors)
    return values


@router.post("/prompts/{name:path}/-/edit")
def publish(
    request: Request,
    name: PromptName,
    viewer: ViewerDep,
    session: WriteSession,
    settings: SettingsDep,
    form: Form,
) -> Response:
    """Publish the draft as a new version; refused drafts come back with the reasons."""
    principal = viewer.principal
    _editable(principal, name)
    prompt = read_prompt(session, name)
    draft = Draft.of_form(form, prompt.kind)
    base_raw = form.get("base")
    base = int(base_raw) if isinstance(base_raw, str) and base_raw.isdigit() else None
    try:
        body = draft.version_create()
        # A savepoint: a publish refused after it wrote anything leaves nothing behind.
        with session.begin_nested():
            version, created = publish_version(
                session,
                name,
                body,
                author=principal.owner,
                depth_limit=settings.include_depth_limit,
                principal=principal,
            )
    except RegistryError as exc:
        context = _editor_context(prompt, draft, base, principal)
        context["error"] = exc
        context["samples"] = _typed_samples(form)
        if isinstance(exc, StyleViolation):
            found = [FindingOut.model_validate(f) for f in exc.extensions.get("findings", [])]
            context["findings"] = placed(found, draft)
        return render(request, "editor/edit.html", context, status_code=exc.status)
    outcome = "published" if created else "unchanged"
    return redirect(
        f"{PREFIX}/prompts/{name}?{outcome}={version.number}#version-{version.number}", request
    )


# ---------------------------------------------------------------- diff


@dataclass(frozen=True)
class Row:
    """A line of a side-by-side diff: old and new line numbers and text, and the change."""

    kind: str  # same, del, ins, chg, gap
    old_number: int | None = None
    old: str = ""
    new_number: int | None = None
    new: str = ""


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def side_by_side(unified: str) -> list[Row]:
    """The rows of a unified diff set side by side: removed lines beside the added ones
    that replace them."""
    rows: list[Row] = []
    removed: list[tuple[int, str]] = []
    added: list[tuple[int, str]] = []
    old_n = new_n = 0

    def flush() -> None:
        for i in range(max(len(removed), len(added))):
            old = removed[i] if i < len(removed) else None
            new = added[i] if i < len(added) else None
            kind = "chg" if old and new else ("del" if old else "ins")
            rows.append(
                Row(
                    kind,
                    old[0] if old else None,
                    old[1] if old else "",
                    new[0] if new else None,
                    new[1] if new else "",
                )
            )
        removed.clear()
        added.clear()

    for line in unified.splitlines():
        if line.startswith(("--- ", "+++ ")) and not rows and not removed and not added:
            continue
        hunk = _HUNK.match(line)
        if hunk:
            flush()
            if rows:
                rows.append(Row("gap"))
            old_n, new_n = int(hunk[1]), int(hunk[2])
            continue
        tag, text = line[:1], line[1:]
        if tag == "-":
            removed.append((old_n, text))
            old_n += 1
        elif tag == "+":
            added.append((new_n, text))
            new_n += 1
        elif tag == " ":
            flush()
            rows.append(Row("same", old_n, text, new_n, text))
            old_n += 1
            new_n += 1
    flush()
    return rows


@router.get("/prompts/{name:path}/-/diff")
def diff(
    request: Request,
    name: PromptName,
    viewer: ViewerDep,
    session: ReadSession,
    old: Annotated[int | None, Query(alias="from", gt=0, le=MAX_INTEGER)] = None,
    new: Annotated[int | None, Query(alias="to", gt=0, le=MAX_INTEGER)] = None,
) -> Response:
    """Two versions side by side: text, variables and configuration, as
    ``registry.prompts.diff`` finds them."""
    viewer.principal.require_scope(name)
    prompt = read_prompt(session, name)
    newest = prompt.latest_version or 1
    new = new or newest
    old = old or max(1, new - 1)
    changes = versions.diff(session, name, old, new)
    context = {
        "prompt": prompt,
        "old": old,
        "new": new,
        "diff": changes,
        "rows": side_by_side(changes.content),
    }
    return render(request, "editor/diff.html", context)


# ---------------------------------------------------------------- experiments


@router.get("/prompts/{name:path}/-/experiment")
def experiment_form(
    request: Request, name: PromptName, viewer: ViewerDep, session: ReadSession
) -> Response:
    """The form that starts an experiment on one of the prompt's labels."""
    _editable(viewer.principal, name)
    prompt = read_prompt(session, name)
    context = {"prompt": prompt, "error": None, "values": _experiment_defaults(prompt)}
    return render(request, "editor/experiment.html", context)


def _experiment_defaults(prompt: Prompt) -> dict[str, str]:
    newest = prompt.latest_version or 1
    control = prompt.labels.get("production", max(1, newest - 1))
    return {
        "name": "",
        "description": "",
        "label": "production",
        "metric": "success",
        "locales": "",
        "min_samples": "100",
        "arms.0.version": str(control),
        "arms.0.weight": "50",
        "arms.1.version": str(newest),
        "arms.1.weight": "50",
    }


@router.post("/prompts/{name:path}/-/experiment")
def start_experiment(
    request: Request, name: PromptName, viewer: ViewerDep, session: WriteSession, form: Form
) -> Response:
    """Start the experiment: ``experiments.service.create_experiment``, as the API does."""
    principal = viewer.principal
    _editable(principal, name)
    prompt = read_prompt(session, name)
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    arms = []
    for i in range(10):
        version = values.get(f"arms.{i}.version", "").strip()
        weight = values.get(f"arms.{i}.weight", "").strip()
        if version or weight:
            arms.append(
                {"name": values.get(f"arms.{i}.name") or None, "version": version, "weight": weight}
            )
    body = {
        "name": values.get("name", "").strip(),
        "description": values.get("description", ""),
        "label": values.get("label", "production").strip(),
        "metric": values.get("metric", "success"),
        "locales": [t for t in re.split(r"[\s,]+", values.get("locales", "")) if t],
        "min_samples": values.get("min_samples", "100").strip() or "100",
        "arms": arms,
    }
    try:
        try:
            data = ExperimentCreate.model_validate(body)
        except ValidationError as exc:
            raise InvalidInput(
                _("the experiment is not complete or not valid"), _validation_items(exc)
            ) from None
        with session.begin_nested():
            experiment = experiments.create_experiment(session, name, data, principal=principal)
    except RegistryError as exc:
        context = {"prompt": prompt, "error": exc, "values": values}
        return render(request, "editor/experiment.html", context, status_code=exc.status)
    return redirect(f"{PREFIX}/prompts/{name}?experiment={experiment.id}", request)
