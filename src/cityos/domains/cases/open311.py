"""Open311 GeoReport v2 at ``/open311/v2/``: the case catalogue as services, new cases
through ``POST requests``, and every case's public state through ``GET requests``.

Choices the spec leaves to the server:

- A service code is the catalogue's minor-class code (``0101``); services carry no
  attributes (``metadata`` false), so ``attribute[...]`` fields are ignored.
- ``service_request_id`` is the case number (``LH…``), known at once: ``POST requests``
  returns it together with a ``token``, which is the case's id; ``tokens/{token}`` answers
  for such ids.
- ``status`` is ``closed`` once the case's workflow has reached a terminal state (closed or
  not registered), ``open`` before; ``status_notes`` names the workflow state.
- The public view never shows who reported: no names, phones or e-mail addresses. A POST's
  ``first_name``/``last_name`` and ``phone`` are kept encrypted as the reporter's; ``email``,
  ``device_id``, ``account_id`` and ``media_url`` have no place on a case and are not kept.
- Names and descriptions follow ``Accept-Language`` (Chinese unless English is preferred).

The format is the path's suffix, ``.json`` or ``.xml``; errors are the spec's list of
``{code, description}`` in that format, with the HTTP status as ``code``. The routes stay
out of the OpenAPI document, which describes ``/api/v1`` only.
"""

from __future__ import annotations

import json
import math
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cityos.domains.cases.models import Case, CaseCategory, Channel
from cityos.domains.cases.service import SHANGHAI, Intake, create_case
from cityos.foundation.geo import StandardAddress, address_text, locate
from cityos.foundation.identity.apikeys import verify_api_key
from cityos.foundation.identity.authz import Actor, HeaderKey, QueryKey, load_actor
from cityos.foundation.identity.models import Department
from cityos.foundation.privacy import redact
from cityos.foundation.workflow import WorkflowDef, WorkflowInstance, definition_of
from cityos.kernel.access import declare, public
from cityos.kernel.clock import utcnow
from cityos.kernel.errors import DomainError, Unauthenticated
from cityos.kernel.http import DbSession, RuntimeDep
from cityos.kernel.i18n import negotiate
from cityos.kernel.system.models import District

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this endpoint last changed, for the discovery document's ``changeset``.
CHANGESET = "2026-12-01T00:00:00+08:00"
PERMISSION = "cases.create"
WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
MAX_DESCRIPTION = 4000


class Format(StrEnum):
    XML = "xml"
    JSON = "json"


MEDIA_TYPES = {
    Format.XML: "text/xml; charset=utf-8",
    Format.JSON: "application/json; charset=utf-8",
}
_SUFFIXES = frozenset(f.value for f in Format)
# The element of each item of a list, in XML.
_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
}


