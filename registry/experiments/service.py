"""Business rules for experiments. Never commits; the caller's unit of work does."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from registry.access import audit, policies
from registry.access.roles import Permission, Principal
from registry.access.scopes import readable_names
from registry.db import utcnow
from registry.errors import Conflict, ErrorItem, Forbidden, InvalidInput, NotFound
from registry.experiments import stats
from registry.experiments.assignment import arm_index, new_salt, parse_resolve_id
from registry.experiments.models import Experiment as ExperimentRow
from registry.experiments.models import ExperimentArm as ArmRow
from registry.experiments.models import Exposure, Feedback
from registry.experiments.schemas import (
    Arm,
    ArmResult,
    Experiment,
    ExperimentCreate,
    ExperimentPage,
    ExperimentPromote,
    ExperimentStop,
    ExperimentUpdate,
    ExposureItem,
    ExposuresRecorded,
    FeedbackCreate,
    FeedbackRecorded,
    Metric,
    Results,
    Status,
    Verdict,
)
from registry.locales.messages import _
from registry.locales.requests import parse_locale
from registry.prompts import models as prompt_models
from registry.prompts import prompts
from registry.prompts.labels import set_label
from registry.prompts.schemas import LATEST, LabelSet

log = logging.getLogger("registry.experiments")


# ---------------------------------------------------------------- read models


def experiment_schema(row: ExperimentRow, prompt: str) -> Experiment:
    return Experiment(
        id=row.id,
        prompt=prompt,
        name=row.name,
        description=row.description,
        label=row.label,
        status=Status(row.status),
        metric=Metric(row.metric),
        arms=[Arm(name=a.name, version=a.version, weight=a.weight) for a in row.arms],
        locales=list(row.locales),
        min_samples=row.min_samples,
        salt=row.salt,
        created_at=row.created_at,
        created_by=row.created_by,
        ended_at=row.ended_at,
        ended_by=row.ended_by,
        promoted_arm=row.promoted_arm,
    )


def _prompt_name(session: Session, row: ExperimentRow) -> str:
    name = session.scalar(
        select(prompt_models.Prompt.name).where(prompt_models.Prompt.id == row.prompt_id)
    )
    assert name is not None
    return name


def get_row(session: Session, experiment_id: int, *, lock: bool = False) -> ExperimentRow:
    query = select(ExperimentRow).where(ExperimentRow.id == experiment_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = session.scalars(query).one_or_none()
    if row is None:
        raise NotFound(_("there is no experiment {id}").format(id=experiment_id))
    return row


def prompt_of(
    session: Session, experiment_id: int, principal: Principal, *, change: bool = False
) -> str:
    """The name of the prompt an experiment belongs to, once ``principal`` may read it
    (or with ``change``, change it).

    An experiment on a prompt the key may not read is answered as one that does not
    exist, so no refusal tells that it does, or names its prompt.
    """
    return _visible_name(session, get_row(session, experiment_id), principal, change=change)


def _visible_name(
    session: Session, row: ExperimentRow, principal: Principal, *, change: bool
) -> str:
    name = _prompt_name(session, row)
    if not principal.may_read(name):
        raise NotFound(_("there is no experiment {id}").format(id=row.id))
    principal.require_scope(name, change=change)
    return name


def get_experiment(session: Session, experiment_id: int) -> Experiment:
    row = get_row(session, experiment_id)
    return experiment_schema(row, _prompt_name(session, row))


def list_experiments(
    session: Session,
    *,
    prompt: str | None = None,
    status: Status | None = None,
    within: Sequence[str] | None = None,
    limit: int = 100,
) -> ExperimentPage:
    """Experiments newest first, of one prompt or all (in the caller's folder)."""
    query = (
        select(ExperimentRow, prompt_models.Prompt.name)
        .join(prompt_models.Prompt, prompt_models.Prompt.id == ExperimentRow.prompt_id)
        .order_by(ExperimentRow.id.desc())
        .limit(limit)
    )
    if prompt is not None:
        prompts.get_prompt(session, prompt)  # 404 for an unknown prompt
        query = query.where(prompt_models.Prompt.name == prompt)
    readable = readable_names(prompt_models.Prompt.name, within)
    if readable is not None:
        query = query.where(readable)
    if status is not None:
        query = query.where(ExperimentRow.status == status.value)
    return ExperimentPage(
        items=[experiment_schema(row, name) for row, name in session.execute(query)]
    )


# ---------------------------------------------------------------- lifecycle


def create_experiment(
    session: Session,
    name: str,
    data: ExperimentCreate,
    *,
    principal: Principal,
    salt: str | None = None,
) -> Experiment:
    """Start an experiment on a label of prompt ``name``; ``salt`` is for fixed demos."""
    prompt = prompts.get_prompt(session, name, lock=True)
    if data.label == LATEST:
        raise InvalidInput(
            _(
                "the label {latest} always means the newest version; experiments need a label "
                "that stays put"
            ).format(latest=repr(LATEST)),
            [ErrorItem(loc=("body", "label"), message=_("choose another label"))],
        )
    if prompt.archived_at is not None:
        raise Conflict(
            _("prompt {name} is archived; restore it before experimenting").format(name=repr(name))
        )
    label = session.scalars(
        select(prompt_models.Label).where(
            prompt_models.Label.prompt_id == prompt.id, prompt_models.Label.name == data.label
        )
    ).one_or_none()
    if label is None:
        raise InvalidInput(
            _(
                "prompt {name} has no label {label}; requests without a subject are served "
                "its version, so set it first"
            ).format(name=repr(name), label=repr(data.label)),
            [ErrorItem(loc=("body", "label"), message=_("set the label first"))],
        )
    versions: list[prompt_models.PromptVersion] = []
    for index, arm in enumerate(data.arms):
        version = session.scalars(
            select(prompt_models.PromptVersion).where(
                prompt_models.PromptVersion.prompt_id == prompt.id,
                prompt_models.PromptVersion.number == arm.version,
            )
        ).one_or_none()
        if version is None:
            raise InvalidInput(
                _("prompt {name} has no published version {number}").format(
                    name=repr(name), number=arm.version
                ),
                [
                    ErrorItem(
                        loc=("body", "arms", index, "version"),
                        message=_("use a version published on this prompt"),
                    )
                ],
            )
        versions.append(version)
    # Serving an arm moves the label for that subject: the same rules as moving it.
    for version in versions:
        policies.check_label_moves(session, principal, name, [data.label], version=version.number)
    running = session.scalar(
        select(ExperimentRow.id).where(
            ExperimentRow.prompt_id == prompt.id, ExperimentRow.running_label == data.label
        )
    )
    if running is not None:
        raise Conflict(
            _(
                "experiment {id} already runs on the label {label} of {name}; stop or promote "
                "it before starting another"
            ).format(id=running, label=repr(data.label), name=repr(name)),
            [ErrorItem(loc=("body", "label"), message=_("one experiment per label at a time"))],
        )
    locales = sorted(
        {parse_locale(tag, ("body", "locales", i)) for i, tag in enumerate(data.locales)}
    )
    row = ExperimentRow(
        prompt_id=prompt.id,
        name=data.name,
        description=data.description,
        label=data.label,
        running_label=data.label,
        metric=data.metric.value,
        locales=locales,
        min_samples=data.min_samples,
        salt=salt or new_salt(),
        status=Status.running.value,
        created_at=utcnow(),
        created_by=principal.owner,
        arms=[
            ArmRow(
                position=index,
                name=arm_name,
                version_id=version.id,
                version=version.number,
                weight=arm.weight,
            )
            for index, (arm, arm_name, version) in enumerate(
                zip(data.arms, data.arm_names(), versions, strict=True)
            )
        ],
    )
    session.add(row)
    session.flush()
    schema = experiment_schema(row, name)
    audit.record(
        session,
        "experiment.create",
        prompt=name,
        target=_target(name, row),
        after=_audited(schema),
    )
    return schema


def _target(name: str, row: ExperimentRow) -> str:
    return f"{name}:{row.label}:experiment-{row.id}"


def _audited(schema: Experiment) -> dict[str, Any]:
    return schema.model_dump(
        mode="json",
        include={
            "name",
            "label",
            "status",
            "metric",
            "arms",
            "locales",
            "min_samples",
            "promoted_arm",
        },
    )


def update_experiment(
    session: Session, experiment_id: int, data: ExperimentUpdate, *, principal: Principal
) -> Experiment:
    """Change the description; arms and weights never change once started."""
    row = get_row(session, experiment_id, lock=True)
    name = _prompt_name(session, row)
    _require_label_role(session, principal, name, row)
    if data.arms is not None:
        now = [(a.name, a.version, a.weight) for a in row.arms]
        wanted = [(a.name or "abcdefghij"[i], a.version, a.weight) for i, a in enumerate(data.arms)]
        if wanted != now:
            raise Conflict(
                _(
                    "the arms and weights of experiment {id} cannot change once it has started, "
                    "or its statistics would mix two splits; stop it and start a new one"
                ).format(id=row.id),
                [ErrorItem(loc=("body", "arms"), message=_("stop it and start a new experiment"))],
            )
    before = experiment_schema(row, name)
    if data.description is not None and data.description != row.description:
        row.description = data.description
        session.flush()
        audit.record(
            session,
            "experiment.update",
            prompt=name,
            target=_target(name, row),
            before={"description": before.description},
            after={"description": row.description},
        )
    return experiment_schema(row, name)


def _require_label_role(
    session: Session, principal: Principal, name: str, row: ExperimentRow
) -> None:
    """Refuse (403) changing an experiment on a protected label to a key whose role may
    not move that label: the experiment decides what the label serves, and starting it
    needed that role too."""
    if row.label in policies.policy_for(session, name).protected and not principal.can(
        Permission.REVIEW
    ):
        raise Forbidden(
            _(
                "experiment {id} runs on the protected label {label} of {name}; only "
                "reviewers and admins change or stop it"
            ).format(id=row.id, label=repr(row.label), name=repr(name))
        )


def _require_running(row: ExperimentRow, name: str) -> None:
    if row.status != Status.running.value:
        raise Conflict(
            _("experiment {id} on {name} has already ended ({status})").format(
                id=row.id, name=repr(name), status=row.status
            )
        )


def stop_experiment(
    session: Session, experiment_id: int, data: ExperimentStop, *, principal: Principal
) -> Experiment:
    """End an experiment without moving its label; its results stay readable."""
    row = get_row(session, experiment_id, lock=True)
    name = _visible_name(session, row, principal, change=True)
    _require_label_role(session, principal, name, row)
    _require_running(row, name)
    before = _audited(experiment_schema(row, name))
    _end(row, Status.stopped, principal.owner)
    session.flush()
    schema = experiment_schema(row, name)
    audit.record(
        session,
        "experiment.stop",
        prompt=name,
        target=_target(name, row),
        before=before,
        after={**_audited(schema), "reason": data.reason},
    )
    return schema


def _end(row: ExperimentRow, status: Status, actor: str) -> None:
    row.status = status.value
    row.running_label = None
    row.ended_at = utcnow()
    row.ended_by = actor


def promote_arm(
    session: Session,
    experiment_id: int,
    data: ExperimentPromote,
    *,
    principal: Principal,
    depth_limit: int = 10,
) -> Experiment:
    """Move the label to an arm's version and end the experiment (if it still runs)."""
    row = get_row(session, experiment_id, lock=True)
    name = _visible_name(session, row, principal, change=True)
    if row.status == Status.promoted.value:
        raise Conflict(
            _("experiment {id} has already promoted its arm {arm}").format(
                id=row.id, arm=repr(row.promoted_arm)
            )
        )
    arm = next((a for a in row.arms if a.name == data.arm), None)
    if arm is None:
        raise InvalidInput(
            _("experiment {id} has no arm {arm}; its arms are {arms}").format(
                id=row.id, arm=repr(data.arm), arms=", ".join(a.name for a in row.arms)
            ),
            [ErrorItem(loc=("body", "arm"), message=_("name one of the experiment's arms"))],
        )
    # Moving the label checks its policy (protected labels, four eyes) in set_label.
    before = _audited(experiment_schema(row, name))
    reason = data.reason or f"experiment {row.name} (#{row.id}): promote arm {arm.name}"
    set_label(
        session,
        name,
        row.label,
        LabelSet(version=arm.version, reason=reason),
        actor=principal.owner,
        depth_limit=depth_limit,
        principal=principal,
    )
    if row.status == Status.running.value:
        _end(row, Status.promoted, principal.owner)
    else:
        row.status = Status.promoted.value
    row.promoted_arm = arm.name
    session.flush()
    schema = experiment_schema(row, name)
    audit.record(
        session,
        "experiment.promote",
        prompt=name,
        target=_target(name, row),
        before=before,
        after={**_audited(schema), "version": arm.version, "reason": reason},
    )
    return schema


# ---------------------------------------------------------------- exposures and feedback


def _arm_of(row: ExperimentRow, subject: str) -> str:
    arms = list(row.arms)
    return arms[arm_index([a.weight for a in arms], row.salt, subject)].name


def insert_exposures(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert exposures, skipping those already stored; returns how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Exposure)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["experiment_id", "subject"])
        .returning(Exposure.subject)
    )
    return len(session.execute(statement).all())


