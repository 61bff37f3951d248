"""Translators at work: their queue per locale, a side-by-side editor, and PO files.

Everything goes through ``registry.translations.service`` and
``registry.translations.po_import``, the functions behind ``/v1/translations`` and
``/v1/prompts/{name}/-/translations``, with the API's checks: the translate role, the
key's folders (its own, not those it only reads) and, for translator keys, its locales.

The editor shows the source on the left and the translation on the right. Jinja's
``{{ … }}`` and ``{% … %}`` spans of the source are tokens: shown as chips that cannot be
edited, each with a button that inserts it exactly as written, and the service refuses a
submission that loses a variable or an include (its error shown at the field). A stale
translation shows, word by word, how the source changed since the text was made. While
the translator types, htmx posts the text to ``-/lint`` (debounced): the service's own
checks of a translation against its source, then the guide's rules for the locale (the
engine of ``POST /v1/lint``).

Plural forms live inside the text, as the keyword arguments of the ``plural`` filter
(``{{ n | plural(one="# item", other="# items") }}``); no field of the model holds them
one by one. The editor gives each CLDR form of the locale a field of its own and writes
the filter call from them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Query, Request, Response, UploadFile
from fastapi.responses import Response as PlainResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from registry.access.roles import Permission, Principal
from registry.access.scopes import readable_names
from registry.console.auth import ViewerDep
from registry.console.views import PREFIX, ConsoleRoute, add_nav, redirect, render
from registry.dependencies import ReadSession, WriteSession
from registry.errors import ErrorItem, InvalidInput, NotFound, RegistryError
from registry.inputs import MAX_INTEGER, NulFreeStr
from registry.locales.messages import N_, _
from registry.locales.requests import parse_locale
from registry.prompts import models
from registry.prompts.prompts import get_prompt
from registry.prompts.schemas import PROMPT_NAME_PATTERN
from registry.style import service as style
from registry.style.schemas import LintRequest
from registry.translations import checks, po_import
from registry.translations import service as translations
from registry.translations.lookup import source_roles, source_texts
from registry.translations.models import Translation
from registry.translations.schemas import Translation as TranslationView
from registry.translations.schemas import TranslationSubmit

router = APIRouter(route_class=ConsoleRoute)
add_nav("/translate", N_("Translate"), "translate")

PromptName = Annotated[str, Path(pattern=PROMPT_NAME_PATTERN, max_length=255)]
LocaleTag = Annotated[str, Path(max_length=64)]
FolderQuery = Annotated[NulFreeStr | None, Query(max_length=255)]

# Prompts listed per page of a queue.
PAGE_SIZE = 100
# The states a queue may be narrowed to, in the order they are offered.
QUEUE_STATES = ("missing", "stale", "draft", "in_review", "rejected")
# Words of the queue's states, shown translated.
STATE_WORDS = (
    N_("missing"),
    N_("stale"),
    N_("draft"),
    N_("in_review"),
    N_("rejected"),
    N_("approved"),
)
# Locales listed for keys not limited to some (editors and above), at most.
MAX_LOCALES = 50
# Jinja's spans in a text: expressions, statements (includes among them) and comments.
TOKEN = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_PLURAL_CALL = re.compile(r"^\{\{-?\s*(?P<value>.+?)\s*\|\s*plural\s*\(", re.DOTALL)


async def posted_form(request: Request) -> FormData:
    """The posted form, parsed on the event loop (Starlette keeps it for the request)."""
    return await request.form()


Form = Annotated[FormData, Depends(posted_form)]


# ---------------------------------------------------------------- access


def translatable(principal: Principal, name: str | None, locale: str) -> str:
    """The API's checks of a translation write, in its order: the translate role, the
    key's folders (to change), its locales. Returns the canonical locale."""
    principal.require(Permission.TRANSLATE)
    canonical = parse_locale(locale, ("path", "locale"))
    if name is not None:
        principal.require_scope(name, change=True)
    principal.require_locale(canonical)
    return canonical


def offered_locales(session: Session, principal: Principal) -> list[str]:
    """The locales a key works in: a translator key's own, else those translated into
    (within its folders, for a key limited to some)."""
    if principal.locales:
        return list(principal.locales)
    scope = readable_names(models.Prompt.name, principal.folders)
    if scope is None:
        return translations.translated_locales(session, limit=MAX_LOCALES)
    query = select(Translation.locale).distinct().order_by(Translation.locale).limit(MAX_LOCALES)
    query = query.join(models.Prompt, models.Prompt.id == Translation.prompt_id).where(scope)
    return [str(locale) for locale in session.scalars(query)]


