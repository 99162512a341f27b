"""Cursor (keyset) pagination for every list endpoint.

Offsets skip or repeat rows when rows arrive between two page requests, and get slower the
deeper one pages. A keyset page instead continues strictly after the last row's values of a
unique ordering, e.g. ``(created_at, id)`` or a UUIDv7 ``id`` alone, so rows inserted
meanwhile never shift what comes next, and each page is an index range scan.

The cursor is URL-safe base64 of JSON: the ordering (column names and directions) and the
last row's key values, each tagged with its type. It is opaque to clients but not secret,
and not signed: a client who edits one only starts elsewhere in a list it may read anyway,
since every filter lives in the statement, not in the cursor. A cursor that does not decode,
or was made for another ordering, is refused with ``invalid_cursor``.

Written here (a page of code) rather than taken from sqlakeyset or fastapi-pagination: the
cursor must be bound to its ordering, fail with our problem code, and work on typed
SQLAlchemy 2 ``select()`` statements the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, literal, or_, tuple_
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from cityos.kernel.errors import DomainError

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_LENGTH = 2048


class InvalidCursor(DomainError):
    """The cursor is not one this list handed out."""

    status = 400
    code = "invalid_cursor"


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page: its items, the cursor of the next page (``None`` on the last), the limit used."""

    items: list[T]
    next_cursor: str | None
    limit: int

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        """The same page with each item converted, e.g. rows to response models."""
        return Page([convert(item) for item in self.items], self.next_cursor, self.limit)


class PageOut(BaseModel, Generic[T]):
    """A page in an API response."""

    items: list[T]
    next_cursor: str | None = None


class PageParams:
    """The ``cursor`` and ``limit`` query parameters; use as ``params: PageQuery``."""

    def __init__(
        self,
        cursor: Annotated[
            str | None,
            Query(
                max_length=MAX_CURSOR_LENGTH,
                description="next_cursor of the previous page; omit for the first page",
            ),
        ] = None,
        limit: Annotated[
            int, Query(ge=1, le=MAX_LIMIT, description="at most this many items")
        ] = DEFAULT_LIMIT,
    ) -> None:
        self.cursor = cursor
        self.limit = limit


PageQuery = Annotated[PageParams, Depends()]


# What ``order_by`` takes: a mapped attribute (``Case.id``), a column, or either's ``.desc()``.
OrderKey = ColumnElement[Any] | QueryableAttribute[Any]


@dataclass(frozen=True)
class _Key:
    column: ColumnElement[Any]
    name: str
    descending: bool


