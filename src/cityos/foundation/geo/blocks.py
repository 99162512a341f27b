"""Block data (区块数据): any records with a place, aggregated by grid, community,
subdistrict or H3 cell.

One function for every module: cases per grid, sensors per community, applications per
subdistrict. Records come as points (located here, vectorised) or as region codes they
already carry (a case knows its grid). Region codes nest by prefix (grid → community →
subdistrict), which the profile's topology check guarantees, so rolling codes up is a
string slice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import h3
import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from cityos.foundation.geo.index import region_index
from cityos.kernel.errors import ValidationFailed

BlockLevel = Literal["subdistrict", "community", "grid", "h3"]
CODE_LENGTH = {"subdistrict": 9, "community": 12, "grid": 15}
H3_RESOLUTIONS = range(5, 13)


@dataclass(frozen=True)
class Block:
    """One cell of an aggregation: a region (with names) or an H3 cell."""

    key: str
    name_zh: str | None
    name_en: str | None
    count: int
    sum: float | None
    latest: datetime | None


@dataclass(frozen=True)
class Aggregation:
    level: BlockLevel
    blocks: list[Block]
    outside: int


def aggregate(
    session: Session,
    *,
    level: BlockLevel,
    lons: npt.ArrayLike | None = None,
    lats: npt.ArrayLike | None = None,
    codes: Sequence[str] | None = None,
    values: Sequence[float | None] | None = None,
    times: Sequence[datetime | None] | None = None,
    h3_resolution: int = 9,
) -> Aggregation:
    """Count, sum and latest time of records per block, busiest block first.

    Give each record's place as WGS84 ``lons``/``lats`` or as a region ``codes`` (a grid, or
    any region at or below ``level``). ``values`` are summed (``None`` skipped); ``times``
    give each block's latest. Records outside the district are counted in ``outside``.
    H3 cells need points.
    """
    keys = _keys(
        session, level=level, lons=lons, lats=lats, codes=codes, h3_resolution=h3_resolution
    )
    n = len(keys)
    if values is not None and len(values) != n:
        raise _invalid("values", "one value per record")
    if times is not None and len(times) != n:
        raise _invalid("times", "one time per record")
    counts: dict[str, int] = {}
    sums: dict[str, float] = {}
    latest: dict[str, datetime] = {}
    outside = 0
    for i, key in enumerate(keys):
        if key is None:
            outside += 1
            continue
        counts[key] = counts.get(key, 0) + 1
        if values is not None and values[i] is not None:
            sums[key] = sums.get(key, 0.0) + float(values[i])  # type: ignore[arg-type]
        if times is not None:
            at = times[i]
            if at is not None and (key not in latest or at > latest[key]):
                latest[key] = at
    refs = region_index(session).refs if level != "h3" else {}
    blocks = [
        Block(
            key=key,
            name_zh=refs[key].name_zh if key in refs else None,
            name_en=refs[key].name_en if key in refs else None,
            count=count,
            sum=sums.get(key) if values is not None else None,
            latest=latest.get(key),
        )
        for key, count in counts.items()
    ]
    blocks.sort(key=lambda block: (-block.count, block.key))
    return Aggregation(level=level, blocks=blocks, outside=outside)


def _keys(
    session: Session,
    *,
    level: BlockLevel,
    lons: npt.ArrayLike | None,
    lats: npt.ArrayLike | None,
    codes: Sequence[str] | None,
    h3_resolution: int,
) -> list[str | None]:
    if (codes is None) == (lons is None or lats is None):
        raise ValidationFailed(
            "give each record's place either as points (lons and lats) or as region codes",
            code="place_required",
        )
    if codes is not None:
        if level == "h3":
            raise _invalid("level", "H3 cells need points, not region codes")
        length = CODE_LENGTH[level]
        known = region_index(session).refs
        keys: list[str | None] = []
        for code in codes:
            if len(code) < length or code not in known:
                raise _invalid("codes", f"{code!r} is not a known region at or below {level}")
            keys.append(code[:length])
        return keys
    lon_array = np.asarray(lons, dtype=np.float64).ravel()
    lat_array = np.asarray(lats, dtype=np.float64).ravel()
    if lon_array.shape != lat_array.shape:
        raise _invalid("lats", "as many latitudes as longitudes")
    index = region_index(session)
    if level == "h3":
        if h3_resolution not in H3_RESOLUTIONS:
            raise _invalid("h3_resolution", f"between {H3_RESOLUTIONS[0]} and {H3_RESOLUTIONS[-1]}")
        inside = index.locate_many(lon_array, lat_array, level="district") >= 0
        return [
            h3.latlng_to_cell(lat, lon, h3_resolution) if ok else None
            for lon, lat, ok in zip(
                lon_array.tolist(), lat_array.tolist(), inside.tolist(), strict=True
            )
        ]
    found = index.locate_many(lon_array, lat_array, level=level)
    region_codes = index.codes(level)
    return [region_codes[i] if i >= 0 else None for i in found.tolist()]


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {message}",
        code="invalid_aggregation",
        errors=[{"field": field, "message": message}],
    )