def folder_of(prefix: str | None) -> str:
    """A folder as the queue narrows to it: "" for every prompt, else ending in ``/``."""
    folder = (prefix or "").strip().strip("/")
    return f"{folder}/" if folder else ""


# ---------------------------------------------------------------- texts


@dataclass(frozen=True)
class Segment:
    """A piece of text: plain, a Jinja token, or (in a diff) removed or added words."""

    kind: str  # text, token, equal, del, ins
    text: str


def segments(text: str) -> list[Segment]:
    """The text cut around its Jinja spans, which the editor shows as chips."""
    out: list[Segment] = []
    at = 0
    for match in TOKEN.finditer(text):
        if match.start() > at:
            out.append(Segment("text", text[at : match.start()]))
        out.append(Segment("token", match.group()))
        at = match.end()
    if at < len(text):
        out.append(Segment("text", text[at:]))
    return out


_WORDS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


def inline_diff(old: str, new: str) -> list[Segment]:
    """What changed from ``old`` to ``new``, word by word, as equal, removed (del) and
    added (ins) runs: readable in one column, unlike a unified diff of whole lines."""
    before, after = _WORDS.findall(old), _WORDS.findall(new)
    out: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            out.append(Segment("equal", "".join(before[a1:a2])))
            continue
        if a2 > a1:
            out.append(Segment("del", "".join(before[a1:a2])))
        if b2 > b1:
            out.append(Segment("ins", "".join(after[b1:b2])))
    return out


@dataclass(frozen=True)
class PluralCall:
    """A ``plural`` filter call of the source: what it counts, and its forms there."""

    token: str
    value: str
    forms: dict[str, str]


