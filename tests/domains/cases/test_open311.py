"""Open311 GeoReport v2 as a client app sees it: discovery, the catalogue as services,
requests sent form-encoded with an API key, the public view filtered as the spec says, in
JSON and XML, and errors in the spec's format."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select, update

from cityos.domains.cases.models import Case, Channel
from cityos.foundation.identity import create_api_key
from cityos.foundation.identity.models import Scope
from cityos.kernel.access import api_routes, route_permission
from cityos.kernel.clock import utcnow
from tests.domains.cases.conftest import GRID, INSIDE, OUTSIDE, Desk
from tests.factories.identity import Assign, create_user

V2 = "/open311/v2"
# A standard address of the geo test district (tests/foundation/geo/fixtures/profile).
ADDRESS_ID = "4403030010010010003"


def _key(desk: Desk, username: str, *scopes: str) -> str:
    """An API key of a client app allowed to report cases, narrowed to ``scopes``."""
    with desk.runtime.unit_of_work() as session:
        app = create_user(session, username, Assign("open311-app", Scope.DISTRICT, ["cases.*"]))
        return create_api_key(
            session, settings=desk.runtime.settings, owner=app, scopes=scopes, actor="test"
        ).key


@pytest.fixture
def api_key(desk: Desk) -> str:
    return _key(desk, "open311-app", "cases.create")


def _post(client: TestClient, key: str | None, fmt: str = "json", **fields: Any) -> Response:
    form = {
        "service_code": "0101",
        "lat": str(INSIDE[1]),
        "long": str(INSIDE[0]),
        "description": "人行道上的井盖不见了",
        **fields,
    }
    if key is not None:
        form["api_key"] = key
    return client.post(f"{V2}/requests.{fmt}", data=form)


def _report(client: TestClient, key: str, **fields: Any) -> dict[str, Any]:
    answer = _post(client, key, **fields)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()[0]
    return created


def _errors(answer: Response, status: int) -> str:
    """The one error of a spec error answer in JSON, checked; its description."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    [error] = answer.json()
    assert error["code"] == status
    description: str = error["description"]
    return description


def _xml(answer: Response, root: str) -> ET.Element:
    assert answer.status_code < 300, answer.text
    assert answer.headers["content-type"].startswith("text/xml")
    assert answer.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    element = ET.fromstring(answer.content)
    assert element.tag == root
    return element


def _numbers(client: TestClient, **params: str) -> set[str]:
    answer = client.get(f"{V2}/requests.json", params=params)
    assert answer.status_code == 200, answer.text
    return {item["service_request_id"] for item in answer.json()}


def test_discovery_names_the_endpoint_and_its_formats(client: TestClient) -> None:
    body = client.get(f"{V2}/discovery.json").json()
    [endpoint] = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    xml = _xml(client.get(f"{V2}/discovery.xml"), "discovery")
    formats = xml.findall("endpoints/endpoint/formats/format")
    assert [f.text for f in formats] == ["text/xml", "application/json"]


def test_services_are_the_catalogues_minor_classes(client: TestClient, desk: Desk) -> None:
    services = client.get(f"{V2}/services.json").json()
    assert [s["service_code"] for s in services] == ["0101", "1401"]
    manhole = services[0]
    assert manhole["service_name"] == "上水井盖"
    assert manhole["group"] == "公用设施"
    assert manhole["metadata"] is False
    assert manhole["type"] == "realtime"
    assert manhole["keywords"] == "井盖,井盖不见"
    english = client.get(f"{V2}/services.json", headers={"Accept-Language": "en"}).json()
    assert english[0]["group"] == "Utilities"
    xml = _xml(client.get(f"{V2}/services.xml"), "services")
    assert [s.findtext("service_code") for s in xml.findall("service")] == ["0101", "1401"]
    assert xml.findtext("service/metadata") == "false"


def test_a_service_definition_has_no_attributes(client: TestClient, desk: Desk) -> None:
    assert client.get(f"{V2}/services/1401.json").json() == {
        "service_code": "1401",
        "attributes": [],
    }
    xml = _xml(client.get(f"{V2}/services/1401.xml"), "service_definition")
    assert xml.findtext("service_code") == "1401"
    attributes = xml.find("attributes")
    assert attributes is not None
    assert len(attributes) == 0
    assert "9999" in _errors(client.get(f"{V2}/services/9999.json"), 404)


