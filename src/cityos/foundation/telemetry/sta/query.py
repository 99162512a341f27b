"""SensorThings queries in SQL: ``$filter`` and ``$orderby`` ASTs translated to SQLAlchemy
expressions, navigation between entity sets, and who may see which rows.

A filter that follows navigation properties (``Datastream/Thing/name eq 'x'``) becomes an
``EXISTS`` over the linked tables around the comparison that uses them; through a to-many
link that means "any of them", as FROST and most servers read it. Observation ``result``
compares ``result_number`` with numbers and the JSON value's text with strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import shapely
from sqlalchemy import (
    Date,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    Time,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from cityos.foundation.identity.authz import Actor, reach_clause
from cityos.foundation.telemetry.models import Thing, ThingLocation
from cityos.foundation.telemetry.sta import geo
from cityos.foundation.telemetry.sta.entities import SETS, EntitySet, Nav
from cityos.foundation.telemetry.sta.odata import (
    BadQuery,
    Binary,
    Call,
    Literal,
    Node,
    OrderBy,
    Path,
    Unary,
)
from cityos.kernel.clock import utcnow
from cityos.kernel.db import UtcDateTime, is_postgresql

Expr = ColumnElement[Any]
COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
ARITHMETIC = {"add", "sub", "mul", "div", "mod"}


@dataclass(frozen=True)
class Typed:
    """A translated value and what kind of value it is (``number``, ``string``,
    ``datetime``, ``boolean``, ``json``, ``geo``, ``geojson``, ``geo_test``, ``result``,
    ``date``, ``time``, ``null``).
    A ``result`` carries its JSON text in ``text`` beside the number in ``expr``."""

    expr: Expr
    kind: str
    text: Expr | None = None


# --- links between sets -----------------------------------------------------------------------


def link(nav: Nav, source: Any, target: Any) -> ColumnElement[bool]:
    """The condition that ``target`` is reached from ``source`` through ``nav``."""
    if nav.kind == "one":
        return target.id == getattr(source, nav.key)  # type: ignore[no-any-return]
    if nav.kind == "many":
        return getattr(target, nav.key) == source.id  # type: ignore[no-any-return]
    assert nav.through is not None
    pair = aliased(nav.through)
    return exists(
        select(literal(1))
        .select_from(pair)
        .where(getattr(pair, nav.key) == source.id, getattr(pair, nav.other) == target.id)
        # Both ends may live in different enclosing queries; auto-correlation only looks
        # one level up, so name what is local instead.
        .correlate_except(pair)
    )


def linked_to(nav: Nav, parent: Any, target: Any) -> ColumnElement[bool]:
    """The condition that ``target`` is reached from the loaded row ``parent``."""
    if nav.kind == "one":
        key = getattr(parent, nav.key)
        return false() if key is None else target.id == key
    if nav.kind == "many":
        return getattr(target, nav.key) == parent.id  # type: ignore[no-any-return]
    assert nav.through is not None
    return target.id.in_(  # type: ignore[no-any-return]
        select(getattr(nav.through, nav.other)).where(getattr(nav.through, nav.key) == parent.id)
    )


# --- who sees what --------------------------------------------------------------------------

# How each set reaches the Things whose region decides who may see it.
_TO_THINGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Locations": (("Things",),),
    "HistoricalLocations": (("Thing",),),
    "Datastreams": (("Thing",),),
    "MultiDatastreams": (("Thing",),),
    "Observations": (("Datastream", "Thing"), ("MultiDatastream", "Thing")),
}


def visible(entity: EntitySet, alias: Any, actor: Actor, permission: str) -> Expr | None:
    """What ``actor`` may see of ``entity`` (None: everything). Things within the actor's
    reach by region, and what hangs off them; Sensors and ObservedProperties describe
    kinds of instrument and quantity, not places, so every reader sees them all."""
    if reach_clause(actor, region_column=Thing.region_code, permission=permission) is None:
        return None
    if entity.name == "Things":
        return reach_clause(actor, region_column=alias.region_code, permission=permission)
    if entity.name == "FeaturesOfInterest":
        thing = aliased(Thing)
        pair = aliased(ThingLocation)
        reach = reach_clause(actor, region_column=thing.region_code, permission=permission)
        return or_(
            alias.location_id.is_(None),
            exists(
                select(literal(1))
                .select_from(pair)
                .join(thing, thing.id == pair.thing_id)
                .where(pair.location_id == alias.location_id, reach)  # type: ignore[arg-type]
                .correlate_except(pair, thing)
            ),
        )
    chains = _TO_THINGS.get(entity.name)
    if chains is None:
        return None
    ways: list[Expr] = []
    for chain in chains:
        current, current_alias = entity, alias
        aliases: list[Any] = []
        links: list[Expr] = []
        for name in chain:
            nav = current.navs[name]
            current = SETS[nav.target]
            following = aliased(current.model)
            aliases.append(following)
            links.append(link(nav, current_alias, following))
            current_alias = following
        reach = reach_clause(actor, region_column=current_alias.region_code, permission=permission)
        ways.append(
            exists(
                select(literal(1))
                .select_from(*aliases)
                .where(*links, reach)  # type: ignore[arg-type]
                .correlate_except(*aliases)
            )
        )
    return or_(*ways)


# --- $filter and $orderby -------------------------------------------------------------------


def _paths(node: Node) -> Iterator[Path]:
    if isinstance(node, Path):
        yield node
    elif isinstance(node, Call):
        for arg in node.args:
            yield from _paths(arg)
    elif isinstance(node, Binary):
        yield from _paths(node.left)
        yield from _paths(node.right)
    elif isinstance(node, Unary):
        yield from _paths(node.operand)


class Translator:
    """Translates expressions about rows of ``entity`` (reached as ``alias``)."""

    def __init__(self, session: Session, entity: EntitySet, alias: Any) -> None:
        self.session = session
        self.postgresql = is_postgresql(session)
        self.entity = entity
        self.alias = alias
        # Navigation prefixes bound to table aliases inside the EXISTS being built.
        self.bound: dict[tuple[str, ...], tuple[EntitySet, Any]] = {(): (entity, alias)}

    # -- navigation

    def _split(self, path: Path) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
        """(navigation prefix, property, JSON keys) of a path."""
        current = self.entity
        navs: list[str] = []
        for index, part in enumerate(path.parts):
            nav = current.navs.get(part)
            if nav is None:
                return tuple(navs), part, path.parts[index + 1 :]
            navs.append(part)
            current = SETS[nav.target]
        raise BadQuery(f"{'/'.join(path.parts)} names an entity, not a property")

    def _joins(self, nodes: list[Node]) -> tuple[list[Any], list[Expr]]:
        """Alias and link every navigation prefix the nodes use; return (aliases, links)."""
        aliases: list[Any] = []
        links: list[Expr] = []
        for node in nodes:
            for path in _paths(node):
                prefix, _, _ = self._split(path)
                for depth in range(1, len(prefix) + 1):
                    step = prefix[:depth]
                    if step in self.bound:
                        continue
                    source_set, source_alias = self.bound[step[:-1]]
                    nav = source_set.navs[step[-1]]
                    target = SETS[nav.target]
                    target_alias = aliased(target.model)
                    self.bound[step] = (target, target_alias)
                    aliases.append(target_alias)
                    links.append(link(nav, source_alias, target_alias))
        return aliases, links

    def _navigates(self, node: Node) -> bool:
        return any(self._split(path)[0] for path in _paths(node))

    # -- boolean structure

    def condition(self, node: Node) -> Expr:
        """A WHERE clause for a ``$filter``."""
        if isinstance(node, Binary) and node.op in {"and", "or"}:
            combine = and_ if node.op == "and" else or_
            return combine(self.condition(node.left), self.condition(node.right))
        if isinstance(node, Unary) and node.op == "not":
            return not_(self.condition(node.operand))
        if not self._navigates(node):
            return self._boolean(self.value(node))
        saved = dict(self.bound)
        aliases, links = self._joins([node])
        try:
            inner = self._boolean(self.value(node))
        finally:
            self.bound = saved
        return exists(
            select(literal(1)).select_from(*aliases).where(*links, inner).correlate_except(*aliases)
        )

    def order(self, term: OrderBy) -> list[Expr]:
        """ORDER BY expressions for one ``$orderby`` term."""
        if self._navigates(term.expression):
            saved = dict(self.bound)
            aliases, links = self._joins([term.expression])
            try:
                typed = self.value(term.expression)
            finally:
                self.bound = saved
            plain = [typed.expr] if typed.text is None else [typed.expr, typed.text]
            values: list[Expr] = [
                select(v)
                .select_from(*aliases)
                .where(*links)
                .correlate_except(*aliases)
                .limit(1)
                .scalar_subquery()
                for v in plain
            ]
        else:
            typed = self.value(term.expression)
            values = [typed.expr] if typed.text is None else [typed.expr, typed.text]
        return [v.desc() if term.descending else v.asc() for v in values]

    def _boolean(self, typed: Typed) -> Expr:
        if typed.kind == "boolean":
            return typed.expr
        if typed.kind == "geo_test":
            return self._true(typed.expr)
        raise BadQuery("$filter must be a condition (true or false)")

    def _true(self, expr: Expr) -> Expr:
        # SQLite's Python predicates answer 1/0; PostGIS answers booleans.
        return expr if self.postgresql else expr == 1

    # -- values

    def value(self, node: Node) -> Typed:
        if isinstance(node, Literal):
            return self._literal(node)
        if isinstance(node, Path):
            return self._path(node)
        if isinstance(node, Call):
            return self._call(node)
        if isinstance(node, Unary):
            if node.op == "not":
                return Typed(not_(self.condition(node.operand)), "boolean")
            operand = self._number(self.value(node.operand))
            return Typed(-operand, "number")
        if node.op in {"and", "or"}:
            return Typed(self.condition(node), "boolean")
        left, right = self.value(node.left), self.value(node.right)
        if node.op in COMPARISONS:
            return Typed(self._compare(node.op, left, right), "boolean")
        return Typed(self._arithmetic(node.op, left, right), "number")

    def _literal(self, node: Literal) -> Typed:
        value, kind = node.value, node.kind
        if kind == "datetime":
            return Typed(literal(value.astimezone(UTC), UtcDateTime()), kind)
        if kind == "date":
            return Typed(
                literal(value, Date) if self.postgresql else literal(value.isoformat()), kind
            )
        if kind == "time":
            if self.postgresql:
                return Typed(literal(value, Time), kind)
            return Typed(literal(value.strftime("%H:%M:%S")), kind)
        if kind == "geo":
            try:
                shapely.from_wkt(value)
            except shapely.errors.GEOSException as exc:
                raise BadQuery(f"not a WKT geometry: {value!r}") from exc
            return Typed(geo.geometry_of_wkt(value), "geo")
        if kind == "interval":
            raise BadQuery("time intervals cannot be compared in $filter")
        if kind == "number":
            return Typed(literal(value, Float if isinstance(value, float) else Integer), kind)
        if kind == "string":
            return Typed(literal(value, String), kind)
        if kind == "boolean":
            return Typed(literal(value), kind)
        return Typed(literal(None), "null")

    def _path(self, path: Path) -> Typed:
        prefix, name, keys = self._split(path)
        entity, alias = self.bound[prefix]
        if name in {"id", "@iot.id"} and not keys:
            return Typed(alias.id, "number")
        prop = entity.props.get(name)
        if prop is None:
            raise BadQuery(f"{entity.singular} has no property {name!r}")
        column = getattr(alias, prop.columns[0])
        if keys:
            if prop.kind not in {"json", "geojson"}:
                raise BadQuery(f"{name} is not an object: {'/'.join(keys)} cannot be read")
            return Typed(self._json_text(column, keys), "json")
        if prop.kind == "result":
            return Typed(column, "result", self._json_text(getattr(alias, prop.columns[1]), ()))
        if prop.kind in {"time", "interval"}:
            return Typed(column, "datetime")
        if prop.kind == "geojson":
            return Typed(column, "geojson")
        if prop.kind == "json":
            return Typed(self._json_text(column, ()), "json")
        return Typed(column, "string")

    def _json_text(self, column: Expr, keys: tuple[str, ...]) -> Expr:
        """A JSON value (or a member of it) as SQL text (a number stays a number on SQLite)."""
        if self.postgresql:
            if not keys:
                return column.op("#>>")(literal_column("'{}'"))
            return func.json_extract_path_text(column, *[literal(k, Text) for k in keys])
        json_path = "$" + "".join(f'."{k}"' for k in keys)
        return func.json_extract(column, literal(json_path, Text))

    # -- operators

    def _number(self, typed: Typed) -> Expr:
        if typed.kind in {"number", "result"}:
            return typed.expr
        if typed.kind == "json":
            return cast(typed.expr, Float)
        raise BadQuery(f"expected a number, found a {typed.kind}")

    def _string(self, typed: Typed) -> Expr:
        if typed.kind == "result":
            assert typed.text is not None
            return typed.text
        if typed.kind in {"string", "json"}:
            return typed.expr
        if typed.kind == "geojson":
            return cast(typed.expr, Text)
        raise BadQuery(f"expected a string, found a {typed.kind}")

    def _compare(self, op: str, left: Typed, right: Typed) -> Expr:
        if right.kind == "null" or left.kind == "null":
            other = left if right.kind == "null" else right
            columns = [other.expr] if other.text is None else [other.expr, other.text]
            if op == "eq":
                return and_(*[c.is_(None) for c in columns])
            if op == "ne":
                return or_(*[c.is_not(None) for c in columns])
            raise BadQuery("null can only be compared with eq or ne")
        left_expr, right_expr = self._align(left, right), self._align(right, left)
        operators = {
            "eq": left_expr.__eq__,
            "ne": left_expr.__ne__,
            "gt": left_expr.__gt__,
            "ge": left_expr.__ge__,
            "lt": left_expr.__lt__,
            "le": left_expr.__le__,
        }
        return operators[op](right_expr)

    def _align(self, typed: Typed, other: Typed) -> Expr:
        """``typed`` as the kind of value it is compared with."""
        if typed.kind == "result":
            assert typed.text is not None
            return typed.expr if other.kind == "number" else typed.text
        if typed.kind == "json" and other.kind in {"number", "result"}:
            return cast(typed.expr, Float)
        if typed.kind == "boolean" and other.kind in {"result", "json"}:
            if self.postgresql:
                return case((typed.expr, literal("true")), else_=literal("false"))
            return case((typed.expr, literal(1)), else_=literal(0))
        return typed.expr

    def _arithmetic(self, op: str, left: Typed, right: Typed) -> Expr:
        a, b = self._number(left), self._number(right)
        if op == "add":
            return a + b
        if op == "sub":
            return a - b
        if op == "mul":
            return a * b
        if op == "div":
            return a / b
        if self.postgresql:
            return func.mod(cast(a, Numeric), cast(b, Numeric))
        return a % b

    # -- functions

    def _call(self, call: Call) -> Typed:
        name, args = call.name, call.args
        if name in geo.PREDICATES or name in geo.MEASURES:
            return self._geo(name, args)
        if name == "now":
            self._arity(call, 0)
            return Typed(literal(utcnow(), UtcDateTime()), "datetime")
        values = [self.value(a) for a in args]
        if name in {"substringof", "contains", "startswith", "endswith"}:
            self._arity(call, 2)
            a, b = (self._string(v) for v in values)
            if name == "substringof":
                a, b = b, a
            if name in {"substringof", "contains"}:
                return Typed(self._position(a, b) > 0, "boolean")
            if name == "startswith":
                return Typed(func.substr(a, 1, func.length(b)) == b, "boolean")
            start = func.length(a) - func.length(b) + 1
            return Typed(and_(start >= 1, func.substr(a, start) == b), "boolean")
        if name in {"length", "tolower", "toupper", "trim"}:
            self._arity(call, 1)
            text_value = self._string(values[0])
            sql = {"length": func.length, "tolower": func.lower, "toupper": func.upper}
            if name == "trim":
                return Typed(func.trim(text_value), "string")
            return Typed(sql[name](text_value), "number" if name == "length" else "string")
        if name == "indexof":
            self._arity(call, 2)
            return Typed(self._position(*(self._string(v) for v in values)) - 1, "number")
        if name == "substring":
            if len(values) not in {2, 3}:
                raise BadQuery("substring takes 2 or 3 arguments")
            start = self._number(values[1]) + 1
            text_value = self._string(values[0])
            if len(values) == 2:
                return Typed(func.substr(text_value, start), "string")
            return Typed(func.substr(text_value, start, self._number(values[2])), "string")
        if name == "concat":
            self._arity(call, 2)
            a, b = (cast(self._string(v), Text) for v in values)
            return Typed(a.op("||")(b), "string")
        if name in {"round", "floor", "ceiling"}:
            self._arity(call, 1)
            return Typed(getattr(func, name)(self._number(values[0])), "number")
        if name in {"year", "month", "day", "hour", "minute", "second", "date", "time"}:
            self._arity(call, 1)
            if values[0].kind != "datetime":
                raise BadQuery(f"{name}() takes a time")
            return self._time_part(name, values[0].expr)
        raise BadQuery(f"unknown function {name}()")

    @staticmethod
    def _arity(call: Call, count: int) -> None:
        if len(call.args) != count:
            raise BadQuery(f"{call.name}() takes {count} argument(s)")

    def _position(self, haystack: Expr, needle: Expr) -> Expr:
        """1-based position of ``needle`` in ``haystack``, 0 if absent."""
        return func.strpos(haystack, needle) if self.postgresql else func.instr(haystack, needle)

    def _time_part(self, name: str, moment: Expr) -> Typed:
        if self.postgresql:
            utc = func.timezone("UTC", moment)
            if name == "date":
                return Typed(cast(utc, Date), "date")
            if name == "time":
                return Typed(cast(utc, Time), "time")
            return Typed(cast(func.floor(func.extract(name, utc)), Integer), "number")
        if name == "date":
            return Typed(func.date(moment), "date")
        if name == "time":
            return Typed(func.time(moment), "time")
        formats = {"year": "%Y", "month": "%m", "day": "%d", "hour": "%H", "minute": "%M"}
        return Typed(cast(func.strftime(formats.get(name, "%S"), moment), Integer), "number")

    def _geo(self, name: str, args: tuple[Node, ...]) -> Typed:
        geo.require_spatial(self.session)
        geometries = [self._geometry(self.value(a)) for a in args]
        if name in geo.PREDICATES:
            if len(geometries) != 2:
                raise BadQuery(f"{name}() takes 2 geometries")
            return Typed(getattr(func, geo.PREDICATES[name])(*geometries), "geo_test")
        function, arity = geo.MEASURES[name]
        if len(geometries) != arity:
            raise BadQuery(f"{name}() takes {arity} geometr{'y' if arity == 1 else 'ies'}")
        return Typed(getattr(func, function)(*geometries), "number")

    def _geometry(self, typed: Typed) -> Expr:
        if typed.kind == "geo":
            return typed.expr
        if typed.kind == "geojson":
            return geo.geometry_of_column(typed.expr, postgresql=self.postgresql)
        raise BadQuery("geo functions take a location, feature or area, or a geography literal")


# --- statements -----------------------------------------------------------------------------


def base_query(
    session: Session,
    entity: EntitySet,
    *,
    actor: Actor,
    permission: str,
    condition: Node | None = None,
) -> tuple[Select[Any], Translator]:
    """``SELECT`` of ``entity``'s rows the actor may see that pass ``condition``."""
    model = entity.model
    stmt: Select[Any] = select(model)
    scope = visible(entity, model, actor, permission)
    if scope is not None:
        stmt = stmt.where(scope)
    translator = Translator(session, entity, model)
    if condition is not None:
        stmt = stmt.where(translator.condition(condition))
    return stmt, translator


def ordered(stmt: Select[Any], translator: Translator, terms: list[OrderBy]) -> Select[Any]:
    """``stmt`` ordered by ``terms``, then by id so that pages never overlap."""
    for term in terms:
        stmt = stmt.order_by(*translator.order(term))
    return stmt.order_by(translator.entity.model.id)  # type: ignore[attr-defined]
