"""Import a translated PO file: parse it, validate every entry, then apply it, all or nothing.

Each entry is matched by msgctxt (prompt and version) and msgid (the exact source text),
which every PO tool keeps; the X-Registry-Id header is not required, since Babel and the
tools built on it drop it. A file of another registry applies only where its source texts
are this registry's, word for word; the answer says so. Nothing is written until every
entry has passed; the errors of all of them are reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from registry.access import audit
from registry.access.roles import SYSTEM, Principal
from registry.errors import ErrorItem, Forbidden, InvalidInput, NotFound
from registry.inputs import has_nul
from registry.locales.messages import _, _n
from registry.locales.requests import parse_locale
from registry.prompts import models
from registry.prompts.prompts import get_prompt, lock_prompts
from registry.templating.engine import NAME_PATTERN
from registry.translations import checks, po
from registry.translations.lookup import source_roles, source_texts
from registry.translations.models import Translation
from registry.translations.revisions import add_revision
from registry.translations.schemas import ImportResult, TranslationFinding, TranslationStatus
from registry.translations.service import (
    audited,
    only_a_variable,
    po_contexts,
    registry_id,
    stored_translation,
    style_findings,
    target_version,
)

__all__ = ["import_po"]

# msgctxt of a PO entry: "name@3" for a text prompt, "name@3#0:system" for a chat message.
_CONTEXT = re.compile(
    rf"^(?P<name>{NAME_PATTERN})@(?P<number>[0-9]+)(?:#(?P<index>[0-9]+):(?P<role>[a-z]+))?$"
)
# As long as a note given in the API may be.
_NOTE_LIMIT = 2000


@dataclass
class _Group:
    """The entries of one prompt version, with their message index (None: a text prompt)."""

    name: str
    number: int
    entries: list[tuple[int | None, po.PoEntry]] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.name}@{self.number}"

    @property
    def first_line(self) -> int | None:
        return self.entries[0][1].lineno


@dataclass
class _Change:
    """A translation the file changes, checked and ready to write."""

    prompt: models.Prompt
    version: models.PromptVersion
    translation: Translation | None
    texts: list[str]
    status: str
    note: str


@dataclass
class _Outcome:
    """What validating the file found: the changes, the counts, errors and warnings."""

    changes: list[_Change] = field(default_factory=list)
    unchanged: int = 0
    untranslated: int = 0
    errors: list[ErrorItem] = field(default_factory=list)
    warnings: list[TranslationFinding] = field(default_factory=list)


def import_po(
    session: Session,
    data: bytes,
    *,
    locale: str | None,
    author: str,
    principal: Principal = SYSTEM,
) -> ImportResult:
    """Apply a translated PO file: every entry checked, all or nothing.

    ``principal`` must be allowed to translate into the file's locale, and every prompt
    in the file must lie in its key's folder.
    """
    parsed = _parse(data)
    target = _target_locale(parsed, locale)
    principal.require_locale(target)
    outcome = _Outcome(warnings=_origin_warnings(session, parsed))
    groups = _group_entries(parsed.entries, outcome.errors)
    _require_folders(principal, groups)

    lock_prompts(session, (group.name for group in groups))
    for group in groups:
        _validate_group(session, group, target, outcome)
    # The style guide judges each prompt's text alone, and says nothing under 8 words; the
    # whole file's text tells a file in one language labelled with another.
    language = checks.check_language(
        [text for change in outcome.changes for text in change.texts],
        target,
        ("body", "Language"),
    )
    if language.finding is not None:
        finding = language.finding
        outcome.warnings.insert(
            0, TranslationFinding(level="warning", loc=list(finding.loc), message=finding.message)
        )
    if outcome.errors:
        count = len(outcome.errors)
        raise InvalidInput(
            _n(
                "the import was refused: {count} bad entry; nothing was changed",
                "the import was refused: {count} bad entries; nothing was changed",
                count,
            ).format(count=count),
            outcome.errors,
        )

    for change in outcome.changes:
        _apply(session, change, target, author)
    session.flush()
    return ImportResult(
        locale=target,
        updated=len(outcome.changes),
        unchanged=outcome.unchanged,
        untranslated=outcome.untranslated,
        detected_language=language.detected,
        warnings=outcome.warnings,
    )


# ---------------------------------------------------------------- parse


def _parse(data: bytes) -> po.PoFile:
    try:
        return po.read_po(data)
    except po.PoError as exc:
        raise InvalidInput(
            _("the file is not a PO file the registry can read: {error}").format(error=exc.message),
            [ErrorItem(loc=("body",), message=exc.message, line=exc.line)],
        ) from None


def _target_locale(parsed: po.PoFile, locale: str | None) -> str:
    """The locale to import into: ``?locale=``, else the file's; they must agree."""
    file_locale = parse_locale(parsed.locale, ("body", "Language")) if parsed.locale else None
    target = parse_locale(locale, ("query", "locale")) if locale else file_locale
    if target is None:
        raise InvalidInput(
            # TRANSLATORS: ?locale= is a query parameter and Language a header of PO files.
            _("the file names no language; pass ?locale= or set the Language header"),
            # TRANSLATORS: Language is a header of PO files; keep it as it is.
            [ErrorItem(loc=("body", "Language"), message=_("missing Language header"))],
        )
    if file_locale is not None and file_locale != target:
        raise InvalidInput(
            # TRANSLATORS: {file_locale} and {locale} are locale identifiers such as fr.
            _("the file is for {file_locale}, not {locale}").format(
                file_locale=file_locale, locale=target
            ),
            [
                ErrorItem(
                    loc=("body", "Language"),
                    message=_("expected {value}").format(value=target),
                )
            ],
        )
    return target


