"""Changing or stopping an experiment needs the role that started it: on a protected label,
one that may move that label."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from experimenting import exposures_in_test, prompt_with_versions, start

KeyMaker = Callable[..., dict[str, str]]
NEEDS_REVIEWER = "only reviewers and admins change or stop it"


@pytest.fixture
def api(client: TestClient, session: Session) -> Iterator[TestClient]:
    yield from exposures_in_test(client, session)


def started(api: TestClient, session: Session, label: str) -> str:
    """The path of a running experiment on ``label`` of a new prompt, started by an admin."""
    name = prompt_with_versions(session, label=label)
    response = start(api, name, label=label)
    assert response.status_code == 201, response.text
    return f"/v1/experiments/{response.json()['id']}"


def refused(response: httpx.Response) -> str:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    detail: str = response.json()["detail"]
    return detail


class TestProtectedLabel:
    def test_an_editor_cannot_change_a_production_experiment(
        self, api: TestClient, session: Session, make_key: KeyMaker
    ) -> None:
        path = started(api, session, "production")
        detail = refused(api.patch(path, json={"description": "mine"}, headers=make_key("editor")))
        assert NEEDS_REVIEWER in detail and "'production'" in detail
        assert api.get(path).json()["description"] != "mine"

    def test_an_editor_cannot_stop_a_production_experiment(
        self, api: TestClient, session: Session, make_key: KeyMaker
    ) -> None:
        path = started(api, session, "production")
        detail = refused(api.post(f"{path}/stop", headers=make_key("editor")))
        assert NEEDS_REVIEWER in detail
        assert api.get(path).json()["status"] == "running"

    def test_a_reviewer_changes_and_stops_what_an_editor_may_not(
        self, api: TestClient, session: Session, make_key: KeyMaker
    ) -> None:
        path = started(api, session, "production")
        refused(api.post(f"{path}/stop", headers=make_key("editor")))
        reviewer = make_key("reviewer")
        changed = api.patch(path, json={"description": "reviewed"}, headers=reviewer)
        assert (changed.status_code, changed.json()["description"]) == (200, "reviewed")
        stopped = api.post(f"{path}/stop", headers=reviewer)
        assert (stopped.status_code, stopped.json()["status"]) == (200, "stopped")

    def test_a_label_a_folder_policy_protects(
        self, api: TestClient, session: Session, make_key: KeyMaker
    ) -> None:
        path = started(api, session, "staging")
        folder = api.get(path).json()["prompt"].rsplit("/", 1)[0] + "/"
        policy = api.put(f"/v1/label-policies/{folder}", json={"protected": ["staging"]})
        assert policy.status_code == 200, policy.text
        refused(api.post(f"{path}/stop", headers=make_key("editor")))


class TestUnprotectedLabel:
    def test_an_editor_changes_and_stops_a_staging_experiment_only(
        self, api: TestClient, session: Session, make_key: KeyMaker
    ) -> None:
        editor = make_key("editor")
        production = started(api, session, "production")
        staging = started(api, session, "staging")
        refused(api.patch(production, json={"description": "mine"}, headers=editor))
        changed = api.patch(staging, json={"description": "mine"}, headers=editor)
        assert (changed.status_code, changed.json()["description"]) == (200, "mine")
        stopped = api.post(f"{staging}/stop", headers=editor)
        assert (stopped.status_code, stopped.json()["status"]) == (200, "stopped")
