"""A registry of any size, written in bulk through the real models (not over HTTP).

Every prompt gets ``versions`` versions and an approved translation of each into every
locale of ``TRANSLATED`` (the newest version's translations are stale, as a publish
leaves them), a ``production`` label on the version before the newest and ``staging``
on the newest, with their history, tags, style reports and translation revisions. Ten
prompts are shared components; every other prompt includes one of them. Rows go in with
ORM bulk inserts in one transaction, so 10,000 prompts take seconds, not hours.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from registry import migrate
from registry.db import Database, utcnow
from registry.prompts.includes import link_rows
from registry.prompts.models import (
    Label,
    LabelEvent,
    Prompt,
    PromptTag,
    PromptVersion,
    VersionInclude,
)
from registry.style.models import VersionStyleReport
from registry.translations.models import Translation, TranslationRevision

TRANSLATED = ("fr", "de", "es", "ja", "it")
COMPONENTS = 10
CHUNK = 5_000
AUTHOR = "bench"

BODY = (
    "Greet {{ customer_name }} by name. Answer the question below about topic {topic} in "
    "three short sentences, cite the policy that applies, and say what they can do next. "
    "If the question is not about orders, products or policies, hand the conversation over "
    "to a human agent with a two-line summary.\n\nQuestion: {{ question }}\n"
)
TONE = "Voice: you speak for {{ brand }}. Be warm and direct; revision {version}.\n"
VARIABLES = [
    {"name": "customer_name", "type": "string", "required": True, "default": None},
    {"name": "question", "type": "string", "required": True, "default": None},
    {"name": "brand", "type": "string", "required": False, "default": "Acme"},
]
TONE_VARIABLES = [VARIABLES[2]]


def prompt_name(i: int) -> str:
    if i < COMPONENTS:
        return f"shared/tone-{i:02d}"
    return f"team-{i % 50:02d}/prompt-{i:05d}"


@dataclass(frozen=True)
class Built:
    prompts: int
    versions: int
    translations: int
    rows: int
    seconds: float


def _template(i: int, version: int) -> str:
    if i < COMPONENTS:
        return TONE.format(version=version)
    include = f'{{% include "{prompt_name(i % COMPONENTS)}@production" %}}\n'
    return include + BODY.replace("{topic}", f"{i}.{version}")


def _rows(count: int, versions: int) -> Iterator[tuple[type[Any], list[dict[str, Any]]]]:
    """Batches of rows, parents before children, ids given so no RETURNING is needed."""
    now = utcnow()
    prompts, tags, version_rows, reports, labels, events = [], [], [], [], [], []
    links: list[dict[str, Any]] = []
    translations: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    version_id = translation_id = label_id = 0
    for i in range(count):
        pid = i + 1
        name = prompt_name(i)
        prompts.append(
            {
                "id": pid,
                "name": name,
                "kind": "text",
                "source_locale": "en",
                "description": f"Answers questions of type {i}.",
                "latest_version": versions,
                "created_at": now,
                "updated_at": now,
            }
        )
        tags += [{"prompt_id": pid, "tag": "bench"}, {"prompt_id": pid, "tag": f"group-{i % 10}"}]
        ids = {}
        for number in range(1, versions + 1):
            version_id += 1
            ids[number] = version_id
            template = _template(i, number)
            includes = [] if i < COMPONENTS else [f"{prompt_name(i % COMPONENTS)}@production"]
            version_rows.append(
                {
                    "id": version_id,
                    "prompt_id": pid,
                    "number": number,
                    "template": template,
                    "messages": None,
                    "variables": TONE_VARIABLES if i < COMPONENTS else VARIABLES,
                    "config": {"model": "gpt-4o-mini", "temperature": 0.2},
                    "includes": includes,
                    "message": f"revision {number}",
                    "author": AUTHOR,
                    "content_hash": hashlib.sha256(f"{name}:{template}".encode()).hexdigest(),
                    "created_at": now,
                }
            )
            links += link_rows(version_id, pid, includes)
            reports.append(
                {"version_id": version_id, "guide": "default", "findings": [], "created_at": now}
            )
            newest = number == versions
            for locale in TRANSLATED:
                translation_id += 1
                texts = [f"[{locale}] {template}"]
                status = "stale" if newest else "approved"
                translations.append(
                    {
                        "id": translation_id,
                        "prompt_id": pid,
                        "version_id": version_id,
                        "locale": locale,
                        "status": status,
                        "texts": texts,
                        "source_texts": [template],
                        "approved_texts": None if newest else texts,
                        "revision": 1,
                        "updated_at": now,
                        "updated_by": AUTHOR,
                    }
                )
                revisions.append(
                    {
                        "translation_id": translation_id,
                        "number": 1,
                        "status": status,
                        "texts": texts,
                        "note": "",
                        "author": AUTHOR,
                        "created_at": now,
                    }
                )
        production = max(versions - 1, 1)
        for label, number in (("production", production), ("staging", versions)):
            label_id += 1
            labels.append(
                {
                    "id": label_id,
                    "prompt_id": pid,
                    "name": label,
                    "version_id": ids[number],
                    "updated_at": now,
                    "updated_by": AUTHOR,
                }
            )
            events.append(
                {
                    "prompt_id": pid,
                    "label": label,
                    "from_version": None,
                    "to_version": number,
                    "actor": AUTHOR,
                    "reason": "release",
                    "created_at": now,
                }
            )
    yield Prompt, prompts
    yield PromptTag, tags
    yield PromptVersion, version_rows
    yield VersionInclude, links
    yield VersionStyleReport, reports
    yield Label, labels
    yield LabelEvent, events
    yield Translation, translations
    yield TranslationRevision, revisions


def build(url: str, count: int, *, versions: int = 5) -> Built:
    """Migrate an empty database at ``url`` and fill it with ``count`` prompts."""
    started = time.perf_counter()
    migrate.upgrade(url)
    db = Database.from_url(url)
    rows = 0
    try:
        with db.session() as session:
            for model, batch in _rows(count, versions):
                for start in range(0, len(batch), CHUNK):
                    session.execute(insert(model), batch[start : start + CHUNK])
                rows += len(batch)
        if make_url(url).get_backend_name() == "sqlite":
            with db.engine.connect() as conn:
                # Fold the WAL into the file, so its size is the database's.
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
    finally:
        db.dispose()
    translations = count * versions * len(TRANSLATED)
    return Built(count, count * versions, translations, rows, time.perf_counter() - started)