def _origin_warnings(session: Session, parsed: po.PoFile) -> list[TranslationFinding]:
    own_id = registry_id(session)
    if parsed.registry_id is None or parsed.registry_id == own_id:
        return []
    return [
        TranslationFinding(
            level="warning",
            loc=["body", "X-Registry-Id"],
            message=_(
                "the file was exported by another registry; its entries were matched "
                "to this registry's prompts by name, version and source text"
            ),
        )
    ]


def _group_entries(entries: Iterable[po.PoEntry], errors: list[ErrorItem]) -> list[_Group]:
    """The entries by the prompt version their msgctxt names; the others are errors."""
    groups: dict[tuple[str, int], _Group] = {}
    for entry in entries:
        if has_nul(entry.translation):
            errors.append(
                ErrorItem(
                    loc=("body", entry.context),
                    message=_("must not contain the NUL character (U+0000)"),
                    line=entry.lineno,
                )
            )
            continue
        match = _CONTEXT.match(entry.context)
        if match is None:
            errors.append(
                ErrorItem(
                    loc=("body", entry.context),
                    # TRANSLATORS: msgctxt is a keyword of PO files; keep it as it is.
                    message=_("msgctxt {context} does not name a prompt version").format(
                        context=repr(entry.context)
                    ),
                    line=entry.lineno,
                )
            )
            continue
        key = (match["name"], int(match["number"]))
        index = int(match["index"]) if match["index"] is not None else None
        groups.setdefault(key, _Group(*key)).entries.append((index, entry))
    return list(groups.values())


# ---------------------------------------------------------------- validate


def _require_folders(principal: Principal, groups: list[_Group]) -> None:
    """A prompt the key may not change is refused as everywhere else (403), before the
    file's content is looked at; every such entry is listed."""
    outside = [group for group in groups if not principal.may_change(group.name)]
    if not outside:
        return
    refusal = principal.scope_refusal(outside[0].name, change=True)
    assert refusal is not None
    folders = principal.describe_folders()
    raise Forbidden(
        refusal.detail,
        [
            ErrorItem(
                loc=("body", group.where),
                message=_("this key is limited to the folders {folders}").format(folders=folders),
                line=group.first_line,
            )
            for group in outside
        ],
    )


def _validate_group(session: Session, group: _Group, target: str, outcome: _Outcome) -> None:
    """Check one prompt version's entries; a change that passes joins ``outcome.changes``."""
    errors = outcome.errors
    try:
        prompt = get_prompt(session, group.name, lock=True)
        version = target_version(session, prompt, group.number)
    except NotFound as exc:
        errors.append(
            ErrorItem(loc=("body", group.where), message=exc.detail, line=group.first_line)
        )
        return
    if target == prompt.source_locale:
        errors.append(
            ErrorItem(
                loc=("body", group.where),
                message=_("{locale} is the source locale of {name}").format(
                    locale=target, name=repr(group.name)
                ),
                line=group.first_line,
            )
        )
        return
    translation = stored_translation(session, version, target)
    merged = _merged_texts(group, version, translation, errors)
    if merged is None:
        return
    texts, fuzzy = merged
    if texts is None:
        outcome.untranslated += 1
        return
    status = _imported_status(translation, texts, fuzzy=fuzzy)
    if status is None:
        outcome.unchanged += 1
        return
    _judge(session, group, prompt, version, target, texts, outcome)
    outcome.changes.append(
        _Change(prompt, version, translation, texts, status, _translator_note(group))
    )


