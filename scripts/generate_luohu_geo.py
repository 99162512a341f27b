"""Generate the geography of the Luohu District profile (罗湖区), deterministically.

Writes into ``src/cityos/profiles/luohu/geo/`` (formats in its README.md):

- ``district.geojson``, ``subdistricts.geojson``, ``communities.geojson``, ``grids.geojson``
- ``addresses.csv``: the standard-address library (标准地址)
- ``layers.yaml`` and ``layers/*.geojson``: landmarks, roads, shelters, hydrants, flood-prone
  spots, schools and hospitals

Real: the district code and extent, the ten subdistricts' names and codes, the road names and
the landmarks' coordinates. Everything else is generated and marked ``synthetic``: exact
boundaries, community names and door plates are not available offline.

How the regions are made. A raster of square cells (15 m, UTM zone 50N) covers a hand-drawn
outline of the district. The ten subdistricts grow from seed lines placed where they really
are, in a competitive Dijkstra search over the raster: a cell joins the region that reaches it
first. A smooth noise field warps the distances so that boundaries wander like real ones, and
each subdistrict's speed is tuned until its area matches its target. Communities then grow
inside each subdistrict from k-means seeds weighted by population density (dense areas get
more, smaller communities), and grids inside each community the same way; at these two levels
a ridge of cost along the roads makes boundaries tend to follow streets. Growing from a
connected seed keeps every region in one piece. The grids are polygonised, clipped to the
outline, cleaned into an exact coverage, simplified as a coverage (shared edges stay shared)
and rounded to 6 decimals; communities, subdistricts and the district are unions of their
grids, so children tile their parents by construction.

Roads are hand-placed polylines carrying real Luohu road names. Standard addresses line both
sides of every road: odd door numbers on the left, even on the right, each door holding one or
more buildings and units; every address takes the codes of the grid its point lies in.

Run: ``.venv/bin/python scripts/generate_luohu_geo.py`` (about 15 s; needs shapely >= 2.2 with
GEOS >= 3.14 for ``coverage_clean``). The same inputs always give the same bytes: every random
draw comes from a generator seeded with fixed numbers.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import io
import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely import LineString, MultiPolygon, Point, Polygon, STRtree
from shapely.geometry.base import BaseGeometry

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
LonLat = tuple[float, float]

SEED = 440303
CELL_M = 15.0
OUT_DIR = Path(__file__).resolve().parents[1] / "src" / "cityos" / "profiles" / "luohu" / "geo"
DISTRICT_CODE = "440303"
TOTAL_GRIDS = 1040
SIMPLIFY_M = 20.0
ROAD_RIDGE = 4.0  # extra cost of crossing a road, relative to open ground

_TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
_TO_WGS = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)


def _forward(xy: FloatArray) -> FloatArray:
    x, y = _TO_UTM.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _inverse(xy: FloatArray) -> FloatArray:
    x, y = _TO_WGS.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def to_utm(geom: Any) -> Any:
    """Geometry (or array of them) from WGS84 lon/lat to UTM 50N metres."""
    return shapely.transform(geom, _forward)


def to_wgs(geom: Any) -> Any:
    """Geometry (or array of them) from UTM 50N metres to WGS84 lon/lat."""
    return shapely.transform(geom, _inverse)


def utm_point(lon: float, lat: float) -> tuple[float, float]:
    """One lon/lat point in UTM 50N metres."""
    x, y = _TO_UTM.transform(lon, lat)
    return float(x), float(y)


# ── What is known about Luohu ───────────────────────────────────────────────────────────────

# The district outline, drawn by hand (lon, lat): west along 红岭路 (the 福田 boundary), south
# along the 深圳河 (the Hong Kong border), east past 梧桐山 to 盐田, north to 布吉 and 龙华.
# fmt: off
OUTLINE: tuple[LonLat, ...] = (
    (114.0990, 22.5268), (114.1040, 22.5290), (114.1080, 22.5302), (114.1120, 22.5298),
    (114.1160, 22.5290), (114.1200, 22.5300), (114.1250, 22.5318), (114.1300, 22.5325),
    (114.1360, 22.5342), (114.1420, 22.5370), (114.1480, 22.5405), (114.1540, 22.5435),
    (114.1600, 22.5458), (114.1660, 22.5465), (114.1720, 22.5475), (114.1780, 22.5490),
    (114.1840, 22.5500), (114.1900, 22.5512), (114.1960, 22.5522), (114.2020, 22.5540),
    (114.2080, 22.5558), (114.2140, 22.5572), (114.2195, 22.5610), (114.2240, 22.5665),
    (114.2258, 22.5740), (114.2245, 22.5820), (114.2205, 22.5880), (114.2140, 22.5915),
    (114.2050, 22.5910), (114.1960, 22.5925), (114.1860, 22.5928), (114.1760, 22.5915),
    (114.1660, 22.5925), (114.1570, 22.5930), (114.1480, 22.5905), (114.1400, 22.5925),
    (114.1330, 22.5965), (114.1270, 22.6025), (114.1220, 22.6075), (114.1170, 22.6115),
    (114.1100, 22.6135), (114.1020, 22.6125), (114.0955, 22.6085), (114.0900, 22.6030),
    (114.0885, 22.5950), (114.0900, 22.5870), (114.0925, 22.5780), (114.0955, 22.5700),
    (114.0990, 22.5650), (114.0998, 22.5580), (114.0998, 22.5500), (114.0995, 22.5420),
    (114.0993, 22.5350),
)
# fmt: on

# 深圳水库: the water body, drawn by hand (synthetic shape, real place). Nothing is put in it.
# fmt: off
RESERVOIR: tuple[LonLat, ...] = (
    (114.1440, 22.5680), (114.1490, 22.5660), (114.1550, 22.5685), (114.1600, 22.5740),
    (114.1615, 22.5820), (114.1575, 22.5875), (114.1515, 22.5860), (114.1480, 22.5800),
    (114.1450, 22.5740),
)
# fmt: on

# Rivers, for the flood-prone spots: 深圳河 is the southern edge of the outline.
# fmt: off
RIVERS: dict[str, tuple[LonLat, ...]] = {
    "布吉河": (
        (114.1330, 22.5960), (114.1335, 22.5850), (114.1322, 22.5750), (114.1300, 22.5660),
        (114.1280, 22.5580), (114.1262, 22.5500), (114.1258, 22.5440), (114.1240, 22.5400),
        (114.1220, 22.5355), (114.1200, 22.5303),
    ),
    "梧桐山河": (
        (114.2080, 22.5780), (114.2030, 22.5700), (114.1980, 22.5640), (114.1920, 22.5580),
        (114.1880, 22.5510),
    ),
    "深圳河": OUTLINE[:22],
}
# fmt: on


@dataclass(frozen=True)
class Place:
    """A local place name (synthetic community name stem) near a point."""

    zh: str
    en: str
    lon: float
    lat: float


@dataclass(frozen=True)
class SubdistrictSpec:
    """A real subdistrict: code suffix, names, where it grows from, how big it is."""

    code: str
    zh: str
    en: str
    seeds: tuple[tuple[LonLat, ...], ...]
    area_km2: float
    places: tuple[Place, ...]  # one community per place


# fmt: off
SUBDISTRICTS: tuple[SubdistrictSpec, ...] = (
    SubdistrictSpec(
        "001", "桂园街道", "Guiyuan Subdistrict",
        (
            ((114.1045, 22.5445), (114.1055, 22.5540)),
        ),
        2.3,
        (
            Place("松园", "Songyuan", 114.1040, 22.5465),
            Place("红宝", "Hongbao", 114.1060, 22.5522),
            Place("红桂", "Honggui", 114.1045, 22.5565),
            Place("老围", "Laowei", 114.1085, 22.5495),
            Place("大塘", "Datang", 114.1022, 22.5505),
            Place("地王", "Diwang", 114.1060, 22.5440),
            Place("乐园", "Leyuan", 114.1088, 22.5455),
        ),
    ),
    SubdistrictSpec(
        "002", "黄贝街道", "Huangbei Subdistrict",
        (
            ((114.1300, 22.5405), (114.1400, 22.5450), (114.1520, 22.5470)),
        ),
        5.6,
        (
            Place("黄贝岭", "Huangbeiling", 114.1380, 22.5475),
            Place("文锦", "Wenjin", 114.1310, 22.5400),
            Place("新秀", "Xinxiu", 114.1440, 22.5410),
            Place("罗芳", "Luofang", 114.1540, 22.5465),
            Place("滨河", "Binhe", 114.1350, 22.5370),
            Place("怡景", "Yijing", 114.1380, 22.5520),
            Place("凤凰", "Fenghuang", 114.1280, 22.5450),
            Place("延芳", "Yanfang", 114.1500, 22.5490),
            Place("碧波", "Bibo", 114.1320, 22.5490),
            Place("沿河", "Yanhe", 114.1265, 22.5415),
        ),
    ),
    SubdistrictSpec(
        "003", "东门街道", "Dongmen Subdistrict",
        (
            ((114.1176, 22.5410), (114.1172, 22.5455), (114.1160, 22.5478), (114.1175, 22.5525)),
        ),
        2.4,
        (
            Place("城东", "Chengdong", 114.1190, 22.5430),
            Place("湖贝", "Hubei", 114.1235, 22.5460),
            Place("立新", "Lixin", 114.1170, 22.5535),
            Place("新园", "Xinyuan", 114.1135, 22.5510),
            Place("南塘", "Nantang", 114.1222, 22.5432),
            Place("东门", "Dongmen", 114.1165, 22.5480),
            Place("花场", "Huachang", 114.1120, 22.5465),
            Place("晒布", "Shaibu", 114.1205, 22.5560),
            Place("螺岭", "Luoling", 114.1195, 22.5505),
            Place("湖景", "Hujing", 114.1235, 22.5520),
        ),
    ),
    SubdistrictSpec(
        "004", "翠竹街道", "Cuizhu Subdistrict",
        (
            ((114.1240, 22.5560), (114.1280, 22.5640)),
        ),
        3.3,
        (
            Place("翠竹", "Cuizhu", 114.1255, 22.5600),
            Place("水贝", "Shuibei", 114.1190, 22.5650),
            Place("田贝", "Tianbei", 114.1215, 22.5600),
            Place("翠岭", "Cuiling", 114.1280, 22.5650),
            Place("民新", "Minxin", 114.1230, 22.5545),
            Place("翠锦", "Cuijin", 114.1300, 22.5600),
            Place("翠达", "Cuida", 114.1280, 22.5540),
            Place("木头龙", "Mutoulong", 114.1180, 22.5700),
            Place("翠平", "Cuiping", 114.1310, 22.5690),
            Place("华丽", "Huali", 114.1250, 22.5700),
        ),
    ),
    SubdistrictSpec(
        "005", "南湖街道", "Nanhu Subdistrict",
        (
            ((114.1055, 22.5335), (114.1133, 22.5330), (114.1215, 22.5345)),
        ),
        3.2,
        (
            Place("罗湖", "Luohu", 114.1140, 22.5330),
            Place("渔邨", "Yucun", 114.1055, 22.5335),
            Place("嘉北", "Jiabei", 114.1150, 22.5420),
            Place("新南", "Xinnan", 114.1110, 22.5380),
            Place("友谊", "Youyi", 114.1170, 22.5395),
            Place("文华", "Wenhua", 114.1200, 22.5375),
            Place("向西", "Xiangxi", 114.1080, 22.5415),
            Place("南湖", "Nanhu", 114.1130, 22.5360),
            Place("鹿丹", "Ludan", 114.1030, 22.5310),
            Place("春风", "Chunfeng", 114.1230, 22.5395),
        ),
    ),
    SubdistrictSpec(
        "006", "笋岗街道", "Sungang Subdistrict",
        (
            ((114.1030, 22.5610), (114.1100, 22.5650)),
        ),
        3.4,
        (
            Place("笋岗", "Sungang", 114.1050, 22.5630),
            Place("田心", "Tianxin", 114.1100, 22.5640),
            Place("宝岗", "Baogang", 114.1130, 22.5685),
            Place("洪湖", "Honghu", 114.1150, 22.5610),
            Place("梨园", "Liyuan", 114.1030, 22.5595),
            Place("红岗", "Honggang", 114.1040, 22.5690),
        ),
    ),
    SubdistrictSpec(
        "007", "东湖街道", "Donghu Subdistrict",
        (
            (
                (114.1400, 22.5650), (114.1480, 22.5720), (114.1600, 22.5800), (114.1800, 22.5860),
                (114.2000, 22.5860), (114.2146, 22.5823),
            ),
        ),
        19.0,
        (
            Place("东湖", "Donghu", 114.1430, 22.5640),
            Place("布心", "Buxin", 114.1420, 22.5800),
            Place("大望", "Dawang", 114.1850, 22.5880),
            Place("梧桐山", "Wutongshan", 114.2100, 22.5820),
            Place("翠鹏", "Cuipeng", 114.1360, 22.5700),
            Place("金湖", "Jinhu", 114.1440, 22.5720),
            Place("水库", "Shuiku", 114.1530, 22.5720),
            Place("东乐", "Dongle", 114.1620, 22.5770),
            Place("泰宁", "Taining", 114.1400, 22.5680),
            Place("沙湾", "Shawan", 114.1650, 22.5900),
        ),
    ),
    SubdistrictSpec(
        "008", "莲塘街道", "Liantang Subdistrict",
        (
            ((114.1620, 22.5490), (114.1760, 22.5560), (114.1950, 22.5580), (114.2100, 22.5630)),
            ((114.1760, 22.5560), (114.1757, 22.5805)),
        ),
        12.0,
        (
            Place("莲塘", "Liantang", 114.1800, 22.5580),
            Place("仙湖", "Xianhu", 114.1740, 22.5720),
            Place("坳下", "Aoxia", 114.1700, 22.5540),
            Place("鹏兴", "Pengxing", 114.1810, 22.5620),
            Place("长岭", "Changling", 114.1930, 22.5620),
            Place("西岭", "Xiling", 114.1650, 22.5500),
            Place("畔山", "Panshan", 114.1890, 22.5550),
            Place("国威", "Guowei", 114.1720, 22.5600),
        ),
    ),
    SubdistrictSpec(
        "009", "东晓街道", "Dongxiao Subdistrict",
        (
            ((114.1220, 22.5800), (114.1300, 22.5880)),
        ),
        7.5,
        (
            Place("东晓", "Dongxiao", 114.1280, 22.5800),
            Place("独树", "Dushu", 114.1240, 22.5860),
            Place("金稻田", "Jindaotian", 114.1300, 22.5900),
            Place("马山", "Mashan", 114.1350, 22.5850),
            Place("兰花", "Lanhua", 114.1200, 22.5780),
            Place("太白", "Taibai", 114.1330, 22.5780),
            Place("草埔", "Caopu", 114.1220, 22.5930),
        ),
    ),
    SubdistrictSpec(
        "010", "清水河街道", "Qingshuihe Subdistrict",
        (
            ((114.0980, 22.5800), (114.1040, 22.5950), (114.1120, 22.6080)),
        ),
        15.0,
        (
            Place("清水河", "Qingshuihe", 114.1050, 22.5870),
            Place("坭岗", "Nigang", 114.1060, 22.5760),
            Place("银湖", "Yinhu", 114.0960, 22.6000),
            Place("玉龙", "Yulong", 114.1100, 22.5960),
            Place("清湖", "Qinghu", 114.1000, 22.5800),
            Place("清平", "Qingping", 114.1150, 22.6050),
        ),
    ),
)
# fmt: on

# Where people live (lon, lat, sigma km, relative peak): weights for communities and grids.
DENSITY_CENTRES: tuple[tuple[float, float, float, float], ...] = (
    (114.1160, 22.5450, 1.6, 1.00),  # 东门, 桂园, 南湖
    (114.1380, 22.5460, 1.2, 0.70),  # 黄贝
    (114.1250, 22.5610, 1.1, 0.80),  # 翠竹
    (114.1050, 22.5620, 1.0, 0.55),  # 笋岗
    (114.1290, 22.5820, 1.2, 0.60),  # 东晓, 布心
    (114.1050, 22.5850, 1.2, 0.35),  # 清水河
    (114.1400, 22.5680, 0.8, 0.45),  # 东湖
    (114.1800, 22.5580, 1.3, 0.50),  # 莲塘
    (114.1560, 22.5480, 0.8, 0.40),  # 罗芳
)
# Mountains and water where few live (lon, lat, radius km, remaining share).
QUIET_ZONES: tuple[tuple[float, float, float, float], ...] = (
    (114.2050, 22.5820, 2.2, 0.08),  # 梧桐山
    (114.1530, 22.5770, 1.3, 0.05),  # 深圳水库
    (114.0950, 22.6050, 1.4, 0.20),  # 银湖山
    (114.1750, 22.5800, 1.0, 0.25),  # 仙湖
    (114.1850, 22.5900, 1.8, 0.35),  # the hills north of 莲塘
)


@dataclass(frozen=True)
class Landmark:
    """A real place at its real coordinate (``approximate`` when known only roughly)."""

    zh: str
    en: str
    category: str
    lat: float
    lon: float
    approximate: bool = False


# fmt: off
LANDMARKS: tuple[Landmark, ...] = (
    Landmark("梧桐山", "Wutong Mountain", "mountain", 22.5823, 114.2146),
    Landmark("罗湖口岸", "Luohu Port", "port", 22.5322, 114.1133),
    Landmark("东门老街", "Dongmen Old Street", "street", 22.5478, 114.1156),
    Landmark("渔民村", "Yumin Village", "village", 22.5330, 114.1055, approximate=True),
    Landmark("深圳水库", "Shenzhen Reservoir", "reservoir", 22.5720, 114.1480, approximate=True),
    Landmark("深圳火车站", "Shenzhen Railway Station", "station", 22.5316, 114.1170),
    Landmark("地王大厦", "Diwang Building", "building", 22.5433, 114.1063),
    Landmark("国贸大厦", "International Trade Centre", "building", 22.5408, 114.1180),
    Landmark("东湖公园", "Donghu Park", "park", 22.5640, 114.1420, approximate=True),
    Landmark("洪湖公园", "Honghu Park", "park", 22.5615, 114.1158),
    Landmark("仙湖植物园", "Fairy Lake Botanical Garden", "garden", 22.5796, 114.1757),
)
# fmt: on
# Where the landmarks the issue names must fall (梧桐山社区 is a community of 东湖街道).
LANDMARK_SUBDISTRICTS = {
    "梧桐山": "007",
    "罗湖口岸": "005",
    "东门老街": "003",
    "渔民村": "005",
    "深圳水库": "007",
}


@dataclass(frozen=True)
class Road:
    """A real road name on a hand-placed centreline; numbers start at ``first`` (odd side)."""

    zh: str
    en: str
    points: tuple[LonLat, ...]
    first: int = 1001
    anchor: tuple[int, float, float] | None = None  # (even number, lon, lat) to pin numbering


# fmt: off
ROADS: tuple[Road, ...] = (
    Road("深南东路", "Shennan East Road", (
        (114.1012, 22.5432), (114.1063, 22.5436), (114.1100, 22.5438), (114.1180, 22.5446),
        (114.1250, 22.5458), (114.1320, 22.5472), (114.1400, 22.5490), (114.1460, 22.5505),
    ), anchor=(5002, 114.1063, 22.5433)),
    Road("罗沙路", "Luosha Road", (
        (114.1460, 22.5505), (114.1540, 22.5508), (114.1620, 22.5522), (114.1700, 22.5532),
        (114.1780, 22.5547), (114.1860, 22.5560), (114.1940, 22.5572), (114.2020, 22.5592),
        (114.2100, 22.5612), (114.2170, 22.5645),
    ), first=3001),
    Road("人民南路", "Renmin South Road", (
        (114.1145, 22.5330), (114.1160, 22.5360), (114.1168, 22.5390), (114.1172, 22.5412),
        (114.1176, 22.5446),
    ), anchor=(3002, 114.1176, 22.5410)),
    Road("人民北路", "Renmin North Road", (
        (114.1176, 22.5446), (114.1172, 22.5500), (114.1166, 22.5560), (114.1162, 22.5600),
    ), first=2001),
    Road("建设路", "Jianshe Road", ((114.1128, 22.5336), (114.1130, 22.5380), (114.1131, 22.5441))),
    Road("和平路", "Heping Road", ((114.1092, 22.5332), (114.1090, 22.5380), (114.1088, 22.5439))),
    Road("东门中路", "Dongmen Middle Road", (
        (114.1205, 22.5450), (114.1208, 22.5500), (114.1210, 22.5560),
    ), first=2001),
    Road("东门南路", "Dongmen South Road", (
        (114.1215, 22.5392), (114.1210, 22.5420), (114.1205, 22.5450),
    ), first=2001),
    Road("东门北路", "Dongmen North Road", (
        (114.1210, 22.5560), (114.1218, 22.5620), (114.1230, 22.5690), (114.1245, 22.5760),
    )),
    Road("宝安南路", "Bao'an South Road", (
        (114.1100, 22.5438), (114.1098, 22.5500), (114.1093, 22.5560), (114.1090, 22.5620),
    ), first=2001),
    Road("宝安北路", "Bao'an North Road", (
        (114.1090, 22.5620), (114.1085, 22.5680), (114.1082, 22.5750), (114.1080, 22.5820),
    ), first=2001),
    Road("解放路", "Jiefang Road", (
        (114.1098, 22.5468), (114.1140, 22.5472), (114.1172, 22.5476), (114.1205, 22.5478),
    ), first=2001),
    Road("新园路", "Xinyuan Road", ((114.1098, 22.5505), (114.1140, 22.5508), (114.1172, 22.5510))),
    Road("立新路", "Lixin Road", ((114.1140, 22.5532), (114.1170, 22.5534), (114.1208, 22.5536))),
    Road("湖贝路", "Hubei Road", ((114.1240, 22.5448), (114.1238, 22.5480), (114.1235, 22.5520))),
    Road("晒布路", "Shaibu Road", ((114.1166, 22.5562), (114.1210, 22.5562), (114.1250, 22.5566))),
    Road("桂园路", "Guiyuan Road", ((114.1012, 22.5482), (114.1060, 22.5482), (114.1098, 22.5484))),
    Road("松园路", "Songyuan Road", (
        (114.1040, 22.5440), (114.1045, 22.5500), (114.1048, 22.5545),
    )),
    Road("红宝路", "Hongbao Road", ((114.1013, 22.5520), (114.1055, 22.5522), (114.1097, 22.5525))),
    Road("红桂路", "Honggui Road", ((114.1014, 22.5555), (114.1055, 22.5557), (114.1094, 22.5559))),
    Road("乐园路", "Leyuan Road", ((114.1076, 22.5441), (114.1077, 22.5480), (114.1078, 22.5520))),
    Road("红岭南路", "Hongling South Road", (
        (114.1006, 22.5300), (114.1010, 22.5370), (114.1012, 22.5432),
    ), first=2001),
    Road("红岭中路", "Hongling Middle Road", (
        (114.1012, 22.5432), (114.1014, 22.5500), (114.1015, 22.5580),
    )),
    Road("红岭北路", "Hongling North Road", (
        (114.1015, 22.5580), (114.1010, 22.5640), (114.1002, 22.5690),
    ), first=2001),
    Road("春风路", "Chunfeng Road", (
        (114.1062, 22.5385), (114.1120, 22.5388), (114.1180, 22.5392), (114.1240, 22.5400),
        (114.1290, 22.5412),
    ), first=2001),
    Road("嘉宾路", "Jiabin Road", (
        (114.1062, 22.5412), (114.1120, 22.5414), (114.1168, 22.5414), (114.1215, 22.5418),
    ), first=2001),
    Road("南湖路", "Nanhu Road", ((114.1205, 22.5330), (114.1210, 22.5360), (114.1215, 22.5392))),
    Road("沿河南路", "Yanhe South Road", (
        (114.1214, 22.5312), (114.1237, 22.5360), (114.1260, 22.5410), (114.1275, 22.5450),
    )),
    Road("沿河北路", "Yanhe North Road", (
        (114.1275, 22.5450), (114.1290, 22.5520), (114.1310, 22.5600), (114.1330, 22.5680),
        (114.1338, 22.5750),
    ), first=2001),
    Road("文锦南路", "Wenjin South Road", (
        (114.1310, 22.5334), (114.1315, 22.5400), (114.1318, 22.5470),
    ), first=2001),
    Road("文锦中路", "Wenjin Middle Road", (
        (114.1318, 22.5470), (114.1340, 22.5530), (114.1355, 22.5590),
    )),
    Road("文锦北路", "Wenjin North Road", (
        (114.1355, 22.5590), (114.1370, 22.5650), (114.1380, 22.5700),
    ), first=2001),
    Road("爱国路", "Aiguo Road", (
        (114.1400, 22.5490), (114.1410, 22.5550), (114.1425, 22.5610), (114.1440, 22.5650),
    ), first=3001),
    Road("贝丽北路", "Beili North Road", ((114.1445, 22.5505), (114.1452, 22.5570))),
    Road("黄贝路", "Huangbei Road", (
        (114.1330, 22.5440), (114.1380, 22.5445), (114.1440, 22.5462),
    )),
    Road("怡景路", "Yijing Road", ((114.1342, 22.5500), (114.1400, 22.5520), (114.1442, 22.5540))),
    Road("新秀路", "Xinxiu Road", ((114.1380, 22.5383), (114.1440, 22.5412), (114.1500, 22.5444))),
    Road("罗芳路", "Luofang Road", ((114.1500, 22.5444), (114.1560, 22.5462), (114.1600, 22.5475))),
    Road("延芳路", "Yanfang Road", ((114.1520, 22.5452), (114.1530, 22.5500))),
    Road("翠竹路", "Cuizhu Road", (
        (114.1235, 22.5535), (114.1250, 22.5590), (114.1265, 22.5650), (114.1280, 22.5710),
    ), first=2001),
    Road("田贝一路", "Tianbei 1st Road", (
        (114.1180, 22.5585), (114.1230, 22.5588), (114.1262, 22.5590),
    )),
    Road("田贝四路", "Tianbei 4th Road", (
        (114.1180, 22.5615), (114.1230, 22.5618), (114.1265, 22.5620),
    )),
    Road("太宁路", "Taining Road", ((114.1342, 22.5690), (114.1390, 22.5720), (114.1430, 22.5760))),
    Road("布心路", "Buxin Road", (
        (114.1180, 22.5800), (114.1245, 22.5790), (114.1310, 22.5785), (114.1380, 22.5790),
        (114.1440, 22.5810),
    ), first=3001),
    Road("东晓路", "Dongxiao Road", (
        (114.1300, 22.5787), (114.1290, 22.5850), (114.1275, 22.5920),
    )),
    Road("太白路", "Taibai Road", ((114.1180, 22.5860), (114.1250, 22.5862), (114.1330, 22.5868))),
    Road("布吉路", "Buji Road", ((114.1245, 22.5792), (114.1225, 22.5870), (114.1205, 22.5960))),
    Road("笋岗东路", "Sungang East Road", (
        (114.1008, 22.5650), (114.1080, 22.5648), (114.1130, 22.5645), (114.1180, 22.5640),
    ), first=2001),
    Road("宝岗路", "Baogang Road", (
        (114.1130, 22.5645), (114.1135, 22.5700), (114.1140, 22.5760), (114.1150, 22.5830),
    )),
    Road("泥岗东路", "Nigang East Road", (
        (114.0980, 22.5750), (114.1050, 22.5752), (114.1100, 22.5755), (114.1150, 22.5762),
        (114.1200, 22.5772),
    )),
    Road("洪湖路", "Honghu Road", ((114.1100, 22.5590), (114.1130, 22.5590), (114.1162, 22.5592))),
    Road("红岗路", "Honggang Road", (
        (114.1050, 22.5650), (114.1045, 22.5720), (114.1040, 22.5800), (114.1035, 22.5880),
    ), first=2001),
    Road("清水河一路", "Qingshuihe 1st Road", (
        (114.0960, 22.5870), (114.1020, 22.5880), (114.1080, 22.5890), (114.1140, 22.5900),
    )),
    Road("国威路", "Guowei Road", ((114.1720, 22.5537), (114.1725, 22.5580), (114.1730, 22.5620))),
    Road("鹏兴路", "Pengxing Road", (
        (114.1800, 22.5552), (114.1805, 22.5600), (114.1810, 22.5640),
    )),
    Road("聚宝路", "Jubao Road", ((114.1680, 22.5580), (114.1760, 22.5600), (114.1840, 22.5610))),
    Road("畔山路", "Panshan Road", ((114.1880, 22.5565), (114.1890, 22.5600), (114.1900, 22.5640))),
    Road("仙湖路", "Xianhu Road", (
        (114.1650, 22.5526), (114.1680, 22.5620), (114.1720, 22.5700), (114.1757, 22.5775),
    )),
    Road("望桐路", "Wangtong Road", (
        (114.1940, 22.5572), (114.1990, 22.5630), (114.2050, 22.5690), (114.2090, 22.5730),
    )),
)
# fmt: on

# A few real-ish named towers: (road, side, lon, lat, name, blocks). Side +1 is the right of
# the road's drawing direction (even numbers), -1 the left (odd). Other doors hold compounds
# of numbered buildings.
# fmt: off
NAMED_BUILDINGS: tuple[tuple[str, int, float, float, str, tuple[str, ...]], ...] = (
    ("人民南路", 1, 114.1176, 22.5410, "国际贸易中心大厦", ("A座", "B座")),
    ("人民南路", -1, 114.1168, 22.5410, "天安国际大厦", ("A座", "B座")),
    ("人民南路", 1, 114.1175, 22.5428, "发展中心大厦", ("A座", "B座", "C座")),
    ("人民南路", -1, 114.1163, 22.5380, "金丰城大厦", ("A座", "B座")),
    ("深南东路", 1, 114.1063, 22.5433, "地王大厦", ("A座", "B座")),
)
# fmt: on
NUMBER_SPACING_M = 8.0  # door numbers follow distance along the road: one pair per 8 m
EXAMPLE_ADDRESS = ("人民南路", "3002", "国际贸易中心大厦", "A座")


# ── Fields over the district ────────────────────────────────────────────────────────────────


def density(x: FloatArray, y: FloatArray) -> FloatArray:
    """Relative population density at UTM points (0.02 … ~1.2)."""
    rho = np.full(np.shape(x), 0.02)
    for lon, lat, sigma_km, peak in DENSITY_CENTRES:
        cx, cy = utm_point(lon, lat)
        d2 = (x - cx) ** 2 + (y - cy) ** 2
        rho = rho + peak * np.exp(-d2 / (2 * (sigma_km * 1000) ** 2))
    for lon, lat, radius_km, share in QUIET_ZONES:
        cx, cy = utm_point(lon, lat)
        d2 = (x - cx) ** 2 + (y - cy) ** 2
        rho = rho * (1 - (1 - share) * np.exp(-d2 / (radius_km * 1000) ** 2))
    return np.asarray(rho, dtype=np.float64)


def noise(
    x: FloatArray, y: FloatArray, *, seed: int, wavelengths: tuple[float, float]
) -> FloatArray:
    """A smooth random field of unit spread: a sum of plane waves."""
    rng = np.random.default_rng([SEED, seed])
    total = np.zeros(np.shape(x))
    waves = 14
    for _ in range(waves):
        theta = rng.uniform(0, math.pi)
        length = math.exp(rng.uniform(math.log(wavelengths[0]), math.log(wavelengths[1])))
        phase = rng.uniform(0, 2 * math.pi)
        total += np.cos(2 * math.pi * (x * math.cos(theta) + y * math.sin(theta)) / length + phase)
    return np.asarray(total / math.sqrt(waves / 2), dtype=np.float64)


# ── The raster and growing regions on it ───────────────────────────────────────────────────


@dataclass(frozen=True)
class Raster:
    """Square cells over the outline's bounds; row 0 is the southernmost."""

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int

    @classmethod
    def over(cls, bounds: tuple[float, float, float, float], cell: float) -> Raster:
        """The raster covering ``bounds`` with a margin of one cell, on a grid of ``cell``."""
        x0 = math.floor(bounds[0] / cell - 1) * cell
        y0 = math.floor(bounds[1] / cell - 1) * cell
        nx = math.ceil((bounds[2] - x0) / cell) + 1
        ny = math.ceil((bounds[3] - y0) / cell) + 1
        return cls(x0, y0, cell, nx, ny)

    def centres(self) -> tuple[FloatArray, FloatArray]:
        """Cell-centre coordinates, each of shape (ny, nx)."""
        xs = self.x0 + (np.arange(self.nx) + 0.5) * self.cell
        ys = self.y0 + (np.arange(self.ny) + 0.5) * self.cell
        gx, gy = np.meshgrid(xs, ys)
        return gx, gy

    def boxes(self) -> npt.NDArray[np.object_]:
        """Every cell as a polygon, shape (ny, nx)."""
        cols, rows = np.meshgrid(np.arange(self.nx), np.arange(self.ny))
        return np.asarray(
            shapely.box(
                self.x0 + cols * self.cell,
                self.y0 + rows * self.cell,
                self.x0 + (cols + 1) * self.cell,
                self.y0 + (rows + 1) * self.cell,
            )
        )

    def cell_of(self, x: float, y: float) -> tuple[int, int]:
        """(row, column) of the cell holding a point."""
        return int((y - self.y0) // self.cell), int((x - self.x0) // self.cell)


def grow(
    allowed: BoolArray,
    seeds: Sequence[Sequence[tuple[int, int]]],
    cost: FloatArray,
    speeds: Sequence[float],
) -> IntArray:
    """Label every allowed cell with the seed group that reaches it first (-1 elsewhere).

    Competitive Dijkstra over 4-neighbours: stepping into a cell costs ``cost`` there divided
    by the group's speed. Each cell is entered from a cell of its own group, so a group grown
    from connected seed cells is one connected region.
    """
    ny, nx = allowed.shape
    width = nx + 2
    padded = np.zeros((ny + 2, nx + 2), dtype=bool)
    padded[1:-1, 1:-1] = allowed
    padded_cost = np.zeros((ny + 2, nx + 2))
    padded_cost[1:-1, 1:-1] = cost
    open_cells: list[bool] = padded.ravel().tolist()
    costs: list[float] = padded_cost.ravel().tolist()
    label = [-1] * len(open_cells)
    heap: list[tuple[float, int, int]] = []
    for group, cells in enumerate(seeds):
        for row, col in cells:
            index = (row + 1) * width + col + 1
            if not open_cells[index]:
                raise ValueError(f"seed cell {(row, col)} of group {group} is outside the region")
            heap.append((0.0, group, index))
    heapq.heapify(heap)
    slowness = [1.0 / s for s in speeds]
    steps = (1, -1, width, -width)
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        distance, group, index = pop(heap)
        if label[index] != -1:
            continue
        label[index] = group
        factor = slowness[group]
        for step in steps:
            neighbour = index + step
            if open_cells[neighbour] and label[neighbour] == -1:
                push(heap, (distance + costs[neighbour] * factor, group, neighbour))
    labels = np.asarray(label, dtype=np.int64).reshape(ny + 2, nx + 2)[1:-1, 1:-1]
    return np.ascontiguousarray(labels)


def line_cells(raster: Raster, line: Sequence[LonLat]) -> list[tuple[int, int]]:
    """The raster cells along a lon/lat polyline, in order, without repeats."""
    path = to_utm(LineString(line)) if len(line) > 1 else to_utm(Point(line[0]))
    if isinstance(path, Point):
        return [raster.cell_of(path.x, path.y)]
    samples = np.arange(0.0, path.length + 1e-9, raster.cell / 3)
    points = shapely.get_coordinates(shapely.line_interpolate_point(path, samples))
    cells: list[tuple[int, int]] = []
    for x, y in points:
        cell = raster.cell_of(float(x), float(y))
        if cell not in cells:
            cells.append(cell)
    return cells


def kmeans(
    points: FloatArray, weights: FloatArray, k: int, rng: np.random.Generator, iterations: int = 25
) -> FloatArray:
    """Weighted k-means (k-means++ start, Lloyd steps): k centres, dense where weight is."""
    n = len(points)
    first = rng.choice(n, p=weights / weights.sum())
    centres = [points[first]]
    nearest = np.sum((points - centres[0]) ** 2, axis=1)
    for _ in range(1, k):
        p = weights * nearest
        pick = rng.choice(n, p=p / p.sum())
        centres.append(points[pick])
        nearest = np.minimum(nearest, np.sum((points - points[pick]) ** 2, axis=1))
    centre_array = np.array(centres)
    for _ in range(iterations):
        d2 = ((points[:, None, :] - centre_array[None, :, :]) ** 2).sum(axis=2)
        owner = d2.argmin(axis=1)
        for j in range(k):
            mine = owner == j
            if mine.any():
                w = weights[mine]
                centre_array[j] = (points[mine] * w[:, None]).sum(axis=0) / w.sum()
    return centre_array


def snap_seeds(points: FloatArray, centres: FloatArray) -> list[int]:
    """For each centre, the index of the nearest point not already taken."""
    taken: set[int] = set()
    chosen: list[int] = []
    for centre in centres:
        order = np.argsort(np.sum((points - centre) ** 2, axis=1), kind="stable")
        pick = next(int(i) for i in order if int(i) not in taken)
        taken.add(pick)
        chosen.append(pick)
    return chosen


# ── Building the regions ────────────────────────────────────────────────────────────────────


@dataclass
class Surface:
    """The raster of one resolution with its allowed cells and growth cost."""

    raster: Raster
    allowed: BoolArray
    x: FloatArray
    y: FloatArray
    rho: FloatArray


def make_surface(outline: Polygon, cell: float) -> Surface:
    """Cells touching the outline, their centres and population density."""
    raster = Raster.over(outline.bounds, cell)
    boxes = raster.boxes()
    shapely.prepare(outline)
    allowed = np.asarray(shapely.intersects(outline, boxes), dtype=bool)
    x, y = raster.centres()
    rho = density(x, y)
    reservoir = to_utm(Polygon(RESERVOIR))
    shapely.prepare(reservoir)
    wet = np.asarray(shapely.contains_xy(reservoir, x, y), dtype=bool)
    rho = np.where(wet, 0.003, rho)
    return Surface(raster, allowed, x, y, rho)


def subdistrict_cost(surface: Surface) -> FloatArray:
    """Step cost for subdistrict growth: cell size warped by broad noise."""
    field_ = noise(surface.x, surface.y, seed=1, wavelengths=(700.0, 3500.0))
    return np.asarray(surface.raster.cell * np.exp(0.35 * field_), dtype=np.float64)


def label_subdistricts(outline: Polygon, cell: float) -> tuple[Surface, IntArray]:
    """Subdistrict index (0–9) per cell: grown from seed lines, speeds tuned to target areas."""
    coarse = make_surface(outline, max(cell, 60.0))
    targets = np.array([s.area_km2 for s in SUBDISTRICTS])
    targets = targets / targets.sum()
    speeds = np.ones(len(SUBDISTRICTS))

    def run(surface: Surface, speeds_: FloatArray) -> IntArray:
        seeds = [
            [c for line in spec.seeds for c in line_cells(surface.raster, line)]
            for spec in SUBDISTRICTS
        ]
        return grow(surface.allowed, seeds, subdistrict_cost(surface), speeds_.tolist())

    for _ in range(12):
        labels = run(coarse, speeds)
        areas = np.bincount(labels[labels >= 0], minlength=len(SUBDISTRICTS)).astype(float)
        areas = areas / areas.sum()
        speeds = speeds * np.sqrt(targets / areas)
        speeds = speeds / speeds.max()
    fine = make_surface(outline, cell) if cell != coarse.raster.cell else coarse
    return fine, run(fine, speeds)


def road_ridge(surface: Surface, roads: Sequence[LineString]) -> FloatArray:
    """1 on open ground, up to 1 + ROAD_RIDGE on a road's centreline."""
    tree = STRtree(list(roads))
    points = shapely.points(surface.x.ravel(), surface.y.ravel())
    _, distances = tree.query_nearest(points, return_distance=True, all_matches=False)
    distance = np.asarray(distances).reshape(surface.x.shape)
    width = max(10.0, surface.raster.cell * 0.8)
    return np.asarray(1.0 + ROAD_RIDGE * np.exp(-((distance / width) ** 2)), dtype=np.float64)


def reading_order(xs: FloatArray, ys: FloatArray, band: float) -> list[int]:
    """Indices ordered north to south in bands of ``band`` metres, west to east in each."""
    top = float(ys.max())
    keys = [(math.floor((top - float(y)) / band), float(x)) for x, y in zip(xs, ys, strict=True)]
    return sorted(range(len(keys)), key=lambda i: keys[i])


def split_regions(
    surface: Surface,
    parents: IntArray,
    counts: Sequence[int],
    cost: FloatArray,
    *,
    seed: int,
    band: float,
    weight_power: float,
) -> tuple[IntArray, list[int]]:
    """Split each parent region into ``counts[p]`` children; global child labels, their parents."""
    children = np.full(parents.shape, -1, dtype=np.int64)
    child_parent: list[int] = []
    for parent, k in enumerate(counts):
        rows, cols = np.nonzero(parents == parent)
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        allowed = parents[r0:r1, c0:c1] == parent
        points = np.column_stack([surface.x[rows, cols], surface.y[rows, cols]])
        weights = surface.rho[rows, cols] ** weight_power + 1e-3
        k = min(k, len(points))
        rng = np.random.default_rng([SEED, seed, parent])
        centres = kmeans(points, weights, k, rng) if k > 1 else points[:1]
        picks = snap_seeds(points, centres)
        order = reading_order(points[picks, 0], points[picks, 1], band)
        seeds = [[(int(rows[picks[i]] - r0), int(cols[picks[i]] - c0))] for i in order]
        local = grow(allowed, seeds, cost[r0:r1, c0:c1], [1.0] * k)
        window = children[r0:r1, c0:c1]
        base = len(child_parent)
        window[allowed] = local[allowed] + base
        child_parent.extend([parent] * k)
    return children, child_parent


def polygonise(raster: Raster, labels: IntArray, count: int) -> list[BaseGeometry]:
    """One polygon per label: the union of its cells, merged row by row into runs first."""
    ny, nx = labels.shape
    starts = np.ones((ny, nx), dtype=bool)
    starts[:, 1:] = labels[:, 1:] != labels[:, :-1]
    rows, cols = np.nonzero(starts)
    ends = np.empty_like(cols)
    ends[:-1] = np.where(rows[1:] == rows[:-1], cols[1:], nx)
    ends[-1] = nx
    run_labels = labels[rows, cols]
    keep = run_labels >= 0
    rows, cols, ends, run_labels = rows[keep], cols[keep], ends[keep], run_labels[keep]
    boxes = shapely.box(
        raster.x0 + cols * raster.cell,
        raster.y0 + rows * raster.cell,
        raster.x0 + ends * raster.cell,
        raster.y0 + (rows + 1) * raster.cell,
    )
    order = np.argsort(run_labels, kind="stable")
    bounds = np.searchsorted(run_labels[order], np.arange(count + 1))
    return [shapely.union_all(boxes[order[bounds[i] : bounds[i + 1]]]) for i in range(count)]


def reattach_fragments(polygons: list[BaseGeometry]) -> list[BaseGeometry]:
    """Keep each region's largest part; give detached parts to the neighbour they share most with.

    Clipping cells to the outline can cut a thin connection; the cut-off piece is tiny.
    """
    polygons = list(polygons)
    orphans: list[BaseGeometry] = []
    for i, geom in enumerate(polygons):
        parts = list(shapely.get_parts(geom))
        if len(parts) > 1:
            parts.sort(key=lambda p: -p.area)
            polygons[i] = parts[0]
            orphans.extend(parts[1:])
    for piece in sorted(orphans, key=lambda p: -p.area):
        tree = STRtree(polygons)
        best, best_len = -1, 0.0
        for j in tree.query(piece, predicate="intersects"):
            shared = shapely.intersection(piece.boundary, polygons[int(j)].boundary).length
            if shared > best_len:
                best, best_len = int(j), shared
        if best < 0:
            raise RuntimeError(f"a fragment of {piece.area:.1f} m² touches no region")
        polygons[best] = shapely.union(polygons[best], piece)
    return polygons


@dataclass
class Regions:
    """The region tree in WGS84, rounded: grids and the unions above them."""

    grids: list[BaseGeometry]
    grid_community: list[int]
    communities: list[BaseGeometry]
    community_subdistrict: list[int]
    community_codes: list[str]
    subdistricts: list[BaseGeometry]
    district: BaseGeometry
    grid_codes: list[str]


def build_regions(
    cell: float, roads_utm: Sequence[LineString], log: Callable[[str], None]
) -> Regions:
    """Grow, polygonise, clean, simplify and round the region tree."""
    outline = to_utm(Polygon(OUTLINE))
    surface, sub_labels = label_subdistricts(outline, cell)
    log(f"subdistricts grown on {int(surface.allowed.sum())} cells of {cell:g} m")

    ridge = road_ridge(surface, roads_utm)
    community_cost = (
        surface.raster.cell
        * np.exp(0.3 * noise(surface.x, surface.y, seed=2, wavelengths=(300.0, 1500.0)))
        * ridge
    )
    counts = [len(spec.places) for spec in SUBDISTRICTS]
    comm_labels, comm_sub = split_regions(
        surface, sub_labels, counts, community_cost, seed=3, band=700.0, weight_power=1.5
    )
    log(f"{len(comm_sub)} communities grown")

    cell_area = surface.raster.cell**2
    n_comm = len(comm_sub)
    inside = comm_labels >= 0
    pop = np.bincount(comm_labels[inside], weights=surface.rho[inside], minlength=n_comm)
    area = np.bincount(comm_labels[inside], minlength=n_comm).astype(float)
    share = 0.75 * pop / pop.sum() + 0.25 * area / area.sum()
    grid_counts = [
        int(max(3, min(round(TOTAL_GRIDS * s), area[i] * cell_area // 6000)))
        for i, s in enumerate(share)
    ]
    grid_cost = (
        surface.raster.cell
        * np.exp(0.25 * noise(surface.x, surface.y, seed=4, wavelengths=(120.0, 700.0)))
        * ridge
    )
    grid_labels, grid_comm = split_regions(
        surface, comm_labels, grid_counts, grid_cost, seed=5, band=160.0, weight_power=1.0
    )
    log(f"{len(grid_comm)} grids grown")

    raw = polygonise(surface.raster, grid_labels, len(grid_comm))
    clipped = [shapely.intersection(g, outline) for g in raw]
    clipped = reattach_fragments(clipped)
    cleaned = shapely.coverage_clean(np.array(clipped, dtype=object))
    simple = shapely.coverage_simplify(cleaned, SIMPLIFY_M, simplify_boundary=False)
    wgs = shapely.set_precision(to_wgs(simple), 1e-6)
    grids = list(shapely.orient_polygons(wgs))
    if not all(g.is_valid and not g.is_empty for g in grids):
        raise RuntimeError("a grid is invalid or empty after rounding")
    if not shapely.coverage_is_valid(np.array(grids, dtype=object)):
        raise RuntimeError("the rounded grids are not an exact coverage")
    log("grids polygonised, simplified and rounded")

    communities = [
        shapely.orient_polygons(
            shapely.coverage_union_all([grids[g] for g in range(len(grids)) if grid_comm[g] == c])
        )
        for c in range(n_comm)
    ]
    subdistricts = [
        shapely.orient_polygons(
            shapely.coverage_union_all([communities[c] for c in range(n_comm) if comm_sub[c] == s])
        )
        for s in range(len(SUBDISTRICTS))
    ]
    district = shapely.orient_polygons(shapely.coverage_union_all(subdistricts))
    for geom in [*communities, *subdistricts, district]:
        if not geom.is_valid or not isinstance(geom, Polygon):
            raise RuntimeError(f"a region is not one valid polygon: {geom.geom_type}")
    community_codes: list[str] = []
    per_sub: dict[int, int] = {}
    for s in comm_sub:
        per_sub[s] = per_sub.get(s, 0) + 1
        community_codes.append(f"{DISTRICT_CODE}{SUBDISTRICTS[s].code}{per_sub[s]:03d}")
    grid_codes: list[str] = []
    per_comm: dict[int, int] = {}
    for c in grid_comm:
        per_comm[c] = per_comm.get(c, 0) + 1
        grid_codes.append(f"{community_codes[c]}{per_comm[c]:03d}")
    return Regions(
        grids, grid_comm, communities, comm_sub, community_codes, subdistricts, district, grid_codes
    )


# ── Roads and standard addresses ───────────────────────────────────────────────────────────


def road_lines(outline_utm: Polygon) -> list[LineString]:
    """Each road's centreline in UTM, clipped to the district (longest piece kept)."""
    lines: list[LineString] = []
    for road in ROADS:
        line = shapely.intersection(to_utm(LineString(road.points)), outline_utm)
        parts = sorted(shapely.get_parts(line), key=lambda p: -p.length)
        if not parts or not isinstance(parts[0], LineString):
            raise RuntimeError(f"road {road.zh} lies outside the district")
        lines.append(parts[0])
    return lines


def sides_at(line: LineString, along: float) -> tuple[float, float, float, float]:
    """Point on the line at ``along`` and the unit normal pointing to its right."""
    a = line.interpolate(max(0.0, along - 2.0))
    b = line.interpolate(min(line.length, along + 2.0))
    p = line.interpolate(along)
    dx, dy = b.x - a.x, b.y - a.y
    norm = math.hypot(dx, dy) or 1.0
    return p.x, p.y, dy / norm, -dx / norm


def door_steps(line: LineString) -> list[float]:
    """Positions of door pairs along a road: closer together where more people live."""
    steps: list[float] = []
    along = 12.0
    while along < line.length - 8.0:
        steps.append(along)
        p = line.interpolate(along)
        rho = float(density(np.array([p.x]), np.array([p.y]))[0])
        along += 28.0 + 70.0 * max(0.0, 1.0 - rho)
    return steps


@dataclass(frozen=True)
class AddressRow:
    """One standard address before its region codes are known."""

    road: int
    number: int
    building: str
    unit: str
    x: float
    y: float


def first_even_number(road: Road, line: LineString, steps: Sequence[float]) -> int:
    """The even number at the road's start, so that an anchored number lands on its door."""
    if road.anchor is None:
        return road.first + 1
    number, lon, lat = road.anchor
    along = line.project(Point(utm_point(lon, lat)))
    nearest = min(steps, key=lambda s: abs(s - along))
    return number - 2 * round(nearest / NUMBER_SPACING_M)


def door_number(first_even: int, along: float, side: int) -> int:
    """Door number at a distance along the road: even on the right, odd on the left."""
    return first_even + 2 * round(along / NUMBER_SPACING_M) - (1 if side < 0 else 0)


def make_addresses(lines: Sequence[LineString]) -> tuple[list[AddressRow], list[int]]:
    """Addresses along both sides of every road, and each road's first even number."""
    rows: list[AddressRow] = []
    firsts: list[int] = []
    for r, (road, line) in enumerate(zip(ROADS, lines, strict=True)):
        rng = np.random.default_rng([SEED, 11, r])
        steps = door_steps(line)
        first_even = first_even_number(road, line, steps)
        firsts.append(first_even)
        named: dict[tuple[int, int], tuple[str, tuple[str, ...]]] = {}
        for road_name, side, lon, lat, name, blocks in NAMED_BUILDINGS:
            if road_name == road.zh:
                along = line.project(Point(utm_point(lon, lat)))
                k = min(range(len(steps)), key=lambda i: abs(steps[i] - along))
                named[(k, side)] = (name, blocks)
        for k, along in enumerate(steps):
            x, y, _, _ = sides_at(line, along)
            rho = float(density(np.array([x]), np.array([y]))[0])
            for side in (-1, 1):
                number = door_number(first_even, along, side)
                tower = named.get((k, side))
                if tower is None and rng.random() < 0.12:
                    continue  # no door here on this side: a wall, a park, a gap in numbering
                for building, unit, shift, offset in door_contents(tower, rho, rng):
                    t = min(max(along + shift, 0.0), line.length)
                    bx, by, bnx, bny = sides_at(line, t)
                    rows.append(
                        AddressRow(
                            r,
                            number,
                            building,
                            unit,
                            bx + side * bnx * offset,
                            by + side * bny * offset,
                        )
                    )
    return rows, firsts


def door_contents(
    tower: tuple[str, tuple[str, ...]] | None, rho: float, rng: np.random.Generator
) -> list[tuple[str, str, float, float]]:
    """(building, unit, shift along the road, offset from the centreline) behind one door."""
    if tower is not None:
        offset = float(rng.uniform(15, 30))
        return [(tower[0], unit, 0.0, offset) for unit in tower[1]]
    dense = min(1.0, rho)
    if rng.random() < 0.45 - 0.25 * dense:
        return [("", "", 0.0, float(rng.uniform(15, 30)))]
    buildings = 1 + min(5, int(rng.poisson(0.6 + 1.6 * dense)))
    scheme = rng.choice(["单元", "座", ""], p=[0.55, 0.15, 0.30])
    out: list[tuple[str, str, float, float]] = []
    for b in range(1, buildings + 1):
        shift = (b - (buildings + 1) / 2) * 5.0 + float(rng.uniform(-2, 2))
        offset = float(rng.uniform(15, 30))
        if scheme == "单元":
            units = [f"{u}单元" for u in range(1, int(rng.integers(1, 5)) + 1)]
        elif scheme == "座":
            units = ["A座", "B座"][: int(rng.integers(1, 3))]
        else:
            units = [""]
        out.extend((f"{b}栋", unit, shift, offset) for unit in units)
    return out


def compound_addresses(
    grids_utm: Sequence[BaseGeometry],
    empty: Sequence[int],
    lines: Sequence[LineString],
    firsts: Sequence[int],
    taken: dict[int, set[int]],
) -> list[AddressRow]:
    """Compounds inside populated grids that no road passes, addressed on the nearest road.

    Our road network has only the named roads, so a block's inner compounds take the number
    their position projects to on the nearest one (the next free number of that side).
    """
    rows: list[AddressRow] = []
    line_array = np.array(lines, dtype=object)
    for g in empty:
        grid = grids_utm[g]
        centre = grid.point_on_surface()
        rho = float(density(np.array([centre.x]), np.array([centre.y]))[0])
        if rho < 0.12:
            continue
        rng = np.random.default_rng([SEED, 13, g])
        inner = grid.buffer(-20.0)
        minx, miny, maxx, maxy = grid.bounds
        spots: list[Point] = []
        for _ in range(200):
            p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if inner.contains(p) and all(p.distance(q) > 40 for q in spots):
                spots.append(p)
            if len(spots) == 1 + int(2.5 * min(rho, 1.0)):
                break
        for p in spots or [centre]:
            r = int(np.argmin(shapely.distance(line_array, p)))
            line = lines[r]
            along = line.project(p)
            x, y, nx_, ny_ = sides_at(line, along)
            side = 1 if (p.x - x) * nx_ + (p.y - y) * ny_ >= 0 else -1
            wanted = door_number(firsts[r], along, side)
            number = next(
                n
                for step in range(10_000)
                for n in (wanted + 2 * step, wanted - 2 * step)
                if n > 0 and n not in taken.setdefault(r, set())
            )
            taken[r].add(number)
            for building, unit, _, _ in door_contents(None, max(rho, 0.5), rng):
                jitter = rng.uniform(-12, 12, size=2) if building else np.zeros(2)
                rows.append(AddressRow(r, number, building, unit, p.x + jitter[0], p.y + jitter[1]))
    return rows


# ── Synthetic point layers ─────────────────────────────────────────────────────────────────


def spread_points(
    candidates: FloatArray,
    weights: FloatArray,
    count: int,
    spacing: float,
    rng: np.random.Generator,
) -> FloatArray:
    """Up to ``count`` candidates drawn by weight, no two closer than ``spacing`` metres."""
    order = rng.choice(
        len(candidates), size=len(candidates), replace=False, p=weights / weights.sum()
    )
    chosen: list[FloatArray] = []
    for i in order:
        p = candidates[i]
        if all(np.hypot(*(p - q)) >= spacing for q in chosen):
            chosen.append(p)
            if len(chosen) == count:
                break
    return np.array(chosen)


def land_candidates(district_utm: BaseGeometry, step: float) -> tuple[FloatArray, FloatArray]:
    """Points on a regular lattice inside the district and off the reservoir, with density."""
    minx, miny, maxx, maxy = district_utm.bounds
    grid_x, grid_y = np.meshgrid(
        np.arange(minx + step / 2, maxx, step), np.arange(miny + step / 2, maxy, step)
    )
    xs, ys = grid_x.ravel(), grid_y.ravel()
    reservoir = to_utm(Polygon(RESERVOIR)).buffer(60)
    shrunk = district_utm.buffer(-40)
    keep = shapely.contains_xy(shrunk, xs, ys) & ~shapely.contains_xy(reservoir, xs, ys)
    xs, ys = xs[keep], ys[keep]
    return np.column_stack([xs, ys]), density(xs, ys)


Features = list[tuple[BaseGeometry, dict[str, Any]]]


def shelters(candidates: FloatArray, rho: FloatArray, rng: np.random.Generator) -> Features:
    """40 emergency shelters (应急避难场所), where people are, at least 600 m apart."""
    kinds = [
        ("公园", 2000, 20000),
        ("学校", 800, 3000),
        ("广场", 1000, 5000),
        ("体育场馆", 3000, 10000),
    ]
    out: Features = []
    for i, (x, y) in enumerate(spread_points(candidates, rho + 0.05, 40, 600.0, rng), start=1):
        kind, low, high = kinds[int(rng.integers(len(kinds)))]
        props = {
            "name": f"应急避难场所 S{i:02d}（模拟）",
            "name_en": f"Emergency shelter S{i:02d} (synthetic)",
            "kind": kind,
            "capacity": int(rng.integers(low // 100, high // 100 + 1)) * 100,
            "synthetic": True,
        }
        out.append((Point(x, y), props))
    return out


def hydrants(
    district_utm: BaseGeometry, lines: Sequence[LineString], rng: np.random.Generator
) -> Features:
    """Fire hydrants (消防栓) along every road, sides alternating; low pressure in the hills."""
    reservoir = to_utm(Polygon(RESERVOIR))
    found: list[tuple[Point, str]] = []
    pressures: list[str] = []
    for r, line in enumerate(lines):
        along, side = 20.0, 1
        while along < line.length - 5:
            x, y, nx_, ny_ = sides_at(line, along)
            offset = float(rng.uniform(8, 12))
            p = Point(x + side * nx_ * offset, y + side * ny_ * offset)
            rho = float(density(np.array([x]), np.array([y]))[0])
            if district_utm.contains(p) and not reservoir.contains(p):
                draw = rng.random()
                low = 0.25 if rho < 0.15 else 0.06
                pressures.append("low" if draw < low else "high" if draw > 0.9 else "normal")
                found.append((p, ROADS[r].zh))
            side = -side
            along += 30.0 if rho > 0.3 else 60.0
    return [
        (p, {"code": f"XHS-{i:05d}", "road": road, "pressure_class": pressure, "synthetic": True})
        for i, ((p, road), pressure) in enumerate(zip(found, pressures, strict=True), start=1)
    ]


def flood_points(candidates: FloatArray, rho: FloatArray, rng: np.random.Generator) -> Features:
    """60 flood-prone spots (易涝点) on the low ground within 450 m of a river."""
    rivers = shapely.union_all([to_utm(LineString(line)) for line in RIVERS.values()])
    near = shapely.distance(rivers, shapely.points(candidates)) < 450
    out: Features = []
    for i, (x, y) in enumerate(
        spread_points(candidates[near], rho[near] + 0.1, 60, 220.0, rng), start=1
    ):
        d = float(shapely.distance(rivers, Point(x, y)))
        props = {
            "name": f"易涝点 F{i:02d}（模拟）",
            "name_en": f"Flood-prone spot F{i:02d} (synthetic)",
            "risk_level": 3 if d < 150 else 2 if d < 300 else 1,
            "synthetic": True,
        }
        out.append((Point(x, y), props))
    return out


def schools(candidates: FloatArray, rho: FloatArray, rng: np.random.Generator) -> Features:
    """60 schools where people live, most in the dense districts."""
    kinds = ["幼儿园", "小学", "小学", "初中", "九年一贯制学校", "高中"]
    lived = rho > 0.08  # not on the mountains
    out: Features = []
    picks = spread_points(candidates[lived], rho[lived] ** 1.5, 60, 350.0, rng)
    for i, (x, y) in enumerate(picks, start=1):
        props = {
            "name": f"学校 S{i:02d}（模拟）",
            "name_en": f"School S{i:02d} (synthetic)",
            "kind": kinds[int(rng.integers(len(kinds)))],
            "synthetic": True,
        }
        out.append((Point(x, y), props))
    return out


def hospitals(candidates: FloatArray, rho: FloatArray, rng: np.random.Generator) -> Features:
    """15 hospitals, the first five general hospitals."""
    kinds = [("综合医院", 300, 1500), ("中医院", 200, 600), ("专科医院", 80, 400)]
    lived = rho > 0.15
    out: Features = []
    picks = spread_points(candidates[lived], rho[lived] ** 2, 15, 800.0, rng)
    for i, (x, y) in enumerate(picks, start=1):
        kind, low, high = kinds[0 if i <= 5 else int(rng.integers(len(kinds)))]
        props = {
            "name": f"医院 H{i:02d}（模拟）",
            "name_en": f"Hospital H{i:02d} (synthetic)",
            "kind": kind,
            "beds": int(rng.integers(low // 10, high // 10 + 1)) * 10,
            "synthetic": True,
        }
        out.append((Point(x, y), props))
    return out


def synthetic_layers(
    district_utm: BaseGeometry, lines: Sequence[LineString]
) -> dict[str, Features]:
    """Shelters, hydrants, flood-prone spots, schools and hospitals, in UTM (all synthetic)."""
    rng = np.random.default_rng([SEED, 21])
    candidates, rho = land_candidates(district_utm, 50.0)
    return {
        "shelters": shelters(candidates, rho, rng),
        "hydrants": hydrants(district_utm, lines, rng),
        "flood_points": flood_points(candidates, rho, rng),
        "schools": schools(candidates, rho, rng),
        "hospitals": hospitals(candidates, rho, rng),
    }


# ── Naming ─────────────────────────────────────────────────────────────────────────────────


def name_communities(regions: Regions, forced: dict[int, str]) -> list[Place]:
    """A place name per community: ``forced`` first, the rest matched to the nearest anchors.

    Greedy matching by distance, then pairwise swaps while they shorten the total distance.
    """
    names: list[Place | None] = [None] * len(regions.communities)
    scale = math.cos(math.radians(22.55))
    for s, spec in enumerate(SUBDISTRICTS):
        members = [c for c, owner in enumerate(regions.community_subdistrict) if owner == s]
        free = list(spec.places)
        for c in members:
            if c in forced:
                place = next(p for p in free if p.zh == forced[c])
                names[c] = place
                free.remove(place)
        todo = [c for c in members if names[c] is None]
        centres = [regions.communities[c].point_on_surface() for c in todo]
        dist = [[math.hypot((p.x - q.lon) * scale, p.y - q.lat) for q in free] for p in centres]
        pairs = sorted((dist[i][j], i, j) for i in range(len(todo)) for j in range(len(free)))
        pick: dict[int, int] = {}
        for _, i, j in pairs:
            if i not in pick and j not in pick.values():
                pick[i] = j
        improved = True
        while improved:
            improved = False
            for a in range(len(todo)):
                for b in range(a + 1, len(todo)):
                    ja, jb = pick[a], pick[b]
                    if dist[a][jb] + dist[b][ja] < dist[a][ja] + dist[b][jb] - 1e-12:
                        pick[a], pick[b] = jb, ja
                        improved = True
        for i, c in enumerate(todo):
            names[c] = free[pick[i]]
    if any(n is None for n in names):
        raise RuntimeError("more communities than place names")
    return [n for n in names if n is not None]


# ── Output ─────────────────────────────────────────────────────────────────────────────────


def _coords(seq: Iterable[Sequence[float]]) -> list[list[float]]:
    return [[round(float(x), 6), round(float(y), 6)] for x, y in seq]


def geometry_json(geom: BaseGeometry) -> dict[str, Any]:
    """GeoJSON geometry with coordinates rounded to 6 decimals."""
    if isinstance(geom, Point):
        return {"type": "Point", "coordinates": [round(geom.x, 6), round(geom.y, 6)]}
    if isinstance(geom, LineString):
        return {"type": "LineString", "coordinates": _coords(geom.coords)}
    if isinstance(geom, Polygon):
        rings = [geom.exterior, *geom.interiors]
        return {"type": "Polygon", "coordinates": [_coords(r.coords) for r in rings]}
    if isinstance(geom, MultiPolygon):
        return {
            "type": "MultiPolygon",
            "coordinates": [geometry_json(p)["coordinates"] for p in geom.geoms],
        }
    raise TypeError(geom.geom_type)


def feature_collection(
    name: str, synthetic: bool, features: Iterable[tuple[BaseGeometry, dict[str, Any]]]
) -> bytes:
    """A FeatureCollection, one feature per line so that diffs stay readable."""
    head = json.dumps({"type": "FeatureCollection", "name": name, "synthetic": synthetic})
    body = ",\n".join(
        json.dumps(
            {"type": "Feature", "properties": props, "geometry": geometry_json(geom)},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for geom, props in features
    )
    return (head[:-1] + ', "features": [\n' + body + "\n]}\n").encode()


PROPERTY_TITLES: dict[str, tuple[str, str, str]] = {
    "name": ("string", "名称", "Name"),
    "name_en": ("string", "英文名称", "English name"),
    "category": ("string", "类别", "Category"),
    "approximate": ("boolean", "坐标为近似值", "Approximate position"),
    "kind": ("string", "类型", "Kind"),
    "capacity": ("integer", "可容纳人数", "Capacity (people)"),
    "code": ("string", "编号", "Code"),
    "road": ("string", "所在道路", "Road"),
    "pressure_class": ("string", "水压等级（low/normal/high）", "Pressure class (low/normal/high)"),
    "risk_level": ("integer", "风险等级（1–3，3 最高）", "Risk level (1–3, 3 highest)"),
    "beds": ("integer", "床位数", "Beds"),
    "synthetic": ("boolean", "模拟数据", "Synthetic"),
}
# id, title (zh, en), geometry, synthetic, properties (all required)
# fmt: off
LAYERS: tuple[tuple[str, str, str, str, bool, tuple[str, ...]], ...] = (
    ("landmarks", "地标", "Landmarks", "Point", False,
     ("name", "name_en", "category", "approximate", "synthetic")),
    ("roads", "道路", "Roads", "LineString", True, ("name", "name_en", "synthetic")),
    ("shelters", "应急避难场所", "Emergency shelters", "Point", True,
     ("name", "name_en", "kind", "capacity", "synthetic")),
    ("hydrants", "消防栓", "Fire hydrants", "Point", True,
     ("code", "road", "pressure_class", "synthetic")),
    ("flood_points", "易涝点", "Flood-prone spots", "Point", True,
     ("name", "name_en", "risk_level", "synthetic")),
    ("schools", "学校", "Schools", "Point", True, ("name", "name_en", "kind", "synthetic")),
    ("hospitals", "医院", "Hospitals", "Point", True,
     ("name", "name_en", "kind", "beds", "synthetic")),
)
# fmt: on


def layers_yaml() -> bytes:
    """The layer catalogue, written by hand so that its layout is stable and readable."""
    out = [
        "# Map layers of the Luohu profile. Generated by scripts/generate_luohu_geo.py: edit the",
        "# script, not this file. Layers marked synthetic are generated, not surveyed.",
        "layers:",
    ]
    for layer_id, zh, en, geometry, synthetic, props in LAYERS:
        out += [
            f"  - id: {layer_id}",
            f"    title: {{zh: {zh}, en: {en}}}",
            f"    geometry: {geometry}",
            f"    file: {layer_id}.geojson",
            f"    synthetic: {str(synthetic).lower()}",
            "    properties:",
        ]
        for prop in props:
            kind, pzh, pen = PROPERTY_TITLES[prop]
            out.append(
                f"      {prop}: {{type: {kind}, required: true, "
                f'title: {{zh: "{pzh}", en: "{pen}"}}}}'
            )
    return ("\n".join(out) + "\n").encode()


@dataclass
class Output:
    """Generated files (path under geo/ → bytes) and facts for the summary and checks."""

    files: dict[str, bytes]
    regions: Regions
    names: list[Place]
    example_community: int
    addresses: int


def locate(grid_tree: STRtree, rows: Sequence[AddressRow]) -> IntArray:
    """Index of the grid holding each address point (rounded to 6 decimals), or -1.

    Points in no grid, on a boundary, or in the reservoir get -1 and are left out.
    """
    if not rows:
        return np.zeros(0, dtype=np.int64)
    lonlat = np.round(_inverse(np.array([[a.x, a.y] for a in rows])), 6)
    hits = grid_tree.query(shapely.points(lonlat), predicate="within")
    owner = np.full(len(rows), -1, dtype=np.int64)
    matches = np.bincount(hits[0], minlength=len(rows))
    owner[hits[0]] = hits[1]
    owner[matches != 1] = -1
    wet = shapely.contains_xy(Polygon(RESERVOIR), lonlat[:, 0], lonlat[:, 1])
    owner[wet] = -1
    return owner


def generate(cell: float = CELL_M, log: Callable[[str], None] = lambda _: None) -> Output:
    """Everything, in memory: the same ``cell`` always gives the same bytes."""
    outline = to_utm(Polygon(OUTLINE))
    lines = road_lines(outline)
    regions = build_regions(cell, lines, log)
    grid_tree = STRtree(regions.grids)

    roadside, firsts = make_addresses(lines)
    owner = locate(grid_tree, roadside)
    served = {int(g) for g in owner if g >= 0}
    empty = [g for g in range(len(regions.grids)) if g not in served]
    taken: dict[int, set[int]] = {}
    for a in roadside:
        taken.setdefault(a.road, set()).add(a.number)
    grids_utm = list(to_utm(np.array(regions.grids, dtype=object)))
    inner = compound_addresses(grids_utm, empty, lines, firsts, taken)
    raw = roadside + inner
    owner = np.concatenate([owner, locate(grid_tree, inner)])
    lonlat = np.round(_inverse(np.array([[a.x, a.y] for a in raw])), 6)
    keep = [i for i in range(len(raw)) if owner[i] >= 0]
    log(f"{len(keep)} of {len(raw)} address points placed ({len(inner)} inside blocks)")

    example = next(
        (
            i
            for i in keep
            if (ROADS[raw[i].road].zh, str(raw[i].number), raw[i].building, raw[i].unit)
            == EXAMPLE_ADDRESS
        ),
        -1,
    )
    example_community = regions.grid_community[owner[example]] if example >= 0 else -1
    forced = {}
    if example_community >= 0 and regions.community_subdistrict[example_community] == 2:
        forced[example_community] = "城东"
    names = name_communities(regions, forced)

    by_grid: dict[int, list[int]] = {}
    for i in sorted(keep, key=lambda i: (owner[i], raw[i].road, raw[i].number)):
        by_grid.setdefault(int(owner[i]), []).append(i)
    csv_rows: list[list[str]] = []
    for g in sorted(by_grid):
        if len(by_grid[g]) > 9999:
            raise RuntimeError(f"grid {regions.grid_codes[g]} has more than 9999 addresses")
        grid_code = regions.grid_codes[g]
        for seq, i in enumerate(by_grid[g], start=1):
            a = raw[i]
            csv_rows.append(
                [
                    f"{grid_code}{seq:04d}",
                    ROADS[a.road].zh,
                    str(a.number),
                    a.building,
                    a.unit,
                    grid_code[:9],
                    grid_code[:12],
                    grid_code,
                    f"{lonlat[i, 0]:.6f}",
                    f"{lonlat[i, 1]:.6f}",
                    "true",
                ]
            )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "code",
            "road",
            "number",
            "building",
            "unit",
            "subdistrict",
            "community",
            "grid",
            "lon",
            "lat",
            "synthetic",
        ]
    )
    writer.writerows(csv_rows)

    files: dict[str, bytes] = {"addresses.csv": buffer.getvalue().encode()}
    files["district.geojson"] = feature_collection(
        "district",
        True,
        [
            (
                regions.district,
                {
                    "code": DISTRICT_CODE,
                    "name_zh": "罗湖区",
                    "name_en": "Luohu District",
                    "parent": None,
                    "synthetic": True,
                },
            )
        ],
    )
    files["subdistricts.geojson"] = feature_collection(
        "subdistricts",
        True,
        [
            (
                geom,
                {
                    "code": DISTRICT_CODE + spec.code,
                    "name_zh": spec.zh,
                    "name_en": spec.en,
                    "parent": DISTRICT_CODE,
                    "synthetic": True,
                },
            )
            for geom, spec in zip(regions.subdistricts, SUBDISTRICTS, strict=True)
        ],
    )
    files["communities.geojson"] = feature_collection(
        "communities",
        True,
        [
            (
                geom,
                {
                    "code": code,
                    "name_zh": f"{place.zh}社区",
                    "name_en": f"{place.en} Community",
                    "parent": code[:9],
                    "synthetic": True,
                },
            )
            for geom, code, place in zip(
                regions.communities, regions.community_codes, names, strict=True
            )
        ],
    )
    grid_numbers: list[int] = [int(code[-3:]) for code in regions.grid_codes]
    files["grids.geojson"] = feature_collection(
        "grids",
        True,
        [
            (
                geom,
                {
                    "code": code,
                    "name_zh": f"{names[c].zh}社区第{n}网格",
                    "name_en": f"{names[c].en} Community Grid {n}",
                    "parent": code[:12],
                    "synthetic": True,
                },
            )
            for geom, code, c, n in zip(
                regions.grids, regions.grid_codes, regions.grid_community, grid_numbers, strict=True
            )
        ],
    )

    files["layers.yaml"] = layers_yaml()
    files["layers/landmarks.geojson"] = feature_collection(
        "landmarks",
        False,
        [
            (
                Point(m.lon, m.lat),
                {
                    "name": m.zh,
                    "name_en": m.en,
                    "category": m.category,
                    "approximate": m.approximate,
                    "synthetic": False,
                },
            )
            for m in LANDMARKS
        ],
    )
    road_geoms = shapely.set_precision(to_wgs(np.array(lines, dtype=object)), 1e-6)
    files["layers/roads.geojson"] = feature_collection(
        "roads",
        True,
        [
            (geom, {"name": road.zh, "name_en": road.en, "synthetic": True})
            for geom, road in zip(road_geoms, ROADS, strict=True)
        ],
    )
    district_utm = to_utm(regions.district)
    for layer_id, features in synthetic_layers(district_utm, lines).items():
        wgs = shapely.set_precision(to_wgs(np.array([f[0] for f in features], dtype=object)), 1e-6)
        files[f"layers/{layer_id}.geojson"] = feature_collection(
            layer_id, True, [(g, f[1]) for g, f in zip(wgs, features, strict=True)]
        )
    return Output(files, regions, names, example_community, len(csv_rows))


def verify(output: Output) -> list[str]:
    """What the issue requires of the result; an empty list when all holds."""
    problems: list[str] = []
    regions = output.regions
    outline = Polygon(OUTLINE)
    gap = shapely.symmetric_difference(regions.district, outline).area / outline.area
    if gap > 1e-4:
        problems.append(f"the grids miss or exceed the outline by {gap:.4%}")
    area_km2 = to_utm(regions.district).area / 1e6
    if abs(area_km2 - 78.8) > 78.8 * 0.03:
        problems.append(f"district area {area_km2:.2f} km² is not 78.8 ± 3%")
    subdistrict_of = dict(zip((s.code for s in SUBDISTRICTS), regions.subdistricts, strict=True))
    for mark in LANDMARKS:
        point = Point(mark.lon, mark.lat)
        if not regions.district.contains(point):
            problems.append(f"{mark.zh} lies outside the district")
        wanted = LANDMARK_SUBDISTRICTS.get(mark.zh)
        if wanted and not subdistrict_of[wanted].contains(point):
            problems.append(f"{mark.zh} is not in subdistrict {wanted}")
    if output.example_community < 0 or output.names[output.example_community].zh != "城东":
        problems.append("the example address 人民南路3002号 is not in 城东社区 of 东门街道")
    if not 80 <= len(regions.communities) <= 115:
        problems.append(f"{len(regions.communities)} communities")
    if not 900 <= len(regions.grids) <= 1200:
        problems.append(f"{len(regions.grids)} grids")
    if output.addresses < 20_000:
        problems.append(f"only {output.addresses} addresses")
    zh_names = [p.zh for p in output.names]
    if len(set(zh_names)) != len(zh_names):
        problems.append("duplicate community names")
    areas = {s.zh: to_utm(g).area for s, g in zip(SUBDISTRICTS, regions.subdistricts, strict=True)}
    largest = sorted(areas, key=lambda k: -areas[k])[:2]
    if set(largest) != {"东湖街道", "清水河街道"}:
        problems.append(f"largest subdistricts are {largest}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, check and write the files; print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", type=float, default=CELL_M, help="raster cell size, metres")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="the profile's geo folder")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", flush=True)

    output = generate(args.cell, log)
    problems = verify(output)
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    if problems:
        return 1
    (args.out / "layers").mkdir(parents=True, exist_ok=True)
    for name, content in sorted(output.files.items()):
        (args.out / name).write_bytes(content)
    regions = output.regions
    for spec, geom in zip(SUBDISTRICTS, regions.subdistricts, strict=True):
        members = [
            c for c, s in enumerate(regions.community_subdistrict) if s == SUBDISTRICTS.index(spec)
        ]
        grids = sum(1 for c in regions.grid_community if c in members)
        print(
            f"  {DISTRICT_CODE}{spec.code} {spec.zh}: {to_utm(geom).area / 1e6:6.2f} km², "
            f"{len(members)} communities, {grids} grids"
        )
    print(
        f"district {to_utm(regions.district).area / 1e6:.2f} km², "
        f"{len(regions.communities)} communities, {len(regions.grids)} grids, "
        f"{output.addresses} addresses"
    )
    total = sum(len(c) for c in output.files.values())
    log(f"wrote {len(output.files)} files, {total / 1e6:.2f} MB, into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
