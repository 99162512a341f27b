"""Geocoding: an address text → a standard address (标准地址), its point and region chain.

The ``Gazetteer`` holds the district's standard-address library in memory, blocked by road
and by door (road + number) and with an inverted index of building names, so that one
query scores a handful of records instead of the whole library. Loading the records (from
the profile CSV or the database) is the caller's business; this module only matches.

Scoring is additive and written out below so that a reader can follow any answer:

* road + door number, both exact: 0.90 — the door is known. A road found only by fuzzy
  similarity (人民男路 → 人民南路) loses up to 0.16.
* a building name instead of a door number (国贸大厦A座, 人民南路国贸大厦): 0.86 when it is
  the library's name or a known alias, 0.70 when only similar.
* a building name, block or unit that agrees adds a little; one that contradicts the
  candidate's takes more away (a named building less, since names are written loosely).
* a subdistrict or community the text states and the candidate lies outside: −0.40.
* a door number that is not the candidate's is never a match: such candidates score at
  most 0.45 (nearer numbers rank first), a sub-number (3002-1 for 3002) at most 0.60.
* a real road named exactly that lacks the door: the same door on a similar road scores
  at most 0.84, a candidate and never a match. So does a door on a road guessed by
  similarity when other roads are about as similar, unless a building name confirms it.

An answer is ``matched`` only when the best candidate reaches the threshold (0.85), has no
contradiction, and beats every other distinct candidate by a margin (0.05); otherwise it is
``unsure`` with ranked candidates, or ``not_found`` when nothing scores 0.5. Candidates that
differ only in what the text leaves unsaid (the units of a door when only the door is
given) are one answer, at the precision the text allows.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from rapidfuzz import fuzz, process

from cityos.foundation.geo.address import ParsedAddress, normalise, parse, split_tail

__all__ = [
    "DEFAULT_ALIASES",
    "AddressRecord",
    "Candidate",
    "Gazetteer",
    "GeocodeResult",
    "RegionCodes",
    "read_standard_addresses",
]

Status = Literal["matched", "unsure", "not_found"]
Precision = Literal["exact", "building", "door"]
# Where a candidate came from: its door (road + number), its building name (exactly or
# loosely), or only its road.
_Source = Literal["door", "name", "name_fuzzy", "road"]

# Well-known Luohu buildings under their everyday and official names; callers add theirs.
DEFAULT_ALIASES: Mapping[str, str] = {
    "国贸大厦": "国际贸易中心大厦",
    "国贸中心": "国际贸易中心大厦",
    "深圳国贸": "国际贸易中心大厦",
    "地王大厦": "信兴广场",
    "京基100": "京基100大厦",
    "KK100": "京基100大厦",
    "京基金融中心": "京基100大厦",
    "华润万象城": "万象城",
    "罗湖火车站": "深圳火车站",
}

ROAD_EXACT = 0.50
ROAD_FUZZY_SLOPE = 0.40  # a road at similarity s scores 0.50 − 0.40·(1 − s)
ROAD_FUZZY_CUTOFF = 60.0  # rapidfuzz ratio below which a road is not a candidate
ROAD_UNRESOLVED = -0.20  # the text names a road the district does not have
NUMBER_EXACT = 0.40
NAME_LOCATES = 0.36  # a building name standing in for the door number
NAME_FUZZY_LOCATES = 0.20
NAME_AGREES = 0.05
NAME_SIMILAR = 0.02
NAME_DIFFERS = -0.08
TOKEN_AGREES = 0.04
TOKEN_DIFFERS = -0.15
TOKEN_UNVERIFIED = -0.02  # the text names a block or unit the candidate does not record
TOKEN_SIBLING = -0.06  # … and the candidate is another building or block at the door
REGION_AGREES = 0.02
REGION_CONTRADICTS = -0.40
NUMBER_NEAR_MAX = 0.45
OTHER_ROAD_MAX = 0.84  # a door on a road the text may not mean
ROAD_TIE = 0.05  # roads this close in similarity to the best guess make it uncertain
NUMBER_SUB_MAX = 0.60
NO_NUMBER_MAX = 0.50
NOT_FOUND_BELOW = 0.50
MAX_CANDIDATES = 5
_LOCATES: dict[str, float] = {
    "door": NUMBER_EXACT,
    "name": NAME_LOCATES,
    "name_fuzzy": NAME_FUZZY_LOCATES,
    "road": 0.0,
}
_CACHE_LIMIT = 50_000
_FLOOR_OR_ROOM_AT_END = re.compile(r"(?:[层楼]\d*)?室?$")


@dataclass(frozen=True, slots=True)
class AddressRecord:
    """One row of the standard-address library (see the profile's geo/README.md)."""

    code: str
    road: str
    number: str
    building: str
    unit: str
    subdistrict: str
    community: str
    grid: str
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class RegionCodes:
    """The region chain of a standard address, as codes."""

    district: str
    subdistrict: str
    community: str
    grid: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A standard address that may be the one meant, with what agrees and what does not.

    ``matched`` and ``conflicts`` name parts: road, road_fuzzy, number, building,
    building_fuzzy, unit, subdistrict, community.
    """

    code: str
    address: str
    score: float
    matched: tuple[str, ...]
    conflicts: tuple[str, ...]
    lon: float
    lat: float
    subdistrict: str
    community: str
    grid: str

    @property
    def reason(self) -> str:
        """``matched: road, number; conflicts: community`` — for people and CSV files."""
        text = "matched: " + (", ".join(self.matched) or "nothing")
        if self.conflicts:
            text += "; conflicts: " + ", ".join(self.conflicts)
        return text


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    """The answer for one address text.

    ``reason`` is a stable code (matched, ambiguous, low_confidence, region_conflict,
    detail_conflict, no_number, number_not_found, road_not_found, building_not_found,
    no_road_or_building, outside_district, empty); ``detail`` says the same in Chinese with
    the particulars.
    ``code``, point and ``regions`` are set only when ``status`` is ``matched``;
    ``candidates`` (best first, at most five) only when it is not.
    """

    query: str
    status: Status
    reason: str
    detail: str
    confidence: float
    parsed: ParsedAddress
    code: str | None = None
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    regions: RegionCodes | None = None
    precision: Precision | None = None
    candidates: tuple[Candidate, ...] = ()

    @property
    def point(self) -> tuple[float, float] | None:
        """(lon, lat) in WGS84 when matched."""
        if self.lon is None or self.lat is None:
            return None
        return (self.lon, self.lat)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; candidates carry their ``reason`` text."""
        data = asdict(self)
        data["candidates"] = [{**asdict(c), "reason": c.reason} for c in self.candidates]
        return data


@dataclass(slots=True)
class _Entry:
    record: AddressRecord
    keys: dict[tuple[str, str], str]  # (kind, key) → the column it came from
    kinds: frozenset[str]
    name: str | None
    number: int


@dataclass(slots=True)
class _Query:
    parsed: ParsedAddress
    keys: frozenset[tuple[str, str]]
    kinds: frozenset[str]
    name: str | None
    subdistricts: frozenset[str] | None  # None: not stated; empty: stated, not ours
    communities: frozenset[str] | None
    hinted: frozenset[str] = frozenset()  # region codes named loosely (城东人民南路)


@dataclass(slots=True)
class _Scored:
    index: int
    score: float
    matched: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    agreed: set[tuple[str, str]] = field(default_factory=set)  # the record's keys confirmed


def read_standard_addresses(path: Path) -> list[AddressRecord]:
    """Read a standard-address CSV (UTF-8, the profile's format)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [
            AddressRecord(
                code=row["code"],
                road=row["road"],
                number=row["number"],
                building=row.get("building") or "",
                unit=row.get("unit") or "",
                subdistrict=row["subdistrict"],
                community=row["community"],
                grid=row["grid"],
                lon=float(row["lon"]),
                lat=float(row["lat"]),
            )
            for row in csv.DictReader(handle)
        ]


def _core(name: str) -> str:
    """A region name without its level word: 东门街道 → 东门, 城东社区 → 城东, 罗湖区 → 罗湖."""
    for suffix in ("街道", "社区", "区", "市", "省"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _number_value(number: str) -> int:
    head = number.partition("-")[0]
    return int(head) if head.isdigit() else -1


def _is_abbreviation(short: str, long: str) -> bool:
    """国贸 of 国际贸易中心大厦: every character of the short name, in order, in the long."""
    if len(short) < 2 or len(short) >= len(long):
        return False
    position = 0
    for char in short:
        position = long.find(char, position) + 1
        if position == 0:
            return False
    return True


class _Aliases:
    """Names that mean the same building, each group answering to one canonical name."""

    def __init__(self, pairs: Mapping[str, str]) -> None:
        self._parent: dict[str, str] = {}
        for alias, name in pairs.items():
            a, b = self._find(normalise(alias)), self._find(normalise(name))
            if a != b:
                self._parent[max(a, b)] = min(a, b)

    def _find(self, name: str) -> str:
        while name in self._parent:
            name = self._parent[name]
        return name

    def canonical(self, name: str) -> str:
        return self._find(name)


class Gazetteer:
    """The standard-address library in memory, ready to geocode.

    ``names`` maps region codes (district, subdistricts, communities, grids) to their
    Chinese names; ``aliases`` maps another name of a building to its name in the library
    (added to ``DEFAULT_ALIASES``).
    """

    def __init__(
        self,
        records: Iterable[AddressRecord],
        *,
        names: Mapping[str, str],
        aliases: Mapping[str, str] | None = None,
        district: str = "440303",
        city: str = "深圳市",
        province: str = "广东省",
        threshold: float = 0.85,
        margin: float = 0.05,
    ) -> None:
        self.threshold = threshold
        self.margin = margin
        self.district = district
        self.district_name = names.get(district, "罗湖区")
        self._city = city
        self._province = province
        self._names = dict(names)
        self._aliases = _Aliases({**DEFAULT_ALIASES, **(aliases or {})})

        self._subdistricts: dict[str, set[str]] = defaultdict(set)
        self._communities: dict[str, set[str]] = defaultdict(set)
        for code, name in names.items():
            if not code.startswith(district):
                continue
            if len(code) == len(district) + 3:
                self._subdistricts[_core(normalise(name))].add(code)
            elif len(code) == len(district) + 6:
                self._communities[_core(normalise(name))].add(code)

        self._entries: list[_Entry] = []
        self._by_door: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._by_road: dict[str, list[int]] = defaultdict(list)
        self._by_name: dict[str, list[int]] = defaultdict(list)
        self._by_code: dict[str, int] = {}
        memo: dict[str, str] = {}

        def norm(text: str) -> str:
            if text not in memo:
                memo[text] = normalise(text)
            return memo[text]

        for record in records:
            road = norm(record.road)
            number = record.number.strip().lstrip("0") or "0"
            keys: dict[tuple[str, str], str] = {}
            name_parts: list[str] = []
            for column, text in (("building", record.building), ("unit", record.unit)):
                tail = split_tail(norm(text)) if text else None
                if tail is None:
                    continue
                if tail.name or tail.rest:
                    name_parts.append((tail.name or "") + tail.rest)
                for block in tail.blocks:
                    keys[("block", block[:-1])] = column
                for unit in tail.units:
                    keys[("unit", unit[:-2])] = column
            building = self._aliases.canonical("".join(name_parts)) if name_parts else None
            if building:
                keys[("name", building)] = "building"
            index = len(self._entries)
            self._entries.append(
                _Entry(
                    record=record,
                    keys=keys,
                    kinds=frozenset(kind for kind, _ in keys),
                    name=building,
                    number=_number_value(number),
                )
            )
            self._by_door[(road, number)].append(index)
            self._by_road[road].append(index)
            if building:
                self._by_name[building].append(index)
            self._by_code[record.code] = index
        self._roads = sorted(self._by_road)
        self._building_names = sorted(self._by_name)
        self._numbers_on_road: dict[str, np.ndarray[Any, np.dtype[np.int64]]] = {
            road: np.array([self._entries[i].number for i in indices], dtype=np.int64)
            for road, indices in self._by_road.items()
        }
        self._lonlat = np.array(
            [(e.record.lon, e.record.lat) for e in self._entries], dtype=np.float64
        ).reshape(-1, 2)
        self._fuzzy_roads: dict[str, list[tuple[str, float]]] = {}
        self._fuzzy_names: dict[str, list[tuple[str, float]]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, code: str) -> AddressRecord | None:
        """The standard address with this code, if the library has it."""
        index = self._by_code.get(code)
        return None if index is None else self._entries[index].record

    def full_text(self, record: AddressRecord) -> str:
        """The address as people read it: 深圳市罗湖区东门街道城东社区人民南路3002号国贸大厦A座."""
        return (
            f"{self._city}{self.district_name}"
            f"{self._names.get(record.subdistrict, '')}{self._names.get(record.community, '')}"
            f"{record.road}{record.number}号{record.building}{record.unit}"
        )

    def nearest(self, lon: float, lat: float, *, k: int = 1) -> list[tuple[AddressRecord, float]]:
        """The ``k`` standard addresses nearest a WGS84 point, with distances in metres."""
        if not self._entries:
            return []
        scale = math.cos(math.radians(lat))
        d_lon = (self._lonlat[:, 0] - lon) * scale
        d_lat = self._lonlat[:, 1] - lat
        squared = d_lon * d_lon + d_lat * d_lat
        k = min(k, len(self._entries))
        nearest = np.argpartition(squared, k - 1)[:k]
        nearest = nearest[np.argsort(squared[nearest])]
        metres_per_degree = 111_195.0
        return [
            (self._entries[i].record, float(math.sqrt(squared[i]) * metres_per_degree))
            for i in nearest
        ]

    def geocode(self, text: str) -> GeocodeResult:
        """Find the standard address a text means, or say how unsure the match is."""
        return self.match(parse(text), query=text)

    def match(self, parsed: ParsedAddress, *, query: str | None = None) -> GeocodeResult:
        """Geocode an address that is already parsed."""
        query = parsed.normalised if query is None else query
        if not parsed.normalised:
            return self._answer(query, parsed, "not_found", "empty", "地址为空")
        outside = self._outside(parsed)
        if outside is not None:
            return self._answer(query, parsed, "not_found", "outside_district", outside)
        if not parsed.road and not parsed.building:
            return self._answer(
                query, parsed, "not_found", "no_road_or_building", "地址中没有道路或建筑物名称"
            )

        q = self._query(parsed)
        scored, miss = self._candidates(q)
        if not scored:
            return self._answer(query, parsed, "not_found", miss[0], miss[1])
        return self._decide(query, q, scored, miss)

    # -- steps of a match ------------------------------------------------------------------

    def _outside(self, parsed: ParsedAddress) -> str | None:
        """Why the text is outside this district, or ``None`` when it may be inside."""
        if parsed.province and _core(parsed.province) != _core(self._province):
            return f"地址在{parsed.province}，不在{self.district_name}"
        if parsed.city and _core(parsed.city) != _core(self._city):
            return f"地址在{parsed.city}，不在{self.district_name}"
        if parsed.district and _core(parsed.district) != _core(self.district_name):
            return f"地址在{parsed.district}，不在{self.district_name}"
        return None

    def _query(self, parsed: ParsedAddress) -> _Query:
        # A stated region the names do not know counts against every candidate, unless the
        # caller gave no names for that level at all.
        subdistricts = communities = None
        if parsed.subdistrict and self._subdistricts:
            subdistricts = frozenset(self._subdistricts.get(_core(parsed.subdistrict), ()))
        if parsed.community and self._communities:
            communities = frozenset(self._communities.get(_core(parsed.community), ()))
        keys: set[tuple[str, str]] = set()
        name: str | None = None
        detail = (parsed.building or "") + (parsed.unit or "")
        if detail:
            tail = split_tail(detail)
            if tail.name:
                name = self._known_name(tail.name)
                keys.add(("name", name))
            keys.update(("block", b[:-1]) for b in tail.blocks)
            keys.update(("unit", u[:-2]) for u in tail.units)
        return _Query(
            parsed=parsed,
            keys=frozenset(keys),
            kinds=frozenset(kind for kind, _ in keys),
            name=name,
            subdistricts=subdistricts,
            communities=communities,
        )

    def _known_name(self, text: str) -> str:
        """The canonical building name, split from a room glued to it when need be.

        水贝万山1201, 京基1002907室 and 京基10015层1508 have no building word between name and
        room, so the parser cannot tell where the name ends; the library can.
        """
        name = self._aliases.canonical(text)
        if name in self._by_name:
            return name
        stripped = _FLOOR_OR_ROOM_AT_END.sub("", text)
        digits_from = len(stripped.rstrip("0123456789"))
        for end in range(len(stripped) - 1, digits_from - 1, -1):
            prefix = self._aliases.canonical(stripped[:end])
            if prefix in self._by_name:
                return prefix
        return name

    def _roads_for(self, q: _Query) -> list[tuple[str, float]]:
        """Library roads the text's road may be, with similarity; exact ones alone if any."""
        road = q.parsed.road
        if not road:
            return []
        if road in self._by_road:
            return [(road, 1.0)]
        for start in range(1, len(road) - 1):
            # 城东人民南路: a known road after a loosely written region name.
            if road[start:] in self._by_road:
                q.hinted = self._region_hint(road[:start])
                return [(road[start:], 1.0)]
        return self._fuzzy_road(road)

    def _fuzzy_road(self, road: str) -> list[tuple[str, float]]:
        found = self._fuzzy_roads.get(road)
        if found is None:
            found = [
                (choice, score / 100.0)
                for choice, score, _ in process.extract(
                    road,
                    self._roads,
                    scorer=fuzz.ratio,
                    limit=None,
                    score_cutoff=ROAD_FUZZY_CUTOFF,
                )
            ]
            if len(self._fuzzy_roads) < _CACHE_LIMIT:
                self._fuzzy_roads[road] = found
        return found

    def _fuzzy_name(self, name: str) -> list[tuple[str, float]]:
        found = self._fuzzy_names.get(name)
        if found is None:
            found = [
                (choice, score / 100.0)
                for choice, score, _ in process.extract(
                    name,
                    self._building_names,
                    scorer=fuzz.ratio,
                    limit=MAX_CANDIDATES,
                    score_cutoff=70.0,
                )
            ]
            abbreviated = [c for c in self._building_names if _is_abbreviation(name, c)]
            found += [(choice, 0.7) for choice in abbreviated[:MAX_CANDIDATES]]
            if len(self._fuzzy_names) < _CACHE_LIMIT:
                self._fuzzy_names[name] = found
        return found

    def _region_hint(self, text: str) -> frozenset[str]:
        core = _core(text)
        return frozenset(self._subdistricts.get(core, set()) | self._communities.get(core, set()))

    def _candidates(self, q: _Query) -> tuple[list[_Scored], tuple[str, str]]:
        """Score the records the text can mean; also why nothing fitted, if nothing did."""
        parsed = q.parsed
        roads = self._roads_for(q)
        number = parsed.number
        scored: list[_Scored] = []

        if roads and number:
            exact_road = roads[0][1] == 1.0
            if exact_road and (roads[0][0], number) not in self._by_door:
                # A real road without the door: a similar road may have it, but the text
                # named another road, so such a door is only ever a candidate.
                roads = roads + [r for r in self._fuzzy_road(roads[0][0]) if r[1] < 1.0]
            for road, similarity in roads:
                # A road guessed among others about as similar (红新路: 红桂路, 新园路 …) is
                # confirmed only by a building name, not by a door number and 3栋2单元,
                # which most roads have.
                guessed = similarity < 1.0
                crowded = guessed and any(
                    other != road and other_similarity >= similarity - ROAD_TIE
                    for other, other_similarity in roads
                )
                for i in self._by_door.get((road, number), ()):
                    s = self._score(q, i, road_sim=similarity, source="door")
                    named = any(kind == "name" for kind, _ in s.agreed)
                    if guessed and (exact_road or (crowded and not named)):
                        s.score = min(s.score, OTHER_ROAD_MAX)
                    scored.append(s)
            if not scored:
                main = number.partition("-")[0]
                road, similarity = roads[0]
                if main != number and (road, main) in self._by_door:
                    for i in self._by_door[(road, main)]:
                        s = self._score(q, i, road_sim=similarity, source="door")
                        s.score = min(s.score, NUMBER_SUB_MAX)
                        s.matched.remove("number")
                        s.conflicts.append("number")
                        scored.append(s)
                else:
                    scored = self._near_numbers(q, road, similarity, number)
            return scored, ("number_not_found", f"{roads[0][0]}没有{number}号")

        if roads:
            road, similarity = roads[0]
            on_road = self._by_road[road]
            if q.name is not None:
                for i in on_road:
                    entry = self._entries[i]
                    if entry.name == q.name:
                        scored.append(self._score(q, i, road_sim=similarity, source="name"))
            if not scored:
                for i in on_road[: MAX_CANDIDATES * 4]:
                    s = self._score(q, i, road_sim=similarity, source="road")
                    s.score = min(s.score, NO_NUMBER_MAX)
                    scored.append(s)
            return scored, ("no_number", f"{road}：缺少门牌号")

        if q.name is not None:
            found = [(q.name, 1.0)] if q.name in self._by_name else self._fuzzy_name(q.name)
            for name, similarity in found:
                source: _Source = "name" if similarity == 1.0 else "name_fuzzy"
                for i in self._by_name[name]:
                    s = self._score(q, i, road_sim=None, source=source)
                    if parsed.road:
                        s.score += ROAD_UNRESOLVED
                        s.conflicts.append("road")
                    scored.append(s)
            if parsed.road:
                return scored, ("road_not_found", f"找不到道路“{parsed.road}”")
            return scored, ("building_not_found", f"找不到建筑物“{parsed.building}”")
        return scored, ("road_not_found", f"找不到道路“{parsed.road}”")

    def _near_numbers(self, q: _Query, road: str, similarity: float, number: str) -> list[_Scored]:
        """Doors near a number the road lacks: candidates, never matches."""
        numbers = self._numbers_on_road[road]
        wanted = _number_value(number)
        distance = np.abs(numbers - wanted)
        order = np.argsort(distance, kind="stable")
        indices = self._by_road[road]
        scored: list[_Scored] = []
        seen: set[int] = set()
        for position in order:
            entry_number = int(numbers[position])
            if entry_number in seen:
                continue
            seen.add(entry_number)
            s = self._score(q, indices[int(position)], road_sim=similarity, source="road")
            closeness = 1.0 / (1.0 + int(distance[position]) / 10.0)
            s.score = round(min(s.score - ROAD_EXACT + 0.30 + 0.10 * closeness, NUMBER_NEAR_MAX), 4)
            s.conflicts.append("number")
            scored.append(s)
            if len(seen) >= MAX_CANDIDATES:
                break
        return scored

    def _score(self, q: _Query, index: int, *, road_sim: float | None, source: _Source) -> _Scored:
        entry = self._entries[index]
        record = entry.record
        s = _Scored(index=index, score=_LOCATES[source])
        if road_sim is not None:
            s.score += ROAD_EXACT - ROAD_FUZZY_SLOPE * (1.0 - road_sim)
            s.matched.append("road" if road_sim == 1.0 else "road_fuzzy")
        elif source != "road":
            s.score += ROAD_EXACT  # the building name stands for the road
        if source == "door":
            s.matched.append("number")
        elif q.parsed.number and road_sim is None:
            if str(entry.number) == q.parsed.number:
                s.matched.append("number")
            else:
                s.score = min(s.score, NUMBER_NEAR_MAX)
                s.conflicts.append("number")

        unverified = 0
        for kind, key in q.keys:
            if kind == "name":
                if entry.name == key:
                    if source == "door":
                        s.score += NAME_AGREES
                    s.matched.append("building")
                    s.agreed.add((kind, key))
                elif source == "name_fuzzy" and entry.name is not None:
                    s.matched.append("building_fuzzy")
                    s.agreed.add((kind, entry.name))
                elif entry.name is not None:
                    if (
                        _is_abbreviation(key, entry.name)
                        or _is_abbreviation(entry.name, key)
                        or (fuzz.ratio(key, entry.name) >= 80.0)
                    ):
                        s.score += NAME_SIMILAR
                        s.matched.append("building_fuzzy")
                        s.agreed.add((kind, entry.name))
                    else:
                        s.score += NAME_DIFFERS
                        s.conflicts.append("building")
                continue
            column = entry.keys.get((kind, key))
            if column is not None:
                s.score += TOKEN_AGREES
                s.matched.append(column)
                s.agreed.add((kind, key))
            elif kind in entry.kinds:
                s.score += TOKEN_DIFFERS
                s.conflicts.append(next(c for (k, _), c in entry.keys.items() if k == kind))
            else:
                unverified += 1
        if unverified:
            # A door record cannot confirm a block; a sibling building at the door denies it.
            per_token = TOKEN_UNVERIFIED if s.agreed or not entry.keys else TOKEN_SIBLING
            s.score += unverified * per_token

        for level, stated, code in (
            ("subdistrict", q.subdistricts, record.subdistrict),
            ("community", q.communities, record.community),
        ):
            if stated is None:
                if code in q.hinted:
                    s.score += REGION_AGREES
                    s.matched.append(level)
            elif code in stated:
                s.score += REGION_AGREES
                s.matched.append(level)
            else:
                s.score += REGION_CONTRADICTS
                s.conflicts.append(level)
        s.score = round(max(0.0, min(1.0, s.score)), 4)
        return s

    def _decide(
        self, query: str, q: _Query, scored: list[_Scored], miss: tuple[str, str]
    ) -> GeocodeResult:
        groups: dict[tuple[Any, ...], list[_Scored]] = defaultdict(list)
        for s in scored:
            groups[self._group_key(q, s)].append(s)
        ranked = sorted(
            (
                min(members, key=lambda m: self._representative_order(m))
                for members in groups.values()
            ),
            key=lambda s: (-s.score, self._entries[s.index].record.code),
        )
        best = ranked[0]
        rivals = [s for s in ranked[1:] if not self._coarser(s, than=best)]
        second = rivals[0].score if rivals else None
        parsed = q.parsed
        if (
            best.score >= self.threshold
            and not best.conflicts
            and (second is None or best.score - second >= self.margin)
        ):
            entry = self._entries[best.index]
            record = entry.record
            return GeocodeResult(
                query=query,
                status="matched",
                reason="matched",
                detail="已匹配标准地址",
                confidence=best.score,
                parsed=parsed,
                code=record.code,
                address=self.full_text(record),
                lon=record.lon,
                lat=record.lat,
                regions=RegionCodes(
                    district=self.district,
                    subdistrict=record.subdistrict,
                    community=record.community,
                    grid=record.grid,
                ),
                precision=self._precision(q, best),
            )
        candidates = tuple(self._candidate(s) for s in ranked[:MAX_CANDIDATES])
        status: Status = "not_found" if best.score < NOT_FOUND_BELOW else "unsure"
        if any(c in ("subdistrict", "community") for c in best.conflicts):
            reason, detail = "region_conflict", "所写的街道或社区与候选地址不符"
        elif {"number", "road"} & set(best.conflicts) or not {"number", "building"} & set(
            best.matched
        ):
            reason, detail = miss
        elif best.conflicts:
            reason, detail = "detail_conflict", "所写的楼栋或单元与候选地址不符"
        elif second is not None and best.score - second < self.margin:
            reason, detail = "ambiguous", "有多个相近的标准地址，请补充楼栋或社区"
        else:
            reason, detail = "low_confidence", "匹配程度不足，请核对候选地址"
        return GeocodeResult(
            query=query,
            status=status,
            reason=reason,
            detail=detail,
            confidence=best.score,
            parsed=parsed,
            candidates=candidates,
        )

    def _coarser(self, s: _Scored, *, than: _Scored) -> bool:
        """Whether ``s`` is the same door as ``than`` and agrees with no more: not a rival.

        The door record, or the building record, next to the unit the text names.
        """
        a, b = self._entries[s.index], self._entries[than.index]
        return (
            a.record.road == b.record.road
            and a.record.number == b.record.number
            and not s.conflicts
            and s.agreed <= than.agreed
        )

    def _group_key(self, q: _Query, s: _Scored) -> tuple[Any, ...]:
        """What tells two candidates apart as far as the text can: unsaid parts don't."""
        entry = self._entries[s.index]
        record = entry.record
        parts: list[Any] = [record.road, record.number, s.score]
        for kind in sorted(q.kinds):
            parts.append(tuple(sorted(key for k, key in entry.keys if k == kind)))
        return tuple(parts)

    def _representative_order(self, s: _Scored) -> tuple[int, str]:
        """Within a group, the record with the fewest unsaid parts (the door itself) first."""
        entry = self._entries[s.index]
        return (len(entry.keys), entry.record.code)

    def _precision(self, q: _Query, s: _Scored) -> Precision:
        entry = self._entries[s.index]
        if len(s.agreed) == len(q.keys) and s.agreed >= entry.keys.keys():
            return "exact"
        if s.agreed:
            return "building"
        return "door"

    def _candidate(self, s: _Scored) -> Candidate:
        record = self._entries[s.index].record
        return Candidate(
            code=record.code,
            address=self.full_text(record),
            score=s.score,
            matched=tuple(s.matched),
            conflicts=tuple(s.conflicts),
            lon=record.lon,
            lat=record.lat,
            subdistrict=record.subdistrict,
            community=record.community,
            grid=record.grid,
        )

    def _answer(
        self, query: str, parsed: ParsedAddress, status: Status, reason: str, detail: str
    ) -> GeocodeResult:
        return GeocodeResult(
            query=query,
            status=status,
            reason=reason,
            detail=detail,
            confidence=0.0,
            parsed=parsed,
        )
