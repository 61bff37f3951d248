"""PO files exchanged with translators: written and read through Babel's ``pofile``.

Every entry carries a ``msgctxt`` that names the prompt version (and the message inside
it); ``msgid`` is the source text and ``msgstr`` the translation. Stale entries are
``fuzzy`` and keep the old source as ``#| msgid``, written as GNU gettext writes it
(``#| msgid ""`` then one ``#| "…"`` line per quoted line; Babel would put every quoted
line on one ``#|`` line, which polib and translate-toolkit misread). Both directions must
preserve the texts byte for byte, so nothing is wrapped, and no format flag is written:
prompts are Jinja templates, not printf strings, and ``msgfmt --check`` would compare
their ``%``.

Files saved by the common tools import: Babel (``read_po``/``write_po``, and the tools
built on it), polib, translate-toolkit (Weblate) and GNU ``msgcat``, ``msgmerge`` and
``msgattrib``; each rewraps strings and reorders headers, which changes nothing read
here. What identifies an entry is what every one of them keeps: the ``msgctxt`` (prompt
and version) and the ``msgid`` (the source text, compared in full on import). The
``X-Registry-Id`` header names the exporting registry, but Babel drops every ``X-``
header, so the import does not require it: a file of another registry applies only
where its source texts are this registry's, word for word, and the answer warns.
Babel also turns ``#|`` lines into ``# |`` translator comments: the previous source of
a file it saved is lost, which changes nothing an import does.

Babel parses; this module only refuses what Babel's lenient parser would silently get
wrong, each time naming the line:

- Babel takes whatever lies between a string's first and last character, so an
  unescaped ``"`` or a missing closing quote changes the text (or turns the entry into a
  second header). Every string is checked to be one well-formed C string.
- It keeps the first of two ``msgstr`` lines, drops a ``msgctxt`` that no ``msgid``
  follows, and merges entries with the same context and source. The order of keywords
  is checked line by line, and every message Babel builds is recorded, so duplicates
  are seen instead of merged.
- It treats ``#|`` lines as translator comments (collapsing repeated lines), so the
  previous source is read from those lines here, decoded with Babel's ``unescape``.
- It cannot parse ``#~|`` lines; obsolete entries are ignored, so their lines are
  blanked before Babel sees them.

Known limits, all in informational fields: extracted comments are written one per
``#.`` line (a comment's newlines split it, surrounding whitespace and consecutive
repeats are not kept, nor backslashes ending a line, which GNU gettext would read as a
line continuation).
"""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_string
from typing import Any

from babel.lists import format_list
from babel.messages import pofile
from babel.messages.catalog import Catalog, Message

from registry.locales.messages import N_, _, current_locale

__all__ = ["PoEntry", "PoError", "PoFile", "read_po", "write_po"]

# width=0 stops Babel wrapping strings but then it wraps comments, "#| msgid" included,
# at 76 columns, splitting strings at spaces. A width nothing reaches disables both.
_NO_WRAP = sys.maxsize

_HEADER_COMMENT = (
    "# Prompt translations exported by the registry.\n"
    "# Translate each msgstr; keep {{ variables }} and {% tags %} as they are."
)

# One C string with only the escapes Babel's unescape knows; anything else (an octal or
# hex escape, a stray quote) Babel would keep or drop silently.
_STRING = r'"(?:[^"\\]|\\[\\"abfnrtv])*"'
_STRING_RE = re.compile(_STRING)
# Babel writes a multi-line previous msgid as several strings on one "#|" line.
_PREVIOUS_RE = re.compile(rf"(?:(msgctxt|msgid|msgid_plural)\s+)?((?:{_STRING}\s*)+)")
_BAD_STRING = N_(
    'malformed string: expected one "..." with " and \\ written as \\" and \\\\, '
    "and newlines as \\n"
)

# What may follow each keyword of an entry (None: between entries).
_NEXT_KEYWORDS: dict[str | None, tuple[str, ...]] = {
    None: ("msgctxt", "msgid"),
    "msgctxt": ("msgid",),
    "msgid": ("msgstr",),
    "msgstr": ("msgctxt", "msgid"),
}

# msgfmt refuses the separator of context and msgid in compiled catalogs in any string.
_EOT = "\x04"
_EOT_MESSAGE = N_("control character EOT (\\x04) in a string; msgfmt refuses it")
# What Babel's parser says of the lines it refuses, in the registry's words.
_BABEL_MESSAGES = {
    "Unknown or misformatted keyword": N_(
        "unknown keyword: an entry is made of msgctxt, msgid and msgstr lines"
    ),
    'Got line starting with " but not in msgid, msgstr or msgctxt': N_(
        "a quoted line not in msgid, msgstr or msgctxt"
    ),
    "cannot parse po file with conflicts": N_(
        "the file has merge conflicts (#-#-#-#-# lines); resolve them first"
    ),
}
_BABEL_OTHER = N_("this line is not PO syntax")

