"""``cityos geo``: batch geocoding of files and point lookups from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cityos.foundation.geo.batch import geocode_file, rich_progress
from cityos.foundation.geo.crs import Crs, parse_crs, transform
from cityos.foundation.geo.gazetteer import gazetteer
from cityos.foundation.geo.index import locate
from cityos.kernel.cli import clear_errors, cli_runtime, console

cli = typer.Typer(help="Spatio-temporal foundation (时空信息平台).", no_args_is_help=True)


@cli.command("geocode")
def geocode_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or .xlsx")],
    column: Annotated[str, typer.Option(help="the column holding the address text")] = "address",
    out: Annotated[Path | None, typer.Option(help="results file (.csv or .xlsx)")] = None,
    failures: Annotated[Path | None, typer.Option(help="unmatched rows and candidates")] = None,
) -> None:
    """Geocode every row of a CSV or Excel file; write results and failures beside it."""
    out = out or file.with_name(f"{file.stem}.geocoded{file.suffix}")
    failures = failures or file.with_name(f"{file.stem}.failures{file.suffix}")
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            library = gazetteer(session)
        with rich_progress() as hook:
            summary = geocode_file(
                file, out, failures, column=column, gazetteer=library, progress=hook
            )
    console.print(
        f"{summary.rows} rows: {summary.matched} matched, {summary.unsure} unsure, "
        f"{summary.not_found} not found"
    )
    console.print(f"results: {summary.output}")
    console.print(f"failures: {summary.failures}")


@cli.command("locate")
def locate_command(
    lon: float,
    lat: float,
    crs: Annotated[str, typer.Option(help="wgs84, cgcs2000, gcj02 or bd09")] = "wgs84",
) -> None:
    """The district, subdistrict, community and grid at a point (or 'outside')."""
    with clear_errors():
        source = parse_crs(crs)
        x, y = (lon, lat)
        if source not in (Crs.WGS84, Crs.CGCS2000):
            x, y = transform(lon, lat, source=source, target=Crs.WGS84)
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            chain = locate(session, lon=x, lat=y)
    if chain is None:
        console.print("outside the district")
        raise typer.Exit(1)
    for ref in chain.levels():
        console.print(f"{ref.level:<12} {ref.code:<16} {ref.name_zh}  {ref.name_en}")
