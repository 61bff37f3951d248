"""The API's request and response models for experiments; no database or web imports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from registry.inputs import MAX_INTEGER, RequestModel
from registry.locales.messages import _
from registry.prompts.schemas import LabelNameStr

ARM_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
EXPERIMENT_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
MAX_ARMS = 10
DEFAULT_MIN_SAMPLES = 100
# Scores are summed and squared in the store; this keeps every sum a finite double.
MAX_SCORE = 1e12

ArmName = Annotated[str, Field(pattern=ARM_NAME_PATTERN, max_length=64, examples=["control"])]
Subject = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        description="A user or session id; the same subject always gets the same arm.",
    ),
]


class Metric(StrEnum):
    """What an outcome is: a success (true or false) or a numeric score."""

    success = "success"
    score = "score"


class Status(StrEnum):
    running = "running"
    stopped = "stopped"
    promoted = "promoted"


class ArmCreate(RequestModel):
    name: ArmName | None = Field(
        default=None, description="Default: a, b, c, … by position; the first is the control."
    )
    version: int = Field(gt=0, le=MAX_INTEGER, description="A published version of the prompt.")
    weight: int = Field(ge=1, le=99, description="Percent of subjects; all arms sum to 100.")


class ExperimentCreate(RequestModel):
    """A new experiment: it starts at once."""

    name: str = Field(pattern=EXPERIMENT_NAME_PATTERN, max_length=64, examples=["shorter-greeting"])
    description: str = Field(default="", max_length=5000)
    label: LabelNameStr = Field(
        default="production", description="The label whose traffic is split."
    )
    arms: list[ArmCreate] = Field(
        min_length=2, max_length=MAX_ARMS, description="The first arm is the control."
    )
    metric: Metric = Field(default=Metric.success)
    locales: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=50,
        description="Only requests for these locales (or their regional variants) take "
        "part; empty: every locale.",
    )
    min_samples: int = Field(
        default=DEFAULT_MIN_SAMPLES,
        ge=10,
        le=10_000_000,
        description="Outcomes each arm needs before any verdict.",
    )

    @model_validator(mode="after")
    def _arms(self) -> ExperimentCreate:
        total = sum(arm.weight for arm in self.arms)
        if total != 100:
            raise ValueError(
                _("the weights of the arms sum to {total}; they must sum to 100").format(
                    total=total
                )
            )
        names = [arm.name or _default_arm_name(i) for i, arm in enumerate(self.arms)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                _("arm names must differ: {names}").format(names=", ".join(duplicates))
            )
        return self

    def arm_names(self) -> list[str]:
        return [arm.name or _default_arm_name(i) for i, arm in enumerate(self.arms)]


def _default_arm_name(position: int) -> str:
    return "abcdefghij"[position]


class ExperimentUpdate(RequestModel):
    description: str | None = Field(default=None, max_length=5000)
    arms: list[ArmCreate] | None = Field(
        default=None,
        max_length=MAX_ARMS,
        description="Refused once started: stop the experiment and start a new one.",
    )


class Arm(BaseModel):
    name: str
    version: int
    weight: int


class Experiment(BaseModel):
    id: int
    prompt: str
    name: str
    description: str
    label: str
    status: Status
    metric: Metric
    arms: list[Arm] = Field(description="The first arm is the control.")
    locales: list[str]
    min_samples: int
    salt: str
    created_at: datetime
    created_by: str
    ended_at: datetime | None
    ended_by: str | None
    promoted_arm: str | None


class ExperimentPage(BaseModel):
    items: list[Experiment]


class ExperimentStop(RequestModel):
    reason: str = Field(default="", max_length=2000)


class ExperimentPromote(RequestModel):
    arm: ArmName = Field(description="The arm whose version the label moves to.")
    reason: str = Field(default="", max_length=2000, description="Recorded with the label move.")


class FeedbackCreate(RequestModel):
    """One outcome, by experiment and subject, or by the resolve id of the serving."""

    experiment: int | None = Field(default=None, gt=0, le=MAX_INTEGER)
    subject: Subject | None = None
    resolve_id: str | None = Field(
        default=None,
        max_length=128,
        description="From the answer's `experiment.resolve_id`; the same id is stored once.",
    )
    value: bool | float = Field(
        description="true or false for a success metric; a number for a score metric.",
        allow_inf_nan=False,
    )
    source: str = Field(
        default="", max_length=64, description="Who judged, e.g. `app` or a rater's name."
    )

    @model_validator(mode="after")
    def _who(self) -> FeedbackCreate:
        if not isinstance(self.value, bool) and abs(self.value) > MAX_SCORE:
            raise ValueError(
                _("a score must lie between -{limit} and {limit}").format(limit=f"{MAX_SCORE:g}")
            )
        if self.resolve_id is None and (self.experiment is None or self.subject is None):
            raise ValueError(
                # TRANSLATORS: the names are fields of the API; keep them as they are.
                _("give resolve_id, or experiment and subject")
            )
        return self


class FeedbackRecorded(BaseModel):
    experiment: int
    subject: str
    arm: str
    value: float
    duplicate: bool = Field(description="True when this resolve id had feedback already.")


class ExposureItem(RequestModel):
    experiment: int = Field(gt=0, le=MAX_INTEGER)
    subject: Subject


class ExposureBatch(RequestModel):
    """Subjects an SDK assigned locally; each (experiment, subject) is counted once."""

    exposures: list[ExposureItem] = Field(min_length=1, max_length=1000)


class ExposuresRecorded(BaseModel):
    recorded: int = Field(description="Subjects new to their experiment.")
    ignored: int = Field(description="Already recorded, or for an experiment that has ended.")


class ArmResult(BaseModel):
    name: str
    version: int
    weight: int
    control: bool
    exposed: int = Field(description="Subjects served this arm.")
    outcomes: int = Field(description="Feedback recorded for this arm.")
    successes: int | None = Field(description="For a success metric.")
    mean: float | None = Field(description="Success rate, or mean score; null without outcomes.")
    std: float | None = Field(description="Sample standard deviation of a score.")
    ci_low: float | None = Field(description="95% confidence interval of the mean.")
    ci_high: float | None
    difference: float | None = Field(description="Mean minus the control's mean.")
    p_value: float | None = Field(
        description="Against the control; null for the control and before the minimum sample."
    )
    significant: bool | None = Field(description="Null until both arms have the minimum sample.")


class Verdict(StrEnum):
    collecting = "collecting"
    no_difference = "no_difference"
    better = "better"
    worse = "worse"


class Results(BaseModel):
    experiment: Experiment
    test: str = Field(description="two-proportion z-test, or Welch's t-test.")
    alpha: float = Field(description="Significance level per comparison (Bonferroni-corrected).")
    min_samples: int
    arms: list[ArmResult]
    verdict: Verdict
    best: str | None = Field(description="The arm significantly best, if any.")
    summary: str