_MO_MAGIC = (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")


@dataclass(frozen=True)
class PoEntry:
    """One translatable message: its context, source text and translation."""

    context: str
    source: str
    translation: str
    fuzzy: bool = False
    previous_source: str | None = None
    comments: tuple[str, ...] = ()
    # "# " lines: what the translator wrote for the reviewer. Read only; export writes none.
    translator_comments: tuple[str, ...] = field(default=(), compare=False)
    # Where read_po found the msgid; not part of the entry's value, so a written entry
    # equals the one read back.
    lineno: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PoFile:
    """The entries of a PO file and the registry headers it carries."""

    locale: str | None
    registry_id: str | None
    entries: list[PoEntry]


class PoError(ValueError):
    """A file that is not a readable PO file; ``line`` is 1-based, None for the whole file.

    ``message`` is in the language of the request that read the file.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(
            message if line is None else _("line {line}: {error}").format(line=line, error=message)
        )

    def __reduce__(self) -> tuple[type[PoError], tuple[str, int | None]]:
        return type(self), (self.message, self.line)


def write_po(
    entries: Iterable[PoEntry],
    *,
    locale: str,
    registry_id: str,
    project: str = "prompt-registry",
    version: str = "",
) -> bytes:
    """Render entries, in the given order, as a UTF-8 PO file for ``locale``."""
    for name, value in (("registry_id", registry_id), ("project", project), ("version", version)):
        if "\n" in value or "\r" in value:
            raise ValueError(f"{name} must be a single line: {value!r}")
    now = datetime.now(UTC)
    catalog = _ExportCatalog(
        registry_id=registry_id,
        locale=locale,
        project=project,
        header_comment=_HEADER_COMMENT,
        creation_date=now,
        revision_date=now,
        charset="UTF-8",
        fuzzy=False,
    )
    # Catalog swaps an empty version for a "VERSION" placeholder.
    catalog.version = version
    if catalog.locale is None:
        raise ValueError(f"no CLDR data for locale {locale!r}")

    contexts: set[str] = set()
    previous: list[str] = []
    for entry in entries:
        _check_entry(entry, contexts)
        message = Message(
            entry.source,
            entry.translation,
            auto_comments=_comment_lines(entry.comments),
            context=entry.context,
        )
        # Message adds python-format / python-brace-format on its own when the source
        # looks like one; prompts are neither.
        message.flags = {"fuzzy"} if entry.fuzzy else set()
        catalog[entry.source] = message
        previous.append(_previous_lines(entry.previous_source))

    # Babel writes a previous msgid through its comment wrapper, as one "#|" line holding
    # every quoted line; polib and translate-toolkit misread that. The "#|" lines are
    # written here instead, as GNU gettext does, before each entry's msgctxt (every entry
    # has one, in catalog order).
    blocks = iter(previous)
    chunks: list[str] = []
    for chunk in pofile.generate_po(catalog, width=_NO_WRAP, no_location=True):
        if chunk.startswith("msgctxt "):
            chunks.append(next(blocks))
        chunks.append(chunk)
    return "".join(chunks).encode("utf-8")


def read_po(data: bytes) -> PoFile:
    """Parse a PO file, refusing anything the registry could not have written or read back."""
    if data.startswith(_MO_MAGIC):
        raise PoError(_("a compiled MO file, not a PO file"), 1)
    # Windows editors may add a BOM; Babel would read it as part of the first keyword.
    data = data.removeprefix(codecs.BOM_UTF8)
    if not data.strip():
        raise PoError(_("the file is empty"))

    catalog = _RecordingCatalog()
    lines = _Lines(data, catalog)
    parser = pofile.PoFileParser(catalog, ignore_obsolete=True, abort_invalid=True)
    try:
        parser.parse(lines)
    except pofile.PoFileError as exc:
        # Babel counts lines from 0 and appends that number to its message.
        said = str(exc).removesuffix(f" on {exc.lineno}")
        if said.startswith("missing msgstr"):
            message = _("missing msgstr for this msgid")
        else:
            message = _(_BABEL_MESSAGES.get(said, _BABEL_OTHER))
        raise PoError(message, exc.lineno + 1) from exc
    except _Abort as exc:
        raise exc.error from None
    lines.finish()
    return PoFile(
        locale=catalog.header_value("Language"),
        registry_id=catalog.header_value("X-Registry-Id"),
        entries=_entries(catalog.messages, lines.previous),
    )


def _check_entry(entry: PoEntry, contexts: set[str]) -> None:
    """Refuse an entry that would be written as something read_po rejects or reads back
    differently."""
    # Babel writes no msgctxt for an empty context, and an empty msgid is the header.
    if not entry.context:
        raise ValueError(f"entry without context: {entry.source[:40]!r}")
    if not entry.source:
        raise ValueError(f"entry {entry.context!r} has an empty source")
    if entry.context in contexts:
        raise ValueError(f"duplicate context {entry.context!r}")
    contexts.add(entry.context)
    texts = (entry.context, entry.source, entry.translation, entry.previous_source or "")
    if any(_EOT in text for text in texts):
        raise ValueError(f"entry {entry.context!r}: {_EOT_MESSAGE}")
    for text in (*texts, *entry.comments):
        # Babel would write a lone surrogate as a backslash escape, changing the text.
        text.encode("utf-8")


def _previous_lines(previous_source: str | None) -> str:
    """The ``#|`` lines of a previous source, one per quoted line, as GNU gettext writes them."""
    # An empty previous source is written as none: it reads back as None.
    if not previous_source:
        return ""
    first, *rest = pofile.normalize(previous_source, width=_NO_WRAP).split("\n")
    return "".join([f"#| msgid {first}\n", *(f"#| {line}\n" for line in rest)])


def _comment_lines(comments: Iterable[str]) -> list[str]:
    """One ``#.`` line per line of each comment."""
    # GNU gettext reads a backslash at the end of any line, comments included, as a line
    # continuation, which would swallow the msgctxt that follows.
    return [line.rstrip().rstrip("\\") for c in comments for line in c.splitlines()]


def _entries(messages: list[Message], previous: dict[int, list[str]]) -> list[PoEntry]:
    entries: list[PoEntry] = []
    first_line: dict[str, int] = {}
    for message in messages:
        line = message.lineno
        # Babel numbers every parsed message, and _Lines refused plural entries.
        assert line is not None
        assert isinstance(message.id, str) and isinstance(message.string, str)
        if message.context is None:
            raise PoError(_("entry without msgctxt"), line)
        if not message.id:
            raise PoError(_("entry with an empty msgid"), line)
        if message.context in first_line:
            raise PoError(
                _("duplicate msgctxt {context} (first at line {line})").format(
                    context=repr(message.context), line=first_line[message.context]
                ),
                line,
            )
        first_line[message.context] = line
        entries.append(
            PoEntry(
                context=message.context,
                source=message.id,
                translation=message.string,
                fuzzy="fuzzy" in message.flags,
                previous_source=_previous_source(previous.get(line, [])),
                comments=tuple(message.auto_comments),
                # Babel reads "#|" lines as translator comments too.
                translator_comments=tuple(
                    c for c in message.user_comments if not c.startswith("|")
                ),
                lineno=line,
            )
        )
    return entries


def _previous_source(lines: list[str]) -> str | None:
    """The ``#| msgid`` among an entry's ``#|`` lines (already checked)."""
    source: list[str] | None = None
    keyword: str | None = None
    for line in lines:
        match = _PREVIOUS_RE.fullmatch(line)
        assert match is not None  # _Lines refused the others
        keyword = match[1] or keyword
        if keyword == "msgid":
            if source is None:
                source = []
            source.extend(pofile.unescape(s) for s in _STRING_RE.findall(match[2]))
    return None if source is None else "".join(source)


def _check_strings(text: str, number: int) -> None:
    """Refuse well-formed strings that msgfmt would still reject."""
    if _EOT in text:
        raise PoError(_(_EOT_MESSAGE), number)


class _Abort(Exception):
    """Stops Babel's parser; not a ValueError, which the parser would catch and reword."""

    def __init__(self, error: PoError) -> None:
        super().__init__(error.message)
        self.error = error


class _RecordingCatalog(Catalog):
    """Keeps every message the parser builds, in file order, instead of merging them."""

    def __init__(self) -> None:
        super().__init__(fuzzy=False)
        self.messages: list[Message] = []
        self.headers: dict[str, str] = {}
        self.header_line: int | None = None

    def __setitem__(self, msgid: str | tuple[str, ...] | list[str], message: Message) -> None:
        if msgid != "" or message.context is not None:
            self.messages.append(message)
            return
        if self.header_line is not None:
            raise _Abort(
                PoError(
                    _("a second header (first at line {line})").format(line=self.header_line),
                    message.lineno,
                )
            )
        self.header_line = message.lineno
        # Babel's Catalog keeps only the headers it knows; X-Registry-Id and the
        # Language as written are read the way it reads them, with the email parser.
        assert isinstance(message.string, str)  # the header is never a plural entry
        headers = message_from_string(message.string)
        self.headers = {name.lower(): value.strip() for name, value in headers.items()}
        # Only the charset is taken from Babel; its parsing of dates, plural forms and
        # language would reject files for headers the registry never uses.
        self.mime_headers = [("Content-Type", self.headers.get("content-type", ""))]
        try:
            codecs.lookup(self.charset)
        except LookupError:
            raise _Abort(
                PoError(
                    _("unknown charset {charset}").format(charset=repr(self.charset)),
                    message.lineno,
                )
            ) from None

    def header_value(self, name: str) -> str | None:
        return self.headers.get(name.lower()) or None


class _ExportCatalog(Catalog):
    """A catalog whose header names the registry and leaves out Babel's placeholders."""

    def __init__(self, *, registry_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.registry_id = registry_id

    @property
    def mime_headers(self) -> list[tuple[str, str]]:
        headers = {name: value.rstrip("\n") for name, value in super().mime_headers}
        headers["Project-Id-Version"] = " ".join(filter(None, (self.project, self.version)))
        # msgfmt --check warns about the placeholders; the translator's editor fills these.
        headers.pop("Report-Msgid-Bugs-To", None)
        headers["Last-Translator"] = ""
        headers["Language-Team"] = ""
        headers["X-Registry-Id"] = self.registry_id
        items = list(headers.items())
        # The header msgstr ends with a newline, like every header line before it.
        name, value = items[-1]
        items[-1] = (name, value + "\n")
        return items

    @mime_headers.setter
    def mime_headers(self, value: Iterable[tuple[str, str]]) -> None:
        self._set_mime_headers(value)


class _Lines:
    """The file's lines for Babel's parser, decoded with the charset the header names,
    each checked for what the parser would silently misread."""

    def __init__(self, data: bytes, catalog: _RecordingCatalog) -> None:
        # Split as Babel does when it iterates a binary file, so line numbers agree.
        self._raw = data.split(b"\n")
        self._catalog = catalog
        self._keyword: str | None = None
        self._keyword_line = 0
        self._pending: list[str] = []
        self.saw_msgid = False
        # "#|" lines by the 1-based line of the msgid they precede.
        self.previous: dict[int, list[str]] = {}

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self._raw, start=1):
            try:
                line = raw.decode(self._catalog.charset).strip()
            except UnicodeDecodeError as exc:
                raise PoError(
                    _("not valid {charset} text").format(charset=self._catalog.charset), number
                ) from exc
            yield self._check(line, number)

    def _check(self, line: str, number: int) -> str:
        if line.startswith("#~"):
            return ""
        if line.startswith("#|"):
            if not _PREVIOUS_RE.fullmatch(line[2:].strip()):
                raise PoError(
                    _("malformed previous msgid: {error}").format(error=_(_BAD_STRING)), number
                )
            _check_strings(line, number)
            self._pending.append(line[2:].strip())
        elif line.startswith('"'):
            if not _STRING_RE.fullmatch(line):
                raise PoError(_(_BAD_STRING), number)
            _check_strings(line, number)
        elif line and not line.startswith("#"):
            self._check_keyword(line, number)
        return line

    def _check_keyword(self, line: str, number: int) -> None:
        keyword, _space, argument = line.partition(" ")
        if keyword == "msgid_plural" or keyword.startswith("msgstr["):
            raise PoError(_("plural entries (msgid_plural) are not supported"), number)
        if keyword not in _NEXT_KEYWORDS:
            return  # Babel reports unknown keywords itself
        if keyword not in _NEXT_KEYWORDS[self._keyword]:
            expected = format_list(
                list(_NEXT_KEYWORDS[self._keyword]), style="or", locale=current_locale()
            )
            raise PoError(
                _("{keyword} where {expected} was expected").format(
                    keyword=keyword, expected=expected
                ),
                number,
            )
        if not _STRING_RE.fullmatch(argument.strip()):
            raise PoError(_(_BAD_STRING), number)
        _check_strings(argument, number)
        if keyword == "msgid":
            self.saw_msgid = True
            self.previous[number] = self._pending
            self._pending = []
        self._keyword = keyword
        self._keyword_line = number

    def finish(self) -> None:
        """Refuse an entry cut short by the end of the file, or a file with no entries."""
        if self._keyword in ("msgctxt", "msgid"):
            raise PoError(
                _("{keyword} without msgstr at the end of the file").format(keyword=self._keyword),
                self._keyword_line,
            )
        if not self.saw_msgid:
            raise PoError(_("not a PO file: no msgid found"))
