"""What the experiment tests share: prompts with versions, experiments, and exposures
written into the test's own transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry.experiments import exposures

from factories import make_prompt, publish, unique_name


def exposures_in_test(client: TestClient, session: Session) -> Iterator[TestClient]:
    """The ``client`` (whose after-response exposure writes land in the test's
    transaction, as every session of its app), with the process's record of exposures
    written cleared before and after.

    A fixture body: ``yield from exposures_in_test(client, session)``.
    """
    exposures.seen.clear()
    yield client
    exposures.seen.clear()


def prompt_with_versions(session: Session, count: int = 3, *, label: str = "production") -> str:
    """A prompt with versions 1..count, templates ``v1``…, and ``label`` on version 1."""
    name = make_prompt(
        session, name=unique_name("exp/p"), template="v1", variables=[], labels=(label,)
    )
    for number in range(2, count + 1):
        publish(session, name=name, template=f"v{number}", variables=[])
    return name


def start(
    client: TestClient,
    name: str,
    arms: list[tuple[int, int]] | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Any:
    body = {
        "name": extra.pop("experiment", "try-v2"),
        "arms": [{"version": v, "weight": w} for v, w in (arms or [(1, 50), (2, 50)])],
        **extra,
    }
    return client.post(f"/v1/prompts/{name}/-/experiments", json=body, headers=headers or {})
