"""Block data: records with a place, counted per grid, community, subdistrict or H3 cell."""

from __future__ import annotations

from datetime import UTC, datetime

import h3
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityos.foundation.geo import aggregate, locate
from cityos.kernel.errors import ValidationFailed

# Points of the test district (see fixtures/profile/geo): two in one grid, one elsewhere.
A = (114.1024, 22.5382)
B = (114.1030, 22.5385)
C = (114.1350, 22.5500)
OUTSIDE = (113.9, 22.5)


def test_points_are_counted_summed_and_dated_per_grid(geo_loaded: Session) -> None:
    grid_a = locate(geo_loaded, lon=A[0], lat=A[1])
    grid_c = locate(geo_loaded, lon=C[0], lat=C[1])
    assert grid_a is not None
    assert grid_c is not None
    assert grid_a.grid is not None
    assert grid_c.grid is not None
    points = [A, B, C, OUTSIDE]
    early, late = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    result = aggregate(
        geo_loaded,
        level="grid",
        lons=[p[0] for p in points],
        lats=[p[1] for p in points],
        values=[2.0, 3.5, None, 9.0],
        times=[early, late, None, late],
    )
    assert result.outside == 1
    first, second = result.blocks
    assert (first.key, first.count, first.sum, first.latest) == (grid_a.grid.code, 2, 5.5, late)
    assert first.name_zh == grid_a.grid.name_zh
    assert (second.key, second.count, second.sum, second.latest) == (
        grid_c.grid.code,
        1,
        None,
        None,
    )


def test_codes_roll_up_to_the_level_asked(geo_loaded: Session) -> None:
    codes = ["440303001001001", "440303001001002", "440303001002001", "440303002001001"]
    by_community = aggregate(geo_loaded, level="community", codes=codes)
    assert [(b.key, b.count) for b in by_community.blocks] == [
        ("440303001001", 2),
        ("440303001002", 1),
        ("440303002001", 1),
    ]
    by_subdistrict = aggregate(geo_loaded, level="subdistrict", codes=codes)
    assert [(b.key, b.count) for b in by_subdistrict.blocks] == [
        ("440303001", 3),
        ("440303002", 1),
    ]


def test_points_and_codes_agree(geo_loaded: Session) -> None:
    rng = np.random.default_rng(7)
    lons = rng.uniform(114.10, 114.14, 2000)
    lats = rng.uniform(22.53, 22.56, 2000)
    by_points = aggregate(geo_loaded, level="community", lons=lons, lats=lats)
    grids = aggregate(geo_loaded, level="grid", lons=lons, lats=lats)
    codes = [b.key for b in grids.blocks for _ in range(b.count)]
    by_codes = aggregate(geo_loaded, level="community", codes=codes)
    assert {(b.key, b.count) for b in by_points.blocks} == {
        (b.key, b.count) for b in by_codes.blocks
    }


def test_h3_cells(geo_loaded: Session) -> None:
    result = aggregate(
        geo_loaded,
        level="h3",
        lons=[A[0], B[0], OUTSIDE[0]],
        lats=[A[1], B[1], OUTSIDE[1]],
        h3_resolution=7,
    )
    assert result.outside == 1
    assert [(b.key, b.count) for b in result.blocks] == [(h3.latlng_to_cell(A[1], A[0], 7), 2)]


def test_bad_requests_are_refused(geo_loaded: Session) -> None:
    with pytest.raises(ValidationFailed, match="either as points"):
        aggregate(geo_loaded, level="grid")
    with pytest.raises(ValidationFailed, match="not a known region"):
        aggregate(geo_loaded, level="community", codes=["440303001"])
    with pytest.raises(ValidationFailed, match="H3 cells need points"):
        aggregate(geo_loaded, level="h3", codes=["440303001001001"])
    with pytest.raises(ValidationFailed, match="one value per record"):
        aggregate(geo_loaded, level="grid", lons=[A[0]], lats=[A[1]], values=[1.0, 2.0])


def test_the_aggregate_api(client: TestClient, geo_loaded: Session) -> None:
    geo_loaded.commit()
    body = client.post(
        "/api/v1/geo/aggregate",
        json={
            "level": "subdistrict",
            "records": [
                {"lon": A[0], "lat": A[1], "value": 1, "time": "2026-11-20T08:00:00Z"},
                {"lon": B[0], "lat": B[1], "value": 2},
                {"lon": OUTSIDE[0], "lat": OUTSIDE[1]},
            ],
        },
    ).json()
    assert body["outside"] == 1
    assert body["blocks"] == [
        {
            "key": "440303001",
            "name": body["blocks"][0]["name"],
            "count": 2,
            "sum": 3.0,
            "latest": "2026-11-20T08:00:00+00:00",
        }
    ]
    bad = client.post("/api/v1/geo/aggregate", json={"level": "grid", "records": [{"lon": 114.1}]})
    assert bad.status_code == 422
    assert bad.json()["code"] == "place_required"
    wrong = client.post("/api/v1/geo/aggregate", json={"level": "block", "records": []})
    assert wrong.status_code == 422
    assert "body.level" in {e["field"] for e in wrong.json()["errors"]}
