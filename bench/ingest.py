"""Telemetry ingestion on PostgreSQL, next to its limits, measured in one run on this machine.

A fresh PostgreSQL database, migrated, with ``--streams`` gauges, and a Mosquitto started
by this script with the configuration docs/mqtt.md recommends. Then:

- **(a) COPY**: rows/s of PostgreSQL ``COPY`` into a plain table, the raw bulk-insert ceiling;
- **(b) broker**: Mosquitto's own QoS 1 rate, 20 C publishing connections (``mosquitto_pub
  -l``) to one C subscriber (``mosquitto_sub``), no processing;
- **(c) MQTT end to end**: SensorThings observations published by the same 20 C publishers
  until all are stored durably by the ingester of ``cityos ingest`` (``MqttIngester``, one
  shared-subscription group) in 1 and in 2 processes, against 20,000/s;
- **(d) HTTP batches**: ``ingest()`` with 1,000 readings a transaction, the core of
  ``POST /api/v1/telemetry/ingest``, in 2 processes, against 25% of the COPY rate;
- **(e) alarm latency**: during each run of (c), ``--alarm-readings`` readings from one more
  (Python) publisher cross a threshold rule (``level > 100``, clear ``level < 50``) on
  ``--alarm-devices`` devices of a device type of the benchmark's own, high and low in turn
  so that alarms are raised and cleared; from each high reading's publish to its alarm's
  ``raised_at``, p50 and p99 against 1 s.

Everything shares the machine's cores (publishers, broker, ingesters, PostgreSQL), as a
one-machine installation would.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timedelta
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import create_engine, delete, func, select, text

from cityos.foundation.telemetry.alarm_models import Alarm, RuleState
from cityos.foundation.telemetry.ingest import MEASUREMENT, Reading, ensure_partitions, ingest
from cityos.foundation.telemetry.models import (
    Datastream,
    DeviceType,
    Observation,
    ObservedProperty,
    Rollup,
    RollupDelta,
    Sensor,
    Thing,
)
from cityos.foundation.telemetry.mqtt import MqttIngester, MqttOptions
from cityos.kernel import migrate, profiles
from cityos.kernel.clock import utcnow
from cityos.kernel.db import make_engine, make_sessionmaker
from cityos.kernel.registry import Registry, get_registry
from cityos.kernel.runtime import build_runtime
from cityos.settings import Settings

PG_ADMIN = os.environ.get(
    "CITYOS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PUBLISHERS = 20
MQTT_TARGET = 20_000.0
HTTP_SHARE_OF_COPY = 0.25
BATCH = 1_000
ALARM_TARGET = 1.0
# Seconds between two crossing readings: a few hundred over the seconds (c) lasts.
ALARM_EVERY = 0.01
ALARM_TYPE = "bench-level-gauge"
ALARM_RULES = f"""
rules:
  - id: bench-level-high
    name: {{zh: 液位超限, en: Level high}}
    type: bench.level
    device_type: {ALARM_TYPE}
    when: level > 100
    clear: level < 50
    severity: major
"""


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


# --- (a) COPY --------------------------------------------------------------------------


def bench_copy(url: str, rows: int) -> float:
    """Rows/s of COPY (text format, prepared in memory first) into an unindexed table."""
    engine = create_engine(url)
    start = utcnow()
    buffer = io.StringIO()
    for i in range(rows):
        moment = start + timedelta(milliseconds=i)
        buffer.write(f"{i}\t{moment.isoformat()}\t{i % 1000}\t{i * 0.5}\n")
    data = buffer.getvalue().encode()
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE bench_copy (id bigint, phenomenon_time timestamptz, "
                "stream_key bigint, result_number double precision)"
            )
        )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        with cursor.copy("COPY bench_copy FROM STDIN") as copy:  # type: ignore[attr-defined]
            for offset in range(0, len(data), 1 << 20):
                copy.write(data[offset : offset + (1 << 20)])
        raw.commit()
        elapsed = time.perf_counter() - started
    finally:
        raw.close()
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE bench_copy"))
    engine.dispose()
    return rows / elapsed


# --- the broker --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def start_broker(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Mosquitto tuned as docs/mqtt.md says, on a free port, persisting into ``folder``."""
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "max_inflight_messages 1000\n"
        "max_queued_messages 1000000\n"
        "set_tcp_nodelay true\n"
        "persistence true\n"
        f"persistence_location {folder}/\n"
        f"user {os.environ.get('USER') or 'root'}\n"
        f"log_dest file {folder}/mosquitto.log\n",
        encoding="utf-8",
    )
    process = subprocess.Popen([MOSQUITTO, "-c", str(config)])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


