"""Translations: submit, review, the translator's queue, and PO export and import.

Never commits; the caller's unit of work does.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from registry.access import audit
from registry.access.roles import LEAST_ROLE, Permission, Principal
from registry.access.scopes import readable_names
from registry.errors import (
    Conflict,
    ErrorItem,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
)
from registry.locales.messages import N_, _, _n
from registry.locales.requests import parse_locale
from registry.prompts import models
from registry.prompts.prompts import get_prompt, lock_prompts
from registry.prompts.schemas import Kind, Message
from registry.style import service as style
from registry.translations import checks, po
from registry.translations.lookup import source_roles, source_texts
from registry.translations.models import RegistryInfo, Translation
from registry.translations.revisions import add_revision
from registry.translations.schemas import (
    MAX_BULK_REVIEW,
    BulkReviewResult,
    FolderProgress,
    LocaleProgress,
    OverviewRow,
    Queue,
    QueueItem,
    QueueOverview,
    QueueState,
    ReviewAction,
    Revision,
    TranslationBulkReview,
    TranslationFinding,
    TranslationReview,
    TranslationStatus,
    TranslationSubmit,
    TranslationSummary,
)
from registry.translations.schemas import Translation as TranslationView

# What a review action may start from, and where it leads.
_TRANSITIONS: dict[ReviewAction, tuple[set[str], str]] = {
    ReviewAction.submit: ({"draft", "rejected", "stale"}, TranslationStatus.in_review.value),
    ReviewAction.approve: ({"draft", "in_review", "stale"}, TranslationStatus.approved.value),
    ReviewAction.reject: ({"draft", "in_review", "stale"}, TranslationStatus.rejected.value),
}
# Why a review action is refused: when other actions are possible, and when none is.
_REFUSED: dict[ReviewAction, tuple[str, str]] = {
    ReviewAction.submit: (
        # TRANSLATORS: {status} is a status of the API (draft, in_review, approved, …) and
        # {actions} a list of review actions of the API (submit, approve, reject); keep them.
        N_(
            "a translation with status {status} cannot be submitted for review; possible: {actions}"
        ),
        # TRANSLATORS: {status} is a status of the API (draft, in_review, approved, …).
        N_(
            "a translation with status {status} cannot be submitted for review; "
            "submit new text instead"
        ),
    ),
    ReviewAction.approve: (
        # TRANSLATORS: {status} is a status of the API (draft, in_review, approved, …) and
        # {actions} a list of review actions of the API (submit, approve, reject); keep them.
        N_("a translation with status {status} cannot be approved; possible: {actions}"),
        # TRANSLATORS: {status} is a status of the API (draft, in_review, approved, …).
        N_("a translation with status {status} cannot be approved; submit new text instead"),
    ),
    ReviewAction.reject: (
        # TRANSLATORS: {status} is a status of the API (draft, in_review, approved, …) and
        # {actions} a list of review actions of the API (submit, approve, reject); keep them.
        N_("a translation with status {status} cannot be rejected; possible: {actions}"),
        # TRANSLATORS: {status} is a status of the API (draft, in_review, approved, …).
        N_("a translation with status {status} cannot be rejected; submit new text instead"),
    ),
}


def registry_id(session: Session) -> str:
    """This registry's id, written into the PO files it exports (``X-Registry-Id``).

    An import does not require it (Babel drops ``X-`` headers); a file that names another
    registry is imported with a warning, entry by entry matched on the source text.
    """
    value: str | None = session.scalar(select(RegistryInfo.id))
    if value is None:
        raise RuntimeError("registry_info is empty; run `registry db upgrade`")
    return value


# ---------------------------------------------------------------- lookups


def target_version(
    session: Session, prompt: models.Prompt, number: int | None
) -> models.PromptVersion:
    if not prompt.latest_version:
        raise NotFound(
            _("prompt {name} has no versions to translate yet").format(name=repr(prompt.name))
        )
    number = number or prompt.latest_version
    version = session.scalars(
        select(models.PromptVersion).where(
            models.PromptVersion.prompt_id == prompt.id, models.PromptVersion.number == number
        )
    ).one_or_none()
    if version is None:
        raise NotFound(
            _("prompt {name} has no version {number}").format(name=repr(prompt.name), number=number)
        )
    return version


def _no_translation(version: models.PromptVersion, name: str, locale: str) -> NotFound:
    return NotFound(
        # TRANSLATORS: {locale} is a locale identifier such as fr or pt_BR.
        _("version {number} of {name} has no {locale} translation").format(
            number=version.number, name=repr(name), locale=locale
        )
    )


def _target_locale(prompt: models.Prompt, tag: str, loc: tuple[str | int, ...]) -> str:
    locale = parse_locale(tag, loc)
    if locale == prompt.source_locale:
        raise InvalidInput(
            _("{locale} is the source locale of {name}; publish a version instead").format(
                locale=repr(locale), name=repr(prompt.name)
            ),
            [ErrorItem(loc=loc, message=_("choose a locale other than the source locale"))],
        )
    return locale


def stored_translation(
    session: Session, version: models.PromptVersion, locale: str
) -> Translation | None:
    return session.scalars(
        select(Translation).where(
            Translation.version_id == version.id, Translation.locale == locale
        )
    ).one_or_none()


def _summary(translation: Translation, prompt_name: str) -> TranslationSummary:
    return TranslationSummary(
        prompt=prompt_name,
        version=translation.version.number,
        locale=translation.locale,
        status=TranslationStatus(translation.status),
        revision=translation.revision,
        updated_at=translation.updated_at,
        updated_by=translation.updated_by,
        etag=translation_etag(translation),
    )


def translation_etag(translation: Translation) -> str:
    """Which revision a translation is at; ``If-Match`` on a review compares it."""
    return f'"{translation.id}-{translation.revision}"'


def audited(translation: Translation) -> dict[str, Any]:
    return {"status": translation.status, "revision": translation.revision}


def _as_messages(version: models.PromptVersion, texts: Sequence[str]) -> list[Message] | None:
    roles = source_roles(version)
    if roles is None:
        return None
    return [
        Message.model_validate({"role": role, "content": text})
        for role, text in zip(roles, texts, strict=False)
    ]


def _view(
    translation: Translation, prompt_name: str, warnings: Sequence[TranslationFinding] = ()
) -> TranslationView:
    version = translation.version
    current = source_texts(version)
    is_text = version.template is not None
    diff = ""
    if translation.source_texts != current:
        diff = "".join(
            difflib.unified_diff(
                _lines(translation.source_texts),
                _lines(current),
                fromfile="source translated",
                tofile=f"source of version {version.number}",
            )
        )
    revisions = sorted(translation.revisions, key=lambda r: r.number, reverse=True)
    return TranslationView(
        **_summary(translation, prompt_name).model_dump(),
        template=translation.texts[0] if is_text else None,
        messages=_as_messages(version, translation.texts),
        source_template=current[0] if is_text else None,
        source_messages=_as_messages(version, current),
        source_diff=diff,
        note=revisions[0].note if revisions else "",
        warnings=list(warnings),
        revisions=[
            Revision(
                number=r.number,
                status=TranslationStatus(r.status),
                texts=list(r.texts),
                note=r.note,
                author=r.author,
                created_at=r.created_at,
            )
            for r in revisions
        ],
    )


def _lines(texts: Sequence[str]) -> list[str]:
    lines: list[str] = []
    for i, text in enumerate(texts):
        if len(texts) > 1:
            lines.append(f"--- message {i + 1} ---\n")
        lines.extend(line if line.endswith("\n") else line + "\n" for line in text.splitlines())
    return lines


def _findings(
    found: Sequence[checks.TranslationProblem],
) -> tuple[list[ErrorItem], list[TranslationFinding]]:
    errors = [ErrorItem(f.loc, f.message, f.line, f.column) for f in found if f.level == "error"]
    warnings = [
        TranslationFinding(
            level=f.level, loc=list(f.loc), message=f.message, line=f.line, column=f.column
        )
        for f in found
        if f.level != "error"
    ]
    return errors, warnings


def style_findings(
    session: Session,
    prompt: models.Prompt,
    version: models.PromptVersion,
    locale: str,
    texts: Sequence[str],
) -> list[checks.TranslationProblem]:
    """The prompt's style guide, with its rules for ``locale``, run over translated text."""
    roles = source_roles(version)
    if roles is not None and len(roles) != len(texts):
        return []  # the structural checks already refuse a different number of messages
    report = style.run_lint(
        style.choose_guide(session, prompt=prompt.name),
        template=texts[0] if roles is None else None,
        messages=list(zip(roles, texts, strict=True)) if roles is not None else None,
        variables=list(version.variables),
        locale=locale,
        localized=True,
    )
    return [
        checks.TranslationProblem(
            f.level,
            ("body", "template") if f.unit is None else ("body", "messages", f.unit, "content"),
            f"{f.rule}: {f.message}",
            f.line,
            f.column,
        )
        for f in report.findings
    ]


