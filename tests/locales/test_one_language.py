"""An answer in French, German, Spanish or Japanese holds no English sentence.

Each kind of message a user can trigger is asked for in English and in each shipped
language, through the real app; no run of three English words of the English answer may
be left in the translated one. The words of another program are allowed only where the
registry sets them apart: what Jinja (or Python under it) said follows the registry's own
message as ``(Jinja: …)``, what Pydantic said of a rare error as ``(Pydantic: …)``.
Names of the API and of file formats (``msgid``, ``template``) and the values a message
quotes are not sentences, so they do not count.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from factories import make_prompt

LANGUAGES = ("fr", "de", "es", "ja")
PO_TYPE = {"content-type": "text/x-gettext-translation"}
PO_HEADER = b'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'

Trigger = Callable[[TestClient, str, dict[str, str]], Response]


def _resolve(locale: str) -> Trigger:
    return lambda client, name, headers: client.get(
        f"/v1/prompts/{name}/-/resolve", params={"locale": locale}, headers=headers
    )


def _import(data: bytes) -> Trigger:
    return lambda client, _name, headers: client.post(
        "/v1/translations/import", content=data, headers={**PO_TYPE, **headers}
    )


def _publish(template: str) -> Trigger:
    return lambda client, name, headers: client.post(
        f"/v1/prompts/{name}/-/versions",
        json={"template": template, "variables": [{"name": "who"}]},
        headers=headers,
    )


def _render(values: dict[str, Any]) -> Trigger:
    return lambda client, name, headers: client.post(
        f"/v1/prompts/{name}/-/render", json={"variables": values}, headers=headers
    )


def _body(path: str, content: bytes) -> Trigger:
    return lambda client, name, headers: client.post(
        path.format(name=name),
        content=content,
        headers={"content-type": "application/json", **headers},
    )


def _post(path: str, body: dict[str, Any], method: str = "POST") -> Trigger:
    return lambda client, name, headers: client.request(
        method, path.format(name=name), json=body, headers=headers
    )


# Kind of message → how a request triggers it, on the prompt of the fixture below.
KINDS: dict[str, Trigger] = {
    "locale reason: malformed tag": _resolve("de--!"),
    "locale reason: no CLDR locale, with suggestions": _resolve("es-XX"),
    "locale reason: unknown language": _resolve("qq"),
    "locale reason: POSIX modifier": _resolve("sr_RS@latin"),
    "PO parser: no entry": _import(b"hello\n"),
    "PO parser: malformed string": _import(PO_HEADER + b'msgctxt "c"\nmsgid "a"\nmsgstr "b"c"\n'),
    "PO parser: keyword out of order": _import(PO_HEADER + b'msgid "a"\nmsgctxt "c"\n'),
    "PO parser: Babel's unknown keyword": _import(
        PO_HEADER + b'msgctxt "c"\nmsgid "a"\nmsgstring "b"\n'
    ),
    "filter error at render": _render({"who": "Ana", "amount": "many"}),
    "filter arguments refused at publish": _publish("{{ who | currency('XYZ') }}"),
    "validator: key owner": _post("/v1/keys", {"owner": "  ", "role": "reader"}),
    "validator: key expiry without a time zone": _post(
        "/v1/keys", {"owner": "ops", "role": "reader", "expires_at": "2099-01-01T00:00:00"}
    ),
    "validator: translation body": _post(
        "/v1/prompts/{name}/-/translations/fr", {"note": "x"}, method="PUT"
    ),
    "validator: bulk review selection": _post(
        "/v1/translations/review",
        {"action": "approve", "locale": "fr", "prompts": ["a"], "prefix": "a/"},
    ),
    "JSON decoder: expecting value": _body("/v1/prompts", b'{"name": }'),
    "JSON decoder: property name": _body("/v1/prompts", b'{"name": "a",}'),
    "JSON decoder: extra data": _body("/v1/prompts/{name}/-/render", b"{} {}"),
    "Jinja syntax error": _publish("Hello {{ who }"),
    "Jinja runtime error": _render({"who": "boom", "amount": "2"}),
}

# Set apart on purpose: another program's own words, after the registry's message.
_SET_APART = re.compile(r"[(（]\s*(?:Jinja|Pydantic)\s*[:：].*", re.DOTALL)
# Quoted values and names of the API (snake_case, dotted, code) are not sentences.
_NOT_WORDS = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\{[^}]*\}|\S*[_./\\@]\S*")
_ENGLISH_WORD = re.compile(r"[A-Za-z]+")


def english_runs(text: str) -> set[str]:
    """The runs of three consecutive words of an English message, in lower case."""
    # A run never spans a removed value: split on the gaps they leave.
    runs: set[str] = set()
    for chunk in _NOT_WORDS.sub(" | ", _SET_APART.sub("", text)).split("|"):
        words = [w.lower() for w in _ENGLISH_WORD.findall(chunk)]
        runs.update(" ".join(words[i : i + 3]) for i in range(len(words) - 2))
    return runs


def texts(body: dict[str, Any]) -> list[str]:
    return [str(body["detail"]), *(str(item["message"]) for item in body.get("errors", []))]


@pytest.fixture
def prompt(session: Session) -> str:
    # amount is text, so a word reaches the number filter; "boom" adds a string and a number.
    return make_prompt(
        session,
        template='{{ who }}: {{ amount | number }}{% if who == "boom" %}{{ who + 1 }}{% endif %}',
        variables=[{"name": "who", "type": "string"}, {"name": "amount", "type": "string"}],
    )


class TestOneLanguage:
    @pytest.mark.parametrize("language", LANGUAGES)
    @pytest.mark.parametrize("kind", list(KINDS))
    def test_no_english_sentence_is_left(
        self, client: TestClient, prompt: str, kind: str, language: str
    ) -> None:
        trigger = KINDS[kind]
        english = trigger(client, prompt, {"Accept-Language": "en"})
        translated = trigger(client, prompt, {"Accept-Language": language})

        assert 400 <= english.status_code < 500, english.text
        assert translated.status_code == english.status_code, translated.text
        assert translated.headers["content-language"] == language
        pairs = list(zip(texts(english.json()), texts(translated.json()), strict=True))
        for source, text in pairs:
            assert text != source, f"{kind}: not translated: {text!r}"
            left = {run for run in english_runs(source) if run in text.lower()}
            assert not left, f"{kind} in {language}: {sorted(left)} left in {text!r}"

    def test_the_check_finds_english(self) -> None:
        french = "valeur non valide : not a BCP 47 or POSIX locale tag"
        runs = english_runs("invalid value: not a BCP 47 or POSIX locale tag")
        assert {run for run in runs if run in french.lower()} == {
            "not a bcp",
            "or posix locale",
            "posix locale tag",
        }

    def test_words_set_apart_are_not_counted(self) -> None:
        runs = english_runs("syntax error (Jinja: unexpected end of template)")
        assert runs == set()
        assert english_runs("the template failed (Jinja: can only concatenate str)") == {
            "the template failed"
        }
