"""``/sta/v1.1``: the OGC SensorThings API v1.1 (Part 1, Sensing).

One route per method takes every resource path (``Things(1)/Datastreams``), since OData
paths do not fit path templates; ``read.resolve`` walks them. Reads need
``telemetry.read``, writes ``telemetry.write`` (bearer token or ``X-API-Key``); both see
only the Things within the caller's reach. Errors are the platform's problem+json.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from cityos.foundation.identity.authz import Actor, require
from cityos.foundation.telemetry.sta.entities import SETS, read_prop, self_link
from cityos.foundation.telemetry.sta.odata import BadQuery, Options, parse_options, parse_path
from cityos.foundation.telemetry.sta.read import Renderer, Resolved, collection, fetch, resolve
from cityos.foundation.telemetry.sta.write import WRITE, BadEntity, Writer
from cityos.kernel.access import public
from cityos.kernel.http import DbSession

PREFIX = "/sta/v1.1"
READ = "telemetry.read"
PERMISSIONS: dict[str, dict[str, str]] = {
    READ: {"zh": "读取物联感知数据 (SensorThings)", "en": "Read sensing data (SensorThings)"},
    WRITE: {"zh": "写入物联感知数据 (SensorThings)", "en": "Write sensing data (SensorThings)"},
}
# Titles of the SensorThings refusals, in the caller's language (the detail says which).
MESSAGES: dict[str, dict[str, str]] = {
    "sta_not_found": {
        "zh-CN": "实体不存在或不在您的辖区内",
        "en": "No such entity within your reach",
    },
    "sta_bad_query": {"zh-CN": "查询参数有误", "en": "The query options are invalid"},
    "sta_bad_entity": {"zh-CN": "实体内容有误", "en": "The entity is invalid"},
    "sta_bad_geojson": {
        "zh-CN": "位置不是有效的 GeoJSON",
        "en": "The location is not valid GeoJSON",
    },
    "sta_bad_time": {"zh-CN": "时间格式有误（需 ISO 8601，含时区）", "en": "Not an ISO 8601 time"},
    "sta_missing_link": {"zh-CN": "缺少关联的实体", "en": "A linked entity is missing"},
    "sta_missing_property": {"zh-CN": "缺少必填属性", "en": "A required property is missing"},
    "sta_unknown_property": {"zh-CN": "未知的属性", "en": "Unknown property"},
    "sta_no_feature_of_interest": {
        "zh-CN": "观测缺少关注要素，且其设备没有位置",
        "en": "No FeatureOfInterest, and the Thing has no Location to make one from",
    },
    "sta_patch_test_failed": {
        "zh-CN": "JSON-Patch 的 test 操作未通过",
        "en": "A JSON-Patch test operation failed",
    },
    "sta_geo_unavailable": {
        "zh-CN": "本数据库未安装 PostGIS，不能执行空间函数",
        "en": "Geo functions need PostGIS, which this database lacks",
    },
}
CONFORMANCE = [
    "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/multi-datastream",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array",
]
JSON_PATCH = "application/json-patch+json"

router = APIRouter(prefix=PREFIX, tags=["SensorThings"])
Reader = Annotated[Actor, Depends(require(READ))]
Author = Annotated[Actor, Depends(require(WRITE))]
AnyBody = Annotated[Any, Body()]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def _options(request: Request) -> Options:
    return parse_options({k: v for k, v in request.query_params.items() if k.startswith("$")})


@router.get("", dependencies=[Depends(public())], include_in_schema=False)
@router.get("/", dependencies=[Depends(public())])
def service_root(request: Request) -> dict[str, Any]:
    """The service root: the entity sets and what this server conforms to."""
    base = _base(request)
    return {
        "value": [{"name": name, "url": f"{base}/{name}"} for name in SETS],
        "serverSettings": {"conformance": CONFORMANCE},
    }


@router.get("/{path:path}")
def read(path: str, request: Request, session: DbSession, actor: Reader) -> Response:
    """An entity, a collection, a property or its ``$value``, or their ``$ref``."""
    options = _options(request)
    resolved = resolve(session, parse_path(path), actor=actor, permission=READ)
    base = _base(request)
    renderer = Renderer(session, actor, READ, base)
    entity = resolved.entity
    if resolved.single:
        row = resolved.row
        if resolved.prop is not None:
            return _property(resolved)
        if resolved.ref:
            return JSONResponse({"@iot.selfLink": self_link(base, entity, row.id)})
        return JSONResponse(renderer.entity(row, entity, options))
    page = collection(
        session,
        entity,
        options,
        actor=actor,
        permission=READ,
        parent=resolved.parent,
        nav=resolved.nav,
    )
    body: dict[str, Any] = {}
    if page.count is not None:
        body["@iot.count"] = page.count
    if page.more:
        top = len(page.rows)
        body["@iot.nextLink"] = str(
            request.url.include_query_params(**{"$top": top, "$skip": options.skip + top})
        )
    if resolved.ref:
        body["value"] = [{"@iot.selfLink": self_link(base, entity, r.id)} for r in page.rows]
    else:
        body["value"] = renderer.page(page, entity, options)
    return JSONResponse(body)


def _property(resolved: Resolved) -> Response:
    name = resolved.prop
    assert name is not None
    row = resolved.row
    value = row.id if name == "id" else read_prop(row, resolved.entity.props[name])
    if not resolved.raw_value:
        return JSONResponse({name: value})
    if value is None:
        return Response(status_code=204)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return PlainTextResponse(text)


@router.post("/CreateObservations", status_code=201)
def create_observations(
    request: Request, session: DbSession, actor: Author, body: AnyBody
) -> list[str]:
    """Observations in bulk (the data-array extension): for each row, the new
    Observation's link, or ``"error"`` where the row was refused."""
    base = _base(request)
    ids = Writer(session, actor).create_observations(body)
    return ["error" if key is None else self_link(base, SETS["Observations"], key) for key in ids]


