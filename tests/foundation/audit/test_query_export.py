"""Auditors read the trail: filtered pages newest first, and Excel exports."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from cityos.foundation.audit import EXPORT_COLUMNS, export_xlsx, query, record
from cityos.kernel.clock import SHANGHAI, utcnow
from cityos.kernel.errors import ValidationFailed
from tests.foundation.audit.conftest import write


def _sign_ins(session: Session) -> None:
    for action, outcome in (
        ("auth.sign_in", "success"),
        ("auth.sign_in_failed", "failure"),
        ("authz.denied", "denied"),
        ("auth.token.issued", "success"),
    ):
        record(
            session,
            actor="=cmd|' /C calc'!A0",
            action=action,
            target_type="user",
            target_id="u-1",
            outcome=outcome,  # type: ignore[arg-type]
            details={"method": "password"},
        )


def test_query_filters_and_pages_newest_first(trail: Session) -> None:
    write(trail, 5)
    _sign_ins(trail)
    auth = query(trail, action="auth.")
    assert [r.action for r in auth.items] == [
        "auth.token.issued",
        "auth.sign_in_failed",
        "auth.sign_in",
    ]
    assert [r.action for r in query(trail, action="auth.sign_in").items] == ["auth.sign_in"]
    assert query(trail, target_type="case", target_id="case-2").items[0].seq == 2

    seen: list[int] = []
    cursor = None
    while True:
        page = query(trail, actor="user-7", cursor=cursor, limit=2)
        seen += [r.seq for r in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [5, 4, 3, 2, 1]


def test_query_by_time(trail: Session) -> None:
    write(trail, 2)
    now = utcnow()
    assert len(query(trail, since=now - timedelta(minutes=1)).items) == 2
    assert query(trail, until=now - timedelta(minutes=1)).items == []
    assert query(trail, since=now + timedelta(minutes=1)).items == []


def test_export_writes_bilingual_headers_and_shanghai_times(trail: Session, tmp_path: Path) -> None:
    entries = write(trail, 3)
    _sign_ins(trail)
    path = tmp_path / "out" / "audit.xlsx"
    assert export_xlsx(trail, path, action="case.", batch_size=2) == 3
    assert export_xlsx(trail, tmp_path / "auth.xlsx", action="auth.") == 3

    rows = list(load_workbook(path, read_only=True).active.iter_rows(values_only=True))
    assert rows[0][0] == "序号"
    assert rows[1][0] == "Seq"
    assert list(rows[0]) == [zh for zh, _ in EXPORT_COLUMNS]
    assert [row[0] for row in rows[2:]] == [1, 2, 3]
    first = rows[2]
    expected = entries[0].occurred_at.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)
    assert first[1].replace(microsecond=0) == expected
    assert first[3] == "case.dispatch"
    assert first[7] == '{"step":1,"to":"dept-3"}'
    assert first[12] == entries[0].hash

    auth_rows = list(
        load_workbook(tmp_path / "auth.xlsx", read_only=True).active.iter_rows(values_only=True)
    )
    # A value that looks like a formula stays text.
    assert auth_rows[2][2] == "=cmd|' /C calc'!A0"


def test_export_refuses_naive_times(trail: Session, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="time zone"):
        export_xlsx(trail, tmp_path / "a.xlsx", since=utcnow().replace(tzinfo=None))
