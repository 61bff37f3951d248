"""The outbox: the events of a change, written in the change's own transaction.

Every write of the registry is audited through :func:`registry.access.audit.record`,
which hands the audited action here. An action subscribers may care about becomes one
or more events, and each event one delivery per subscription that wants it; a
transaction that rolls back takes its events with it, and one that commits has them
stored for the worker (:mod:`registry.events.delivery`) before anyone could see the
change. Nothing is written when no active subscription wants an event.

The audit payloads read here are the ones their callers write: ``version.publish``
(prompts), ``label.move`` (prompts), ``translation.approve`` (translations) and the
``experiment.*`` actions (experiments).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from registry.access.roles import within
from registry.db import utcnow
from registry.events.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from registry.events.schemas import DeliveryStatus, EventType
from registry.prompts.includes import served_links
from registry.prompts.models import Prompt, PromptVersion
from registry.translations.lookup import source_roles, source_texts
from registry.translations.models import Translation

LATEST = "latest"

_SUBSCRIPTIONS = WebhookSubscription.__table__.c
_ACTIVE = select(_SUBSCRIPTIONS.id, _SUBSCRIPTIONS.event_types, _SUBSCRIPTIONS.folder).where(
    _SUBSCRIPTIONS.active.is_(True)
)
_INSERT_EVENTS = insert(cast(Table, WebhookEvent.__table__)).returning(
    WebhookEvent.__table__.c.id, sort_by_parameter_order=True
)
_INSERT_DELIVERIES = insert(cast(Table, WebhookDelivery.__table__))

_VERSIONS = PromptVersion.__table__.c
_PROMPTS = Prompt.__table__.c
_TRANSLATIONS = Translation.__table__.c


@dataclass(frozen=True)
class Change:
    """One audited action, as :func:`registry.access.audit.record` was given it."""

    action: str
    target: str
    prompt: str | None
    before: Any
    after: Any
    actor: str


@dataclass(frozen=True)
class Event:
    type: EventType
    prompt: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class _Subscriber:
    id: int
    types: frozenset[str]
    folder: str | None

    def wants(self, event_type: str, prompt: str | None) -> bool:
        if self.types and event_type not in self.types:
            return False
        return self.folder is None or (prompt is not None and _in_folder(prompt, self.folder))


def _in_folder(prompt: str, folder: str) -> bool:
    """A folder (``support/``) holds the prompts under it; a prompt's name, only itself."""
    return within(prompt, (folder,)) if folder.endswith("/") else prompt == folder


def record_events(
    session: Session,
    action: str,
    *,
    target: str,
    prompt: str | None,
    before: Any,
    after: Any,
    actor: str,
) -> None:
    """Write the events of one audited action, and their deliveries, in its transaction."""
    build = _BUILDERS.get(action)
    if build is None:
        return
    subscribers = [
        _Subscriber(id=row.id, types=frozenset(row.event_types or ()), folder=row.folder)
        for row in session.execute(_ACTIVE)
    ]
    if not subscribers:
        return
    # Only the types someone wants are worked out (a dependents' walk is not free).
    wanted: Collection[str] = (
        set(EventType)
        if any(not s.types for s in subscribers)
        else set().union(*(s.types for s in subscribers))
    )
    change = Change(action, target, prompt, before, after, actor)
    addressed = [
        (event, ids)
        for event in build(session, change, wanted)
        if (ids := [s.id for s in subscribers if s.wants(event.type, event.prompt)])
    ]
    if addressed:
        write(session, addressed, utcnow())


def write(
    session: Session, addressed: Sequence[tuple[Event, Sequence[int]]], now: datetime
) -> None:
    """Store events and one pending delivery per subscription each: two statements."""
    event_ids = session.scalars(
        _INSERT_EVENTS,
        [
            {
                # The webhook-id: unique across registries and restores, never reused.
                "uid": f"msg_{uuid.uuid4().hex}",
                "type": event.type.value,
                "prompt": event.prompt,
                "body": {
                    "type": event.type.value,
                    "timestamp": now.isoformat(),
                    "data": event.data,
                },
                "created_at": now,
            }
            for event, _ids in addressed
        ],
    ).all()
    session.execute(
        _INSERT_DELIVERIES,
        [
            {
                "event_id": event_id,
                "subscription_id": subscription_id,
                "status": DeliveryStatus.pending.value,
                "attempts": 0,
                "counted_from": 0,
                "scheduled_at": now,
                "next_attempt_at": now,
                "created_at": now,
            }
            for (_event, subscription_ids), event_id in zip(addressed, event_ids, strict=True)
            for subscription_id in subscription_ids
        ],
    )


# ---------------------------------------------------------------- what each action emits

Builder = Callable[[Session, Change, Collection[str]], list[Event]]


def _version_published(session: Session, change: Change, wanted: Collection[str]) -> list[Event]:
    name = change.prompt or change.target.split("@", 1)[0]
    after = change.after or {}
    number = int(after["version"])
    events = [
        Event(
            EventType.version_published,
            name,
            {
                "prompt": name,
                "version": number,
                "content_hash": after.get("content_hash"),
                "message": after.get("message"),
                "actor": change.actor,
            },
        )
    ]
    if EventType.translation_stale in wanted:
        events += _gone_stale(session, name, number)
    if EventType.answer_changed in wanted:
        component = {
            "component": name,
            "component_label": LATEST,
            "component_from_version": number - 1 or None,
            "component_to_version": number,
        }
        events += _answers_changed(session, name, LATEST, component, change.actor)
    return events


