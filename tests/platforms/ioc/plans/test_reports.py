"""Reports for leaders: a plan run's summary and the daily situation report, as PDF (with
the Chinese text embedded) and Excel, counted from the records."""

from __future__ import annotations

import io
import subprocess
from datetime import date

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from cityos.kernel.clock import SHANGHAI, utcnow
from cityos.platforms.ioc.reports import store_daily
from tests.platforms.ioc.plans.conftest import Command, messages_to

RUNS = "/api/v1/plans/runs"


def _closed_run(client: TestClient, command: Command) -> str:
    run = client.post(
        RUNS, json={"plan": "rainstorm", "level": "III"}, headers=command.headers("duty")
    ).json()
    client.post(
        f"{RUNS}/{run['id']}/close",
        json={"summary": "降雨结束，积水已退。"},
        headers=command.headers("duty"),
    )
    return str(run["id"])


def _cells(content: bytes) -> list[str]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]


def test_a_plan_summary_in_excel_tells_the_run(client: TestClient, command: Command) -> None:
    run_id = _closed_run(client, command)
    got = client.get(
        f"{RUNS}/{run_id}/report", params={"format": "xlsx"}, headers=command.headers("leader")
    )
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
    cells = _cells(got.content)
    assert "罗湖区暴雨内涝应急预案（演示）处置总结" in cells
    assert "降雨结束，积水已退。" in cells
    # Level III sends five tasks (III's three and IV's two), all cancelled at the close,
    # said in Chinese as leaders read it.
    assert cells.count("已撤销") == 5
    hidden = client.get(f"{RUNS}/{run_id}/report", headers=command.headers("west"))
    assert hidden.status_code == 404


def test_a_plan_summary_pdf_carries_its_chinese_text(client: TestClient, command: Command) -> None:
    run_id = _closed_run(client, command)
    got = client.get(f"{RUNS}/{run_id}/report", headers=command.headers("leader"))
    assert got.status_code == 200, got.text
    assert got.content.startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=got.content, capture_output=True, check=True
    ).stdout.decode()
    assert "处置总结" in text
    assert "降雨结束" in text


def test_the_daily_report_counts_the_day(client: TestClient, command: Command) -> None:
    _closed_run(client, command)
    today = utcnow().astimezone(SHANGHAI).date()
    got = client.get(
        "/api/v1/ioc/reports/daily",
        params={"day": today.isoformat(), "format": "xlsx"},
        headers=command.headers("leader"),
    )
    assert got.status_code == 200, got.text
    cells = _cells(got.content)
    assert "罗湖区城市运行日报" in cells
    assert "罗湖区暴雨内涝应急预案（演示）" in cells
    quiet = client.get(
        "/api/v1/ioc/reports/daily",
        params={"day": date(2026, 1, 1).isoformat(), "format": "xlsx"},
        headers=command.headers("leader"),
    )
    assert "罗湖区暴雨内涝应急预案（演示）" not in _cells(quiet.content)
    pdf = client.get(
        "/api/v1/ioc/reports/daily",
        params={"day": today.isoformat()},
        headers=command.headers("leader"),
    )
    assert pdf.content.startswith(b"%PDF")


def test_the_morning_report_is_kept_once_and_announced(
    client: TestClient, command: Command
) -> None:
    _closed_run(client, command)
    today = utcnow().astimezone(SHANGHAI).date()
    with command.runtime.unit_of_work() as session:
        first = store_daily(session, day=today, settings=command.runtime.settings)
        again = store_daily(session, day=today, settings=command.runtime.settings)
        assert again.id == first.id
        told = messages_to(session, command.users["leader"], "ioc-daily-report")
        assert [m.params["day"] for m in told] == [today.isoformat()]
    listed = client.get("/api/v1/ioc/reports", headers=command.headers("leader")).json()
    assert [(r["kind"], r["day"], r["formats"]) for r in listed] == [
        ("daily", today.isoformat(), ["xlsx", "pdf"])
    ]
    kept = client.get(
        f"/api/v1/ioc/reports/{first.id}/file",
        params={"format": "xlsx"},
        headers=command.headers("leader"),
    )
    assert kept.status_code == 200, kept.text
    assert "罗湖区暴雨内涝应急预案（演示）" in _cells(kept.content)
    pdf = client.get(f"/api/v1/ioc/reports/{first.id}/file", headers=command.headers("leader"))
    assert pdf.content.startswith(b"%PDF")
    assert client.get("/api/v1/ioc/reports", headers=command.headers("west")).status_code == 403
