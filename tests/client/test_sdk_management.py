"""Management calls for admin scripts: typed results from the real app."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry import Client, NotFoundError
from registry.demo import seed_demo
from registry.prompts.schemas import Diff, Label, Prompt, Variable, Version
from registry.translations.schemas import ImportResult, Queue, Translation, TranslationStatus


class TestPromptsAndVersions:
    def test_create_publish_label_and_serve(
        self, client: TestClient, make_token: Callable[..., str]
    ) -> None:
        sdk = Client(http_client=client, api_key=make_token("reviewer", owner="alice"))
        created = sdk.create_prompt(
            "sdk/welcome", description="Welcome line", tags=["onboarding"], source_locale="en"
        )
        assert isinstance(created, Prompt)
        assert (created.name, created.kind, created.latest_version) == ("sdk/welcome", "text", None)
        first = sdk.publish(
            "sdk/welcome",
            template="Welcome, {{ who }}!",
            variables=[Variable(name="who")],
            config={"model": "gpt-4o-mini", "temperature": 0.2},
            message="first",
        )
        assert isinstance(first, Version)
        assert (first.number, first.author, first.config.temperature) == (1, "alice", 0.2)
        again = sdk.publish(
            "sdk/welcome",
            template="Welcome, {{ who }}!",
            variables=[{"name": "who"}],
            config={"model": "gpt-4o-mini", "temperature": 0.2},
        )
        assert again.number == 1  # the same content is the same version
        second = sdk.publish(
            "sdk/welcome", template="Hi {{ who }}, welcome aboard.", variables=[{"name": "who"}]
        )
        label = sdk.set_label("sdk/welcome", "production", 1, reason="launch")
        assert isinstance(label, Label) and label.history[0].actor == "alice"
        assert sdk.render("sdk/welcome", {"who": "Ada"}) == "Welcome, Ada!"
        sdk.set_label("sdk/welcome", "production", second.number, reason="friendlier")
        assert sdk.render("sdk/welcome", {"who": "Ada"}) == "Hi Ada, welcome aboard."
        assert [e.to_version for e in sdk.get_label("sdk/welcome", "production").history] == [2, 1]
        assert [lab.name for lab in sdk.list_labels("sdk/welcome")] == ["production"]
        assert [v.number for v in sdk.list_versions("sdk/welcome").items] == [2, 1]
        assert sdk.get_version("sdk/welcome", 1).template == "Welcome, {{ who }}!"
        diff = sdk.diff("sdk/welcome", 1, 2)
        assert isinstance(diff, Diff) and "+Hi {{ who }}, welcome aboard." in diff.content
        updated = sdk.update_prompt("sdk/welcome", tags=["onboarding", "email"])
        assert sorted(updated.tags) == ["email", "onboarding"]
        assert sdk.read_prompt("sdk/welcome").labels == {"production": 2}
        assert [p.name for p in sdk.list_prompts(prefix="sdk/").items] == ["sdk/welcome"]

    def test_archive_and_restore(self, client: TestClient) -> None:
        sdk = Client(http_client=client)
        sdk.create_prompt("sdk/old", kind="chat")
        sdk.publish("sdk/old", messages=[{"role": "user", "content": "Hi"}])
        sdk.set_label("sdk/old", "production", 1)
        assert sdk.archive("sdk/old").archived
        assert sdk.list_prompts(prefix="sdk/").items == []
        assert sdk.restore("sdk/old").archived is False
        assert sdk.render("sdk/old") == [{"role": "user", "content": "Hi"}]

    def test_reading_what_is_not_there(self, client: TestClient) -> None:
        sdk = Client(http_client=client)
        with pytest.raises(NotFoundError) as caught:
            sdk.get_version("sdk/missing", 1)
        assert caught.value.status == 404


class TestTranslations:
    def test_the_translator_workflow(
        self, session: Session, client: TestClient, make_token: Callable[..., str]
    ) -> None:
        seed_demo(session)
        sdk = Client(http_client=client, api_key=make_token("reviewer", owner="translator"))
        text = (
            "Deel het supportticket in bij precies één van deze categorieën: "
            "{{ categories | join(', ') }}.\nAntwoord alleen met de naam van de categorie.\n\n"
            "Ticket:\n{{ ticket }}\n"
        )
        before = sdk.get("classify/support-ticket", locale="nl", preview=True)
        assert before.locale == "en"
        draft = sdk.submit_translation("classify/support-ticket", "nl", template=text)
        assert isinstance(draft, Translation)
        assert (draft.status, draft.updated_by) == (TranslationStatus.draft, "translator")
        # Our own write invalidated the cached preview.
        assert sdk.get("classify/support-ticket", locale="nl", preview=True).locale == "nl"
        assert sdk.get("classify/support-ticket", locale="nl").locale == "en"
        approved = sdk.review_translation("classify/support-ticket", "nl", "approve")
        assert approved.status == TranslationStatus.approved
        assert sdk.get("classify/support-ticket", locale="nl").locale == "nl"
        fetched = sdk.get_translation("classify/support-ticket", "nl")
        assert {r.status for r in fetched.revisions} == {"draft", "approved"}
        summaries = sdk.list_translations("classify/support-ticket")
        assert "nl" in {s.locale for s in summaries}

    def test_queue_export_and_import(self, session: Session, client: TestClient) -> None:
        seed_demo(session)
        sdk = Client(http_client=client)
        queue = sdk.translation_queue("fr")
        assert isinstance(queue, Queue)
        assert "summarize/article" in {item.prompt for item in queue.items}
        po = sdk.export_translations("fr")
        assert po.startswith(b"#") and b"msgctxt" in po
        result = sdk.import_translations(po, locale="fr")
        assert isinstance(result, ImportResult) and result.locale == "fr"


def test_lint_through_the_sdk(client: TestClient) -> None:
    with Client(http_client=client) as sdk:
        result = sdk.lint(template="TODO: greet {{ who }}", variables=[{"name": "who"}])
    assert result.guide == "default"
    assert result.counts["error"] >= 1
    assert any(f.rule == "prompt.leftover-notes" for f in result.findings)