class Open311Error(Exception):
    """A failure answered in the spec's error format with ``status``."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _element(parent: ET.Element, tag: str, value: Any) -> None:
    node = ET.SubElement(parent, tag)
    _fill(node, value)


def _fill(node: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _element(node, key, item)
    elif isinstance(value, list):
        for item in value:
            _element(node, _ITEMS[node.tag], item)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)


def render(fmt: Format, root: str, body: list[Any] | dict[str, Any], status: int = 200) -> Response:
    """``body`` as JSON, or as XML under ``root`` (a list's items named after ``root``)."""
    if fmt is Format.JSON:
        content = json.dumps(body, ensure_ascii=False).encode()
    else:
        element = ET.Element(root)
        _fill(element, body)
        declaration = b'<?xml version="1.0" encoding="UTF-8"?>\n'
        content = declaration + ET.tostring(element, encoding="unicode").encode()
    return Response(content, status_code=status, media_type=MEDIA_TYPES[fmt])


def _errors(fmt: Format, status: int, description: str) -> Response:
    return render(fmt, "errors", [{"code": status, "description": description}], status)


class Open311Route(APIRoute):
    """A route that answers an unknown format, and any ``Open311Error`` raised by it or its
    dependencies, in the spec's error format (the kernel's handlers speak problem+json)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            suffix = str(request.path_params.get("fmt", ""))
            if suffix not in _SUFFIXES:
                return _errors(Format.XML, 400, f"unknown format {suffix!r}: use .xml or .json")
            try:
                return await handler(request)
            except Open311Error as error:
                return _errors(Format(suffix), error.status, error.description)

        return answer


router = APIRouter(prefix="/open311/v2", route_class=Open311Route, include_in_schema=False)
Public = Depends(public())


async def _form(request: Request) -> AsyncIterator[FormData]:
    async with request.form() as form:
        yield form


FormFields = Annotated[FormData, Depends(_form)]


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return (value.strip() or None) if isinstance(value, str) else None


def open311_caller(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    form: FormFields,
    header_key: HeaderKey,
    query_key: QueryKey,
) -> Actor:
    """The client named by its API key, which Open311 sends as the form field ``api_key``
    (``X-API-Key`` or the query also do); 403 without one that may report cases."""
    key = _text(form, "api_key") or header_key or query_key
    if not key:
        raise Open311Error(403, "api_key was not provided")
    try:
        row = verify_api_key(session, key, settings=runtime.settings)
    except Unauthenticated:
        raise Open311Error(403, "api_key is not valid") from None
    actor = load_actor(
        session,
        user_id=row.user_id,
        declared=runtime.registry.permissions(),
        token_scope=" ".join(row.scopes),
    )
    if actor is None:
        raise Open311Error(403, "api_key is not valid")
    if not actor.can(PERMISSION):
        raise Open311Error(403, "this api_key may not submit service requests")
    request.state.actor = actor
    return actor


declare(open311_caller, PERMISSION)


def _jurisdiction(session: Session, jurisdiction_id: str | None) -> None:
    """One jurisdiction is served, the district by its code; naming another is a 404."""
    if jurisdiction_id is None:
        return
    district = session.scalars(select(District.code).limit(1)).first()
    if jurisdiction_id != district:
        raise Open311Error(404, f"jurisdiction_id {jurisdiction_id!r} not found")


def _locale(request: Request) -> str:
    return "en" if negotiate(request.headers.get("accept-language")) == "en" else "zh"


def _w3c(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds") if moment else None


# --- services ------------------------------------------------------------------------------


@router.get("/discovery.{fmt}", dependencies=[Public])
def discovery(fmt: Format, request: Request) -> Response:
    """Where the GeoReport v2 endpoint is and which formats it speaks."""
    body = {
        "changeset": CHANGESET,
        "contact": "罗湖区 12345 政务服务便民热线 / Luohu District 12345 service hotline",
        "key_service": "API keys come from the platform's operators (cityos apikeys create), "
        f"for an account that holds the permission {PERMISSION}",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": str(request.base_url).rstrip("/") + router.prefix,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", body)


def _service(category: CaseCategory, locale: str) -> dict[str, Any]:
    english = locale == "en"
    return {
        "service_code": category.code,
        "service_name": category.name_en if english else category.name_zh,
        "description": f"{category.name_zh} / {category.name_en}",
        "metadata": False,
        "type": "realtime",
        "keywords": ",".join(str(word) for word in category.keywords),
        "group": category.major_name_en if english else category.major_name_zh,
    }


def _active_category(session: Session, code: str) -> CaseCategory | None:
    found = session.get(CaseCategory, code)
    return found if found is not None and found.active else None


@router.get("/services.{fmt}", dependencies=[Public])
def services(
    fmt: Format, request: Request, session: DbSession, jurisdiction_id: str | None = None
) -> Response:
    """Every active minor class of the case catalogue, as a service."""
    _jurisdiction(session, jurisdiction_id)
    rows = session.scalars(
        select(CaseCategory).where(CaseCategory.active.is_(True)).order_by(CaseCategory.code)
    )
    locale = _locale(request)
    return render(fmt, "services", [_service(c, locale) for c in rows])


@router.get("/services/{service_code}.{fmt}", dependencies=[Public])
def service_definition(
    service_code: str, fmt: Format, session: DbSession, jurisdiction_id: str | None = None
) -> Response:
    """A service's extra questions: none, the category and the place say enough."""
    _jurisdiction(session, jurisdiction_id)
    if _active_category(session, service_code) is None:
        raise Open311Error(404, f"service_code {service_code!r} not found")
    return render(fmt, "service_definition", {"service_code": service_code, "attributes": []})


# --- requests ------------------------------------------------------------------------------


def _coordinate(form: FormData, name: str, limit: float) -> float | None:
    given = _text(form, name)
    if given is None:
        return None
    try:
        value = float(given)
    except ValueError:
        raise Open311Error(400, f"{name} is not a number") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise Open311Error(400, f"{name} is out of range")
    return value


def _standard_address(session: Session, address_id: str) -> tuple[str, tuple[float, float]]:
    """The text and point of a standard address (``address_id`` is its code)."""
    found = session.get(StandardAddress, address_id)
    if found is None:
        raise Open311Error(400, f"address_id {address_id!r} not found")
    chain = locate(session, lon=found.lon, lat=found.lat)
    text = (
        address_text(found, chain)
        if chain is not None
        else f"{found.road}{found.number}号{found.building}{found.unit}"
    )
    return text, (found.lon, found.lat)


def _intake(session: Session, form: FormData) -> Intake:
    code = _text(form, "service_code")
    if code is None:
        raise Open311Error(400, "service_code was not provided")
    category = _active_category(session, code)
    if category is None:
        raise Open311Error(400, f"service_code {code!r} not found")
    lat = _coordinate(form, "lat", 90)
    lon = _coordinate(form, "long", 180)
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat and long go together")
    address = _text(form, "address_string")
    address_id = _text(form, "address_id")
    if address_id is not None:
        standard, point = _standard_address(session, address_id)
        address = address or standard
        if lon is None:
            lon, lat = point
    if lon is None and address is None:
        raise Open311Error(
            400, "a location is required: lat and long, address_string or address_id"
        )
    description = _text(form, "description") or category.name_zh
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION} characters")
    # Chinese order: family name, then given name.
    name = "".join(part for part in (_text(form, "last_name"), _text(form, "first_name")) if part)
    return Intake(
        channel=Channel.OPEN311,
        description=description,
        category_code=category.code,
        address=address,
        lon=lon,
        lat=lat,
        reporter_name=name or None,
        reporter_phone=_text(form, "phone"),
    )


