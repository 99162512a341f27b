"""The case catalogue and routing table as profile data: Luohu's 部件/事件 classes and 12345
request types, the faults the checks name, loading that retires instead of deleting, routing
where the first matching rule wins, and keyword suggestions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.domains.cases.models import CaseCategory, RoutingRule
from cityos.domains.cases.profile import (
    CategoriesFile,
    RoutingFile,
    categories_section,
    routing_section,
)
from cityos.domains.cases.routing import RoutedTo, route, suggest_category
from cityos.kernel import profiles
from cityos.kernel.registry import ProfileSection, Registry
from cityos.settings import Settings

LUOHU = profiles.PROFILES_DIR / "luohu"
CATEGORIES = "packs/cases/categories.yaml"
ROUTING = "packs/cases/routing.yaml"
MANHOLE_COVERS = {"0101", "0102", "0103", "0105", "0106", "0107"}
DONGMEN_GRID = "440303003001001"


def read(relative: str) -> str:
    return (LUOHU / relative).read_text(encoding="utf-8")


def catalogue() -> CategoriesFile:
    return CategoriesFile.model_validate(yaml.safe_load(read(CATEGORIES)))


def cases_profile(
    tmp_path: Path, categories: str | None = None, routing: str | None = None
) -> Path:
    """Luohu's roles, departments and cases pack, with the given files in their place."""
    root = tmp_path / "profile"
    (root / "packs/cases").mkdir(parents=True)
    for name in ("roles.yaml", "departments.yaml", "clients.yaml"):
        shutil.copy(LUOHU / name, root / name)
    (root / CATEGORIES).write_text(categories or read(CATEGORIES), encoding="utf-8")
    (root / ROUTING).write_text(routing or read(ROUTING), encoding="utf-8")
    return root


def cases_issues(root: Path, registry: Registry) -> list[str]:
    """The faults found in the cases files, checked against identity's departments."""
    modules = Registry((registry.by_name("identity"), registry.by_name("cases")))
    return [str(i) for i in profiles.validate(root, modules) if i.file.startswith("packs/cases")]


def line_of(text: str, fragment: str, after: str = "") -> int:
    """The 1-based line of the first ``fragment`` found after ``after``."""
    start = text.index(after) + len(after) if after else 0
    return text.count("\n", 0, text.index(fragment, start)) + 1


def load_pack(
    session: Session,
    settings: Settings,
    categories: str | None = None,
    routing: str | None = None,
) -> profiles.ProfileContext:
    """Load the cases sections alone (they touch no other table) from the given texts."""
    context = profiles.ProfileContext(name="luohu", root=LUOHU, settings=settings)
    texts: list[tuple[ProfileSection, str]] = [
        (categories_section, categories or read(CATEGORIES)),
        (routing_section, routing or read(ROUTING)),
    ]
    for section, text in texts:
        section.load(session, context, [section.schema.model_validate(yaml.safe_load(text))])
    return context


def test_the_luohu_catalogue_covers_the_issue() -> None:
    document = catalogue()
    classes = document.categories
    assert len(classes) >= 80
    majors = {(c.kind.value, c.major.name.zh) for c in classes}
    components = {"公用设施", "道路交通", "市容环境", "园林绿化", "房屋土地", "其他"}
    events = {"市容环境", "宣传广告", "施工管理", "街面秩序", "突发事件", "其他"}
    assert majors == {("component", m) for m in components} | {("event", m) for m in events}
    assert {t.name.zh for t in document.request_types} == {"咨询", "求助", "投诉", "举报", "建议"}
    by_name = {c.name.zh: c for c in classes}
    assert by_name["燃气泄漏"].limits.sign == "0.5 working hours"
    assert by_name["内涝积水"].department == "water-affairs"
    # Every class but the catch-alls can be suggested.
    assert all(3 <= len(c.keywords) <= 8 for c in classes if not c.code.endswith("99"))


def test_the_luohu_cases_files_pass_their_checks(tmp_path: Path, registry: Registry) -> None:
    assert cases_issues(cases_profile(tmp_path), registry) == []


