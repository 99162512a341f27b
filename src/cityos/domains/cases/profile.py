"""The cases parts of a district profile: ``packs/cases/categories.yaml`` (the 12345 request
types and the 部件/事件 catalogue) and ``packs/cases/routing.yaml`` (category × region → unit),
checked against the profile's departments and regions."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cityos.domains.cases.models import CaseCategory, CategoryKind, RequestType, RoutingRule
from cityos.domains.cases.routing import covers, matches
from cityos.foundation.identity.profile import DepartmentsFile, walk
from cityos.foundation.workflow import DefinitionError, Duration
from cityos.kernel.i18n import LocalizedText
from cityos.kernel.profiles import (
    DataPath,
    ProfileContext,
    ProfileDocuments,
    ProfileIssue,
    ValidatedFile,
)
from cityos.kernel.registry import ProfileSection

DEPARTMENT_CODE = r"^[a-z0-9][a-z0-9-]{1,63}$"
EvidenceKind = Literal["photo_before", "photo_after", "video", "document"]


class RequestTypeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: RequestType
    name: LocalizedText


class MajorEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^\d{2}$")
    name: LocalizedText


class LimitsEntry(BaseModel):
    """Durations as the workflow engine reads them; parsed by the section's check."""

    model_config = ConfigDict(extra="forbid")

    sign: str
    handle: str


class EvidenceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: list[EvidenceKind] = Field(default_factory=list)


class CategoryEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^\d{4,6}$")
    kind: CategoryKind
    major: MajorEntry
    name: LocalizedText
    limits: LimitsEntry
    evidence: EvidenceEntry = Field(default_factory=EvidenceEntry)
    department: str = Field(pattern=DEPARTMENT_CODE)
    keywords: list[str] = Field(default_factory=list, max_length=12)