def record_exposures(session: Session, items: Iterable[ExposureItem]) -> ExposuresRecorded:
    """Count subjects an SDK assigned; the server assigns the arm again from the hash."""
    items = list(items)
    ids = sorted({item.experiment for item in items})
    experiments = {
        row.id: row
        for row in session.scalars(select(ExperimentRow).where(ExperimentRow.id.in_(ids)))
    }
    now = utcnow()
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for item in items:
        row = experiments.get(item.experiment)
        if row is None or row.status != Status.running.value:
            continue
        rows[(row.id, item.subject)] = {
            "experiment_id": row.id,
            "subject": item.subject,
            "arm": _arm_of(row, item.subject),
            "first_at": now,
        }
    recorded = insert_exposures(session, list(rows.values()))
    return ExposuresRecorded(recorded=recorded, ignored=len(items) - recorded)


def experiments_named(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """The prompt name of each experiment id that exists (for scope checks)."""
    query = (
        select(ExperimentRow.id, prompt_models.Prompt.name)
        .join(prompt_models.Prompt, prompt_models.Prompt.id == ExperimentRow.prompt_id)
        .where(ExperimentRow.id.in_(sorted(set(ids))))
    )
    return {row.id: row.name for row in session.execute(query)}


def feedback_target(data: FeedbackCreate) -> tuple[int, str]:
    """The experiment and subject feedback is about; a resolve id names both."""
    if data.resolve_id is not None:
        parsed = parse_resolve_id(data.resolve_id)
        if parsed is None:
            raise InvalidInput(
                _("{value} is not a resolve id this registry gave out").format(
                    value=repr(data.resolve_id)
                ),
                [
                    ErrorItem(
                        loc=("body", "resolve_id"),
                        # TRANSLATORS: experiment.resolve_id is a field of the API's answer.
                        message=_("pass experiment.resolve_id from a resolve or render answer"),
                    )
                ],
            )
        experiment, subject = parsed
        if (data.experiment not in (None, experiment)) or (data.subject not in (None, subject)):
            raise InvalidInput(
                _("the resolve id was given for another experiment or subject"),
                [
                    ErrorItem(
                        loc=("body", "resolve_id"), message=_("leave out experiment and subject")
                    )
                ],
            )
        return experiment, subject
    assert data.experiment is not None and data.subject is not None
    return data.experiment, data.subject


def record_feedback(session: Session, data: FeedbackCreate) -> FeedbackRecorded:
    """Store one outcome; the same resolve id is stored once."""
    experiment_id, subject = feedback_target(data)
    row = get_row(session, experiment_id)
    _require_running(row, _prompt_name(session, row))
    value = _value(row, data.value)
    arm = _arm_of(row, subject)
    if data.resolve_id is not None:
        existing = _feedback_for(session, row.id, data.resolve_id)
        if existing is not None:
            return _recorded(existing, duplicate=True)
    now = utcnow()
    insert_exposures(
        session, [{"experiment_id": row.id, "subject": subject, "arm": arm, "first_at": now}]
    )
    feedback = Feedback(
        experiment_id=row.id,
        subject=subject,
        arm=arm,
        value=value,
        resolve_id=data.resolve_id,
        source=data.source,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(feedback)
            session.flush()
    except IntegrityError:
        # The same resolve id arrived concurrently: the other request stored it.
        existing = _feedback_for(session, row.id, data.resolve_id or "")
        if existing is None:
            raise
        return _recorded(existing, duplicate=True)
    return _recorded(feedback, duplicate=False)


def _feedback_for(session: Session, experiment_id: int, resolve_id: str) -> Feedback | None:
    return session.scalars(
        select(Feedback).where(
            Feedback.experiment_id == experiment_id, Feedback.resolve_id == resolve_id
        )
    ).one_or_none()


def _recorded(feedback: Feedback, *, duplicate: bool) -> FeedbackRecorded:
    return FeedbackRecorded(
        experiment=feedback.experiment_id,
        subject=feedback.subject,
        arm=feedback.arm,
        value=feedback.value,
        duplicate=duplicate,
    )


def _value(row: ExperimentRow, value: bool | float) -> float:
    if row.metric == Metric.success.value:
        if not isinstance(value, bool):
            raise InvalidInput(
                _("experiment {id} measures success; send true or false").format(id=row.id),
                [ErrorItem(loc=("body", "value"), message=_("must be true or false"))],
            )
        return 1.0 if value else 0.0
    if isinstance(value, bool):
        raise InvalidInput(
            _("experiment {id} measures a score; send a number").format(id=row.id),
            [ErrorItem(loc=("body", "value"), message=_("must be a number"))],
        )
    return float(value)


# ---------------------------------------------------------------- results


def results(session: Session, experiment_id: int) -> Results:
    """Per arm: subjects exposed, outcomes, mean with its 95% interval, and the test
    against the control once every compared arm has the minimum sample."""
    row = get_row(session, experiment_id)
    name = _prompt_name(session, row)
    exposed: dict[str, int] = {
        arm: int(count)
        for arm, count in session.execute(
            select(Exposure.arm, func.count())
            .where(Exposure.experiment_id == row.id)
            .group_by(Exposure.arm)
        )
    }
    samples = {
        arm: stats.Sample(int(n), float(total or 0), float(squares or 0))
        for arm, n, total, squares in session.execute(
            select(
                Feedback.arm,
                func.count(),
                func.sum(Feedback.value),
                func.sum(Feedback.value * Feedback.value),
            )
            .where(Feedback.experiment_id == row.id)
            .group_by(Feedback.arm)
        )
    }
    success = row.metric == Metric.success.value
    arms = list(row.arms)
    alpha = stats.corrected_alpha(len(arms))
    control = samples.get(arms[0].name, stats.Sample(0, 0.0, 0.0))
    out: list[ArmResult] = []
    for index, arm in enumerate(arms):
        sample = samples.get(arm.name, stats.Sample(0, 0.0, 0.0))
        interval = (
            stats.proportion_interval(round(sample.total), sample.n)
            if success
            else stats.mean_interval(sample)
        )
        comparison = None
        ready = sample.n >= row.min_samples and control.n >= row.min_samples
        if index > 0 and ready:
            comparison = (
                stats.two_proportion_z(
                    round(sample.total), sample.n, round(control.total), control.n
                )
                if success
                else stats.welch_t(sample, control)
            )
        difference = None
        if index > 0 and sample.mean is not None and control.mean is not None:
            difference = sample.mean - control.mean
        out.append(
            ArmResult(
                name=arm.name,
                version=arm.version,
                weight=arm.weight,
                control=index == 0,
                exposed=int(exposed.get(arm.name, 0)),
                outcomes=sample.n,
                successes=round(sample.total) if success else None,
                mean=sample.mean,
                std=None if success else sample.std,
                ci_low=None if interval is None else interval[0],
                ci_high=None if interval is None else interval[1],
                difference=difference,
                p_value=None if comparison is None else comparison.p_value,
                significant=None if comparison is None else comparison.p_value < alpha,
            )
        )
    verdict, best, summary = _verdict(out, row.min_samples)
    return Results(
        experiment=experiment_schema(row, name),
        test="two-proportion z-test" if success else "Welch's t-test",
        alpha=alpha,
        min_samples=row.min_samples,
        arms=out,
        verdict=verdict,
        best=best,
        summary=summary,
    )


def _verdict(arms: list[ArmResult], min_samples: int) -> tuple[Verdict, str | None, str]:
    short = [a for a in arms if a.outcomes < min_samples]
    if short:
        needed = ", ".join(f"{a.name} {a.outcomes}/{min_samples}" for a in short)
        return (
            Verdict.collecting,
            None,
            _("not enough outcomes for a verdict yet: {arms}").format(arms=needed),
        )
    control = arms[0]
    better = [a for a in arms[1:] if a.significant and (a.difference or 0) > 0]
    if better:
        best = max(better, key=lambda a: a.mean or 0.0)
        return (
            Verdict.better,
            best.name,
            _("{arm} is better than the control, {control} (p = {p})").format(
                arm=best.name, control=control.name, p=_p(best.p_value)
            ),
        )
    worse = [a for a in arms[1:] if a.significant]
    if worse and len(worse) == len(arms) - 1:
        return (
            Verdict.worse,
            control.name,
            _("the control, {control}, is better than every other arm").format(
                control=control.name
            ),
        )
    return (
        Verdict.no_difference,
        None,
        _("no arm differs significantly from the control, {control}").format(control=control.name),
    )


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2g}"


# ---------------------------------------------------------------- serving exposures


SessionOpener = Callable[[], AbstractContextManager[Session]]


def expose(open_session: SessionOpener, experiment_id: int, subject: str, arm: str) -> None:
    """Record a server-side serving in a short write of its own; best effort."""
    try:
        with open_session() as session:
            insert_exposures(
                session,
                [
                    {
                        "experiment_id": experiment_id,
                        "subject": subject,
                        "arm": arm,
                        "first_at": utcnow(),
                    }
                ],
            )
    except DBAPIError as exc:
        log.info(
            "could not record the exposure of %s to experiment %s: %s",
            subject,
            experiment_id,
            exc.orig,
        )