def plural_calls(text: str) -> list[PluralCall]:
    """The source's ``{{ value | plural(…) }}`` calls, with their forms as written."""
    found = []
    for match in TOKEN.finditer(text):
        token = match.group()
        call = _PLURAL_CALL.match(token)
        if call is None or not checks.plural_calls(token):
            continue
        forms = dict(re.findall(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"', token))
        found.append(PluralCall(token=token, value=call["value"], forms=forms))
    return found


@dataclass
class Unit:
    """One text to translate: the template, or a chat message's content."""

    index: int
    role: str | None
    source: str
    text: str
    input_name: str
    fixed: bool = False  # only a variable: nothing to translate, sent as the source
    old_source: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def chips(self) -> list[str]:
        """The source's tokens, each once, in order; plural calls have fields instead."""
        seen: list[str] = []
        for seg in segments(self.source):
            if seg.kind == "token" and seg.text not in seen and not _PLURAL_CALL.match(seg.text):
                seen.append(seg.text)
        return seen

    @property
    def source_segments(self) -> list[Segment]:
        return segments(self.source)

    @property
    def changes(self) -> list[Segment]:
        return [] if self.old_source is None else inline_diff(self.old_source, self.source)

    @property
    def plurals(self) -> list[PluralCall]:
        return plural_calls(self.source)


def units_of(
    version: models.PromptVersion,
    view: TranslationView | None,
    old_sources: list[str] | None,
    typed: list[str] | None = None,
) -> list[Unit]:
    """The version's texts beside the translation's (typed, stored, or empty)."""
    sources = source_texts(version)
    roles = source_roles(version)
    stored: list[str] = []
    if view is not None:
        stored = (
            [view.template or ""]
            if view.template is not None
            else [m.content for m in view.messages or []]
        )
    units = []
    for i, source in enumerate(sources):
        fixed = translations.only_a_variable(source)
        if typed is not None and i < len(typed):
            text = typed[i]
        elif i < len(stored):
            text = stored[i]
        else:
            text = source if fixed else ""
        old = None
        if old_sources is not None and len(old_sources) == len(sources):
            old = old_sources[i] if old_sources[i] != source else None
        units.append(
            Unit(
                index=i,
                role=None if roles is None else roles[i],
                source=source,
                text=text,
                input_name="template" if roles is None else f"messages.{i}.content",
                fixed=fixed,
                old_source=old,
            )
        )
    return units


def typed_texts(form: FormData, version: models.PromptVersion) -> list[str]:
    """The translation as the form holds it, one text per unit of the source."""
    sources = source_texts(version)
    if source_roles(version) is None:
        value = form.get("template")
        return [value if isinstance(value, str) else ""]
    texts = []
    for i, source in enumerate(sources):
        value = form.get(f"messages.{i}.content")
        texts.append(value if isinstance(value, str) else "")
        if translations.only_a_variable(source) and not texts[-1].strip():
            texts[-1] = source
    return texts


def submission(
    version: models.PromptVersion, texts: list[str], status: str, note: str
) -> TranslationSubmit:
    """The form as the API's body; a 422 naming the field that does not fit."""
    roles = source_roles(version)
    body: dict[str, Any] = {"version": version.number, "status": status, "note": note}
    if roles is None:
        body["template"] = texts[0]
    else:
        body["messages"] = [
            {"role": role, "content": text} for role, text in zip(roles, texts, strict=True)
        ]
    try:
        return TranslationSubmit.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput(
            _("the translation is not complete or not valid"),
            [
                ErrorItem(
                    loc=("body", *err["loc"]),
                    message=_("invalid value (Pydantic: {cause})").format(cause=err["msg"]),
                )
                for err in exc.errors()
            ],
        ) from None


def place_errors(units: list[Unit], error: RegistryError) -> list[ErrorItem]:
    """Put each error of a refusal at its unit's field; returns those of no field."""
    elsewhere = []
    for item in error.errors:
        loc = tuple(item.loc)
        index: int | None = None
        if loc[:2] == ("body", "template"):
            index = 0
        elif loc[:2] == ("body", "messages") and len(loc) > 2 and isinstance(loc[2], int):
            index = loc[2]
        if index is not None and index < len(units):
            where = (_("line {line}: ").format(line=item.line) if item.line else "") + item.message
            units[index].errors.append(where)
        else:
            elsewhere.append(item)
    return elsewhere


# ---------------------------------------------------------------- the queue


@router.get("/translate")
def queue_page(
    request: Request,
    viewer: ViewerDep,
    session: ReadSession,
    locale: Annotated[str | None, Query(max_length=64)] = None,
    folder: FolderQuery = None,
    state: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_INTEGER)] = 1,
) -> Response:
    """A locale's queue: what is missing, stale or in review, with each folder's
    completeness; only the key's locales and the folders it may change."""
    principal = viewer.principal
    principal.require(Permission.TRANSLATE)
    locales = offered_locales(session, principal)
    chosen = (locale or "").strip() or (locales[0] if locales else "")
    prefix = folder_of(folder)
    context: dict[str, Any] = {
        "locales": locales,
        "target": chosen,
        "folder": prefix,
        "state": state if state in QUEUE_STATES else "",
        "states": QUEUE_STATES,
        "queue": None,
        "items": [],
        "page": page,
        "more": False,
    }
    if chosen:
        canonical = translatable(principal, None, chosen)
        # One page of the queue from the store, and every folder's progress.
        found = translations.queue_page(
            session,
            canonical,
            states=[context["state"]] if context["state"] else QUEUE_STATES,
            prefix=prefix or None,
            within=principal.translatable,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        context.update(target=canonical, queue=found, items=found.items, more=found.more)
    return render(request, "translate/queue.html", context)


# ---------------------------------------------------------------- PO files


@router.get("/translate/{locale}/-/po")
def download_po(
    request: Request,
    locale: LocaleTag,
    viewer: ViewerDep,
    session: ReadSession,
    folder: FolderQuery = None,
    everything: Annotated[bool, Query(alias="all")] = False,
) -> Response:
    """The locale's queue (or everything) as a PO file: ``GET /v1/translations/export``."""
    principal = viewer.principal
    canonical = translatable(principal, None, locale)
    locale_id, data = translations.export_po(
        session,
        canonical,
        prefix=folder_of(folder) or None,
        include_approved=everything,
        within=principal.translatable,
    )
    return PlainResponse(
        data,
        media_type="text/x-gettext-translation",
        headers={
            "Content-Disposition": f'attachment; filename="{locale_id}.po"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/translate/{locale}/-/po")
def upload_po(
    request: Request,
    locale: LocaleTag,
    viewer: ViewerDep,
    session: WriteSession,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Apply a translated PO file, all or nothing: ``POST /v1/translations/import``."""
    principal = viewer.principal
    canonical = translatable(principal, None, locale)
    data = file.file.read()
    context: dict[str, Any] = {"target": canonical, "result": None, "error": None}
    try:
        with session.begin_nested():
            context["result"] = po_import.import_po(
                session, data, locale=canonical, author=principal.owner, principal=principal
            )
    except RegistryError as exc:
        context["error"] = exc
        return render(request, "translate/po_result.html", context, status_code=exc.status)
    return render(request, "translate/po_result.html", context)


# ---------------------------------------------------------------- the editor


def _translation(
    session: Session, name: str, locale: str, version: models.PromptVersion
) -> tuple[TranslationView | None, list[str] | None]:
    """The stored translation (None if there is none yet) and, when the source changed
    since it was made, the source it was made from. The prompt's source locale is
    refused (422) as the API refuses it."""
    try:
        view = translations.get_translation(session, name, locale, version.number)
    except NotFound:
        return None, None
    row = translations.stored_translation(session, version, locale)
    old = None
    if row is not None and list(row.source_texts) != source_texts(version):
        old = list(row.source_texts)
    return view, old


def _editor_context(
    session: Session,
    principal: Principal,
    name: str,
    locale: str,
    version_number: int | None = None,
    typed: list[str] | None = None,
) -> dict[str, Any]:
    prompt = get_prompt(session, name)
    version = translations.target_version(session, prompt, version_number)
    view, old = _translation(session, name, locale, version)
    units = units_of(version, view, old, typed)
    return {
        "name": name,
        "prompt": prompt,
        "version": version,
        "target": locale,
        "view": view,
        "units": units,
        "stale": old is not None,
        "plural_forms": checks.plural_categories(locale),
        "variables": [v["name"] for v in version.variables],
        "may_review": principal.can(Permission.REVIEW),
        "error": None,
        "other_errors": [],
        "notice": None,
        "note": "",
    }


def _notice(saved: str | None) -> str | None:
    if saved == "in_review":
        return _("Submitted for review.")
    if saved == "draft":
        return _("The draft is saved.")
    return None


@router.post("/translate/{locale}/{name:path}/-/lint")
def live_check(
    request: Request,
    locale: LocaleTag,
    name: PromptName,
    viewer: ViewerDep,
    session: ReadSession,
    form: Form,
) -> Response:
    """The translation as typed, checked against its source (the service's own checks)
    and by the guide's rules for the locale (``POST /v1/lint``'s engine)."""
    principal = viewer.principal
    canonical = translatable(principal, name, locale)
    prompt = get_prompt(session, name)
    raw = form.get("version")
    number = int(raw) if isinstance(raw, str) and raw.isdigit() else None
    version = translations.target_version(session, prompt, number)
    texts = typed_texts(form, version)
    problems: list[checks.TranslationProblem] = []
    result = None
    sources = source_texts(version)
    if any(
        t.strip()
        for t, s in zip(texts, sources, strict=True)
        if not translations.only_a_variable(s)
    ):
        roles = source_roles(version)
        problems = checks.check_translation(
            sources, texts, source_roles=roles, roles=roles, locale=canonical
        )
        if not any(p.level == "error" for p in problems):
            result = style.lint_request(
                session,
                LintRequest.model_validate(
                    {
                        "template": texts[0] if roles is None else None,
                        "messages": None
                        if roles is None
                        else [{"role": r, "content": t} for r, t in zip(roles, texts, strict=True)],
                        "variables": list(version.variables),
                        "locale": canonical,
                        "prompt": name,
                        "localized": True,
                    }
                ),
            )
    findings = []
    if result is not None:
        # The plural forms are among the translation's own checks already.
        findings = [f for f in result.findings if f.rule != checks.PLURAL_RULE]
    context = {"problems": problems, "findings": findings, "result": result, "texts": texts}
    return render(request, "translate/_check.html", context)


@router.get("/translate/{locale}/{name:path}")
def editor(
    request: Request,
    locale: LocaleTag,
    name: PromptName,
    viewer: ViewerDep,
    session: ReadSession,
    saved: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """Source on the left, translation on the right, for the prompt's newest version."""
    principal = viewer.principal
    canonical = translatable(principal, name, locale)
    context = _editor_context(session, principal, name, canonical)
    context["notice"] = _notice(saved)
    return render(request, "translate/edit.html", context)


@router.post("/translate/{locale}/{name:path}")
def submit(
    request: Request,
    locale: LocaleTag,
    name: PromptName,
    viewer: ViewerDep,
    session: WriteSession,
    form: Form,
) -> Response:
    """Save the text as a draft, or submit it for review: ``PUT …/translations/{locale}``.

    A refused text comes back in the editor with each error at its field; nothing is
    written.
    """
    principal = viewer.principal
    canonical = translatable(principal, name, locale)
    prompt = get_prompt(session, name)
    raw = form.get("version")
    number = int(raw) if isinstance(raw, str) and raw.isdigit() else None
    version = translations.target_version(session, prompt, number)
    texts = typed_texts(form, version)
    status = "in_review" if form.get("action") == "in_review" else "draft"
    raw_note = form.get("note")
    note = raw_note.strip() if isinstance(raw_note, str) else ""
    try:
        body = submission(version, texts, status, note)
        with session.begin_nested():
            translations.submit_translation(session, name, canonical, body, author=principal.owner)
    except RegistryError as exc:
        context = _editor_context(session, principal, name, canonical, version.number, texts)
        context["error"] = exc
        context["other_errors"] = place_errors(context["units"], exc)
        context["note"] = note
        return render(request, "translate/edit.html", context, status_code=exc.status)
    return redirect(f"{PREFIX}/translate/{canonical}/{name}?saved={status}", request)
