"""The include links: written with every version (publish, restore, the migration that
made the table), and read by who asks "who includes X" (the console, the webhooks)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, inspect, select
from sqlalchemy.orm import Session

from registry import migrate
from registry.backup import export_registry, import_registry
from registry.db import Database
from registry.events.outbox import dependents
from registry.prompts.includes import included_by_newest, served_links
from registry.prompts.labels import set_label
from registry.prompts.models import Prompt, PromptVersion, VersionInclude
from registry.prompts.prompts import create_prompt, set_archived
from registry.prompts.schemas import LabelSet, PromptCreate

from conftest import fresh_database
from factories import make_prompt, publish, unique_name

Link = tuple[str, int, str, str | None, int | None]


def links_of(session: Session, *prompts: str) -> set[Link]:
    """(includer, its version, included prompt, label, pinned version) of ``prompts``."""
    rows = session.execute(
        select(
            Prompt.name,
            PromptVersion.number,
            VersionInclude.target_name,
            VersionInclude.target_label,
            VersionInclude.target_version,
        )
        .join(PromptVersion, PromptVersion.id == VersionInclude.version_id)
        .join(Prompt, Prompt.id == VersionInclude.prompt_id)
        .where(Prompt.name.in_(prompts))
    )
    return {(a, b, c, d, e) for a, b, c, d, e in rows}


def components(session: Session, folder: str) -> tuple[str, str, str]:
    """Three prompts with versions 1 and 2, ``production`` and ``staging`` on version 2."""
    names = tuple(unique_name(f"{folder}/part") for _ in range(3))
    for name in names:
        make_prompt(session, name=name, template="Be kind.", variables=[], labels=())
        publish(session, name=name, template="Be brief.", variables=[])
        for label in ("production", "staging"):
            set_label(session, name, label, LabelSet(version=2), actor="tests")
    return names


class TestPublish:
    def test_a_bare_labelled_and_pinned_reference_each_make_a_link(self, session: Session) -> None:
        bare, labelled, pinned = components(session, "inc")
        template = (
            f'{{% include "{bare}" %}} {{% include "{labelled}@staging" %}} '
            f'{{% include "{pinned}@1" %}} Hello {{{{ who }}}}'
        )
        user = make_prompt(session, name=unique_name("inc/user"), template=template)
        assert links_of(session, user) == {
            (user, 1, bare, "production", None),
            (user, 1, labelled, "staging", None),
            (user, 1, pinned, None, 1),
        }

    def test_each_chat_message_and_each_version_has_its_own(self, session: Session) -> None:
        first, second = components(session, "chat")[:2]
        name = unique_name("chat/user")
        messages = [
            {"role": "system", "content": f'{{% include "{first}@production" %}}'},
            {"role": "user", "content": f'{{% include "{second}@2" %}} {{{{ who }}}}'},
        ]
        make_prompt(session, name=name, kind="chat", messages=messages)
        publish(session, name=name, messages=[{"role": "user", "content": "{{ who }}"}])
        assert links_of(session, name) == {
            (name, 1, first, "production", None),
            (name, 1, second, None, 2),
        }

    def test_the_same_prompt_named_twice_alike_is_one_link(self, session: Session) -> None:
        (part,) = components(session, "twice")[:1]
        template = f'{{% include "{part}" %}}{{% include "{part}@production" %}}{{{{ who }}}}'
        user = make_prompt(session, name=unique_name("twice/user"), template=template)
        assert links_of(session, user) == {(user, 1, part, "production", None)}

    def test_publishing_the_same_content_again_writes_nothing(self, session: Session) -> None:
        (part,) = components(session, "same")[:1]
        template = f'{{% include "{part}" %}} {{{{ who }}}}'
        user = make_prompt(session, name=unique_name("same/user"), template=template)
        publish(session, name=user, template=template)
        assert links_of(session, user) == {(user, 1, part, "production", None)}


class TestReads:
    def test_included_by_newest_reads_newest_versions_under_the_folders(
        self, session: Session
    ) -> None:
        (part,) = components(session, "rd")[:1]
        uses = f'{{% include "{part}@1" %}} {{{{ who }}}}'
        inside = make_prompt(session, name=unique_name("rd-in/user"), template=uses)
        outside = make_prompt(session, name=unique_name("rd-out/user"), template=uses)
        former = make_prompt(session, name=unique_name("rd-in/former"), template=uses)
        publish(session, name=former, template="{{ who }}")  # its newest no longer does

        def found(folders: list[str] | None) -> list[tuple[str, int]]:
            return included_by_newest(session, part, folders=folders, limit=50)

        assert found(None) == sorted([(inside, 1), (outside, 1)])
        assert found(["rd-in/"]) == [(inside, 1)]
        assert found([]) == []
        assert included_by_newest(session, part, folders=None, limit=1) == [min(found(None))]

    def test_served_links_leave_out_pins_unserved_and_archived_versions(
        self, session: Session
    ) -> None:
        (part,) = components(session, "sv")[:1]
        labelled = make_prompt(
            session,
            name=unique_name("sv/labelled"),
            template=f'{{% include "{part}@staging" %}} {{{{ who }}}}',
            labels=("beta",),
        )
        publish(session, name=labelled, template="{{ who }}")  # version 1 keeps beta only
        make_prompt(
            session,
            name=unique_name("sv/pinned"),
            template=f'{{% include "{part}@2" %}} {{{{ who }}}}',
        )
        archived = make_prompt(
            session,
            name=unique_name("sv/archived"),
            template=f'{{% include "{part}" %}} {{{{ who }}}}',
        )
        set_archived(session, archived, archived=True)
        found = {
            (s.prompt, s.number, s.label, s.target_label) for s in served_links(session, {part})
        }
        assert found == {(labelled, 1, "beta", "staging")}

    def test_dependents_walk_up_through_includers(self, session: Session) -> None:
        (part,) = components(session, "walk")[:1]
        middle = make_prompt(
            session,
            name=unique_name("walk/middle"),
            template=f'{{% include "{part}" %}} {{{{ who }}}}',
        )
        outer = make_prompt(
            session,
            name=unique_name("walk/outer"),
            template=f'{{% include "{middle}@latest" %}} {{{{ who }}}}',
            labels=(),
        )
        found = {(d.prompt, d.label, d.via) for d in dependents(session, part, "production")}
        assert found == {
            (middle, "production", ()),
            (middle, "latest", ()),
            (outer, "latest", (middle,)),
        }


# ---------------------------------------------------------------- migration and restore

BEFORE = "0011_webhooks"


def add_versions(url: str, includes: dict[str, list[list[str]]]) -> None:
    """Prompts with versions holding ``includes``, written as rows (no links)."""
    now = datetime.now(UTC)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for name, versions in includes.items():
                prompt_id = conn.execute(
                    insert(Prompt.__table__).returning(Prompt.__table__.c.id),
                    {
                        "name": name,
                        "kind": "text",
                        "latest_version": len(versions),
                        "created_at": now,
                        "updated_at": now,
                    },
                ).scalar_one()
                for number, refs in enumerate(versions, 1):
                    conn.execute(
                        insert(PromptVersion.__table__),
                        {
                            "prompt_id": prompt_id,
                            "number": number,
                            "template": "x",
                            "includes": refs,
                            "author": "tests",
                            "content_hash": f"{name}{number}",
                            "created_at": now,
                        },
                    )
    finally:
        engine.dispose()


def stored_links(url: str) -> set[Link]:
    db = Database.from_url(url)
    try:
        with db.session(write=False) as session:
            names = session.scalars(select(Prompt.name)).all()
            return links_of(session, *names)
    finally:
        db.dispose()


class TestMigration:
    def test_the_versions_made_before_get_their_links(self, store: str, tmp_path: Path) -> None:
        with fresh_database(store, tmp_path) as url:
            migrate.upgrade(url, BEFORE)
            add_versions(
                url,
                {
                    "old/tone": [[], []],
                    "old/user": [
                        ["old/tone", "old/tone@staging", "old/tone@1"],
                        ["old/tone@production", "not a reference", "old/tone@99999999999"],
                    ],
                },
            )
            migrate.upgrade(url)
            assert stored_links(url) == {
                ("old/user", 1, "old/tone", "production", None),
                ("old/user", 1, "old/tone", "staging", None),
                ("old/user", 1, "old/tone", None, 1),
                ("old/user", 2, "old/tone", "production", None),
            }
            migrate.downgrade(url, BEFORE)
            engine = create_engine(url)
            try:
                assert "version_includes" not in inspect(engine).get_table_names()
            finally:
                engine.dispose()


class TestRestore:
    def test_a_restored_registry_has_the_links_of_the_original(
        self, store: str, tmp_path: Path
    ) -> None:
        with (
            fresh_database(store, tmp_path) as source,
            fresh_database(store, tmp_path) as target,
        ):
            migrate.upgrade(source)
            migrate.upgrade(target)
            db = Database.from_url(source)
            try:
                with db.session() as session:
                    create_prompt(session, PromptCreate(name="bk/tone"))
                    publish(session, name="bk/tone", template="Kind.", variables=[])
                    publish(session, name="bk/tone", template="Brief.", variables=[])
                    set_label(session, "bk/tone", "production", LabelSet(version=2), actor="t")
                    make_prompt(
                        session,
                        name="bk/user",
                        template='{% include "bk/tone" %}{% include "bk/tone@1" %}{{ who }}',
                    )
                with db.session(write=False) as session:
                    data: dict[str, Any] = export_registry(session)
            finally:
                db.dispose()
            copy = Database.from_url(target)
            try:
                with copy.session() as session:
                    import_registry(session, data)
            finally:
                copy.dispose()
            assert (
                stored_links(target)
                == stored_links(source)
                == {
                    ("bk/user", 1, "bk/tone", "production", None),
                    ("bk/user", 1, "bk/tone", None, 1),
                }
            )
