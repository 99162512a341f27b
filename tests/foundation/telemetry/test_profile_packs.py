"""Device types and devices from the district profile's packs: validated with file and
place, loaded in bulk onto the region tree, reloaded without duplicates, and generated
deterministically by ``scripts/generate_luohu_devices.py``."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.foundation.geo import regions_section
from cityos.foundation.telemetry.models import (
    Datastream,
    DeviceType,
    HistoricalLocation,
    Location,
    ObservedProperty,
    Sensor,
    Thing,
    ThingLocation,
)
from cityos.foundation.telemetry.packs import device_types_section, devices_section
from cityos.kernel import profiles
from cityos.kernel.registry import Module, Registry
from cityos.settings import Settings

LUOHU = profiles.PROFILES_DIR / "luohu"
SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "generate_luohu_devices.py"
PACKS = ("flood", "fire", "city", "traffic")
SENSING = Registry(
    (
        Module(name="regions", profile_sections=(regions_section,)),
        Module(name="sensing", profile_sections=(device_types_section, devices_section)),
    )
)


@pytest.fixture
def sensing_profile(tmp_path: Path) -> Path:
    """The Luohu regions and the sensing packs, without what these sections do not read."""
    root = tmp_path / "luohu"
    (root / "geo").mkdir(parents=True)
    for name in ("district", "subdistricts", "communities", "grids"):
        shutil.copy(LUOHU / "geo" / f"{name}.geojson", root / "geo")
    for pack in PACKS:
        (root / "packs" / pack).mkdir(parents=True)
        for name in ("device-types.yaml", "devices.geojson"):
            shutil.copy(LUOHU / "packs" / pack / name, root / "packs" / pack)
    return root


def _features() -> list[dict[str, Any]]:
    return [
        feature
        for pack in PACKS
        for feature in json.loads((LUOHU / "packs" / pack / "devices.geojson").read_text())[
            "features"
        ]
    ]


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_luohu_packs_load_onto_the_region_tree(
    session: Session, sensing_profile: Path, settings: Settings
) -> None:
    result = profiles.load(session, root=sensing_profile, registry=SENSING, settings=settings)

    features = _features()
    per_type = Counter(f["properties"]["device_type"] for f in features)
    assert 1000 <= len(features) <= 2000
    assert result.summary["devices"] == len(features)
    assert result.summary["device_types"] == 10
    types = {t.code: t for t in session.scalars(select(DeviceType))}
    assert set(per_type) == set(types)
    streams = sum(n * len(types[code].observes) for code, n in per_type.items())
    assert result.summary["datastreams"] == streams == _count(session, Datastream)
    assert _count(session, Sensor) == 10
    assert _count(session, Location) == _count(session, ThingLocation) == len(features)
    assert _count(session, HistoricalLocation) == len(features)
    unplaced = session.scalars(select(Thing.code).where(Thing.region_code.is_(None))).all()
    assert unplaced == []
    assert session.scalar(select(func.min(func.length(Thing.region_code)))) == 15
    assert session.scalars(select(Thing.synthetic).distinct()).all() == [True]
    rows = session.execute(
        select(ObservedProperty.code, Datastream.unit_of_measurement).join(
            Datastream, Datastream.observed_property_id == ObservedProperty.id
        )
    ).all()
    units = dict(rows)
    assert units["water_depth"]["symbol"] == "cm"
    assert units["smoke"] == {"name": None, "symbol": None, "definition": None}
    assert types["waterlogging-gauge"].interval_seconds == 300
    assert types["smoke-detector"].interval_seconds == 3600


def test_a_changed_pack_updates_in_place(
    session: Session, sensing_profile: Path, settings: Settings
) -> None:
    profiles.load(session, root=sensing_profile, registry=SENSING, settings=settings)
    path = sensing_profile / "packs" / "flood" / "devices.geojson"
    document = json.loads(path.read_text(encoding="utf-8"))
    renamed, moved = document["features"][0], document["features"][1]
    renamed["properties"]["name"] = "改名的设备"
    old_region = session.scalars(
        select(Thing.region_code).where(Thing.code == moved["properties"]["code"])
    ).one()
    moved["geometry"]["coordinates"] = [114.165, 22.585]  # 东湖 (north-east)
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    types = sensing_profile / "packs" / "flood" / "device-types.yaml"
    types.write_text(
        types.read_text(encoding="utf-8").replace("interval: 5 min", "interval: 10 min", 1),
        encoding="utf-8",
    )
    before = {model: _count(session, model) for model in (Thing, Datastream, Location)}
    histories = _count(session, HistoricalLocation)

    again = profiles.load(session, root=sensing_profile, registry=SENSING, settings=settings)

    assert again.summary == {"device_types_updated": 1, "devices_updated": 2}
    assert {model: _count(session, model) for model in before} == before
    assert _count(session, HistoricalLocation) == histories + 1
    thing = session.scalars(select(Thing).where(Thing.code == renamed["properties"]["code"])).one()
    assert thing.name == "改名的设备"
    new_region = session.scalars(
        select(Thing.region_code).where(Thing.code == moved["properties"]["code"])
    ).one()
    assert new_region != old_region


def test_faults_name_their_file_and_place(sensing_profile: Path) -> None:
    types = sensing_profile / "packs" / "fire" / "device-types.yaml"
    text = types.read_text(encoding="utf-8").replace("interval: 15 min", "interval: soon")
    types.write_text(text, encoding="utf-8")
    path = sensing_profile / "packs" / "city" / "devices.geojson"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["features"][0]["properties"]["device_type"] = "ufo-detector"
    document["features"][2]["properties"]["code"] = document["features"][1]["properties"]["code"]
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    issues = profiles.validate(sensing_profile, SENSING)

    found = {(i.file, i.line, i.where) for i in issues}
    line = text.splitlines().index("    interval: soon") + 1
    assert ("packs/fire/device-types.yaml", line, "device_types.1.interval") in found
    # The devices are checked against the types only once the types are valid.
    types.write_text(text.replace("interval: soon", "interval: 15 min"), encoding="utf-8")
    messages = {(i.file, i.where): i.message for i in profiles.validate(sensing_profile, SENSING)}
    city = "packs/city/devices.geojson"
    assert "ufo-detector" in messages[(city, "features.0.properties.device_type")]
    assert "also in" in messages[(city, "features.2.properties.code")]


def test_a_truth_observation_takes_no_unit(sensing_profile: Path) -> None:
    types = sensing_profile / "packs" / "fire" / "device-types.yaml"
    text = types.read_text(encoding="utf-8").replace(
        "        type: truth",
        '        type: truth\n        unit: {name: x, symbol: x, definition: "x"}',
    )
    types.write_text(text, encoding="utf-8")
    issues = profiles.validate(sensing_profile, SENSING)
    assert [i.file for i in issues] == ["packs/fire/device-types.yaml"]
    assert "no unit" in issues[0].message


def test_the_generator_makes_the_shipped_files() -> None:
    spec = importlib.util.spec_from_file_location("generate_luohu_devices", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_luohu_devices"] = module
    spec.loader.exec_module(module)
    files = module.generate()
    assert sorted(files) == sorted(PACKS)
    for pack, content in files.items():
        assert (LUOHU / "packs" / pack / "devices.geojson").read_bytes() == content, pack
