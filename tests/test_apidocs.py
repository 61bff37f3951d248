"""/docs and /redoc name only the registry's own URLs, and the registry serves each of them.

The pages rendering with the network blocked is tested in a real browser
(tests/console/browser/test_apidocs_browser.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from registry.apidocs import STATIC_DIR
from registry.app import create_app
from registry.config import Settings

# Every URL a page loads: src= and href= attributes, and the document Swagger UI and
# ReDoc are given (`url: '…'` in a script, spec-url="…" on ReDoc's element).
_URL = re.compile(r"""(?:\b(?:src|href|spec-url)=|\burl:\s*)["']([^"']+)["']""")


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'registry.db'}"))
    with TestClient(app) as test_client:
        yield test_client


def loaded_urls(html: str) -> list[str]:
    return _URL.findall(html)


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"}),
        ("/redoc", {"redoc.standalone.js", "favicon-32x32.png"}),
    ],
)
def test_the_page_loads_only_the_registrys_own_files(
    app_client: TestClient, page: str, assets: set[str]
) -> None:
    response = app_client.get(page)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = loaded_urls(response.text)
    assert "/openapi.json" in urls
    assert {url.removeprefix("/docs/assets/") for url in urls} == {*assets, "/openapi.json"}
    # No other host: not a CDN, not Google's fonts, not Swagger's online validator.
    assert not re.search(r"https?://|//[a-z]", response.text, re.IGNORECASE)
    assert "validatorUrl" in response.text or page == "/redoc"


def test_every_file_a_page_loads_is_served_as_shipped(app_client: TestClient) -> None:
    urls = {*loaded_urls(app_client.get("/docs").text), *loaded_urls(app_client.get("/redoc").text)}
    types = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "json"}

    for url in sorted(urls):
        response = app_client.get(url)
        assert response.status_code == 200, url
        assert types[Path(url).suffix] in response.headers["content-type"], url
        if url.startswith("/docs/assets/"):
            assert response.content == (STATIC_DIR / Path(url).name).read_bytes()


def test_an_app_mounted_under_a_prefix_names_its_files_under_it(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'registry.db'}"))
    with TestClient(app, root_path="/registry") as test_client:
        html = test_client.get("/docs").text

    assert set(loaded_urls(html)) == {
        "/registry/docs/assets/swagger-ui-bundle.js",
        "/registry/docs/assets/swagger-ui.css",
        "/registry/docs/assets/favicon-32x32.png",
        "/registry/openapi.json",
    }


def test_each_vendored_asset_keeps_its_license(app_client: TestClient) -> None:
    for bundle in ("swagger-ui-bundle.js", "redoc.standalone.js"):
        head = (STATIC_DIR / bundle).read_text(encoding="utf-8")[:200]
        assert f"For license information please see {bundle}.LICENSE.txt" in head
        assert (STATIC_DIR / f"{bundle}.LICENSE.txt").is_file()
    assert "Apache License" in (STATIC_DIR / "swagger-ui.LICENSE").read_text(encoding="utf-8")
    assert "MIT" in (STATIC_DIR / "redoc.LICENSE").read_text(encoding="utf-8")


def test_redoc_loads_no_logo_from_its_cdn() -> None:
    # The one request ReDoc's bundle makes to another host (static/VERSIONS.md).
    assert "cdn.redoc.ly" not in (STATIC_DIR / "redoc.standalone.js").read_text(encoding="utf-8")