@router.post("/requests.{fmt}")
def submit_request(
    fmt: Format,
    session: DbSession,
    form: FormFields,
    actor: Annotated[Actor, Depends(open311_caller)],
) -> Response:
    """A new case from an Open311 client, numbered at once."""
    _jurisdiction(session, _text(form, "jurisdiction_id"))
    intake = _intake(session, form)
    try:
        case = create_case(session, actor=actor, intake=intake)
    except DomainError as error:
        # The error becomes an answer, not an exception: undo what the intake began.
        session.rollback()
        raise Open311Error(400, error.detail) from None
    created = {
        "service_request_id": case.number,
        "token": str(case.id),
        "service_notice": case.outside_reason,
        "account_id": None,
    }
    return render(fmt, "service_requests", [created], status=201)


@router.get("/tokens/{token}.{fmt}", dependencies=[Public])
def token_request(
    token: str, fmt: Format, session: DbSession, jurisdiction_id: str | None = None
) -> Response:
    """The service_request_id behind a token (the case's id)."""
    _jurisdiction(session, jurisdiction_id)
    try:
        case_id = uuid.UUID(token)
    except ValueError:
        raise Open311Error(404, f"token {token!r} not found") from None
    number = session.scalar(select(Case.number).where(Case.id == case_id))
    if number is None:
        raise Open311Error(404, f"token {token!r} not found")
    return render(fmt, "service_requests", [{"service_request_id": number, "token": token}])