# ---------------------------------------------------------------- per prompt


def list_translations(session: Session, name: str, number: int | None) -> list[TranslationSummary]:
    prompt = get_prompt(session, name)
    version = target_version(session, prompt, number)
    rows = session.scalars(
        select(Translation).where(Translation.version_id == version.id).order_by(Translation.locale)
    )
    return [_summary(row, name) for row in rows]


def get_translation(
    session: Session, name: str, locale: str, number: int | None
) -> TranslationView:
    prompt = get_prompt(session, name)
    locale = _target_locale(prompt, locale, ("path", "locale"))
    version = target_version(session, prompt, number)
    translation = stored_translation(session, version, locale)
    if translation is None:
        raise _no_translation(version, name, locale)
    return _view(translation, name)


def submit_translation(
    session: Session, name: str, locale: str, data: TranslationSubmit, *, author: str
) -> tuple[TranslationView, bool]:
    """Store new text for a locale as a draft (or in review); returns it and if it is new."""
    prompt = get_prompt(session, name, lock=True)
    locale = _target_locale(prompt, locale, ("path", "locale"))
    version = target_version(session, prompt, data.version)
    kind = Kind(prompt.kind)
    if (kind is Kind.text) != (data.template is not None):
        if kind is Kind.text:
            # TRANSLATORS: `template` is a field of the API; keep it as it is.
            detail = _("{name} is a text prompt; send `template`")
            item = ErrorItem(loc=("body", "template"), message=_("text prompts take a template"))
        else:
            # TRANSLATORS: `messages` is a field of the API; keep it as it is.
            detail = _("{name} is a chat prompt; send `messages`")
            item = ErrorItem(loc=("body", "messages"), message=_("chat prompts take messages"))
        raise Conflict(detail.format(name=repr(name)), [item])
    texts = (
        [data.template] if data.template is not None else [m.content for m in data.messages or []]
    )
    roles = [m.role for m in data.messages] if data.messages is not None else None
    found = checks.check_translation(
        source_texts(version), texts, source_roles=source_roles(version), roles=roles, locale=locale
    )
    if not any(f.level == "error" for f in found):
        found += style_findings(session, prompt, version, locale, texts)
    errors, warnings = _findings(found)
    if errors:
        problems = "; ".join(e.message for e in errors)
        raise InvalidInput(
            _("the translation does not fit the source: {problems}").format(problems=problems),
            errors,
        )
    translation = stored_translation(session, version, locale)
    created = translation is None
    if translation is None:
        translation = Translation(
            prompt_id=prompt.id,
            version=version,
            locale=locale,
            status=data.status,
            texts=texts,
            source_texts=source_texts(version),
            revision=0,
            updated_by=author,
            revisions=[],
        )
        session.add(translation)
    elif translation.texts == texts and translation.status == data.status:
        return _view(translation, name, warnings), False
    before = None if created else audited(translation)
    translation.source_texts = source_texts(version)
    add_revision(translation, status=data.status, texts=texts, author=author, note=data.note)
    session.flush()
    audit.record(
        session,
        "translation.submit",
        prompt=name,
        target=f"{name}@{version.number}:{locale}",
        before=before,
        after={**audited(translation), "texts": texts},
    )
    return _view(translation, name, warnings), created


