"""Labels: movable pointers to versions, and the record of every move. Never commits;
the caller's unit of work does (see ``registry.db``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from registry.access import audit, policies
from registry.access.roles import Principal
from registry.db import utcnow
from registry.errors import ErrorItem, InvalidInput, NotFound, PreconditionFailed
from registry.locales.messages import _
from registry.prompts import models, repository
from registry.prompts.prompts import get_prompt
from registry.prompts.schemas import LATEST, Label, LabelEvent, LabelSet
from registry.prompts.service import resolve_components
from registry.prompts.versions import version_by_number


def _label_events(session: Session, prompt_id: int, label: str | None) -> list[models.LabelEvent]:
    if label is None:
        return list(session.scalars(repository.LABEL_EVENTS, {"prompt_id": prompt_id}))
    return list(
        session.scalars(repository.LABEL_EVENTS_OF, {"prompt_id": prompt_id, "label": label})
    )


def _label_schema(label: models.Label, events: Iterable[models.LabelEvent]) -> Label:
    events = list(events)  # newest first
    return Label(
        name=label.name,
        version=label.version.number,
        updated_at=label.updated_at,
        updated_by=label.updated_by,
        etag=label_etag(events[0].id if events else 0),
        history=[
            LabelEvent(
                label=e.label,
                from_version=e.from_version,
                to_version=e.to_version,
                actor=e.actor,
                reason=e.reason,
                created_at=e.created_at,
            )
            for e in events
        ],
    )


def list_labels(session: Session, name: str) -> list[Label]:
    prompt = get_prompt(session, name)
    labels = session.scalars(repository.LABELS_OF_PROMPT, {"prompt_id": prompt.id})
    events = _label_events(session, prompt.id, None)
    return [_label_schema(label, [e for e in events if e.label == label.name]) for label in labels]


def get_label(session: Session, name: str, label_name: str) -> Label:
    prompt = get_prompt(session, name)
    label = session.scalars(
        repository.LABEL_NAMED, {"prompt_id": prompt.id, "label": label_name}
    ).one_or_none()
    if label is None:
        raise NotFound(
            _("prompt {name} has no label {label}").format(name=repr(name), label=repr(label_name))
        )
    return _label_schema(label, _label_events(session, prompt.id, label_name))


def set_label(
    session: Session,
    name: str,
    label_name: str,
    data: LabelSet,
    *,
    actor: str,
    depth_limit: int = 10,
    if_match: Sequence[str] | None = None,
    principal: Principal | None = None,
) -> Label:
    """Point a label at a version, recording the move.

    ``if_match`` holds the ETags the caller saw (``If-Match``); when the label has moved
    since, nothing changes and the answer is 412. ``principal`` must be allowed to move
    the label (protected labels, four eyes; None: the registry itself).
    """
    if principal is not None:
        policies.check_label_moves(session, principal, name, [label_name], version=data.version)
    if label_name == LATEST:
        raise InvalidInput(
            _("the label {latest} always means the newest version and cannot be set").format(
                latest=repr(LATEST)
            ),
            [ErrorItem(loc=("path", "label"), message=_("choose another label name"))],
        )
    prompt = get_prompt(session, name, lock=True)
    try:
        version = version_by_number(session, prompt, data.version)
    except NotFound as exc:
        raise InvalidInput(
            exc.detail, [ErrorItem(loc=("body", "version"), message=exc.detail)]
        ) from None
    label = session.scalars(
        repository.LABEL_NAMED, {"prompt_id": prompt.id, "label": label_name}
    ).one_or_none()
    if if_match is not None:
        _check_label_precondition(session, prompt, label_name, label, if_match)
    if label is not None and label.version_id == version.id:
        return _label_schema(label, _label_events(session, prompt.id, label_name))

    previous = label.version.number if label is not None else None
    now = utcnow()
    if label is None:
        label = models.Label(
            prompt_id=prompt.id, name=label_name, version=version, updated_at=now, updated_by=actor
        )
        session.add(label)
    else:
        label.version = version
        label.updated_at = now
        label.updated_by = actor
    session.add(
        models.LabelEvent(
            prompt_id=prompt.id,
            label=label_name,
            from_version=previous,
            to_version=version.number,
            actor=actor,
            reason=data.reason,
            created_at=now,
        )
    )
    session.flush()
    # The move must not close an include cycle through this prompt's other users.
    resolve_components(
        session, version.includes, root=name, depth_limit=depth_limit, principal=principal
    )
    audit.record(
        session,
        "label.move",
        prompt=name,
        target=f"{name}:{label_name}",
        before=None if previous is None else {"version": previous},
        after={"version": version.number, "reason": data.reason},
    )
    return _label_schema(label, _label_events(session, prompt.id, label_name))


def _check_label_precondition(
    session: Session,
    prompt: models.Prompt,
    label_name: str,
    label: models.Label | None,
    if_match: Sequence[str],
) -> None:
    current = None
    if label is not None:
        last_move = session.scalar(
            repository.LAST_MOVE, {"prompt_id": prompt.id, "label": label_name}
        )
        current = label_etag(last_move or 0)
    if "*" in if_match and current is not None:
        return
    if current is None or current not in if_match:
        raise PreconditionFailed(
            _(
                "the label {label} of {name} has changed since you read it; read it again and retry"
            ).format(label=repr(label_name), name=repr(prompt.name)),
            [ErrorItem(loc=("header", "If-Match"), message=_("send the label's current ETag"))],
        )


def label_etag(last_event_id: int) -> str:
    """The ETag of a label: which move it is at, so a move away and back still changes it."""
    return f'"move-{last_event_id}"'
