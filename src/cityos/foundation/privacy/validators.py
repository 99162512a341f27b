"""Checks and normal forms for personal identifiers, usable as pydantic field types.

Hand-written: no maintained Python library validates GB 11643 citizen identity numbers
(region prefix, date of birth, ISO 7064 MOD 11-2 check digit) or mainland plates and
mobile numbers, and the rules are short and stable. Every check raises ``ValueError`` with
a message that pydantic reports against the field, so the API answers 422 naming it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

# GB/T 2260 province-level codes (the first two digits of a region code).
_PROVINCES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
    ]
)
_WEIGHTS = tuple(2 ** (17 - i) % 11 for i in range(17))
_CHECK_CHARS = "10X98765432"

_SEPARATORS = re.compile(r"[\s\-–—]+")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
_LETTER = "A-HJ-NP-Z"  # plates use no I or O
_PLATE = re.compile(
    rf"[{_PLATE_PROVINCES}][{_LETTER}]"
    rf"(?:[{_LETTER}0-9]{{4}}[{_LETTER}0-9挂学警港澳]"  # ordinary: 粤B12345
    rf"|[DF][{_LETTER}0-9]\d{{4}}"  # small new-energy: 粤BD12345
    rf"|\d{{5}}[DF])"  # large new-energy: 粤B12345D
)
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ee5f"
_NAME = re.compile(rf"[{_HAN}]+(?:·[{_HAN}]+)*")
_NAME_DOTS = str.maketrans({"•": "·", "・": "·", "．": "·", ".": "·"})


def _clean(value: str) -> str:
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))


def id_number_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits of an identity number."""
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalise_id_number(value: str) -> str:
    """An 18-character 身份证号 in normal form (upper-case X), or ``ValueError``."""
    number = _clean(value).upper()
    if len(number) != 18:
        raise ValueError("identity number must have 18 characters")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValueError("identity number must be 17 digits and a digit or X")
    if number[:2] not in _PROVINCES or number[2:6] == "0000":
        raise ValueError("identity number has an unknown region code")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError("identity number has an invalid date of birth") from None
    if born.year < 1900 or born > date.today():
        raise ValueError("identity number has an invalid date of birth")
    if id_number_check_char(number[:17]) != number[17]:
        raise ValueError("identity number check digit does not match")
    return number


def normalise_mobile(value: str) -> str:
    """A mainland mobile number as 11 digits (``+86``/``86`` and separators dropped)."""
    number = _clean(value)
    for prefix in ("+86", "0086", "86"):
        if number.startswith(prefix) and len(number) == 11 + len(prefix):
            number = number[len(prefix) :]
            break
    if not _MOBILE.fullmatch(number):
        raise ValueError("mobile number must be 11 digits starting 13–19")
    return number


def normalise_plate(value: str) -> str:
    """A licence plate without separators, letters upper-case (粤B12345, 粤BD12345)."""
    plate = _clean(value).replace("·", "").replace("•", "").upper()
    if not _PLATE.fullmatch(plate):
        raise ValueError("licence plate is not a valid mainland plate")
    return plate


def normalise_person_name(value: str) -> str:
    """A Chinese personal name of 1–20 characters; ``·`` separates parts of a name."""
    name = unicodedata.normalize("NFC", value.strip()).translate(_NAME_DOTS)
    if not 1 <= len(name) <= 20:
        raise ValueError("name must have 1 to 20 characters")
    if not _NAME.fullmatch(name):
        raise ValueError("name must be Chinese characters, parts separated by ·")
    return name


def _str_only(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


IdNumber = Annotated[str, BeforeValidator(_str_only), AfterValidator(normalise_id_number)]
Mobile = Annotated[str, BeforeValidator(_str_only), AfterValidator(normalise_mobile)]
Plate = Annotated[str, BeforeValidator(_str_only), AfterValidator(normalise_plate)]
PersonName = Annotated[str, BeforeValidator(_str_only), AfterValidator(normalise_person_name)]
