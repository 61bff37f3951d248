"""The demo library comes with a finished experiment and its results."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry.demo import seed_demo


def test_the_demo_has_a_finished_experiment(session: Session, client: TestClient) -> None:
    seed_demo(session)
    (experiment,) = client.get("/v1/experiments").json()["items"]
    assert (experiment["prompt"], experiment["status"]) == ("summarize/article", "stopped")
    results = client.get(f"/v1/experiments/{experiment['id']}/results").json()
    control, audience = results["arms"]
    assert control["outcomes"] >= 100 and audience["outcomes"] >= 100
    assert sum(arm["exposed"] for arm in results["arms"]) == 600
    assert (results["verdict"], results["best"]) == ("better", "audience")
    # Stopped, not promoted: the label still serves what the rest of the demo expects.
    resolved = client.get("/v1/prompts/summarize/article/-/resolve", params={"subject": "x"})
    assert resolved.json()["version"] == 1 and resolved.json()["experiment"] is None
