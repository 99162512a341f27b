"""The ``district.yaml`` part of a profile: names, codes, time zone, office hours, calendar."""

from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.kernel.calendar import set_days
from cityos.kernel.i18n import LocalizedText
from cityos.kernel.registry import ProfileSection

if TYPE_CHECKING:
    from cityos.kernel.profiles import ProfileContext
from cityos.kernel.system.models import District


class OfficeInterval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> OfficeInterval:
        if self.end <= self.start:
            raise ValueError("an office interval must end after it starts")
        return self


class CalendarDayEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date
    name: str = ""


class CalendarOverrides(BaseModel):
    """Holidays and adjusted workdays the package does not know, as the State Council published."""

    model_config = ConfigDict(extra="forbid")

    source: str = ""
    holidays: list[CalendarDayEntry] = Field(default_factory=list)
    workdays: list[CalendarDayEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _disjoint(self) -> CalendarOverrides:
        both = {d.date for d in self.holidays} & {d.date for d in self.workdays}
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"a day cannot be both holiday and workday: {listed}")
        return self


class DistrictFile(BaseModel):
    """``district.yaml``."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^\d{6}$", description="GB/T 2260 administrative division code")
    name: LocalizedText
    timezone: str = "Asia/Shanghai"
    office_hours: list[OfficeInterval] = Field(
        default_factory=lambda: [
            OfficeInterval(start=time(9), end=time(12)),
            OfficeInterval(start=time(14), end=time(18)),
        ],
        min_length=1,
    )
    calendar: CalendarOverrides = Field(default_factory=CalendarOverrides)
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _office_hours_ordered(self) -> DistrictFile:
        for before, after in zip(self.office_hours, self.office_hours[1:], strict=False):
            if after.start < before.end:
                raise ValueError("office_hours intervals must be in order and not overlap")
        return self


def _load_district(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    (document,) = documents
    assert isinstance(document, DistrictFile)
    settings = {
        **document.settings,
        "office_hours": [
            [i.start.isoformat("minutes"), i.end.isoformat("minutes")]
            for i in document.office_hours
        ],
    }
    district = session.scalars(select(District).where(District.code == document.code)).first()
    values = {
        "name_zh": document.name.zh,
        "name_en": document.name.en,
        "timezone": document.timezone,
        "profile": context.name,
        # Other sections keep their own settings on the district row (evaluation weights):
        # replace only the keys this file owns.
        "settings": {**(district.settings if district else {}), **settings},
    }
    if district is None:
        session.add(District(code=document.code, **values))
        context.count("district")
    elif any(getattr(district, key) != value for key, value in values.items()):
        for key, value in values.items():
            setattr(district, key, value)
        context.count("district")
    days: list[tuple[date, Literal["holiday", "workday"], str]] = [
        (d.date, "holiday", d.name) for d in document.calendar.holidays
    ] + [(d.date, "workday", d.name) for d in document.calendar.workdays]
    context.count("calendar_days", set_days(session, days=days, source=f"profile:{context.name}"))


district_section = ProfileSection(
    name="district", files=("district.yaml",), schema=DistrictFile, load=_load_district, order=0
)