class CategoriesFile(BaseModel):
    """``packs/cases/categories.yaml``."""

    model_config = ConfigDict(extra="forbid")

    request_types: list[RequestTypeEntry]
    categories: list[CategoryEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _every_request_type_once(self) -> CategoriesFile:
        named = [entry.code for entry in self.request_types]
        if sorted(named) != sorted(RequestType):
            wanted = ", ".join(RequestType)
            raise ValueError(f"request_types must name each of {wanted} exactly once")
        return self


class RuleWhen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(pattern=r"^(\*|\d{1,6}\*?)$")
    region: str = Field(default="*", pattern=r"^(\*|\d{1,15}\*?)$")


class RuleEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    when: RuleWhen
    lead: str = Field(pattern=DEPARTMENT_CODE)
    assist: list[str] = Field(default_factory=list)


class RoutingFile(BaseModel):
    """``packs/cases/routing.yaml``: the rules in order; the first that matches wins."""

    model_config = ConfigDict(extra="forbid")

    rules: list[RuleEntry] = Field(min_length=1)


def _departments(documents: ProfileDocuments) -> set[str] | None:
    """The department codes of the profile, or None if ``departments.yaml`` did not pass."""
    files = documents.earlier.get("departments")
    if files is None:
        return None
    return {
        entry.code
        for file in files
        if isinstance(file.document, DepartmentsFile)
        for entry, _ in walk(file.document.departments)
    }


def _categories(file: ValidatedFile) -> Iterator[tuple[int, CategoryEntry]]:
    assert isinstance(file.document, CategoriesFile)
    yield from enumerate(file.document.categories)


def _issue(file: ValidatedFile, where: DataPath, label: str, message: str) -> ProfileIssue:
    return ProfileIssue(file.relative, file.line_of(where), label, message)


def _check_categories(documents: ProfileDocuments) -> list[ProfileIssue]:
    """Codes unique and inside their major class, one name per major class, limits the
    workflow engine can read, departments the profile has."""
    departments = _departments(documents)
    # A major class is what most of its minor classes say it is; the others are the faults.
    said: dict[str, Counter[tuple[CategoryKind, str, str]]] = defaultdict(Counter)
    for file in documents.files:
        for _, entry in _categories(file):
            major = entry.major
            said[major.code][(entry.kind, major.name.zh, major.name.en)] += 1
    majors = {code: counts.most_common(1)[0][0] for code, counts in said.items()}
    issues: list[ProfileIssue] = []
    seen: set[str] = set()
    for file in documents.files:
        for i, entry in _categories(file):
            faults: list[tuple[str, str]] = []
            if entry.code in seen:
                faults.append(("code", f"code {entry.code!r} is used twice"))
            seen.add(entry.code)
            major = entry.major
            if not entry.code.startswith(major.code) or entry.code == major.code:
                faults.append(
                    ("code", f"minor code {entry.code!r} is not inside major class {major.code!r}")
                )
            kind, zh, en = majors[major.code]
            if (kind, zh, en) != (entry.kind, major.name.zh, major.name.en):
                message = (
                    f"major class {major.code!r} is {zh} / {en} ({kind}) elsewhere, "
                    f"{major.name.zh} / {major.name.en} ({entry.kind}) here"
                )
                faults.append(("major", message))
            for key in ("sign", "handle"):
                try:
                    Duration.parse(getattr(entry.limits, key))
                except DefinitionError as exc:
                    faults.append((f"limits.{key}", str(exc)))
            if departments is not None and entry.department not in departments:
                message = f"unknown department {entry.department!r} (not in departments.yaml)"
                faults.append(("department", message))
            for key, message in faults:
                where: DataPath = ("categories", i, *key.split("."))
                issues.append(_issue(file, where, entry.code, message))
    return issues


def _regions(documents: ProfileDocuments) -> set[str] | None:
    """The region codes of the profile's geography, or None if it did not pass."""
    files = documents.earlier.get("geo-regions")
    if files is None:
        return None
    return {
        feature.properties.code
        for file in files
        for feature in getattr(file.document, "features", [])
    }


def _check_routing(documents: ProfileDocuments) -> list[ProfileIssue]:
    """Every unit a rule names exists; every pattern matches something; no rule is hidden
    behind an earlier one that matches all it does."""
    departments = _departments(documents)
    categories = {
        entry.code
        for file in documents.earlier.get("cases-categories", [])
        for _, entry in _categories(file)
    }
    regions = _regions(documents)
    issues: list[ProfileIssue] = []
    for file in documents.files:
        assert isinstance(file.document, RoutingFile)
        rules = file.document.rules
        for r, rule in enumerate(rules):
            faults: list[tuple[DataPath, str]] = []
            named: list[tuple[DataPath, str]] = [(("lead",), rule.lead)]
            named += [(("assist", a), code) for a, code in enumerate(rule.assist)]
            for where, code in named:
                if departments is not None and code not in departments:
                    faults.append((where, f"unknown department {code!r} (not in departments.yaml)"))
            pattern = rule.when.category
            if categories and not any(matches(pattern, code) for code in categories):
                faults.append((("when", "category"), f"category {pattern!r} matches no category"))
            pattern = rule.when.region
            if regions and not any(matches(pattern, code) for code in regions):
                faults.append((("when", "region"), f"region {pattern!r} matches no region"))
            for e, earlier in enumerate(rules[:r]):
                if covers(earlier.when.category, rule.when.category) and covers(
                    earlier.when.region, rule.when.region
                ):
                    faults.append((("when",), f"never used: rule {e + 1} matches all it does"))
                    break
            for where, message in faults:
                issues.append(_issue(file, ("rules", r, *where), f"rule {r + 1}", message))
    return issues


def _load_categories(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    (document,) = documents
    assert isinstance(document, CategoriesFile)
    existing = {c.code: c for c in session.scalars(select(CaseCategory))}
    for entry in document.categories:
        values: dict[str, Any] = {
            "kind": entry.kind,
            "major_code": entry.major.code,
            "major_name_zh": entry.major.name.zh,
            "major_name_en": entry.major.name.en,
            "name_zh": entry.name.zh,
            "name_en": entry.name.en,
            "sign_limit": entry.limits.sign,
            "handle_limit": entry.limits.handle,
            "department_code": entry.department,
            "evidence": list(entry.evidence.handle),
            "keywords": list(entry.keywords),
            "active": True,
        }
        category = existing.pop(entry.code, None)
        if category is None:
            session.add(CaseCategory(code=entry.code, **values))
            context.count("case_categories")
        elif any(getattr(category, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(category, key, value)
            context.count("case_categories")
    # Cases keep the class they were filed under, so a class the file dropped stays, retired.
    for category in existing.values():
        if category.active:
            category.active = False
            context.count("case_categories_deactivated")
    session.flush()


def _load_routing(session: Session, context: ProfileContext, documents: list[Any]) -> None:
    (document,) = documents
    assert isinstance(document, RoutingFile)
    wanted = [
        (position, rule.when.category, rule.when.region, rule.lead, list(rule.assist))
        for position, rule in enumerate(document.rules, start=1)
    ]
    current = [
        (row.position, row.category_pattern, row.region_pattern, row.lead, list(row.assist))
        for row in session.execute(
            select(
                RoutingRule.position,
                RoutingRule.category_pattern,
                RoutingRule.region_pattern,
                RoutingRule.lead_department_code.label("lead"),
                RoutingRule.assist_department_codes.label("assist"),
            ).order_by(RoutingRule.position)
        )
    ]
    if current == wanted:
        return
    session.execute(delete(RoutingRule))
    session.add_all(
        RoutingRule(
            position=position,
            category_pattern=category,
            region_pattern=region,
            lead_department_code=lead,
            assist_department_codes=assist,
        )
        for position, category, region, lead, assist in wanted
    )
    session.flush()
    context.count("case_routing_rules", len(wanted))


categories_section = ProfileSection(
    name="cases-categories",
    files=("packs/cases/categories.yaml",),
    schema=CategoriesFile,
    load=_load_categories,
    order=160,
    check=_check_categories,
)
routing_section = ProfileSection(
    name="cases-routing",
    files=("packs/cases/routing.yaml",),
    schema=RoutingFile,
    load=_load_routing,
    order=161,
    check=_check_routing,
)
