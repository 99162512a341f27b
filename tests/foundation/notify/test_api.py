"""``/api/v1/notify``: each person reads only their own messages, in their language, and
marks them read."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from cityos.foundation.identity.tokens import issue_token
from cityos.foundation.notify import notify
from cityos.kernel.runtime import Runtime
from tests.foundation.notify.conftest import Town

BASE = "/api/v1/notify/messages"


def _headers(runtime: Runtime, town: Town, who: str, locale: str = "zh-CN") -> dict[str, str]:
    token = issue_token(town.session, settings=runtime.settings, user=town.users[who])
    return {"Authorization": f"Bearer {token}", "Accept-Language": locale}


def _tell(town: Town, who: str, number: str) -> uuid.UUID:
    [message] = notify(
        town.session,
        recipients=[town.users[who].id],
        template="workflow.warning",
        params={"title": number, "state": {"zh-CN": "处置中", "en": "Being handled"}},
        subject_type="workflow_instance",
        subject_id=number,
    )
    return message.id


def test_one_reads_only_ones_own_messages(client: TestClient, runtime: Runtime, town: Town) -> None:
    mine = [_tell(town, "citizen", f"LH-{n}") for n in range(3)]
    theirs = _tell(town, "urban", "LH-x")
    me = _headers(runtime, town, "citizen")
    town.session.commit()

    page = client.get(BASE, headers=me, params={"limit": 2})
    assert page.status_code == 200, page.text
    first = page.json()
    assert [m["id"] for m in first["items"]] == [str(mine[2]), str(mine[1])]  # newest first
    rest = client.get(BASE, headers=me, params={"cursor": first["next_cursor"]}).json()
    assert [m["id"] for m in rest["items"]] == [str(mine[0])]
    assert rest["next_cursor"] is None
    item = first["items"][0]
    assert item["title"] == "待办即将超时"
    assert "“LH-2”（处置中）" in item["body"]
    assert item["read_at"] is None

    english = client.get(BASE, headers=_headers(runtime, town, "citizen", "en")).json()
    assert english["items"][0]["title"] == "A task is nearly due"
    assert "(Being handled)" in english["items"][0]["body"]

    # Another's message is not there to read or mark.
    refused = client.post(f"{BASE}/{theirs}/read", headers=me)
    assert refused.status_code == 404
    assert refused.json()["code"] == "message_not_found"
    assert client.get(f"{BASE}/unread-count", headers=_headers(runtime, town, "urban")).json() == {
        "unread": 1
    }


def test_marking_read_one_and_all(client: TestClient, runtime: Runtime, town: Town) -> None:
    first, second, third = (_tell(town, "citizen", f"LH-{n}") for n in range(3))
    other = _tell(town, "urban", "LH-x")
    me = _headers(runtime, town, "citizen")
    town.session.commit()

    assert client.get(f"{BASE}/unread-count", headers=me).json() == {"unread": 3}
    read = client.post(f"{BASE}/{second}/read", headers=me)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    again = client.post(f"{BASE}/{second}/read", headers=me).json()
    assert again["read_at"] == read.json()["read_at"]  # reading twice keeps the first time
    assert client.get(f"{BASE}/unread-count", headers=me).json() == {"unread": 2}
    unread = client.get(BASE, headers=me, params={"unread": "true"}).json()
    assert [m["id"] for m in unread["items"]] == [str(third), str(first)]

    assert client.post(f"{BASE}/read-all", headers=me).json() == {"marked": 2}
    assert client.get(f"{BASE}/unread-count", headers=me).json() == {"unread": 0}
    assert client.get(BASE, headers=me, params={"unread": "true"}).json()["items"] == []
    # Someone else's stay unread.
    theirs = client.get(BASE, headers=_headers(runtime, town, "urban")).json()["items"]
    assert [(m["id"], m["read_at"]) for m in theirs] == [(str(other), None)]


def test_messages_need_a_signed_in_reader(client: TestClient) -> None:
    assert client.get(BASE).status_code == 401
    assert client.get(f"{BASE}/unread-count").status_code == 401
