"""The process's gazetteer: the standard-address library loaded from the database for the
geocoder, rebuilt when the library or the region names change."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.foundation.geo.geocode import AddressRecord, Gazetteer
from cityos.foundation.geo.models import Region, StandardAddress

_lock = threading.Lock()
_cache: dict[str, tuple[object, Gazetteer]] = {}


def _version(session: Session) -> tuple[int, datetime | None, int, datetime | None]:
    addresses = session.execute(select(func.count(), func.max(StandardAddress.updated_at))).one()
    regions = session.execute(select(func.count(), func.max(Region.updated_at))).one()
    return (int(addresses[0]), addresses[1], int(regions[0]), regions[1])


def gazetteer(session: Session) -> Gazetteer:
    """The gazetteer of the database ``session`` talks to (cached per process)."""
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    version = _version(session)
    cached = _cache.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        rows = session.execute(select(Region.code, Region.name_zh).where(Region.level != "grid"))
        names = {row.code: row.name_zh for row in rows}
        district = next((code for code in names if len(code) == 6), "440303")
        records = [
            AddressRecord(
                code=row.code,
                road=row.road,
                number=row.number,
                building=row.building,
                unit=row.unit,
                subdistrict=row.subdistrict_code,
                community=row.community_code,
                grid=row.grid_code,
                lon=row.lon,
                lat=row.lat,
            )
            for row in session.execute(
                select(
                    StandardAddress.code,
                    StandardAddress.road,
                    StandardAddress.number,
                    StandardAddress.building,
                    StandardAddress.unit,
                    StandardAddress.subdistrict_code,
                    StandardAddress.community_code,
                    StandardAddress.grid_code,
                    StandardAddress.lon,
                    StandardAddress.lat,
                )
            )
        ]
        built = Gazetteer(records, names=names, district=district)
        _cache[key] = (version, built)
        return built
