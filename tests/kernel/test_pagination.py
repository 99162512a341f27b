"""Cursor pagination: every row once, in order, while rows keep arriving; bad cursors refused.

The rows live in a test-only table on its own metadata, created inside the test's rolled-back
transaction, so it never becomes part of the application's schema.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict
from sqlalchemy import MetaData, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from cityos.kernel.db import NAMING_CONVENTION, UtcDateTime
from cityos.kernel.errors import install_error_handlers
from cityos.kernel.ids import new_id
from cityos.kernel.pagination import (
    InvalidCursor,
    OrderKey,
    Page,
    PageOut,
    PageQuery,
    paginate,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class PageTestBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime()}  # noqa: RUF012


class Item(PageTestBase):
    __tablename__ = "test_pagination_item"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    created_at: Mapped[datetime]
    name: Mapped[str] = mapped_column(String(40))
    priority: Mapped[int] = mapped_column(default=0)


@pytest.fixture
def db(session: Session) -> Session:
    PageTestBase.metadata.create_all(session.connection())
    return session


def add(
    session: Session,
    count: int,
    *,
    at: datetime = T0,
    step: timedelta = timedelta(minutes=1),
    priority: int = 0,
) -> list[Item]:
    items = [
        Item(created_at=at + step * n, name=f"item {n}", priority=priority) for n in range(count)
    ]
    session.add_all(items)
    session.flush()
    return items


NEWEST_FIRST: tuple[OrderKey, ...] = (Item.created_at.desc(), Item.id.desc())
OLDEST_FIRST: tuple[OrderKey, ...] = (Item.created_at, Item.id)


def walk(
    session: Session,
    order_by: tuple[OrderKey, ...],
    *,
    limit: int,
    between_pages: Any = None,
) -> list[Page[Item]]:
    """Every page from the first to the last, calling ``between_pages(n)`` after page n."""
    pages: list[Page[Item]] = []
    cursor = None
    while True:
        page = paginate(session, select(Item), order_by=order_by, cursor=cursor, limit=limit)
        pages.append(page)
        if between_pages is not None:
            between_pages(len(pages))
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def ids(pages: list[Page[Item]]) -> list[uuid.UUID]:
    return [item.id for page in pages for item in page.items]


# --- walking a list ---------------------------------------------------------------------------


def test_pages_cover_every_row_once_in_order(db: Session) -> None:
    items = add(db, 25)
    pages = walk(db, (Item.id,), limit=10)

    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert ids(pages) == sorted(i.id for i in items)
    assert pages[-1].next_cursor is None
    assert all(p.limit == 10 for p in pages)


def test_a_full_last_page_has_no_next_cursor(db: Session) -> None:
    add(db, 20)
    pages = walk(db, (Item.id,), limit=10)
    assert [len(p.items) for p in pages] == [10, 10]


def test_an_empty_list_is_one_empty_page(db: Session) -> None:
    page = paginate(db, select(Item), order_by=(Item.id,), cursor=None, limit=10)
    assert page.items == []
    assert page.next_cursor is None


def test_newest_first(db: Session) -> None:
    items = add(db, 9)
    pages = walk(db, NEWEST_FIRST, limit=4)
    assert ids(pages) == [i.id for i in reversed(items)]
    assert [p.items[0].created_at for p in pages] == [T0 + timedelta(minutes=m) for m in (8, 4, 0)]


def test_ties_on_the_first_key_are_broken_by_id(db: Session) -> None:
    same_time = add(db, 12, step=timedelta(0))
    by_id = sorted(i.id for i in same_time)

    assert ids(walk(db, OLDEST_FIRST, limit=5)) == by_id
    assert ids(walk(db, NEWEST_FIRST, limit=5)) == list(reversed(by_id))


def test_mixed_directions(db: Session) -> None:
    low = add(db, 5, priority=1)
    high = add(db, 5, priority=2)
    order = (Item.priority.desc(), Item.created_at, Item.id)

    walked = ids(walk(db, order, limit=3))

    assert walked == [i.id for i in high] + [i.id for i in low]


def test_filters_stay_with_the_statement(db: Session) -> None:
    add(db, 5, priority=1)
    wanted = add(db, 7, priority=2)
    stmt = select(Item).where(Item.priority == 2).order_by(Item.name.desc())
    first = paginate(db, stmt, order_by=(Item.id,), cursor=None, limit=4)
    second = paginate(db, stmt, order_by=(Item.id,), cursor=first.next_cursor, limit=4)
    assert [i.id for i in first.items + second.items] == sorted(i.id for i in wanted)


# --- rows arriving between pages --------------------------------------------------------------


def test_rows_inserted_between_pages_are_neither_repeated_nor_skipped(db: Session) -> None:
    existing = add(db, 20)
    newer: list[Item] = []
    older: list[Item] = []

    def meanwhile(page_number: int) -> None:
        if page_number == 1:
            newer.extend(add(db, 5, at=T0 + timedelta(hours=1)))
            older.extend(add(db, 3, at=T0 - timedelta(hours=1)))

    walked = ids(walk(db, NEWEST_FIRST, limit=7, between_pages=meanwhile))

    assert len(walked) == len(set(walked))
    assert [i for i in walked if i in {e.id for e in existing}] == [
        e.id for e in reversed(existing)
    ]
    # Newer rows land before the cursor and wait for the next first page; older ones follow.
    assert not {n.id for n in newer} & set(walked)
    assert walked[-3:] == [o.id for o in reversed(older)]


def test_appending_while_walking_oldest_first_reaches_the_new_rows(db: Session) -> None:
    existing = add(db, 10)
    arrived: list[Item] = []

    def meanwhile(page_number: int) -> None:
        if page_number == 1:
            arrived.extend(add(db, 4, at=T0 + timedelta(days=1)))

    walked = ids(walk(db, (Item.id,), limit=4, between_pages=meanwhile))

    assert walked == sorted(i.id for i in existing) + sorted(i.id for i in arrived)


# --- limits and cursors -----------------------------------------------------------------------


def test_misuse_is_a_programming_error(db: Session) -> None:
    with pytest.raises(ValueError, match="one entity"):
        paginate(db, select(Item.id, Item.name), order_by=(Item.id,), cursor=None, limit=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one"):
        paginate(db, select(Item), order_by=(), cursor=None, limit=5)
    for unkeyed in (Item.id.desc().nulls_last(), Item.id.nulls_first(), Item.priority + 1):
        with pytest.raises(ValueError, match=r"columns or their \.desc\(\)"):
            paginate(db, select(Item), order_by=(unkeyed,), cursor=None, limit=5)


def test_limit_is_brought_into_range(db: Session) -> None:
    add(db, 5)
    assert paginate(db, select(Item), order_by=(Item.id,), cursor=None, limit=0).limit == 1
    big = paginate(db, select(Item), order_by=(Item.id,), cursor=None, limit=500, max_limit=3)
    assert big.limit == 3
    assert len(big.items) == 3


def test_cursors_are_url_safe(db: Session) -> None:
    add(db, 3)
    page = paginate(db, select(Item), order_by=NEWEST_FIRST, cursor=None, limit=1)
    assert page.next_cursor is not None
    assert set(page.next_cursor) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def encode(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def real_cursor(db: Session) -> dict[str, Any]:
    add(db, 3)
    page = paginate(db, select(Item), order_by=NEWEST_FIRST, cursor=None, limit=1)
    assert page.next_cursor is not None
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(page.next_cursor + "=" * (-len(page.next_cursor) % 4))
    )
    return decoded


def test_the_cursor_holds_the_ordering_and_the_last_keys(db: Session) -> None:
    payload = real_cursor(db)
    assert payload["k"] == ["created_at:d", "id:d"]
    assert payload["v"][0][0] == "t"
    assert payload["v"][1][0] == "u"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda p: "", id="empty"),
        pytest.param(lambda p: "not base64 !!!", id="not base64"),
        pytest.param(lambda p: encode(b"\xff\xfe garbage"), id="not json"),
        pytest.param(lambda p: encode([1, 2, 3]), id="json of another shape"),
        pytest.param(lambda p: encode({"k": p["k"]}), id="values missing"),
        pytest.param(lambda p: encode({**p, "k": ["created_at:a", "id:a"]}), id="other direction"),
        pytest.param(lambda p: encode({**p, "k": ["name:d", "id:d"]}), id="other columns"),
        pytest.param(lambda p: encode({**p, "v": p["v"][:1]}), id="too few values"),
        pytest.param(lambda p: encode({**p, "v": [p["v"][0], ["s", "x"]]}), id="wrong type"),
        pytest.param(lambda p: encode({**p, "v": [p["v"][0], ["u", "xyz"]]}), id="bad uuid"),
        pytest.param(lambda p: encode({**p, "v": [p["v"][0], ["u", 7]]}), id="uuid of a number"),
        pytest.param(lambda p: encode({**p, "v": [["q", 1], p["v"][1]]}), id="unknown tag"),
        pytest.param(
            lambda p: encode({**p, "v": [["t", "2026-03-01T09:00:00"], p["v"][1]]}),
            id="naive time",
        ),
        pytest.param(lambda p: encode({**p, "v": [["t", "yesterday"], p["v"][1]]}), id="bad time"),
        pytest.param(lambda p: encode({**p, "v": [p["v"][0], ["n", "NaN?"]]}), id="bad decimal"),
        pytest.param(lambda p: "A" * 5000, id="too long"),
    ],
)
def test_a_bad_cursor_is_refused(db: Session, tamper: Any) -> None:
    cursor = tamper(real_cursor(db))
    with pytest.raises(InvalidCursor) as raised:
        paginate(db, select(Item), order_by=NEWEST_FIRST, cursor=cursor, limit=10)
    assert raised.value.code == "invalid_cursor"
    assert raised.value.status == 400


def test_page_map_converts_items(db: Session) -> None:
    add(db, 3)
    page = paginate(db, select(Item), order_by=(Item.id,), cursor=None, limit=2)
    names = page.map(lambda item: item.name)
    assert names.items == [i.name for i in page.items]
    assert (names.next_cursor, names.limit) == (page.next_cursor, page.limit)


# --- over HTTP --------------------------------------------------------------------------------


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str


@pytest.fixture
def client(db: Session) -> Iterator[TestClient]:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/items")
    def list_items(params: PageQuery, priority: int | None = None) -> PageOut[ItemOut]:
        stmt = select(Item)
        if priority is not None:
            stmt = stmt.where(Item.priority == priority)
        page = paginate(db, stmt, order_by=NEWEST_FIRST, cursor=params.cursor, limit=params.limit)
        return PageOut[ItemOut](
            items=[ItemOut.model_validate(i) for i in page.items], next_cursor=page.next_cursor
        )

    with TestClient(app) as client:
        yield client


def test_page_params_and_page_out_over_http(client: TestClient, db: Session) -> None:
    add(db, 3, priority=1)
    items = add(db, 5, priority=2)

    first = client.get("/items", params={"limit": 3, "priority": 2})
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"items", "next_cursor"}
    second = client.get(
        "/items", params={"limit": 3, "priority": 2, "cursor": body["next_cursor"]}
    ).json()
    assert second["next_cursor"] is None
    walked = [i["id"] for i in body["items"] + second["items"]]
    assert walked == [str(i.id) for i in reversed(items)]

    assert len(client.get("/items").json()["items"]) == 8


def test_bad_paging_parameters_over_http(client: TestClient) -> None:
    bad = client.get("/items", params={"cursor": "garbage!"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["code"] == "invalid_cursor"
    assert client.get("/items", params={"limit": 0}).status_code == 422
    assert client.get("/items", params={"limit": 201}).status_code == 422
    openapi = client.get("/openapi.json").json()
    names = {p["name"] for p in openapi["paths"]["/items"]["get"]["parameters"]}
    assert names == {"cursor", "limit", "priority"}
