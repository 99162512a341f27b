"""Parsing and normalising Chinese addresses."""

from __future__ import annotations

import pytest

from cityos.foundation.geo.address import ParsedAddress, chinese_number, normalise, parse


def levels(parsed: ParsedAddress) -> dict[str, str | None]:
    return {
        name: getattr(parsed, name)
        for name in (
            "province",
            "city",
            "district",
            "subdistrict",
            "community",
            "road",
            "number",
            "building",
            "unit",
            "room",
        )
    }


def test_the_issue_example_splits_into_every_level() -> None:
    parsed = parse("深圳市罗湖区东门街道城东社区人民南路3002号国际贸易中心大厦A座1201")
    assert levels(parsed) == {
        "province": "广东省",
        "city": "深圳市",
        "district": "罗湖区",
        "subdistrict": "东门街道",
        "community": "城东社区",
        "road": "人民南路",
        "number": "3002",
        "building": "国际贸易中心大厦",
        "unit": "A座",
        "room": "1201",
    }
    assert parsed.implied == ("province",)
    assert parsed.rest == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＡＢ１２", "AB12"),
        ("人民南路３００２號", "人民南路3002号"),
        ("人民南路三千零二号", "人民南路3002号"),
        ("十二栋二单元", "12栋2单元"),
        ("A座一二零一", "A座1201"),
        ("水贝万山一二零一", "水贝万山1201"),
        ("12楼零一", "12楼01"),
        ("3002号之1", "3002-1号"),
        ("3002之一号", "3002-1号"),
        ("3002—1号", "3002-1号"),
        ("東門街道辦事處", "东门街道"),
        ("城东社区居委会", "城东社区"),
        ("3棟5層", "3栋5层"),
        ("3幢", "3栋"),
        ("3号楼", "3栋"),
        ("3栋楼", "3栋"),
        ("第3栋", "3栋"),
        ("3座", "3栋"),
        ("a座", "A座"),
        ("1201房", "1201室"),
        ("1201号房", "1201室"),
        ("田贝1路", "田贝一路"),
        ("人民南路 3002 号，（国贸大厦）", "人民南路3002号国贸大厦"),
        ("三九大厦", "三九大厦"),
        ("百花二路", "百花二路"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("三千零二", "3002"),
        ("十二", "12"),
        ("二十", "20"),
        ("一百零一", "101"),
        ("两千", "2000"),
        ("一二零一", "1201"),
        ("〇一", "01"),
        ("东", None),
        ("零千", None),
    ],
)
def test_chinese_number(text: str, expected: str | None) -> None:
    assert chinese_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("人民南路3002号", {"road": "人民南路", "number": "3002"}),
        ("国贸大厦A座", {"building": "国贸大厦", "unit": "A座"}),
        (
            "布心路12号十二栋二单元12楼01",
            {"road": "布心路", "number": "12", "building": "12栋", "unit": "2单元", "room": "1201"},
        ),
        ("建设路1001号3栋2单元12层1201", {"building": "3栋", "unit": "2单元", "room": "1201"}),
        ("建设路1001号3栋12层08", {"building": "3栋", "room": "1208"}),
        ("人民南路3002号1201室", {"number": "3002", "room": "1201", "building": None}),
        ("人民南路3002号1201", {"number": "3002", "room": "1201"}),
        ("人民南路3002国贸大厦", {"road": "人民南路", "number": "3002", "building": "国贸大厦"}),
        ("人民南路国贸大厦A座1201室", {"road": "人民南路", "number": None, "unit": "A座"}),
        ("田贝一路8号", {"road": "田贝一路", "number": "8"}),
        ("清水河一路12号3栋", {"road": "清水河一路", "number": "12", "building": "3栋"}),
        ("东门中路1011号", {"road": "东门中路", "number": "1011"}),
        ("深南大道6008号", {"road": "深南大道", "number": "6008"}),
        ("人民南路3002-1号", {"number": "3002-1"}),
        ("东门中路2001号京基100", {"building": "京基100", "room": None}),
        ("东门中路1011号3号楼", {"building": "3栋"}),
    ],
)
def test_street_levels(text: str, expected: dict[str, str | None]) -> None:
    parsed = levels(parse(text))
    assert {key: parsed[key] for key in expected} == expected


def test_text_after_the_building_is_kept_apart() -> None:
    parsed = parse("人民南路3002号国贸大厦门口")
    assert parsed.building == "国贸大厦"
    assert parsed.rest == "门口"


def test_a_floor_without_a_room_stays_in_rest() -> None:
    parsed = parse("建设路2001号十二层")
    assert parsed.room is None
    assert parsed.rest == "12层"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("广东深圳罗湖区人民南路3002号", ("广东省", "深圳市", "罗湖区")),
        ("深圳罗湖东门中路1011号", ("广东省", "深圳市", "罗湖区")),
        ("罗湖区人民南路3002号", ("广东省", "深圳市", "罗湖区")),
        ("福田区深南大道6008号", ("广东省", "深圳市", "福田区")),
        ("广州市天河区天河路208号", ("广东省", "广州市", "天河区")),
        ("湖南省长沙市芙蓉区五一大道1号", ("湖南省", "长沙市", "芙蓉区")),
        ("北京市朝阳区建国路1号", (None, "北京市", "朝阳区")),
        ("湖南路5号", (None, None, None)),
        ("东门市场", (None, None, None)),
        ("罗湖口岸", (None, None, None)),
    ],
)
def test_administrative_levels(text: str, expected: tuple[str | None, ...]) -> None:
    parsed = parse(text)
    assert (parsed.province, parsed.city, parsed.district) == expected


def test_subdistrict_office_and_residents_committee_are_levels() -> None:
    parsed = parse("东门街道办事处城东社区居委会人民南路3002号")
    assert (parsed.subdistrict, parsed.community, parsed.road) == (
        "东门街道",
        "城东社区",
        "人民南路",
    )


def test_empty_text() -> None:
    parsed = parse("  ，。 ")
    assert parsed.normalised == ""
    assert parsed.road is None
    assert parsed.building is None
