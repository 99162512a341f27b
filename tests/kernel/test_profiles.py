"""District profiles: every fault listed with file and line; loads are atomic and idempotent."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, RootModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.foundation.identity.models import Department, User
from cityos.kernel import profiles
from cityos.kernel.calendar.models import CalendarDay
from cityos.kernel.registry import Module, ProfileSection, Registry
from cityos.kernel.system.models import District, ProfileLoad
from cityos.settings import Settings


@pytest.fixture
def profile_copy(tmp_path: Path) -> Path:
    """A private copy of the Luohu profile that a test may break."""
    root = tmp_path / "luohu"
    shutil.copytree(profiles.resolve("luohu"), root)
    return root


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_shipped_luohu_profile_is_valid(registry: Registry) -> None:
    assert profiles.validate(profiles.resolve("luohu"), registry) == []


def test_every_fault_is_listed_with_file_and_line(profile_copy: Path, registry: Registry) -> None:
    district = profile_copy / "district.yaml"
    text = district.read_text(encoding="utf-8")
    text = text.replace('code: "440303"', 'code: "44030X"').replace(
        "timezone: Asia/Shanghai", "timezone: Mars/Olympus"
    )
    district.write_text(text, encoding="utf-8")
    departments = profile_copy / "departments.yaml"
    lines = departments.read_text(encoding="utf-8").splitlines()
    bad_kind_line = next(i for i, line in enumerate(lines) if "kind: bureau" in line)
    lines[bad_kind_line] = lines[bad_kind_line].replace("bureau", "ministry")
    departments.write_text("\n".join(lines) + "\n", encoding="utf-8")

    issues = profiles.validate(profile_copy, registry)

    found = {(issue.file, issue.line, issue.where) for issue in issues}
    code_line = text.splitlines().index('code: "44030X"') + 1
    zone_line = text.splitlines().index("timezone: Mars/Olympus") + 1
    assert ("district.yaml", code_line, "code") in found
    assert ("district.yaml", zone_line, "timezone") in found
    kind_issue = next(i for i in issues if i.file == "departments.yaml")
    assert kind_issue.line == bad_kind_line + 1
    assert kind_issue.where.endswith(".kind")
    assert len(issues) == 3


def test_yaml_syntax_errors_and_duplicate_keys_are_reported(
    profile_copy: Path, registry: Registry
) -> None:
    (profile_copy / "district.yaml").write_text(
        'code: "440303"\ncode: "440304"\nname: {zh: 罗湖区, en: Luohu}\n', encoding="utf-8"
    )
    (profile_copy / "departments.yaml").write_text("departments: [\n  {code: x\n", encoding="utf-8")
    issues = profiles.validate(profile_copy, registry)
    messages = {(i.file, i.line): i.message for i in issues}
    assert "duplicate key 'code'" in messages[("district.yaml", 2)]
    assert any(f == "departments.yaml" and "invalid YAML" in m for (f, _), m in messages.items())


def test_a_missing_required_file_is_a_fault(profile_copy: Path, registry: Registry) -> None:
    (profile_copy / "departments.yaml").unlink()
    issues = profiles.validate(profile_copy, registry)
    assert [(i.file, i.message) for i in issues] == [
        ("departments.yaml", "required file is missing")
    ]


def test_an_invalid_profile_loads_nothing(
    session: Session, profile_copy: Path, registry: Registry, settings: Settings
) -> None:
    departments = profile_copy / "departments.yaml"
    departments.write_text(
        departments.read_text(encoding="utf-8").replace("username: handler", "username: H!"),
        encoding="utf-8",
    )
    with pytest.raises(profiles.ProfileInvalid) as caught:
        profiles.load(session, root=profile_copy, registry=registry, settings=settings)
    assert caught.value.code == "profile_invalid"
    assert count(session, District) == 0
    assert count(session, Department) == 0
    assert count(session, ProfileLoad) == 0


def test_loading_twice_changes_nothing(
    session: Session, registry: Registry, settings: Settings
) -> None:
    root = profiles.resolve("luohu")
    first = profiles.load(session, root=root, registry=registry, settings=settings)
    assert first.changed
    assert first.summary["district"] == 1
    departments = {d.code: (d.id, d.updated_at) for d in session.scalars(select(Department))}
    assert len(departments) == first.summary["departments"] >= 30

    second = profiles.load(session, root=root, registry=registry, settings=settings)

    assert not second.changed
    assert second.content_hash == first.content_hash
    assert count(session, ProfileLoad) == 1
    assert {
        d.code: (d.id, d.updated_at) for d in session.scalars(select(Department))
    } == departments


def test_a_changed_profile_updates_in_place(
    session: Session, profile_copy: Path, registry: Registry, settings: Settings
) -> None:
    profiles.load(session, root=profile_copy, registry=registry, settings=settings)
    water_id = session.scalars(
        select(Department.id).where(Department.code == "water-affairs")
    ).one()
    district = profile_copy / "district.yaml"
    district.write_text(
        district.read_text(encoding="utf-8").replace(
            "  holidays: []", "  holidays: [{date: 2027-01-01, name: 元旦}]"
        ),
        encoding="utf-8",
    )
    departments = profile_copy / "departments.yaml"
    departments.write_text(
        departments.read_text(encoding="utf-8").replace("区水务局", "罗湖区水务局"),
        encoding="utf-8",
    )

    result = profiles.load(session, root=profile_copy, registry=registry, settings=settings)

    assert result.changed
    assert result.summary == {"departments": 1, "calendar_days": 1}
    water = session.scalars(select(Department).where(Department.code == "water-affairs")).one()
    assert (water.id, water.name_zh) == (water_id, "罗湖区水务局")
    holiday = session.get(CalendarDay, date(2027, 1, 1))
    assert holiday is not None
    assert holiday.kind == "holiday"


def test_demo_accounts_exist_in_demo_mode_only(
    session: Session, registry: Registry, settings: Settings
) -> None:
    production = Settings(
        _env_file=None,  # type: ignore[call-arg]
        mode="production",
        secret_key="k" * 40,
        database_url=settings.database_url,
        data_dir=settings.data_dir,
    )
    result = profiles.load(
        session, root=profiles.resolve("luohu"), registry=registry, settings=production
    )
    assert count(session, User) == 0
    assert result.summary["demo_accounts_skipped"] >= 5


def test_an_unknown_profile_name_is_a_clear_fault() -> None:
    with pytest.raises(profiles.ProfileInvalid, match="error"):
        profiles.resolve("atlantis")


def test_the_district_calendar_uses_the_profiles_office_hours(
    session: Session, profile_copy: Path, registry: Registry, settings: Settings
) -> None:
    from datetime import UTC, datetime

    from cityos.kernel.system import district_calendar

    district = profile_copy / "district.yaml"
    district.write_text(
        district.read_text(encoding="utf-8").replace('end: "18:00"', 'end: "17:30"'),
        encoding="utf-8",
    )
    before = district_calendar(session)
    assert before.working_day.total_seconds() == 7 * 3600
    profiles.load(session, root=profile_copy, registry=registry, settings=settings)
    calendar = district_calendar(session)
    assert calendar.working_day.total_seconds() == 6.5 * 3600
    # Friday 27 Nov 2026, 17:00 Shanghai + 1 working hour: 30 min today, 30 min on Monday.
    start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert calendar.add_working_hours(start, 1) == datetime(2026, 11, 30, 1, 30, tzinfo=UTC)


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    age: int


class People(RootModel[list[Person]]):
    pass


class Names(BaseModel):
    names: list[str]


def _ignore(session: Session, context: profiles.ProfileContext, documents: list[Any]) -> None:
    return None


def test_a_bad_csv_row_is_named_by_its_line(tmp_path: Path) -> None:
    people = ProfileSection(name="people", files=("people.csv",), schema=People, load=_ignore)
    (tmp_path / "people.csv").write_text(
        "name,age\nAda,36\nBrendan,x\nCarla,40,extra\n\nDan,51\n", encoding="utf-8"
    )
    issues = profiles.validate(tmp_path, Registry((Module(name="t", profile_sections=(people,)),)))
    assert [(i.file, i.line, i.where) for i in issues] == [
        ("people.csv", 4, "2"),  # one value more than the header has columns
        ("people.csv", 3, "1.age"),
    ]
    parsed, _ = profiles.parse_file(tmp_path / "people.csv", tmp_path)
    assert parsed is not None
    assert parsed.data[3] == {"name": "Dan", "age": "51"}
    assert parsed.line_of((3, "age")) == 6  # the blank line is skipped, not counted as a row


def test_a_section_check_sees_its_files_and_the_clean_earlier_sections(
    tmp_path: Path,
) -> None:
    seen: list[profiles.ProfileDocuments] = []

    def check(documents: profiles.ProfileDocuments) -> list[profiles.ProfileIssue]:
        seen.append(documents)
        known = {n for f in documents.earlier.get("first", []) for n in f.document.names}  # type: ignore[attr-defined]
        (mine,) = documents.files
        return [
            profiles.ProfileIssue(
                mine.relative, mine.line_of(("names", i)), "", f"unknown {n}", (1.0, 2.0)
            )
            for i, n in enumerate(mine.document.names)  # type: ignore[attr-defined]
            if n not in known
        ]

    first = ProfileSection(name="first", files=("a.yaml",), schema=Names, load=_ignore, order=1)
    second = ProfileSection(
        name="second", files=("b.yaml",), schema=Names, load=_ignore, order=2, check=check
    )
    registry = Registry((Module(name="t", profile_sections=(first, second)),))
    (tmp_path / "a.yaml").write_text("names: [x, y]\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("names:\n  - x\n  - z\n", encoding="utf-8")

    issues = profiles.validate(tmp_path, registry)

    assert [(i.file, i.line, i.message) for i in issues] == [("b.yaml", 3, "unknown z")]
    assert str(issues[0]) == "b.yaml:3: unknown z at 1.000000, 2.000000"
    assert [f.relative for f in seen[0].earlier["first"]] == ["a.yaml"]

    (tmp_path / "a.yaml").write_text("names: x\n", encoding="utf-8")
    issues = profiles.validate(tmp_path, registry)
    assert "first" not in seen[-1].earlier  # a section with faults is not offered to others
    (tmp_path / "b.yaml").write_text("names: 3\n", encoding="utf-8")
    calls = len(seen)
    profiles.validate(tmp_path, registry)
    assert len(seen) == calls  # a check never runs on files its schema refused