def review_translation(
    session: Session,
    name: str,
    locale: str,
    data: TranslationReview,
    *,
    actor: str,
    if_match: Sequence[str] | None = None,
) -> TranslationView:
    """Move a translation through review: submit, approve or reject.

    ``if_match`` holds the ETags the caller saw; if the translation changed since, the
    answer is 412 and nothing changes.
    """
    prompt = get_prompt(session, name, lock=True)
    locale = _target_locale(prompt, locale, ("path", "locale"))
    version = target_version(session, prompt, data.version)
    translation = stored_translation(session, version, locale)
    if translation is None:
        raise _no_translation(version, name, locale)
    _check_if_match(translation, if_match, name, locale)
    warnings = _review(
        session, prompt, version, translation, data.action, actor=actor, note=data.note
    )
    return _view(translation, name, warnings)


def _check_if_match(
    translation: Translation, if_match: Sequence[str] | None, name: str, locale: str
) -> None:
    if if_match is not None and not ("*" in if_match or translation_etag(translation) in if_match):
        raise PreconditionFailed(
            _(
                "the {locale} translation of {name} has changed since you read it; "
                "read it again and review what is there now"
            ).format(locale=locale, name=repr(name)),
            [
                ErrorItem(
                    loc=("header", "If-Match"), message=_("send the translation's current ETag")
                )
            ],
        )


