"""What every module's CLI commands share: consoles, one-line errors, the runtime."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from cityos.kernel import migrate
from cityos.kernel.db import DatabaseUrlError
from cityos.kernel.errors import DomainError
from cityos.kernel.runtime import Runtime, build_runtime
from cityos.settings import InsecureSettingsError, Settings, get_settings

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class CliError(Exception):
    """A failure reported to the operator in one line, with a non-zero exit."""


@contextmanager
def clear_errors() -> Iterator[None]:
    """Turn configuration, connection and domain failures into one clear line and exit 2."""
    try:
        yield
    except (CliError, DatabaseUrlError, InsecureSettingsError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.code}: {exc.detail}")
        raise typer.Exit(2) from None
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        err.print(f"[red]error:[/red] cannot reach the database: {reason}")
        raise typer.Exit(2) from None


def cli_runtime(settings: Settings | None = None, *, require_current: bool = False) -> Runtime:
    """The runtime for a command, refusing unsafe production settings (and, if asked, a
    database whose migrations are not current)."""
    settings = settings or get_settings()
    settings.check_production()
    runtime = build_runtime(settings)
    if require_current and not migrate.is_current(runtime.engine, runtime.registry):
        raise CliError("the database is not up to date: run `cityos db upgrade` first")
    return runtime
