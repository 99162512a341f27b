"""A case from the report to the rating, through ``/api/v1/cases``, each step by the
person whose job it is; and what each person may see."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.domains.cases.conftest import GRID, INSIDE, OUTSIDE, Desk

API = "/api/v1/cases"


def _act(
    client: TestClient, desk: Desk, who: str, case: dict[str, Any], action: str, **body: Any
) -> Any:
    return client.post(f"{API}/{case['id']}/actions/{action}", json=body, headers=desk.headers(who))


def _report(client: TestClient, desk: Desk, **overrides: Any) -> dict[str, Any]:
    body = {
        "channel": "portal",
        "description": "人行道上的井盖不见了，很危险",
        "lon": INSIDE[0],
        "lat": INSIDE[1],
        **overrides,
    }
    answer = client.post(API, json=body, headers=desk.headers("citizen"))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_a_citizen_report_goes_round_the_loop_to_the_rating(client: TestClient, desk: Desk) -> None:
    case = _report(client, desk)
    assert re.fullmatch(r"LH\d{8}\d{6}", case["number"])
    assert case["region_code"] == GRID
    assert case["subdistrict_code"] == "440303001"
    assert case["status"] == "accepted"

    registered = _act(client, desk, "dispatcher", case, "register", data={"category": "0101"})
    assert registered.status_code == 200, registered.text
    assert registered.json()["category_name_zh"] == "上水井盖"
    dispatched = _act(client, desk, "dispatcher", case, "dispatch")
    assert dispatched.status_code == 200, dispatched.text
    # The routing table: a 01* case in 440303001 goes to the water unit.
    assert dispatched.json()["lead_department_code"] == "cs-water"
    assert _act(client, desk, "urban", case, "sign").status_code in (403, 404)
    assert _act(client, desk, "water", case, "sign").status_code == 200
    missing = _act(client, desk, "water", case, "resolve")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "attachments.photo_after"
    resolved = _act(client, desk, "water", case, "resolve", attachments=[desk.photo()])
    assert resolved.status_code == 200
    assert _act(client, desk, "inspector", case, "verify_pass").status_code == 200
    bad = _act(client, desk, "operator", case, "call_back", data={"satisfaction": 9})
    assert bad.status_code == 422
    assert (bad.json()["code"], bad.json()["title"]) == (
        "satisfaction_invalid",
        "满意度应为 1（非常不满意）至 5（非常满意）",
    )
    english = client.post(
        f"{API}/{case['id']}/actions/call_back",
        json={"data": {"satisfaction": 0}},
        headers={**desk.headers("operator"), "Accept-Language": "en"},
    )
    assert english.json()["title"] == "Satisfaction is 1 (very dissatisfied) to 5 (very satisfied)"
    closed = _act(client, desk, "operator", case, "call_back", data={"satisfaction": 5})
    assert closed.status_code == 200
    final = closed.json()
    assert final["status"] == "closed"
    assert final["satisfaction"] == 5
    assert [step["action"] for step in final["history"]] == [
        "start",
        "register",
        "dispatch",
        "sign",
        "resolve",
        "verify_pass",
        "call_back",
    ]
    mine = client.get(f"{API}/{case['id']}", headers=desk.headers("citizen"))
    assert mine.json()["status"] == "closed"


def test_a_step_out_of_turn_lists_the_steps_allowed(client: TestClient, desk: Desk) -> None:
    case = _report(client, desk)
    answer = _act(client, desk, "dispatcher", case, "dispatch")
    assert answer.status_code == 409
    assert answer.json()["allowed_actions"] == ["register", "reject", "merge"]


def test_citizens_see_only_their_own_reports(client: TestClient, desk: Desk) -> None:
    case = _report(client, desk)
    other = client.get(f"{API}/{case['id']}", headers=desk.headers("neighbour"))
    assert other.status_code == 404
    listed = client.get(API, headers=desk.headers("neighbour")).json()
    assert listed["items"] == []
    own = client.get(API, headers=desk.headers("citizen")).json()
    assert [c["id"] for c in own["items"]] == [case["id"]]


def test_a_unit_sees_its_cases_and_the_inspector_sees_what_waits_in_the_grid(
    client: TestClient, desk: Desk
) -> None:
    case = _report(client, desk)
    _act(client, desk, "dispatcher", case, "register", data={"category": "0101"})
    _act(client, desk, "dispatcher", case, "dispatch")
    assert client.get(f"{API}/{case['id']}", headers=desk.headers("water")).status_code == 200
    assert client.get(f"{API}/{case['id']}", headers=desk.headers("urban")).status_code == 404
    _act(client, desk, "water", case, "sign")
    _act(client, desk, "water", case, "resolve", attachments=[desk.photo()])
    seen = client.get(f"{API}/{case['id']}", headers=desk.headers("inspector"))
    assert seen.status_code == 200
    assert seen.json()["actions"] == ["verify_pass", "verify_fail"]


def test_a_place_outside_the_district_is_kept_for_referral(client: TestClient, desk: Desk) -> None:
    answer = client.post(
        API,
        json={
            "channel": "hotline",
            "description": "路边有人占道摆摊",
            "lon": OUTSIDE[0],
            "lat": OUTSIDE[1],
            "reporter_name": "王小明",
            "reporter_phone": "13812345678",
        },
        headers=desk.headers("operator"),
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["outside_reason"]
    assert body["region_code"] is None
    assert body["reporter_phone"] == "138****5678"
    assert body["reporter_name"] == "王**"


def test_bad_reporter_details_are_named(client: TestClient, desk: Desk) -> None:
    answer = client.post(
        API,
        json={"channel": "hotline", "description": "噪音", "reporter_phone": "12345"},
        headers=desk.headers("operator"),
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "reporter_phone"


def test_case_numbers_count_up_within_the_day(client: TestClient, desk: Desk) -> None:
    first = _report(client, desk)["number"]
    second = _report(client, desk)["number"]
    assert first[:10] == second[:10]
    assert int(second[10:]) == int(first[10:]) + 1


def test_a_citizen_cannot_pose_as_the_hotline(client: TestClient, desk: Desk) -> None:
    answer = client.post(
        API,
        json={"channel": "hotline", "description": "井盖不见了"},
        headers=desk.headers("citizen"),
    )
    assert answer.status_code == 403


def test_evaluation_marks_follow_each_step(client: TestClient, desk: Desk) -> None:
    from cityos.domains.cases.models import Case

    case = _report(client, desk)
    _act(client, desk, "dispatcher", case, "register", data={"category": "0101"})
    _act(client, desk, "dispatcher", case, "dispatch")
    returned = _act(client, desk, "water", case, "return", data={"reason": "not_ours"})
    assert returned.status_code == 200, returned.text
    _act(client, desk, "dispatcher", case, "dispatch", data={"department": "cs-water"})
    _act(client, desk, "water", case, "sign")
    _act(client, desk, "water", case, "resolve", attachments=[desk.photo()])
    failed = _act(client, desk, "inspector", case, "verify_fail", data={"reason": "仍有缺失"})
    assert failed.status_code == 200, failed.text
    _act(client, desk, "water", case, "resolve", attachments=[desk.photo()])
    _act(client, desk, "inspector", case, "verify_pass")
    _act(client, desk, "operator", case, "call_back", data={"satisfaction": 4})
    with desk.runtime.unit_of_work() as session:
        row = session.get(Case, uuid.UUID(case["id"]))
        assert row is not None
        assert (row.returned_count, row.rework_count, row.extension_count) == (1, 1, 0)
        assert row.signed_on_time is True
        assert row.handled_on_time is True
        assert row.closed_on_time is True
        assert row.handling_seconds is not None


def test_intake_forms_get_the_active_categories(client: TestClient, desk: Desk) -> None:
    answer = client.get(f"{API}/categories", headers=desk.headers("citizen"))
    assert answer.status_code == 200
    assert [c["code"] for c in answer.json()] == ["0101", "1401"]
    events = client.get(
        f"{API}/categories", params={"kind": "event"}, headers=desk.headers("operator")
    )
    assert [c["code"] for c in events.json()] == ["1401"]
    assert client.get(f"{API}/categories").status_code == 401


def _to_callback(client: TestClient, desk: Desk, case: dict[str, Any]) -> None:
    _act(client, desk, "dispatcher", case, "register", data={"category": "0101"})
    _act(client, desk, "dispatcher", case, "dispatch")
    _act(client, desk, "water", case, "sign")
    _act(client, desk, "water", case, "resolve", attachments=[desk.photo()])
    _act(client, desk, "inspector", case, "verify_pass")


def test_a_dissatisfied_reporter_reopens_the_case_once(client: TestClient, desk: Desk) -> None:
    case = _report(client, desk)
    _to_callback(client, desk, case)
    first = _act(client, desk, "operator", case, "call_back", data={"satisfaction": 2})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "handling"
    assert first.json()["history"][-1]["action"] == "reopen"
    # Back with the handler who resolved it.
    again = _act(client, desk, "water", case, "resolve", attachments=[desk.photo()])
    assert again.status_code == 200, again.text
    _act(client, desk, "inspector", case, "verify_pass")
    second = _act(client, desk, "operator", case, "call_back", data={"satisfaction": 1})
    assert second.json()["status"] == "closed"
    assert second.json()["satisfaction"] == 1


def test_a_duplicate_merges_into_its_master_and_closes_with_it(
    client: TestClient, desk: Desk
) -> None:
    from cityos.domains.cases.models import Case

    master = _report(client, desk)
    duplicate = _report(client, desk, description="这里井盖也没了")
    bad = _act(client, desk, "dispatcher", duplicate, "merge", data={"master": duplicate["id"]})
    assert bad.status_code == 422
    merged = _act(client, desk, "dispatcher", duplicate, "merge", data={"master": master["id"]})
    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "merged"
    _to_callback(client, desk, master)
    _act(client, desk, "operator", master, "call_back", data={"satisfaction": 5})
    with desk.runtime.unit_of_work() as session:
        row = session.get(Case, uuid.UUID(duplicate["id"]))
        assert row is not None
        assert str(row.master_case_id) == master["id"]
        assert row.closed_at is not None


def test_the_reporter_rates_their_own_case_and_no_one_else_can(
    client: TestClient, desk: Desk
) -> None:
    case = _report(client, desk)
    _to_callback(client, desk, case)
    shown = client.get(f"{API}/{case['id']}", headers=desk.headers("citizen")).json()
    assert "rate" in shown["actions"]
    stranger = _act(client, desk, "neighbour", case, "rate", data={"satisfaction": 1})
    assert stranger.status_code == 404
    rated = _act(client, desk, "citizen", case, "rate", data={"satisfaction": 5})
    assert rated.status_code == 200, rated.text
    assert rated.json()["status"] == "closed"


def test_an_alarm_opens_one_case_however_often_it_is_sent(desk: Desk) -> None:
    from cityos.domains.cases.service import report_from_alarm

    with desk.runtime.unit_of_work() as session:
        first = report_from_alarm(
            session,
            alarm_id="A-17",
            category_code="0101",
            description="井盖倾斜传感器告警",
            lon=INSIDE[0],
            lat=INSIDE[1],
        )
        again = report_from_alarm(
            session,
            alarm_id="A-17",
            category_code="0101",
            description="井盖倾斜传感器告警",
            lon=INSIDE[0],
            lat=INSIDE[1],
        )
        assert again.id == first.id
        assert first.channel == "iot"
        assert first.region_code == GRID


def test_registering_with_the_version_seen_works(client: TestClient, desk: Desk) -> None:
    case = _report(client, desk)
    answer = _act(
        client,
        desk,
        "dispatcher",
        case,
        "register",
        expected_version=case["version"],
        data={"category": "0101"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == case["version"] + 1


def test_evidence_must_be_an_uploaded_image(client: TestClient, desk: Desk) -> None:
    from tests.domains.cases.conftest import store

    photo = desk.photo("photo", seed=1)
    case = _report(client, desk, attachments=[photo])
    first = case["history"][0]
    assert first["action"] == "start"
    assert [(a["kind"], a["sha256"], a["content_type"]) for a in first["attachments"]] == [
        ("photo", photo["sha256"], "image/png")
    ]
    _act(client, desk, "dispatcher", case, "register", data={"category": "0101"})
    _act(client, desk, "dispatcher", case, "dispatch")
    _act(client, desk, "water", case, "sign")
    text = store(desk.runtime, "处置完毕，见附件".encode(), "note.txt")
    for attachment, field in (
        ({"kind": "photo_after", "sha256": "0" * 64}, "attachments[0].sha256"),
        ({"kind": "photo_after", "sha256": text}, "attachments[0].sha256"),
        ({"sha256": text}, "attachments[0].kind"),
    ):
        refused = _act(client, desk, "water", case, "resolve", attachments=[attachment])
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == field
    done = _act(client, desk, "water", case, "resolve", attachments=[desk.photo()])
    assert done.status_code == 200, done.text


def test_revealing_the_callers_phone_is_recorded_with_its_purpose(
    client: TestClient, desk: Desk
) -> None:
    from sqlalchemy import select

    from cityos.foundation.audit import AuditRecord

    created = client.post(
        API,
        json={
            "channel": "hotline",
            "description": "占道摆摊",
            "reporter_name": "王小明",
            "reporter_phone": "13812345678",
        },
        headers=desk.headers("operator"),
    ).json()
    assert created["reporter_phone"] == "138****5678"
    url = f"{API}/{created['id']}/reveal"
    assert (
        client.post(
            url, json={"field": "reporter_phone"}, headers=desk.headers("operator")
        ).status_code
        == 422
    )
    shown = client.post(
        url,
        json={"field": "reporter_phone", "purpose": "回访核实"},
        headers=desk.headers("operator"),
    )
    assert shown.status_code == 200, shown.text
    assert shown.json()["value"] == "13812345678"
    with desk.runtime.unit_of_work() as session:
        trail = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.target_id == created["id"])
            .order_by(AuditRecord.occurred_at, AuditRecord.id)
        ).all()
    assert [r.action for r in trail] == ["case.create", "pii.reveal"]
    assert trail[-1].purpose == "回访核实"
    assert "13812345678" not in str([r.details for r in trail])
