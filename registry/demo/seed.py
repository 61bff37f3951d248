"""Load the demo library through the same service calls the API uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from registry.demo.experiment import seed_experiment
from registry.demo.library import LIBRARY
from registry.prompts.labels import set_label
from registry.prompts.prompts import create_prompt, prompt_count
from registry.prompts.publish import publish_version
from registry.prompts.schemas import LabelSet, PromptCreate, VersionCreate
from registry.translations import service as i18n_service
from registry.translations.schemas import ReviewAction, TranslationReview, TranslationSubmit

DEMO_AUTHOR = "demo"
DEMO_TRANSLATOR = "demo-translator"
DEMO_REVIEWER = "demo-reviewer"


def _translate(
    session: Session, name: str, number: int, locale: str, translation: dict[str, Any]
) -> None:
    status = translation["status"]
    body = {k: v for k, v in translation.items() if k != "status"}
    i18n_service.submit_translation(
        session,
        name,
        locale,
        TranslationSubmit(version=number, status="draft", **body),
        author=DEMO_TRANSLATOR,
    )
    if status == "approved":
        i18n_service.review_translation(
            session,
            name,
            locale,
            TranslationReview(version=number, action=ReviewAction.approve),
            actor=DEMO_REVIEWER,
        )


def seed_demo(session: Session) -> int:
    """Publish the demo library into an empty registry; returns the prompts created."""
    if prompt_count(session):
        return 0
    for entry in LIBRARY:
        create_prompt(
            session,
            PromptCreate(
                name=entry["name"],
                kind=entry["kind"],
                description=entry["description"],
                tags=entry["tags"],
            ),
        )
        for version in entry["versions"]:
            translations = version.get("translations", {})
            content = {k: v for k, v in version.items() if k != "translations"}
            published, _ = publish_version(
                session, entry["name"], VersionCreate(**content), author=DEMO_AUTHOR
            )
            for locale, translation in translations.items():
                _translate(session, entry["name"], published.number, locale, translation)
        for label, number, reason in entry["labels"]:
            set_label(
                session,
                entry["name"],
                label,
                LabelSet(version=number, reason=reason),
                actor=DEMO_AUTHOR,
            )
    seed_experiment(session)
    return len(LIBRARY)
