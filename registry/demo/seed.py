"""Load the demo library through the same service calls the API uses."""

from __future__ import annotations

from sqlalchemy.orm import Session

from registry.demo.library import LIBRARY
from registry.prompts import service
from registry.prompts.schemas import LabelSet, PromptCreate, VersionCreate

DEMO_AUTHOR = "demo"


def seed_demo(session: Session) -> int:
    """Publish the demo library into an empty registry; returns the prompts created."""
    if service.prompt_count(session):
        return 0
    for entry in LIBRARY:
        service.create_prompt(
            session,
            PromptCreate(
                name=entry["name"],
                kind=entry["kind"],
                description=entry["description"],
                tags=entry["tags"],
            ),
        )
        for version in entry["versions"]:
            service.publish_version(
                session, entry["name"], VersionCreate(**version), author=DEMO_AUTHOR
            )
        for label, number, reason in entry["labels"]:
            service.set_label(
                session,
                entry["name"],
                label,
                LabelSet(version=number, reason=reason),
                actor=DEMO_AUTHOR,
            )
    return len(LIBRARY)
