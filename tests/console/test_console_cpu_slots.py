"""The editor's live lint and preview take one of the CPU-bound slots that the API's lint
and render share (``registry.workers.run_cpu_bound``): while every slot is busy they
wait, and they answer once one is free."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry import workers

from factories import make_prompt

SignedIn = Callable[..., tuple[TestClient, str]]
# Long enough for a lint or preview of a line to answer were it not waiting.
WAITS_AT_LEAST_S = 0.5
FORM = {
    "template": "Hello {{ who }}.\nTODO: finish",
    "variables.0.name": "who",
    "variables.0.type": "string",
    "sample.who": "Ana",
}


@pytest.mark.parametrize(("path", "answer"), [("lint", "TODO"), ("preview", "Hello Ana.")])
def test_they_wait_while_every_slot_is_busy(
    session: Session, signed_in: SignedIn, path: str, answer: str
) -> None:
    name = make_prompt(session, name=f"slots/{path}")
    client, csrf = signed_in("editor")
    portal = client.portal
    assert portal is not None
    gate = threading.Event()
    # Each slot held, on the app's event loop, by a call that waits for the gate.
    held = [
        portal.start_task_soon(workers.run_cpu_bound, gate.wait)
        for _ in range(workers.CPU_BOUND_SLOTS)
    ]
    try:
        deadline = time.monotonic() + 10
        while workers._cpu_bound.borrowed_tokens < workers.CPU_BOUND_SLOTS:
            assert time.monotonic() < deadline, "the slots were not taken"
            time.sleep(0.01)

        def post() -> httpx.Response:
            return client.post(
                f"/console/prompts/{name}/-/{path}",
                data=FORM,
                headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
            )

        with ThreadPoolExecutor(1) as pool:
            sent = pool.submit(post)
            time.sleep(WAITS_AT_LEAST_S)
            assert not sent.done(), "answered while every CPU-bound slot was busy"
            gate.set()
            response = sent.result(timeout=30)
        assert response.status_code == 200, response.text
        assert answer in response.text
    finally:
        gate.set()
        for holder in held:
            holder.result(timeout=30)
