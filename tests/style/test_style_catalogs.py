"""Style messages: in style.pot, translated in each style.po, shown in the caller's language."""

from __future__ import annotations

import os
import shutil
import string
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from registry.locales.messages import use_locale
from registry.style import LintInput, default_guide, lint, load_guide
from registry.style.catalog import code_messages, guide_messages

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
TEMPLATE = LOCALES / "style.pot"
LANGUAGES = ("fr", "de", "es", "ja")

MsgId = str | tuple[str, ...]


def template_ids() -> set[MsgId]:
    with TEMPLATE.open("rb") as pot:
        return {m.id for m in read_po(pot) if m.id}


def expected_ids() -> set[MsgId]:
    return set(code_messages()) | set(guide_messages())


def catalog(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "style.po"


def fields(text: str) -> set[str]:
    return {name for _t, name, _s, _c in string.Formatter().parse(text) if name is not None}


def allowed(ids: tuple[str, ...]) -> set[str]:
    return set().union(*(fields(i) for i in ids))


def required(ids: tuple[str, ...]) -> set[str]:
    # A singular form may leave out the count ("one character"); nothing else.
    return set.intersection(*(fields(i) for i in ids))


def problems(po: Path, template: set[MsgId]) -> list[str]:
    """Every template message the catalog lacks, leaves fuzzy or empty, or formats otherwise."""
    with po.open("rb") as source:
        entries = read_po(source)
    found = []
    for msgid in sorted(template, key=str):
        entry = entries.get(msgid)
        strings = () if entry is None else entry.string
        strings = strings if isinstance(strings, tuple) else (strings,)
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        if entry is None or entry.id != msgid:
            found.append(f"missing: {msgid!r}")
        elif entry.fuzzy:
            found.append(f"fuzzy: {msgid!r}")
        elif not all(strings):
            found.append(f"untranslated: {msgid!r}")
        elif any(not required(ids) <= fields(s) <= allowed(ids) for s in strings):
            found.append(f"placeholders differ: {msgid!r}")
    return found


class TestCatalogs:
    def test_every_engine_and_default_guide_message_is_in_the_template(self) -> None:
        missing = expected_ids() - template_ids()
        assert not missing, f"run `make style-messages`, then translate: {sorted(missing, key=str)}"

    def test_the_template_has_no_message_that_is_gone(self) -> None:
        stale = template_ids() - expected_ids()
        assert not stale, f"run `make style-messages`: {sorted(stale, key=str)}"

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_every_message_is_translated_with_its_placeholders(self, language: str) -> None:
        assert problems(catalog(language), template_ids()) == []

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_msgfmt_accepts_the_catalog(self, language: str) -> None:
        msgfmt = shutil.which("msgfmt") or "/usr/bin/msgfmt"
        assert Path(msgfmt).is_file(), "GNU gettext's msgfmt is required (make test installs it)"
        result = subprocess.run(
            [msgfmt, "--check", "--output-file", os.devnull, str(catalog(language))],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr


class TestTheChecksBite:
    def test_a_new_guide_message_is_found(self, tmp_path: Path) -> None:
        (tmp_path / "x.yaml").write_text(
            "locales:\n  de:\n    rules:\n      a.b: {kind: repetition, message: 'neu {match}'}\n",
            encoding="utf-8",
        )
        assert guide_messages(tmp_path) == {"neu {match}": ["a.b"]}
        assert "neu {match}" not in template_ids()

    def test_a_new_marked_message_is_found(self, tmp_path: Path) -> None:
        (tmp_path / "m.py").write_text(
            "from registry.style.i18n import mark, mark_plural\n"
            "A = mark('a new message {x}')\n"
            "B = mark_plural('{n} thing', '{n} things')\n",
            encoding="utf-8",
        )
        assert set(code_messages(tmp_path)) == {"a new message {x}", ("{n} thing", "{n} things")}

    def test_a_catalog_without_a_translation_fails(self, tmp_path: Path) -> None:
        po = tmp_path / "style.po"
        po.write_text(
            'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
            'msgid "avoid \\"{match}\\""\nmsgstr "évitez « {mot} »"\n',
            encoding="utf-8",
        )
        assert problems(po, {'avoid "{match}"', "all style checks are off here"}) == [
            "missing: 'all style checks are off here'",
            "placeholders differ: 'avoid \"{match}\"'",
        ]


def run(text: str, locale: str = "en", guide: object = None) -> list[tuple[str, str]]:
    data = LintInput(template=text, messages=None, locale=locale)
    findings = lint(data, guide or default_guide())  # type: ignore[arg-type]
    return [(f.rule, f.message) for f in findings]


class TestServedInTheCallersLanguage:
    @pytest.mark.parametrize(
        ("language", "message"),
        [
            ("de", "verwenden Sie die neutrale Form „chair“ statt „chairman“"),
            (
                "fr",
                "utilisez la forme neutre «\u00a0chair\u00a0» au lieu de «\u00a0chairman\u00a0»",
            ),
            ("es", "use la forma neutra «chair» en lugar de «chairman»"),
            ("ja", "「chairman」ではなく、中立的な「chair」を使ってください。"),
            ("de-AT", "verwenden Sie die neutrale Form „chair“ statt „chairman“"),
            ("ko", 'use the neutral "chair" instead of "chairman"'),
        ],
    )
    def test_default_guide_messages(self, language: str, message: str) -> None:
        with use_locale(language):
            assert run("Ask the chairman.") == [("inclusive.gendered-nouns", message)]

    def test_engine_messages_and_plurals(self) -> None:
        with use_locale("de"):
            found = run("a\u200b\u200bb {# style: off #}")
        assert found == [
            (
                "prompt.invisible-characters",
                "2 unsichtbare oder Steuerzeichen (U+200B ZERO WIDTH SPACE): Entfernen Sie sie",
            ),
            ("style.silenced", "hier sind alle Stilprüfungen ausgeschaltet"),
        ]

    def test_numbers_and_language_names_follow_the_locale(self) -> None:
        with use_locale("de"):
            found = run("Answer the question in plain words and cite the policy. " * 480)
        size = [m for rule, m in found if rule == "prompt.size"]
        assert size == ["der Prompt hat 26.880 Zeichen, 84\u00a0% seiner Obergrenze von 32.000"]
        with use_locale("ja"):
            found = run("Réponds toujours en français, avec des phrases courtes et claires.")
        assert found == [
            ("prompt.language", "テキストはフランス語のようですが、ロケールは英語です。")
        ]

    def test_a_users_guide_is_shown_as_written(self) -> None:
        guide = load_guide(
            {
                "extends": "default",
                "rules": {
                    "house.x": {
                        "kind": "existence",
                        "tokens": ["chairman"],
                        "message": 'avoid "{match}"',
                    }
                },
                "overrides": {"inclusive.gendered-nouns": {"message": "say {fix}"}},
            }
        )
        with use_locale("de"):
            found = run("Ask the chairman.", guide=guide)
        # The same text as a default message, but written by the user: not translated.
        assert found == [("house.x", 'avoid "chairman"'), ("inclusive.gendered-nouns", "say chair")]
