"""Differences between two versions: a unified text diff and structured changes."""

from __future__ import annotations

import difflib
from typing import Any

from registry.prompts.schemas import Change, Diff, Version


def _content_lines(version: Version) -> list[str]:
    if version.template is not None:
        return version.template.splitlines(keepends=True)
    lines: list[str] = []
    for i, message in enumerate(version.messages or []):
        lines.append(f"--- message {i + 1} ({message.role}) ---\n")
        lines.extend(
            line if line.endswith("\n") else line + "\n"
            for line in message.content.splitlines(keepends=True)
        )
    return lines


def _dict_changes(prefix: str, before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    for key in sorted(before.keys() | after.keys()):
        path = f"{prefix}{key}"
        if key not in after:
            changes.append(Change(path=path, change="removed", before=before[key]))
        elif key not in before:
            changes.append(Change(path=path, change="added", after=after[key]))
        elif before[key] != after[key]:
            changes.append(
                Change(path=path, change="changed", before=before[key], after=after[key])
            )
    return changes


def diff_versions(old: Version, new: Version) -> Diff:
    """What changed from ``old`` to ``new``."""
    text = "".join(
        difflib.unified_diff(
            _content_lines(old),
            _content_lines(new),
            fromfile=f"{old.prompt}@{old.number}",
            tofile=f"{new.prompt}@{new.number}",
        )
    )
    old_vars = {v.name: v.model_dump(mode="json") for v in old.variables}
    new_vars = {v.name: v.model_dump(mode="json") for v in new.variables}
    variable_changes: list[Change] = []
    for name in sorted(old_vars.keys() | new_vars.keys()):
        if name not in new_vars:
            variable_changes.append(Change(path=name, change="removed", before=old_vars[name]))
        elif name not in old_vars:
            variable_changes.append(Change(path=name, change="added", after=new_vars[name]))
        else:
            variable_changes.extend(_dict_changes(f"{name}.", old_vars[name], new_vars[name]))
    config_changes = _dict_changes(
        "",
        old.config.model_dump(mode="json", exclude_none=True),
        new.config.model_dump(mode="json", exclude_none=True),
    )
    return Diff(
        prompt=new.prompt,
        from_version=old.number,
        to_version=new.number,
        content=text,
        variables=variable_changes,
        config=config_changes,
    )
