"""The queue a page at a time (the console's queues) agrees with the whole queue of the
API, and the locales translations exist in are found by their index."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.translations import service
from registry.translations.models import Translation

from factories import unique_name

OPEN = ("missing", "stale", "draft", "in_review", "rejected")
WHO = [{"name": "who", "type": "string"}]


def publish(client: TestClient, name: str, template: str) -> None:
    if client.get(f"/v1/prompts/{name}").status_code == 404:
        client.post("/v1/prompts", json={"name": name})
    response = client.post(
        f"/v1/prompts/{name}/-/versions", json={"template": template, "variables": WHO}
    )
    assert response.status_code == 201, response.text


def a_queue(client: TestClient) -> str:
    """Six prompts in two folders, in every state but draft and rejected; their root."""
    root = unique_name("qpage")
    for path in ("a/one", "a/two", "a/three", "b/four", "b/five", "b/six"):
        publish(client, f"{root}/{path}", f"{path} for {{{{ who }}}}.")
    for path, status in (("a/one", "approved"), ("a/two", "in_review"), ("b/four", "approved")):
        url = f"/v1/prompts/{root}/{path}/-/translations/fr"
        client.put(url, json={"template": "Pour {{ who }}.", "status": "in_review"})
        if status == "approved":
            client.post(f"{url}/review", json={"action": "approve"})
    publish(client, f"{root}/b/four", "b/four, newer, for {{ who }}.")  # stale now
    return root


def test_pages_hold_the_queues_entries_and_its_progress(
    client: TestClient, session: Session
) -> None:
    root = a_queue(client)
    whole = service.queue(session, "fr", prefix=root)
    wanted = [item for item in whole.prompts if item.state in OPEN]
    assert [i.state for i in wanted].count("missing") == 3

    pages, offset = [], 0
    while True:
        page = service.queue_page(session, "fr", states=OPEN, prefix=root, offset=offset, limit=2)
        pages.append(page.items)
        assert page.folders == whole.folders and page.total == whole.total
        if not page.more:
            break
        offset += 2
    assert [len(items) for items in pages] == [2, 2, 1]
    assert [item for items in pages for item in items] == wanted

    in_review = service.queue_page(session, "fr", states=["in_review"], prefix=root)
    assert in_review.locale == "fr"
    assert [i.prompt for i in in_review.items] == [f"{root}/a/two"] and not in_review.more
    outside = service.queue_page(session, "fr", states=OPEN, prefix=root, within=["elsewhere/"])
    assert outside.items == [] and outside.total.prompts == 0


def test_the_locales_translations_are_in(client: TestClient, session: Session) -> None:
    root = a_queue(client)
    client.put(f"/v1/prompts/{root}/a/one/-/translations/ja", json={"template": "{{ who }} へ。"})
    client.put(f"/v1/prompts/{root}/a/one/-/translations/de", json={"template": "Für {{ who }}."})
    every = sorted(set(session.scalars(select(Translation.locale))))
    assert service.translated_locales(session) == every
    assert {"de", "fr", "ja"} <= set(every)
    assert service.translated_locales(session, limit=2) == every[:2]
