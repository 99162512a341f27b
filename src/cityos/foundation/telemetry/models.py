"""The sensing tables: the OGC SensorThings entities, with the platform's device registry
folded into ``Thing``, and the telemetry rollups.

SensorThings ids are integers (``Things(7)``), which is what clients and people type.
Observations get theirs in batches (``ingest.observation_ids``: a PostgreSQL sequence read
once per batch), below 2**53 so that JavaScript reads them exactly. On PostgreSQL the
observation table is partitioned by month of ``phenomenon_time`` (see the migration).

At-least-once delivery is made idempotent by one key: an observation is its stream and its
phenomenon time (a unique index on each of ``(datastream_id, phenomenon_time)`` and
``(multi_datastream_id, phenomenon_time)``, each partial, so a row costs one of them), and
a resent observation finds its first copy and is not stored twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.clock import utcnow
from cityos.kernel.db import Base, TimestampMixin

# An integer key that autoincrements on both databases (SQLite only does for INTEGER).
IntId = BigInteger().with_variant(Integer(), "sqlite")


class DeviceType(TimestampMixin, Base):
    """A kind of device the profile declares: what it observes, in which units, and how
    often it is expected to report (a device silent for a few intervals is offline)."""

    __tablename__ = "iot_device_type"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    # [{"property": "water_depth", "name": {...}, "unit": {"name", "symbol", "definition"},
    #   "observation_type": "...OM_Measurement", "min": .., "max": ..}, ...]
    observes: Mapped[list[Any]] = mapped_column()
    interval_seconds: Mapped[int] = mapped_column()
    document: Mapped[dict[str, Any]] = mapped_column()


class Thing(TimestampMixin, Base):
    """A SensorThings Thing; for the platform, a device in the registry.

    ``code`` is the device's own identifier (what it sends on its MQTT topic), ``status``
    (online/offline/fault/unknown) is derived from its data, and ``region_code`` places it
    on the region tree so jurisdiction applies to it as to everything with a place.
    """

    __tablename__ = "iot_thing"
    __table_args__ = (Index("ix_iot_thing_type_status", "device_type_code", "status"),)

    id: Mapped[int] = mapped_column(IntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any] | None] = mapped_column()
    code: Mapped[str | None] = mapped_column(String(100), unique=True)
    device_type_code: Mapped[str | None] = mapped_column(
        ForeignKey("iot_device_type.code"), index=True
    )
    region_code: Mapped[str | None] = mapped_column(String(15), index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    last_seen_at: Mapped[datetime | None] = mapped_column()
    error_count: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # A keyed hash of the device's MQTT/HTTP secret (never the secret itself).
    secret_hash: Mapped[str | None] = mapped_column(String(128))
    synthetic: Mapped[bool] = mapped_column(default=False)


class Location(TimestampMixin, Base):
    """Where Things are: GeoJSON in ``location``, with its bounding box (and, for points,
    ``lon``/``lat``) in plain columns for filtering on either database."""

    __tablename__ = "iot_location"

    id: Mapped[int] = mapped_column(IntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100), default="application/geo+json")
    location: Mapped[dict[str, Any]] = mapped_column()
    properties: Mapped[dict[str, Any] | None] = mapped_column()
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)


class ThingLocation(Base):
    """The current Locations of a Thing (many-to-many, as the standard has it)."""

    __tablename__ = "iot_thing_location"

    thing_id: Mapped[int] = mapped_column(
        ForeignKey("iot_thing.id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[int] = mapped_column(
        ForeignKey("iot_location.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class HistoricalLocation(Base):
    """When a Thing was at its Locations; a new one each time its Locations change."""

    __tablename__ = "iot_historical_location"

    id: Mapped[int] = mapped_column(IntId, primary_key=True, autoincrement=True)
    thing_id: Mapped[int] = mapped_column(
        ForeignKey("iot_thing.id", ondelete="CASCADE"), index=True
    )
    time: Mapped[datetime] = mapped_column(default=utcnow)


class HistoricalLocationLocation(Base):
    """The Locations of one HistoricalLocation."""

    __tablename__ = "iot_historical_location_location"

    historical_location_id: Mapped[int] = mapped_column(
        ForeignKey("iot_historical_location.id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[int] = mapped_column(
        ForeignKey("iot_location.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Sensor(TimestampMixin, Base):
    """The instrument (or procedure) behind a Datastream."""

    __tablename__ = "iot_sensor"

    id: Mapped[int] = mapped_column(IntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100))
    sensor_metadata: Mapped[Any] = mapped_column("metadata", JSON)
    properties: Mapped[dict[str, Any] | None] = mapped_column()


class ObservedProperty(TimestampMixin, Base):
    """What is observed (water depth, PM2.5 …); ``definition`` is its URI."""

    __tablename__ = "iot_observed_property"

    id: Mapped[int] = mapped_column(IntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any] | None] = mapped_column()
    # The profile's short name (``water_depth``) that rules and device types use.
    code: Mapped[str | None] = mapped_column(String(64), unique=True)


class StreamColumns:
    """What a Datastream and a MultiDatastream share: their SensorThings properties, their
    Thing and Sensor, and the latest value kept on the row for maps and lists."""

    id: Mapped[int] = mapped_column(IntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    observation_type: Mapped[str] = mapped_column(String(200))
    observed_area: Mapped[dict[str, Any] | None] = mapped_column()
    phenomenon_time_start: Mapped[datetime | None] = mapped_column()
    phenomenon_time_end: Mapped[datetime | None] = mapped_column()
    result_time_start: Mapped[datetime | None] = mapped_column()
    result_time_end: Mapped[datetime | None] = mapped_column()
    properties: Mapped[dict[str, Any] | None] = mapped_column()
    thing_id: Mapped[int] = mapped_column(
        ForeignKey("iot_thing.id", ondelete="CASCADE"), index=True
    )
    sensor_id: Mapped[int] = mapped_column(ForeignKey("iot_sensor.id"), index=True)
    last_time: Mapped[datetime | None] = mapped_column()
    last_result: Mapped[Any] = mapped_column(JSON, nullable=True)


class Datastream(StreamColumns, TimestampMixin, Base):
    """A series of Observations of one property by one Sensor on one Thing."""

    __tablename__ = "iot_datastream"

    unit_of_measurement: Mapped[dict[str, Any]] = mapped_column()
    observed_property_id: Mapped[int] = mapped_column(
        ForeignKey("iot_observed_property.id"), index=True
    )


class MultiDatastream(StreamColumns, TimestampMixin, Base):
    """Several properties observed together (a weather station's one reading of wind speed
    and direction); each Observation's result is an array in ``observed_properties`` order."""

    __tablename__ = "iot_multi_datastream"

    multi_observation_data_types: Mapped[list[Any]] = mapped_column()
    unit_of_measurements: Mapped[list[Any]] = mapped_column()


