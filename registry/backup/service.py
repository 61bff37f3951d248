"""Export a whole registry to one JSON document, and restore one into an empty registry.

Never commits: the caller's unit of work does, so a restore that fails anywhere leaves
the database as empty as it found it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, selectinload

from registry.access import audit
from registry.access.models import AuditEvent, LabelPolicy
from registry.backup.schemas import (
    FORMAT,
    FORMAT_VERSION,
    ArmRecord,
    AuditEventRecord,
    Backup,
    BindingRecord,
    ExperimentRecord,
    ExposureRecord,
    FeedbackRecord,
    GuideRecord,
    GuideVersionRecord,
    ImportSummary,
    LabelEventRecord,
    LabelPolicyRecord,
    LabelRecord,
    PromptRecord,
    RegistryRecord,
    RevisionRecord,
    StyleReportRecord,
    TranslationRecord,
    VersionRecord,
)
from registry.db import utcnow
from registry.errors import Conflict, ErrorItem, InvalidInput
from registry.experiments.models import Experiment, ExperimentArm, Exposure, Feedback
from registry.i18n.messages import _, _n
from registry.i18n.models import RegistryInfo, Translation, TranslationRevision
from registry.prompts.models import Label, LabelEvent, Prompt, PromptTag, PromptVersion
from registry.prompts.schemas import Kind
from registry.style.models import (
    StyleBinding,
    StyleGuideRecord,
    StyleGuideVersion,
    VersionStyleReport,
)

Progress = Callable[[str, int], None]

# The builtin guide is not stored, yet folders may be bound to it.
_BUILTIN_GUIDES = frozenset({"default"})

# ---------------------------------------------------------------- export


def snapshot(session: Session) -> None:
    """Make the rest of this transaction read one snapshot (PostgreSQL), before any query.

    Without it, a version published while the export runs could appear in one table and
    not in another. SQLite's transactions read one snapshot already.
    """
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _canonical(value: Any) -> Any:
    # JSONB keeps object keys in its own order; sorting makes every store write the same.
    if isinstance(value, dict):
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def export_registry(session: Session) -> dict[str, Any]:
    """Every row of the registry as a backup document (see :class:`Backup`).

    Rows are ordered by name and number, history oldest first; no id is written, so two
    exports of the same data are identical apart from ``exported_at``, whichever store
    they come from.
    """
    info = session.scalars(select(RegistryInfo)).one()
    prompts = list(
        session.scalars(select(Prompt).options(selectinload(Prompt.tags)).order_by(Prompt.name))
    )
    names = {p.id: p.name for p in prompts}
    versions = sorted(
        session.scalars(select(PromptVersion)), key=lambda v: (names[v.prompt_id], v.number)
    )
    numbers = {v.id: (names[v.prompt_id], v.number) for v in versions}
    labels = sorted(session.scalars(select(Label)), key=lambda x: (names[x.prompt_id], x.name))
    events = sorted(session.scalars(select(LabelEvent)), key=lambda e: (names[e.prompt_id], e.id))
    # Oldest first, like label history: restored into a new store, translations get the
    # same ids as long as the source's have no gaps, and served ETags embed those ids.
    translations = session.scalars(
        select(Translation).options(selectinload(Translation.revisions)).order_by(Translation.id)
    )
    guides = list(session.scalars(select(StyleGuideRecord).order_by(StyleGuideRecord.name)))
    guide_versions: dict[int, list[StyleGuideVersion]] = {g.id: [] for g in guides}
    for gv in session.scalars(select(StyleGuideVersion).order_by(StyleGuideVersion.number)):
        guide_versions[gv.guide_id].append(gv)
    bindings = session.scalars(select(StyleBinding).order_by(StyleBinding.folder))
    reports = sorted(
        session.scalars(select(VersionStyleReport)), key=lambda r: numbers[r.version_id]
    )
    label_policies = session.scalars(select(LabelPolicy).order_by(LabelPolicy.path))
    audit_events = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    experiments = list(session.scalars(select(Experiment).order_by(Experiment.id)))
    exposures: dict[int, list[Exposure]] = {e.id: [] for e in experiments}
    for exposure in session.scalars(select(Exposure).order_by(Exposure.subject)):
        exposures[exposure.experiment_id].append(exposure)
    outcomes: dict[int, list[Feedback]] = {e.id: [] for e in experiments}
    for feedback in session.scalars(select(Feedback).order_by(Feedback.id)):
        outcomes[feedback.experiment_id].append(feedback)

    backup = Backup(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        exported_at=utcnow(),
        registry=RegistryRecord(id=info.id, created_at=_utc(info.created_at)),
        prompts=[
            PromptRecord(
                name=p.name,
                kind=Kind(p.kind),
                source_locale=p.source_locale,
                description=p.description,
                tags=p.tag_names,
                latest_version=p.latest_version,
                created_at=_utc(p.created_at),
                updated_at=_utc(p.updated_at),
                archived_at=_utc(p.archived_at) if p.archived_at else None,
            )
            for p in prompts
        ],
        versions=[
            VersionRecord(
                prompt=names[v.prompt_id],
                number=v.number,
                template=v.template,
                messages=_canonical(v.messages),
                variables=_canonical(v.variables),
                config=_canonical(v.config),
                includes=list(v.includes),
                message=v.message,
                author=v.author,
                content_hash=v.content_hash,
                created_at=_utc(v.created_at),
            )
            for v in versions
        ],
        labels=[
            LabelRecord(
                prompt=names[x.prompt_id],
                name=x.name,
                version=numbers[x.version_id][1],
                updated_at=_utc(x.updated_at),
                updated_by=x.updated_by,
            )
            for x in labels
        ],
        label_events=[
            LabelEventRecord(
                prompt=names[e.prompt_id],
                label=e.label,
                from_version=e.from_version,
                to_version=e.to_version,
                actor=e.actor,
                reason=e.reason,
                created_at=_utc(e.created_at),
            )
            for e in events
        ],
        translations=[
            TranslationRecord(
                prompt=names[t.prompt_id],
                version=numbers[t.version_id][1],
                locale=t.locale,
                status=t.status,
                texts=list(t.texts),
                source_texts=list(t.source_texts),
                approved_texts=list(t.approved_texts) if t.approved_texts is not None else None,
                approved_stale=t.approved_stale,
                revision=t.revision,
                updated_at=_utc(t.updated_at),
                updated_by=t.updated_by,
                revisions=[
                    RevisionRecord(
                        number=r.number,
                        status=r.status,
                        texts=list(r.texts),
                        note=r.note,
                        author=r.author,
                        created_at=_utc(r.created_at),
                    )
                    for r in sorted(t.revisions, key=lambda r: r.number)
                ],
            )
            for t in translations
        ],
        style_guides=[
            GuideRecord(
                name=g.name,
                latest_version=g.latest_version,
                created_at=_utc(g.created_at),
                updated_at=_utc(g.updated_at),
                versions=[
                    GuideVersionRecord(
                        number=gv.number,
                        source=gv.source,
                        content_hash=gv.content_hash,
                        message=gv.message,
                        author=gv.author,
                        created_at=_utc(gv.created_at),
                    )
                    for gv in guide_versions[g.id]
                ],
            )
            for g in guides
        ],
        style_bindings=[
            BindingRecord(
                folder=b.folder,
                guide=b.guide,
                updated_at=_utc(b.updated_at),
                updated_by=b.updated_by,
            )
            for b in bindings
        ],
        style_reports=[
            StyleReportRecord(
                prompt=numbers[r.version_id][0],
                version=numbers[r.version_id][1],
                guide=r.guide,
                guide_version=r.guide_version,
                findings=_canonical(r.findings),
                created_at=_utc(r.created_at),
            )
            for r in reports
        ],
        label_policies=[
            LabelPolicyRecord(
                path=lp.path,
                protected=list(lp.protected),
                four_eyes=lp.four_eyes,
                updated_at=_utc(lp.updated_at),
                updated_by=lp.updated_by,
            )
            for lp in label_policies
        ],
        audit_events=[
            AuditEventRecord(
                at=_utc(a.at),
                key_id=a.key_id,
                actor=a.actor,
                action=a.action,
                prompt=a.prompt,
                target=a.target,
                before=_canonical(a.before),
                after=_canonical(a.after),
            )
            for a in audit_events
        ],
        experiments=[
            _experiment_record(x, names, exposures[x.id], outcomes[x.id]) for x in experiments
        ],
    )
    return backup.model_dump(mode="json")


def _experiment_record(
    x: Experiment, names: dict[int, str], exposures: list[Exposure], outcomes: list[Feedback]
) -> ExperimentRecord:
    return ExperimentRecord(
        prompt=names[x.prompt_id],
        name=x.name,
        description=x.description,
        label=x.label,
        running=x.running_label is not None,
        metric=x.metric,
        locales=list(x.locales),
        min_samples=x.min_samples,
        salt=x.salt,
        status=x.status,
        created_at=_utc(x.created_at),
        created_by=x.created_by,
        ended_at=_utc(x.ended_at) if x.ended_at else None,
        ended_by=x.ended_by,
        promoted_arm=x.promoted_arm,
        arms=[ArmRecord(name=a.name, version=a.version, weight=a.weight) for a in x.arms],
        exposures=[
            ExposureRecord(subject=e.subject, arm=e.arm, first_at=_utc(e.first_at))
            for e in exposures
        ],
        feedback=[
            FeedbackRecord(
                subject=f.subject,
                arm=f.arm,
                value=f.value,
                resolve_id=f.resolve_id,
                source=f.source,
                created_at=_utc(f.created_at),
            )
            for f in outcomes
        ],
    )


def dumps(data: Mapping[str, Any]) -> str:
    """The backup as the text written to a file: stable, readable, UTF-8 as is."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------- checks


