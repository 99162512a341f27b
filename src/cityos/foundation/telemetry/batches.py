"""Batches of observations as devices and gateways send them, turned into ``Reading``s for
``ingest``: the HTTP batch endpoint and the MQTT device topic share this conversion.

A batch names streams either by Datastream id or by device code and property code::

    {"datastreams": [{"id": 17, "observations": [{"time": "…", "value": 3.2}]}],
     "devices": [{"device": "WL-0001",
                  "observations": [{"property": "water_depth",
                                    "time": "2026-12-01T08:00:00+08:00", "value": 12.3}]}]}

Each observation may also carry ``parameters`` (an object kept with it). Observations are
numbered in the order they appear (the ``datastreams`` first, then the ``devices``), and a
refused one is reported by that number and its path in the document, with a stable code:
``bad_observation``, ``bad_time``, ``missing_value``, ``unknown_device``,
``unknown_property``, ``not_this_device``, or one of ``ingest``'s own. A refusal touches
only its own reading. A fault in the envelope itself (not an object, ``devices`` not a list,
an entry without a device code or an ``observations`` list) refuses the whole batch
(``BatchError``): it is the sender's bug, not its data.

A device's own faults raise its error counter, which the status check turns into ``fault``:
the faults found here (an unknown property, a bad time) are counted here, those of the
values themselves by ``ingest``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.ingest import IngestReport, Reading, Rejection
from cityos.foundation.telemetry.models import Datastream, ObservedProperty, Thing

MAX_OBSERVATIONS: Final = 100_000
_CHUNK: Final = 2000


class BatchError(ValueError):
    """The batch's envelope is malformed; ``code`` says how, ``path`` where."""

    def __init__(self, code: str, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.code = code
        self.path = path


@dataclass
class Converted:
    """A batch as readings: ``origins[i]`` is the number of ``readings[i]`` in the batch,
    ``paths[n]`` where observation ``n`` sits in the document, ``rejected`` what was
    refused before storing (by observation number)."""

    readings: list[Reading] = field(default_factory=list)
    origins: list[int] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def refusals(self, report: IngestReport) -> list[Rejection]:
        """Every refusal of the batch, these and ``ingest``'s, numbered as in the batch."""
        moved = [Rejection(self.origins[r.index], r.code, r.message) for r in report.rejected]
        return sorted([*self.rejected, *moved], key=lambda r: r.index)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise BatchError("bad_batch", "must be a list", path)
    return value


class _Builder:
    """Numbers observations, converts the good ones and records the refusals."""

    def __init__(self) -> None:
        self.out = Converted()
        self.faults_by_thing: dict[int, tuple[int, str]] = {}

    def number(self, path: str) -> int:
        if len(self.out.paths) >= MAX_OBSERVATIONS:
            raise BatchError("too_many", f"a batch holds at most {MAX_OBSERVATIONS} observations")
        self.out.paths.append(path)
        return len(self.out.paths) - 1

    def refuse(self, index: int, code: str, message: str, thing_id: int | None = None) -> None:
        self.out.rejected.append(Rejection(index, code, message))
        if thing_id is not None:
            count, _ = self.faults_by_thing.get(thing_id, (0, ""))
            self.faults_by_thing[thing_id] = (count + 1, f"{code}: {message}")

    def reading(self, index: int, item: Any, thing_id: int | None, stream: int) -> None:
        """Convert one observation of ``stream``, or refuse it."""
        if not isinstance(item, dict):
            self.refuse(index, "bad_observation", "an observation is an object", thing_id)
            return
        moment = _time(item.get("time"))
        if moment is None:
            self.refuse(index, "bad_time", "time must be an ISO 8601 time", thing_id)
            return
        if "value" not in item:
            self.refuse(index, "missing_value", "an observation needs a value", thing_id)
            return
        parameters = item.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            self.refuse(index, "bad_observation", "parameters must be an object", thing_id)
            return
        self.out.readings.append(
            Reading(
                phenomenon_time=moment,
                result=item["value"],
                datastream_id=stream,
                parameters=parameters,
            )
        )
        self.out.origins.append(index)

    def count_faults(self, session: Session) -> None:
        for thing_id, (count, last_error) in self.faults_by_thing.items():
            session.execute(
                update(Thing)
                .where(Thing.id == thing_id)
                .values(error_count=Thing.error_count + count, last_error=last_error[:500])
                .execution_options(synchronize_session=False)
            )


def _device_streams(
    session: Session, codes: set[str]
) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Known device codes → Thing id, and (device code, property code) → Datastream id."""
    things: dict[str, int] = {}
    streams: dict[tuple[str, str], int] = {}
    wanted = sorted(codes)
    for start in range(0, len(wanted), _CHUNK):
        rows = session.execute(
            select(Thing.code, Thing.id, ObservedProperty.code, Datastream.id)
            .outerjoin(Datastream, Datastream.thing_id == Thing.id)
            .outerjoin(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
            .where(Thing.code.in_(wanted[start : start + _CHUNK]))
            .order_by(Datastream.id)
        )
        for code, thing_id, prop, stream in rows:
            if code is None:
                continue
            things[code] = thing_id
            if prop is not None and stream is not None:
                streams.setdefault((code, prop), stream)
    return things, streams


def _stream_things(session: Session, ids: set[int]) -> dict[int, int]:
    """Datastream id → its Thing's id, for the ids that exist."""
    found: dict[int, int] = {}
    wanted = sorted(ids)
    for start in range(0, len(wanted), _CHUNK):
        for stream_id, thing_id in session.execute(
            select(Datastream.id, Datastream.thing_id).where(
                Datastream.id.in_(wanted[start : start + _CHUNK])
            )
        ):
            found[stream_id] = thing_id
    return found


def readings_from_devices(
    session: Session, payload: Any, *, device: Thing | None = None
) -> Converted:
    """The readings of a batch (the module docstring has its shape). With ``device`` (the
    sender proved to be that device), only its own streams are accepted. Raises
    ``BatchError`` for a malformed envelope; counts device faults on the devices."""
    if not isinstance(payload, dict):
        raise BatchError("bad_batch", "a batch is a JSON object")
    unknown = sorted(set(payload) - {"datastreams", "devices"})
    if unknown:
        raise BatchError("bad_batch", f"unknown member(s): {', '.join(unknown)}")
    by_stream = _list(payload.get("datastreams", []), "datastreams")
    by_device = _list(payload.get("devices", []), "devices")
    builder = _Builder()

    stream_ids: set[int] = set()
    for i, entry in enumerate(by_stream):
        where = f"datastreams[{i}]"
        ident = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(ident, int) or isinstance(ident, bool):
            raise BatchError("bad_batch", "needs the Datastream's id (an integer)", where)
        _list(entry.get("observations"), f"{where}.observations")
        stream_ids.add(ident)
    owners = _stream_things(session, stream_ids) if device is not None else {}
    for i, entry in enumerate(by_stream):
        ident = entry["id"]
        foreign = device is not None and owners.get(ident) != device.id
        for j, item in enumerate(entry["observations"]):
            index = builder.number(f"datastreams[{i}].observations[{j}]")
            if foreign:
                message = f"Datastream {ident} is not one of this device's"
                builder.refuse(index, "not_this_device", message)
                continue
            builder.reading(index, item, None, ident)

    codes: set[str] = set()
    for i, entry in enumerate(by_device):
        where = f"devices[{i}]"
        code = entry.get("device") if isinstance(entry, dict) else None
        if not isinstance(code, str) or not code:
            raise BatchError("bad_batch", "needs the device's code", where)
        _list(entry.get("observations"), f"{where}.observations")
        codes.add(code)
    things, streams = _device_streams(session, codes) if codes else ({}, {})
    for i, entry in enumerate(by_device):
        code = entry["device"]
        thing_id = things.get(code)
        for j, item in enumerate(entry["observations"]):
            index = builder.number(f"devices[{i}].observations[{j}]")
            if device is not None and code != device.code:
                builder.refuse(index, "not_this_device", f"{code!r} is not the device signed in")
                continue
            if thing_id is None:
                builder.refuse(index, "unknown_device", f"no device {code!r}")
                continue
            prop = item.get("property") if isinstance(item, dict) else None
            if not isinstance(prop, str):
                message = "an observation is an object naming its property"
                builder.refuse(index, "bad_observation", message, thing_id)
                continue
            stream = streams.get((code, prop))
            if stream is None:
                message = f"device {code!r} does not observe {prop[:64]!r}"
                builder.refuse(index, "unknown_property", message, thing_id)
                continue
            builder.reading(index, item, thing_id, stream)
    builder.count_faults(session)
    return builder.out


def device_readings(session: Session, code: str, document: Any) -> list[Reading]:
    """The readings of one device's message (``{"observations": [...]}``), as the MQTT
    device topic ``cityos/devices/<code>/telemetry`` carries them. Faults of single
    observations are counted on the device and left out; ``BatchError`` (a ``ValueError``
    with a ``code``) when the message is unusable as a whole or the device is unknown."""
    if not isinstance(document, dict) or set(document) - {"observations"}:
        raise BatchError("bad_batch", 'a device message is {"observations": [...]}')
    converted = readings_from_devices(
        session, {"devices": [{"device": code, "observations": document.get("observations")}]}
    )
    if converted.rejected and all(r.code == "unknown_device" for r in converted.rejected):
        raise BatchError("unknown_device", f"no device {code!r}")
    return converted.readings
