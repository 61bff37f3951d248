"""Style guides stored in the registry, which guide a prompt uses, and linting with it.

Never commits; the caller's unit of work does.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import yaml
from cachetools import LRUCache
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from registry.access import audit
from registry.db import utcnow
from registry.errors import Conflict, ErrorItem, InvalidInput, NotFound, StyleViolation
from registry.locales.messages import _, _n
from registry.style import Finding, GuideError, LintInput, StyleGuide, default_guide, lint
from registry.style.guide import load_guide
from registry.style.models import (
    StyleBinding,
    StyleGuideRecord,
    StyleGuideVersion,
    VersionStyleReport,
)
from registry.style.schemas import (
    Binding,
    FindingOut,
    Guide,
    GuidePublish,
    GuideVersion,
    LintRequest,
    LintResult,
    StyleReport,
    finding_dict,
)

DEFAULT = "default"
_CACHE_SIZE = 64


@dataclass(frozen=True)
class ChosenGuide:
    name: str
    version: int | None
    guide: StyleGuide


class _CompiledGuides:
    """Compiled guides by name, version and the versions of every stored guide.

    Keyed on every stored guide's version because ``extends`` may name any of them;
    a replica that sees a new version compiles afresh, so no replica serves a stale rule.
    """

    def __init__(self) -> None:
        self._items: LRUCache[tuple[Any, ...], StyleGuide] = LRUCache(maxsize=_CACHE_SIZE)
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> StyleGuide | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple[Any, ...], guide: StyleGuide) -> None:
        with self._lock:
            self._items[key] = guide


_compiled = _CompiledGuides()


# ---------------------------------------------------------------- guides


def _record(session: Session, name: str) -> StyleGuideRecord:
    record = session.scalars(
        select(StyleGuideRecord).where(StyleGuideRecord.name == name)
    ).one_or_none()
    if record is None:
        raise NotFound(_("no style guide is named {name}").format(name=repr(name)))
    return record


def _latest_source(session: Session, name: str) -> Mapping[str, Any]:
    record = session.scalars(
        select(StyleGuideRecord).where(StyleGuideRecord.name == name)
    ).one_or_none()
    if record is None:
        raise LookupError(name)
    version = _version(session, record, record.latest_version)
    data = yaml.safe_load(version.source)
    if not isinstance(data, Mapping):
        raise LookupError(name)
    return data


def _version(session: Session, record: StyleGuideRecord, number: int) -> StyleGuideVersion:
    version = session.scalars(
        select(StyleGuideVersion).where(
            StyleGuideVersion.guide_id == record.id, StyleGuideVersion.number == number
        )
    ).one_or_none()
    if version is None:
        raise NotFound(
            _("style guide {name} has no version {number}").format(
                name=repr(record.name), number=number
            )
        )
    return version


def _guide_schema(record: StyleGuideRecord) -> Guide:
    return Guide(
        name=record.name,
        latest_version=record.latest_version,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def _version_schema(version: StyleGuideVersion) -> GuideVersion:
    return GuideVersion(
        guide=version.guide.name,
        number=version.number,
        source=version.source,
        message=version.message,
        author=version.author,
        content_hash=version.content_hash,
        created_at=version.created_at,
    )


def _compile(session: Session, source: str | Mapping[str, Any]) -> StyleGuide:
    def resolver(name: str) -> Mapping[str, Any]:
        return _latest_source(session, name)

    return load_guide(source, resolver=resolver)


def _guide_errors(exc: GuideError) -> InvalidInput:
    items = [
        ErrorItem(loc=("body", "source", *([path] if path else [])), message=message)
        for path, message in exc.errors
    ]
    return InvalidInput(
        _n(
            "the style guide has {count} problem: {problems}",
            "the style guide has {count} problems: {problems}",
            len(items),
        ).format(count=len(items), problems="; ".join(i.message for i in items[:5])),
        items,
    )


def publish_guide(session: Session, name: str, data: GuidePublish, *, author: str) -> GuideVersion:
    """Store a new version of a guide after compiling it; the same text returns the newest."""
    if name == DEFAULT:
        raise Conflict(
            _("the name 'default' is the guide shipped with the registry; choose another"),
            [ErrorItem(loc=("path", "name"), message=_("choose another name"))],
        )
    try:
        parsed = yaml.safe_load(data.source)
    except yaml.YAMLError as exc:
        raise InvalidInput(
            _("the style guide is not valid YAML: {error}").format(error=str(exc)),
            [ErrorItem(loc=("body", "source"), message=str(exc))],
        ) from None
    if not isinstance(parsed, Mapping):
        raise InvalidInput(
            _("a style guide is a YAML mapping with `rules`"),
            [ErrorItem(loc=("body", "source"), message=_("a style guide is a YAML mapping"))],
        )
    if parsed.get("extends") == name:
        raise InvalidInput(
            _("a style guide cannot extend itself"),
            [ErrorItem(loc=("body", "source", "extends"), message=_("name another guide"))],
        )
    try:
        _compile(session, parsed)
    except GuideError as exc:
        raise _guide_errors(exc) from None
    digest = hashlib.sha256(data.source.encode()).hexdigest()
    record = session.scalars(
        select(StyleGuideRecord).where(StyleGuideRecord.name == name).with_for_update()
    ).one_or_none()
    if record is None:
        record = StyleGuideRecord(name=name, latest_version=0)
        session.add(record)
        session.flush()
    elif record.latest_version:
        newest = _version(session, record, record.latest_version)
        if newest.content_hash == digest:
            return _version_schema(newest)
    record.latest_version += 1
    record.updated_at = utcnow()
    version = StyleGuideVersion(
        guide=record,
        number=record.latest_version,
        source=data.source,
        content_hash=digest,
        message=data.message,
        author=author,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        "style_guide.publish",
        target=f"{name}@{version.number}",
        before=None if version.number == 1 else {"version": version.number - 1},
        after={"version": version.number, "content_hash": digest, "message": data.message},
    )
    return _version_schema(version)


def list_guides(session: Session) -> list[Guide]:
    records = session.scalars(select(StyleGuideRecord).order_by(StyleGuideRecord.name))
    return [_guide_schema(r) for r in records]


def get_guide_version(session: Session, name: str, number: int | None) -> GuideVersion:
    record = _record(session, name)
    return _version_schema(_version(session, record, number or record.latest_version))


# ---------------------------------------------------------------- bindings


def _folder(folder: str) -> str:
    return folder.strip("/")


def set_binding(session: Session, folder: str, guide: str, *, actor: str) -> Binding:
    """Make prompts under ``folder`` use ``guide``."""
    folder = _folder(folder)
    if guide != DEFAULT:
        _record(session, guide)
    binding = session.scalars(
        select(StyleBinding).where(StyleBinding.folder == folder)
    ).one_or_none()
    before = None if binding is None else {"guide": binding.guide}
    if binding is None:
        binding = StyleBinding(folder=folder, guide=guide, updated_by=actor)
        session.add(binding)
    binding.guide = guide
    binding.updated_by = actor
    binding.updated_at = utcnow()
    session.flush()
    if before != {"guide": guide}:
        audit.record(
            session,
            "style_binding.set",
            target=folder or "*",
            before=before,
            after={"guide": guide},
        )
    return _binding_schema(binding)


def delete_binding(session: Session, folder: str) -> None:
    binding = session.scalars(
        select(StyleBinding).where(StyleBinding.folder == _folder(folder))
    ).one_or_none()
    if binding is None:
        raise NotFound(_("no style guide is set for folder {folder}").format(folder=repr(folder)))
    session.delete(binding)
    session.flush()
    audit.record(
        session,
        "style_binding.delete",
        target=binding.folder or "*",
        before={"guide": binding.guide},
    )


def list_bindings(session: Session) -> list[Binding]:
    bindings = session.scalars(select(StyleBinding).order_by(StyleBinding.folder))
    return [_binding_schema(b) for b in bindings]


def _binding_schema(binding: StyleBinding) -> Binding:
    return Binding(
        folder=binding.folder,
        guide=binding.guide,
        updated_at=binding.updated_at,
        updated_by=binding.updated_by,
    )


# ---------------------------------------------------------------- choosing and linting


# Every publish and lint runs these, so they are Core statements on the tables' columns,
# built once: no ORM compile or loading steps.
_BINDINGS = StyleBinding.__table__.c
_BINDINGS_OF_FOLDERS = select(_BINDINGS.folder, _BINDINGS.guide).where(
    _BINDINGS.folder.in_(bindparam("folders", expanding=True))
)
_GUIDES = StyleGuideRecord.__table__.c
_LATEST_OF_GUIDES = select(_GUIDES.name, _GUIDES.latest_version).order_by(_GUIDES.name)


def _bound_guide_name(session: Session, prompt: str) -> str:
    parts = prompt.split("/")[:-1]
    folders = ["", *("/".join(parts[: i + 1]) for i in range(len(parts)))]
    rows = session.execute(_BINDINGS_OF_FOLDERS, {"folders": folders})
    bindings: dict[str, str] = {row.folder: row.guide for row in rows}
    for folder in reversed(folders):
        if folder in bindings:
            return bindings[folder]
    return DEFAULT


def choose_guide(
    session: Session, *, prompt: str | None = None, name: str | None = None
) -> ChosenGuide:
    """The compiled guide named ``name``, or the one ``prompt``'s folder selects."""
    name = name or (_bound_guide_name(session, prompt) if prompt else DEFAULT)
    if name == DEFAULT:
        return ChosenGuide(DEFAULT, None, default_guide())
    versions = tuple((row.name, row.latest_version) for row in session.execute(_LATEST_OF_GUIDES))
    latest = dict(versions).get(name)
    if latest is None:
        raise NotFound(_("no style guide is named {name}").format(name=repr(name)))
    key = (name, latest, versions)
    guide = _compiled.get(key)
    if guide is None:
        record = _record(session, name)
        source = _version(session, record, latest).source
        try:
            guide = _compile(session, source)
        except GuideError as exc:
            # A guide it extends changed and no longer fits; the caller must fix one of them.
            raise _guide_errors(exc) from None
        _compiled.put(key, guide)
    return ChosenGuide(name, latest, guide)


