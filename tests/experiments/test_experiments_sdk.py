"""The SDK assigns arms locally, reports exposures in batches, and sends feedback."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry import AsyncClient, Client

from experimenting import exposures_in_test, prompt_with_versions, start


@pytest.fixture
def api(client: TestClient, session: Session) -> Iterator[TestClient]:
    yield from exposures_in_test(client, session)


class Requests:
    """Paths of the requests the SDK sends through the test client."""

    def __init__(self, api: TestClient) -> None:
        self.paths: list[str] = []
        self._api = api

    def __enter__(self) -> Requests:
        self._api.event_hooks["request"].append(self._record)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._api.event_hooks["request"].remove(self._record)

    def _record(self, request: httpx.Request) -> None:
        self.paths.append(request.url.path)


@pytest.fixture
def sdk(api: TestClient) -> Iterator[Client]:
    client = Client(http_client=api)
    client.exposure_interval = None  # reports only when the test flushes
    yield client
    client.close()


class TestLocalAssignment:
    def test_arms_match_the_servers_and_cost_no_request_once_cached(
        self, api: TestClient, sdk: Client, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        subjects = [f"user-{i}" for i in range(30)]
        for subject in subjects:
            sdk.get(name, subject=subject)  # fetches the label and the arms' versions
        with Requests(api) as requests:
            local = {s: sdk.get(name, subject=s) for s in subjects}
        assert [p for p in requests.paths if "/resolve" in p] == []
        for subject, prompt in local.items():
            served = api.get(f"/v1/prompts/{name}/-/resolve", params={"subject": subject}).json()
            assert prompt.experiment is not None
            assert (prompt.experiment.id, prompt.experiment.arm) == (
                experiment["id"],
                served["experiment"]["arm"],
            )
            assert prompt.version == served["version"]
            assert prompt.render() == served["template"]
            assert prompt.label == "production"

    def test_without_a_subject_the_label_serves_its_version(
        self, api: TestClient, sdk: Client, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        start(api, name, [(1, 1), (2, 99)])
        prompt = sdk.get(name)
        assert (prompt.version, prompt.experiment) == (1, None)
        assert prompt.resolved.experiment_plan is not None
        assert sdk.get(name, version=1, subject="u").experiment is None

    def test_the_split_follows_the_weights(
        self, api: TestClient, sdk: Client, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        start(api, name, [(1, 80), (2, 20)])
        arms = Counter(sdk.get(name, subject=f"s{i}").experiment.arm for i in range(4000))  # type: ignore[union-attr]
        assert abs(arms["a"] / 4000 - 0.8) < 0.03

    def test_render_with_a_subject(self, api: TestClient, sdk: Client, session: Session) -> None:
        name = prompt_with_versions(session)
        start(api, name, [(1, 1), (3, 99)])
        texts = {sdk.render(name, subject=f"s{i}") for i in range(20)}
        assert "v3" in texts

    def test_a_stopped_experiment_stops_serving_arms(
        self, api: TestClient, sdk: Client, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name, [(1, 1), (3, 99)]).json()
        assert {sdk.get(name, subject=f"s{i}").version for i in range(10)} >= {3}
        sdk.stop_experiment(experiment["id"])  # the client's own write drops its cache
        assert {sdk.get(name, subject=f"s{i}").version for i in range(10)} == {1}


class TestExposuresAndFeedback:
    def test_exposures_are_reported_once_per_subject(
        self, api: TestClient, sdk: Client, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        for i in range(12):
            sdk.get(name, subject=f"u{i % 5}")
        with Requests(api) as requests:
            assert sdk.flush_exposures() == 5
            assert sdk.flush_exposures() == 0
        assert requests.paths == ["/v1/experiments/exposures"]
        results = sdk.experiment_results(experiment["id"])
        assert sum(arm.exposed for arm in results.arms) == 5

    def test_close_reports_what_is_left(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        sdk = Client(http_client=api)
        sdk.exposure_interval = None
        sdk.get(name, subject="last")
        sdk.close()
        results = api.get(f"/v1/experiments/{experiment['id']}/results").json()
        assert sum(arm["exposed"] for arm in results["arms"]) == 1

    def test_feedback_in_one_line(self, api: TestClient, sdk: Client, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        prompt = sdk.get(name, subject="u1")
        first = sdk.feedback(prompt, value=True)
        assert (first.arm, first.duplicate) == (prompt.experiment.arm, False)  # type: ignore[union-attr]
        assert sdk.feedback(prompt, value=True).duplicate  # a retry is stored once
        by_subject = sdk.feedback(experiment["id"], subject="u2", value=False, source="rater")
        assert by_subject.duplicate is False
        results = sdk.experiment_results(experiment["id"])
        assert sum(arm.outcomes for arm in results.arms) == 2
        with pytest.raises(ValueError, match="subject="):
            sdk.feedback(sdk.get(name), value=True)

    def test_management_calls(self, api: TestClient, sdk: Client, session: Session) -> None:
        name = prompt_with_versions(session)
        created = sdk.create_experiment(name, "sdk-made", [(1, 50), (2, 50)], min_samples=10)
        assert (created.status, created.min_samples) == ("running", 10)
        assert [e.id for e in sdk.list_experiments(name).items] == [created.id]
        assert sdk.get_experiment(created.id).name == "sdk-made"
        assert sdk.get(name, subject="x").experiment is not None
        promoted = sdk.promote_arm(created.id, "b", reason="b it is")
        assert promoted.promoted_arm == "b"
        assert sdk.get(name).version == 2


@pytest.mark.anyio
class TestAsync:
    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    async def test_the_same_flow_awaited(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api.app),
            base_url="http://testserver",
            headers=api.headers,
        )
        async with AsyncClient(http_client=http) as sdk:
            sdk.exposure_interval = None
            prompts = [await sdk.get(name, subject=f"u{i}") for i in range(8)]
            for prompt in prompts:
                served = api.get(
                    f"/v1/prompts/{name}/-/resolve",
                    params={"subject": prompt.experiment.subject},  # type: ignore[union-attr]
                ).json()
                assert prompt.version == served["version"]
            assert await sdk.flush_exposures() == 8
            recorded = await sdk.feedback(prompts[0], value=True)
            assert recorded.subject == "u0"
            results = await sdk.experiment_results(experiment["id"])
            assert sum(arm.outcomes for arm in results.arms) == 1