def test_catalogue_faults_are_named_with_file_and_line(tmp_path: Path, registry: Registry) -> None:
    text = read(CATEGORIES)
    broken = (
        text.replace("department: water-affairs", "department: waterworks", 1)
        .replace("handle: 1 working day}", "handle: soon}", 1)
        .replace('code: "0102"', 'code: "0101"', 1)
        .replace('code: "0103"', 'code: "0299"', 1)
    )
    issues = cases_issues(cases_profile(tmp_path, categories=broken), registry)
    department = line_of(broken, "department: waterworks")
    limit = line_of(broken, "handle: soon")
    twice = line_of(broken, 'code: "0101"', after='code: "0101"\n')
    outside = line_of(broken, 'code: "0299"')
    assert issues[:4] == [
        f"{CATEGORIES}:{limit} [0101]: 'soon' is not a time limit: write e.g. '2 working hours', "
        "'3 working days' or '30 minutes'",
        f"{CATEGORIES}:{department} [0101]: unknown department 'waterworks' "
        "(not in departments.yaml)",
        f"{CATEGORIES}:{twice} [0101]: code '0101' is used twice",
        f"{CATEGORIES}:{outside} [0299]: minor code '0299' is not inside major class '01'",
    ]
    # The routing table is checked against a catalogue only once the catalogue is clean.
    assert issues[4:] == []


def test_a_major_class_has_one_name_and_kind(tmp_path: Path, registry: Registry) -> None:
    broken = read(CATEGORIES).replace(
        'major: {code: "01", name: {zh: 公用设施', 'major: {code: "01", name: {zh: 公共设施', 1
    )
    issues = cases_issues(cases_profile(tmp_path, categories=broken), registry)
    assert issues == [
        f"{CATEGORIES}:{line_of(broken, '公共设施')} [0101]: major class '01' is "
        "公用设施 / Public utilities (component) elsewhere, "
        "公共设施 / Public utilities (component) here"
    ]


def test_routing_faults_are_named_with_file_and_line(tmp_path: Path, registry: Registry) -> None:
    routing = (
        "rules:\n"
        '  - when: {category: "01*"}\n'
        "    lead: water-affairs\n"
        "    assist: [dongmen-subdistrict, nowhere]\n"
        '  - when: {category: "0101", region: "440303003*"}\n'
        "    lead: water-affairs\n"
        '  - when: {category: "99*"}\n'
        "    lead: ministry-of-magic\n"
        '  - when: {category: "*"}\n'
        "    lead: urban-management\n"
    )
    issues = cases_issues(cases_profile(tmp_path, routing=routing), registry)
    assert issues == [
        f"{ROUTING}:4 [rule 1]: unknown department 'nowhere' (not in departments.yaml)",
        f"{ROUTING}:5 [rule 2]: never used: rule 1 matches all it does",
        f"{ROUTING}:8 [rule 3]: unknown department 'ministry-of-magic' (not in departments.yaml)",
        f"{ROUTING}:7 [rule 3]: category '99*' matches no category",
    ]


def test_loading_updates_in_place_and_retires_dropped_classes(
    session: Session, settings: Settings
) -> None:
    first = load_pack(session, settings)
    total = len(catalogue().categories)
    assert first.summary == {"case_categories": total, "case_routing_rules": total_rules()}
    assert load_pack(session, settings).summary == {}

    text = read(CATEGORIES)
    start = text.index('  - code: "0110"')
    dropped = text[:start] + text[text.index('  - code: "0111"') :]
    renamed = dropped.replace("name: {zh: 路灯, en: Street light}", "name: {zh: 路灯, en: Lamp}")
    routing = 'rules:\n  - when: {category: "*"}\n    lead: urban-management\n'
    again = load_pack(session, settings, categories=renamed, routing=routing)
    assert again.summary == {
        "case_categories": 1,
        "case_categories_deactivated": 1,
        "case_routing_rules": 1,
    }
    retired = session.get(CaseCategory, "0110")
    assert retired is not None
    assert not retired.active
    lamp = session.get(CaseCategory, "0109")
    assert lamp is not None
    assert lamp.name_en == "Lamp"
    assert session.scalar(select(func.count()).select_from(CaseCategory)) == total
    assert session.scalar(select(func.count()).select_from(RoutingRule)) == 1

    # Back in the file, the class is active again.
    load_pack(session, settings)
    assert session.get(CaseCategory, "0110").active  # type: ignore[union-attr]