def run_lint(
    chosen: ChosenGuide,
    *,
    template: str | None,
    messages: Sequence[tuple[str, str]] | None,
    variables: list[dict[str, Any]],
    locale: str,
    localized: bool,
) -> StyleReport:
    """Lint text with a chosen guide."""
    findings: list[Finding] = lint(
        LintInput(
            template=template,
            messages=list(messages) if messages is not None else None,
            variables=variables,
            locale=locale,
            localized=localized,
        ),
        chosen.guide,
    )
    return StyleReport(
        guide=chosen.name,
        guide_version=chosen.version,
        findings=[FindingOut(**finding_dict(f)) for f in findings],
    )


def refuse_errors(report: StyleReport, *, loc_prefix: tuple[str | int, ...] = ("body",)) -> None:
    """Raise StyleViolation listing every finding when the report has an error."""
    errors = [f for f in report.findings if f.level == "error"]
    if not errors:
        return
    items = []
    for f in errors:
        where = (
            (*loc_prefix, "template")
            if f.unit is None
            else (*loc_prefix, "messages", f.unit, "content")
        )
        items.append(
            ErrorItem(loc=where, message=f"{f.rule}: {f.message}", line=f.line, column=f.column)
        )
    raise StyleViolation(
        _n(
            "the style guide {guide} finds {count} error: {first}",
            "the style guide {guide} finds {count} errors; the first: {first}",
            len(errors),
        ).format(guide=repr(report.guide), count=len(errors), first=errors[0].message),
        items,
        extensions={"findings": [f.model_dump(mode="json") for f in report.findings]},
    )


