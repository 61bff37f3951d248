"""Reviewers at work: approving or rejecting translations, and experiments' results.

A review goes through ``registry.translations.service``: one translation with
``review_translation`` (its ETag as read, so text changed meanwhile is not approved
unseen), many with ``review_translations``, all or nothing, the service behind
``POST /v1/translations/review``. Results come from ``registry.experiments.service``
(``GET /v1/experiments/{id}/results``) and are drawn as an SVG made here: each arm's
rate (or mean score) with its 95% interval, no chart library and no JavaScript.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from registry.access.roles import Permission, Principal
from registry.console.auth import ViewerDep
from registry.console.pages.translate import (
    FolderQuery,
    LocaleTag,
    PromptName,
    folder_of,
    offered_locales,
    units_of,
)
from registry.console.views import PREFIX, ConsoleRoute, add_nav, redirect, render
from registry.dependencies import ReadSession, WriteSession
from registry.errors import ErrorItem, InvalidInput, RegistryError
from registry.experiments import service as experiments
from registry.experiments.schemas import Metric, Results, Status
from registry.inputs import MAX_INTEGER
from registry.locales.messages import N_, _, _n
from registry.locales.requests import parse_locale
from registry.prompts.prompts import get_prompt
from registry.translations import service as i18n
from registry.translations.lookup import source_texts
from registry.translations.schemas import ReviewAction, TranslationBulkReview, TranslationReview

router = APIRouter(route_class=ConsoleRoute)
add_nav("/review", N_("Review"), "review")
add_nav("/experiments", N_("Experiments"), "read")

# The states a reviewer may act on, the first shown by default.
REVIEW_STATES = ("in_review", "draft", "stale")
PAGE_SIZE = 100
EXPERIMENTS_SHOWN = 100
# Words of experiments' statuses and verdicts, shown translated.
EXPERIMENT_WORDS = (
    N_("running"),
    N_("stopped"),
    N_("promoted"),
    N_("collecting"),
    N_("better"),
    N_("worse"),
    N_("no_difference"),
)


async def posted_form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(posted_form)]


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _action(raw: str) -> ReviewAction:
    if raw not in (ReviewAction.approve.value, ReviewAction.reject.value):
        raise InvalidInput(
            _("choose approve or reject"),
            [ErrorItem(loc=("form", "action"), message=_("choose approve or reject"))],
        )
    return ReviewAction(raw)


# ---------------------------------------------------------------- translations


def _list_context(
    session: Session,
    principal: Principal,
    locale: str | None,
    folder: str | None,
    state: str | None,
    page: int,
) -> dict[str, Any]:
    locales = offered_locales(session, principal)
    chosen = (locale or "").strip() or (locales[0] if locales else "")
    prefix = folder_of(folder)
    context: dict[str, Any] = {
        "locales": locales,
        "target": chosen,
        "folder": prefix,
        "state": state if state in REVIEW_STATES else REVIEW_STATES[0],
        "states": REVIEW_STATES,
        "items": [],
        "page": page,
        "more": False,
        "error": None,
        "notice": None,
        "selected": [],
    }
    if chosen:
        canonical = parse_locale(chosen, ("query", "locale"))
        # Reviewing changes the prompts: the key's own folders, not those it only reads.
        found = i18n.queue_page(
            session,
            canonical,
            states=[context["state"]],
            prefix=prefix or None,
            within=principal.folders,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        context.update(target=canonical, items=found.items, more=found.more)
    return context


@router.get("/review")
def review_list(
    request: Request,
    viewer: ViewerDep,
    session: ReadSession,
    locale: Annotated[str | None, Query(max_length=64)] = None,
    folder: FolderQuery = None,
    state: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_INTEGER)] = 1,
    reviewed: Annotated[int | None, Query(ge=0, le=MAX_INTEGER)] = None,
    action: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """A locale's translations awaiting review, to approve or reject one by one or many
    at once."""
    principal = viewer.principal
    principal.require(Permission.REVIEW)
    context = _list_context(session, principal, locale, folder, state, page)
    if reviewed is not None:
        context["notice"] = _notice(action, reviewed)
    return render(request, "review/list.html", context)


def _notice(action: str | None, count: int) -> str:
    if action == ReviewAction.reject.value:
        return _n("{count} translation rejected.", "{count} translations rejected.", count).format(
            count=count
        )
    return _n("{count} translation approved.", "{count} translations approved.", count).format(
        count=count
    )


@router.post("/review")
def review_many(request: Request, viewer: ViewerDep, session: WriteSession, form: Form) -> Response:
    """Approve or reject the selected translations, all or nothing (the service of
    ``POST /v1/translations/review``); a refusal names each one that cannot be."""
    principal = viewer.principal
    principal.require(Permission.REVIEW)
    locale, folder, state = _text(form, "locale"), _text(form, "folder"), _text(form, "state")
    names = [n for n in form.getlist("prompts") if isinstance(n, str) and n]
    try:
        action = _action(_text(form, "action"))
        if not names:
            raise InvalidInput(
                _("select at least one translation"),
                [ErrorItem(loc=("form", "prompts"), message=_("select at least one translation"))],
            )
        try:
            body = TranslationBulkReview(
                action=action, locale=locale, prompts=names, note=_text(form, "note")
            )
        except ValidationError:
            raise InvalidInput(
                _("the selection is not valid"),
                [ErrorItem(loc=("form", "prompts"), message=_("the selection is not valid"))],
            ) from None
        with session.begin_nested():
            result = i18n.review_translations(session, body, principal=principal)
    except RegistryError as exc:
        context = _list_context(session, principal, locale, folder, state, 1)
        context["error"] = exc
        context["selected"] = names
        return render(request, "review/list.html", context, status_code=exc.status)
    query = (
        f"locale={result.locale}&folder={folder}&state={state}"
        f"&reviewed={len(result.reviewed)}&action={action.value}"
    )
    return redirect(f"{PREFIX}/review?{query}", request)


def _detail_context(
    session: Session, principal: Principal, name: str, locale: str
) -> dict[str, Any]:
    prompt = get_prompt(session, name)
    view = i18n.get_translation(session, name, locale, None)
    version = i18n.target_version(session, prompt, view.version)
    row = i18n.stored_translation(session, version, view.locale)
    old = None
    if row is not None and list(row.source_texts) != source_texts(version):
        old = list(row.source_texts)
    return {
        "name": name,
        "prompt": prompt,
        "target": view.locale,
        "view": view,
        "units": units_of(version, view, old),
        "stale": old is not None,
        "may_act": view.status.value in ("draft", "in_review", "stale"),
        "may_translate": principal.may_translate(view.locale),
        "error": None,
    }


def _reviewable(principal: Principal, name: str) -> None:
    """The API's checks of a review: the role, then the key's folders (to change)."""
    principal.require(Permission.REVIEW)
    principal.require_scope(name, change=True)


@router.get("/review/{locale}/{name:path}")
def review_one(
    request: Request, locale: LocaleTag, name: PromptName, viewer: ViewerDep, session: ReadSession
) -> Response:
    """One translation beside its source, what changed in the source if it is stale,
    its history, and the approve and reject buttons."""
    _reviewable(viewer.principal, name)
    context = _detail_context(session, viewer.principal, name, locale)
    return render(request, "review/translation.html", context)


@router.post("/review/{locale}/{name:path}")
def review_single(
    request: Request,
    locale: LocaleTag,
    name: PromptName,
    viewer: ViewerDep,
    session: WriteSession,
    form: Form,
) -> Response:
    """Approve or reject one translation, as read (its ETag): the service of
    ``POST …/translations/{locale}/review``."""
    principal = viewer.principal
    _reviewable(principal, name)
    etag = _text(form, "etag")
    raw_version = _text(form, "version")
    try:
        action = _action(_text(form, "action"))
        body = TranslationReview(
            action=action,
            note=_text(form, "note")[:2000],
            version=int(raw_version) if raw_version.isdigit() else None,
        )
        with session.begin_nested():
            reviewed = i18n.review_translation(
                session,
                name,
                locale,
                body,
                actor=principal.owner,
                if_match=[etag] if etag else None,
            )
    except RegistryError as exc:
        context = _detail_context(session, principal, name, locale)
        context["error"] = exc
        return render(request, "review/translation.html", context, status_code=exc.status)
    query = f"locale={reviewed.locale}&reviewed=1&action={action.value}"
    return redirect(f"{PREFIX}/review?{query}", request)


# ---------------------------------------------------------------- experiments


@router.get("/experiments")
def experiment_list(
    request: Request,
    viewer: ViewerDep,
    session: ReadSession,
    status: Annotated[Status | None, Query()] = None,
) -> Response:
    """Experiments of the prompts the key may read, newest first."""
    page = experiments.list_experiments(
        session, status=status, within=viewer.principal.readable, limit=EXPERIMENTS_SHOWN
    )
    context = {
        "experiments": page.items,
        "status": status.value if status else "",
        "statuses": [s.value for s in Status],
    }
    return render(request, "review/experiments.html", context)


@dataclass(frozen=True)
class ArmBar:
    """An arm as the chart draws it: its row, and x positions of its mean and interval."""

    name: str
    label: str
    control: bool
    y: float
    x_mean: float | None
    x_low: float | None
    x_high: float | None
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    right: float
    ticks: list[tuple[float, str]]
    arms: list[ArmBar]
    axis_y: float


CHART_WIDTH = 640
ROW_HEIGHT = 36
LABEL_WIDTH = 150
VALUE_WIDTH = 150


def chart_of(results: Results) -> Chart:
    """Each arm's mean and 95% interval on a shared axis: 0 to 100% for a success rate,
    the span of the intervals (with some room) for a score."""
    success = results.experiment.metric is Metric.success
    values = [
        v
        for arm in results.arms
        for v in (arm.ci_low, arm.ci_high, arm.mean)
        if v is not None and math.isfinite(v)
    ]
    if success or not values:
        low, high = 0.0, 1.0
    else:
        low, high = min(values), max(values)
        pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    left, right = float(LABEL_WIDTH), float(CHART_WIDTH - VALUE_WIDTH)

    def x(value: float | None) -> float | None:
        if value is None or not math.isfinite(value):
            return None
        share = (min(max(value, low), high) - low) / (high - low)
        return round(left + share * (right - left), 1)

    def shown(value: float | None) -> str:
        if value is None:
            return "—"
        return f"{value * 100:.1f}%" if success else f"{value:.3g}"

    arms = []
    for i, arm in enumerate(results.arms):
        if arm.mean is None:
            text = _("no outcomes yet")
        else:
            text = _("{mean} ({low} to {high})").format(
                mean=shown(arm.mean), low=shown(arm.ci_low), high=shown(arm.ci_high)
            )
        label = _("{arm} · v{version}").format(arm=arm.name, version=arm.version)
        arms.append(
            ArmBar(
                name=arm.name,
                label=label,
                control=arm.control,
                y=20 + i * ROW_HEIGHT + ROW_HEIGHT / 2,
                x_mean=x(arm.mean),
                x_low=x(arm.ci_low),
                x_high=x(arm.ci_high),
                text=text,
            )
        )
    axis_y = 20 + len(arms) * ROW_HEIGHT + 4
    ticks = [
        (x(low + (high - low) * k / 4) or left, shown(low + (high - low) * k / 4)) for k in range(5)
    ]
    return Chart(
        width=CHART_WIDTH,
        height=int(axis_y + 30),
        left=left,
        right=right,
        ticks=ticks,
        arms=arms,
        axis_y=axis_y,
    )


@router.get("/experiments/{experiment_id}")
def experiment_page(
    request: Request,
    experiment_id: Annotated[int, Path(gt=0, le=MAX_INTEGER)],
    viewer: ViewerDep,
    session: ReadSession,
) -> Response:
    """An experiment's results: each arm's rate or mean with its interval, drawn and in
    a table, the test against the control and the verdict."""
    experiments.prompt_of(session, experiment_id, viewer.principal)
    results = experiments.results(session, experiment_id)
    context = {"results": results, "chart": chart_of(results)}
    return render(request, "review/experiment.html", context)