def publish_all(port: int, batches: list[tuple[str, Path]]) -> float:
    """Run one ``mosquitto_pub -l`` per (topic, file of lines) at once; seconds taken."""
    started = time.perf_counter()
    processes = []
    for topic, path in batches:
        with path.open("rb") as lines:
            processes.append(
                subprocess.Popen(
                    [
                        "mosquitto_pub",
                        "-p",
                        str(port),
                        "-V",
                        "5",
                        "-q",
                        "1",
                        "-M",
                        "1000",
                        "-t",
                        topic,
                        "-l",
                    ],
                    stdin=lines,
                )
            )
    for process in processes:
        process.wait()
    return time.perf_counter() - started


def bench_broker(folder: Path, messages: int) -> float:
    process, port = start_broker(folder)
    try:
        per = messages // PUBLISHERS
        batches = []
        for p in range(PUBLISHERS):
            path = folder / f"plain-{p}.txt"
            path.write_text("".join(f'{{"n": {i}, "v": 12.5}}\n' for i in range(per)))
            batches.append((f"bench/{p}", path))
        subscriber = subprocess.Popen(
            [
                "mosquitto_sub",
                "-p",
                str(port),
                "-V",
                "5",
                "-q",
                "1",
                "-t",
                "bench/#",
                "-C",
                str(per * PUBLISHERS),
            ],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        started = time.perf_counter()
        publish_all(port, batches)
        subscriber.wait(600)
        return per * PUBLISHERS / (time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait()


# --- the platform ------------------------------------------------------------------------


def make_streams(url: str, count: int) -> list[int]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        sensor = Sensor(name="超声波液位计", encoding_type="text/plain", sensor_metadata="bench")
        prop = ObservedProperty(name="积水深度", definition="https://cityos.example/def/depth")
        session.add_all([sensor, prop])
        session.flush()
        streams = []
        for i in range(count):
            thing = Thing(name=f"积水监测 BENCH-{i:04d}", code=f"BENCH-{i:04d}", synthetic=True)
            session.add(thing)
            session.flush()
            stream = Datastream(
                name=f"BENCH-{i:04d} 积水深度",
                observation_type=MEASUREMENT,
                unit_of_measurement={"name": "centimetre", "symbol": "cm", "definition": "cm"},
                thing_id=thing.id,
                sensor_id=sensor.id,
                observed_property_id=prop.id,
            )
            session.add(stream)
            session.flush()
            streams.append(stream.id)
        # The months' partitions, made once here rather than raced for by the workers.
        ensure_partitions(session, {utcnow() - timedelta(days=2), utcnow()})
        session.commit()
    engine.dispose()
    return streams


def make_alarm_streams(url: str, count: int, folder: Path) -> list[int]:
    """``count`` level gauges of a device type of their own, and the threshold rule on
    that type loaded through the profile loader; their Datastreams."""
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    registry = get_registry()
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        session.add(
            DeviceType(
                code=ALARM_TYPE,
                name_zh="液位计",
                name_en="Level gauge",
                observes=[{"property": "level", "observation_type": MEASUREMENT}],
                interval_seconds=60,
                document={},
            )
        )
        sensor = Sensor(name="液位计", encoding_type="text/plain", sensor_metadata="bench")
        prop = ObservedProperty(
            name="液位", definition="https://cityos.example/def/level", code="level"
        )
        session.add_all([sensor, prop])
        session.flush()
        streams = []
        for i in range(count):
            thing = Thing(
                name=f"液位 ALARM-{i:03d}",
                code=f"ALARM-{i:03d}",
                device_type_code=ALARM_TYPE,
                synthetic=True,
            )
            session.add(thing)
            session.flush()
            stream = Datastream(
                name=f"ALARM-{i:03d} 液位",
                observation_type=MEASUREMENT,
                unit_of_measurement={"name": "centimetre", "symbol": "cm", "definition": "cm"},
                thing_id=thing.id,
                sensor_id=sensor.id,
                observed_property_id=prop.id,
            )
            session.add(stream)
            session.flush()
            streams.append(stream.id)
        pack = folder / "profile" / "packs" / "bench"
        pack.mkdir(parents=True)
        (pack / "rules.yaml").write_text(ALARM_RULES, encoding="utf-8")
        profiles.load(
            session,
            root=folder / "profile",
            registry=Registry((registry.by_name("telemetry"),)),
            settings=settings,
        )
        session.commit()
    engine.dispose()
    return streams


class AlarmFeed(threading.Thread):
    """Readings crossing the rule, published with QoS 1 while the load runs: high and low
    in turn on each device, one every ``ALARM_EVERY`` s; each high reading's value is its
    own, so its alarm is found by value, and the time it was published is kept."""

    def __init__(self, port: int, streams: list[int], count: int) -> None:
        super().__init__(daemon=True)
        self.port, self.streams, self.count = port, streams, count
        self.published: dict[float, datetime] = {}
        self.done = threading.Event()

    def run(self) -> None:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"bench-alarms-{os.getpid()}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        sent = []
        for k in range(self.count):
            if self.done.is_set():
                break
            high = (k // len(self.streams)) % 2 == 0
            value = float(101 + k) if high else 10.0
            payload = json.dumps({"phenomenonTime": utcnow().isoformat(), "result": value})
            stream = self.streams[k % len(self.streams)]
            moment = utcnow()
            sent.append(client.publish(f"v1.1/Datastreams({stream})/Observations", payload, 1))
            if high:
                self.published[value] = moment
            time.sleep(ALARM_EVERY)
        for info in sent:
            info.wait_for_publish(30)
        client.disconnect()
        client.loop_stop()


def clear_alarms(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(delete(Alarm))
        connection.execute(delete(RuleState))
    engine.dispose()


def alarm_latencies(url: str, published: dict[float, datetime]) -> tuple[list[float], int]:
    """Seconds from each high reading's publish to its alarm being stored, waiting a
    little for the last ones; and how many high readings were stored without raising an
    alarm: judged out of order with the neighbouring readings of their device (the rule
    takes a reading older than one already judged as late)."""
    engine = make_engine(url)
    deadline = time.monotonic() + 10
    while True:
        with engine.connect() as connection:
            raised = dict(connection.execute(select(Alarm.value, Alarm.raised_at)).all())
        if len(raised) >= len(published) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    missing = [value for value in published if value not in raised]
    with engine.connect() as connection:
        unraised = int(
            connection.scalar(select(func.count()).where(Observation.result_number.in_(missing)))
            or 0
        )
    engine.dispose()
    seconds = sorted(
        (raised[value] - moment).total_seconds()
        for value, moment in published.items()
        if value in raised
    )
    return seconds, unraised


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))]


def clear_observations(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(delete(Observation))
        connection.execute(delete(Rollup))
        connection.execute(delete(RollupDelta))
    engine.dispose()


def stored(url: str, streams: list[int]) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        count = int(
            connection.scalar(select(func.count()).where(Observation.datastream_id.in_(streams)))
            or 0
        )
    engine.dispose()
    return count


def _ingester(url: str, port: int, index: int, ready: EventType, stop: EventType) -> None:
    runtime = build_runtime(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
    ingester = MqttIngester(
        runtime, MqttOptions(port=port, client_id=f"bench-ingest-{index}", group="bench")
    )
    ingester.start()
    if ingester.wait_subscribed(10):
        ready.set()
    stop.wait()
    ingester.stop()
    runtime.close()


def bench_mqtt(
    url: str,
    folder: Path,
    streams: list[int],
    messages: int,
    processes: int,
    alarms: tuple[list[int], int],
) -> tuple[float, float, tuple[list[float], int], int]:
    """Observations/s from the first publish to the last one stored; the publishers' own
    rate in the same run; the alarm latencies (s) of the crossing readings mixed in, and
    how many alarms were expected (see ``alarm_latencies``)."""
    clear_observations(url)
    clear_alarms(url)
    process, port = start_broker(folder)
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    readies = [context.Event() for _ in range(processes)]
    workers = [
        context.Process(target=_ingester, args=(url, port, i, readies[i], stop))
        for i in range(processes)
    ]
    try:
        for worker in workers:
            worker.start()
        for ready in readies:
            if not ready.wait(60):
                raise RuntimeError("an ingester did not subscribe")
        per = messages // PUBLISHERS
        base = utcnow() - timedelta(hours=1)
        batches = []
        for p in range(PUBLISHERS):
            ds = streams[p % len(streams)]
            path = folder / f"sta-{processes}-{p}.txt"
            path.write_text(
                "".join(
                    f'{{"phenomenonTime": "{(base + timedelta(milliseconds=i)).isoformat()}", '
                    f'"result": {i % 500 / 10}}}\n'
                    for i in range(per)
                )
            )
            batches.append((f"v1.1/Datastreams({ds})/Observations", path))
        total = per * PUBLISHERS
        feed = AlarmFeed(port, *alarms)
        started = time.perf_counter()
        feed.start()
        published = publish_all(port, batches)
        while stored(url, streams) < total:
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        feed.done.set()
        feed.join(60)
        latencies = alarm_latencies(url, feed.published)
        return total / elapsed, total / published, latencies, len(feed.published)
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
        process.terminate()
        process.wait()


def _http_worker(job: tuple[str, list[int], int, int]) -> int:
    url, streams, batches, offset = job
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    base = utcnow() - timedelta(days=1) + timedelta(seconds=offset)
    done = 0
    for b in range(batches):
        readings = [
            Reading(
                phenomenon_time=base + timedelta(milliseconds=b * BATCH + i),
                result=(b + i) % 500 / 10,
                datastream_id=streams[i % len(streams)],
            )
            for i in range(BATCH)
        ]
        with sessions() as session:
            done += len(ingest(session, readings).stored)
            session.commit()
    engine.dispose()
    return done


def _booted(pause: float) -> int:
    time.sleep(pause)
    return os.getpid()


def bench_http(url: str, streams: list[int], readings: int, processes: int) -> float:
    clear_observations(url)
    per = readings // BATCH // processes
    shares = [streams[w::processes] for w in range(processes)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        # Workers boot (import the platform) before the clock starts, as a server's would.
        pool.map(_booted, [0.2] * processes * 2, chunksize=1)
        started = time.perf_counter()
        done = sum(
            pool.map(_http_worker, [(url, shares[w], per, w * 10) for w in range(processes)])
        )
        return done / (time.perf_counter() - started)


def measure(url: str, args: argparse.Namespace) -> None:
    registry = get_registry()
    registry.import_models()
    engine = make_engine(url)
    migrate.upgrade(engine, registry)
    engine.dispose()
    cores = os.cpu_count()
    copy_rate = bench_copy(url, args.copy_rows)
    print(f"(a) PostgreSQL COPY into a plain table:   {copy_rate:10,.0f} rows/s   (the ceiling)")
    with tempfile.TemporaryDirectory(prefix="cityos-bench-mqtt-") as tmp:
        folder = Path(tmp)
        (folder / "broker").mkdir()
        broker_rate = bench_broker(folder / "broker", args.broker_messages)
        print(
            f"(b) Mosquitto QoS 1, {PUBLISHERS} C publishers → 1 C subscriber: "
            f"{broker_rate:10,.0f} msg/s   (the broker's ceiling, no processing)"
        )
        streams = make_streams(url, args.streams)
        alarm_streams = make_alarm_streams(url, args.alarm_devices, folder)
        latencies: dict[int, tuple[tuple[list[float], int], int]] = {}
        for processes in (1, 2):
            (folder / f"e2e-{processes}").mkdir()
            rate, published, seconds, expected = bench_mqtt(
                url,
                folder / f"e2e-{processes}",
                streams,
                args.mqtt_messages,
                processes,
                (alarm_streams, args.alarm_readings),
            )
            print(
                f"(c) MQTT end to end, {processes} ingest process(es): {rate:10,.0f} obs/s   "
                f"target {MQTT_TARGET:,.0f}/s   {verdict(rate >= MQTT_TARGET)}   "
                f"(publishers alone finished at {published:,.0f} msg/s)"
            )
            latencies[processes] = (seconds, expected)
    http_rate = bench_http(url, streams, args.http_readings, 2)
    http_target = HTTP_SHARE_OF_COPY * copy_rate
    print(
        f"(d) HTTP batches of {BATCH:,}, 2 processes:   {http_rate:10,.0f} obs/s   target "
        f"{http_target:,.0f}/s (25% of COPY)   {verdict(http_rate >= http_target)}"
    )
    for processes, ((seconds, unraised), expected) in latencies.items():
        if not seconds:
            print(f"(e) alarm latency under (c) with {processes}: no alarm stored   MISSED")
            continue
        p50, p99 = statistics.median(seconds), percentile(seconds, 0.99)
        ok = p99 <= ALARM_TARGET and len(seconds) == expected
        print(
            f"(e) alarm latency, publish → alarm stored, under (c) with {processes} process(es): "
            f"p50 {p50 * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms   "
            f"target p99 {ALARM_TARGET * 1000:,.0f} ms   {verdict(ok)}   "
            f"({len(seconds)} of {expected} alarms; {unraised} crossing readings stored without "
            "one, judged out of order)"
        )
    print(f"    ({cores} CPUs; publishers, broker, ingesters and PostgreSQL share them)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copy-rows", type=int, default=1_000_000)
    parser.add_argument("--broker-messages", type=int, default=400_000)
    parser.add_argument("--mqtt-messages", type=int, default=200_000)
    parser.add_argument("--http-readings", type=int, default=200_000)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--alarm-devices", type=int, default=50)
    parser.add_argument("--alarm-readings", type=int, default=600)
    args = parser.parse_args()
    name = f"cityos_bench_ingest_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        measure(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", args)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