def paginate(
    session: Session,
    stmt: Select[T],
    *,
    order_by: Sequence[OrderKey],
    cursor: str | None,
    limit: int,
    max_limit: int = MAX_LIMIT,
) -> Page[T]:
    """The page of ``stmt`` after ``cursor``, in the order of ``order_by``.

    ``stmt`` selects one entity or column; ``paginate`` owns its ORDER BY and LIMIT.
    ``order_by`` is columns, each plain (ascending) or ``.desc()``; together they must be
    unique and not null, so end with the primary key: ``(Case.created_at.desc(),
    Case.id.desc())``. ``limit`` is brought into ``1..max_limit``.
    """
    if len(stmt.column_descriptions) != 1:
        raise ValueError("paginate pages a select of one entity or column")
    keys = [_key(clause) for clause in order_by]
    if not keys:
        raise ValueError("paginate needs at least one column to order by")
    limit = max(1, min(limit, max_limit))
    query = stmt.order_by(None).order_by(
        *(key.column.desc() if key.descending else key.column.asc() for key in keys)
    )
    if cursor is not None:
        query = query.where(_after(keys, _decode_cursor(cursor, keys)))
    query = query.add_columns(*(key.column for key in keys)).limit(limit + 1)
    rows = session.execute(query).all()
    items: list[T] = [row[0] for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = _encode_cursor(keys, list(rows[limit - 1][1:]))
    return Page(items, next_cursor, limit)


def _encode_cursor(keys: Sequence[_Key], values: Sequence[Any]) -> str:
    """The opaque cursor pointing just after a row with these key values."""
    payload = {"k": [_signature(key) for key in keys], "v": [_tag(value) for value in values]}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode_cursor(cursor: str, keys: Sequence[_Key]) -> list[Any]:
    """The key values a cursor holds; ``InvalidCursor`` unless it was made for this ordering."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor("the cursor is empty or too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        signature, tagged = payload["k"], payload["v"]
        values = [_untag(item) for item in tagged]
    except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as exc:
        raise InvalidCursor("the cursor cannot be read") from exc
    if signature != [_signature(key) for key in keys] or len(values) != len(keys):
        raise InvalidCursor("the cursor belongs to another list or ordering")
    for key, value in zip(keys, values, strict=True):
        expected = _python_type(key.column)
        if value is None or (expected is not None and not isinstance(value, expected)):
            raise InvalidCursor(f"the cursor's value for {key.name} has the wrong type")
        if isinstance(value, datetime) and value.tzinfo is None and _aware(key.column):
            raise InvalidCursor(f"the cursor's value for {key.name} lacks its time zone")
    return values


def _key(clause: OrderKey) -> _Key:
    if isinstance(clause, QueryableAttribute):
        clause = clause.expression
    descending = False
    column = clause
    if isinstance(clause, UnaryExpression) and clause.modifier in (
        operators.desc_op,
        operators.asc_op,
    ):
        descending = clause.modifier is operators.desc_op
        column = clause.element
    name = getattr(column, "key", None)
    if isinstance(column, UnaryExpression) or not isinstance(name, str):
        # NULLS FIRST/LAST and computed expressions have no key to continue after.
        raise ValueError(f"order by columns or their .desc() only, not {clause}")
    return _Key(column, name, descending)


def _signature(key: _Key) -> str:
    return f"{key.name}:{'d' if key.descending else 'a'}"


def _after(keys: Sequence[_Key], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the ordering of ``keys``."""
    bound = [literal(value, key.column.type) for key, value in zip(keys, values, strict=True)]
    if len(keys) == 1 or len({key.descending for key in keys}) == 1:
        # One direction: a row-value comparison, which PostgreSQL serves from a composite index.
        left = tuple_(*(key.column for key in keys)) if len(keys) > 1 else keys[0].column
        right = tuple_(*bound) if len(keys) > 1 else bound[0]
        return left < right if keys[0].descending else left > right
    # Mixed directions: (a after x) or (a = x and b after y) or …
    clauses = []
    for index, key in enumerate(keys):
        equal = [keys[i].column == bound[i] for i in range(index)]
        step = key.column < bound[index] if key.descending else key.column > bound[index]
        clauses.append(and_(*equal, step))
    return or_(*clauses)


def _python_type(column: ColumnElement[Any]) -> type | None:
    try:
        python_type: type = column.type.python_type
    except NotImplementedError:
        return None
    return python_type


def _aware(column: ColumnElement[Any]) -> bool:
    return bool(getattr(column.type, "timezone", False))


def _tag(value: Any) -> list[Any]:
    if value is None:
        raise ValueError("keys used for pagination must not be null")
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", value]
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, uuid.UUID):
        return ["u", str(value)]
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, Decimal):
        return ["n", str(value)]
    if isinstance(value, float):
        return ["f", value]
    raise ValueError(f"cannot put a {type(value).__name__} into a cursor")


_UNTAG: dict[str, Callable[[Any], Any]] = {
    "b": lambda v: v if isinstance(v, bool) else _bad(),
    "i": lambda v: v if isinstance(v, int) and not isinstance(v, bool) else _bad(),
    "s": lambda v: v if isinstance(v, str) else _bad(),
    "u": lambda v: uuid.UUID(v),
    "t": lambda v: datetime.fromisoformat(v),
    "d": lambda v: date.fromisoformat(v),
    "n": lambda v: Decimal(v) if isinstance(v, str) else _bad(),
    "f": lambda v: float(v) if isinstance(v, int | float) and not isinstance(v, bool) else _bad(),
}


def _untag(item: Any) -> Any:
    kind, value = item
    return _UNTAG[kind](value)


def _bad() -> Any:
    raise ValueError("mistyped cursor value")
