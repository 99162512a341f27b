"""Reading SensorThings resources: a resource path resolved to an entity, a collection or
a property, and entities written out with their ``$select`` and nested ``$expand``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cityos.foundation.identity.authz import Actor
from cityos.foundation.telemetry.sta.entities import SETS, EntitySet, Nav, entity_set, serialise
from cityos.foundation.telemetry.sta.odata import BadQuery, Options, Segment
from cityos.foundation.telemetry.sta.query import base_query, linked_to, ordered
from cityos.kernel.errors import NotFound

DEFAULT_TOP = 100
MAX_TOP = 1000


@dataclass
class Resolved:
    """What a resource path names: one entity (``row``), or a collection of ``entity``
    reached from ``parent`` through ``nav`` (or the whole set when there is no parent),
    optionally narrowed to one property, its ``$value`` or ``$ref``."""

    entity: EntitySet
    row: Any = None
    parent: Any = None
    parent_entity: EntitySet | None = None
    nav: Nav | None = None
    prop: str | None = None
    raw_value: bool = False
    ref: bool = False
    single: bool = False


@dataclass
class Page:
    rows: list[Any]
    count: int | None = None
    more: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _one(
    session: Session,
    entity: EntitySet,
    *,
    actor: Actor,
    permission: str,
    key: int | None = None,
    parent: Any = None,
    nav: Nav | None = None,
) -> Any:
    stmt, _ = base_query(session, entity, actor=actor, permission=permission)
    if key is not None:
        stmt = stmt.where(entity.model.id == key)  # type: ignore[attr-defined]
    if parent is not None and nav is not None:
        stmt = stmt.where(linked_to(nav, parent, entity.model))
    return session.scalars(stmt.limit(1)).first()


def fetch(session: Session, entity: EntitySet, key: int, *, actor: Actor, permission: str) -> Any:
    """The entity ``key`` of ``entity`` within the actor's reach, or a 404 problem."""
    row = _one(session, entity, actor=actor, permission=permission, key=key)
    if row is None:
        raise NotFound(f"{entity.name}({key}) does not exist", code="sta_not_found")
    return row


def resolve(
    session: Session, segments: list[Segment], *, actor: Actor, permission: str
) -> Resolved:
    """Walk a resource path (``Things(1)/Datastreams(2)/Observations``) from its root set,
    loading each entity named on the way so that one out of reach ends the walk (404)."""
    first = segments[0]
    current = Resolved(entity_set(first.name))
    if first.key is not None:
        current = Resolved(
            current.entity,
            row=fetch(session, current.entity, first.key, actor=actor, permission=permission),
            single=True,
        )
    for index, segment in enumerate(segments[1:], start=1):
        last = index == len(segments) - 1
        if segment.name == "$ref" and last and current.prop is None:
            current.ref = True
            continue
        if segment.name == "$value" and last and current.prop is not None:
            current.raw_value = True
            continue
        if current.prop is not None:
            raise NotFound(f"{current.prop} has no {segment.name}", code="sta_not_found")
        if current.row is None:
            raise BadQuery(
                f"name one of the {current.entity.name} (e.g. {current.entity.name}(1)) "
                f"before /{segment.name}"
            )
        nav = current.entity.navs.get(segment.name)
        if nav is None:
            if segment.name in current.entity.props or segment.name == "id":
                current.prop = segment.name
                continue
            raise NotFound(
                f"{current.entity.singular} has no property {segment.name!r}", code="sta_not_found"
            )
        target = SETS[nav.target]
        if nav.kind == "one" or segment.key is not None:
            row = _one(
                session,
                target,
                actor=actor,
                permission=permission,
                key=segment.key,
                parent=current.row,
                nav=nav,
            )
            if row is None:
                raise NotFound(f"{segment.name} does not exist", code="sta_not_found")
            current = Resolved(target, row=row, single=True)
        else:
            current = Resolved(target, parent=current.row, parent_entity=current.entity, nav=nav)
    return current


def _count(stmt: Select[Any]) -> Select[Any]:
    return select(func.count()).select_from(stmt.order_by(None).subquery())


def collection(
    session: Session,
    entity: EntitySet,
    options: Options,
    *,
    actor: Actor,
    permission: str,
    parent: Any = None,
    nav: Nav | None = None,
) -> Page:
    """One page of ``entity`` (reached from ``parent`` through ``nav`` when given)."""
    stmt, translator = base_query(
        session, entity, actor=actor, permission=permission, condition=options.filter
    )
    if parent is not None and nav is not None:
        stmt = stmt.where(linked_to(nav, parent, entity.model))
    count = None
    if options.count:
        count = session.scalar(_count(stmt))
    top = min(DEFAULT_TOP if options.top is None else options.top, MAX_TOP)
    stmt = ordered(stmt, translator, options.orderby).offset(options.skip).limit(top + 1)
    rows = list(session.scalars(stmt).all())
    return Page(rows[:top], count=count, more=len(rows) > top)


@dataclass(frozen=True)
class Renderer:
    """Writes entities out, following ``$expand`` into the sets they link to."""

    session: Session
    actor: Actor
    permission: str
    base: str

    def entity(self, row: Any, entity: EntitySet, options: Options) -> dict[str, Any]:
        expanded: dict[str, dict[str, Any]] = {}
        for item in options.expand:
            nav = entity.navs.get(item.navigation)
            if nav is None:
                raise BadQuery(f"{entity.singular} has no navigation property {item.navigation!r}")
            expanded[item.navigation] = self._expand(
                row, entity, nav, item.navigation, item.options
            )
        return serialise(row, entity, base=self.base, select=options.select, expanded=expanded)

    def page(self, page: Page, entity: EntitySet, options: Options) -> list[dict[str, Any]]:
        return [self.entity(row, entity, options) for row in page.rows]

    def _expand(
        self, row: Any, entity: EntitySet, nav: Nav, name: str, options: Options
    ) -> dict[str, Any]:
        target = SETS[nav.target]
        if nav.kind == "one":
            found = _one(
                self.session,
                target,
                actor=self.actor,
                permission=self.permission,
                parent=row,
                nav=nav,
            )
            return {name: None if found is None else self.entity(found, target, options)}
        page = collection(
            self.session,
            target,
            options,
            actor=self.actor,
            permission=self.permission,
            parent=row,
            nav=nav,
        )
        out: dict[str, Any] = {}
        if page.count is not None:
            out[f"{name}@iot.count"] = page.count
        out[name] = self.page(page, target, options)
        if page.more:
            top = min(DEFAULT_TOP if options.top is None else options.top, MAX_TOP)
            out[f"{name}@iot.nextLink"] = (
                f"{self.base}/{entity.name}({row.id})/{name}?$top={top}&$skip={options.skip + top}"
            )
        return out
