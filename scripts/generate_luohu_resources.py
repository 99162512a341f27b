"""Generate the emergency resources of the Luohu profile's flood pack (三防应急资源).

Writes ``src/cityos/profiles/luohu/packs/flood/resources.geojson``: one Point per resource
with ``code``, ``type``, ``kind``, ``name``/``name_en``, ``department``, ``capacity``,
``quantity``/``unit`` and ``synthetic: true``. Every resource is synthetic (the district's
real depots and teams are not published), placed from the profile's own geography:

- shelters: the 40 synthetic shelters of ``geo/layers/shelters.geojson``, with their capacity
  (civil affairs opens them);
- drainage teams and pump trucks (water affairs): beside every fourth and every sixth
  flood-prone spot of ``geo/layers/flood_points.geojson``;
- rescue teams (emergency management): at each odd subdistrict's centre;
- sandbag stocks (urban management): beside every tenth flood-prone spot.

Run: ``.venv/bin/python scripts/generate_luohu_resources.py`` (rewrites the file) or with
``--check`` (exit status 1 when the file is not what the generator makes). Deterministic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shapely.geometry import shape

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "src" / "cityos" / "profiles" / "luohu"
TARGET = PROFILE / "packs" / "flood" / "resources.geojson"
# About 40 m east and north: a depot stands beside the spot it serves, not on it.
NUDGE = (0.0004, 0.0003)


def _features(name: str) -> list[dict[str, Any]]:
    document = json.loads((PROFILE / "geo" / name).read_text("utf-8"))
    return list(document["features"])


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def _resource(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {**properties, "synthetic": True},
    }


def generate() -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    for n, shelter in enumerate(_features("layers/shelters.geojson"), start=1):
        props = shelter["properties"]
        features.append(
            _resource(
                shelter["geometry"],
                code=f"SH-{n:02d}",
                type="shelter",
                kind="shelter",
                name=props["name"],
                name_en=props["name_en"],
                department="civil-affairs",
                capacity=props["capacity"],
            )
        )
    spots = _features("layers/flood_points.geojson")
    for label, type_, kind, department, every, extra in (
        ("排涝抢险队", "drainage-team", "team", "water-affairs", 4, {"capacity": 12}),
        ("移动排涝泵车", "pump-truck", "vehicle", "water-affairs", 6, {}),
        ("防汛沙袋储备点", "sandbags", "material", "urban-management", 10, {}),
    ):
        english = {
            "drainage-team": "Drainage team",
            "pump-truck": "Mobile pump truck",
            "sandbags": "Sandbag stock",
        }[type_]
        prefix = {"drainage-team": "DT", "pump-truck": "PT", "sandbags": "SB"}[type_]
        for n, spot in enumerate(spots[::every], start=1):
            lon, lat = spot["geometry"]["coordinates"]
            quantity = {"quantity": 2000, "unit": "袋"} if type_ == "sandbags" else {}
            features.append(
                _resource(
                    _point(lon + NUDGE[0], lat + NUDGE[1]),
                    code=f"{prefix}-{n:02d}",
                    type=type_,
                    kind=kind,
                    name=f"{label} {prefix}{n:02d}（模拟）",
                    name_en=f"{english} {prefix}{n:02d} (synthetic)",
                    department=department,
                    **extra,
                    **quantity,
                )
            )
    for n, subdistrict in enumerate(_features("subdistricts.geojson")[::2], start=1):
        centre = shape(subdistrict["geometry"]).representative_point()
        name = subdistrict["properties"]["name_zh"]
        features.append(
            _resource(
                _point(centre.x, centre.y),
                code=f"RT-{n:02d}",
                type="rescue-team",
                kind="team",
                name=f"{name}应急救援队（模拟）",
                name_en=f"{subdistrict['properties']['name_en']} rescue team (synthetic)",
                department="emergency-management",
                capacity=30,
            )
        )
    return {
        "type": "FeatureCollection",
        "name": "flood resources",
        "synthetic": True,
        "features": features,
    }


def render(document: dict[str, Any]) -> str:
    """One feature a line, as the profile's other GeoJSON files are written."""
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in document["features"]]
    head = json.dumps({k: v for k, v in document.items() if k != "features"}, ensure_ascii=False)
    return head[:-1] + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    text = render(generate())
    if args.check:
        if TARGET.read_text("utf-8") != text:
            print(f"{TARGET} is not what the generator makes; run it again", file=sys.stderr)
            sys.exit(1)
        return
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
