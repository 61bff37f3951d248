"""The style guides' translatable messages, and ``locales/style.pot`` made from them.

Run by ``make style-messages``: ``python -m registry.style.catalog locales/style.pot``.
The messages are those marked with :func:`registry.style.i18n.mark` (and
``mark_plural``) in this package, and the ``message`` of every rule of the shipped
guide, in every locale block.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from io import BytesIO
from pathlib import Path
from typing import Any

import yaml
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from registry.style.guide import DEFAULT_GUIDE_DIR

__all__ = ["code_messages", "guide_messages", "main", "template"]

MsgId = str | tuple[str, str]
PACKAGE_DIR = Path(__file__).resolve().parent
KEYWORDS: dict[str, Any] = {"mark": None, "mark_plural": (1, 2)}
HEADER = "# Messages of the style guides' findings. Made by `make style-messages`."


def code_messages(directory: Path = PACKAGE_DIR) -> dict[MsgId, list[str]]:
    """The messages marked in the code under ``directory``, with where each is marked."""
    found: dict[MsgId, list[str]] = {}
    extracted = extract_from_dir(
        directory,
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
        comment_tags=("TRANSLATORS:",),
        strip_comment_tags=True,
    )
    for filename, _line, message, _comments, _context in extracted:
        msgid: MsgId = message if isinstance(message, str) else (message[0], message[1])
        found.setdefault(msgid, []).append(filename)
    return found


def guide_messages(directory: Path = DEFAULT_GUIDE_DIR) -> dict[str, list[str]]:
    """The ``message`` of every rule in a guide folder, with the ids of the rules using it."""
    found: dict[str, list[str]] = {}
    for file in sorted(directory.glob("*.y*ml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for rule_id, message in _rule_messages(data):
            found.setdefault(message, []).append(rule_id)
    return found


def _rule_messages(data: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    blocks = [data, *(data.get("locales") or {}).values()]
    for block in blocks:
        for rule_id, rule in (block.get("rules") or {}).items():
            if isinstance(rule, Mapping) and isinstance(rule.get("message"), str):
                yield str(rule_id), rule["message"]


def template() -> Catalog:
    """The catalog template of every style message, sorted, with its origin as a comment."""
    catalog = Catalog(project="prompt-registry", header_comment=HEADER)
    for msgid, files in code_messages().items():
        catalog.add(msgid, auto_comments=[f"code: {f}" for f in sorted(set(files))])
    for text, rules in guide_messages().items():
        comments = [f"rule: {r}" for r in sorted(set(rules))]
        existing = catalog.get(text)
        if existing is not None:
            existing.auto_comments.extend(comments)
        else:
            catalog.add(text, auto_comments=comments)
    return catalog


def main(argv: list[str]) -> int:
    """Write the template to the path given, unless only its creation date would change."""
    target = Path(argv[0]) if argv else Path("locales/style.pot")
    buffer = BytesIO()
    write_po(buffer, template(), sort_output=True, width=100)
    new = buffer.getvalue()
    if target.is_file() and _messages(target.read_bytes()) == _messages(new):
        return 0
    target.write_bytes(new)
    return 0


def _messages(data: bytes) -> list[tuple[object, list[str]]]:
    return [(m.id, list(m.auto_comments)) for m in read_po(BytesIO(data)) if m.id]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