def test_a_request_posted_with_a_key_becomes_an_open311_case(
    client: TestClient, desk: Desk, api_key: str
) -> None:
    created = _report(client, api_key, first_name="三", last_name="张", phone="13800138000")
    assert created["service_request_id"].startswith("LH")
    assert created["service_notice"] is None
    with desk.runtime.unit_of_work() as session:
        case = session.scalars(select(Case).where(Case.number == created["service_request_id"]))
        found = case.one()
        assert found.channel == Channel.OPEN311
        assert str(found.id) == created["token"]
        assert found.category_code == "0101"
        assert found.region_code == GRID
        assert found.reporter_name == "张三"
        assert found.reporter_phone == "13800138000"
    token = client.get(f"{V2}/tokens/{created['token']}.json").json()
    assert token == [
        {"service_request_id": created["service_request_id"], "token": created["token"]}
    ]
    xml = _xml(_post(client, api_key, fmt="xml"), "service_requests")
    assert (xml.findtext("request/service_request_id") or "").startswith("LH")


def test_a_request_outside_the_district_is_kept_with_a_notice(
    client: TestClient, desk: Desk, api_key: str
) -> None:
    created = _report(client, api_key, lat=str(OUTSIDE[1]), long=str(OUTSIDE[0]))
    assert "outside the district" in created["service_notice"]


def test_a_standard_address_id_places_the_request(
    client: TestClient, desk: Desk, api_key: str
) -> None:
    created = _report(client, api_key, lat="", long="", address_id=ADDRESS_ID)
    [shown] = client.get(f"{V2}/requests/{created['service_request_id']}.json").json()
    assert (shown["long"], shown["lat"]) == (114.108365, 22.537145)
    assert shown["address"].endswith("深南东路2601号国贸大厦")
    assert "no" in _errors(_post(client, api_key, lat="", long="", address_id="44030300"), 400)


def test_posting_needs_a_key_that_may_report_cases(
    client: TestClient, desk: Desk, api_key: str
) -> None:
    assert "not provided" in _errors(_post(client, None), 403)
    assert "not valid" in _errors(_post(client, "ck_00000000_made-up"), 403)
    reader = _key(desk, "open311-reader", "cases.read")
    _errors(_post(client, reader), 403)
    in_xml = _xml_error(client.post(f"{V2}/requests.xml", data={"service_code": "0101"}))
    assert in_xml == ("403", "api_key was not provided")
    # The key in the header, as CityOS devices send it, is taken too.
    by_header = client.post(
        f"{V2}/requests.json",
        data={"service_code": "1401", "address_string": "东门中路2563号"},
        headers={"X-API-Key": api_key},
    )
    assert by_header.status_code == 201, by_header.text
    routes = api_routes(client.app)  # type: ignore[arg-type]
    [post] = [r for r in routes if r.path == f"{V2}/requests.{{fmt}}" and "POST" in r.methods]
    assert route_permission(post) == "cases.create"


def test_a_bad_request_is_a_400_and_leaves_nothing_behind(
    client: TestClient, desk: Desk, api_key: str
) -> None:
    with desk.runtime.unit_of_work() as session:
        before = session.scalar(select(func.count()).select_from(Case))
    assert "9999" in _errors(_post(client, api_key, service_code="9999"), 400)
    assert "service_code" in _errors(_post(client, api_key, service_code=""), 400)
    assert "location" in _errors(_post(client, api_key, lat="", long=""), 400)
    assert "lat" in _errors(_post(client, api_key, lat="north"), 400)
    assert "mobile" in _errors(_post(client, api_key, phone="12345"), 400)
    with desk.runtime.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == before


