"""``cityos simulate``: drive the demo district's synthetic devices."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

import typer

from cityos.foundation.telemetry.simulate import (
    DirectSink,
    HttpSink,
    MqttSink,
    Sink,
    run,
    streams,
)
from cityos.kernel.cli import CliError, clear_errors, cli_runtime, console
from cityos.kernel.clock import SHANGHAI


class Via(StrEnum):
    DIRECT = "direct"
    HTTP = "http"
    MQTT = "mqtt"


class Scenario(StrEnum):
    NORMAL = "normal"
    RAINSTORM = "rainstorm"


simulate_cli = typer.Typer(help="Drive the synthetic devices of the demo district.")


@simulate_cli.callback(invoke_without_command=True)
def simulate(
    via: Annotated[
        Via, typer.Option(help="direct (into this database), http or mqtt")
    ] = Via.DIRECT,
    scenario: Annotated[Scenario, typer.Option(help="normal, or rainstorm")] = Scenario.NORMAL,
    url: Annotated[str, typer.Option(help="the platform, for --via http")] = (
        "http://127.0.0.1:8000"
    ),
    api_key: Annotated[
        str | None, typer.Option(envvar="CITYOS_SIMULATOR_API_KEY", help="for --via http")
    ] = None,
    mqtt_url: Annotated[
        str | None, typer.Option(envvar="CITYOS_MQTT_URL", help="the broker, for --via mqtt")
    ] = None,
    tick: Annotated[float, typer.Option(help="seconds between sends")] = 5.0,
    backfill_hours: Annotated[float, typer.Option(help="history to send first")] = 0.0,
) -> None:
    """Send what every synthetic device observes, as it would, until interrupted."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            found = streams(session)
        if not found:
            raise CliError("no synthetic devices: load the demo profile first (cityos demo)")
        sink: Sink
        if via is Via.MQTT:
            if not mqtt_url:
                raise CliError("--via mqtt needs the broker: --mqtt-url mqtt://host:1883")
            sink = MqttSink(mqtt_url)
        elif via is Via.HTTP:
            if not api_key:
                raise CliError("--via http needs an API key with telemetry.write (--api-key)")
            sink = HttpSink(url, api_key)
        else:
            sink = DirectSink(runtime, found)
        devices = len({s.device_code for s in found})
        console.print(
            f"simulating {devices:,} synthetic devices ({len(found):,} datastreams), "
            f"scenario {scenario.value}, via {via.value}; Ctrl-C stops"
        )

        def report(until: datetime, sent: int) -> None:
            done = "sent" if via is Via.MQTT else "stored"
            console.print(f"{until.astimezone(SHANGHAI):%m-%d %H:%M:%S}  {sent:>7,} {done}")

        stop = threading.Event()
        try:
            run(
                sink,
                found,
                scenario=scenario.value,
                tick=tick,
                backfill=timedelta(hours=backfill_hours),
                stop=stop,
                report=report,
            )
        except KeyboardInterrupt:
            stop.set()
