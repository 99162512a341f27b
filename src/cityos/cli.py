"""The ``cityos`` command: serve, demo, database and profile commands, plus each module's."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from cityos.kernel import migrate, profiles
from cityos.kernel.cli import CliError, clear_errors, cli_runtime, console, err
from cityos.kernel.registry import get_registry
from cityos.kernel.runtime import Runtime
from cityos.settings import Mode, get_settings

app = typer.Typer(
    help="CityOS: 罗湖区数字政府和智慧城市平台 (Luohu District smart-city platform).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
profile_app = typer.Typer(help="District profiles: validate and load.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(profile_app, name="profile")

T = TypeVar("T")


def _with_spinner(label: str, work: Callable[[], T]) -> T:
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True
    ) as bar:
        bar.add_task(label, total=None)
        return work()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (idempotent)."""
    with clear_errors():
        runtime = cli_runtime()
        _with_spinner(
            "applying migrations…", lambda: migrate.upgrade(runtime.engine, runtime.registry)
        )
        console.print(f"database at {', '.join(sorted(migrate.current(runtime.engine)))}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's revisions and whether any are pending."""
    with clear_errors():
        runtime = cli_runtime()
        current = migrate.current(runtime.engine)
        expected = migrate.heads(runtime.engine, runtime.registry)
        for revision in sorted(current) or ["(empty database)"]:
            console.print(revision)
        pending = expected - current
        if pending:
            console.print(f"[yellow]pending:[/yellow] {', '.join(sorted(pending))}")
            raise typer.Exit(1)
        console.print("[green]up to date[/green]")


def _print_issues(issues: list[profiles.ProfileIssue]) -> None:
    for issue in issues:
        err.print("[red]✗[/red] ", end="")
        err.print(str(issue), highlight=False, markup=False)
    err.print(f"{len(issues)} error(s); nothing was loaded")


@profile_app.command("validate")
def profile_validate(path: Annotated[str, typer.Argument(help="profile folder or name")]) -> None:
    """Check a profile and list every error with its file and line."""
    with clear_errors():
        try:
            root = profiles.resolve(path)
        except profiles.ProfileInvalid as exc:
            _print_issues(exc.issues)
            raise typer.Exit(1) from None
        issues = profiles.validate(root, get_registry())
        if issues:
            _print_issues(issues)
            raise typer.Exit(1)
        console.print(f"[green]✓[/green] profile {root.name} is valid")


def load_profile(runtime: Runtime, name_or_path: str) -> profiles.LoadResult:
    """Load a profile in one transaction; raise ``ProfileInvalid`` listing every fault."""
    root = profiles.resolve(name_or_path)
    with runtime.unit_of_work() as session:
        return profiles.load(
            session, root=root, registry=runtime.registry, settings=runtime.settings
        )


@profile_app.command("load")
def profile_load(name: Annotated[str, typer.Argument(help="profile name or folder")]) -> None:
    """Load a profile transactionally; loading the same profile twice changes nothing."""
    with clear_errors():
        runtime = cli_runtime()
        if not migrate.is_current(runtime.engine, runtime.registry):
            raise CliError("the database is not up to date: run `cityos db upgrade` first")
        try:
            result = _with_spinner(f"loading profile {name}…", lambda: load_profile(runtime, name))
        except profiles.ProfileInvalid as exc:
            _print_issues(exc.issues)
            raise typer.Exit(1) from None
        if not result.changed:
            console.print(f"profile {result.profile} already loaded; nothing changed")
            return
        table = Table("what", "rows written", title=f"profile {result.profile} loaded")
        for key, value in sorted(result.summary.items()):
            table.add_row(key, str(value))
        console.print(table)


def _configure_logging(runtime: Runtime) -> None:
    from cityos.foundation.privacy import PiiRedactingFilter
    from cityos.kernel.logs import configure_logging

    configure_logging(
        level=runtime.settings.log_level,
        json=runtime.settings.log_json,
        filters=[PiiRedactingFilter()],
    )


def _serve(runtime: Runtime, *, host: str, port: int, background: bool) -> None:
    import uvicorn

    from cityos.app import create_app

    if not migrate.is_current(runtime.engine, runtime.registry):
        raise CliError("the database is not up to date: run `cityos db upgrade` first")
    _configure_logging(runtime)
    application = create_app(runtime=runtime, background=background)
    stop_ingester = _start_ingester(runtime, instance="serve") if background else None
    try:
        # Our middleware writes the access log, with the request id; uvicorn's would lack it.
        uvicorn.run(application, host=host, port=port, log_config=None, access_log=False)
    finally:
        if stop_ingester is not None:
            stop_ingester()


def _start_ingester(runtime: Runtime, *, instance: str) -> Callable[[], None] | None:
    """Start the MQTT ingester when ``CITYOS_MQTT_URL`` is set; returns its stop function."""
    from cityos.foundation.telemetry.mqtt import start_ingester

    if not runtime.settings.mqtt_url:
        return None
    try:
        return start_ingester(runtime, instance=instance)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _wait_for_signal() -> None:
    """Block until SIGTERM or SIGINT."""
    import signal
    import threading

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()


# Hours of synthetic device history `cityos demo` sends before going live.
DEMO_BACKFILL_HOURS = 6
HostOption = Annotated[str | None, typer.Option(help="address to listen on")]
PortOption = Annotated[int | None, typer.Option(help="port to listen on")]


def _serve_command(host: str | None, port: int | None, *, background: bool) -> None:
    with clear_errors():
        runtime = cli_runtime()
        host, port = host or runtime.settings.host, port or runtime.settings.port
        _serve(runtime, host=host, port=port, background=background)


@app.command()
def serve(host: HostOption = None, port: PortOption = None) -> None:
    """Run the API, the job worker, the outbox relay and (with CITYOS_MQTT_URL) the MQTT
    ingester in one process."""
    _serve_command(host, port, background=True)


@app.command()
def api(host: HostOption = None, port: PortOption = None) -> None:
    """Run only the API (scale out: run workers with `cityos worker`)."""
    _serve_command(host, port, background=False)


@app.command()
def worker() -> None:
    """Run only the job worker and outbox relay, until interrupted."""
    from cityos.foundation.privacy import ensure_installed
    from cityos.kernel.workers import start_workers

    with clear_errors():
        runtime = cli_runtime()
        _configure_logging(runtime)
        ensure_installed(runtime)
        stop = start_workers(runtime)
        _wait_for_signal()
        stop()


@app.command()
def ingest(
    instance: Annotated[
        str, typer.Option(help="name of this process's MQTT session among others on the host")
    ] = "0",
) -> None:
    """Run only the MQTT ingester (CITYOS_MQTT_URL), until interrupted; run several to
    share the load."""
    from cityos.foundation.privacy import ensure_installed

    with clear_errors():
        runtime = cli_runtime(require_current=True)
        if not runtime.settings.mqtt_url:
            raise CliError("CITYOS_MQTT_URL is not set (e.g. mqtt://user:password@host:1883)")
        _configure_logging(runtime)
        # Rules judged on arrival may open cases, whose personal-data columns need the keys.
        ensure_installed(runtime)
        stop = _start_ingester(runtime, instance=f"ingest-{instance}")
        _wait_for_signal()
        if stop is not None:
            stop()


@app.command()
def demo(host: HostOption = None, port: PortOption = None) -> None:
    """What `make run` starts: migrate, load the demo profile once, print accounts, serve."""
    from cityos.foundation.identity import demo_accounts

    with clear_errors():
        settings = get_settings()
        if settings.mode is Mode.PRODUCTION:
            raise CliError("`cityos demo` is for demo mode; use `cityos serve` in production")
        runtime = cli_runtime(settings)
        _with_spinner(
            "applying migrations…", lambda: migrate.upgrade(runtime.engine, runtime.registry)
        )
        try:
            result = _with_spinner(
                f"loading profile {settings.profile}…",
                lambda: load_profile(runtime, settings.profile),
            )
        except profiles.ProfileInvalid as exc:
            _print_issues(exc.issues)
            raise typer.Exit(1) from None
        from cityos.domains.cases.cli import demo_history

        cases, generated = _with_spinner(
            "generating synthetic case history…", lambda: demo_history(runtime)
        )
        host = host or settings.host
        port = port or settings.port
        base = f"http://{host}:{port}"
        console.rule("[bold]CityOS · 云上新城，智享罗湖[/bold]")
        console.print(
            f"profile {result.profile}: {'loaded' if result.changed else 'already loaded'}"
        )
        console.print(
            f"synthetic case history: {cases:,} cases "
            f"(synthetic, {'generated' if generated else 'already there'})"
        )
        pages = Table("page", "URL", box=None)
        for label, path in (
            ("IOC 智能运营中心", "/ioc/"),
            ("i罗湖 portal", "/portal/"),
            ("工作台 workbench", "/workbench/"),
            ("统一身份认证 sign-in", "/oidc/login"),
            ("OIDC discovery", "/.well-known/openid-configuration"),
            ("API docs", "/docs"),
        ):
            pages.add_row(label, base + path)
        console.print(pages)
        with runtime.unit_of_work() as session:
            accounts = demo_accounts(session, settings)
        table = Table(
            "demo account", "password", "name", "department", title="Demo accounts (synthetic)"
        )
        for account in accounts:
            table.add_row(
                account.username, account.password, account.display_name, account.department
            )
        console.print(table)
        console.print(
            "Sign in: open a page above and use a demo account (citizens may also sign in "
            "with any mobile number; the demo SMS gateway prints the code here). "
            "For scripts and the API: `.venv/bin/cityos auth token --user admin` prints a "
            "bearer token."
        )
        _start_simulator(runtime)
        console.print("Ctrl-C stops the platform.")
        _serve(runtime, host=host, port=port, background=True)


def _start_simulator(runtime: Runtime) -> None:
    """The demo's synthetic devices report as they would, in a thread of this process,
    after sending the last hours first so that the charts have a history."""
    import threading
    from datetime import timedelta

    from cityos.foundation.telemetry.simulate import DirectSink, run, streams

    with runtime.unit_of_work() as session:
        found = streams(session)
    if not found:
        return
    devices = len({s.device_code for s in found})
    console.print(
        f"synthetic devices: {devices:,} reporting (simulated; the last "
        f"{DEMO_BACKFILL_HOURS} hours first). A storm: `.venv/bin/cityos simulate "
        "--scenario rainstorm` in another terminal."
    )
    thread = threading.Thread(
        target=run,
        name="cityos-simulator",
        args=(DirectSink(runtime, found), found),
        kwargs={
            "scenario": "normal",
            "tick": 5.0,
            "backfill": timedelta(hours=DEMO_BACKFILL_HOURS),
            "stop": threading.Event(),
        },
        daemon=True,
    )
    thread.start()


def _register_module_commands() -> None:
    for name, commands in get_registry().command_groups():
        app.add_typer(commands, name=name)


def main() -> None:
    """Entry point of the ``cityos`` console script."""
    _register_module_commands()
    app(prog_name="cityos")


if __name__ == "__main__":
    main()
    sys.exit(0)