def _invalid(items: list[ErrorItem]) -> InvalidInput:
    summary = "; ".join(f"{'.'.join(map(str, i.loc))}: {i.message}" for i in items[:5])
    return InvalidInput(_("the backup is not valid: {problems}").format(problems=summary), items)


def parse_backup(data: Any) -> Backup:
    """The file as a :class:`Backup`, or an :class:`InvalidInput` naming every problem."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise _invalid(
            [
                ErrorItem(
                    loc=("format",),
                    message=_("not a prompt registry backup: format must be {format}").format(
                        format=repr(FORMAT)
                    ),
                )
            ]
        )
    found = data.get("format_version")
    if found != FORMAT_VERSION:
        raise _invalid(
            [
                ErrorItem(
                    loc=("format_version",),
                    message=_(
                        "backup format version {found} is not supported; "
                        "this registry reads version {supported}"
                    ).format(found=repr(found), supported=FORMAT_VERSION),
                )
            ]
        )
    try:
        backup = Backup.model_validate(data)
    except ValidationError as exc:
        raise _invalid(
            [ErrorItem(loc=tuple(e["loc"]), message=str(e["msg"])) for e in exc.errors()]
        ) from None
    problems = _reference_problems(backup)
    if problems:
        raise _invalid(problems)
    return backup


def _duplicates(
    section: str, keys: Iterable[Hashable], field: str, describe: Callable[[Any], str]
) -> list[ErrorItem]:
    seen: set[Hashable] = set()
    items = []
    for index, key in enumerate(keys):
        if key in seen:
            items.append(
                ErrorItem(
                    loc=(section, index, field),
                    message=_("{key} appears more than once").format(key=describe(key)),
                )
            )
        seen.add(key)
    return items


def _numbering(loc: tuple[str | int, ...], latest: int, numbers: Iterable[int]) -> list[ErrorItem]:
    found = sorted(numbers)
    if found == list(range(1, latest + 1)):
        return []
    return [
        ErrorItem(
            loc=loc,
            message=_("the numbers must run from 1 to {latest} without gaps; found {found}").format(
                latest=latest, found=", ".join(map(str, found)) or "-"
            ),
        )
    ]


def _reference_problems(backup: Backup) -> list[ErrorItem]:
    """What the schema alone cannot see: references to rows the file does not hold."""
    items: list[ErrorItem] = []
    prompts = {p.name: p for p in backup.prompts}
    versions = {(v.prompt, v.number) for v in backup.versions}
    guides = {g.name for g in backup.style_guides}

    def unknown_prompt(name: str) -> str:
        return _("no prompt {name} in this backup").format(name=repr(name))

    def missing_version(loc: tuple[str | int, ...], name: str, number: int) -> list[ErrorItem]:
        if (name, number) in versions:
            return []
        if name not in prompts:
            return [ErrorItem(loc=loc, message=unknown_prompt(name))]
        message = _("prompt {name} has no version {number} in this backup").format(
            name=repr(name), number=number
        )
        return [ErrorItem(loc=loc, message=message)]

    items += _duplicates("prompts", (p.name for p in backup.prompts), "name", repr)
    for i, p in enumerate(backup.prompts):
        items += _duplicates(f"prompts.{i}.tags", p.tags, "tag", repr)
    items += _duplicates(
        "versions",
        ((v.prompt, v.number) for v in backup.versions),
        "number",
        lambda k: f"{k[0]!r} v{k[1]}",
    )
    for i, v in enumerate(backup.versions):
        prompt = prompts.get(v.prompt)
        if prompt is None:
            items.append(ErrorItem(loc=("versions", i, "prompt"), message=unknown_prompt(v.prompt)))
        elif (prompt.kind is Kind.text) != (v.template is not None and v.messages is None):
            items.append(
                ErrorItem(
                    loc=("versions", i),
                    # TRANSLATORS: `template` and `messages` are fields of the file; keep them.
                    message=_(
                        "a version of a {kind} prompt has either `template` or `messages`, "
                        "as its kind says"
                    ).format(kind=prompt.kind.value),
                )
            )
    numbers: dict[str, list[int]] = {}
    for v in backup.versions:
        numbers.setdefault(v.prompt, []).append(v.number)
    for i, p in enumerate(backup.prompts):
        items += _numbering(
            ("prompts", i, "latest_version"), p.latest_version, numbers.get(p.name, [])
        )

    items += _duplicates(
        "labels",
        ((x.prompt, x.name) for x in backup.labels),
        "name",
        lambda k: f"{k[0]!r} {k[1]!r}",
    )
    for i, x in enumerate(backup.labels):
        items += missing_version(("labels", i, "version"), x.prompt, x.version)
    for i, e in enumerate(backup.label_events):
        if e.prompt not in prompts:
            items.append(
                ErrorItem(loc=("label_events", i, "prompt"), message=unknown_prompt(e.prompt))
            )

    items += _duplicates(
        "translations",
        ((t.prompt, t.version, t.locale) for t in backup.translations),
        "locale",
        lambda k: f"{k[0]!r} v{k[1]} {k[2]}",
    )
    for i, t in enumerate(backup.translations):
        items += missing_version(("translations", i, "version"), t.prompt, t.version)
        items += _duplicates(
            f"translations.{i}.revisions", (r.number for r in t.revisions), "number", str
        )

    items += _duplicates("style_guides", (g.name for g in backup.style_guides), "name", repr)
    for i, g in enumerate(backup.style_guides):
        items += _numbering(
            ("style_guides", i, "latest_version"), g.latest_version, (v.number for v in g.versions)
        )
    items += _duplicates(
        "style_bindings", (b.folder for b in backup.style_bindings), "folder", repr
    )
    for i, b in enumerate(backup.style_bindings):
        if b.guide not in guides and b.guide not in _BUILTIN_GUIDES:
            items.append(
                ErrorItem(
                    loc=("style_bindings", i, "guide"),
                    message=_("no style guide {name} in this backup").format(name=repr(b.guide)),
                )
            )
    items += _duplicates(
        "style_reports",
        ((r.prompt, r.version) for r in backup.style_reports),
        "version",
        lambda k: f"{k[0]!r} v{k[1]}",
    )
    for i, r in enumerate(backup.style_reports):
        items += missing_version(("style_reports", i, "version"), r.prompt, r.version)
    items += _duplicates("label_policies", (lp.path for lp in backup.label_policies), "path", repr)
    for i, experiment in enumerate(backup.experiments):
        for j, arm in enumerate(experiment.arms):
            loc = ("experiments", i, "arms", j, "version")
            items += missing_version(loc, experiment.prompt, arm.version)
        subjects = (e.subject for e in experiment.exposures)
        items += _duplicates(f"experiments.{i}.exposures", subjects, "subject", repr)
    items += _duplicates(
        "experiments",
        ((e.prompt, e.label) for e in backup.experiments if e.running),
        "label",
        lambda k: f"{k[0]!r} {k[1]!r} (running)",
    )
    return items


# ---------------------------------------------------------------- import


def _require_empty(session: Session) -> None:
    counts = {
        "prompts": session.scalar(select(func.count()).select_from(Prompt)) or 0,
        "style_guides": session.scalar(select(func.count()).select_from(StyleGuideRecord)) or 0,
        "style_bindings": session.scalar(select(func.count()).select_from(StyleBinding)) or 0,
        "label_policies": session.scalar(select(func.count()).select_from(LabelPolicy)) or 0,
    }
    if any(counts.values()):
        raise Conflict(
            _("the registry is not empty; a backup is restored only into an empty registry"),
            [
                ErrorItem(
                    loc=(table,),
                    message=_n("{count} row is stored", "{count} rows are stored", n).format(
                        count=n
                    ),
                )
                for table, n in counts.items()
                if n
            ],
        )


def import_registry(
    session: Session, data: Any, *, progress: Progress | None = None
) -> ImportSummary:
    """Restore a backup into an empty registry, every row complete in one insert.

    ``data`` is the parsed JSON of the file; it is checked whole before anything is
    written. ``progress`` hears each table as it is written, with its row count.
    """
    backup = parse_backup(data)
    _require_empty(session)

    def step(table: str, count: int) -> None:
        session.flush()
        if progress is not None:
            progress(table, count)

    session.execute(delete(RegistryInfo))
    session.add(RegistryInfo(id=backup.registry.id, created_at=backup.registry.created_at))
    step("registry_info", 1)

    prompts: dict[str, Prompt] = {}
    for p in backup.prompts:
        prompts[p.name] = Prompt(
            name=p.name,
            kind=p.kind.value,
            source_locale=p.source_locale,
            description=p.description,
            latest_version=p.latest_version,
            created_at=p.created_at,
            updated_at=p.updated_at,
            archived_at=p.archived_at,
            tags=[PromptTag(tag=t) for t in p.tags],
        )
    session.add_all(prompts.values())
    step("prompts", len(prompts))

    # Published versions are immutable in the store: each row goes in complete, once.
    versions: dict[tuple[str, int], PromptVersion] = {}
    for v in backup.versions:
        versions[(v.prompt, v.number)] = PromptVersion(
            prompt_id=prompts[v.prompt].id,
            number=v.number,
            template=v.template,
            messages=v.messages,
            variables=v.variables,
            config=v.config,
            includes=v.includes,
            message=v.message,
            author=v.author,
            content_hash=v.content_hash,
            created_at=v.created_at,
        )
    session.add_all(versions.values())
    step("versions", len(versions))

    session.add_all(
        Label(
            prompt_id=prompts[x.prompt].id,
            name=x.name,
            version_id=versions[(x.prompt, x.version)].id,
            updated_at=x.updated_at,
            updated_by=x.updated_by,
        )
        for x in backup.labels
    )
    step("labels", len(backup.labels))
    # In file order, so the new ids keep each label's history in sequence.
    session.add_all(
        LabelEvent(
            prompt_id=prompts[e.prompt].id,
            label=e.label,
            from_version=e.from_version,
            to_version=e.to_version,
            actor=e.actor,
            reason=e.reason,
            created_at=e.created_at,
        )
        for e in backup.label_events
    )
    step("label_events", len(backup.label_events))

    session.add_all(
        Translation(
            prompt_id=prompts[t.prompt].id,
            version_id=versions[(t.prompt, t.version)].id,
            locale=t.locale,
            status=t.status,
            texts=t.texts,
            source_texts=t.source_texts,
            approved_texts=t.approved_texts,
            approved_stale=t.approved_stale,
            revision=t.revision,
            updated_at=t.updated_at,
            updated_by=t.updated_by,
            revisions=[
                TranslationRevision(
                    number=r.number,
                    status=r.status,
                    texts=r.texts,
                    note=r.note,
                    author=r.author,
                    created_at=r.created_at,
                )
                for r in t.revisions
            ],
        )
        for t in backup.translations
    )
    step("translations", len(backup.translations))

    for g in backup.style_guides:
        record = StyleGuideRecord(
            name=g.name,
            latest_version=g.latest_version,
            created_at=g.created_at,
            updated_at=g.updated_at,
        )
        session.add(record)
        session.add_all(
            StyleGuideVersion(
                guide=record,
                number=gv.number,
                source=gv.source,
                content_hash=gv.content_hash,
                message=gv.message,
                author=gv.author,
                created_at=gv.created_at,
            )
            for gv in g.versions
        )
    step("style_guides", len(backup.style_guides))
    session.add_all(
        StyleBinding(
            folder=b.folder, guide=b.guide, updated_at=b.updated_at, updated_by=b.updated_by
        )
        for b in backup.style_bindings
    )
    step("style_bindings", len(backup.style_bindings))
    session.add_all(
        VersionStyleReport(
            version_id=versions[(r.prompt, r.version)].id,
            guide=r.guide,
            guide_version=r.guide_version,
            findings=r.findings,
            created_at=r.created_at,
        )
        for r in backup.style_reports
    )
    step("style_reports", len(backup.style_reports))
    session.add_all(
        LabelPolicy(
            path=lp.path,
            protected=lp.protected,
            four_eyes=lp.four_eyes,
            updated_at=lp.updated_at,
            updated_by=lp.updated_by,
        )
        for lp in backup.label_policies
    )
    step("label_policies", len(backup.label_policies))
    # Oldest first, after any events of this registry's own set-up (its first keys).
    session.add_all(
        AuditEvent(
            at=a.at,
            key_id=a.key_id,
            actor=a.actor,
            action=a.action,
            prompt=a.prompt,
            target=a.target,
            before=a.before,
            after=a.after,
        )
        for a in backup.audit_events
    )
    step("audit_events", len(backup.audit_events))
    for x in backup.experiments:
        _restore_experiment(session, x, prompts[x.prompt].id, versions)
    step("experiments", len(backup.experiments))
    audit.record(
        session,
        "registry.import",
        target=backup.registry.id,
        after={"prompts": len(backup.prompts), "versions": len(backup.versions)},
    )

    return ImportSummary(
        registry_id=backup.registry.id,
        prompts=len(backup.prompts),
        versions=len(backup.versions),
        labels=len(backup.labels),
        label_events=len(backup.label_events),
        translations=len(backup.translations),
        translation_revisions=sum(len(t.revisions) for t in backup.translations),
        style_guides=len(backup.style_guides),
        style_guide_versions=sum(len(g.versions) for g in backup.style_guides),
        style_bindings=len(backup.style_bindings),
        style_reports=len(backup.style_reports),
        label_policies=len(backup.label_policies),
        audit_events=len(backup.audit_events),
        experiments=len(backup.experiments),
    )


def _restore_experiment(
    session: Session,
    x: ExperimentRecord,
    prompt_id: int,
    versions: Mapping[tuple[str, int], PromptVersion],
) -> None:
    experiment = Experiment(
        prompt_id=prompt_id,
        name=x.name,
        description=x.description,
        label=x.label,
        running_label=x.label if x.running else None,
        metric=x.metric,
        locales=x.locales,
        min_samples=x.min_samples,
        salt=x.salt,
        status=x.status,
        created_at=x.created_at,
        created_by=x.created_by,
        ended_at=x.ended_at,
        ended_by=x.ended_by,
        promoted_arm=x.promoted_arm,
        arms=[
            ExperimentArm(
                position=position,
                name=a.name,
                version_id=versions[(x.prompt, a.version)].id,
                version=a.version,
                weight=a.weight,
            )
            for position, a in enumerate(x.arms)
        ],
    )
    session.add(experiment)
    session.flush()  # one at a time, so the ids follow the file
    session.add_all(
        Exposure(experiment_id=experiment.id, subject=e.subject, arm=e.arm, first_at=e.first_at)
        for e in x.exposures
    )
    session.add_all(
        Feedback(
            experiment_id=experiment.id,
            subject=f.subject,
            arm=f.arm,
            value=f.value,
            resolve_id=f.resolve_id,
            source=f.source,
            created_at=f.created_at,
        )
        for f in x.feedback
    )