def _review(
    session: Session,
    prompt: models.Prompt,
    version: models.PromptVersion,
    translation: Translation,
    action: ReviewAction,
    *,
    actor: str,
    note: str,
) -> list[TranslationFinding]:
    """One review of one translation, audited: every way of reviewing comes here.

    Raises Conflict (the status does not allow the action) or InvalidInput (approved text
    must fit the current source) before changing anything; returns the warnings.
    """
    name, locale = prompt.name, translation.locale
    before = audited(translation)
    allowed_from, target = _TRANSITIONS[action]
    if translation.status not in allowed_from:
        possible = [
            a.value for a, (froms, _to) in _TRANSITIONS.items() if translation.status in froms
        ]
        with_actions, without_actions = _REFUSED[action]
        detail = _(with_actions if possible else without_actions).format(
            status=translation.status, actions=", ".join(possible)
        )
        raise Conflict(
            detail,
            [
                ErrorItem(
                    loc=("body", "action"),
                    # TRANSLATORS: {status} is a status of the API (draft, in_review, …).
                    message=_("the status is {status}").format(status=translation.status),
                )
            ],
        )
    warnings: list[TranslationFinding] = []
    if action is ReviewAction.approve:
        # Approving is a promise that the text fits the version's current source.
        found = checks.check_translation(
            source_texts(version),
            translation.texts,
            source_roles=source_roles(version),
            roles=source_roles(version),
            locale=locale,
        )
        if not any(f.level == "error" for f in found):
            found += style_findings(session, prompt, version, locale, translation.texts)
        errors, warnings = _findings(found)
        if errors:
            problems = "; ".join(e.message for e in errors)
            raise InvalidInput(
                _(
                    "the translation no longer fits the source; submit corrected text first: "
                    "{problems}"
                ).format(problems=problems),
                errors,
            )
        translation.source_texts = source_texts(version)
    add_revision(translation, status=target, texts=list(translation.texts), author=actor, note=note)
    session.flush()
    audit.record(
        session,
        f"translation.{action.value}",
        prompt=name,
        target=f"{name}@{version.number}:{locale}",
        before=before,
        after={**audited(translation), "note": note},
    )
    return warnings


def review_translations(
    session: Session, data: TranslationBulkReview, *, principal: Principal
) -> BulkReviewResult:
    """Review many translations of one locale in the caller's transaction, all or nothing.

    Each is reviewed and audited as a single review is; if any cannot be (its status,
    text that no longer fits), every one that cannot is named and the caller's
    transaction must be rolled back, which raising does in the API and the CLI.
    """
    locale = parse_locale(data.locale, ("body", "locale"))
    if data.action is ReviewAction.submit:
        principal.require_locale(locale)
    else:
        principal.require(Permission.REVIEW)
    targets = (
        _named_targets(session, data.prompts, locale, principal)
        if data.prompts is not None
        else _selected_targets(session, data, locale, principal)
    )
    if len(targets) > MAX_BULK_REVIEW:
        raise InvalidInput(
            _(
                "the selection holds {count} translations, more than {limit} at once; "
                "narrow it with prefix or prompts"
            ).format(count=len(targets), limit=MAX_BULK_REVIEW),
            [ErrorItem(loc=("body", "prefix"), message=_("choose a narrower folder"))],
        )
    errors = [t.error for t in targets if t.error is not None]
    reviewed: list[TranslationSummary] = []
    warnings: list[TranslationFinding] = []
    for target in targets:
        if target.error is not None:
            continue
        assert target.prompt and target.version and target.translation
        try:
            found = _review(
                session,
                target.prompt,
                target.version,
                target.translation,
                data.action,
                actor=principal.owner,
                note=data.note,
            )
        except (Conflict, InvalidInput) as exc:
            errors.append(ErrorItem(loc=target.loc, message=exc.detail))
            continue
        reviewed.append(_summary(target.translation, target.prompt.name))
        warnings += [w.model_copy(update={"loc": [*target.loc, *w.loc[1:]]}) for w in found]
    if errors:
        count = len(errors)
        raise Conflict(
            _n(
                "{count} translation cannot be reviewed; nothing was changed",
                "{count} translations cannot be reviewed; nothing was changed",
                count,
            ).format(count=count),
            errors,
        )
    return BulkReviewResult(action=data.action, locale=locale, reviewed=reviewed, warnings=warnings)


