"""Experiments from the command line: start, list, read results, stop, promote."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.table import Table

from registry.cli.app import JsonOption, app, client, console, fail, print_json, user_errors
from registry.experiments.schemas import Experiment, Results

experiments_app = typer.Typer(
    help="A/B and multivariate experiments on a label: start, results, stop, promote.",
    no_args_is_help=True,
)
app.add_typer(experiments_app, name="experiments")

ExperimentArg = Annotated[int, typer.Argument(help="The experiment's id.")]
_ARM = re.compile(r"^(?:(?P<name>[a-z0-9][a-z0-9_.-]*)=)?(?P<version>[0-9]+):(?P<weight>[0-9]+)$")


def _arms(specs: list[str]) -> list[dict[str, Any]]:
    arms: list[dict[str, Any]] = []
    for spec in specs:
        match = _ARM.fullmatch(spec.strip())
        if match is None:
            raise fail(
                f"--arm {spec!r}: write VERSION:WEIGHT or NAME=VERSION:WEIGHT, e.g. control=1:50"
            )
        arm: dict[str, Any] = {
            "version": int(match["version"]),
            "weight": int(match["weight"]),
        }
        if match["name"]:
            arm["name"] = match["name"]
        arms.append(arm)
    return arms


def _describe(experiment: Experiment) -> None:
    arms = ", ".join(f"{a.name}=v{a.version} ({a.weight}%)" for a in experiment.arms)
    locales = f", locales {', '.join(experiment.locales)}" if experiment.locales else ""
    console.print(
        f"experiment [bold]{experiment.id}[/bold] {experiment.name}: "
        f"{experiment.prompt} [bold]{experiment.label}[/bold] → {arms}{locales}",
        highlight=False,
    )
    ended = ""
    if experiment.ended_at is not None:
        ended = f", ended {experiment.ended_at:%Y-%m-%d %H:%M} by {experiment.ended_by}"
    promoted = f", promoted {experiment.promoted_arm}" if experiment.promoted_arm else ""
    console.print(
        f"  {experiment.status.value}, {experiment.metric.value}, "
        f"started {experiment.created_at:%Y-%m-%d %H:%M} by {experiment.created_by}"
        f"{ended}{promoted}",
        highlight=False,
    )


def _number(value: float | None, *, percent: bool) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if percent else f"{value:.3g}"


def results_table(results: Results) -> Table:
    """One row per arm: subjects, outcomes, mean with its interval, and the test."""
    percent = results.experiment.metric.value == "success"
    table = Table(title=f"{results.experiment.name}: {results.test}, alpha {results.alpha:g}")
    columns = ["arm", "version", "weight", "exposed", "outcomes"]
    columns += ["rate" if percent else "mean", "95% CI", "vs control", "p", "significant"]
    for column in columns:
        table.add_column(column, justify="left" if column == "arm" else "right")
    for arm in results.arms:
        interval = (
            f"{_number(arm.ci_low, percent=percent)} to {_number(arm.ci_high, percent=percent)}"
            if arm.ci_low is not None
            else "-"
        )
        if arm.control:
            versus, significant = "(control)", ""
        else:
            sign = "+" if (arm.difference or 0) > 0 else ""
            versus = (
                "-" if arm.difference is None else sign + _number(arm.difference, percent=percent)
            )
            significant = {True: "[green]yes[/green]", False: "no", None: "-"}[arm.significant]
        table.add_row(
            arm.name,
            str(arm.version),
            f"{arm.weight}%",
            str(arm.exposed),
            str(arm.outcomes),
            _number(arm.mean, percent=percent),
            interval,
            versus,
            "-" if arm.p_value is None else f"{arm.p_value:.3g}",
            significant,
        )
    return table


@experiments_app.command("create")
@user_errors
def create(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help="The prompt, e.g. support/greeting.")],
    name: Annotated[str, typer.Option("--name", help="The experiment's name.")],
    arm: Annotated[
        list[str],
        typer.Option(
            "--arm",
            help="VERSION:WEIGHT or NAME=VERSION:WEIGHT, once per arm; the first is the "
            "control; weights sum to 100.",
        ),
    ],
    label: Annotated[str, typer.Option(help="The label whose traffic is split.")] = "production",
    metric: Annotated[str, typer.Option(help="success (true/false) or score (a number).")] = (
        "success"
    ),
    locale: Annotated[
        list[str] | None, typer.Option("--locale", help="Only these locales take part.")
    ] = None,
    min_samples: Annotated[
        int | None, typer.Option(help="Outcomes per arm before any verdict (100).")
    ] = None,
    description: Annotated[str, typer.Option(help="What is being tried, and why.")] = "",
    json: JsonOption = False,
) -> None:
    """Start an experiment on a label: it serves each subject one arm from now on."""
    if metric not in ("success", "score"):
        raise fail(f"--metric {metric!r}: choose success or score")
    experiment = client(ctx).create_experiment(
        prompt,
        name,
        _arms(arm),
        label=label,
        metric=metric,  # type: ignore[arg-type]
        locales=locale or [],
        min_samples=min_samples,
        description=description,
    )
    if json:
        print_json(experiment)
        return
    _describe(experiment)


@experiments_app.command("list")
@user_errors
def list_(
    ctx: typer.Context,
    prompt: Annotated[str | None, typer.Argument(help="Only this prompt's.")] = None,
    status: Annotated[str | None, typer.Option(help="running, stopped or promoted.")] = None,
    json: JsonOption = False,
) -> None:
    """Experiments, newest first."""
    page = client(ctx).list_experiments(prompt, status=status)
    if json:
        print_json(page.items)
        return
    table = Table(title="Experiments")
    for column in ("id", "prompt", "label", "name", "status", "arms", "started"):
        table.add_column(column)
    for item in page.items:
        table.add_row(
            str(item.id),
            item.prompt,
            item.label,
            item.name,
            item.status.value + (f" ({item.promoted_arm})" if item.promoted_arm else ""),
            " / ".join(f"{a.name}=v{a.version}:{a.weight}" for a in item.arms),
            f"{item.created_at:%Y-%m-%d}",
        )
    console.print(table)


@experiments_app.command("show")
@user_errors
def show(ctx: typer.Context, experiment: ExperimentArg, json: JsonOption = False) -> None:
    """An experiment and its results: per arm, outcomes, rate or mean, CI and significance."""
    results = client(ctx).experiment_results(experiment)
    if json:
        print_json(results)
        return
    _describe(results.experiment)
    console.print(results_table(results))
    style = {"better": "green", "worse": "yellow", "collecting": "dim"}.get(results.verdict, "")
    summary = f"[{style}]{results.summary}[/{style}]" if style else results.summary
    console.print(summary, highlight=False)


@experiments_app.command("stop")
@user_errors
def stop(
    ctx: typer.Context,
    experiment: ExperimentArg,
    reason: Annotated[str, typer.Option(help="Why it ends.")] = "",
    json: JsonOption = False,
) -> None:
    """End an experiment; its label keeps its version and the results stay readable."""
    stopped = client(ctx).stop_experiment(experiment, reason=reason)
    if json:
        print_json(stopped)
        return
    _describe(stopped)


@experiments_app.command("promote")
@user_errors
def promote(
    ctx: typer.Context,
    experiment: ExperimentArg,
    arm: Annotated[str, typer.Argument(help="The arm whose version the label moves to.")],
    reason: Annotated[str, typer.Option(help="Recorded with the label move.")] = "",
    json: JsonOption = False,
) -> None:
    """Move the experiment's label to an arm's version and end the experiment."""
    promoted = client(ctx).promote_arm(experiment, arm, reason=reason)
    if json:
        print_json(promoted)
        return
    version = next(a.version for a in promoted.arms if a.name == arm)
    console.print(
        f"{promoted.prompt}: [bold]{promoted.label}[/bold] → version {version} "
        f"(arm {arm} of experiment {promoted.id})",
        highlight=False,
    )