def total_rules() -> int:
    return len(RoutingFile.model_validate(yaml.safe_load(read(ROUTING))).rules)


@pytest.mark.parametrize(
    ("category", "region", "expected"),
    [
        # Street order goes to the subdistrict the place is in …
        ("1401", DONGMEN_GRID, RoutedTo("dongmen-subdistrict", ("urban-management",))),
        ("1406", "440303010", RoutedTo("qingshuihe-subdistrict", ("urban-management",))),
        # … unless a rule for the class comes first: parking is the traffic police's.
        ("1404", DONGMEN_GRID, RoutedTo("traffic-police")),
        # Outside any subdistrict rule, the family's bureau.
        ("1401", None, RoutedTo("urban-management")),
        ("1401", "", RoutedTo("urban-management")),
        # Waterlogging: the subdistrict helps where the district floods first.
        ("1505", DONGMEN_GRID, RoutedTo("water-affairs", ("dongmen-subdistrict",))),
        ("1505", "440303001001001", RoutedTo("water-affairs")),
        (
            "1503",
            DONGMEN_GRID,
            RoutedTo("emergency-management", ("fire-rescue", "housing-construction")),
        ),
        # A class the table has never heard of: the catch-all.
        ("9999", DONGMEN_GRID, RoutedTo("urban-management")),
    ],
)
def test_luohu_routing(
    session: Session,
    settings: Settings,
    category: str,
    region: str | None,
    expected: RoutedTo,
) -> None:
    load_pack(session, settings)
    assert route(session, category_code=category, region_code=region) == expected


def test_district_wide_routing_agrees_with_the_catalogue(
    session: Session, settings: Settings
) -> None:
    load_pack(session, settings)
    for category in catalogue().categories:
        routed = route(session, category_code=category.code, region_code="440303")
        assert routed is not None
        assert routed.lead_department_code == category.department, category.code


def test_the_first_matching_rule_wins_and_the_class_is_the_fallback(
    session: Session, settings: Settings
) -> None:
    routing = (
        "rules:\n"
        '  - when: {category: "0101", region: "440303003*"}\n'
        "    lead: dongmen-subdistrict\n"
        "    assist: [water-affairs]\n"
        '  - when: {category: "01*"}\n'
        "    lead: urban-management\n"
        '  - when: {category: "0101"}\n'
        "    lead: health\n"
    )
    load_pack(session, settings, routing=routing)
    dongmen = route(session, category_code="0101", region_code=DONGMEN_GRID)
    assert dongmen == RoutedTo("dongmen-subdistrict", ("water-affairs",))
    assert route(session, category_code="0101", region_code="440303001") == RoutedTo(
        "urban-management"
    )
    # No rule for 15*: the class's own department; an unknown class routes nowhere.
    assert route(session, category_code="1502", region_code=DONGMEN_GRID) == RoutedTo(
        "water-affairs"
    )
    assert route(session, category_code="9999", region_code=DONGMEN_GRID) is None


def test_suggestions_rank_classes_by_their_keywords(session: Session, settings: Settings) -> None:
    load_pack(session, settings)
    covers = suggest_category(session, "井盖不见了")
    assert covers[0][0] in MANHOLE_COVERS
    assert len(covers) == 3
    assert all(code in MANHOLE_COVERS for code, _ in covers)
    assert [score for _, score in covers] == sorted((s for _, s in covers), reverse=True)
    assert 0 < sum(score for _, score in covers) <= 1

    assert suggest_category(session, "路边有人烧烤好大烟")[0][0] == "1406"
    assert suggest_category(session, "楼下水浸街，水好深")[0][0] == "1505"
    assert suggest_category(session, "闻到好大煤气味")[0][0] == "1503"
    # Full-width letters read as their half-width forms.
    assert suggest_category(session, "楼顶ＬＥＤ屏好刺眼")[0][0] == "1202"
    assert suggest_category(session, "今天天气不错") == []
    assert suggest_category(session, "  ") == []


def test_retired_classes_are_not_suggested(session: Session, settings: Settings) -> None:
    load_pack(session, settings)
    barbecue = session.get(CaseCategory, "1406")
    assert barbecue is not None
    barbecue.active = False
    session.flush()
    assert all(code != "1406" for code, _ in suggest_category(session, "路边有人烧烤好大烟"))