def test_requests_are_filtered_as_the_spec_says(
    client: TestClient, desk: Desk, api_key: str
) -> None:
    first = _report(client, api_key)["service_request_id"]
    second = _report(client, api_key, service_code="1401")["service_request_id"]
    rejected = _report(client, api_key)
    old = _report(client, api_key)["service_request_id"]
    refused = client.post(
        f"/api/v1/cases/{rejected['token']}/actions/reject",
        json={"comment": "重复报告"},
        headers=desk.headers("dispatcher"),
    )
    assert refused.status_code == 200, refused.text
    long_ago = utcnow() - timedelta(days=100)
    with desk.runtime.unit_of_work() as session:
        session.execute(update(Case).where(Case.number == old).values(created_at=long_ago))
    closed = rejected["service_request_id"]

    assert _numbers(client) == {first, second, closed}
    assert _numbers(client, service_code="1401") == {second}
    assert _numbers(client, service_code="0101,1401", status="open") == {first, second}
    assert _numbers(client, status="closed") == {closed}
    # A list of numbers overrides every other filter, the 90 days included.
    assert _numbers(client, service_request_id=f"{first},{old}", status="closed") == {first, old}
    then = {
        "start_date": (long_ago - timedelta(days=1)).isoformat(),
        "end_date": (long_ago + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
    }
    assert _numbers(client, **then) == {old}
    xml = _xml(client.get(f"{V2}/requests.xml", params={"status": "open"}), "service_requests")
    assert {r.findtext("service_request_id") for r in xml.findall("request")} == {first, second}
    assert xml.findtext("request/status") == "open"

    too_long = {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"}
    assert "90 days" in _errors(client.get(f"{V2}/requests.json", params=too_long), 400)
    naive = {"start_date": "2026-11-01T00:00:00"}
    assert "time zone" in _errors(client.get(f"{V2}/requests.json", params=naive), 400)
    assert "status" in _errors(client.get(f"{V2}/requests.json", params={"status": "x"}), 400)


def test_one_request_is_shown_without_personal_data(
    client: TestClient, desk: Desk, api_key: str
) -> None:
    created = _report(
        client,
        api_key,
        first_name="小明",
        last_name="欧阳",
        phone="13912345678",
        email="xm@example.cn",
        device_id="device-42",
        account_id="account-42",
    )
    number = created["service_request_id"]
    answer = client.get(f"{V2}/requests/{number}.json")
    [shown] = answer.json()
    assert shown["service_request_id"] == number
    assert shown["status"] == "open"
    assert shown["status_notes"] == "待立案"
    assert shown["service_name"] == "上水井盖"
    assert shown["service_code"] == "0101"
    assert shown["description"] == "人行道上的井盖不见了"
    assert shown["requested_datetime"].endswith("+08:00")
    assert shown["expected_datetime"].endswith("+08:00")
    assert shown["agency_responsible"] is None
    assert (shown["long"], shown["lat"]) == INSIDE
    english = client.get(f"{V2}/requests/{number}.json", headers={"Accept-Language": "en"})
    assert english.json()[0]["status_notes"] == "Awaiting registration"
    xml = client.get(f"{V2}/requests/{number}.xml")
    assert _xml(xml, "service_requests").findtext("request/status_notes") == "待立案"
    listed = client.get(f"{V2}/requests.xml").text + client.get(f"{V2}/requests.json").text
    for personal in ("小明", "欧阳", "13912345678", "xm@example.cn", "device-42", "account-42"):
        assert personal not in answer.text + xml.text + listed
    assert number in _errors(client.get(f"{V2}/requests/{number}0.json"), 404)
    assert "token" in _errors(client.get(f"{V2}/tokens/not-a-token.json"), 404)


def test_only_this_jurisdiction_and_these_formats_are_served(
    client: TestClient, desk: Desk
) -> None:
    assert "jurisdiction_id" in _errors(
        client.get(f"{V2}/services.json", params={"jurisdiction_id": "310101"}), 404
    )
    unknown = _xml_error(client.get(f"{V2}/services.csv"))
    assert unknown == ("400", "unknown format 'csv': use .xml or .json")


def _xml_error(answer: Response) -> tuple[str | None, str | None]:
    assert answer.status_code >= 400
    root = ET.fromstring(answer.content)
    assert root.tag == "errors"
    return root.findtext("error/code"), root.findtext("error/description")


def test_numbers_a_citizen_typed_are_masked_in_the_public_view(
    client: TestClient, api_key: str
) -> None:
    posted = _report(
        client, api_key, description="井盖丢了，请联系我13812345678，身份证110101199003071234"
    )
    shown = client.get(f"{V2}/requests/{posted['service_request_id']}.json").json()[0]
    assert "13812345678" not in shown["description"]
    assert "138****5678" in shown["description"]
    assert "110101199003071234" not in shown["description"]