def _merged_texts(
    group: _Group,
    version: models.PromptVersion,
    translation: Translation | None,
    errors: list[ErrorItem],
) -> tuple[list[str] | None, bool] | None:
    """The version's texts with the file's translations in place, and whether any entry
    is fuzzy; texts None: the file translates nothing of it; None: errors were recorded."""
    sources = source_texts(version)
    contexts = po_contexts(version)
    texts: list[str | None] = (
        list(translation.texts)
        if translation and len(translation.texts) == len(sources)
        else [None] * len(sources)
    )
    fuzzy = filled = bad = False
    for index, entry in group.entries:
        position = index if index is not None else 0
        if position >= len(sources) or entry.context != contexts[position]:
            errors.append(
                ErrorItem(
                    loc=("body", entry.context),
                    message=_("{context} does not match version {number} of {name}").format(
                        context=repr(entry.context), number=group.number, name=repr(group.name)
                    ),
                    line=entry.lineno,
                )
            )
            bad = True
            continue
        if entry.source != sources[position]:
            errors.append(
                ErrorItem(
                    loc=("body", entry.context),
                    # TRANSLATORS: msgid is a keyword of PO files; keep it as it is.
                    message=_("the msgid differs from the source text; export a fresh file"),
                    line=entry.lineno,
                )
            )
            bad = True
            continue
        if entry.translation:
            texts[position] = entry.translation
            filled = True
        fuzzy = fuzzy or entry.fuzzy
    if bad:
        return None
    if not filled:
        return None, fuzzy
    # A unit that is only a variable is not exported; it keeps the source's text.
    texts = [
        sources[i] if t is None and only_a_variable(sources[i]) else t for i, t in enumerate(texts)
    ]
    missing = [contexts[i] for i, t in enumerate(texts) if t is None]
    if missing:
        errors.append(
            ErrorItem(
                loc=("body", group.where),
                message=_("translate every message of a chat prompt; missing: {missing}").format(
                    missing=", ".join(missing)
                ),
                line=group.first_line,
            )
        )
        return None
    return [t for t in texts if t is not None], fuzzy


def _judge(
    session: Session,
    group: _Group,
    prompt: models.Prompt,
    version: models.PromptVersion,
    target: str,
    texts: list[str],
    outcome: _Outcome,
) -> None:
    """The translation checks, then (if they pass) the style guide: errors refuse the
    file, warnings are reported; each at the entry's line."""
    sources = source_texts(version)
    roles = source_roles(version)
    found = checks.check_translation(sources, texts, source_roles=roles, roles=roles, locale=target)
    if not any(f.level == "error" for f in found):
        found += style_findings(session, prompt, version, target, texts)
    contexts = po_contexts(version)
    lines = {i if i is not None else 0: e.lineno for i, e in group.entries}
    for finding in found:
        position = finding.loc[2] if len(finding.loc) > 2 and isinstance(finding.loc[2], int) else 0
        context = contexts[position] if position < len(contexts) else contexts[0]
        item = ErrorItem(
            loc=("body", context),
            message=finding.message,
            line=lines.get(position, group.first_line),
        )
        if finding.level == "error":
            outcome.errors.append(item)
        else:
            outcome.warnings.append(
                TranslationFinding(
                    level="warning", loc=list(item.loc), message=item.message, line=item.line
                )
            )


def _imported_status(
    translation: Translation | None, texts: list[str], *, fuzzy: bool
) -> str | None:
    """The status an imported entry leads to, or None when it changes nothing.

    Fuzzy text is never approved: it stays stale if unchanged, else becomes a draft.
    Text the translator vouches for (not fuzzy) goes to review.
    """
    if translation is not None and translation.texts == texts:
        if fuzzy or translation.status != TranslationStatus.stale.value:
            return None
        return TranslationStatus.in_review.value
    return TranslationStatus.draft.value if fuzzy else TranslationStatus.in_review.value


def _translator_note(group: _Group) -> str:
    """A prompt's translator comments (``# …`` in PO), each line once, as a revision note."""
    lines = dict.fromkeys(
        line.strip()
        for _index, entry in group.entries
        for comment in entry.translator_comments
        for line in comment.splitlines()
        if line.strip()
    )
    return "\n".join(lines)[:_NOTE_LIMIT]


# ---------------------------------------------------------------- apply


def _apply(session: Session, change: _Change, target: str, author: str) -> None:
    """Write one checked change as a new revision of its translation, and audit it."""
    prompt, version, translation = change.prompt, change.version, change.translation
    if translation is None:
        translation = Translation(
            prompt_id=prompt.id,
            version=version,
            locale=target,
            status=change.status,
            texts=change.texts,
            source_texts=source_texts(version),
            revision=0,
            updated_by=author,
            revisions=[],
        )
        session.add(translation)
    elif change.status != TranslationStatus.stale.value:
        translation.source_texts = source_texts(version)
    before = None if translation.id is None else audited(translation)
    add_revision(
        translation,
        status=change.status,
        texts=change.texts,
        author=author,
        note=change.note or "imported from PO",
    )
    session.flush()
    audit.record(
        session,
        "translation.import",
        prompt=prompt.name,
        target=f"{prompt.name}@{version.number}:{target}",
        before=before,
        after={**audited(translation), "texts": change.texts},
    )
