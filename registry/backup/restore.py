"""Restore a backup into an empty registry, every row complete in one insert.

Never commits: the caller's unit of work does, so a restore that fails anywhere leaves
the database as empty as it found it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from registry.access import audit
from registry.access.models import AuditEvent, LabelPolicy
from registry.backup.columns import to_row
from registry.backup.schemas import ExperimentRecord, ImportSummary
from registry.backup.validate import parse_backup
from registry.errors import Conflict, ErrorItem
from registry.experiments.models import Experiment, ExperimentArm, Exposure, Feedback
from registry.locales.messages import _, _n
from registry.prompts.includes import write_links
from registry.prompts.models import Label, LabelEvent, Prompt, PromptTag, PromptVersion
from registry.style.models import (
    StyleBinding,
    StyleGuideRecord,
    StyleGuideVersion,
    VersionStyleReport,
)
from registry.translations.models import RegistryInfo, Translation, TranslationRevision

__all__ = ["Progress", "import_registry"]

Progress = Callable[[str, int], None]

# The tables that make a registry not empty (the set-up's own rows, such as its first
# keys and their audit events, do not).
_CONTENT = {
    "prompts": Prompt,
    "style_guides": StyleGuideRecord,
    "style_bindings": StyleBinding,
    "label_policies": LabelPolicy,
}


def _require_empty(session: Session) -> None:
    counts = {
        table: session.scalar(select(func.count()).select_from(model)) or 0
        for table, model in _CONTENT.items()
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
    session.add(to_row(RegistryInfo, backup.registry))
    step("registry_info", 1)

    prompts = {
        p.name: to_row(Prompt, p, tags=[PromptTag(tag=t) for t in p.tags]) for p in backup.prompts
    }
    session.add_all(prompts.values())
    step("prompts", len(prompts))

    # Published versions are immutable in the store: each row goes in complete, once.
    versions = {
        (v.prompt, v.number): to_row(PromptVersion, v, prompt_id=prompts[v.prompt].id)
        for v in backup.versions
    }
    session.add_all(versions.values())
    step("versions", len(versions))
    # Derived from the versions, so not in the file: written as a publish writes them.
    write_links(session, ((v.id, v.prompt_id, v.includes) for v in versions.values()))

    def version_id(prompt: str, number: int) -> int:
        return versions[(prompt, number)].id

    session.add_all(
        to_row(Label, x, prompt_id=prompts[x.prompt].id, version_id=version_id(x.prompt, x.version))
        for x in backup.labels
    )
    step("labels", len(backup.labels))
    # In file order, so the new ids keep each label's history in sequence.
    session.add_all(
        to_row(LabelEvent, e, prompt_id=prompts[e.prompt].id) for e in backup.label_events
    )
    step("label_events", len(backup.label_events))

    session.add_all(
        to_row(
            Translation,
            t,
            prompt_id=prompts[t.prompt].id,
            version_id=version_id(t.prompt, t.version),
            revisions=[to_row(TranslationRevision, r) for r in t.revisions],
        )
        for t in backup.translations
    )
    step("translations", len(backup.translations))

    for g in backup.style_guides:
        guide = to_row(StyleGuideRecord, g)
        session.add(guide)
        session.add_all(to_row(StyleGuideVersion, gv, guide=guide) for gv in g.versions)
    step("style_guides", len(backup.style_guides))
    session.add_all(to_row(StyleBinding, b) for b in backup.style_bindings)
    step("style_bindings", len(backup.style_bindings))
    session.add_all(
        to_row(VersionStyleReport, r, version_id=version_id(r.prompt, r.version))
        for r in backup.style_reports
    )
    step("style_reports", len(backup.style_reports))
    session.add_all(to_row(LabelPolicy, lp) for lp in backup.label_policies)
    step("label_policies", len(backup.label_policies))
    # Oldest first, after any events of this registry's own set-up (its first keys).
    session.add_all(to_row(AuditEvent, a) for a in backup.audit_events)
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
    experiment = to_row(
        Experiment,
        x,
        prompt_id=prompt_id,
        running_label=x.label if x.running else None,
        arms=[
            to_row(
                ExperimentArm,
                a,
                position=position,
                version_id=versions[(x.prompt, a.version)].id,
            )
            for position, a in enumerate(x.arms)
        ],
    )
    session.add(experiment)
    session.flush()  # one at a time, so the ids follow the file
    session.add_all(to_row(Exposure, e, experiment_id=experiment.id) for e in x.exposures)
    session.add_all(to_row(Feedback, f, experiment_id=experiment.id) for f in x.feedback)
