"""Which locale a request is served: the caller's order of preference, the source included.

The demo's ``support/greeting`` has English source text, approved fr, de, es and ja
translations, and an Italian draft. What ``locale_match`` says:

- ``exact``: the first locale asked for is served (the source locale too, when asked).
- ``fallback``: a locale the caller's list reaches is served: a CLDR parent of a locale
  asked for (``en_GB`` → ``en``), or a later choice (``it, de`` → ``de``).
- ``source``: nothing asked for could be served, or nothing usable was asked (no header,
  only malformed entries, or ``*``, which any language satisfies and the source serves
  best); ``requested_locale`` is then the source locale, as when nothing is asked.

Malformed ``Accept-Language`` entries are skipped, as HTTP allows; ``*`` ends the list.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry import Client, write_bundle
from registry.demo import seed_demo

GREETING = "/v1/prompts/support/greeting/-"

# Accept-Language → (served locale, requested_locale, locale_match).
TABLE: list[tuple[str | None, tuple[str, str, str]]] = [
    # The source locale first: served, whatever follows.
    ("en-US,en;q=0.9,fr;q=0.8", ("en", "en_US", "fallback")),
    ("en, fr;q=0.9", ("en", "en", "exact")),
    ("en", ("en", "en", "exact")),
    ("en-GB", ("en", "en_GB", "fallback")),
    ("en-GB, fr;q=0.5", ("en", "en_GB", "fallback")),
    # The source locale second: the first choice wins when translated.
    ("fr, en;q=0.9", ("fr", "fr", "exact")),
    ("fr-CA, en;q=0.9", ("fr", "fr_CA", "fallback")),
    ("it, en;q=0.9, de;q=0.8", ("en", "it", "fallback")),
    # Only approved text is served: the Italian draft is passed over.
    ("it, de;q=0.9", ("de", "it", "fallback")),
    ("it", ("en", "it", "source")),
    ("pt-BR", ("en", "pt_BR", "source")),
    ("de-AT", ("de", "de_AT", "fallback")),
    ("zh-Hant-TW, ja;q=0.5", ("ja", "zh_Hant_TW", "fallback")),
    # q-values order the list, not the order written.
    ("en;q=0.5, fr", ("fr", "fr", "exact")),
    # The wildcard: any language will do, and the source serves it.
    ("*", ("en", "en", "source")),
    ("fr, *;q=0.5", ("fr", "fr", "exact")),
    ("it, *;q=0.5, de;q=0.3", ("en", "it", "source")),
    # Malformed entries are skipped; nothing usable asked is not an exact match.
    ("xx-!!", ("en", "en", "source")),
    ("xx-!!, fr;q=0.5", ("fr", "fr", "exact")),
    ("fr;q=2", ("en", "en", "source")),
    (None, ("en", "en", "source")),
]


@pytest.fixture
def demo(session: Session, client: TestClient) -> TestClient:
    seed_demo(session)
    return client


def served(body: dict[str, str]) -> tuple[str, str, str]:
    return (body["locale"], body["requested_locale"], body["locale_match"])


class TestAcceptLanguage:
    @pytest.mark.parametrize(("header", "expected"), TABLE)
    def test_resolve(
        self, demo: TestClient, header: str | None, expected: tuple[str, str, str]
    ) -> None:
        headers = {} if header is None else {"Accept-Language": header}
        response = demo.get(f"{GREETING}/resolve", headers=headers)
        assert response.status_code == 200, response.text
        assert served(response.json()) == expected

    @pytest.mark.parametrize(("header", "expected"), TABLE)
    def test_render(
        self, demo: TestClient, header: str | None, expected: tuple[str, str, str]
    ) -> None:
        headers = {} if header is None else {"Accept-Language": header}
        response = demo.post(
            f"{GREETING}/render",
            json={"variables": {"customer_name": "Mia"}},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        assert served(response.json()) == expected


class TestExplicitLocale:
    @pytest.mark.parametrize(
        ("locale", "expected"),
        [
            ("en", ("en", "en", "exact")),
            ("en-GB", ("en", "en_GB", "fallback")),
            ("fr", ("fr", "fr", "exact")),
            ("fr-CA", ("fr", "fr_CA", "fallback")),
            ("it", ("en", "it", "source")),
        ],
    )
    def test_query_locale(
        self, demo: TestClient, locale: str, expected: tuple[str, str, str]
    ) -> None:
        body = demo.get(f"{GREETING}/resolve", params={"locale": locale}).json()
        assert served(body) == expected


@pytest.fixture
def sdk(demo: TestClient) -> Iterator[Client]:
    with Client(http_client=demo) as sdk:
        yield sdk


SDK_TABLE: list[tuple[list[str], tuple[str, str, str]]] = [
    (["en", "fr"], ("en", "en", "exact")),
    (["en-US", "en", "fr"], ("en", "en_US", "fallback")),
    (["en-GB", "fr"], ("en", "en_GB", "fallback")),
    (["fr", "en"], ("fr", "fr", "exact")),
    (["it", "de"], ("de", "it", "fallback")),
    (["it", "en", "de"], ("en", "it", "fallback")),
    (["it"], ("en", "it", "source")),
    ([], ("en", "en", "source")),
]


class TestSdkLocales:
    @pytest.mark.parametrize(("locales", "expected"), SDK_TABLE)
    def test_a_list_of_locales_in_order(
        self, sdk: Client, locales: list[str], expected: tuple[str, str, str]
    ) -> None:
        prompt = sdk.get("support/greeting", locale=locales or None)
        assert (prompt.locale, prompt.requested_locale, prompt.locale_match) == expected

    def test_an_offline_bundle_answers_the_same(
        self, demo: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "prompts.json"
        write_bundle(Client(http_client=demo), path, names=["support/greeting"])
        monkeypatch.delenv("REGISTRY_URL", raising=False)
        with Client(bundle=path) as offline:
            for locales, expected in SDK_TABLE:
                prompt = offline.get("support/greeting", locale=locales or None)
                assert prompt.origin == "bundle"
                answer = (prompt.locale, prompt.requested_locale, prompt.locale_match)
                assert answer == expected, locales

    def test_no_locale_is_the_source_not_an_exact_match(self, sdk: Client) -> None:
        prompt = sdk.get("support/greeting")
        assert (prompt.locale, prompt.requested_locale, prompt.locale_match) == (
            "en",
            "en",
            "source",
        )
