"""``cityos keys``: data-key status, rotation and resumed re-encryption."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from cityos.foundation.privacy.rotation import (
    EncryptedColumn,
    ProgressHook,
    RotationReport,
    key_usage,
    reencrypt,
    rotate,
)
from cityos.kernel.cli import CliError, clear_errors, cli_runtime, console

cli = typer.Typer(help="Personal-data encryption keys.", no_args_is_help=True)

BatchSize = Annotated[int, typer.Option(min=1, help="rows re-encrypted per committed batch")]


@contextmanager
def _rich_progress() -> Iterator[ProgressHook]:
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as bar:

        def hook(target: EncryptedColumn, done: int, total: int) -> None:
            if target.name not in tasks:
                tasks[target.name] = bar.add_task(target.name, total=total)
            bar.update(tasks[target.name], completed=done, total=total)

        yield hook


def _report(report: RotationReport) -> None:
    console.print(f"active key {report.key_id}: {report.rewritten} values re-encrypted")
    if report.failed:
        for line in report.failed[:20]:
            console.print(f"[red]failed[/red] {line}")
        raise CliError(f"{len(report.failed)} values could not be decrypted (listed above)")


@cli.command("status")
def status_command() -> None:
    """Every data key, its status, and how many stored values use it."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            usage = key_usage(session)
    table = Table("key", "status", "created", "values", title="Personal-data keys")
    for key in usage:
        table.add_row(key.id, key.status, key.created_at, str(key.values))
    console.print(table)


@cli.command("rotate")
def rotate_command(batch_size: BatchSize = 500) -> None:
    """Create a new data key, retire the old one, and re-encrypt every value to the new one."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with _rich_progress() as hook:
            report = rotate(
                runtime.unit_of_work, runtime.settings, batch_size=batch_size, progress=hook
            )
        _report(report)


@cli.command("reencrypt")
def reencrypt_command(batch_size: BatchSize = 500) -> None:
    """Finish an interrupted rotation: re-encrypt values still on retired keys."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with _rich_progress() as hook:
            report = reencrypt(
                runtime.unit_of_work, runtime.settings, batch_size=batch_size, progress=hook
            )
        _report(report)
