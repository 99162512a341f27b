"""``cityos devices``: list devices, provision one (with its secret), see and check status."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select

from cityos.foundation.telemetry import devices
from cityos.foundation.telemetry.models import Thing
from cityos.kernel.cli import clear_errors, cli_runtime, console
from cityos.kernel.clock import utcnow

cli = typer.Typer(help="IoT devices (物联设备): list, provision, status.")


@cli.command("list")
def list_command(
    device_type: Annotated[str | None, typer.Option("--type", help="a device type code")] = None,
    status: Annotated[str | None, typer.Option(help="unknown, online, offline or fault")] = None,
    region: Annotated[str | None, typer.Option(help="a region code (prefix)")] = None,
    q: Annotated[str | None, typer.Option(help="code prefix or part of the name")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """Devices by code, the first --limit matching."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            page = devices.list_devices(
                session,
                actor=None,
                device_type=device_type,
                status=status,
                region=region,
                q=q,
                limit=limit,
            )
            table = Table("code", "type", "status", "region", "last seen", "errors", "name")
            for thing in page.items:
                seen = (
                    thing.last_seen_at.isoformat(timespec="seconds") if thing.last_seen_at else ""
                )
                table.add_row(
                    thing.code,
                    thing.device_type_code or "",
                    thing.status,
                    thing.region_code or "",
                    seen,
                    str(thing.error_count),
                    thing.name,
                )
    console.print(table)
    if page.next_cursor:
        console.print(f"(more than {limit}; narrow the filters or raise --limit)")


@cli.command("provision")
def provision_command(
    code: Annotated[str, typer.Argument(help="the device's code, e.g. WL-0999")],
    device_type: Annotated[
        str | None, typer.Option("--type", help="register a new device of this type")
    ] = None,
    lon: Annotated[float | None, typer.Option(help="WGS84 longitude (new device)")] = None,
    lat: Annotated[float | None, typer.Option(help="WGS84 latitude (new device)")] = None,
    name: Annotated[str | None, typer.Option(help="name in Chinese (new device)")] = None,
    name_en: Annotated[str | None, typer.Option(help="name in English (new device)")] = None,
) -> None:
    """Issue (or rotate) a device's secret; with --type, --lon and --lat, register it first.
    The secret is printed once and never again."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            if device_type is not None:
                if lon is None or lat is None:
                    raise typer.BadParameter("a new device needs --lon and --lat")
                devices.create_device(
                    session,
                    actor=None,
                    spec=devices.DeviceSpec(
                        code=code,
                        name=name or code,
                        name_en=name_en or code,
                        device_type=device_type,
                        lon=lon,
                        lat=lat,
                    ),
                )
            issued = devices.issue_credentials(
                session, actor=None, code=code, settings=runtime.settings
            )
    console.print(f"{'rotated' if issued.rotated else 'issued'} the secret of {issued.code}")
    console.print(f"Authorization: {issued.authorization}")


@cli.command("status")
def status_command(
    check: Annotated[
        bool, typer.Option(help="first mark silent devices offline (faults are the timer's)")
    ] = False,
) -> None:
    """How many devices of each type are online, offline, in fault or never seen."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            if check:
                devices.check_status(session, now=utcnow(), baseline=None)
            rows = session.execute(
                select(Thing.device_type_code, Thing.status, func.count())
                .where(Thing.code.is_not(None))
                .group_by(Thing.device_type_code, Thing.status)
            ).all()
    counts: Counter[tuple[str, str]] = Counter()
    for device_type, status, count in rows:
        counts[(device_type or "-", status)] += int(count)
    table = Table("type", *devices.STATUSES, "total")
    for device_type in sorted({t for t, _ in counts}):
        per = [counts[(device_type, s)] for s in devices.STATUSES]
        table.add_row(device_type, *map(str, per), str(sum(per)))
    console.print(table)
