"""Geocoding against the standard-address library: answers, safety and accuracy.

The accuracy tests write each standard address the ways people do (levels left out,
full-width digits, Chinese numerals, traditional characters, spaces and commas, room
numbers, other names of a building) and check how many come back as the right address;
then they check the safety promises on wrong door numbers, contradicting communities,
other districts and typing slips. They run on the fixture library and, once the Luohu
profile has its generated library, on a sample of 2,000 of its rows.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from cityos.foundation.geo.geocode import (
    DEFAULT_ALIASES,
    AddressRecord,
    Gazetteer,
    GeocodeResult,
    read_standard_addresses,
)

FIXTURES = Path(__file__).parent / "fixtures"
PROFILE = Path(__file__).parents[3] / "src" / "cityos" / "profiles" / "luohu" / "geo"


def read_names(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as handle:
        return {row["code"]: row["name_zh"] for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def names() -> dict[str, str]:
    return read_names(FIXTURES / "geocode_regions.csv")


@pytest.fixture(scope="module")
def records() -> list[AddressRecord]:
    return read_standard_addresses(FIXTURES / "geocode_addresses.csv")


@pytest.fixture(scope="module")
def gazetteer(records: list[AddressRecord], names: dict[str, str]) -> Gazetteer:
    return Gazetteer(records, names=names)


def code_of(records: list[AddressRecord], road: str, number: str, building: str, unit: str) -> str:
    (record,) = [
        r
        for r in records
        if (r.road, r.number, r.building, r.unit) == (road, number, building, unit)
    ]
    return record.code


# -- answers --------------------------------------------------------------------------------


def test_the_issue_example_is_matched_with_its_point_and_chain(
    gazetteer: Gazetteer, records: list[AddressRecord]
) -> None:
    result = gazetteer.geocode("深圳市罗湖区东门街道城东社区人民南路3002号国际贸易中心大厦A座1201")
    expected = code_of(records, "人民南路", "3002", "国际贸易中心大厦", "A座")
    assert result.status == "matched"
    assert result.code == expected
    assert result.confidence >= 0.95
    assert result.precision == "exact"
    assert result.regions is not None
    assert (result.regions.district, result.regions.subdistrict, result.regions.community) == (
        "440303",
        "440303003",
        "440303003001",
    )
    assert result.regions.grid == "440303003001001"
    record = gazetteer.record(expected)
    assert record is not None
    assert result.point == (record.lon, record.lat)
    assert result.address == "深圳市罗湖区东门街道城东社区人民南路3002号国际贸易中心大厦A座"
    assert result.parsed.room == "1201"
    assert result.candidates == ()


def test_a_door_alone_matches_the_door(gazetteer: Gazetteer, records: list[AddressRecord]) -> None:
    result = gazetteer.geocode("人民南路3002号")
    assert result.status == "matched"
    assert result.code == code_of(records, "人民南路", "3002", "国际贸易中心大厦", "")
    assert result.precision == "door"
    bare = gazetteer.geocode("人民南路3020号")
    assert bare.code == code_of(records, "人民南路", "3020", "", "")
    assert bare.precision == "exact"


def test_a_well_known_building_name_alone(
    gazetteer: Gazetteer, records: list[AddressRecord]
) -> None:
    result = gazetteer.geocode("国贸大厦A座")
    assert result.status == "matched"
    assert result.code == code_of(records, "人民南路", "3002", "国际贸易中心大厦", "A座")
    assert gazetteer.geocode("地王大厦B座").code == code_of(
        records, "深南东路", "5002", "信兴广场", "B座"
    )


def test_callers_add_aliases(records: list[AddressRecord], names: dict[str, str]) -> None:
    plain = Gazetteer(records, names=names)
    assert plain.geocode("湖贝大楼").status != "matched"
    with_alias = Gazetteer(records, names=names, aliases={"湖贝大楼": "湖贝大厦"})
    result = with_alias.geocode("湖贝大楼")
    assert result.status == "matched"
    assert result.code == code_of(records, "文锦中路", "1001", "湖贝大厦", "")


def test_a_building_name_at_two_doors_is_unsure(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("金城大厦")
    assert result.status == "unsure"
    assert result.reason == "ambiguous"
    assert {c.address[-13:] for c in result.candidates} >= {
        "人民南路3018号金城大厦",
        "宝安南路1088号金城大厦",
    }


def test_a_different_door_number_is_never_a_match(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("人民南路3021号")
    assert result.status == "not_found"
    assert result.reason == "number_not_found"
    assert result.candidates[0].address.endswith("人民南路3020号")
    assert all("number" in c.conflicts for c in result.candidates)
    assert all(c.score <= 0.45 for c in result.candidates)


def test_3002_is_not_3020(gazetteer: Gazetteer, records: list[AddressRecord]) -> None:
    assert gazetteer.geocode("人民南路3020号").code == code_of(records, "人民南路", "3020", "", "")
    assert gazetteer.geocode("人民南路3002号").code != code_of(records, "人民南路", "3020", "", "")


def test_a_sub_number_is_unsure_with_the_main_door(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("人民南路3002号之一")
    assert result.status == "unsure"
    assert result.candidates[0].address.startswith("深圳市罗湖区东门街道城东社区人民南路3002号")
    assert "number" in result.candidates[0].conflicts


def test_a_contradicting_community_is_not_matched(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("南湖街道嘉北社区人民南路3002号国贸大厦A座")
    assert result.status == "not_found"
    assert result.reason == "region_conflict"
    assert {"subdistrict", "community"} <= set(result.candidates[0].conflicts)
    one = gazetteer.geocode("嘉北社区人民南路3002号国贸大厦A座")
    assert one.status == "unsure"
    assert one.reason == "region_conflict"
    assert gazetteer.geocode("沙头街道人民南路3002号").status != "matched"


def test_an_agreeing_community_raises_confidence(gazetteer: Gazetteer) -> None:
    plain = gazetteer.geocode("人民南路3002号")
    stated = gazetteer.geocode("城东社区人民南路3002号")
    assert stated.status == "matched"
    assert stated.confidence > plain.confidence


@pytest.mark.parametrize(
    "text",
    [
        "深圳市福田区深南大道6008号",
        "福田区人民南路3002号",
        "广州市天河区天河路208号",
        "湖南省长沙市五一大道1号",
    ],
)
def test_another_district_is_not_found(gazetteer: Gazetteer, text: str) -> None:
    result = gazetteer.geocode(text)
    assert result.status == "not_found"
    assert result.reason == "outside_district"
    assert "罗湖区" in result.detail


def test_a_road_typo_with_the_building_is_matched(
    gazetteer: Gazetteer, records: list[AddressRecord]
) -> None:
    result = gazetteer.geocode("人民男路3002号国贸大厦A座")
    assert result.status == "matched"
    assert result.code == code_of(records, "人民南路", "3002", "国际贸易中心大厦", "A座")
    assert result.confidence < gazetteer.geocode("人民南路3002号国贸大厦A座").confidence


def test_a_road_typo_alone_is_unsure_with_the_right_candidate(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("人民男路3002号")
    assert result.status == "unsure"
    assert "人民南路3002号" in result.candidates[0].address
    assert "road_fuzzy" in result.candidates[0].matched


def test_a_road_that_fits_several_is_ambiguous(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("东门路1011号")
    assert result.status == "unsure"
    assert result.reason == "ambiguous"
    roads = {c.address.split("社区")[1].split("1011")[0] for c in result.candidates}
    assert roads == {"东门中路", "东门南路"}


def test_a_door_on_a_similar_road_stays_a_candidate(gazetteer: Gazetteer) -> None:
    # 东门中路 is real but has no 1050; 东门北路 has, with this building.
    result = gazetteer.geocode("东门中路1050号东门大厦A座")
    assert result.status == "unsure"
    assert "东门北路1050号东门大厦A座" in result.candidates[0].address


def test_a_block_the_door_lacks_is_not_matched_to_a_sibling(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("布心路3008号1栋3单元")
    assert result.status == "unsure"
    assert gazetteer.geocode("人民南路3002号C座").status == "unsure"


def test_a_block_the_door_record_cannot_confirm_matches_the_door(
    gazetteer: Gazetteer, records: list[AddressRecord]
) -> None:
    result = gazetteer.geocode("东门中路1011号3栋")
    assert result.status == "matched"
    assert result.precision == "door"
    assert result.code == code_of(records, "东门中路", "1011", "", "")


def test_nothing_to_match(gazetteer: Gazetteer) -> None:
    assert gazetteer.geocode("").reason == "empty"
    assert gazetteer.geocode("东门街道城东社区").reason == "no_road_or_building"
    unknown = gazetteer.geocode("火星路1号")
    assert unknown.status == "not_found"
    road_only = gazetteer.geocode("人民南路")
    assert road_only.status == "unsure"
    assert road_only.reason == "no_number"


def test_candidates_say_why(gazetteer: Gazetteer) -> None:
    result = gazetteer.geocode("田贝三路8号1栋")
    assert result.status == "unsure"
    assert 1 <= len(result.candidates) <= 5
    best = result.candidates[0]
    assert best.reason.startswith("matched: road_fuzzy, number, building")
    data = result.as_dict()
    assert data["status"] == "unsure"
    assert data["candidates"][0]["reason"] == best.reason
    json.dumps(data, ensure_ascii=False)


def test_nearest_standard_address(gazetteer: Gazetteer, records: list[AddressRecord]) -> None:
    record = records[10]
    ((found, metres),) = gazetteer.nearest(record.lon, record.lat)
    assert found == record
    assert metres == pytest.approx(0.0, abs=0.01)
    three = gazetteer.nearest(record.lon + 0.001, record.lat, k=3)
    assert len(three) == 3
    assert three[0][1] <= three[1][1] <= three[2][1]
    assert 90 < three[0][1] < 110 or three[0][0] != record


# -- noisy variants -------------------------------------------------------------------------

_CN_DIGITS = "零一二三四五六七八九"
_FULL_WIDTH = str.maketrans(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "".join(chr(0xFF10 + i) for i in range(10)) + "".join(chr(0xFF21 + i) for i in range(26)),
)
_TRADITIONAL = str.maketrans("号栋楼层门东国际贸厦单园华宝岭贝", "號棟樓層門東國際貿廈單園華寶嶺貝")
_TYPO_CHARS = "男北西东大小新老华山水金宝"
_INVERSE_ALIASES: dict[str, list[str]] = defaultdict(list)
for _alias, _name in DEFAULT_ALIASES.items():
    _INVERSE_ALIASES[_name].append(_alias)


def cn_number(n: int) -> str:
    """十二, 三千零二: the way a number up to 9999 is said."""
    if n == 0:
        return "零"
    parts: list[str] = []
    started = zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            zero = zero or started
            continue
        if zero:
            parts.append("零")
            zero = False
        if not (value == 10 and digit == 1 and not started):
            parts.append(_CN_DIGITS[digit])
        parts.append(unit)
        started = True
    return "".join(parts)


def cn_digits(text: str) -> str:
    return "".join(_CN_DIGITS[int(c)] for c in text)


def block_variant(token: str, rng: random.Random) -> str:
    """3栋 → 三栋 / 3幢 / 3号楼 / 第3栋 / 3棟; 2单元 → 二单元; A座 → a座."""
    if token.endswith("单元") and token[:-2].isdigit():
        return rng.choice([token, cn_number(int(token[:-2])) + "单元", token[:-2] + "單元"])
    head, marker = token[:-1], token[-1]
    if head.isdigit() and marker == "栋":
        return rng.choice(
            [
                token,
                cn_number(int(head)) + "栋",
                head + "幢",
                head + "号楼",
                "第" + head + "栋",
                head + "棟",
                head + "座",
            ]
        )
    if len(head) == 1 and head.isalpha():
        return rng.choice([token, head.lower() + marker])
    return token


def detail_variant(text: str, rng: random.Random) -> str:
    """A building/unit field written another way; names may take another name."""
    if not text:
        return ""
    if text in _INVERSE_ALIASES and rng.random() < 0.5:
        return rng.choice(_INVERSE_ALIASES[text])
    if text[-1] in "栋座" or text.endswith("单元"):
        return block_variant(text, rng)
    return text.translate(_TRADITIONAL) if rng.random() < 0.2 else text


def room_variant(rng: random.Random) -> str:
    floor, flat = rng.randint(2, 30), rng.randint(1, 12)
    room = f"{floor}{flat:02d}"
    return rng.choice(
        [
            "",
            "",
            room,
            room + "室",
            f"{floor}楼{flat:02d}",
            f"{floor}层{room}",
            room + "房",
            cn_digits(room),
        ]
    )


def admin_variant(record: AddressRecord, names: dict[str, str], rng: random.Random) -> list[str]:
    top = rng.choice(
        ["广东省深圳市罗湖区", "深圳市罗湖区", "深圳罗湖区", "罗湖区", "", "", "广东深圳罗湖"]
    )
    subdistrict = names.get(record.subdistrict, "")
    community = names.get(record.community, "")
    sub = rng.choice([subdistrict, subdistrict + "办", subdistrict + "办事处", "", ""])
    com = rng.choice([community, community.replace("社区", "社区居委会"), "", ""])
    if top == "广东深圳罗湖" and not sub and not com:
        top = "广东深圳罗湖区"
    return [top, sub, com]


def number_variant(number: str, rng: random.Random) -> str:
    door = rng.choice([number, number, number.translate(_FULL_WIDTH), cn_number(int(number))])
    return door + rng.choice(["号", "号", "號"])


def join(parts: list[str], rng: random.Random) -> str:
    text = ""
    for part in parts:
        if part:
            text += rng.choice(["", "", "", " ", "，", "  "]) + part
    if rng.random() < 0.2:
        text = text.translate(_FULL_WIDTH)
    return text


def noisy(
    record: AddressRecord,
    names: dict[str, str],
    rng: random.Random,
    *,
    road: str | None = None,
    number: str | None = None,
    detail: bool = True,
) -> str:
    road = record.road if road is None else road
    parts = [
        *admin_variant(record, names, rng),
        road,
        number_variant(record.number if number is None else number, rng),
    ]
    if detail:
        parts += [detail_variant(record.building, rng), detail_variant(record.unit, rng)]
    parts.append(room_variant(rng))
    return join(parts, rng)


def typo(road: str, roads: set[str], rng: random.Random) -> str | None:
    """One slip of the hand in the name part of a road (not in 路/街/大道)."""
    body = len(road) - (2 if road.endswith("大道") else 1)
    for _ in range(10):
        i = rng.randrange(body)
        if rng.random() < 0.3 and body >= 3:
            slipped = road[:i] + road[i + 1 :]
        else:
            slipped = road[:i] + rng.choice(_TYPO_CHARS) + road[i + 1 :]
        if slipped not in roads and slipped != road:
            return slipped
    return None


@dataclass
class Tally:
    total: int = 0
    right: int = 0
    wrong: int = 0
    unsure: int = 0
    not_found: int = 0
    listed: int = 0
    wrong_examples: list[str] | None = None

    def add(self, text: str, result: GeocodeResult, expected: set[str]) -> None:
        self.total += 1
        if result.status == "matched":
            if result.code in expected:
                self.right += 1
            else:
                self.wrong += 1
                self.wrong_examples = (self.wrong_examples or []) + [f"{text} → {result.address}"]
        elif result.status == "unsure":
            self.unsure += 1
        else:
            self.not_found += 1
        if result.code in expected or any(c.code in expected for c in result.candidates):
            self.listed += 1

    @property
    def rate(self) -> float:
        return self.right / max(self.total, 1)


def same_address(records: list[AddressRecord]) -> Callable[[AddressRecord], set[str]]:
    """The codes a full address may resolve to: itself, and any exact duplicate."""
    by_key: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for r in records:
        by_key[(r.road, r.number, r.building, r.unit)].add(r.code)
    return lambda r: by_key.get((r.road, r.number, r.building, r.unit), set())


def evaluate(
    gazetteer: Gazetteer,
    records: list[AddressRecord],
    sample: list[AddressRecord],
    names: dict[str, str],
    *,
    per_record: int,
    seed: int,
) -> dict[str, Tally]:
    rng = random.Random(seed)
    expected = same_address(records)
    numbers: dict[str, set[int]] = defaultdict(set)
    doors: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in records:
        numbers[r.road].add(int(r.number))
        doors[(r.road, r.number)].add(r.code)
    roads = set(numbers)
    communities = sorted({r.community for r in records if r.community in names})
    tallies = {
        k: Tally() for k in ("exact", "door", "typo", "wrong_number", "community", "district")
    }
    for record in sample:
        for _ in range(per_record):
            text = noisy(record, names, rng)
            tallies["exact"].add(text, gazetteer.geocode(text), expected(record))
        text = noisy(record, names, rng, detail=False)
        tallies["door"].add(text, gazetteer.geocode(text), doors[(record.road, record.number)])

        slipped = typo(record.road, roads, rng)
        if slipped is not None:
            text = noisy(record, names, rng, road=slipped)
            # A slip can land nearer another road (东晓路 → 东北路 reads as 东门北路): the
            # same door there is as right an answer as the one meant.
            meant = fuzz.ratio(slipped, record.road)
            nearer = {
                code
                for road in roads
                if fuzz.ratio(slipped, road) > meant
                for code in doors.get((road, record.number), ())
            }
            tallies["typo"].add(text, gazetteer.geocode(text), expected(record) | nearer)

        n = int(record.number)
        near = [m for m in range(max(1, n - 30), n + 31) if m not in numbers[record.road]]
        if near:
            wrong = str(rng.choice(near))
            text = noisy(record, names, rng, number=wrong)
            tallies["wrong_number"].add(text, gazetteer.geocode(text), set())

        other = [c for c in communities if c != record.community]
        if other:
            community = names[rng.choice(other)]
            text = join(
                [community, record.road, record.number + "号", record.building, record.unit], rng
            )
            tallies["community"].add(text, gazetteer.geocode(text), set())

        district = rng.choice(["福田区", "南山区", "宝安区", "龙岗区"])
        text = join([f"深圳市{district}", record.road, record.number + "号", record.building], rng)
        result = gazetteer.geocode(text)
        tallies["district"].add(text, result, set())
        assert result.reason == "outside_district", text
    return tallies


def check(tallies: dict[str, Tally]) -> None:
    exact, door, slips = tallies["exact"], tallies["door"], tallies["typo"]
    assert exact.rate >= 0.98, exact
    assert door.rate >= 0.98, door
    for name, tally in tallies.items():
        assert tally.wrong == 0, (name, tally.wrong_examples)
    assert slips.listed / max(slips.total, 1) >= 0.90, slips
    assert tallies["wrong_number"].right == 0
    assert tallies["community"].right == 0
    assert tallies["district"].not_found == tallies["district"].total


def test_accuracy_on_the_fixture_library(
    gazetteer: Gazetteer, records: list[AddressRecord], names: dict[str, str]
) -> None:
    tallies = evaluate(gazetteer, records, records, names, per_record=25, seed=3002)
    assert tallies["exact"].total == 25 * len(records)
    check(tallies)


# -- the generated Luohu library ------------------------------------------------------------


def _profile_names() -> dict[str, str]:
    found: dict[str, str] = {}
    for level in ("district", "subdistricts", "communities", "grids"):
        path = PROFILE / f"{level}.geojson"
        if path.exists():
            for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
                properties = feature["properties"]
                found[properties["code"]] = properties["name_zh"]
    return found


@pytest.fixture(scope="module")
def luohu() -> tuple[Gazetteer, list[AddressRecord], dict[str, str]]:
    records = read_standard_addresses(PROFILE / "addresses.csv")
    names = _profile_names()
    return Gazetteer(records, names=names), records, names


def test_accuracy_on_a_sample_of_the_luohu_library(
    luohu: tuple[Gazetteer, list[AddressRecord], dict[str, str]],
) -> None:
    gazetteer, records, names = luohu
    assert len(records) >= 20_000
    sample = random.Random(440303).sample(records, 2_000)
    tallies = evaluate(gazetteer, records, sample, names, per_record=2, seed=440303)
    check(tallies)


def test_the_luohu_example_address(
    luohu: tuple[Gazetteer, list[AddressRecord], dict[str, str]],
) -> None:
    gazetteer, _, _ = luohu
    result = gazetteer.geocode("深圳市罗湖区东门街道城东社区人民南路3002号国际贸易中心大厦A座1201")
    assert result.status == "matched"
    record = gazetteer.record(result.code or "")
    assert record is not None
    assert (record.road, record.number, record.unit) == ("人民南路", "3002", "A座")
    assert result.regions is not None
    assert result.regions.subdistrict == "440303003"
