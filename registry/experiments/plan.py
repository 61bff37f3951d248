"""What a resolve answer says about experiments; Pydantic only, so the SDK reads it too."""

from __future__ import annotations

from pydantic import BaseModel, Field

from registry.experiments.assignment import arm_index, resolve_id


class PlanArm(BaseModel):
    name: str
    version: int
    weight: int = Field(description="Share of subjects, in percent.")


class ExperimentPlan(BaseModel):
    """A running experiment on the label resolved: enough to assign subjects locally."""

    id: int
    name: str
    salt: str = Field(description="Mixed into the subject's hash; fixed for the experiment.")
    arms: list[PlanArm]

    def assign(self, subject: str) -> PlanArm:
        """The arm ``subject`` gets: the same on every replica and in every SDK."""
        weights = [arm.weight for arm in self.arms]
        return self.arms[arm_index(weights, self.salt, subject)]


class ServedExperiment(BaseModel):
    """Which experiment and arm an answer was served from."""

    id: int
    name: str
    arm: str
    subject: str
    resolve_id: str = Field(
        description="Send with feedback to attribute it to this serving; idempotent."
    )

    @classmethod
    def serving(cls, plan: ExperimentPlan, arm: PlanArm, subject: str) -> ServedExperiment:
        return cls(
            id=plan.id,
            name=plan.name,
            arm=arm.name,
            subject=subject,
            resolve_id=resolve_id(plan.id, subject),
        )
