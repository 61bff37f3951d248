"""HTTP routes for experiments: start, read, stop, promote, feedback and results.

An experiment is started on a prompt (``/v1/prompts/{name}/-/experiments``) and then
addressed by its id (``/v1/experiments/{id}``), which is what a resolve answer names.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from registry.dependencies import (
    PublishAccess,
    ReadAccess,
    ReadSession,
    SettingsDep,
    WriteSession,
)
from registry.experiments import service
from registry.experiments.schemas import (
    Experiment,
    ExperimentCreate,
    ExperimentPage,
    ExperimentPromote,
    ExperimentStop,
    ExperimentUpdate,
    ExposureBatch,
    ExposuresRecorded,
    FeedbackCreate,
    FeedbackRecorded,
    Results,
    Status,
)
from registry.inputs import MAX_INTEGER
from registry.prompts.schemas import PROMPT_NAME_PATTERN
from registry.routing import KeyCheckingRoute

router = APIRouter(tags=["experiments"], route_class=KeyCheckingRoute)

PromptName = Annotated[
    str,
    Path(
        pattern=PROMPT_NAME_PATTERN,
        max_length=255,
        description="Slash path of lowercase segments, e.g. `support/greeting`.",
    ),
]
ExperimentId = Annotated[int, Path(gt=0, le=MAX_INTEGER, description="The experiment's id.")]


@router.post("/v1/prompts/{name:path}/-/experiments", status_code=status.HTTP_201_CREATED)
def create_experiment(
    name: PromptName,
    body: ExperimentCreate,
    response: Response,
    session: WriteSession,
    principal: PublishAccess,
) -> Experiment:
    """Start an experiment: split a label's traffic between versions by subject."""
    experiment = service.create_experiment(session, name, body, principal=principal)
    response.headers["Location"] = f"/v1/experiments/{experiment.id}"
    return experiment


@router.get("/v1/prompts/{name:path}/-/experiments")
def list_prompt_experiments(
    name: PromptName,
    session: ReadSession,
    principal: ReadAccess,
    status: Status | None = None,
) -> ExperimentPage:
    """A prompt's experiments, newest first."""
    return service.list_experiments(session, prompt=name, status=status)


@router.get("/v1/experiments")
def list_experiments(
    session: ReadSession,
    principal: ReadAccess,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ExperimentPage:
    """Experiments of every prompt the key may read, newest first."""
    return service.list_experiments(session, status=status, within=principal.readable, limit=limit)


@router.post("/v1/experiments/feedback")
def record_feedback(
    body: FeedbackCreate, session: WriteSession, principal: ReadAccess
) -> FeedbackRecorded:
    """Record an outcome: by experiment and subject, or by the serving's resolve id."""
    experiment, _subject = service.feedback_target(body)
    service.prompt_of(session, experiment, principal)
    return service.record_feedback(session, body)


@router.post("/v1/experiments/exposures")
def record_exposures(
    body: ExposureBatch, session: WriteSession, principal: ReadAccess
) -> ExposuresRecorded:
    """Count subjects an SDK assigned to arms locally; each is counted once."""
    names = service.experiments_named(session, (item.experiment for item in body.exposures))
    # Experiments on prompts the key may not read are ignored, as unknown ones are.
    visible = [
        item
        for item in body.exposures
        if item.experiment not in names or principal.may_read(names[item.experiment])
    ]
    recorded = service.record_exposures(session, visible).recorded
    return ExposuresRecorded(recorded=recorded, ignored=len(body.exposures) - recorded)


@router.get("/v1/experiments/{experiment_id}")
def get_experiment(
    experiment_id: ExperimentId, session: ReadSession, principal: ReadAccess
) -> Experiment:
    """One experiment: its label, arms and weights, and whether it still runs."""
    service.prompt_of(session, experiment_id, principal)
    return service.get_experiment(session, experiment_id)


@router.patch("/v1/experiments/{experiment_id}")
def update_experiment(
    experiment_id: ExperimentId,
    body: ExperimentUpdate,
    session: WriteSession,
    principal: PublishAccess,
) -> Experiment:
    """Change the description; arms and weights are fixed once started (409)."""
    service.prompt_of(session, experiment_id, principal, change=True)
    return service.update_experiment(session, experiment_id, body, principal=principal)


@router.get("/v1/experiments/{experiment_id}/results")
def experiment_results(
    experiment_id: ExperimentId, session: ReadSession, principal: ReadAccess
) -> Results:
    """Per arm: subjects, outcomes, rate or mean with 95% CI, and the test against control."""
    service.prompt_of(session, experiment_id, principal)
    return service.results(session, experiment_id)


@router.post("/v1/experiments/{experiment_id}/stop")
def stop_experiment(
    experiment_id: ExperimentId,
    session: WriteSession,
    principal: PublishAccess,
    body: ExperimentStop | None = None,
) -> Experiment:
    """End the experiment; the label keeps its version and the results stay readable."""
    return service.stop_experiment(
        session, experiment_id, body or ExperimentStop(), principal=principal
    )


@router.post("/v1/experiments/{experiment_id}/promote")
def promote_arm(
    experiment_id: ExperimentId,
    body: ExperimentPromote,
    session: WriteSession,
    settings: SettingsDep,
    principal: PublishAccess,
) -> Experiment:
    """Move the label to an arm's version (as any label move) and end the experiment."""
    return service.promote_arm(
        session,
        experiment_id,
        body,
        principal=principal,
        depth_limit=settings.include_depth_limit,
    )
