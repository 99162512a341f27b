"""A real SensorThings client against a real server: the ``frost-sta-client`` package
(FROST's Python client) over HTTP to the app served by uvicorn on a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import frost_sta_client as fsc
import geojson
import pytest
import requests
import uvicorn
from fastapi.testclient import TestClient
from frost_sta_client.model.ext.data_array_value import DataArrayValue

from cityos.app import create_app
from cityos.kernel.runtime import Runtime
from tests.foundation.telemetry.sta.conftest import make_caller

# The client reads its base URL through an API furl deprecated; nothing of ours.
pytestmark = pytest.mark.filterwarnings("ignore:furl.pathstr is deprecated:DeprecationWarning")
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class BearerAuth(fsc.AuthHandler):  # type: ignore[misc]
    """The client's auth hook speaks HTTP Basic; the platform takes bearer tokens."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def add_auth_header(self) -> _Bearer:
        return _Bearer(self.token)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def service(runtime: Runtime, client: TestClient) -> Iterator[fsc.SensorThingsService]:
    """The app on the test's database, served over HTTP, and a client signed in to it."""
    token = make_caller(client, runtime, "frost-client").token
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(runtime=runtime),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield fsc.SensorThingsService(
            f"http://127.0.0.1:{port}/sta/v1.1", auth_handler=BearerAuth(token)
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_frost_client_creates_posts_and_queries(service: fsc.SensorThingsService) -> None:
    location = fsc.Location(
        name="莲塘 积水点",
        description="路口",
        encoding_type="application/geo+json",
        location=geojson.Point((114.1705, 22.5592)),
    )
    thing = fsc.Thing(
        name="FROST-WL-01",
        description="积水监测",
        properties={"pack": "flood"},
        locations=[location],
    )
    service.create(thing)
    assert isinstance(thing.id, int)

    datastream = fsc.Datastream(
        name="FROST-WL-01 积水深度",
        description="water depth",
        observation_type=MEASUREMENT,
        unit_of_measurement=fsc.UnitOfMeasurement(
            name="centimetre", symbol="cm", definition="http://unitsofmeasure.org/ucum.html#cm"
        ),
        thing=thing,
        sensor=fsc.Sensor(
            name="超声波液位计", description="ultrasonic", encoding_type="text/plain", metadata="UL"
        ),
        observed_property=fsc.ObservedProperty(
            name="积水深度",
            definition="https://cityos.example/def/water_depth",
            description="depth",
        ),
    )
    service.create(datastream)
    assert isinstance(datastream.id, int)

    start = datetime(2026, 1, 10, 8, tzinfo=UTC)
    for minute, depth in enumerate([2.0, 6.5, 14.0]):
        observation = fsc.Observation(
            phenomenon_time=start + timedelta(minutes=minute), result=depth, datastream=datastream
        )
        service.create(observation)
        assert isinstance(observation.id, int)

    # The data-array action: two more rows in one request.
    array = DataArrayValue()
    array.datastream = datastream
    array.components = {DataArrayValue.Property.PHENOMENON_TIME, DataArrayValue.Property.RESULT}
    for minute, depth in [(3, 18.0), (4, 22.5)]:
        array.add_observation(
            fsc.Observation(
                phenomenon_time=(start + timedelta(minutes=minute)).isoformat(), result=depth
            )
        )
    document = fsc.DataArrayDocument()
    document.add_data_array_value(array)
    created = service.observations().create(document)
    assert len(created) == 2
    assert all("Observations(" in o.self_link for o in created)

    deep = (
        service.observations()
        .query()
        .filter("Datastream/Thing/name eq 'FROST-WL-01' and result ge 10")
        .orderby("phenomenonTime", "ASC")
        .list()
    )
    assert [o.result for o in deep] == [14.0, 18.0, 22.5]

    things = (
        service.things()
        .query()
        .filter(
            "geo.intersects(Locations/location, geography'POLYGON((114.16 22.55, "
            "114.18 22.55, 114.18 22.57, 114.16 22.57, 114.16 22.55))')"
        )
        .expand("Datastreams($expand=ObservedProperty;$top=1),Locations")
        .list()
    )
    (found,) = things
    assert found.name == "FROST-WL-01"
    assert found.datastreams.entities[0].observed_property.name == "积水深度"
    assert found.locations.entities[0].location["coordinates"] == [114.1705, 22.5592]

    # Paging: the client follows @iot.nextLink by itself.
    paged = (
        service.observations()
        .query()
        .filter(f"Datastream/id eq {datastream.id}")
        .top(2)
        .count()
        .list()
    )
    assert paged.count == 5
    assert len(list(paged)) == 5

    fetched = service.things().find(thing.id)
    assert fetched.properties == {"pack": "flood"}
    service.patch(thing, [{"op": "replace", "path": "/description", "value": "已迁址"}])
    assert service.things().find(thing.id).description == "已迁址"

    service.delete(thing)
    with pytest.raises(requests.HTTPError):
        service.things().find(thing.id)
