"""What a reporter is told: asked to rate once their problem is handled, told when it is
closed, and told when their report was a duplicate closed with its master."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cityos.foundation.notify import Delivery, Message, render
from cityos.kernel.bus import drain
from cityos.kernel.jobs import run_pending
from tests.domains.cases.conftest import INSIDE, Desk
from tests.factories.notify import RecordingGateway, give_phone, recording_gateway

API = "/api/v1/cases"


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[RecordingGateway]]:
    yield from recording_gateway(monkeypatch)


def _act(
    client: TestClient, desk: Desk, who: str, case: dict[str, Any], action: str, **body: Any
) -> None:
    answer = client.post(
        f"{API}/{case['id']}/actions/{action}", json=body, headers=desk.headers(who)
    )
    assert answer.status_code == 200, answer.text


def _report(client: TestClient, desk: Desk, who: str) -> dict[str, Any]:
    body = {
        "channel": "portal",
        "description": "人行道上的井盖不见了",
        "lon": INSIDE[0],
        "lat": INSIDE[1],
    }
    answer = client.post(API, json=body, headers=desk.headers(who))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _to_callback(client: TestClient, desk: Desk, case: dict[str, Any]) -> None:
    _act(client, desk, "dispatcher", case, "register", data={"category": "0101"})
    _act(client, desk, "dispatcher", case, "dispatch")
    _act(client, desk, "water", case, "sign")
    _act(client, desk, "water", case, "resolve", attachments=[desk.photo()])
    _act(client, desk, "inspector", case, "verify_pass")


def _messages(desk: Desk, who: str) -> list[Message]:
    with desk.runtime.unit_of_work() as session:
        return list(
            session.scalars(
                select(Message)
                .where(Message.recipient_user_id == desk.users[who].id)
                .order_by(Message.id)
            )
        )


def test_the_reporter_is_asked_to_rate_then_told_it_is_closed(
    client: TestClient, desk: Desk, gateway: type[RecordingGateway]
) -> None:
    with desk.runtime.unit_of_work() as session:
        give_phone(session, session.merge(desk.users["citizen"]), "13900000001")
    case = _report(client, desk, "citizen")
    _to_callback(client, desk, case)
    drain(desk.runtime)
    [ask] = _messages(desk, "citizen")
    assert (ask.template, ask.subject_type, ask.subject_id) == (
        "case.rate_request",
        "case",
        case["id"],
    )
    assert render(ask.template, ask.params, "zh-CN")[1] == (
        f"您反映的问题（{case['number']}）已办结，请登录i罗湖对办理结果进行评价。"
    )
    assert run_pending(desk.runtime, worker_id="w1") >= 1
    assert gateway.sent == [
        (
            "13900000001",
            f"【罗湖区政府】您反映的问题（{case['number']}）已办结，请登录i罗湖对办理结果进行评价。",
        )
    ]

    _act(client, desk, "operator", case, "call_back", data={"satisfaction": 5})
    drain(desk.runtime)
    told = _messages(desk, "citizen")
    assert [m.template for m in told] == ["case.rate_request", "case.closed"]
    with desk.runtime.unit_of_work() as session:
        channels = session.scalars(
            select(Delivery.channel).where(Delivery.message_id == told[1].id)
        )
        assert list(channels) == ["portal"]  # the closing note is no reason for another text


def test_a_duplicates_reporter_is_told_it_closed_with_its_master(
    client: TestClient, desk: Desk, gateway: type[RecordingGateway]
) -> None:
    with desk.runtime.unit_of_work() as session:
        give_phone(session, session.merge(desk.users["neighbour"]), "13900000002")
    master = _report(client, desk, "citizen")
    duplicate = _report(client, desk, "neighbour")
    _act(client, desk, "dispatcher", duplicate, "merge", data={"master": master["id"]})
    _to_callback(client, desk, master)
    _act(client, desk, "operator", master, "call_back", data={"satisfaction": 5})
    drain(desk.runtime)

    [merged] = _messages(desk, "neighbour")
    assert merged.template == "case.duplicate_closed"
    assert merged.subject_id == duplicate["id"]
    title, body = render(merged.template, merged.params, "en")
    assert title == "Report merged and closed"
    assert duplicate["number"] in body
    assert master["number"] in body
    run_pending(desk.runtime, worker_id="w1")
    texts = dict(gateway.sent)
    assert texts["13900000002"] == (
        f"【罗湖区政府】您反映的问题（{duplicate['number']}）与问题（{master['number']}）"
        "为同一问题，已合并办理并办结，感谢您的反映。"
    )
    # The master's reporter has no phone: asked to rate on the portal only.
    assert [m.template for m in _messages(desk, "citizen")] == ["case.rate_request", "case.closed"]
