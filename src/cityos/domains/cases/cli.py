"""``cityos cases``: the demo district's synthetic case history."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cityos.domains.cases.demo import (
    DEFAULT_DAYS,
    DEFAULT_PER_DAY,
    OnProgress,
    generate_history,
    synthetic_count,
)
from cityos.kernel.cli import clear_errors, cli_runtime, console, err
from cityos.kernel.runtime import Runtime

cli = typer.Typer(help="City cases (城市事件): demo data.", no_args_is_help=True)


def demo_history(
    runtime: Runtime,
    *,
    days: int = DEFAULT_DAYS,
    per_day: int = DEFAULT_PER_DAY,
    replace: bool = False,
    progress: OnProgress | None = None,
) -> tuple[int, bool]:
    """Generate the history in one transaction; return the synthetic cases now held and
    whether they were generated (False: some were there already)."""
    with runtime.unit_of_work() as session:
        written = generate_history(
            session, days=days, per_day=per_day, replace=replace, progress=progress
        )
        return (written, True) if written else (synthetic_count(session), False)


@cli.command("demo-history")
def demo_history_command(
    days: Annotated[int, typer.Option(min=1, help="days of history, ending today")] = DEFAULT_DAYS,
    per_day: Annotated[int, typer.Option(min=1, help="cases on an average day")] = DEFAULT_PER_DAY,
    replace: Annotated[
        bool, typer.Option(help="delete the synthetic cases (only those) and generate anew")
    ] = False,
) -> None:
    """Give the district a synthetic case history (marked synthetic), for the demo."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("synthetic case history, days", total=days)
            count, generated = demo_history(
                runtime,
                days=days,
                per_day=per_day,
                replace=replace,
                progress=lambda done, _total: bar.update(task, completed=done),
            )
        if generated:
            console.print(f"synthetic case history: {count:,} cases (synthetic, generated)")
        else:
            console.print(
                f"synthetic case history: {count:,} cases already there; "
                "--replace generates it anew"
            )
