"""Who a case goes to, and which class its words suggest: pure reads of the routing table and
the catalogue.

These two functions are the seam where the AI work plugs in later: a model that classifies
a report's text (or reads a photo) replaces ``suggest_category`` behind the same signature,
and a learned dispatcher can stand before ``route``; callers do not change.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.domains.cases.models import CaseCategory, RoutingRule

SUGGESTIONS = 3


@dataclass(frozen=True)
class RoutedTo:
    """The unit that leads a case and the units that assist it (department codes)."""

    lead_department_code: str
    assist_department_codes: tuple[str, ...] = ()


def matches(pattern: str, code: str | None) -> bool:
    """Whether a routing pattern matches a code: ``*`` matches anything (even no code),
    ``0101*`` every code starting ``0101``, anything else only itself."""
    if pattern == "*":
        return True
    if not code:
        return False
    if pattern.endswith("*"):
        return code.startswith(pattern[:-1])
    return code == pattern


def covers(general: str, specific: str) -> bool:
    """Whether every code ``specific`` matches is also matched by ``general``."""
    if general == "*":
        return True
    if specific == "*":
        return False
    if general.endswith("*"):
        return specific.startswith(general[:-1])
    return general == specific


def route(session: Session, *, category_code: str, region_code: str | None) -> RoutedTo | None:
    """The first rule of the routing table that matches the category and the region (a
    grid, community or subdistrict code; None or "" when the place is unknown); without
    one, the category's own department; None if the category is unknown too."""
    rules = session.scalars(select(RoutingRule).order_by(RoutingRule.position))
    for rule in rules:
        if matches(rule.category_pattern, category_code) and matches(
            rule.region_pattern, region_code
        ):
            return RoutedTo(rule.lead_department_code, tuple(rule.assist_department_codes))
    category = session.get(CaseCategory, category_code)
    return RoutedTo(category.department_code) if category is not None else None


def normalise(text: str) -> str:
    """Full-width forms to half-width, case folded, white space dropped."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def suggest_category(session: Session, text: str) -> list[tuple[str, float]]:
    """Up to three active categories whose keywords the text contains, best first, each
    with its share of the evidence (the shares of all matching classes add up to 1).

    A class scores the length of each keyword found, so a specific phrase (``井盖不见``)
    outweighs a generic word (``井盖``), and a keyword inside a longer one found for the same
    class counts once. Empty when no keyword is found.
    """
    wanted = normalise(text)
    if not wanted:
        return []
    scores: dict[str, int] = {}
    categories = session.scalars(
        select(CaseCategory).where(CaseCategory.active.is_(True)).order_by(CaseCategory.code)
    )
    for category in categories:
        found = {k for k in map(normalise, category.keywords) if k and k in wanted}
        counted = [k for k in found if not any(k != other and k in other for other in found)]
        if counted:
            scores[category.code] = sum(len(k) for k in counted)
    total = sum(scores.values())
    best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:SUGGESTIONS]
    return [(code, score / total) for code, score in best]
