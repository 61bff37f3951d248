"""Protected labels: who may move them, and the four-eyes rule.

A label policy applies to every prompt (path ``""``), a folder (``support/``) or one
prompt (``support/greeting``); the longest matching path wins. Without any policy,
``production`` is protected and four eyes are not required.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.access import audit
from registry.access.models import LabelPolicy
from registry.access.roles import Permission, Principal
from registry.access.schemas import LabelPolicy as LabelPolicySchema
from registry.access.schemas import LabelPolicySet
from registry.db import utcnow
from registry.errors import Forbidden, NotFound
from registry.locales.messages import _
from registry.prompts.models import Prompt, PromptVersion

DEFAULT_PROTECTED = ("production",)


@dataclass(frozen=True)
class Policy:
    path: str
    protected: frozenset[str]
    four_eyes: bool


DEFAULT = Policy(path="", protected=frozenset(DEFAULT_PROTECTED), four_eyes=False)


def _applies(path: str, name: str) -> bool:
    return path == "" or path == name or (path.endswith("/") and name.startswith(path))


def policy_for(session: Session, name: str) -> Policy:
    """The policy of the longest path that covers prompt ``name``."""
    candidates = [""]
    parts = name.split("/")
    candidates += ["/".join(parts[:i]) + "/" for i in range(1, len(parts))]
    candidates.append(name)
    rows = session.scalars(select(LabelPolicy).where(LabelPolicy.path.in_(candidates))).all()
    if not rows:
        return DEFAULT
    best = max(rows, key=lambda row: len(row.path))
    return Policy(path=best.path, protected=frozenset(best.protected), four_eyes=best.four_eyes)


def check_label_moves(
    session: Session,
    principal: Principal,
    name: str,
    labels: Iterable[str],
    *,
    version: int | None,
) -> None:
    """Refuse (403) moving any of ``labels`` of prompt ``name`` that the principal may not.

    ``version`` is the number the labels move to, or None when the same request publishes
    it (the mover is then its author). An unknown version passes: the move reports it.
    """
    labels = list(labels)
    if not labels:
        return
    policy = policy_for(session, name)
    version_author = None if version is None else _author(session, name, version)
    for label in labels:
        if label not in policy.protected:
            continue
        if not principal.can(Permission.REVIEW):
            raise Forbidden(
                _(
                    "the label {label} of {name} is protected; only reviewers and admins move it"
                ).format(label=repr(label), name=repr(name))
            )
        author = principal.owner if version_author is None else version_author
        if policy.four_eyes and author == principal.owner:
            raise Forbidden(
                _(
                    "the label {label} of {name} needs four eyes: someone other than the "
                    "author of the version ({author}) must move it"
                ).format(label=repr(label), name=repr(name), author=author)
            )


def _author(session: Session, name: str, number: int) -> str | None:
    return session.scalar(
        select(PromptVersion.author)
        .join(Prompt, Prompt.id == PromptVersion.prompt_id)
        .where(Prompt.name == name, PromptVersion.number == number)
    )


def _schema(row: LabelPolicy) -> LabelPolicySchema:
    return LabelPolicySchema(
        path=row.path,
        protected=sorted(row.protected),
        four_eyes=row.four_eyes,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        stored=True,
    )


def _default_schema() -> LabelPolicySchema:
    return LabelPolicySchema(
        path="",
        protected=sorted(DEFAULT.protected),
        four_eyes=DEFAULT.four_eyes,
        updated_at=None,
        updated_by=None,
        stored=False,
    )


def list_policies(session: Session) -> list[LabelPolicySchema]:
    rows = [_schema(row) for row in session.scalars(select(LabelPolicy).order_by(LabelPolicy.path))]
    if not any(row.path == "" for row in rows):
        rows.insert(0, _default_schema())
    return rows


def get_policy(session: Session, path: str, principal: Principal) -> LabelPolicySchema:
    """The policy stored for ``path``; one the key may not see is answered as none."""
    row = session.get(LabelPolicy, path) if principal.may_see_path(path) else None
    if row is not None:
        return _schema(row)
    if path == "":
        return _default_schema()
    raise NotFound(_("no label policy is set for {path}").format(path=repr(path)))


def set_policy(session: Session, path: str, data: LabelPolicySet) -> LabelPolicySchema:
    row = session.get(LabelPolicy, path)
    before = None if row is None else _schema(row).model_dump(mode="json")
    owner = audit.acting(session).owner
    if row is None:
        row = LabelPolicy(path=path)
        session.add(row)
    row.protected = list(data.protected)
    row.four_eyes = data.four_eyes
    row.updated_at = utcnow()
    row.updated_by = owner
    session.flush()
    schema = _schema(row)
    audit.record(
        session,
        "label_policy.set",
        target=path or "*",
        before=before,
        after=schema.model_dump(mode="json"),
    )
    return schema


def delete_policy(session: Session, path: str) -> None:
    row = session.get(LabelPolicy, path)
    if row is None:
        raise NotFound(_("no label policy is set for {path}").format(path=repr(path)))
    before = _schema(row).model_dump(mode="json")
    session.delete(row)
    session.flush()
    audit.record(session, "label_policy.delete", target=path or "*", before=before)
