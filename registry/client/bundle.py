"""Offline bundles: resolved prompts in one JSON file, served with no registry at all.

The format (``format_version`` 1)::

    {
      "format": "prompt-registry-bundle",
      "format_version": 1,
      "created_at": "2026-05-04T09:30:00Z",
      "registry": "https://prompts.example.com",
      "prompts": [
        {"source_locale": "en", "resolved": {<the resolve endpoint's answer>}},
        ...
      ]
    }

There is one entry per prompt name, label and locale, sorted by the three.
``resolved`` is exactly what ``GET /v1/prompts/{name}/-/resolve?label=…&locale=…``
answered (a ``Resolved``), components included, so a bundled prompt renders like a
fetched one. The source-locale entry of each name and label is always present; a locale
gets an entry only when something (the prompt or a component) is served in it, since
a lookup walks the CLDR fallback chain (``fr_CA`` → ``fr`` → source) as the server does.
A bundle holds approved text only, so ``allow_stale`` and ``preview`` are served the
same. A reader refuses a ``format_version`` newer than it knows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, field_validator

from registry.client import errors
from registry.errors import ErrorItem
from registry.locales.negotiation import candidate_locales, locale_match
from registry.locales.tags import LocaleError, canonical_locale
from registry.prompts.schemas import Prompt as PromptInfo
from registry.prompts.schemas import Resolved

if TYPE_CHECKING:
    from registry.client.sync import Client

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "Bundle",
    "BundleEntry",
    "load_bundle",
    "save_bundle",
    "write_bundle",
]

BUNDLE_FORMAT = "prompt-registry-bundle"
BUNDLE_FORMAT_VERSION = 1
LATEST = "latest"
PRODUCTION = "production"


class BundleEntry(BaseModel):
    """One resolved prompt: a name, label and locale as the registry answered it."""

    source_locale: str = Field(description="The prompt's source locale, ending every chain.")
    resolved: Resolved


class Bundle(BaseModel):
    """A file of resolved prompts for serving without a registry."""

    format: Literal["prompt-registry-bundle"] = "prompt-registry-bundle"
    format_version: int = BUNDLE_FORMAT_VERSION
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    registry: str | None = Field(default=None, description="Where the prompts were pulled from.")
    prompts: list[BundleEntry] = Field(default_factory=list)

    @field_validator("format_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value > BUNDLE_FORMAT_VERSION:
            raise ValueError(
                f"bundle format version {value} is newer than this SDK reads "
                f"({BUNDLE_FORMAT_VERSION}); upgrade prompt-registry"
            )
        return value


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Read and check a bundle file."""
    return Bundle.model_validate_json(Path(path).read_bytes())


def save_bundle(bundle: Bundle, path: str | os.PathLike[str]) -> None:
    """Write a bundle atomically, so a reader never sees half a file."""
    target = Path(path)
    data = bundle.model_dump_json(indent=2) + "\n"
    # A new file beside the target (so the rename stays on one file system), created
    # with the umask's permissions like any other file the caller writes.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("x", encoding="utf-8") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bundle(
    client: Client,
    path: str | os.PathLike[str],
    *,
    names: Iterable[str] | None = None,
    labels: Sequence[str] = (PRODUCTION,),
    locales: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Bundle:
    """Resolve prompts (all, or ``names``) for ``labels`` in every locale into a bundle file.

    ``locales`` defaults to every locale any of the prompts is translated into.
    ``progress(done, total)`` is called after each prompt, for a progress bar.
    """
    infos = (
        [client.read_prompt(name) for name in names]
        if names is not None
        else list(_all_prompts(client))
    )
    # The labels each prompt has; a prompt lacking one of them is bundled without it.
    plan = [
        (info, [label for label in labels if label in info.labels or label == LATEST])
        for info in infos
        if not info.archived and info.latest_version
    ]
    sources: dict[tuple[str, str], Resolved] = {}
    found: dict[str, None] = {}
    for info, info_labels in plan:
        for label in info_labels:
            resolved = sources[info.name, label] = client.resolve(info.name, label=label)
            if locales is None:
                for summary in client.list_translations(info.name, version=resolved.version):
                    found.setdefault(summary.locale)
    # Every locale of any prompt, since a prompt may serve a translated component in it.
    wanted = list(found) if locales is None else list(dict.fromkeys(locales))

    entries: list[BundleEntry] = []
    for done, (info, info_labels) in enumerate(plan, start=1):
        source = info.source_locale
        for label in info_labels:
            entries.append(BundleEntry(source_locale=source, resolved=sources[info.name, label]))
            for locale in wanted:
                resolved = client.resolve(info.name, label=label, locale=locale)
                if resolved.requested_locale != source and _serves_locale(resolved):
                    entries.append(BundleEntry(source_locale=source, resolved=resolved))
        if progress is not None:
            progress(done, len(plan))
    entries.sort(key=lambda e: (e.resolved.prompt, e.resolved.label or "", _locale_of(e)))
    bundle = Bundle(registry=client.base_url, prompts=entries)
    save_bundle(bundle, path)
    return bundle


