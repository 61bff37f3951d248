"""HTTP routes for translations, the translator's queue, and PO export and import."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status

from registry.access.roles import Permission
from registry.dependencies import ReadAccess, ReadSession, TranslateAccess, WriteSession
from registry.inputs import MAX_INTEGER, NulFreeStr
from registry.prompts.router import PromptName
from registry.prompts.schemas import LABEL_NAME_PATTERN
from registry.routing import KeyCheckingRoute
from registry.translations import po_import, service
from registry.translations.schemas import (
    BulkReviewResult,
    ImportResult,
    Queue,
    QueueOverview,
    ReviewAction,
    Translation,
    TranslationBulkReview,
    TranslationReview,
    TranslationSubmit,
    TranslationSummary,
)

router = APIRouter(tags=["translations"], route_class=KeyCheckingRoute)

Locale = Annotated[str, Path(max_length=64, description="BCP 47 or POSIX, e.g. `pt-BR`.")]
VersionQuery = Annotated[
    int | None, Query(gt=0, le=MAX_INTEGER, description="Default: the newest version.")
]
LocaleQuery = Annotated[str, Query(max_length=64, description="BCP 47 or POSIX, e.g. `fr`.")]
PrefixQuery = Annotated[
    NulFreeStr | None, Query(max_length=255, description="Folder, e.g. `support/`.")
]
LabelQuery = Annotated[
    str | None,
    Query(
        pattern=LABEL_NAME_PATTERN,
        max_length=64,
        description="Translate the version this label points to instead of the newest.",
    ),
]
PO_MEDIA_TYPE = "text/x-gettext-translation"


@router.get("/v1/prompts/{name:path}/-/translations/{locale}")
def get_translation(
    name: PromptName,
    locale: Locale,
    session: ReadSession,
    response: Response,
    _: ReadAccess,
    version: VersionQuery = None,
) -> Translation:
    """One locale's translation, its source, the source diff if stale, and its revisions."""
    found = service.get_translation(session, name, locale, version)
    response.headers["ETag"] = found.etag
    return found


@router.put("/v1/prompts/{name:path}/-/translations/{locale}")
def submit_translation(
    name: PromptName,
    locale: Locale,
    body: TranslationSubmit,
    response: Response,
    session: WriteSession,
    principal: TranslateAccess,
) -> Translation:
    """Submit text for a locale (a draft, or `in_review`); checked against the source.

    Translator keys write only the locales listed on them.
    """
    translation, created = service.submit_translation(
        session, name, locale, body, author=principal.owner
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
    return translation


@router.post("/v1/prompts/{name:path}/-/translations/{locale}/review")
def review_translation(
    name: PromptName,
    locale: Locale,
    body: TranslationReview,
    session: WriteSession,
    principal: TranslateAccess,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(max_length=1000, description="The translation's ETag as read; 412 if changed."),
    ] = None,
) -> Translation:
    """Submit for review (translators), approve or reject (reviewers) a translation."""
    if body.action is not ReviewAction.submit:
        principal.require(Permission.REVIEW)
    reviewed = service.review_translation(
        session,
        name,
        locale,
        body,
        actor=principal.owner,
        if_match=_etags(if_match),
    )
    response.headers["ETag"] = reviewed.etag
    return reviewed


@router.delete(
    "/v1/prompts/{name:path}/-/translations/{locale}", status_code=status.HTTP_204_NO_CONTENT
)
def withdraw_translation(
    name: PromptName,
    locale: Locale,
    session: WriteSession,
    principal: TranslateAccess,
    version: VersionQuery = None,
    if_match: Annotated[
        str | None,
        Header(max_length=1000, description="The translation's ETag as read; 412 if changed."),
    ] = None,
) -> None:
    """Withdraw (delete) a version's translation into a locale, with its revisions.

    Text never approved is withdrawn by whoever may translate the locale; approved or
    stale text, which is or may be served, only by reviewers and admins.
    """
    service.withdraw_translation(
        session,
        name,
        locale,
        version,
        principal=principal,
        if_match=_etags(if_match),
    )


def _etags(if_match: str | None) -> list[str] | None:
    return None if if_match is None else [t.strip() for t in if_match.split(",")]


@router.get("/v1/prompts/{name:path}/-/translations")
def list_translations(
    name: PromptName, session: ReadSession, _: ReadAccess, version: VersionQuery = None
) -> list[TranslationSummary]:
    """Every locale a version is translated into, with its status."""
    return service.list_translations(session, name, version)


@router.post("/v1/translations/review")
def review_translations(
    body: TranslationBulkReview, session: WriteSession, principal: TranslateAccess
) -> BulkReviewResult:
    """Submit (translators), approve or reject (reviewers) many translations of a locale.

    All or nothing: if any selected translation cannot be reviewed, each is named and
    nothing changes. Each change is audited as a single review is.
    """
    if body.action is not ReviewAction.submit:
        principal.require(Permission.REVIEW)
    return service.review_translations(session, body, principal=principal)


@router.get("/v1/translations/queue")
def translation_queue(
    session: ReadSession,
    principal: ReadAccess,
    locale: Annotated[
        str | None,
        Query(
            max_length=64,
            description="BCP 47 or POSIX, e.g. `fr`. Without it: every prompt against "
            "every locale translated in scope.",
        ),
    ] = None,
    prefix: PrefixQuery = None,
    label: LabelQuery = None,
) -> Queue | QueueOverview:
    """What is missing, stale or in review for a locale, with completeness per folder; or,
    without `locale`, the state of every prompt in every locale."""
    if locale is None:
        return service.queue_overview(
            session, prefix=prefix, label=label, within=principal.translatable
        )
    return service.queue(session, locale, prefix=prefix, label=label, within=principal.translatable)


@router.get(
    "/v1/translations/export",
    response_class=Response,
    responses={200: {"content": {PO_MEDIA_TYPE: {}}, "description": "A PO file."}},
)
def export_translations(
    session: ReadSession,
    principal: ReadAccess,
    locale: LocaleQuery,
    prefix: PrefixQuery = None,
    label: LabelQuery = None,
    include_approved: Annotated[
        bool, Query(description="Export everything, not only the queue.")
    ] = False,
) -> Response:
    """Download a locale's queue (or everything) as a PO file for any PO editor."""
    locale_id, data = service.export_po(
        session,
        locale,
        prefix=prefix,
        label=label,
        include_approved=include_approved,
        within=principal.translatable,
    )
    return Response(
        data,
        media_type=PO_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{locale_id}.po"'},
    )


async def _raw_body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/v1/translations/import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {PO_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": "The PO file, as exported and edited.",
        }
    },
)
def import_translations(
    session: WriteSession,
    principal: TranslateAccess,
    data: Annotated[bytes, Depends(_raw_body)],
    locale: Annotated[
        str | None, Query(max_length=64, description="Default: the file's Language header.")
    ] = None,
) -> ImportResult:
    """Upload a translated PO file: every entry is checked, and it applies all or nothing."""
    return po_import.import_po(
        session, data, locale=locale, author=principal.owner, principal=principal
    )
