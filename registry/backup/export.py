"""Export a whole registry to one JSON document (see :class:`~registry.backup.schemas.Backup`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from registry.access.models import AuditEvent, LabelPolicy
from registry.backup.columns import to_record
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
from registry.experiments.models import Experiment, Exposure, Feedback
from registry.prompts.models import Label, LabelEvent, Prompt, PromptVersion
from registry.style.models import (
    StyleBinding,
    StyleGuideRecord,
    StyleGuideVersion,
    VersionStyleReport,
)
from registry.translations.models import RegistryInfo, Translation

__all__ = ["dumps", "export_registry", "snapshot"]


def snapshot(session: Session) -> None:
    """Make the rest of this transaction read one snapshot (PostgreSQL), before any query.

    Without it, a version published while the export runs could appear in one table and
    not in another. SQLite's transactions read one snapshot already.
    """
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


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

    def prompt_of(row: Any) -> str:
        return names[row.prompt_id]

    def version_of(row: Any) -> int:
        return numbers[row.version_id][1]

    backup = Backup(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        exported_at=utcnow(),
        registry=to_record(RegistryRecord, info),
        prompts=[to_record(PromptRecord, p, tags=p.tag_names) for p in prompts],
        versions=[to_record(VersionRecord, v, prompt=prompt_of(v)) for v in versions],
        labels=[
            to_record(LabelRecord, x, prompt=prompt_of(x), version=version_of(x)) for x in labels
        ],
        label_events=[to_record(LabelEventRecord, e, prompt=prompt_of(e)) for e in events],
        translations=[
            to_record(
                TranslationRecord,
                t,
                prompt=prompt_of(t),
                version=version_of(t),
                revisions=[
                    to_record(RevisionRecord, r)
                    for r in sorted(t.revisions, key=lambda r: r.number)
                ],
            )
            for t in translations
        ],
        style_guides=[
            to_record(
                GuideRecord,
                g,
                versions=[to_record(GuideVersionRecord, gv) for gv in guide_versions[g.id]],
            )
            for g in guides
        ],
        style_bindings=[to_record(BindingRecord, b) for b in bindings],
        style_reports=[
            to_record(StyleReportRecord, r, prompt=numbers[r.version_id][0], version=version_of(r))
            for r in reports
        ],
        label_policies=[to_record(LabelPolicyRecord, lp) for lp in label_policies],
        audit_events=[to_record(AuditEventRecord, a) for a in audit_events],
        experiments=[
            to_record(
                ExperimentRecord,
                x,
                prompt=prompt_of(x),
                running=x.running_label is not None,
                arms=[to_record(ArmRecord, a) for a in x.arms],
                exposures=[to_record(ExposureRecord, e) for e in exposures[x.id]],
                feedback=[to_record(FeedbackRecord, f) for f in outcomes[x.id]],
            )
            for x in experiments
        ],
    )
    return backup.model_dump(mode="json")


def dumps(data: Mapping[str, Any]) -> str:
    """The backup as the text written to a file: stable, readable, UTF-8 as is."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
