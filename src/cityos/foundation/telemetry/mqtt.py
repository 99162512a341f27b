"""Observations in over MQTT: an ingester that subscribes to a broker and stores what
devices publish, acknowledging a message only once it is committed.

Topics (QoS 1):

- ``v1.1/Datastreams(<id>)/Observations`` and ``v1.1/MultiDatastreams(<id>)/Observations``,
  the SensorThings MQTT extension: the payload is one Observation (``phenomenonTime``,
  ``result``, ``resultTime``, ``parameters`` …); ``v1.1/Observations`` takes one naming its
  ``Datastream`` or ``MultiDatastream``;
- ``cityos/devices/<code>/telemetry``, the platform's device topic:
  ``{"observations": [{"property": "water_depth", "time": "…", "value": 12.3}]}``.

How it is built for throughput without losing what was acknowledged:

- MQTT 5 shared subscriptions (``$share/<group>/<filter>``): every ingest process of the
  group gets a share of the messages, so adding processes adds throughput;
- messages are gathered into batches (``batch_size`` or ``batch_seconds``, whichever comes
  first) stored by one ``ingest()`` transaction each; the PUBACKs go out only after its
  commit (``manual_ack``), so a crash before that leaves them with the broker, which sends
  them again, and ``ingest`` stores a resent observation once;
- a persistent session (clean start off, a session expiry), so a broker or ingester
  restart keeps the subscription and the queued messages; the client reconnects and
  subscribes again by itself;
- a large receive maximum, so the broker keeps sending while a batch commits, and
  TCP_NODELAY, so small PUBACKs are not held back by Nagle's algorithm against the
  broker's delayed ACKs;
- a bad message (malformed JSON, unknown stream, wrong type, too large) is counted and
  logged against its device or stream and acknowledged: it would be as bad next time;
- the database being unreachable stops the acks: the batch is retried with backoff, and
  the broker stops sending once the receive window is full.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.batches import BatchError, device_readings
from cityos.foundation.telemetry.ingest import Reading, ingest
from cityos.foundation.telemetry.models import Datastream, MultiDatastream, Thing
from cityos.kernel.clock import utcnow
from cityos.kernel.runtime import Runtime

log = logging.getLogger("cityos.telemetry.mqtt")

SUBSCRIPTIONS = ("v1.1/Observations", "v1.1/+/Observations", "cityos/devices/+/telemetry")
_STREAM_TOPIC = re.compile(r"^v1\.1/(Datastreams|MultiDatastreams)\((\d+)\)/Observations$")
_DEVICE_TOPIC = re.compile(r"^cityos/devices/([^/+#]{1,100})/telemetry$")
# An observation is a few hundred bytes; a device batch of a few hundred fits well within.
MAX_PAYLOAD = 256 * 1024
RETRY_FIRST, RETRY_MAX = 0.5, 10.0


class BadMessage(ValueError):
    """A message that can never be stored: its reason is counted and logged."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class MqttOptions:
    """Where the broker is and how the ingester talks to it."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    client_id: str = "cityos-ingest"
    # Processes of one group share the messages (MQTT 5 shared subscriptions); another
    # group gets them all again. None subscribes plainly: one process gets everything, and
    # Mosquitto 2.0 restores the subscription itself after a restart (docs/mqtt.md).
    group: str | None = "cityos-ingest"
    # How long the broker keeps this client's session (subscription, queued messages)
    # while it is away: an ingester down for less than this loses nothing.
    session_expiry: int = 24 * 3600
    # Unacknowledged messages the broker may have in flight to us: above the batch size,
    # so the next batch fills while this one commits.
    receive_maximum: int = 10_000
    batch_size: int = 2_000
    batch_seconds: float = 0.05
    keepalive: int = 30

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> MqttOptions:
        """Options from ``mqtt://user:password@host:port`` (``mqtts://`` for TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
            raise ValueError(f"not an MQTT URL (mqtt://host:port or mqtts://…): {url!r}")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            **overrides,
        )


@dataclass
class IngestCounters:
    """What one ingester has done since it started."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    database_retries: int = 0
    connects: int = 0
    # Rejected observations per source: ``device:<code>`` or ``datastream:<id>``.
    rejected_by_source: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Message:
    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes | bytearray


@dataclass
class ParsedMessage:
    """One message's readings and where they came from, or why it has none."""

    source: str
    readings: list[Reading] = field(default_factory=list)
    fault: BadMessage | None = None
    thing_code: str | None = None
    stream: tuple[str, int] | None = None


