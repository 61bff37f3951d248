"""Prompts as code and everyday reads: push, pull, get, render, diff, log, labels, lint."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.progress import Progress
from rich.table import Table

from registry.cli.app import (
    JsonOption,
    app,
    client,
    console,
    fail,
    print_code,
    print_json,
    user_errors,
)
from registry.client import Client, NotFoundError, Prompt
from registry.client.errors import RegistryError as ClientError
from registry.errors import InvalidTemplate
from registry.promptfiles import (
    PromptFile,
    PromptFileError,
    TranslationFile,
    dump_prompt,
    dump_translation,
    parse_prompt,
    parse_translation,
    prompt_path,
    scan,
)
from registry.prompts.schemas import Kind, Version
from registry.prompts.schemas import Prompt as PromptInfo
from registry.templating import analyze, parse_ref

label_app = typer.Typer(help="Move labels and read their history.", no_args_is_help=True)
app.add_typer(label_app, name="label")

Directory = Annotated[Path, typer.Argument(file_okay=False, help="Folder of .prompt files.")]


# ---------------------------------------------------------------- push


@dataclass
class _Folder:
    prompts: dict[str, tuple[Path, PromptFile]] = field(default_factory=dict)
    translations: list[tuple[Path, str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _read_folder(directory: Path) -> _Folder:
    folder = _Folder()
    found = list(scan(directory))
    for item in found:
        if item.locale is not None:
            folder.translations.append((item.path, item.name, item.locale))
            continue
        try:
            text = item.path.read_text(encoding="utf-8")
            folder.prompts[item.name] = (
                item.path,
                parse_prompt(text, name=item.name, path=str(item.path)),
            )
        except (PromptFileError, UnicodeDecodeError) as exc:
            folder.errors.append(str(exc))
    return folder


def _push_order(prompts: dict[str, tuple[Path, PromptFile]]) -> list[str]:
    """Names with every included prompt of the folder before the prompts that include it."""
    needs: dict[str, set[str]] = {}
    for name, (_, prompt) in prompts.items():
        texts = (
            [prompt.template]
            if prompt.template is not None
            else [m.content for m in prompt.messages or ()]
        )
        refs: set[str] = set()
        for text in texts:
            try:
                refs |= {parse_ref(ref).name for ref in analyze(text).includes}
            except (InvalidTemplate, ValueError):
                continue  # the registry reports template errors on publish
        needs[name] = {ref for ref in refs if ref in prompts and ref != name}
    order: list[str] = []
    done: set[str] = set()

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if name in done or name in stack:
            return
        for dependency in sorted(needs[name]):
            visit(dependency, (*stack, name))
        done.add(name)
        order.append(name)

    for name in sorted(prompts):
        visit(name, ())
    return order


def _problem(exc: ClientError) -> list[str]:
    lines = [exc.detail]
    for item in exc.errors:
        at = f" line {item.line}" if item.line else ""
        lines.append(f"  {'.'.join(str(p) for p in item.loc)}{at}: {item.message}")
    return lines


def _push_prompt(
    api: Client,
    prompt: PromptFile,
    *,
    known: dict[str, PromptInfo],
    label: str | None,
    message: str,
) -> tuple[str, int | None]:
    info = known.get(prompt.name)
    created = info is None
    if info is None:
        info = api.create_prompt(
            prompt.name,
            kind=prompt.kind,
            source_locale=prompt.source_locale,
            description=prompt.description,
            tags=prompt.tags,
        )
    if info.kind != prompt.kind:
        raise PromptFileError(
            prompt.name, f"the registry has it as a {info.kind.value} prompt; kind cannot change"
        )
    if info.description != prompt.description or set(info.tags) != set(prompt.tags):
        api.update_prompt(prompt.name, description=prompt.description, tags=list(prompt.tags))
    before = info.latest_version or 0
    version = api.publish(
        prompt.name,
        template=prompt.template,
        messages=list(prompt.messages) if prompt.messages is not None else None,
        variables=list(prompt.variables),
        config=prompt.config,
        message=message or "registry push",
        labels=[label] if label else [],
    )
    action = "created" if created else ("published" if version.number > before else "unchanged")
    if label and info.labels.get(label) != version.number:
        action += f", {label} → {version.number}"
    return action, version.number


def _push_translation(api: Client, path: Path, name: str, kind: Kind, version: int | None) -> str:
    translation = parse_translation(
        path.read_text(encoding="utf-8"), name=name, kind=kind, path=str(path)
    )
    try:
        current = api.get_translation(name, translation.locale, version=version)
        texts = (
            [current.template]
            if current.template is not None
            else [m.content for m in current.messages or []]
        )
        if texts == list(translation.texts):
            return "unchanged"
    except NotFoundError:
        pass
    status: Literal["draft", "in_review"] = (
        "in_review" if translation.status in ("in_review", "approved") else "draft"
    )
    if kind is Kind.chat:
        source = api.get_version(name, version) if version else None
        roles = [m.role for m in (source.messages or [])] if source else []
        api.submit_translation(
            name,
            translation.locale,
            messages=[
                {"role": role, "content": text}
                for role, text in zip(roles, translation.texts, strict=False)
            ],
            version=version,
            status=status,
        )
    else:
        api.submit_translation(
            name, translation.locale, template=translation.texts[0], version=version, status=status
        )
    return f"submitted ({status})"


@app.command("push")
@user_errors
def push(
    ctx: typer.Context,
    directory: Directory,
    label: Annotated[
        str | None, typer.Option(help="Move this label to each pushed version.")
    ] = None,
    message: Annotated[str, typer.Option("--message", "-m", help="Commit message.")] = "",
    json: JsonOption = False,
) -> None:
    """Publish every prompt file whose content changed, and its translations."""
    folder = _read_folder(directory)
    if folder.errors:
        raise fail(f"{len(folder.errors)} file(s) cannot be read", folder.errors)
    api = client(ctx)
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    versions: dict[str, int | None] = {}
    order = _push_order(folder.prompts)
    # One listing instead of a read per file: pushing a thousand files stays fast.
    known = {p.name: p for p in _all_prompt_infos(api, None)}
    with Progress(console=console, transient=True, disable=json) as progress:
        task = progress.add_task("pushing", total=len(order) + len(folder.translations))
        for name in order:
            path, prompt = folder.prompts[name]
            try:
                action, number = _push_prompt(
                    api, prompt, known=known, label=label, message=message
                )
                versions[name] = number
                rows.append(
                    {"file": str(path), "prompt": name, "version": number, "result": action}
                )
            except ClientError as exc:
                failures.extend([f"{path}:", *("  " + line for line in _problem(exc))])
                rows.append(
                    {"file": str(path), "prompt": name, "version": None, "result": "refused"}
                )
            except PromptFileError as exc:
                failures.append(f"{path}: {exc.message}")
            progress.advance(task)
        for path, name, locale in folder.translations:
            if name not in versions or versions[name] is None:
                progress.advance(task)
                continue
            kind = folder.prompts[name][1].kind
            try:
                action = _push_translation(api, path, name, kind, versions[name])
                rows.append(
                    {
                        "file": str(path),
                        "prompt": f"{name} [{locale}]",
                        "version": versions[name],
                        "result": action,
                    }
                )
            except ClientError as exc:
                failures.extend([f"{path}:", *("  " + line for line in _problem(exc))])
            except PromptFileError as exc:
                failures.append(str(exc))
            progress.advance(task)
    if json:
        print_json({"results": rows, "failures": failures})
    else:
        table = Table(title=f"push {directory}")
        for column in ("prompt", "version", "result"):
            table.add_column(column)
        for row in rows:
            style = (
                "red"
                if row["result"] == "refused"
                else ("dim" if row["result"] == "unchanged" else "")
            )
            table.add_row(row["prompt"], str(row["version"] or "-"), row["result"], style=style)
        console.print(table)
    if failures:
        raise fail("some files were refused; nothing else was skipped", failures)


# ---------------------------------------------------------------- pull


def _all_prompt_infos(api: Client, prefix: str | None) -> Iterable[PromptInfo]:
    cursor = None
    while True:
        page = api.list_prompts(prefix=prefix, cursor=cursor, limit=200, include_archived=True)
        yield from page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def _all_prompts(api: Client, prefix: str | None) -> Iterable[str]:
    return (p.name for p in _all_prompt_infos(api, prefix) if not p.archived)


def _prompt_file(
    version: Version, description: str, source_locale: str, tags: list[str]
) -> PromptFile:
    return PromptFile(
        name=version.prompt,
        kind=version.kind,
        description=description,
        source_locale=source_locale,
        tags=tuple(tags),
        variables=tuple(version.variables),
        config=version.config,
        template=version.template,
        messages=tuple(version.messages) if version.messages is not None else None,
    )


@app.command("pull")
@user_errors
def pull(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Argument(
            file_okay=False,
            show_default=False,
            help="Folder to write .prompt files to (not needed with --bundle).",
        ),
    ] = None,
    label: Annotated[
        str | None, typer.Option(help="Pull the version this label points to (default: newest).")
    ] = None,
    prefix: Annotated[str | None, typer.Option(help="Only this folder.")] = None,
    bundle: Annotated[
        Path | None,
        typer.Option(help="Write an offline bundle (every locale) to this file instead."),
    ] = None,
) -> None:
    """Write prompt files (and translations) from the registry: the inverse of push.

    With --bundle, write an offline bundle for the SDK instead: `registry pull --bundle
    prompts.json`.
    """
    if directory is None and bundle is None:
        raise fail("give a DIRECTORY to write prompt files to, or --bundle FILE")
    api = client(ctx)
    if bundle is not None:
        from registry.client import write_bundle

        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("bundling", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            written = write_bundle(
                api,
                bundle,
                names=list(_all_prompts(api, prefix)) if prefix else None,
                labels=(label or "production",),
                progress=advance,
            )
        console.print(f"[green]wrote {bundle}[/green]: {len(written.prompts)} resolved prompts")
        return
    assert directory is not None  # checked above
    names = list(_all_prompts(api, prefix))
    count = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("pulling", total=len(names))
        for name in names:
            info = api.read_prompt(name)
            number = info.labels.get(label) if label else info.latest_version
            progress.advance(task)
            if not number:
                continue
            version = api.get_version(name, number)
            path = prompt_path(directory, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            prompt = _prompt_file(version, info.description, info.source_locale, info.tags)
            path.write_text(dump_prompt(prompt), encoding="utf-8")
            count += 1
            roles = tuple(m.role for m in version.messages) if version.messages else None
            for summary in api.list_translations(name, version=number):
                translation = api.get_translation(name, summary.locale, version=number)
                texts = (
                    (translation.template,)
                    if translation.template is not None
                    else tuple(m.content for m in translation.messages or [])
                )
                prompt_path(directory, name, summary.locale).write_text(
                    dump_translation(
                        TranslationFile(name, summary.locale, summary.status.value, texts),
                        roles=roles,
                    ),
                    encoding="utf-8",
                )
    console.print(f"[green]pulled {count} prompts[/green] into {directory}")


# ---------------------------------------------------------------- reads


@app.command("list")
@user_errors
def list_command(
    ctx: typer.Context,
    prefix: Annotated[
        str | None, typer.Argument(show_default=False, help="Only this folder, e.g. support/.")
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Only prompts with this tag.")] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="Text in the name or description.")
    ] = None,
    archived: Annotated[bool, typer.Option(help="List archived prompts too.")] = False,
    json: JsonOption = False,
) -> None:
    """Prompts by name, with their folder, newest version and where their labels point."""
    api = client(ctx)
    found: list[PromptInfo] = []
    cursor = None
    while True:
        page = api.list_prompts(
            prefix=prefix, tag=tag, query=query, include_archived=archived, cursor=cursor, limit=200
        )
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    if json:
        print_json(found)
        return
    table = Table("prompt", "folder", "kind", "latest", "labels", "description")
    for info in found:
        folder, _, _ = info.name.rpartition("/")
        labels = ", ".join(f"{label} → {number}" for label, number in sorted(info.labels.items()))
        table.add_row(
            info.name + (" (archived)" if info.archived else ""),
            f"{folder}/" if folder else "-",
            info.kind.value,
            str(info.latest_version or "-"),
            labels,
            info.description,
        )
    console.print(table)
    if not found:
        console.print("no prompts" + (f" under {prefix}" if prefix else ""), highlight=False)


@app.command("get")
@user_errors
def get(
    ctx: typer.Context,
    name: str,
    label: Annotated[str | None, typer.Option(help="Default: production.")] = None,
    version: Annotated[int | None, typer.Option(help="A pinned version.")] = None,
    locale: Annotated[str | None, typer.Option(help="e.g. fr-CA.")] = None,
    json: JsonOption = False,
) -> None:
    """Show what a label or version serves in a locale."""
    # A command asks once and wants what the registry says now: no cache, no refresh.
    prompt = Prompt(client(ctx).resolve(name, label=label, version=version, locale=locale))
    if json:
        print_json(prompt.resolved)
        return
    console.print(
        f"[bold]{prompt.name}[/bold] version {prompt.version} · locale {prompt.locale} "
        f"({prompt.locale_match.value}) · model {prompt.config.model or '-'}"
    )
    if prompt.template is not None:
        print_code(prompt.template, "jinja")
    for message in prompt.messages or []:
        console.print(f"[cyan]{message.role}[/cyan]")
        print_code(message.content, "jinja")
    for component in prompt.components:
        console.print(
            f"includes {component.ref} → {component.name}@{component.version} ({component.locale})"
        )


def _values(pairs: list[str], as_json: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if as_json:
        loaded = jsonlib.loads(as_json)
        if not isinstance(loaded, dict):
            raise fail("--vars must be a JSON object")
        values.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise fail(f"--var {pair!r}: write name=value")
        try:
            values[key] = jsonlib.loads(raw)
        except ValueError:
            values[key] = raw  # not JSON: a plain string
    return values


@app.command("render")
@user_errors
def render(
    ctx: typer.Context,
    name: str,
    var: Annotated[
        list[str] | None,
        typer.Option("--var", "-v", help="name=value; the value is JSON when it parses."),
    ] = None,
    vars_json: Annotated[
        str | None, typer.Option("--vars", help="All values as a JSON object.")
    ] = None,
    label: Annotated[str | None, typer.Option(help="Default: production.")] = None,
    version: Annotated[int | None, typer.Option(help="A pinned version.")] = None,
    locale: Annotated[str | None, typer.Option(help="e.g. fr-CA.")] = None,
    json: JsonOption = False,
) -> None:
    """Render a prompt with values (locally, with the registry's own engine)."""
    # A command asks once and wants what the registry says now: no cache, no refresh.
    prompt = Prompt(client(ctx).resolve(name, label=label, version=version, locale=locale))
    output = prompt.render(**_values(var or [], vars_json))
    if json:
        print_json(
            {"prompt": name, "version": prompt.version, "locale": prompt.locale, "output": output}
        )
    elif isinstance(output, str):
        console.print(output, markup=False, highlight=False)
    else:
        for message in output:
            console.print(f"[cyan]{message['role']}[/cyan]")
            console.print(message["content"], markup=False, highlight=False)


@app.command("diff")
@user_errors
def diff(
    ctx: typer.Context, name: str, from_version: int, to_version: int, json: JsonOption = False
) -> None:
    """Differences between two versions: text, variables, config."""
    result = client(ctx).diff(name, from_version, to_version)
    if json:
        print_json(result)
        return
    print_code(result.content or "(same text)\n", "diff")
    for change in [*result.variables, *result.config]:
        console.print(f"{change.change:>8} {change.path}: {change.before!r} → {change.after!r}")


@app.command("log")
@user_errors
def log(
    ctx: typer.Context,
    name: str,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    json: JsonOption = False,
) -> None:
    """Versions of a prompt, newest first, with where labels point."""
    api = client(ctx)
    page = api.list_versions(name, limit=limit)
    if json:
        print_json(page.items)
        return
    labels: dict[int, list[str]] = {}
    for label_name, number in api.read_prompt(name).labels.items():
        labels.setdefault(number, []).append(label_name)
    table = Table(title=name)
    for column in ("version", "labels", "author", "published", "message"):
        table.add_column(column)
    for item in page.items:
        table.add_row(
            str(item.number),
            ", ".join(sorted(labels.get(item.number, []))),
            item.author,
            item.created_at.strftime("%Y-%m-%d %H:%M"),
            item.message,
        )
    console.print(table)


@label_app.command("set")
@user_errors
def label_set(
    ctx: typer.Context,
    name: str,
    label: str,
    version: int,
    reason: Annotated[str, typer.Option(help="Why it moves; kept in the history.")] = "",
    json: JsonOption = False,
) -> None:
    """Point a label at a version (rollback is moving it back)."""
    result = client(ctx).set_label(name, label, version, reason=reason)
    if json:
        print_json(result)
    else:
        console.print(f"{name}: [bold]{label}[/bold] → version {result.version}")


@label_app.command("history")
@user_errors
def label_history(ctx: typer.Context, name: str, label: str, json: JsonOption = False) -> None:
    """Every move of a label: from, to, who, when, why."""
    result = client(ctx).get_label(name, label)
    if json:
        print_json(result)
        return
    table = Table(title=f"{name} · {label} (now {result.version})")
    for column in ("when", "from", "to", "who", "why"):
        table.add_column(column)
    for event in result.history:
        table.add_row(
            event.created_at.strftime("%Y-%m-%d %H:%M"),
            str(event.from_version or "-"),
            str(event.to_version),
            event.actor,
            event.reason,
        )
    console.print(table)