@dataclass
class _Target:
    """A translation a bulk review names, or why it cannot be reviewed."""

    loc: tuple[str | int, ...]
    prompt: models.Prompt | None = None
    version: models.PromptVersion | None = None
    translation: Translation | None = None
    error: ErrorItem | None = None


def _named_targets(
    session: Session, names: Sequence[str], locale: str, principal: Principal
) -> list[_Target]:
    """The newest version's translation of each named prompt, in the order named."""
    # A prompt the key may not change is refused as everywhere else (403), before any
    # is looked up; every such name is listed.
    outside = [
        ErrorItem(
            loc=("body", "prompts", i),
            message=_("this key is limited to the folders {folders}").format(
                folders=principal.describe_folders()
            ),
        )
        for i, name in enumerate(names)
        if not principal.may_change(name)
    ]
    if outside:
        first = next(name for name in names if not principal.may_change(name))
        refusal = principal.scope_refusal(first, change=True)
        assert refusal is not None
        raise Forbidden(refusal.detail, outside)
    lock_prompts(session, names)
    targets: list[_Target] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        loc: tuple[str | int, ...] = ("body", "prompts", i)
        if name in seen:
            message = _("{name} is named twice").format(name=repr(name))
            targets.append(_Target(loc, error=ErrorItem(loc=loc, message=message)))
            continue
        seen.add(name)
        try:
            prompt = get_prompt(session, name, lock=True)
            locale = _target_locale(prompt, locale, ("body", "locale"))
            version = target_version(session, prompt, None)
        except (NotFound, InvalidInput) as exc:
            targets.append(_Target(loc, error=ErrorItem(loc=loc, message=exc.detail)))
            continue
        translation = stored_translation(session, version, locale)
        if translation is None:
            message = _no_translation(version, name, locale).detail
            targets.append(_Target(loc, error=ErrorItem(loc=loc, message=message)))
            continue
        targets.append(_Target(loc, prompt, version, translation))
    return targets


def _selected_targets(
    session: Session, data: TranslationBulkReview, locale: str, principal: Principal
) -> list[_Target]:
    """The translations under ``data.prefix`` with a selected status, by prompt name."""
    statuses = {s.value for s in data.status or ()} or _BULK_DEFAULT[data.action]
    # Reviewing changes the prompts: only the key's own folders, not those it may read.
    entries = _scope(session, locale, prefix=data.prefix, label=None, within=principal.folders)
    names = [e.prompt.name for e in entries if e.translation and e.translation.status in statuses]
    if not names:
        return []
    lock_prompts(session, names)
    # Read again under the locks: a translation may have changed in between.
    entries = _scope(session, locale, prefix=data.prefix, label=None, within=principal.folders)
    locked = set(names)
    return [
        _Target(("body", f"{e.prompt.name}@{e.version.number}"), e.prompt, e.version, e.translation)
        for e in entries
        if e.prompt.name in locked and e.translation and e.translation.status in statuses
    ]


# A status no translation keeps: set only in the transaction that deletes it.
_WITHDRAWN = "withdrawn"

# What a bulk review selects by folder unless told otherwise: what awaits the action.
_BULK_DEFAULT: dict[ReviewAction, set[str]] = {
    ReviewAction.submit: {TranslationStatus.draft.value},
    ReviewAction.approve: {TranslationStatus.in_review.value},
    ReviewAction.reject: {TranslationStatus.in_review.value},
}