def _all_prompts(client: Client) -> Iterator[PromptInfo]:
    cursor: str | None = None
    while True:
        page = client.list_prompts(cursor=cursor, limit=200)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _serves_locale(resolved: Resolved) -> bool:
    # Whether any text was served in the locale asked for; if not, the chain lookup
    # reaches the same texts through the entries of the parent locales.
    wanted = resolved.requested_locale
    return resolved.locale == wanted or any(c.locale == wanted for c in resolved.components)


def _locale_of(entry: BundleEntry) -> str:
    return entry.resolved.requested_locale


class BundleIndex:
    """Lookups into a bundle by name and label or version, through locale fallback chains."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self._by_label: dict[tuple[str, str], dict[str, BundleEntry]] = {}
        self._by_version: dict[tuple[str, int], dict[str, BundleEntry]] = {}
        for entry in bundle.prompts:
            resolved = entry.resolved
            locale = resolved.requested_locale
            if resolved.label is not None:
                self._by_label.setdefault((resolved.prompt, resolved.label), {})[locale] = entry
            self._by_version.setdefault((resolved.prompt, resolved.version), {}).setdefault(
                locale, entry
            )

    def find(
        self, name: str, *, label: str | None, version: int | None, locales: Sequence[str]
    ) -> Resolved | None:
        """The bundled answer the registry would most likely give, or None."""
        if version is not None:
            candidates = self._by_version.get((name, version))
        else:
            label = label or PRODUCTION
            candidates = self._by_label.get((name, label))
        if not candidates:
            return None
        source = next(iter(candidates.values())).source_locale
        requested = [canonical(tag) for tag in locales]
        for locale in candidate_locales(requested, source):
            entry = candidates.get(locale)
            if entry is not None:
                return _as_answer(entry.resolved, requested, source, label=label, version=version)
        return None


def canonical(tag: str) -> str:
    """The canonical form of a locale tag, or the ValidationError the server would give."""
    try:
        return canonical_locale(tag)
    except LocaleError as exc:
        raise errors.ValidationError(
            str(exc),
            status=422,
            title="Invalid input",
            problem_type="/problems/invalid-input",
            errors=[ErrorItem(loc=("query", "locale"), message=str(exc))],
        ) from None


def _as_answer(
    resolved: Resolved,
    requested: Sequence[str],
    source: str,
    *,
    label: str | None,
    version: int | None,
) -> Resolved:
    components = [
        c.model_copy(update={"locale_match": locale_match(c.locale, requested)})
        for c in resolved.components
    ]
    return resolved.model_copy(
        update={
            "label": label if version is None else None,
            "requested_locale": requested[0] if requested else source,
            "locale_match": locale_match(resolved.locale, requested),
            "components": components,
        }
    )
