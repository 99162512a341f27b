"""``cityos audit``: verify the chain and export records to Excel."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated

import typer

from cityos.foundation.audit.service import export_xlsx, seal_all, verify
from cityos.kernel.cli import CliError, clear_errors, cli_runtime, console, err
from cityos.kernel.clock import SHANGHAI

cli = typer.Typer(help="Audit trail (审计日志): seal and verify the hash chain, export to Excel.")


def _moment(value: str | None, option: str) -> datetime | None:
    """An ISO date or time; without a zone it is Shanghai time, as operators read clocks."""
    if value is None:
        return None
    try:
        parsed = (
            datetime.combine(date.fromisoformat(value), time())
            if len(value) == 10
            else datetime.fromisoformat(value)
        )
    except ValueError:
        raise CliError(f"{option} {value!r} is not an ISO date or time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


@cli.command("verify")
def verify_command() -> None:
    """Seal what is pending, check every record against the chain; print the head hash, or
    the first fault."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            seal_all(session)
            report = verify(session)
    if report.fault is not None:
        fault = report.fault
        err.print(f"[red]FAULT[/red] {fault.kind} at seq {fault.seq}: {fault.detail}")
        raise typer.Exit(1)
    if report.head_hash is None:
        console.print("OK: 0 records (the audit trail is empty)")
        return
    console.print(f"OK: {report.count} records, head seq {report.head_seq}")
    # The last line alone, so operators can keep it outside the database.
    console.print(f"head hash {report.head_hash}")


@cli.command("seal")
def seal_command() -> None:
    """Chain every pending record now (the ``audit.seal`` timer does it every half minute)."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            sealed = seal_all(session)
    console.print(f"{sealed} pending records sealed")


@cli.command("export")
def export_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="the .xlsx file to write")],
    action: Annotated[
        str | None, typer.Option(help='an action, or a prefix ending in "." (auth.)')
    ] = None,
    actor: Annotated[str | None, typer.Option(help="only this actor")] = None,
    target_type: Annotated[str | None, typer.Option(help="only this kind of target")] = None,
    target_id: Annotated[str | None, typer.Option(help="only this target")] = None,
    since: Annotated[
        str | None, typer.Option(help="from this date or time (Shanghai unless zoned)")
    ] = None,
    until: Annotated[str | None, typer.Option(help="before this date or time")] = None,
) -> None:
    """Write matching records to an Excel file, oldest first, times in Asia/Shanghai."""
    with clear_errors():
        if file.suffix.lower() != ".xlsx":
            raise CliError(f"{file} must end in .xlsx")
        start, end = _moment(since, "--since"), _moment(until, "--until")
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            written = export_xlsx(
                session,
                file,
                actor=actor,
                action=action,
                target_type=target_type,
                target_id=target_id,
                since=start,
                until=end,
            )
    console.print(f"{written} records written to {file}")