def lint_request(session: Session, data: LintRequest) -> LintResult:
    """Check text against a guide without storing anything."""
    from registry.locales.requests import parse_locale
    from registry.translations.checks import lint_plurals

    locale = parse_locale(data.locale, ("body", "locale"))
    chosen = choose_guide(session, prompt=data.prompt, name=data.guide)
    messages = [(m.role, m.content) for m in data.messages] if data.messages else None
    report = run_lint(
        chosen,
        template=data.template,
        messages=messages,
        variables=[v.model_dump(mode="json") for v in data.variables],
        locale=locale,
        localized=data.localized,
    )
    # The plural filter's forms against the locale's CLDR categories, whatever the guide.
    plurals = lint_plurals(data.template, messages, locale)
    if plurals:
        report.findings = sorted(
            [*report.findings, *plurals], key=lambda f: (f.unit or 0, f.line, f.column)
        )
    return LintResult.build(report)


_INSERT_REPORT = insert(cast(Table, VersionStyleReport.__table__))


def store_report(session: Session, version_id: int, report: StyleReport) -> None:
    """Write a version's report; a Core insert, as nothing reads it back as an object."""
    session.execute(
        _INSERT_REPORT,
        {
            "version_id": version_id,
            "guide": report.guide,
            "guide_version": report.guide_version,
            "findings": [f.model_dump(mode="json") for f in report.findings],
        },
    )


def load_report(session: Session, version_id: int) -> StyleReport | None:
    row = session.get(VersionStyleReport, version_id)
    if row is None:
        return None
    return StyleReport(
        guide=row.guide,
        guide_version=row.guide_version,
        findings=[FindingOut(**f) for f in row.findings],
    )
