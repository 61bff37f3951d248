"""PO files for translators: what write_po writes, what read_po reads back or refuses."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.translations.po import PoEntry, PoError, read_po, write_po

MSGFMT = shutil.which("msgfmt")
MSGCAT = shutil.which("msgcat")
# `make test` installs Debian's gettext; without it these tests fail rather than skip.
needs_gettext = pytest.mark.usefixtures("gettext_tools")


@pytest.fixture
def gettext_tools() -> None:
    assert MSGFMT and MSGCAT, "GNU gettext is required (apt-get install gettext)"


GREETING = PoEntry(
    context="support/greeting@3",
    source="Hello {{ name }}!\n\n{% if vip %}Welcome back.{% endif %}\n",
    translation="",
    comments=("Greets the customer.", "variables: name, vip"),
)
STALE = PoEntry(
    context="support/assistant@2#1:user",
    source='Answer in {{ tone }} "style".',
    translation='Responda em estilo "{{ tone }}".',
    fuzzy=True,
    previous_source="Answer in a {{ tone }} style.\nBe brief.",
)

# Pieces that PO escaping and Babel's line handling could get wrong.
FRAGMENTS = [
    "{{ name }}",
    "{{ user.name | upper }}",
    "{% if vip %}",
    "{% endif %}",
    "{# note #}",
    "\n",
    "\n\n",
    "\r\n",
    "\t",
    " ",
    '"',
    '""',
    "\\",
    "\\n",
    '\\"',
    "%s",
    "%(name)s",
    "100%",
    "{0}",
    "#",
    "#~ ",
    "#| ",
    'msgid "x"',
    "é",
    "日本語",
    "مرحبا",
    "🙂",
    "\u2028",
    "\x85",
]
# EOT separates context and msgid in compiled catalogs; msgfmt refuses it in any string.
printable = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x04"), max_size=8)
texts = st.lists(st.sampled_from(FRAGMENTS) | printable, max_size=12).map("".join)
non_empty_texts = texts.filter(bool)
previous_texts = non_empty_texts
# One "#." line each: Babel strips comment lines and collapses repeats, and a backslash
# ending a line is dropped (GNU gettext would join the next line to the comment).
comments = st.text(
    st.characters(categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=30
).filter(lambda c: c == c.strip() and bool(c) and not c.endswith("\\"))


@st.composite
def entry_lists(draw: st.DrawFn) -> list[PoEntry]:
    contexts = draw(st.lists(non_empty_texts, unique=True, max_size=6))
    return [
        PoEntry(
            context=context,
            source=draw(non_empty_texts),
            translation=draw(texts),
            fuzzy=draw(st.booleans()),
            previous_source=draw(st.none() | previous_texts),
            comments=tuple(draw(st.lists(comments, unique=True, max_size=3))),
        )
        for context in contexts
    ]


def msgfmt_check(tmp_path: Path, data: bytes) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "export.po"
    path.write_bytes(data)
    assert MSGFMT is not None
    return subprocess.run(
        [MSGFMT, "--check", "-o", "/dev/null", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def header(data: bytes) -> dict[str, str]:
    catalog_header = data.decode().split("\n\n", 1)[0]
    lines = [line.strip('"').removesuffix("\\n") for line in catalog_header.splitlines()]
    return dict(line.split(": ", 1) for line in lines if ": " in line)


class TestRoundTrip:
    @given(entries=entry_lists(), locale=st.sampled_from(["pt_BR", "ru", "ar", "ja", "de"]))
    @settings(max_examples=300, deadline=None)
    def test_read_returns_what_was_written(self, entries: list[PoEntry], locale: str) -> None:
        po = read_po(write_po(entries, locale=locale, registry_id="reg-42"))

        assert (po.locale, po.registry_id, po.entries) == (locale, "reg-42", entries)

    def test_texts_are_byte_exact(self) -> None:
        source = '  lead\tand "quotes" \\ back\\n 100% %s %(x)s # {{ a }}\n\n\ntrail  \n'
        entry = PoEntry(context="c@1", source=source, translation="  Olá\n\n“ß” 日本 🙂\n\n")

        (read,) = read_po(write_po([entry], locale="pt_BR", registry_id="r")).entries

        assert (read.source, read.translation) == (entry.source, entry.translation)

    def test_entries_keep_their_order(self) -> None:
        entries = [
            PoEntry(context=f"p/{name}@1", source=name, translation="")
            for name in ["zeta", "alpha", "mid"]
        ]

        po = read_po(write_po(entries, locale="fr", registry_id="r"))

        assert [e.context for e in po.entries] == ["p/zeta@1", "p/alpha@1", "p/mid@1"]

    def test_lineno_is_the_msgid_line(self) -> None:
        data = write_po([GREETING, STALE], locale="pt_BR", registry_id="r")

        lines = data.decode().splitlines()
        for entry in read_po(data).entries:
            assert entry.lineno is not None
            assert lines[entry.lineno - 1].startswith("msgid ")
            assert lines[entry.lineno - 2] == f'msgctxt "{entry.context}"'

    def test_multi_line_comments_become_one_line_each(self) -> None:
        entry = PoEntry(context="c@1", source="x", translation="", comments=("one\ntwo",))

        (read,) = read_po(write_po([entry], locale="en", registry_id="r")).entries

        assert read.comments == ("one", "two")


class TestWriteHeader:
    @pytest.mark.parametrize("locale", ["pt_BR", "ru", "ar", "ja", "zh_Hant_TW", "es_419"])
    def test_header_names_locale_plural_forms_and_registry(self, locale: str) -> None:
        fields = header(write_po([GREETING], locale=locale, registry_id="reg-7", version="1.4"))

        assert fields["Language"] == locale
        assert fields["Plural-Forms"] == Catalog(locale=locale).plural_forms
        assert fields["Content-Type"] == "text/plain; charset=UTF-8"
        assert fields["X-Registry-Id"] == "reg-7"
        assert fields["Project-Id-Version"] == "prompt-registry 1.4"
        assert "YEAR" not in fields["PO-Revision-Date"]

    def test_project_without_version(self) -> None:
        fields = header(write_po([], locale="de", registry_id="r", project="acme"))

        assert fields["Project-Id-Version"] == "acme"

    def test_no_format_flag_is_written(self) -> None:
        entry = PoEntry(context="c@1", source="Give %s to %(name)s {0}", translation="Donne")

        data = write_po([entry], locale="fr", registry_id="r")

        assert b"format" not in data
        assert read_po(data).entries[0].fuzzy is False

    def test_empty_export_has_a_header_only(self) -> None:
        po = read_po(write_po([], locale="ja", registry_id="r"))

        assert (po.locale, po.registry_id, po.entries) == ("ja", "r", [])


@needs_gettext
class TestMsgfmtCheck:
    @pytest.mark.parametrize("locale", ["ru", "ar", "ja", "pt_BR", "zh_Hant_TW", "cy", "en"])
    def test_written_file_passes_without_warnings(self, tmp_path: Path, locale: str) -> None:
        translated = PoEntry(
            context="support/reply@1",
            source="Reply to %s in {{ lang }}.\n",
            translation="Antworte in {{ lang }} %d.\n",
        )
        data = write_po([GREETING, STALE, translated], locale=locale, registry_id="reg-1")

        result = msgfmt_check(tmp_path, data)

        assert (result.returncode, result.stderr) == (0, "")

    def test_comment_ending_in_backslash_does_not_swallow_the_next_line(
        self, tmp_path: Path
    ) -> None:
        entry = PoEntry(context="c@1", source="x", translation="", comments=("C:\\dir\\",))
        data = write_po([entry], locale="en", registry_id="r")

        result = msgfmt_check(tmp_path, data)

        assert (result.returncode, read_po(data).entries[0].comments) == (0, ("C:\\dir",))

    @given(entries=entry_lists())
    @settings(max_examples=40, deadline=None)
    def test_any_untranslated_export_passes(self, entries: list[PoEntry]) -> None:
        untranslated = [
            PoEntry(e.context, e.source, "", e.fuzzy, e.previous_source, e.comments)
            for e in entries
        ]
        data = write_po(untranslated, locale="ru", registry_id="r")

        # hypothesis cannot share the function-scoped tmp_path between examples
        with tempfile.TemporaryDirectory() as tmp:
            result = msgfmt_check(Path(tmp), data)

        assert result.returncode == 0, result.stderr


class TestFuzzy:
    def test_fuzzy_flag_and_previous_msgid_are_written(self) -> None:
        text = write_po([STALE], locale="pt_BR", registry_id="r").decode()

        assert "#, fuzzy\n" in text
        # As GNU gettext writes it: one "#|" line per quoted line.
        assert '#| msgid ""\n#| "Answer in a {{ tone }} style.\\n"\n#| "Be brief."\n' in text

    def test_fuzzy_flag_and_previous_msgid_are_read(self) -> None:
        (read,) = read_po(write_po([STALE], locale="pt_BR", registry_id="r")).entries

        assert (read.fuzzy, read.previous_source) == (True, STALE.previous_source)

    def test_previous_msgid_is_written_unwrapped(self) -> None:
        # Babel wraps "#|" lines at spaces inside the string unless told not to.
        long_source = " ".join(["word"] * 60)
        entry = PoEntry(context="c@2", source="new", translation="", previous_source=long_source)

        (read,) = read_po(write_po([entry], locale="de", registry_id="r")).entries

        assert read.previous_source == long_source

    @needs_gettext
    def test_gnu_rewrapped_file_reads_the_same(self, tmp_path: Path) -> None:
        # msgcat splits the previous msgid over several "#|" lines and wraps long strings.
        previous = (
            "Line one is long enough to be wrapped by GNU msgcat at 79 columns, surely.\n\n\nEnd"
        )
        stale = PoEntry("c@2", "Now {{ x }}", "Agora", fuzzy=True, previous_source=previous)
        path = tmp_path / "in.po"
        path.write_bytes(write_po([stale, STALE], locale="pt_BR", registry_id="r"))
        assert MSGCAT is not None

        rewritten = subprocess.run([MSGCAT, str(path)], capture_output=True, check=True).stdout

        assert b'#| "\\n"\n' in rewritten
        assert read_po(rewritten).entries == [stale, STALE]


class TestTranslatorEdits:
    def test_multi_line_msgstr_written_by_hand(self) -> None:
        exported = write_po([GREETING, STALE], locale="pt_BR", registry_id="reg-1").decode()
        last_source_line = '"{% if vip %}Welcome back.{% endif %}\\n"\n'
        by_hand = (
            'msgstr ""\n'
            '"Olá {{ name }}!\\n"\n'
            '"\\n"\n'
            '"{% if vip %}Bem-vindo de volta, \\"amigo\\".{% endif %}\\n"\n'
        )
        edited = exported.replace(last_source_line + 'msgstr ""\n', last_source_line + by_hand)

        po = read_po(edited.encode())

        assert po.entries[0].translation == (
            'Olá {{ name }}!\n\n{% if vip %}Bem-vindo de volta, "amigo".{% endif %}\n'
        )
        assert po.entries[1] == STALE

    def test_windows_editor_with_bom_and_crlf(self) -> None:
        data = write_po([GREETING, STALE], locale="pt_BR", registry_id="r")

        po = read_po(b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n"))

        assert po.entries == [GREETING, STALE]

    def test_latin1_charset_is_decoded_by_header(self) -> None:
        data = (
            'msgid ""\n'
            'msgstr ""\n'
            '"Language: fr\\n"\n'
            '"Content-Type: text/plain; charset=ISO-8859-1\\n"\n'
            '"X-Registry-Id: r\\n"\n'
            "\n"
            'msgctxt "c@1"\n'
            'msgid "Coffee"\n'
            'msgstr "Café"\n'
        ).encode("latin-1")

        po = read_po(data)

        assert po.entries[0].translation == "Café"

    def test_language_header_as_written(self) -> None:
        data = b'msgid ""\nmsgstr "Language: pt-BR\\n"\n\nmsgctxt "c"\nmsgid "a"\nmsgstr ""\n'

        po = read_po(data)

        assert (po.locale, po.registry_id) == ("pt-BR", None)

    def test_headers_the_registry_ignores_are_not_validated(self) -> None:
        data = (
            b'msgid ""\nmsgstr ""\n"POT-Creation-Date: soon\\n"\n"Plural-Forms: nplurals=x;\\n"\n'
            b'\nmsgctxt "c"\nmsgid "a"\nmsgstr "b"\n'
        )

        assert read_po(data).entries[0].translation == "b"

    def test_file_without_header(self) -> None:
        po = read_po(b'msgctxt "c"\nmsgid "a"\nmsgstr "b"\n')

        assert (po.locale, po.registry_id, len(po.entries)) == (None, None, 1)

    def test_translator_comments_and_obsolete_entries_are_ignored(self) -> None:
        data = (
            b"# translator note\n"
            b'msgctxt "c@2"\nmsgid "a"\nmsgstr "b"\n\n'
            b'#~ msgctxt "c@1"\n#~| msgid "older"\n#~ msgid "old"\n#~ msgstr "velho"\n'
        )

        po = read_po(data)

        assert [(e.context, e.translation, e.lineno) for e in po.entries] == [("c@2", "b", 3)]


def mo_file() -> bytes:
    catalog = Catalog(locale="de")
    catalog.add("a", "b", context="c")
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


HEADER = b'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'

NOT_PO = [
    pytest.param(b"", None, "empty", id="empty"),
    pytest.param(b"  \n\n", None, "empty", id="blank"),
    pytest.param(b"# only a comment\n", None, "no msgid", id="comments-only"),
    pytest.param(b"Dear translator,\nplease see below.\n", 1, "keyword", id="text"),
    pytest.param(json.dumps({"a": "b"}, indent=2).encode(), 1, "keyword", id="json"),
    pytest.param(bytes(range(256)), 1, "keyword", id="binary"),
    pytest.param(mo_file(), 1, "MO file", id="mo"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, "not valid utf-8", id="png"),
]

SYNTAX = [
    pytest.param(b'msgctxt "c"\nmsgid "a"\nmsgtsr "b"\n', 3, "keyword", id="misspelt-keyword"),
    pytest.param(b'"stray"\nmsgctxt "c"\nmsgid "a"\nmsgstr ""\n', 1, "not in msgid", id="stray"),
    pytest.param(b'msgctxt "c"\nmsgid "a\nmsgstr "b"\n', 2, "malformed", id="unterminated"),
    pytest.param(b'msgctxt "c"\nmsgid "a"\nmsgstr "say "hi""\n', 3, "malformed", id="quote"),
    pytest.param(b'msgctxt "c"\nmsgid "a"\nmsgstr ""\n"\\x41"\n', 4, "malformed", id="escape"),
    pytest.param(b'msgctxt "c"\nmsgid "a" "b"\nmsgstr ""\n', 2, "malformed", id="two-strings"),
    pytest.param(b'msgctxt "c"\nmsgid "a"\n', 2, "missing msgstr", id="no-msgstr-at-end"),
    pytest.param(b'msgctxt "c"\nmsgid "a"\n# x\nmsgstr ""\n', 2, "missing msgstr", id="comment"),
    pytest.param(
        b'msgctxt "c"\nmsgid "a"\nmsgctxt "d"\nmsgid "b"\nmsgstr ""\n',
        3,
        "msgctxt where msgstr",
        id="no-msgstr-then-entry",
    ),
    pytest.param(
        b'msgctxt "c"\nmsgid "a"\nmsgstr "b"\nmsgstr "c"\n', 4, "msgstr where", id="two-msgstr"
    ),
    pytest.param(
        b'msgctxt "c"\nmsgctxt "d"\nmsgid "a"\nmsgstr ""\n',
        2,
        "msgctxt where msgid",
        id="two-msgctxt",
    ),
    pytest.param(
        b'msgctxt "c"\nmsgstr "b"\nmsgid "a"\nmsgstr ""\n',
        2,
        "msgstr where msgid",
        id="msgstr-first",
    ),
    pytest.param(b'msgctxt "c"\nmsgid "a"\nmsgstr ""\n\nmsgctxt "d"\n', 5, "msgctxt", id="cut"),
    pytest.param(
        b'#| msgid "old\nmsgctxt "c"\nmsgid "a"\nmsgstr ""\n', 1, "previous", id="bad-previous"
    ),
    pytest.param(
        b'#-#-#-#-#  a.po  #-#-#-#-#\nmsgctxt "c"\nmsgid "a"\nmsgstr ""\n',
        1,
        "conflicts",
        id="msgcat-conflict",
    ),
]

ENTRIES = [
    pytest.param(HEADER + b'msgid "a"\nmsgstr "b"\n', 4, "without msgctxt", id="no-msgctxt"),
    pytest.param(
        HEADER + b'msgctxt "c"\nmsgid "a"\nmsgstr "b"\n\nmsgctxt "c"\nmsgid "a"\nmsgstr "z"\n',
        9,
        "duplicate msgctxt 'c' (first at line 5)",
        id="duplicate-merged-by-babel",
    ),
    pytest.param(
        HEADER + b'msgctxt "c"\nmsgid "a"\nmsgstr ""\n\nmsgctxt "c"\nmsgid "b"\nmsgstr ""\n',
        9,
        "duplicate msgctxt",
        id="duplicate-context",
    ),
    pytest.param(
        HEADER + b'msgctxt "c"\nmsgid "a"\nmsgid_plural "as"\nmsgstr[0] ""\nmsgstr[1] ""\n',
        6,
        "plural",
        id="plural",
    ),
    pytest.param(HEADER + b'msgctxt "c"\nmsgid "a"\nmsgstr[0] ""\n', 6, "plural", id="msgstr[0]"),
    pytest.param(HEADER + HEADER, 4, "second header (first at line 1)", id="two-headers"),
    pytest.param(
        HEADER + b'msgctxt "c"\nmsgid ""\nmsgstr "Language: fr\\n"\n',
        5,
        "empty msgid",
        id="empty-msgid",
    ),
]

ENCODING = [
    pytest.param(HEADER + b'msgctxt "c"\nmsgid "a"\nmsgstr "\x04"\n', 6, "EOT", id="eot"),
    pytest.param(
        HEADER + b'msgctxt "c"\nmsgid "a"\nmsgstr "caf\xe9"\n',
        6,
        "not valid utf-8",
        id="latin1-in-utf8",
    ),
    pytest.param(
        b'msgid ""\nmsgstr "Content-Type: text/plain; charset=klingon\\n"\n\n'
        b'msgctxt "c"\nmsgid "a"\nmsgstr ""\n',
        1,
        "unknown charset 'klingon'",
        id="unknown-charset",
    ),
]


class TestReadErrors:
    @pytest.mark.parametrize(("data", "line", "message"), [*NOT_PO, *SYNTAX, *ENTRIES, *ENCODING])
    def test_error_names_the_line(self, data: bytes, line: int | None, message: str) -> None:
        with pytest.raises(PoError) as caught:
            read_po(data)

        assert caught.value.line == line, caught.value
        assert message.lower() in caught.value.message.lower()

    def test_error_message_starts_with_the_line(self) -> None:
        with pytest.raises(PoError, match=r"^line 4: entry without msgctxt$"):
            read_po(HEADER + b'msgid "a"\nmsgstr "b"\n')

    def test_is_a_value_error(self) -> None:
        assert issubclass(PoError, ValueError)


class TestWriteRefuses:
    @pytest.mark.parametrize(
        "entries",
        [
            pytest.param([GREETING, GREETING], id="duplicate-context"),
            pytest.param([PoEntry(context="", source="a", translation="")], id="no-context"),
            pytest.param([PoEntry(context="c", source="", translation="")], id="empty-source"),
            pytest.param([PoEntry(context="c", source="\udc80", translation="")], id="surrogate"),
            pytest.param([PoEntry(context="c", source="a", translation="\x04")], id="eot"),
        ],
    )
    def test_entries_that_would_not_read_back(self, entries: list[PoEntry]) -> None:
        with pytest.raises(ValueError):
            write_po(entries, locale="de", registry_id="r")

    def test_unknown_locale(self) -> None:
        with pytest.raises(ValueError, match="locale"):
            write_po([GREETING], locale="xx", registry_id="r")

    def test_registry_id_on_two_lines(self) -> None:
        with pytest.raises(ValueError, match="registry_id"):
            write_po([GREETING], locale="de", registry_id="r\nX-Evil: 1")
