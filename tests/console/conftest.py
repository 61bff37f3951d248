"""Console fixtures: a browser-like client signed in with a key of a given role."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = CSRF_FIELD.search(html)
    assert match, "the page has no form with a CSRF token"
    return match[1]


def sign_in(client: TestClient, token: str) -> str:
    """Sign ``client`` in with ``token``; returns the session's CSRF token."""
    page = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={"token": token, "csrf_token": csrf_of(page.text), "next": "/console/prompts"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/console/prompts").text)


@pytest.fixture
def console(client: TestClient) -> TestClient:
    """The app's client without the suite's admin key: a browser sends no bearer key."""
    client.headers.pop("Authorization", None)
    return client


@pytest.fixture
def signed_in(
    console: TestClient, make_token: Callable[..., str]
) -> Callable[..., tuple[TestClient, str]]:
    """``signed_in("editor", owner="eve")``: the console client signed in, and its CSRF."""

    def sign(role: str, **kwargs: object) -> tuple[TestClient, str]:
        console.cookies.clear()
        return console, sign_in(console, make_token(role, **kwargs))

    return sign