class _Presenter:
    """Cases as the public sees them, with what they name loaded once per answer."""

    def __init__(self, session: Session, locale: str) -> None:
        self.session = session
        self.english = locale == "en"
        self.definitions: dict[tuple[str, int], WorkflowDef] = {}

    def present(self, cases: Sequence[Case]) -> list[dict[str, Any]]:
        session = self.session
        codes = {c.category_code for c in cases if c.category_code}
        categories = {
            c.code: c
            for c in session.scalars(select(CaseCategory).where(CaseCategory.code.in_(codes)))
        }
        instance_ids = {c.workflow_instance_id for c in cases if c.workflow_instance_id}
        instances = {
            i.id: i
            for i in session.scalars(
                select(WorkflowInstance).where(WorkflowInstance.id.in_(instance_ids))
            )
        }
        unit_ids = {c.lead_department_id for c in cases if c.lead_department_id}
        units = {
            d.id: d for d in session.scalars(select(Department).where(Department.id.in_(unit_ids)))
        }
        return [
            self._one(
                case,
                categories.get(case.category_code or ""),
                instances.get(case.workflow_instance_id) if case.workflow_instance_id else None,
                units.get(case.lead_department_id) if case.lead_department_id else None,
            )
            for case in cases
        ]

    def _state_name(self, instance: WorkflowInstance | None, state: str) -> str:
        if instance is None:
            return state
        key = (instance.workflow_id, instance.version)
        if key not in self.definitions:
            self.definitions[key] = definition_of(self.session, *key)
        spec = self.definitions[key].states.get(instance.state)
        if spec is None or spec.name is None:
            return state
        return spec.name.en if self.english else spec.name.zh

    def _one(
        self,
        case: Case,
        category: CaseCategory | None,
        instance: WorkflowInstance | None,
        unit: Department | None,
    ) -> dict[str, Any]:
        english = self.english
        return {
            "service_request_id": case.number,
            "status": "closed" if case.closed_at is not None else "open",
            "status_notes": self._state_name(instance, case.status),
            "service_name": (category.name_en if english else category.name_zh)
            if category
            else None,
            "service_code": case.category_code,
            # The public view masks any phone or identity number a citizen typed.
            "description": redact(case.description),
            "agency_responsible": (unit.name_en if english else unit.name_zh) if unit else None,
            "service_notice": case.outside_reason,
            "requested_datetime": _w3c(case.created_at),
            "updated_datetime": _w3c(case.updated_at),
            "expected_datetime": _w3c(case.due_at),
            "address": case.address,
            "address_id": None,
            "zipcode": None,
            "lat": case.lat,
            "long": case.lon,
            "media_url": None,
        }


def _list(value: str | None, name: str) -> list[str]:
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    if len(items) > MAX_REQUESTS:
        raise Open311Error(400, f"{name} lists more than {MAX_REQUESTS} values")
    return items


def _moment(value: str | None, name: str) -> datetime | None:
    """A W3C date-time with its zone (``1994-11-05T13:15:30Z``), as the spec asks."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Open311Error(400, f"{name} is not a W3C date-time with a time zone")
    return moment


def _window(start_date: str | None, end_date: str | None) -> ColumnElement[bool]:
    """The requested_datetime range: 90 days at most, the last 90 when neither end is given."""
    start, end = _moment(start_date, "start_date"), _moment(end_date, "end_date")
    if start is None:
        start = (end or utcnow()) - WINDOW
    if end is None:
        end = start + WINDOW
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > WINDOW:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    return (Case.created_at >= start) & (Case.created_at <= end)


@router.get("/requests.{fmt}", dependencies=[Public])
def list_requests(
    fmt: Format,
    request: Request,
    session: DbSession,
    jurisdiction_id: str | None = None,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> Response:
    """Requests by number (which overrides every other filter), or by service, status and
    requested time (the last 90 days by default), newest first, 1000 at most."""
    _jurisdiction(session, jurisdiction_id)
    stmt = select(Case)
    numbers = _list(service_request_id, "service_request_id")
    if numbers:
        stmt = stmt.where(Case.number.in_(numbers))
    else:
        stmt = stmt.where(_window(start_date, end_date))
        codes = _list(service_code, "service_code")
        if codes:
            stmt = stmt.where(Case.category_code.in_(codes))
        statuses = set(_list(status, "status"))
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "status is open, closed or both")
        if statuses == {"open"}:
            stmt = stmt.where(Case.closed_at.is_(None))
        elif statuses == {"closed"}:
            stmt = stmt.where(Case.closed_at.is_not(None))
    cases = session.scalars(
        stmt.order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_REQUESTS)
    ).all()
    body = _Presenter(session, _locale(request)).present(cases)
    return render(fmt, "service_requests", body)


@router.get("/requests/{service_request_id}.{fmt}", dependencies=[Public])
def read_request(
    service_request_id: str,
    fmt: Format,
    request: Request,
    session: DbSession,
    jurisdiction_id: str | None = None,
) -> Response:
    """One request by its number, as a list of one."""
    _jurisdiction(session, jurisdiction_id)
    case = session.scalar(select(Case).where(Case.number == service_request_id))
    if case is None:
        raise Open311Error(404, f"service_request_id {service_request_id!r} not found")
    return render(fmt, "service_requests", _Presenter(session, _locale(request)).present([case]))


__all__ = ["Format", "Open311Error", "Open311Route", "open311_caller", "render", "router"]
