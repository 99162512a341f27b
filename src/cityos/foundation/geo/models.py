"""Tables of the district's geography: regions, standard addresses, layers and their features.

Geometries are GeoJSON (WGS84 lon/lat) in a JSON column, with their bounding box in plain
columns, so the same models and queries work on SQLite and PostgreSQL. The spatial indexes
are not mapped here, because each database has its own kind (see ``migrations/geo_0001``):

- PostgreSQL with PostGIS: a ``geom geometry(Geometry, 4326)`` column and a GiST index
  ``ix_<table>_geom`` on ``region``, ``standard_address`` and ``geo_feature``;
- SQLite: R*Tree tables ``standard_address_rtree`` and ``geo_feature_rtree``.

Triggers created by that migration keep them in step with every INSERT, UPDATE and DELETE,
so code writes only the columns below, through the ORM or in bulk, and cannot forget them.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityos.kernel.db import Base, IdMixin, TimestampMixin

Level = Literal["district", "subdistrict", "community", "grid"]
LEVELS: tuple[Level, ...] = ("district", "subdistrict", "community", "grid")


class BboxMixin:
    """A bounding box in degrees, for coarse filtering where no spatial index exists."""

    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)


class Region(TimestampMixin, Base):
    """A district, subdistrict (街道), community (社区) or unit grid (网格), by its code."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    synthetic: Mapped[bool] = mapped_column(default=False)
    geometry: Mapped[dict[str, Any]]
    min_lon: Mapped[float] = mapped_column(Float, index=True)
    min_lat: Mapped[float] = mapped_column(Float, index=True)
    max_lon: Mapped[float] = mapped_column(Float, index=True)
    max_lat: Mapped[float] = mapped_column(Float, index=True)
    area_m2: Mapped[float] = mapped_column(Float)
    centroid_lon: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)


class StandardAddress(TimestampMixin, Base):
    """A standard address (标准地址): a door plate with its building, unit, regions and point.

    The full text (city, district, subdistrict and community names, road, number 号,
    building, unit) is derived, never stored; ``search_text`` is the normalised part that
    tells addresses apart, for the geocoder's matching.
    """

    __tablename__ = "standard_address"

    code: Mapped[str] = mapped_column(String(19), primary_key=True)
    road: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(20))
    building: Mapped[str] = mapped_column(String(100), default="")
    unit: Mapped[str] = mapped_column(String(50), default="")
    subdistrict_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    community_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    grid_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    synthetic: Mapped[bool] = mapped_column(default=False)
    search_text: Mapped[str] = mapped_column(String(300), index=True)


class Layer(TimestampMixin, Base):
    """A GeoJSON layer from the profile (landmarks, shelters, hydrants …) and its properties."""

    __tablename__ = "geo_layer"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title_zh: Mapped[str] = mapped_column(String(100))
    title_en: Mapped[str] = mapped_column(String(200))
    geometry_type: Mapped[str] = mapped_column(String(16))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    synthetic: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(255))
    sort: Mapped[int] = mapped_column(default=0)


class Feature(IdMixin, BboxMixin, TimestampMixin, Base):
    """One feature of a layer. ``key`` is its GeoJSON ``id`` (or its index in the file),
    which identifies it across profile loads; ``lon``/``lat`` are set for points."""

    __tablename__ = "geo_feature"
    __table_args__ = (UniqueConstraint("layer_id", "key"),)

    layer_id: Mapped[str] = mapped_column(ForeignKey("geo_layer.id"), index=True)
    key: Mapped[str] = mapped_column(String(128))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    geometry: Mapped[dict[str, Any]]
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