def _instant(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise BadMessage("bad_time", f"{name} must be an ISO 8601 time")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise BadMessage("bad_time", f"{name} is not an ISO 8601 time: {value[:40]!r}") from None


def _interval(value: Any, name: str) -> tuple[datetime, datetime | None]:
    if isinstance(value, str) and "/" in value:
        start, end = value.split("/", 1)
        return _instant(start, name), _instant(end, name)
    return _instant(value, name), None


def _reference(value: Any, name: str) -> int:
    identifier = value.get("@iot.id") if isinstance(value, dict) else None
    if isinstance(identifier, bool) or not isinstance(identifier, int):
        raise BadMessage("bad_reference", f"{name} must be {{'@iot.id': <integer>}}")
    return identifier


def observation_reading(
    document: Any, *, datastream_id: int | None = None, multi_datastream_id: int | None = None
) -> Reading:
    """A SensorThings Observation (as JSON) for a stream as a ``Reading``; the stream comes
    from the topic or, on ``v1.1/Observations``, from the document's own reference."""
    if not isinstance(document, dict):
        raise BadMessage("not_an_observation", "the payload must be one Observation object")
    if "result" not in document:
        raise BadMessage("no_result", "an Observation needs a result")
    if datastream_id is None and multi_datastream_id is None:
        if "Datastream" in document:
            datastream_id = _reference(document["Datastream"], "Datastream")
        elif "MultiDatastream" in document:
            multi_datastream_id = _reference(document["MultiDatastream"], "MultiDatastream")
        else:
            raise BadMessage("no_stream", "name the Datastream or MultiDatastream")
    # The standard lets the server take the time of arrival when the sender gives none.
    phenomenon, phenomenon_end = (
        _interval(document["phenomenonTime"], "phenomenonTime")
        if document.get("phenomenonTime") is not None
        else (utcnow(), None)
    )
    valid_start, valid_end = (
        _interval(document["validTime"], "validTime")
        if document.get("validTime") is not None
        else (None, None)
    )
    parameters = document.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise BadMessage("bad_parameters", "parameters must be an object")
    foi = document.get("FeatureOfInterest")
    return Reading(
        phenomenon_time=phenomenon,
        phenomenon_time_end=phenomenon_end,
        result=document["result"],
        datastream_id=datastream_id,
        multi_datastream_id=multi_datastream_id,
        result_time=(
            _instant(document["resultTime"], "resultTime")
            if document.get("resultTime") is not None
            else None
        ),
        result_quality=document.get("resultQuality"),
        valid_time_start=valid_start,
        valid_time_end=valid_end,
        parameters=parameters,
        feature_of_interest_id=_reference(foi, "FeatureOfInterest") if foi is not None else None,
    )


def parse_message(session: Session, topic: str, payload: bytes | bytearray) -> ParsedMessage:
    """The readings of one message, or the reason it has none (never raises for bad input)."""
    device = _DEVICE_TOPIC.match(topic)
    stream = _STREAM_TOPIC.match(topic)
    if device:
        parsed = ParsedMessage(source=f"device:{device.group(1)}", thing_code=device.group(1))
    elif stream:
        kind = "datastream" if stream.group(1) == "Datastreams" else "multidatastream"
        parsed = ParsedMessage(
            source=f"{kind}:{stream.group(2)}", stream=(kind, int(stream.group(2)))
        )
    else:
        parsed = ParsedMessage(source=f"topic:{topic[:100]}")
    try:
        if len(payload) > MAX_PAYLOAD:
            raise BadMessage("too_large", f"payload over {MAX_PAYLOAD} bytes")
        try:
            document = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadMessage("malformed_json", f"malformed JSON: {exc}") from None
        if parsed.thing_code is not None:
            try:
                parsed.readings = device_readings(session, parsed.thing_code, document)
            except BatchError as exc:
                raise BadMessage(exc.code, str(exc)) from None
        elif parsed.stream is not None:
            kind, ident = parsed.stream
            parsed.readings = [
                observation_reading(
                    document,
                    datastream_id=ident if kind == "datastream" else None,
                    multi_datastream_id=ident if kind == "multidatastream" else None,
                )
            ]
        elif topic == "v1.1/Observations":
            reading = observation_reading(document)
            parsed.readings = [reading]
            parsed.source = (
                f"datastream:{reading.datastream_id}"
                if reading.datastream_id is not None
                else f"multidatastream:{reading.multi_datastream_id}"
            )
        else:
            raise BadMessage("unknown_topic", f"nothing is ingested from {topic[:100]!r}")
    except BadMessage as exc:
        parsed.readings, parsed.fault = [], exc
    return parsed


def _count_on_things(session: Session, faults: Sequence[ParsedMessage]) -> None:
    """Raise the error counter of each device whose message could not even be read
    (``ingest`` counts the readings it refuses itself)."""
    per_source: dict[str, tuple[Any, int, str]] = {}
    for parsed in faults:
        if parsed.fault is None:
            continue
        if parsed.thing_code is not None:
            where: Any = Thing.code == parsed.thing_code
        elif parsed.stream is not None:
            table = Datastream if parsed.stream[0] == "datastream" else MultiDatastream
            where = Thing.id.in_(select(table.thing_id).where(table.id == parsed.stream[1]))
        else:
            continue
        _, count, _ = per_source.get(parsed.source, (where, 0, ""))
        per_source[parsed.source] = (where, count + 1, f"{parsed.fault.code}: {parsed.fault}")
    for where, count, last_error in per_source.values():
        session.execute(
            update(Thing)
            .where(where)
            .values(error_count=Thing.error_count + count, last_error=last_error[:500])
            .execution_options(synchronize_session=False)
        )


def _database_unavailable(exc: BaseException) -> bool:
    """Whether the database was unreachable or busy, so the same batch may succeed later."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class MqttIngester:
    """Subscribes to the broker and stores what arrives, in batches; see the module
    docstring. ``start`` returns at once (the client connects and reconnects by itself);
    ``stop`` finishes the batch in hand and leaves the rest unacknowledged with the broker."""

    def __init__(self, runtime: Runtime, options: MqttOptions) -> None:
        self.runtime = runtime
        self.options = options
        self.counters = IngestCounters()
        self._inbox: queue.SimpleQueue[_Message] = queue.SimpleQueue()
        # Bumped on every connect and disconnect: a message id is only valid on the
        # connection it came by, so a batch committed across a reconnect is not acknowledged
        # (the broker sends it again and ``ingest`` finds it stored).
        self._generation = 0
        self._ack_lock = threading.Lock()
        self._subscribed = threading.Event()
        self._stopping = threading.Event()
        self._worker = threading.Thread(target=self._run, name="mqtt-ingest", daemon=True)
        self._client = self._make_client()

    def _make_client(self) -> paho.Client:
        options = self.options
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=options.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if options.username is not None:
            client.username_pw_set(options.username, options.password)
        if options.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        return client

    # --- the network thread -------------------------------------------------------------

    def _on_socket_open(self, _client: paho.Client, _userdata: Any, sock: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _on_connect(
        self,
        client: paho.Client,
        _userdata: Any,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("MQTT broker refused the connection: %s", reason)
            return
        with self._ack_lock:
            self._generation += 1
        self.counters.connects += 1
        # Subscribing again is harmless when the session kept the subscriptions, and needed
        # when the broker lost them (no persistence, or the session expired).
        group = self.options.group
        client.subscribe(
            [
                (f"$share/{group}/{t}" if group else t, SubscribeOptions(qos=1))
                for t in SUBSCRIPTIONS
            ]
        )
        log.info(
            "connected to MQTT broker %s:%d as %s (session %s)",
            self.options.host,
            self.options.port,
            self.options.client_id,
            "resumed" if flags.session_present else "new",
        )

    def _on_subscribe(
        self,
        _client: paho.Client,
        _userdata: Any,
        _mid: int,
        reasons: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        refused = [str(reason) for reason in reasons if reason.is_failure]
        if refused:
            log.error("MQTT broker refused subscriptions: %s", ", ".join(refused))
            return
        self._subscribed.set()
        log.info("subscribed to %s", ", ".join(SUBSCRIPTIONS))

    def _on_disconnect(
        self,
        _client: paho.Client,
        _userdata: Any,
        _flags: paho.DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        with self._ack_lock:
            self._generation += 1
        self._subscribed.clear()
        if not self._stopping.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        self._inbox.put(
            _Message(self._generation, message.mid, message.qos, message.topic, message.payload)
        )

    # --- the ingest thread --------------------------------------------------------------

    def start(self) -> None:
        """Connect (in the background, retrying until the broker answers) and start storing."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.options.session_expiry
        properties.ReceiveMaximum = self.options.receive_maximum
        self._client.connect_async(
            self.options.host,
            self.options.port,
            keepalive=self.options.keepalive,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()
        self._worker.start()

    def wait_subscribed(self, timeout: float) -> bool:
        """Whether the ingester is connected and subscribed, waiting up to ``timeout`` s."""
        return self._subscribed.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Store the batch in hand, then disconnect; the session stays with the broker."""
        self._stopping.set()
        self._worker.join(timeout)
        self._client.disconnect()
        self._client.loop_stop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            batch = self._collect()
            if batch:
                self._store(batch)

    def _collect(self) -> list[_Message]:
        try:
            batch = [self._inbox.get(timeout=0.2)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.options.batch_seconds
        while len(batch) < self.options.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._inbox.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _store(self, batch: list[_Message]) -> None:
        delay = RETRY_FIRST
        while True:
            try:
                self._commit(batch)
                break
            except Exception as exc:
                if not _database_unavailable(exc):
                    self._store_apart(batch, exc)
                    return
                self.counters.database_retries += 1
                log.warning(
                    "database unavailable, %d messages wait unacknowledged; retrying in %.1f s: %s",
                    len(batch),
                    delay,
                    str(exc).splitlines()[0],
                )
                # Stopping now leaves the batch with the broker, which sends it again.
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, RETRY_MAX)
        self._acknowledge(batch)

    def _store_apart(self, batch: list[_Message], exc: Exception) -> None:
        """A batch failed for a reason other than the database being away: store its
        messages one by one, so only the message at fault is given up on."""
        if len(batch) > 1:
            for message in batch:
                self._store([message])
            return
        message = batch[0]
        log.error("message on %s could not be stored: %r", message.topic, exc)
        self.counters.received += 1
        self.counters.rejected += 1
        self.counters.rejected_by_source[f"topic:{message.topic[:100]}"] += 1
        self._acknowledge(batch)

    def _commit(self, batch: list[_Message]) -> None:
        with self.runtime.unit_of_work() as session:
            parsed = [parse_message(session, m.topic, m.payload) for m in batch]
            readings: list[Reading] = []
            owners: list[ParsedMessage] = []
            for item in parsed:
                readings.extend(item.readings)
                owners.extend([item] * len(item.readings))
            report = ingest(session, readings)
            faults = [item for item in parsed if item.fault is not None]
            if faults:
                _count_on_things(session, faults)
        # Counted only once committed, so a retried batch is not counted twice.
        counters = self.counters
        counters.batches += 1
        counters.received += len(batch)
        counters.stored += len(report.stored)
        counters.duplicates += report.duplicates
        reasons: dict[str, tuple[int, str]] = {}
        for item in faults:
            assert item.fault is not None
            count, _ = reasons.get(item.source, (0, ""))
            reasons[item.source] = (count + 1, f"{item.fault.code}: {item.fault}")
        for rejection in report.rejected:
            source = owners[rejection.index].source
            count, _ = reasons.get(source, (0, ""))
            reasons[source] = (count + 1, f"{rejection.code}: {rejection.message}")
        for source, (count, reason) in reasons.items():
            counters.rejected += count
            counters.rejected_by_source[source] += count
            log.warning("%s: %d observation(s) rejected, last: %s", source, count, reason)

    def _acknowledge(self, batch: Sequence[_Message]) -> None:
        with self._ack_lock:
            for message in batch:
                if message.qos > 0 and message.generation == self._generation:
                    self._client.ack(message.mid, message.qos)


def options_from_settings(runtime: Runtime, *, instance: str) -> MqttOptions:
    """The ingester's options from ``CITYOS_MQTT_*``; ``instance`` tells this process's
    session apart from the others' on the same host."""
    settings = runtime.settings
    if not settings.mqtt_url:
        raise ValueError("CITYOS_MQTT_URL is not set")
    prefix = settings.mqtt_client_id or f"cityos-ingest-{socket.gethostname()}"
    return MqttOptions.from_url(
        settings.mqtt_url, client_id=f"{prefix}-{instance}", group=settings.mqtt_group or None
    )


def start_ingester(runtime: Runtime, *, instance: str) -> Callable[[], None]:
    """Start an MQTT ingester for this process; returns a function that stops it."""
    ingester = MqttIngester(runtime, options_from_settings(runtime, instance=instance))
    ingester.start()
    return ingester.stop
