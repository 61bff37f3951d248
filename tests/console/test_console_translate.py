"""The translators' console pages with the real app: the queue, the side-by-side editor
with its checks, submitting for review, and PO files, as each key may use them."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from registry.prompts.prompts import create_prompt
from registry.prompts.publish import publish_version
from registry.prompts.schemas import PromptCreate, VersionCreate
from registry.translations import service as i18n
from registry.translations.schemas import ReviewAction, TranslationReview, TranslationSubmit

from factories import make_prompt, publish

SignedIn = Callable[..., tuple[TestClient, str]]
HTMX = {"HX-Request": "true"}


def translate(session: Session, name: str, locale: str, text: str, status: str = "draft") -> None:
    i18n.submit_translation(
        session,
        name,
        locale,
        TranslationSubmit(template=text, status=status),
        author="tests",
    )


def approve(session: Session, name: str, locale: str) -> None:
    i18n.review_translation(
        session, name, locale, TranslationReview(action=ReviewAction.approve), actor="tests"
    )


def stale_prompt(session: Session, name: str) -> None:
    """A prompt whose approved fr translation went stale: its source changed."""
    make_prompt(session, name=name, template="Hello {{ who }}, welcome!")
    translate(session, name, "fr", "Bonjour {{ who }}, bienvenue !")
    approve(session, name, "fr")
    publish(session, name=name, template="Hello {{ who }}, welcome back to our shop!")


def page_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


class TestQueue:
    def test_a_translator_sees_its_locale_and_folder_with_completeness(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="tq/a/one")
        make_prompt(session, name="tq/a/two")
        make_prompt(session, name="tq/b/three")
        make_prompt(session, name="tq-other/four")
        translate(session, "tq/a/one", "fr", "Bonjour {{ who }}")
        approve(session, "tq/a/one", "fr")
        translate(session, "tq/a/two", "fr", "Salut {{ who }}", status="in_review")
        client, _csrf = signed_in("translator", folder="tq/", locales=("fr",))

        page = client.get("/console/translate").text
        assert 'href="/console/translate"' in page  # in the navigation
        assert 'href="/console/translate/fr/tq/a/two"' in page
        assert 'href="/console/translate/fr/tq/b/three"' in page
        assert "tq/a/one" not in re.findall(r'/console/translate/fr/([^"]+)"', page)
        assert "tq-other" not in page  # outside the key's folder
        # Completeness per folder: tq/a has one of two approved.
        assert re.search(r'<progress max="2" value="1"[^>]*tq/a', page)
        in_review = client.get("/console/translate", params={"locale": "fr", "state": "in_review"})
        assert re.findall(r'/console/translate/fr/(tq/[^"]+)"', in_review.text) == ["tq/a/two"]

    def test_a_translator_may_not_open_another_locale_or_folder(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="tl/in")
        make_prompt(session, name="tl-out/p")
        client, _csrf = signed_in("translator", folder="tl/", locales=("fr",))
        de = client.get("/console/translate", params={"locale": "de"})
        assert (
            de.status_code == 403 and "fr" in de.text and "text/html" in de.headers["content-type"]
        )
        assert client.get("/console/translate/de/tl/in").status_code == 403
        outside = client.get("/console/translate/fr/tl-out/p")
        assert outside.status_code == 403 and "tl/" in outside.text
        assert client.get("/console/translate/de/-/po").status_code == 403

    def test_a_reader_sees_no_translate_link_and_is_refused(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="tr/p")
        client, _csrf = signed_in("reader")
        assert 'href="/console/translate"' not in client.get("/console/prompts").text
        refused = client.get("/console/translate", params={"locale": "fr"})
        assert refused.status_code == 403 and "translator" in refused.text
        assert client.get("/console/translate/fr/tr/p").status_code == 403


class TestEditor:
    def test_a_stale_entry_shows_the_source_change_and_is_fixed(
        self, session: Session, signed_in: SignedIn, client: TestClient
    ) -> None:
        stale_prompt(session, "ts/greet")
        console, csrf = signed_in("translator", folder="ts/", locales=("fr",))
        page = console.get("/console/translate/fr/ts/greet").text
        assert "state-stale" in page
        # The change since the translation, word by word: the words added are marked.
        changes = re.search(r'<pre class="source diff-inline"[^>]*>(.*?)</pre>', page, re.S)
        assert changes
        assert re.sub(r"<span class=\"visually-hidden\">[^<]*</span>", "", changes[1]) == (
            "Hello {{ who }}, welcome<ins> back to our shop</ins>!"
        )
        # Variables are chips with a button inserting them as written.
        assert 'data-insert="{{ who }}"' in page
        assert "Bonjour {{ who }}, bienvenue !" in html.unescape(page)

        fixed = "Bonjour {{ who }}, bon retour dans notre boutique !"
        answer = console.post(
            "/console/translate/fr/ts/greet",
            data={"csrf_token": csrf, "version": "2", "template": fixed, "action": "in_review"},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/console/translate/fr/ts/greet?saved=in_review"
        stored = i18n.get_translation(session, "ts/greet", "fr", None)
        assert stored.status.value == "in_review" and stored.template == fixed
        after = console.get(answer.headers["location"]).text
        assert "Submitted for review." in after and "state-in_review" in after

    def test_a_lost_variable_is_refused_at_its_field(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="tv/p", template="Hello {{ who }}")
        console, csrf = signed_in("translator", locales=("fr",))
        answer = console.post(
            "/console/translate/fr/tv/p",
            data={"csrf_token": csrf, "version": "1", "template": "Bonjour", "action": "draft"},
        )
        assert answer.status_code == 422
        field = re.search(r'id="unit-0-errors" class="field-errors">(.*?)</div>', answer.text, re.S)
        assert field and "who" in field[1] and "field-error" in field[1]
        assert 'aria-invalid="true"' in answer.text
        assert ">Bonjour</textarea>" in answer.text  # the text typed is kept
        try:
            i18n.get_translation(session, "tv/p", "fr", None)
        except Exception as exc:  # nothing was written
            assert "no fr translation" in str(exc)
        else:
            raise AssertionError("the refused text was stored")

    def test_the_live_check_runs_the_translation_checks_and_the_guide(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="tlc/p", template="Hello {{ who }}")
        console, csrf = signed_in("translator", locales=("fr",))
        url = "/console/translate/fr/tlc/p/-/lint"
        headers = {**HTMX, "X-CSRF-Token": csrf}
        missing = console.post(url, data={"version": "1", "template": "Bonjour"}, headers=headers)
        assert missing.status_code == 200 and "<html" not in missing.text
        assert "variable missing from the translation: who" in missing.text
        fine = console.post(
            url, data={"version": "1", "template": "Bonjour {{ who }}"}, headers=headers
        )
        assert "variable missing" not in fine.text
        assert "guide" in fine.text or "finding" in fine.text
        nothing = console.post(url, data={"version": "1", "template": ""}, headers=headers)
        assert "Nothing to check yet." in nothing.text

    def test_plural_forms_of_the_locale_each_get_a_field(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(
            session,
            name="tp/p",
            template='You have {{ n | plural(one="# message", other="# messages") }}.',
            variables=[{"name": "n", "type": "integer"}],
        )
        console, _csrf = signed_in("translator", locales=("ru",))
        page = console.get("/console/translate/ru/tp/p").text
        forms = re.findall(r'data-form="(\w+)"', page)
        assert forms == ["one", "few", "many", "other"]
        assert 'data-value="n"' in page
        # The plural call is not a chip to insert in English.
        assert 'data-insert="{{ n | plural' not in html.unescape(page)

    def test_a_chat_prompt_has_a_field_per_message(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        create_prompt(session, PromptCreate(name="tch/p", kind="chat"))
        publish_version(
            session,
            "tch/p",
            VersionCreate.model_validate(
                {
                    "messages": [
                        {"role": "system", "content": "You help {{ who }}."},
                        {"role": "user", "content": "{{ question }}"},
                    ],
                    "variables": [{"name": "who"}, {"name": "question"}],
                }
            ),
            author="tests",
        )
        console, csrf = signed_in("translator", locales=("de",))
        page = console.get("/console/translate/de/tch/p").text
        assert 'name="messages.0.content"' in page and 'name="messages.1.content"' in page
        assert "Only a variable: nothing to translate." in page
        answer = console.post(
            "/console/translate/de/tch/p",
            data={
                "csrf_token": csrf,
                "version": "1",
                "messages.0.content": "Du hilfst {{ who }}.",
                "messages.1.content": "{{ question }}",
                "action": "draft",
            },
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        stored = i18n.get_translation(session, "tch/p", "de", None)
        assert [m.content for m in stored.messages or []] == [
            "Du hilfst {{ who }}.",
            "{{ question }}",
        ]

    def test_a_post_without_the_csrf_token_is_refused(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="tcs/p")
        console, _csrf = signed_in("translator", locales=("fr",))
        answer = console.post(
            "/console/translate/fr/tcs/p",
            data={"version": "1", "template": "Bonjour {{ who }}", "action": "draft"},
        )
        assert answer.status_code == 403 and "security token" in answer.text
        assert i18n.list_translations(session, "tcs/p", None) == []

    def test_the_source_locale_is_refused(self, session: Session, signed_in: SignedIn) -> None:
        make_prompt(session, name="tsl/p")
        console, _csrf = signed_in("editor")
        answer = console.get("/console/translate/en/tsl/p")
        assert answer.status_code == 422 and "source locale" in answer.text


class TestPoFiles:
    def test_download_edit_and_upload(self, session: Session, signed_in: SignedIn) -> None:
        make_prompt(session, name="tpo/a", template="Hello {{ who }}, welcome to our shop!")
        make_prompt(session, name="tpo/b", template="Thank you, {{ who }}.")
        console, csrf = signed_in("translator", folder="tpo/", locales=("fr",))
        page = console.get("/console/translate", params={"locale": "fr"}).text
        assert 'href="/console/translate/fr/-/po?folder="' in page
        download = console.get("/console/translate/fr/-/po")
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/x-gettext-translation")
        assert 'filename="fr.po"' in download.headers["content-disposition"]
        po_text = download.text
        assert 'msgctxt "tpo/a@1"' in po_text and 'msgctxt "tpo/b@1"' in po_text
        edited = po_text.replace(
            'msgid "Thank you, {{ who }}."\nmsgstr ""',
            'msgid "Thank you, {{ who }}."\nmsgstr "Merci, {{ who }}."',
        )
        assert edited != po_text
        answer = console.post(
            "/console/translate/fr/-/po",
            data={"csrf_token": csrf},
            files={"file": ("fr.po", edited.encode(), "text/x-gettext-translation")},
        )
        assert answer.status_code == 200, answer.text
        assert "1 updated" in page_text(answer.text)
        stored = i18n.get_translation(session, "tpo/b", "fr", None)
        assert stored.template == "Merci, {{ who }}."

    def test_a_file_that_does_not_fit_changes_nothing(
        self, session: Session, signed_in: SignedIn
    ) -> None:
        make_prompt(session, name="tpb/a", template="Thank you, {{ who }}.")
        console, csrf = signed_in("translator", locales=("fr",))
        po_text = console.get("/console/translate/fr/-/po", params={"folder": "tpb"}).text
        broken = po_text.replace(
            'msgid "Thank you, {{ who }}."\nmsgstr ""',
            'msgid "Thank you, {{ who }}."\nmsgstr "Merci."',
        )
        answer = console.post(
            "/console/translate/fr/-/po",
            data={"csrf_token": csrf},
            files={"file": ("fr.po", broken.encode(), "text/x-gettext-translation")},
        )
        assert answer.status_code == 422
        assert "Nothing was changed." in answer.text and "who" in answer.text
        assert i18n.list_translations(session, "tpb/a", None) == []
