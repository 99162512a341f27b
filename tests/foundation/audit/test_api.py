"""The auditors' API: list with filters, Excel export (itself audited), chain verification."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cityos.foundation.audit import AuditRecord
from cityos.foundation.identity.models import Scope
from cityos.foundation.identity.tokens import issue_token
from cityos.kernel.runtime import Runtime
from tests.factories.identity import Assign, create_user
from tests.foundation.audit.conftest import TABLES, unguarded, write


@pytest.fixture
def tokens(runtime: Runtime) -> Iterator[dict[str, str]]:
    with runtime.unit_of_work() as session:
        with unguarded(session):
            for table in TABLES:
                session.execute(text(f"DELETE FROM {table}"))
        auditor = create_user(
            session, "shenji", Assign("auditor-test", Scope.DISTRICT, ["audit.*"])
        )
        clerk = create_user(
            session, "clerk", Assign("clerk-test", Scope.DISTRICT, ["identity.profile.read"])
        )
        write(session, 3, action="auth.sign_in")
        write(session, 2, action="case.dispatch")
        yield {
            name: issue_token(session, settings=runtime.settings, user=user)
            for name, user in (("auditor", auditor), ("clerk", clerk))
        }


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_auditors_page_through_the_trail_newest_first(
    client: TestClient, tokens: dict[str, str]
) -> None:
    first = client.get(
        "/api/v1/audit/records", params={"limit": 3}, headers=_bearer(tokens["auditor"])
    )
    assert first.status_code == 200
    page = first.json()
    seqs = [item["seq"] for item in page["items"]]
    assert seqs == sorted(seqs, reverse=True)
    assert page["next_cursor"]
    rest = client.get(
        "/api/v1/audit/records",
        params={"limit": 3, "cursor": page["next_cursor"]},
        headers=_bearer(tokens["auditor"]),
    ).json()
    assert len(page["items"]) + len(rest["items"]) == 5
    family = client.get(
        "/api/v1/audit/records", params={"action": "auth."}, headers=_bearer(tokens["auditor"])
    ).json()
    assert {item["action"] for item in family["items"]} == {"auth.sign_in"}


def test_only_auditors_read_the_trail(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/api/v1/audit/records").status_code == 401
    denied = client.get("/api/v1/audit/records", headers=_bearer(tokens["clerk"]))
    assert denied.status_code == 403
    assert client.post("/api/v1/audit/verify", headers=_bearer(tokens["clerk"])).status_code == 403


def test_a_naive_time_filter_is_refused(client: TestClient, tokens: dict[str, str]) -> None:
    answer = client.get(
        "/api/v1/audit/records",
        params={"since": "2026-12-01T08:00:00"},
        headers=_bearer(tokens["auditor"]),
    )
    assert answer.status_code == 422


def test_the_export_is_a_workbook_and_is_itself_recorded(
    client: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    answer = client.get(
        "/api/v1/audit/records.xlsx",
        params={"action": "case.dispatch"},
        headers=_bearer(tokens["auditor"]),
    )
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    body = [row for row in sheet.iter_rows(min_row=3, values_only=True) if any(row)]
    assert len(body) == 2
    with runtime.unit_of_work() as session:
        exported = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "audit.export")
        ).one()
    assert exported.actor == "shenji"
    assert exported.details["records"] == 2


def test_verify_names_a_changed_record(
    client: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    sound = client.post("/api/v1/audit/verify", headers=_bearer(tokens["auditor"])).json()
    assert sound["ok"] is True
    assert sound["fault"] is None
    with runtime.unit_of_work() as session:
        _tamper(session)
    broken = client.post("/api/v1/audit/verify", headers=_bearer(tokens["auditor"])).json()
    assert broken["ok"] is False
    assert broken["fault"]["kind"] == "changed"


def _tamper(session: Session) -> None:
    target = session.scalars(
        select(AuditRecord).where(AuditRecord.action == "case.dispatch").limit(1)
    ).one()
    with unguarded(session):
        session.execute(
            text("UPDATE audit_record SET actor = 'someone-else' WHERE seq = :seq"),
            {"seq": target.seq},
        )