def withdraw_translation(
    session: Session,
    name: str,
    locale: str,
    number: int | None,
    *,
    principal: Principal,
    if_match: Sequence[str] | None = None,
) -> None:
    """Delete a version's translation into a locale, with its revisions; audited.

    Text that is or may be served (approved, approved text kept live, or stale) needs
    the reviewer's role to withdraw; text never served is its translator's to withdraw.
    """
    prompt = get_prompt(session, name, lock=True)
    locale = _target_locale(prompt, locale, ("path", "locale"))
    version = target_version(session, prompt, number)
    translation = stored_translation(session, version, locale)
    if translation is None:
        raise _no_translation(version, name, locale)
    _check_if_match(translation, if_match, name, locale)
    served = translation.approved_texts is not None or translation.status in (
        TranslationStatus.approved.value,
        TranslationStatus.stale.value,
    )
    if served and not principal.can(Permission.REVIEW):
        raise Forbidden(
            _(
                "the {locale} translation of {name} is or was approved; withdrawing it "
                "needs the {role} role or above"
            ).format(locale=locale, name=repr(name), role=LEAST_ROLE[Permission.REVIEW].value)
        )
    before = {**audited(translation), "texts": list(translation.texts)}
    # The store deletes a translation's revisions only once it is marked withdrawn.
    translation.status = _WITHDRAWN
    session.flush()
    for revision in translation.revisions:
        session.delete(revision)
    session.delete(translation)
    session.flush()
    audit.record(
        session,
        "translation.withdraw",
        prompt=name,
        target=f"{name}@{version.number}:{locale}",
        before=before,
    )


# ---------------------------------------------------------------- queue


@dataclass
class _Entry:
    prompt: models.Prompt
    version: models.PromptVersion
    translation: Translation | None

    @property
    def state(self) -> QueueState:
        if self.translation is None:
            return "missing"
        return self.translation.status  # type: ignore[return-value]


def _scope(
    session: Session,
    locale: str,
    *,
    prefix: str | None,
    label: str | None,
    within: Sequence[str] | None = None,
) -> list[_Entry]:
    """The version to translate of every prompt in scope, with its translation if any.

    ``within`` are the folders the caller's key may read (None: every prompt).
    """
    query = _versions_query(prefix=prefix, label=label, within=within).where(
        models.Prompt.source_locale != locale
    )
    versions = list(session.scalars(query))
    translations: dict[int, Translation] = {}
    if versions:
        rows = session.scalars(
            select(Translation).where(
                Translation.locale == locale,
                Translation.version_id.in_([v.id for v in versions]),
            )
        )
        translations = {row.version_id: row for row in rows}
    return [_Entry(v.prompt, v, translations.get(v.id)) for v in versions]


def _versions_query(
    *, prefix: str | None, label: str | None, within: Sequence[str] | None
) -> Select[models.PromptVersion]:
    """The version to translate of every unarchived prompt in scope, by name."""
    query = (
        select(models.PromptVersion)
        .join(models.Prompt, models.Prompt.id == models.PromptVersion.prompt_id)
        .where(models.Prompt.archived_at.is_(None))
    )
    if label:
        query = query.join(
            models.Label,
            (models.Label.prompt_id == models.Prompt.id)
            & (models.Label.version_id == models.PromptVersion.id),
        ).where(models.Label.name == label)
    else:
        query = query.where(models.PromptVersion.number == models.Prompt.latest_version)
    if prefix:
        folder = prefix.rstrip("/")
        query = query.where(
            (models.Prompt.name == folder)
            | models.Prompt.name.startswith(folder + "/", autoescape=True)
        )
    readable = readable_names(models.Prompt.name, within)
    if readable is not None:
        query = query.where(readable)
    return query.order_by(models.Prompt.name)


def _progress(folder: str, entries: Sequence[_Entry]) -> FolderProgress:
    return _progress_of(folder, [e.state for e in entries])


def _progress_of(folder: str, states: Sequence[str]) -> FolderProgress:
    return _counted(folder, Counter(states))


def _counted(folder: str, counts: Counter[str]) -> FolderProgress:
    prompts = sum(counts.values())
    approved = counts.get("approved", 0)
    return FolderProgress(
        folder=folder,
        prompts=prompts,
        approved=approved,
        completeness=round(approved / prompts, 4) if prompts else 1.0,
        counts=dict(sorted(counts.items())),
    )


def _folders(names_and_states: Iterable[tuple[str, str]]) -> list[FolderProgress]:
    """The progress of every folder holding a prompt, at every depth, by folder."""
    by_folder: dict[str, list[str]] = defaultdict(list)
    for name, state in names_and_states:
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            by_folder["/".join(parts[:depth])].append(state)
    return [_progress_of(folder, states) for folder, states in sorted(by_folder.items())]


