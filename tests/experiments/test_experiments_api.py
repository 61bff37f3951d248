"""Experiments over the API: start, guard rails, serving by subject, stop and promote."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from experimenting import exposures_in_test, prompt_with_versions, start


@pytest.fixture
def api(client: TestClient, session: Session) -> Iterator[TestClient]:
    yield from exposures_in_test(client, session)


def resolve(api: TestClient, name: str, **params: object) -> dict[str, object]:
    response = api.get(f"/v1/prompts/{name}/-/resolve", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


class TestStart:
    def test_starts_at_once_and_is_audited(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        response = start(api, name, [(1, 90), (3, 10)], description="shorter")
        assert response.status_code == 201, response.text
        body = response.json()
        assert response.headers["Location"] == f"/v1/experiments/{body['id']}"
        assert body["status"] == "running"
        assert body["label"] == "production"
        assert [(a["name"], a["version"], a["weight"]) for a in body["arms"]] == [
            ("a", 1, 90),
            ("b", 3, 10),
        ]
        assert body["created_by"] == "admin"
        assert api.get(f"/v1/experiments/{body['id']}").json() == body
        listed = api.get(f"/v1/prompts/{name}/-/experiments").json()["items"]
        assert [e["id"] for e in listed] == [body["id"]]
        events = api.get("/v1/audit", params={"prompt": name, "action": "experiment.create"})
        (event,) = events.json()["items"]
        assert event["after"]["arms"][1] == {"name": "b", "version": 3, "weight": 10}

    def test_named_arms_and_three_way_split(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        body = {
            "name": "three",
            "arms": [
                {"name": "control", "version": 1, "weight": 34},
                {"name": "short", "version": 2, "weight": 33},
                {"name": "long", "version": 3, "weight": 33},
            ],
        }
        response = api.post(f"/v1/prompts/{name}/-/experiments", json=body)
        assert response.status_code == 201, response.text
        assert [a["name"] for a in response.json()["arms"]] == ["control", "short", "long"]


class TestGuardRails:
    @pytest.mark.parametrize(
        ("arms", "where"),
        [
            ([(1, 50), (2, 40)], "sum to 100"),
            ([(1, 99)], "at least 2"),
            ([(1, 0), (2, 99)], "greater than or equal to 1"),
        ],
    )
    def test_bad_weights(
        self, api: TestClient, session: Session, arms: list[tuple[int, int]], where: str
    ) -> None:
        name = prompt_with_versions(session)
        response = start(api, name, arms)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert where in response.text

    def test_only_published_versions_of_this_prompt(
        self, api: TestClient, session: Session
    ) -> None:
        name = prompt_with_versions(session, 2)
        response = start(api, name, [(1, 50), (7, 50)])
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "arms", 1, "version"]

    def test_the_label_must_exist(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        response = start(api, name, label="beta")
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "label"]
        assert start(api, name, label="latest").status_code == 422

    def test_one_running_experiment_per_label(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        first = start(api, name).json()
        response = start(api, name, [(1, 50), (3, 50)], experiment="again")
        assert response.status_code == 409
        assert f"experiment {first['id']} already runs" in response.json()["detail"]
        api.post(f"/v1/experiments/{first['id']}/stop")
        assert start(api, name, [(1, 50), (3, 50)], experiment="again").status_code == 201

    def test_weights_of_a_started_experiment_never_change(
        self, api: TestClient, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        response = api.patch(
            f"/v1/experiments/{experiment['id']}",
            json={"arms": [{"version": 1, "weight": 20}, {"version": 2, "weight": 80}]},
        )
        assert response.status_code == 409
        assert "stop it and start a new one" in response.json()["detail"]
        changed = api.patch(f"/v1/experiments/{experiment['id']}", json={"description": "why"})
        assert changed.status_code == 200 and changed.json()["description"] == "why"
        assert changed.json()["arms"] == experiment["arms"]

    def test_archived_prompts_take_no_experiments(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        api.post(f"/v1/prompts/{name}/-/archive")
        assert start(api, name).status_code == 409

    def test_unknown_prompt_and_experiment(self, api: TestClient) -> None:
        assert start(api, "no/such").status_code == 404
        assert api.get("/v1/experiments/999999").status_code == 404


class TestPermissions:
    def test_readers_cannot_start(
        self, api: TestClient, session: Session, make_key: Callable[..., dict[str, str]]
    ) -> None:
        name = prompt_with_versions(session)
        assert start(api, name, headers=make_key("reader")).status_code == 403

    def test_protected_labels_need_a_reviewer(
        self, api: TestClient, session: Session, make_key: Callable[..., dict[str, str]]
    ) -> None:
        name = prompt_with_versions(session)
        editor = make_key("editor")
        response = start(api, name, headers=editor)
        assert response.status_code == 403
        assert "protected" in response.json()["detail"]
        assert start(api, name, headers=make_key("reviewer")).status_code == 201

    def test_editors_experiment_on_unprotected_labels(
        self, api: TestClient, session: Session, make_key: Callable[..., dict[str, str]]
    ) -> None:
        name = prompt_with_versions(session, label="staging")
        editor = make_key("editor")
        experiment = start(api, name, label="staging", headers=editor).json()
        promoted = api.post(
            f"/v1/experiments/{experiment['id']}/promote", json={"arm": "b"}, headers=editor
        )
        assert promoted.status_code == 200, promoted.text

    def test_promoting_to_a_protected_label_needs_a_reviewer(
        self, api: TestClient, session: Session, make_key: Callable[..., dict[str, str]]
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        response = api.post(
            f"/v1/experiments/{experiment['id']}/promote",
            json={"arm": "b"},
            headers=make_key("editor"),
        )
        assert response.status_code == 403
        assert api.get(f"/v1/experiments/{experiment['id']}").json()["status"] == "running"

    def test_keys_outside_the_folder_see_nothing(
        self, api: TestClient, session: Session, make_key: Callable[..., dict[str, str]]
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        other = make_key("reviewer", folder="elsewhere/")
        path = f"/v1/experiments/{experiment['id']}"
        # Answered as experiments that do not exist: nothing says they do.
        assert api.get(path, headers=other).status_code == 404
        assert api.get(f"{path}/results", headers=other).status_code == 404
        assert api.post(f"{path}/stop", headers=other).status_code == 404
        feedback = {"experiment": experiment["id"], "subject": "u", "value": True}
        assert api.post("/v1/experiments/feedback", json=feedback, headers=other).status_code == 404
        assert api.get("/v1/experiments", headers=other).json()["items"] == []


class TestServing:
    def test_without_a_subject_the_label_serves_its_version(
        self, api: TestClient, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name, [(1, 10), (2, 90)]).json()
        body = resolve(api, name)
        assert (body["version"], body["template"], body["experiment"]) == (1, "v1", None)
        plan = body["experiment_plan"]
        assert isinstance(plan, dict)
        assert plan["id"] == experiment["id"] and plan["salt"] == experiment["salt"]
        assert [a["version"] for a in plan["arms"]] == [1, 2]

    def test_a_subject_always_gets_the_same_arm(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        arms: Counter[str] = Counter()
        for i in range(40):
            first = resolve(api, name, subject=f"user-{i}")
            again = resolve(api, name, subject=f"user-{i}", label="production")
            served = first["experiment"]
            assert isinstance(served, dict) and isinstance(again["experiment"], dict)
            assert served["id"] == experiment["id"]
            assert served["arm"] == again["experiment"]["arm"]
            assert first["version"] == {"a": 1, "b": 2}[served["arm"]]
            assert first["template"] == f"v{first['version']}"
            assert served["resolve_id"] != again["experiment"]["resolve_id"]
            arms[served["arm"]] += 1
        assert set(arms) == {"a", "b"}

    def test_answers_per_arm_are_not_shared_or_revalidated(
        self, api: TestClient, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        start(api, name)
        answers = {}
        for i in range(20):
            response = api.get(f"/v1/prompts/{name}/-/resolve", params={"subject": f"u{i}"})
            answers[response.json()["experiment"]["arm"]] = response
        a, b = answers["a"], answers["b"]
        assert a.headers["ETag"] != b.headers["ETag"]
        assert a.headers["Cache-Control"] == "private, no-store"
        plain = api.get(f"/v1/prompts/{name}/-/resolve")
        assert plain.headers["ETag"] not in (a.headers["ETag"], b.headers["ETag"])
        again = api.get(
            f"/v1/prompts/{name}/-/resolve",
            params={"subject": a.json()["experiment"]["subject"]},
            headers={"If-None-Match": a.headers["ETag"]},
        )
        assert again.status_code == 200
        # The label's own answer changes when an experiment starts or ends.
        experiment_id = a.json()["experiment"]["id"]
        api.post(f"/v1/experiments/{experiment_id}/stop")
        assert api.get(f"/v1/prompts/{name}/-/resolve").headers["ETag"] != plain.headers["ETag"]

    def test_render_with_a_subject(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        start(api, name, [(1, 1), (3, 99)])
        texts = set()
        for i in range(10):
            body = api.post(
                f"/v1/prompts/{name}/-/render", json={"subject": f"s{i}", "variables": {}}
            ).json()
            texts.add(body["text"])
            assert body["version"] == int(body["text"][1:])
            assert body["experiment"]["arm"] in {"a", "b"}
        assert "v3" in texts
        plain = api.post(f"/v1/prompts/{name}/-/render", json={"variables": {}}).json()
        assert (plain["text"], plain["experiment"]) == ("v1", None)

    def test_other_labels_and_pinned_versions_are_untouched(
        self, api: TestClient, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        api.put(f"/v1/prompts/{name}/-/labels/staging", json={"version": 2})
        start(api, name, [(1, 1), (3, 99)])
        for params in ({"label": "staging"}, {"version": 2}, {"label": "latest"}):
            body = resolve(api, name, subject="u1", **params)
            assert body["experiment"] is None and body["experiment_plan"] is None
            assert body["version"] in (2, 3)

    def test_a_locale_restriction(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        start(api, name, [(1, 1), (3, 99)], locales=["fr"])
        assert resolve(api, name, subject="u", locale="fr-CA")["experiment"] is not None
        assert resolve(api, name, subject="u", locale="fr")["experiment"] is not None
        other = resolve(api, name, subject="u", locale="de")
        assert other["experiment"] is None and other["experiment_plan"] is None
        assert resolve(api, name, subject="u")["experiment"] is None  # source locale: en

    def test_a_bad_locale_restriction_is_refused(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        response = start(api, name, locales=["xx-nope-nope"])
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"][:2] == ["body", "locales"]

    def test_serving_records_each_subject_once(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        for i in range(6):
            resolve(api, name, subject=f"u{i % 3}")
        api.post(f"/v1/prompts/{name}/-/render", json={"subject": "u9"})
        results = api.get(f"/v1/experiments/{experiment['id']}/results").json()
        assert sum(arm["exposed"] for arm in results["arms"]) == 4


class TestEnding:
    def test_stop_serves_the_label_again_and_keeps_results(
        self, api: TestClient, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name, [(1, 1), (2, 99)]).json()
        path = f"/v1/experiments/{experiment['id']}"
        api.post(
            "/v1/experiments/feedback",
            json={"experiment": experiment["id"], "subject": "u1", "value": True},
        )
        stopped = api.post(f"{path}/stop", json={"reason": "enough"})
        assert stopped.status_code == 200
        assert stopped.json()["status"] == "stopped" and stopped.json()["ended_by"] == "admin"
        body = resolve(api, name, subject="u1")
        assert (body["version"], body["experiment"], body["experiment_plan"]) == (1, None, None)
        assert (
            api.get(f"{path}/results").json()["arms"][0]["outcomes"]
            + api.get(f"{path}/results").json()["arms"][1]["outcomes"]
            == 1
        )
        assert api.post(f"{path}/stop").status_code == 409
        late = api.post(
            "/v1/experiments/feedback",
            json={"experiment": experiment["id"], "subject": "u2", "value": True},
        )
        assert late.status_code == 409
        assert api.get(f"/v1/prompts/{name}/-/labels/production").json()["version"] == 1

    def test_promote_moves_the_label_and_ends_the_experiment(
        self, api: TestClient, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        path = f"/v1/experiments/{experiment['id']}"
        response = api.post(f"{path}/promote", json={"arm": "b", "reason": "b wins"})
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["promoted_arm"]) == ("promoted", "b")
        label = api.get(f"/v1/prompts/{name}/-/labels/production").json()
        assert (label["version"], label["history"][0]["reason"]) == (2, "b wins")
        assert label["updated_by"] == "admin"
        assert resolve(api, name, subject="anyone")["experiment"] is None
        assert api.post(f"{path}/promote", json={"arm": "a"}).status_code == 409
        actions = [
            e["action"] for e in api.get("/v1/audit", params={"prompt": name}).json()["items"]
        ]
        assert actions[:2] == ["experiment.promote", "label.move"]
        assert api.get(f"{path}/results").status_code == 200

    def test_a_stopped_experiment_can_still_be_promoted(
        self, api: TestClient, session: Session
    ) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        path = f"/v1/experiments/{experiment['id']}"
        api.post(f"{path}/stop")
        assert api.post(f"{path}/promote", json={"arm": "b"}).json()["status"] == "promoted"
        assert resolve(api, name)["version"] == 2

    def test_promote_names_an_arm(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        experiment = start(api, name).json()
        response = api.post(f"/v1/experiments/{experiment['id']}/promote", json={"arm": "zz"})
        assert response.status_code == 422
        assert "its arms are a, b" in response.json()["detail"]

    def test_list_filters_by_status(self, api: TestClient, session: Session) -> None:
        name = prompt_with_versions(session)
        first = start(api, name).json()
        api.post(f"/v1/experiments/{first['id']}/stop")
        second = start(api, name, experiment="second").json()
        running = api.get(f"/v1/prompts/{name}/-/experiments", params={"status": "running"})
        assert [e["id"] for e in running.json()["items"]] == [second["id"]]
        everything = api.get("/v1/experiments").json()["items"]
        assert [e["id"] for e in everything][:2] == [second["id"], first["id"]]
