"""A small sensing district for the registry and HTTP tests: the geo engine's test profile
(subdistricts 440303001 and 440303002), two device types, three devices, and people with
bearer tokens: a district device manager, a reader of subdistrict 001 only, and someone
without any telemetry permission."""

from __future__ import annotations

from dataclasses import dataclass

from cityos.foundation.identity import issue_token
from cityos.foundation.identity.models import Scope
from cityos.kernel import profiles
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from tests.factories.identity import Assign, create_user
from tests.factories.telemetry import device_types, registered_device
from tests.foundation.geo.conftest import FIXTURE_PROFILE

SUB_001, SUB_002 = "440303001", "440303002"
ALL = (
    "telemetry.devices.read",
    "telemetry.devices.manage",
    "telemetry.read",
    "telemetry.write",
)


@dataclass(frozen=True)
class District:
    manager: str
    reader_001: str
    outsider: str


def build(runtime: Runtime, registry: Registry) -> District:
    """Load the district, register WL-0001 (in 001), WL-0002 (in 002) and MC-0001 (in 001)
    and issue the three tokens."""
    settings = runtime.settings
    with runtime.unit_of_work() as session:
        geo = Registry((registry.by_name("geo"),))
        profiles.load(session, root=FIXTURE_PROFILE, registry=geo, settings=settings)
        device_types(session, settings)
        registered_device(session, "WL-0001", lon=114.105, lat=22.54)
        registered_device(session, "WL-0002", lon=114.125, lat=22.54)
        registered_device(
            session, "MC-0001", device_type="manhole-cover-sensor", lon=114.115, lat=22.55
        )
        manager = create_user(session, "device-manager", Assign("iot-manager", Scope.DISTRICT, ALL))
        reader = create_user(
            session,
            "device-reader",
            Assign(
                "iot-reader",
                Scope.JURISDICTION,
                ("telemetry.devices.read", "telemetry.read"),
                jurisdiction=(SUB_001,),
            ),
        )
        outsider = create_user(
            session, "no-iot", Assign("no-iot", Scope.DISTRICT, ("identity.profile.read",))
        )
        return District(
            manager=issue_token(session, settings=settings, user=manager),
            reader_001=issue_token(session, settings=settings, user=reader),
            outsider=issue_token(session, settings=settings, user=outsider),
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