def queue(
    session: Session,
    locale: str,
    *,
    prefix: str | None = None,
    label: str | None = None,
    within: Sequence[str] | None = None,
) -> Queue:
    """What needs translating into ``locale``, with progress per prompt and per folder."""
    locale = parse_locale(locale, ("query", "locale"))
    entries = _scope(session, locale, prefix=prefix, label=label, within=within)
    items = [
        QueueItem(
            prompt=e.prompt.name,
            version=e.version.number,
            state=e.state,
            units=sum(not only_a_variable(text) for text in source_texts(e.version)),
        )
        for e in entries
    ]
    return Queue(
        locale=locale,
        items=[i for i in items if i.state != "approved"],
        prompts=items,
        folders=_folders((e.prompt.name, e.state) for e in entries),
        total=_progress("", entries),
    )


def translated_locales(session: Session, *, limit: int = 100) -> list[str]:
    """The locales any translation is in, in order, at most ``limit``.

    A skip over the translations' locale index, one seek per locale (a recursive
    query, as both SQLite and PostgreSQL lack a loose index scan for ``DISTINCT``):
    at 10,000 prompts a ``SELECT DISTINCT`` reads 250,000 index entries, this five.
    """
    locale = Translation.__table__.c.locale
    found = select(func.min(locale).label("locale")).cte("locales", recursive=True)
    following = select(func.min(locale)).where(locale > found.c.locale).scalar_subquery()
    found = found.union_all(select(following).where(found.c.locale.is_not(None)))
    query = select(found.c.locale).where(found.c.locale.is_not(None)).limit(limit)
    return [str(name) for name in session.scalars(query)]


@dataclass(frozen=True)
class QueuePage:
    """One page of a locale's queue, with the progress of everything in scope."""

    locale: str
    items: list[QueueItem]
    more: bool
    folders: list[FolderProgress]
    total: FolderProgress


def queue_page(
    session: Session,
    locale: str,
    *,
    states: Collection[str],
    prefix: str | None = None,
    within: Sequence[str] | None = None,
    offset: int = 0,
    limit: int = 50,
) -> QueuePage:
    """The entries of :func:`queue` in ``states``, ``limit`` from ``offset``, for pages that
    show a few of many thousands (the console's queues).

    Two reads, neither of texts: the prompts in scope counted by parent folder and state
    (grouped in the store, then added up the folders in Python), and the page's entries.
    Both find a prompt's translation in the covering index on (prompt, locale, version,
    status). Only the page's versions are then read in full, to count their units.
    """
    locale = parse_locale(locale, ("query", "locale"))
    scope = (
        _versions_query(prefix=prefix, label=None, within=within)
        .where(models.Prompt.source_locale != locale)
        .outerjoin(
            Translation,
            (Translation.prompt_id == models.Prompt.id)
            & (Translation.locale == locale)
            & (Translation.version_id == models.PromptVersion.id),
        )
    )
    state = func.coalesce(Translation.status, "missing")
    parent = _parent_folder(session, models.Prompt.name)
    counted = scope.with_only_columns(parent, state, func.count()).group_by(parent, state)
    by_folder: dict[str, Counter[str]] = defaultdict(Counter)
    total: Counter[str] = Counter()
    for folder, found, count in session.execute(counted.order_by(None)):
        parts = (folder or "").strip("/").split("/") if folder else []
        for depth in range(1, len(parts) + 1):
            by_folder["/".join(parts[:depth])][found] += count
        total[found] += count
    page = session.execute(
        scope.with_only_columns(
            models.Prompt.name, models.PromptVersion.number, models.PromptVersion.id, state
        )
        .where(state.in_(list(states)))
        .offset(offset)
        .limit(limit + 1)
    ).all()
    shown = page[:limit]
    versions = {
        v.id: v
        for v in session.scalars(
            select(models.PromptVersion).where(
                models.PromptVersion.id.in_([vid for _, _, vid, _ in shown])
            )
        )
    }
    items = [
        QueueItem(
            prompt=name,
            version=number,
            state=found,
            units=sum(not only_a_variable(text) for text in source_texts(versions[vid])),
        )
        for name, number, vid, found in shown
    ]
    return QueuePage(
        locale=locale,
        items=items,
        more=len(page) > limit,
        folders=[_counted(folder, by_folder[folder]) for folder in sorted(by_folder)],
        total=_counted("", total),
    )