class MultiDatastreamProperty(Base):
    """The ObservedProperties of a MultiDatastream, in the order of its results."""

    __tablename__ = "iot_multi_datastream_property"

    multi_datastream_id: Mapped[int] = mapped_column(
        ForeignKey("iot_multi_datastream.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    observed_property_id: Mapped[int] = mapped_column(
        ForeignKey("iot_observed_property.id"), index=True
    )


class FeatureOfInterest(TimestampMixin, Base):
    """What an Observation is about (by default, where its Thing was)."""

    __tablename__ = "iot_feature_of_interest"

    id: Mapped[int] = mapped_column(IntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100), default="application/geo+json")
    feature: Mapped[dict[str, Any]] = mapped_column()
    properties: Mapped[dict[str, Any] | None] = mapped_column()
    # The Location this feature was made from, so one location gives one feature.
    location_id: Mapped[int | None] = mapped_column(
        ForeignKey("iot_location.id", ondelete="SET NULL"), unique=True
    )


class Observation(Base):
    """One observation. Numbers go to ``result_number`` (what rules, rollups and charts
    read); anything else (text, booleans, arrays of a MultiDatastream, objects) to
    ``result_json``. No foreign keys: the ingest path checks streams itself, and keys on a
    partitioned table of this size would cost more than they guard."""

    __tablename__ = "iot_observation"
    __table_args__ = (
        Index(
            "uq_iot_observation_datastream_time",
            "datastream_id",
            "phenomenon_time",
            unique=True,
            postgresql_where=text("datastream_id IS NOT NULL"),
            sqlite_where=text("datastream_id IS NOT NULL"),
        ),
        Index(
            "uq_iot_observation_multi_time",
            "multi_datastream_id",
            "phenomenon_time",
            unique=True,
            postgresql_where=text("multi_datastream_id IS NOT NULL"),
            sqlite_where=text("multi_datastream_id IS NOT NULL"),
        ),
        {"postgresql_partition_by": "RANGE (phenomenon_time)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    phenomenon_time: Mapped[datetime] = mapped_column(primary_key=True)
    datastream_id: Mapped[int | None] = mapped_column(BigInteger)
    multi_datastream_id: Mapped[int | None] = mapped_column(BigInteger)
    phenomenon_time_end: Mapped[datetime | None] = mapped_column()
    result_time: Mapped[datetime | None] = mapped_column()
    result_number: Mapped[float | None] = mapped_column(Float)
    result_json: Mapped[Any] = mapped_column(JSON, nullable=True)
    result_quality: Mapped[Any] = mapped_column(JSON, nullable=True)
    valid_time_start: Mapped[datetime | None] = mapped_column()
    valid_time_end: Mapped[datetime | None] = mapped_column()
    parameters: Mapped[dict[str, Any] | None] = mapped_column()
    feature_of_interest_id: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rollup(Base):
    """min/max/sum/count of a Datastream's numeric results per bucket (60 s, 3600 s,
    86400 s), for charts over long ranges: folded from ``RollupDelta`` rows by the
    ``telemetry.rollup`` timer, seconds after the observations arrive."""

    __tablename__ = "iot_rollup"

    datastream_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    bucket_seconds: Mapped[int] = mapped_column(primary_key=True)
    bucket_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[float] = mapped_column(Float)
    minimum: Mapped[float] = mapped_column(Float)
    maximum: Mapped[float] = mapped_column(Float)


class RollupDelta(Base):
    """What one ingest batch adds to one Datastream's minute: appended by the batch (no
    index but the key, no conflict to resolve), folded into ``Rollup`` at every level and
    deleted by ``rollups.fold``. Keeps the ingest path to one plain insert for rollups."""

    __tablename__ = "iot_rollup_delta"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    datastream_id: Mapped[int] = mapped_column(BigInteger)
    bucket_start: Mapped[datetime] = mapped_column()
    count: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[float] = mapped_column(Float)
    minimum: Mapped[float] = mapped_column(Float)
    maximum: Mapped[float] = mapped_column(Float)
