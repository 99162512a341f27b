"""The service-item catalogue (事项清单) of the Luohu profile: loaded and checked from the
profile, open to everyone, searchable by keyword, life event, department, type and
applicant; bad definitions refused with their place named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import ValidationError

from cityos.domains.onestop.definition import ItemsFile
from cityos.kernel import profiles
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime

LUOHU = Path(__file__).parents[3] / "src/cityos/profiles/luohu"
ITEMS = LUOHU / "packs/onestop/items.yaml"


@pytest.fixture
def catalogue(runtime: Runtime, client: TestClient, registry: Registry) -> None:
    with runtime.unit_of_work() as session:
        profiles.load(
            session,
            root=LUOHU,
            registry=Registry((registry.by_name("identity"), registry.by_name("onestop"))),
            settings=runtime.settings,
        )


def _items(client: TestClient, **params: str) -> list[dict[str, object]]:
    answer = client.get("/api/v1/onestop/items", params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


@pytest.mark.usefixtures("catalogue")
def test_the_luohu_catalogue_is_open_to_everyone_and_marked_demo(client: TestClient) -> None:
    everything = _items(client)
    assert len(everything) >= 40
    assert all(item["demo"] for item in everything)
    assert len({item["department"] for item in everything}) >= 6
    assert {"行政许可", "行政确认", "行政给付", "公共服务"} <= {item["type"] for item in everything}


@pytest.mark.usefixtures("catalogue")
def test_opening_a_restaurant_gathers_the_items_of_several_departments(
    client: TestClient,
) -> None:
    restaurant = _items(client, life_event="开餐馆")
    assert len(restaurant) >= 4
    assert len({item["department"] for item in restaurant}) >= 3
    events = client.get("/api/v1/onestop/life-events").json()
    assert {"name": "开餐馆", "items": len(restaurant)} in events


@pytest.mark.usefixtures("catalogue")
def test_keywords_department_type_and_applicant_narrow_the_list(client: TestClient) -> None:
    food = _items(client, q="食品经营")
    assert food
    assert all("食品经营" in str(item["name"]) for item in food)
    assert _items(client, q="食品经营 不存在的词") == []
    market = _items(client, department="market-regulation")
    assert market
    assert {item["department"] for item in market} == {"market-regulation"}
    permits = _items(client, type="行政许可", applicant="enterprise")
    assert permits
    assert all(i["type"] == "行政许可" and "enterprise" in i["applicant"] for i in permits)


@pytest.mark.usefixtures("catalogue")
def test_an_item_in_full_carries_its_form_and_what_replaces_its_materials(
    client: TestClient,
) -> None:
    (food, *_) = _items(client, q="食品经营")
    item = client.get(f"/api/v1/onestop/items/{food['code']}").json()
    definition = item["definition"]
    assert definition["form"]["type"] == "object"
    assert item["promised_days"] <= item["legal_days"]
    assert definition["legal_basis"]
    replaced = [m for m in definition["materials"] if m.get("replaced_by")]
    assert replaced, "a food licence should take the business licence from the e-licence store"
    missing = client.get("/api/v1/onestop/items/NO-SUCH-ITEM")
    assert (missing.status_code, missing.json()["code"]) == (404, "service_item_not_found")


def test_bad_items_are_refused_with_their_place(registry: Registry, tmp_path: Path) -> None:
    good = yaml.safe_load(ITEMS.read_text("utf-8"))["items"][0]
    for broken, message in (
        ({**good, "promised_days": good["legal_days"] + 1}, "cannot exceed the legal one"),
        ({**good, "form": {"type": "object", "required": "name"}}, "not a JSON Schema"),
    ):
        with pytest.raises(ValidationError, match=message):
            ItemsFile.model_validate({"items": [broken]})
    root = tmp_path / "profile"
    (root / "packs" / "onestop").mkdir(parents=True)
    for name in ("roles.yaml", "departments.yaml"):
        shutil.copy(LUOHU / name, root / name)
    text = yaml.safe_dump({"items": [{**good, "department": "no-such-unit"}]}, allow_unicode=True)
    (root / "packs" / "onestop" / "items.yaml").write_text(text, encoding="utf-8")
    issues = profiles.validate(
        root, Registry((registry.by_name("identity"), registry.by_name("onestop")))
    )
    assert [(i.file, i.message) for i in issues] == [
        ("packs/onestop/items.yaml", "unknown department 'no-such-unit'")
    ]
    assert issues[0].line is not None
