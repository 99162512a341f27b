"""Case tests: the case workflow, a few categories and routing rules, the geo engine's
test district, and people in the roles of the loop, all in the test's transaction."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cityos.domains.cases.models import CaseCategory, CategoryKind, RoutingRule
from cityos.foundation.identity.models import Department, Scope, User, UserKind
from cityos.foundation.identity.tokens import issue_token
from cityos.foundation.workflow import WorkflowDef, register_definition
from cityos.kernel import profiles
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from tests.factories.identity import Assign, create_user

ROOT = Path(__file__).parents[3]
CASE_WORKFLOW = ROOT / "src/cityos/profiles/luohu/packs/cases/workflow.yaml"
GEO_FIXTURE = ROOT / "tests/foundation/geo/fixtures/profile"
# A point inside grid 440303001001001 of the geo test district.
INSIDE = (114.104, 22.536)
GRID = "440303001001001"
OUTSIDE = (113.9, 22.5)
STAFF = ["workflow.inbox.read", "workflow.instances.act"]


@dataclass
class Desk:
    runtime: Runtime
    users: dict[str, User]
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def photo(self, kind: str = "photo_after", *, seed: int = 0) -> dict[str, str]:
        """A real PNG put in the file store, as an attachment naming it."""
        return {"kind": kind, "sha256": store(self.runtime, png(seed), "photo.png")}


def png(seed: int = 0) -> bytes:
    """A tiny valid PNG whose one pixel differs with ``seed``."""
    raw = b"\x00" + bytes([seed % 256, 0, 0])

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def store(runtime: Runtime, content: bytes, filename: str) -> str:
    """Put ``content`` in the file store as an upload would; its SHA-256."""
    from cityos.kernel.files import put, storage_from_settings

    with runtime.unit_of_work() as session:
        row = put(
            session,
            storage_from_settings(runtime.settings),
            stream=io.BytesIO(content),
            filename=filename,
            max_bytes=runtime.settings.max_upload_bytes,
        )
        return row.sha256


def _catalogue(session: Session) -> None:
    for code, name, department, keywords in (
        ("0101", "上水井盖", "cs-water", ["井盖", "井盖不见"]),
        ("1401", "占道经营", "cs-urban", ["占道", "摆摊"]),
    ):
        session.add(
            CaseCategory(
                code=code,
                kind=CategoryKind.COMPONENT if code < "10" else CategoryKind.EVENT,
                major_code=code[:2],
                major_name_zh="公用设施" if code < "10" else "街面秩序",
                major_name_en="Utilities" if code < "10" else "Street order",
                name_zh=name,
                name_en=name,
                sign_limit="1 working hours",
                handle_limit="2 working days",
                department_code=department,
                evidence=["photo_after"],
                keywords=keywords,
            )
        )
    session.add_all(
        [
            RoutingRule(
                position=1,
                category_pattern="01*",
                region_pattern="440303001*",
                lead_department_code="cs-water",
                assist_department_codes=["cs-urban"],
            ),
            RoutingRule(
                position=2,
                category_pattern="*",
                region_pattern="*",
                lead_department_code="cs-urban",
                assist_department_codes=[],
            ),
        ]
    )


@pytest.fixture
def desk(runtime: Runtime, client: TestClient, registry: Registry) -> Desk:
    with runtime.unit_of_work() as session:
        profiles.load(
            session,
            root=GEO_FIXTURE,
            registry=Registry((registry.by_name("geo"),)),
            settings=runtime.settings,
        )
        register_definition(
            session, WorkflowDef.model_validate(yaml.safe_load(CASE_WORKFLOW.read_text("utf-8")))
        )
        units = {}
        for code in ("cs-water", "cs-urban"):
            unit = Department(code=code, name_zh=code, name_en=code, kind="bureau")
            session.add(unit)
            session.flush()
            units[code] = unit.id
        _catalogue(session)
        case_perms = ["cases.create", "cases.read", "cases.act", "cases.reveal", *STAFF]
        users = {
            "operator": create_user(
                session, "cs-op", Assign("hotline-operator", Scope.DISTRICT, case_perms)
            ),
            "dispatcher": create_user(
                session, "cs-disp", Assign("dispatcher", Scope.DISTRICT, case_perms)
            ),
            "water": create_user(
                session,
                "cs-water-h",
                Assign("handler", Scope.JURISDICTION, case_perms, ["440303"], units["cs-water"]),
            ),
            "urban": create_user(
                session,
                "cs-urban-h",
                Assign("handler", Scope.JURISDICTION, case_perms, ["440303"], units["cs-urban"]),
            ),
            "inspector": create_user(
                session,
                "cs-insp",
                Assign("grid-inspector", Scope.JURISDICTION, case_perms, [GRID]),
            ),
            "citizen": create_user(
                session,
                "cs-citizen",
                Assign("citizen", Scope.OWN, ["cases.create", "cases.read", "cases.act"]),
                kind=UserKind.CITIZEN,
            ),
            "neighbour": create_user(
                session,
                "cs-neighbour",
                Assign("citizen", Scope.OWN, ["cases.create", "cases.read", "cases.act"]),
                kind=UserKind.CITIZEN,
            ),
        }
        tokens = {
            name: issue_token(session, settings=runtime.settings, user=user)
            for name, user in users.items()
        }
    return Desk(runtime, users, tokens)
