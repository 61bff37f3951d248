"""Outcomes, exposures reported by SDKs, and the results readout."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry.experiments.assignment import arm_index

from experimenting import exposures_in_test, prompt_with_versions, start


@pytest.fixture
def api(client: TestClient, session: Session) -> Iterator[TestClient]:
    yield from exposures_in_test(client, session)


def feedback(api: TestClient, **body: Any) -> Any:
    return api.post("/v1/experiments/feedback", json=body)


def subjects_for(experiment: dict[str, Any], arm: str, count: int) -> list[str]:
    """``count`` subjects that the experiment assigns to ``arm``."""
    names = [a["name"] for a in experiment["arms"]]
    weights = [a["weight"] for a in experiment["arms"]]
    found: list[str] = []
    i = 0
    while len(found) < count:
        subject = f"user-{i}"
        if names[arm_index(weights, experiment["salt"], subject)] == arm:
            found.append(subject)
        i += 1
    return found


class TestFeedback:
    def test_by_experiment_and_subject(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        served = api.get(f"/v1/prompts/{name}/-/resolve", params={"subject": "u1"}).json()
        response = feedback(api, experiment=experiment["id"], subject="u1", value=True)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["arm"] == served["experiment"]["arm"]
        assert (body["value"], body["duplicate"]) == (1.0, False)

    def test_by_resolve_id_is_idempotent(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        served = api.get(f"/v1/prompts/{name}/-/resolve", params={"subject": "u1"}).json()
        rid = served["experiment"]["resolve_id"]
        first = feedback(api, resolve_id=rid, value=False, source="rater-1")
        again = feedback(api, resolve_id=rid, value=False, source="rater-1")
        assert first.status_code == again.status_code == 200
        assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
        assert first.json()["subject"] == "u1"
        results = api.get(f"/v1/experiments/{experiment['id']}/results").json()
        assert sum(a["outcomes"] for a in results["arms"]) == 1
        # Another serving of the same subject is another outcome.
        other = api.get(f"/v1/prompts/{name}/-/resolve", params={"subject": "u1"}).json()
        feedback(api, resolve_id=other["experiment"]["resolve_id"], value=True)
        results = api.get(f"/v1/experiments/{experiment['id']}/results").json()
        assert sum(a["outcomes"] for a in results["arms"]) == 2

    def test_feedback_counts_its_subject_as_exposed(
        self, api: TestClient, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        feedback(api, experiment=experiment["id"], subject="never-resolved", value=True)
        results = api.get(f"/v1/experiments/{experiment['id']}/results").json()
        assert sum(a["exposed"] for a in results["arms"]) == 1

    @pytest.mark.parametrize(
        ("metric", "value", "message"),
        [("success", 0.5, "true or false"), ("score", True, "a number")],
    )
    def test_the_value_must_fit_the_metric(
        self, api: TestClient, session: Session, metric: str, value: object, message: str
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name, metric=metric).json()
        response = feedback(api, experiment=experiment["id"], subject="u", value=value)
        assert response.status_code == 422
        assert message in response.json()["detail"]
        assert response.json()["errors"][0]["loc"] == ["body", "value"]

    def test_bad_requests(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        assert feedback(api, value=True).status_code == 422
        assert feedback(api, experiment=experiment["id"], value=True).status_code == 422
        bad = feedback(api, resolve_id="nope", value=True)
        assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "resolve_id"]
        assert feedback(api, experiment=999999, subject="u", value=True).status_code == 404

    def test_readers_record_feedback(
        self, api: TestClient, session: Session, make_key: Callable[..., dict[str, str]]
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        reader = make_key("reader")
        body = {"experiment": experiment["id"], "subject": "u", "value": True}
        response = api.post("/v1/experiments/feedback", json=body, headers=reader)
        assert response.status_code == 200
        stop = api.post(f"/v1/experiments/{experiment['id']}/stop", headers=reader)
        assert stop.status_code == 403


class TestExposureBatches:
    def test_each_subject_counts_once(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        batch = [{"experiment": experiment["id"], "subject": f"s{i % 5}"} for i in range(12)]
        response = api.post("/v1/experiments/exposures", json={"exposures": batch})
        assert response.status_code == 200
        assert response.json() == {"recorded": 5, "ignored": 7}
        again = api.post("/v1/experiments/exposures", json={"exposures": batch[:2]}).json()
        assert again == {"recorded": 0, "ignored": 2}
        results = api.get(f"/v1/experiments/{experiment['id']}/results").json()
        assert sum(a["exposed"] for a in results["arms"]) == 5

    def test_ended_and_unknown_experiments_are_ignored(
        self, api: TestClient, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        api.post(f"/v1/experiments/{experiment['id']}/stop")
        batch = [
            {"experiment": experiment["id"], "subject": "s"},
            {"experiment": 99999, "subject": "s"},
        ]
        response = api.post("/v1/experiments/exposures", json={"exposures": batch})
        assert response.json() == {"recorded": 0, "ignored": 2}


class TestResults:
    def test_collecting_until_the_minimum_sample(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name, min_samples=20).json()
        for subject in subjects_for(experiment, "a", 20):
            feedback(api, experiment=experiment["id"], subject=subject, value=True)
        for subject in subjects_for(experiment, "b", 5):
            feedback(api, experiment=experiment["id"], subject=subject, value=False)
        results = api.get(f"/v1/experiments/{experiment['id']}/results").json()
        assert results["verdict"] == "collecting"
        assert "b 5/20" in results["summary"]
        control, other = results["arms"]
        assert (control["outcomes"], control["successes"], control["mean"]) == (20, 20, 1.0)
        assert control["ci_low"] < 1.0 and control["ci_high"] == pytest.approx(1.0)
        assert (other["p_value"], other["significant"]) == (None, None)
        assert other["difference"] == -1.0

    def test_a_real_difference_in_success_rates(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name, min_samples=100).json()
        rng = random.Random(11)
        for arm, rate in (("a", 0.5), ("b", 0.75)):
            for subject in subjects_for(experiment, arm, 150):
                feedback(
                    api, experiment=experiment["id"], subject=subject, value=rng.random() < rate
                )
        results = api.get(f"/v1/experiments/{experiment['id']}/results").json()
        assert results["test"] == "two-proportion z-test"
        control, treatment = results["arms"]
        assert control["control"] and not treatment["control"]
        assert treatment["significant"] is True and treatment["p_value"] < 0.01
        assert results["verdict"] == "better" and results["best"] == "b"
        assert treatment["ci_low"] < treatment["mean"] < treatment["ci_high"]

    def test_scores_with_no_real_difference(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name, metric="score", min_samples=30).json()
        rng = random.Random(5)
        for arm in ("a", "b"):
            for subject in subjects_for(experiment, arm, 40):
                score = min(5.0, max(1.0, rng.gauss(3.5, 0.8)))
                feedback(api, experiment=experiment["id"], subject=subject, value=score)
        results = api.get(f"/v1/experiments/{experiment['id']}/results").json()
        assert results["test"] == "Welch's t-test"
        assert results["verdict"] == "no_difference" and results["best"] is None
        treatment = results["arms"][1]
        assert treatment["significant"] is False and treatment["std"] > 0

    def test_three_arms_use_a_corrected_level(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name, [(1, 34), (2, 33), (3, 33)], min_samples=10).json()
        results = api.get(f"/v1/experiments/{experiment['id']}/results").json()
        assert results["alpha"] == 0.025
        assert [a["outcomes"] for a in results["arms"]] == [0, 0, 0]
        assert results["verdict"] == "collecting"


def test_scores_stay_finite(api: TestClient, session: Session) -> None:
    name = prompt_with_versions(session)
    experiment = start(api, name, metric="score").json()
    response = feedback(api, experiment=experiment["id"], subject="u", value=1e300)
    assert response.status_code == 422
    assert feedback(api, experiment=experiment["id"], subject="u", value=-3.5).status_code == 200
