"""Prompt files: parse, canonical dump, byte-exact round trips, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.promptfiles import (
    PromptFile,
    PromptFileError,
    TranslationFile,
    dump_prompt,
    dump_translation,
    parse_prompt,
    parse_translation,
    prompt_path,
    scan,
)
from registry.prompts.schemas import Kind, Message, ModelConfig, Variable

TEXT = """\
---
kind: text
description: Greets a customer.
source_locale: en
tags:
- support
variables:
- name: customer_name
  type: string
  description: Who we greet.
- name: open_tickets
  type: integer
  required: false
  default: 0
config:
  model: gpt-4o
  temperature: 0.2
---
{% include "shared/tone@production" %}
Hello {{ customer_name }}!
"""

CHAT = """\
---
kind: chat
source_locale: en
variables:
- name: question
  type: string
---
- role: system
  content: |-
    You are helpful.
    Be brief.
- role: user
  content: '{{ question }}'
"""


class TestPromptFiles:
    def test_text_file_parses(self) -> None:
        prompt = parse_prompt(TEXT, name="support/greeting")
        assert prompt.kind is Kind.text
        assert (
            prompt.template
            == '{% include "shared/tone@production" %}\nHello {{ customer_name }}!\n'
        )
        assert [v.name for v in prompt.variables] == ["customer_name", "open_tickets"]
        assert prompt.config.temperature == 0.2
        assert prompt.tags == ("support",)

    @pytest.mark.parametrize(("text", "name"), [(TEXT, "support/greeting"), (CHAT, "support/chat")])
    def test_canonical_files_round_trip_byte_for_byte(self, text: str, name: str) -> None:
        assert dump_prompt(parse_prompt(text, name=name)) == text

    def test_chat_messages(self) -> None:
        prompt = parse_prompt(CHAT, name="support/chat")
        assert prompt.messages == (
            Message(role="system", content="You are helpful.\nBe brief."),
            Message(role="user", content="{{ question }}"),
        )

    @given(
        template=st.text(st.characters(blacklist_categories=("Cs",)), max_size=200),
        description=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60),
    )
    def test_any_template_round_trips(self, template: str, description: str) -> None:
        prompt = PromptFile(
            name="a/b",
            kind=Kind.text,
            description=description.strip(),
            template=template,
            variables=(Variable(name="x", required=False, default="y z"),),
            config=ModelConfig(temperature=1.0, stop=["\n\n"]),
        )
        text = dump_prompt(prompt)
        assert parse_prompt(text, name="a/b") == prompt
        assert dump_prompt(parse_prompt(text, name="a/b")) == text

    @given(
        contents=st.lists(
            # NUL is refused by the API (no store keeps it), so never in a prompt file.
            st.text(
                st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=80,
            ),
            min_size=1,
            max_size=4,
        )
    )
    def test_any_messages_round_trip(self, contents: list[str]) -> None:
        prompt = PromptFile(
            name="a/chat",
            kind=Kind.chat,
            messages=tuple(Message(role="user", content=c) for c in contents),
        )
        text = dump_prompt(prompt)
        assert parse_prompt(text, name="a/chat").messages == prompt.messages

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("no front matter", "starts with a '---'"),
            ("---\nkind: text\n", "no closing"),
            ("---\nkind: [unclosed\n---\nbody", "not valid YAML"),
            ("---\n- a list\n---\nbody", "mapping"),
            ("---\ncolour: red\n---\nbody", "unknown front matter keys: colour"),
            ("---\nkind: poem\n---\nbody", "invalid front matter"),
            ("---\nconfig:\n  temperature: 9\n---\nbody", "invalid front matter"),
            ("---\nkind: chat\n---\njust text", "YAML list"),
        ],
    )
    def test_errors_name_what_to_change(self, text: str, message: str) -> None:
        with pytest.raises(PromptFileError, match=message) as info:
            parse_prompt(text, name="a/b", path="a/b.prompt")
        assert str(info.value).startswith("a/b.prompt")

    def test_bad_name(self) -> None:
        with pytest.raises(PromptFileError, match="not a prompt name"):
            parse_prompt(TEXT, name="Support/Greeting")


class TestTranslationFiles:
    def test_text_round_trip(self) -> None:
        text = "---\nlocale: fr\nstatus: approved\n---\nBonjour {{ customer_name }} !\n"
        translation = parse_translation(text, name="support/greeting", kind=Kind.text)
        assert translation == TranslationFile(
            name="support/greeting",
            locale="fr",
            status="approved",
            texts=("Bonjour {{ customer_name }} !\n",),
        )
        assert dump_translation(translation, roles=None) == text

    def test_chat_round_trip(self) -> None:
        translation = TranslationFile(
            name="support/chat",
            locale="pt_BR",
            status="draft",
            texts=("Seja breve.", "{{ question }}"),
        )
        text = dump_translation(translation, roles=("system", "user"))
        assert parse_translation(text, name="support/chat", kind=Kind.chat) == translation

    def test_bad_locale(self) -> None:
        with pytest.raises(PromptFileError, match="locale"):
            parse_translation("---\nlocale: xx-YY\n---\nx", name="a", kind=Kind.text)


def test_scan_tells_prompts_from_translations(tmp_path: Path) -> None:
    for name, locale in [
        ("support/greeting", None),
        ("support/greeting", "fr"),
        ("support/greeting", "pt_BR"),
        ("guide.v2", None),
        ("notes.de", None),
    ]:
        path = prompt_path(tmp_path, name, locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    found = {(f.name, f.locale) for f in scan(tmp_path)}
    assert found == {
        ("support/greeting", None),
        ("support/greeting", "fr"),
        ("support/greeting", "pt_BR"),
        ("guide.v2", None),
        ("notes.de", None),  # no notes.prompt beside it: a prompt named notes.de
    }