def _parent_folder(session: Session, name: Any) -> Any:
    """SQL for the folder a prompt's name lies in, ending in "/" ("" or NULL at the top)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.substring(name, r"^(.*/)")
    # SQLite has no search from the right: trimming every character but "/" from the end
    # leaves the name up to its last "/".
    return func.rtrim(name, func.replace(name, "/", ""))


def queue_overview(
    session: Session,
    *,
    prefix: str | None = None,
    label: str | None = None,
    within: Sequence[str] | None = None,
) -> QueueOverview:
    """Every prompt in scope against every locale translated in scope: the state of each
    pair, and each locale's completeness."""
    versions = list(session.scalars(_versions_query(prefix=prefix, label=label, within=within)))
    translations: dict[int, dict[str, str]] = defaultdict(dict)
    if versions:
        rows = session.execute(
            select(Translation.version_id, Translation.locale, Translation.status).where(
                Translation.version_id.in_([v.id for v in versions])
            )
        )
        for version_id, locale, status in rows:
            translations[version_id][locale] = status
    locales = sorted({locale for found in translations.values() for locale in found})
    rows_out: list[OverviewRow] = []
    by_locale: dict[str, list[str]] = {locale: [] for locale in locales}
    for version in versions:
        source = version.prompt.source_locale
        states: dict[str, QueueState] = {}
        for locale in locales:
            if locale == source:
                continue
            state = translations[version.id].get(locale, "missing")
            states[locale] = state  # type: ignore[assignment]
            by_locale[locale].append(state)
        rows_out.append(
            OverviewRow(
                prompt=version.prompt.name,
                version=version.number,
                source_locale=source,
                states=states,
            )
        )
    progress = []
    for locale, states_of in by_locale.items():
        counts = Counter(states_of)
        approved = counts.get("approved", 0)
        progress.append(
            LocaleProgress(
                locale=locale,
                prompts=len(states_of),
                approved=approved,
                completeness=round(approved / len(states_of), 4) if states_of else 1.0,
                counts=dict(sorted(counts.items())),
            )
        )
    return QueueOverview(locales=progress, prompts=rows_out)


def only_a_variable(text: str) -> bool:
    """Whether a unit is only a variable (``{{ question }}``): nothing to translate.

    Such units are not exported for translation, and an import fills them with the
    source text.
    """
    return _ONLY_A_VARIABLE.fullmatch(text) is not None


_ONLY_A_VARIABLE = re.compile(r"\s*\{\{-?\s*[A-Za-z_][A-Za-z0-9_]*\s*-?\}\}\s*")


# ---------------------------------------------------------------- PO files


def po_contexts(version: models.PromptVersion) -> list[str]:
    base = f"{version.prompt.name}@{version.number}"
    roles = source_roles(version)
    if roles is None:
        return [base]
    return [f"{base}#{i}:{role}" for i, role in enumerate(roles)]


def export_po(
    session: Session,
    locale: str,
    *,
    prefix: str | None = None,
    label: str | None = None,
    include_approved: bool = False,
    within: Sequence[str] | None = None,
) -> tuple[str, bytes]:
    """A PO file of the locale's queue (or of everything); returns the locale and the file."""
    locale = parse_locale(locale, ("query", "locale"))
    entries: list[po.PoEntry] = []
    for item in _scope(session, locale, prefix=prefix, label=label, within=within):
        if item.state == "approved" and not include_approved:
            continue
        sources = source_texts(item.version)
        translation = item.translation
        stale = translation is not None and translation.status == TranslationStatus.stale.value
        variables = ", ".join(
            f"{v['name']} ({v.get('type', 'string')})" for v in item.version.variables
        )
        for i, context in enumerate(po_contexts(item.version)):
            if only_a_variable(sources[i]):
                continue
            comments = [item.prompt.description] if item.prompt.description else []
            if variables:
                comments.append(f"variables: {variables} (keep their names)")
            # The forms a plural filter call needs in this locale ("plural forms: one, few,
            # many, other"), where the source or the translation calls one.
            plurals = checks.plural_comment(
                [sources[i], *(translation.texts[i : i + 1] if translation is not None else [])],
                locale,
            )
            if plurals:
                comments.append(plurals)
            comments.append(f"status: {item.state}")
            previous = None
            if stale and translation is not None and len(translation.source_texts) == len(sources):
                previous = translation.source_texts[i]
            entries.append(
                po.PoEntry(
                    context=context,
                    source=sources[i],
                    translation=translation.texts[i] if translation is not None else "",
                    fuzzy=stale,
                    previous_source=previous,
                    comments=tuple(comments),
                )
            )
    return locale, po.write_po(entries, locale=locale, registry_id=registry_id(session))
