"""Check a backup file whole before anything is restored: its form, then its references.

The schema (:class:`~registry.backup.schemas.Backup`) checks each record; what it cannot
see, a record naming a row the file does not hold or a number given twice, is checked
here, and every problem is reported at once with where it is.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from registry.backup.schemas import FORMAT, FORMAT_VERSION, Backup
from registry.errors import ErrorItem, InvalidInput
from registry.locales.messages import _
from registry.prompts.schemas import Kind

__all__ = ["parse_backup"]

# The builtin guide is not stored, yet folders may be bound to it.
_BUILTIN_GUIDES = frozenset({"default"})


def _invalid(items: list[ErrorItem]) -> InvalidInput:
    summary = "; ".join(f"{'.'.join(map(str, i.loc))}: {i.message}" for i in items[:5])
    return InvalidInput(_("the backup is not valid: {problems}").format(problems=summary), items)


def parse_backup(data: Any) -> Backup:
    """The file as a :class:`Backup`, or an :class:`InvalidInput` naming every problem."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise _invalid(
            [
                ErrorItem(
                    loc=("format",),
                    message=_("not a prompt registry backup: format must be {format}").format(
                        format=repr(FORMAT)
                    ),
                )
            ]
        )
    found = data.get("format_version")
    if found != FORMAT_VERSION:
        raise _invalid(
            [
                ErrorItem(
                    loc=("format_version",),
                    message=_(
                        "backup format version {found} is not supported; "
                        "this registry reads version {supported}"
                    ).format(found=repr(found), supported=FORMAT_VERSION),
                )
            ]
        )
    try:
        backup = Backup.model_validate(data)
    except ValidationError as exc:
        raise _invalid(
            [ErrorItem(loc=tuple(e["loc"]), message=str(e["msg"])) for e in exc.errors()]
        ) from None
    problems = _reference_problems(backup)
    if problems:
        raise _invalid(problems)
    return backup


def _duplicates(
    section: str, keys: Iterable[Hashable], field: str, describe: Callable[[Any], str]
) -> list[ErrorItem]:
    seen: set[Hashable] = set()
    items = []
    for index, key in enumerate(keys):
        if key in seen:
            items.append(
                ErrorItem(
                    loc=(section, index, field),
                    message=_("{key} appears more than once").format(key=describe(key)),
                )
            )
        seen.add(key)
    return items


def _numbering(loc: tuple[str | int, ...], latest: int, numbers: Iterable[int]) -> list[ErrorItem]:
    found = sorted(numbers)
    if found == list(range(1, latest + 1)):
        return []
    return [
        ErrorItem(
            loc=loc,
            message=_("the numbers must run from 1 to {latest} without gaps; found {found}").format(
                latest=latest, found=", ".join(map(str, found)) or "-"
            ),
        )
    ]


def _reference_problems(backup: Backup) -> list[ErrorItem]:
    """What the schema alone cannot see: references to rows the file does not hold."""
    items: list[ErrorItem] = []
    prompts = {p.name: p for p in backup.prompts}
    versions = {(v.prompt, v.number) for v in backup.versions}
    guides = {g.name for g in backup.style_guides}

    def unknown_prompt(name: str) -> str:
        return _("no prompt {name} in this backup").format(name=repr(name))

    def missing_version(loc: tuple[str | int, ...], name: str, number: int) -> list[ErrorItem]:
        if (name, number) in versions:
            return []
        if name not in prompts:
            return [ErrorItem(loc=loc, message=unknown_prompt(name))]
        message = _("prompt {name} has no version {number} in this backup").format(
            name=repr(name), number=number
        )
        return [ErrorItem(loc=loc, message=message)]

    items += _duplicates("prompts", (p.name for p in backup.prompts), "name", repr)
    for i, p in enumerate(backup.prompts):
        items += _duplicates(f"prompts.{i}.tags", p.tags, "tag", repr)
    items += _duplicates(
        "versions",
        ((v.prompt, v.number) for v in backup.versions),
        "number",
        lambda k: f"{k[0]!r} v{k[1]}",
    )
    for i, v in enumerate(backup.versions):
        prompt = prompts.get(v.prompt)
        if prompt is None:
            items.append(ErrorItem(loc=("versions", i, "prompt"), message=unknown_prompt(v.prompt)))
        elif (prompt.kind is Kind.text) != (v.template is not None and v.messages is None):
            items.append(
                ErrorItem(
                    loc=("versions", i),
                    # TRANSLATORS: `template` and `messages` are fields of the file; keep them.
                    message=_(
                        "a version of a {kind} prompt has either `template` or `messages`, "
                        "as its kind says"
                    ).format(kind=prompt.kind.value),
                )
            )
    numbers: dict[str, list[int]] = {}
    for v in backup.versions:
        numbers.setdefault(v.prompt, []).append(v.number)
    for i, p in enumerate(backup.prompts):
        items += _numbering(
            ("prompts", i, "latest_version"), p.latest_version, numbers.get(p.name, [])
        )

    items += _duplicates(
        "labels",
        ((x.prompt, x.name) for x in backup.labels),
        "name",
        lambda k: f"{k[0]!r} {k[1]!r}",
    )
    for i, x in enumerate(backup.labels):
        items += missing_version(("labels", i, "version"), x.prompt, x.version)
    for i, e in enumerate(backup.label_events):
        if e.prompt not in prompts:
            items.append(
                ErrorItem(loc=("label_events", i, "prompt"), message=unknown_prompt(e.prompt))
            )

    items += _duplicates(
        "translations",
        ((t.prompt, t.version, t.locale) for t in backup.translations),
        "locale",
        lambda k: f"{k[0]!r} v{k[1]} {k[2]}",
    )
    for i, t in enumerate(backup.translations):
        items += missing_version(("translations", i, "version"), t.prompt, t.version)
        items += _duplicates(
            f"translations.{i}.revisions", (r.number for r in t.revisions), "number", str
        )

    items += _duplicates("style_guides", (g.name for g in backup.style_guides), "name", repr)
    for i, g in enumerate(backup.style_guides):
        items += _numbering(
            ("style_guides", i, "latest_version"), g.latest_version, (v.number for v in g.versions)
        )
    items += _duplicates(
        "style_bindings", (b.folder for b in backup.style_bindings), "folder", repr
    )
    for i, b in enumerate(backup.style_bindings):
        if b.guide not in guides and b.guide not in _BUILTIN_GUIDES:
            items.append(
                ErrorItem(
                    loc=("style_bindings", i, "guide"),
                    message=_("no style guide {name} in this backup").format(name=repr(b.guide)),
                )
            )
    items += _duplicates(
        "style_reports",
        ((r.prompt, r.version) for r in backup.style_reports),
        "version",
        lambda k: f"{k[0]!r} v{k[1]}",
    )
    for i, r in enumerate(backup.style_reports):
        items += missing_version(("style_reports", i, "version"), r.prompt, r.version)
    items += _duplicates("label_policies", (lp.path for lp in backup.label_policies), "path", repr)
    for i, experiment in enumerate(backup.experiments):
        for j, arm in enumerate(experiment.arms):
            loc = ("experiments", i, "arms", j, "version")
            items += missing_version(loc, experiment.prompt, arm.version)
        subjects = (e.subject for e in experiment.exposures)
        items += _duplicates(f"experiments.{i}.exposures", subjects, "subject", repr)
    items += _duplicates(
        "experiments",
        ((e.prompt, e.label) for e in backup.experiments if e.running),
        "label",
        lambda k: f"{k[0]!r} {k[1]!r} (running)",
    )
    return items