@router.post("/{path:path}", status_code=201)
def create(
    path: str, request: Request, session: DbSession, actor: Author, body: AnyBody
) -> Response:
    """A new entity (with what it links to inline, or named by ``@iot.id``); 201 and its
    ``Location``. A resent Observation (same stream and phenomenonTime) answers 200 with
    the stored one."""
    resolved = resolve(session, parse_path(path), actor=actor, permission=WRITE)
    if resolved.single or resolved.prop is not None or resolved.ref:
        raise BadQuery("POST to a collection, such as Things or Things(1)/Datastreams")
    created = Writer(session, actor).create(
        resolved.entity,
        body,
        parent=resolved.parent,
        parent_entity=resolved.parent_entity,
        nav=resolved.nav,
    )
    base = _base(request)
    renderer = Renderer(session, actor, WRITE, base)
    row = fetch(session, created.entity, created.id, actor=actor, permission=WRITE)
    link = self_link(base, created.entity, created.id)
    return JSONResponse(
        renderer.entity(row, created.entity, Options()),
        status_code=200 if created.existing else 201,
        headers={"Location": link},
    )


@router.patch("/{path:path}")
def update(
    path: str, request: Request, session: DbSession, actor: Author, body: AnyBody
) -> Response:
    """Change an entity: a merge of the JSON sent, or JSON-Patch operations when the
    Content-Type is ``application/json-patch+json``."""
    resolved = resolve(session, parse_path(path), actor=actor, permission=WRITE)
    if not resolved.single or resolved.prop is not None or resolved.ref:
        raise BadQuery("PATCH one entity, such as Things(1)")
    writer = Writer(session, actor)
    if request.headers.get("content-type", "").startswith(JSON_PATCH):
        writer.json_patch(resolved.entity, resolved.row, body)
    else:
        writer.patch(resolved.entity, resolved.row, body)
    renderer = Renderer(session, actor, WRITE, _base(request))
    session.refresh(resolved.row)
    return JSONResponse(renderer.entity(resolved.row, resolved.entity, Options()))


@router.delete("/{path:path}", status_code=200)
def remove(path: str, session: DbSession, actor: Author) -> Response:
    """Delete an entity and what cannot exist without it."""
    resolved = resolve(session, parse_path(path), actor=actor, permission=WRITE)
    if not resolved.single or resolved.prop is not None:
        raise BadEntity("DELETE one entity, such as Things(1)")
    Writer(session, actor).delete(resolved.entity, resolved.row)
    return Response(status_code=200)