def _gone_stale(session: Session, name: str, number: int) -> list[Event]:
    """The translations the version ``number`` makes stale.

    Called as the version is published, before its translations are carried forward
    (:func:`registry.translations.revisions.carry_forward`): each translation of the
    version before it is carried as stale when the translatable source changed, as that
    function decides.
    """
    if number < 2:
        return []
    rows = {
        row.number: row
        for row in session.execute(
            select(_VERSIONS.id, _VERSIONS.number, _VERSIONS.template, _VERSIONS.messages)
            .join(Prompt.__table__, _PROMPTS.id == _VERSIONS.prompt_id)
            .where(_PROMPTS.name == name, _VERSIONS.number.in_((number - 1, number)))
        )
    }
    previous, new = rows.get(number - 1), rows.get(number)
    if previous is None or new is None:
        return []
    if source_texts(previous) == source_texts(new) and source_roles(previous) == source_roles(new):
        return []
    translations = session.execute(
        select(_TRANSLATIONS.locale, _TRANSLATIONS.status)
        .where(_TRANSLATIONS.version_id == previous.id)
        .order_by(_TRANSLATIONS.locale)
    )
    return [
        Event(
            EventType.translation_stale,
            name,
            {
                "prompt": name,
                "version": number,
                "previous_version": number - 1,
                "locale": t.locale,
                "previous_status": t.status,
            },
        )
        for t in translations
    ]


def _label_moved(session: Session, change: Change, wanted: Collection[str]) -> list[Event]:
    # The target is "<prompt>:<label>" (registry.prompts.labels.set_label).
    name, label = change.target.rsplit(":", 1)
    from_version = (change.before or {}).get("version")
    after = change.after or {}
    events = [
        Event(
            EventType.label_moved,
            name,
            {
                "prompt": name,
                "label": label,
                "from_version": from_version,
                "to_version": after.get("version"),
                "reason": after.get("reason"),
                "actor": change.actor,
            },
        )
    ]
    if EventType.answer_changed in wanted:
        component = {
            "component": name,
            "component_label": label,
            "component_from_version": from_version,
            "component_to_version": after.get("version"),
        }
        events += _answers_changed(session, name, label, component, change.actor)
    return events


def _answers_changed(
    session: Session, name: str, label: str, component: dict[str, Any], actor: str
) -> list[Event]:
    return [
        Event(
            EventType.answer_changed,
            dependent.prompt,
            {
                "prompt": dependent.prompt,
                "label": dependent.label,
                "version": dependent.version,
                **component,
                # The prompts between the component and this one, outermost last.
                "via": list(dependent.via),
                "actor": actor,
            },
        )
        for dependent in dependents(session, name, label)
    ]


@dataclass(frozen=True)
class Dependent:
    """A prompt's label (or ``latest``) whose answer includes a component's label."""

    prompt: str
    label: str
    version: int
    via: tuple[str, ...]


def dependents(session: Session, name: str, label: str) -> list[Dependent]:
    """Every label (and ``latest``) whose served version includes ``name@label``, directly
    or through prompts that do: their answers change when that label moves.

    A reference without a label means ``production`` (see
    :func:`registry.templating.engine.parse_ref`); a pinned version never changes. The
    walk goes up one level of includers at a time, each level one indexed read of the
    include links naming the level's prompts (most moves end at the first, empty one);
    each prompt's label is reached once, so include cycles end the walk.
    """
    found: list[Dependent] = []
    seen = {(name, label)}
    frontier: list[tuple[str, str, tuple[str, ...]]] = [(name, label, ())]
    while frontier:
        # (included name, label) -> the (prompt, label, version) pointers serving an includer.
        included_by: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
        for link in served_links(session, {target for target, _label, _via in frontier}):
            # A version with several labels comes once per label: latest is listed again,
            # and the walk sees it once.
            pointers = [link.label] if link.label is not None else []
            if link.number == link.latest_version:
                pointers.append(LATEST)
            for pointer in pointers:
                included_by.setdefault((link.target_name, link.target_label), []).append(
                    (link.prompt, pointer, link.number)
                )
        following: list[tuple[str, str, tuple[str, ...]]] = []
        for target, target_label, via in frontier:
            for prompt, pointer, version in included_by.get((target, target_label), ()):
                if (prompt, pointer) in seen:
                    continue
                seen.add((prompt, pointer))
                found.append(Dependent(prompt=prompt, label=pointer, version=version, via=via))
                following.append((prompt, pointer, (*via, prompt)))
        frontier = following
    return found


def _translation_approved(session: Session, change: Change, wanted: Collection[str]) -> list[Event]:
    # The target is "<prompt>@<version>:<locale>" (registry.translations.service._review).
    name, rest = change.target.rsplit("@", 1)
    number, locale = rest.split(":", 1)
    after = change.after or {}
    return [
        Event(
            EventType.translation_approved,
            name,
            {
                "prompt": name,
                "version": int(number),
                "locale": locale,
                "revision": after.get("revision"),
                "note": after.get("note"),
                "actor": change.actor,
            },
        )
    ]


def _experiment(event_type: EventType) -> Builder:
    def build(session: Session, change: Change, wanted: Collection[str]) -> list[Event]:
        # The target is "<prompt>:<label>:experiment-<id>" (registry.experiments.service).
        name, _label, experiment = change.target.rsplit(":", 2)
        data = {
            "prompt": name,
            "experiment_id": int(experiment.removeprefix("experiment-")),
            **(change.after or {}),
            "actor": change.actor,
        }
        return [Event(event_type, name, data)]

    return build


_BUILDERS: dict[str, Builder] = {
    "version.publish": _version_published,
    "label.move": _label_moved,
    "translation.approve": _translation_approved,
    "experiment.create": _experiment(EventType.experiment_started),
    "experiment.stop": _experiment(EventType.experiment_stopped),
    "experiment.promote": _experiment(EventType.experiment_promoted),
}
