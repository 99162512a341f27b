"""Plan tests: the Luohu profile's rainstorm plan and plan-task workflow, the geo engine's
test district, the units the plan names, and the people who run and answer it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.identity.models import Department, Scope, User
from cityos.foundation.identity.tokens import issue_token
from cityos.foundation.notify import Message
from cityos.foundation.workflow import WorkflowDef, register_definition
from cityos.kernel import profiles
from cityos.kernel.profiles import ProfileContext
from cityos.kernel.registry import Registry
from cityos.kernel.runtime import Runtime
from cityos.platforms.ioc.plans.definition import PlansFile
from cityos.platforms.ioc.plans.profile import plans_section
from cityos.platforms.ioc.plans.resources import ResourcesFile, resources_section
from tests.factories.identity import Assign, create_user

ROOT = Path(__file__).parents[4]
LUOHU = ROOT / "src/cityos/profiles/luohu"
PLANS = LUOHU / "packs/flood/plans.yaml"
TASK_WORKFLOW = LUOHU / "workflows/plan-task.yaml"
GEO_FIXTURE = ROOT / "tests/foundation/geo/fixtures/profile"
UNITS = (
    "water-affairs",
    "urban-management",
    "traffic-police",
    "emergency-management",
    "civil-affairs",
    "housing-construction",
    "education",
)
WEST = "440303001"  # a subdistrict of the geo test district
INBOX = ["workflow.inbox.read", "workflow.instances.act"]


@dataclass
class Command:
    runtime: Runtime
    users: dict[str, User]
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def load_plans(session: Session, runtime: Runtime, text: str | None = None) -> None:
    """The flood pack's plans (or ``text``) through the profile section's loader."""
    document = PlansFile.model_validate(yaml.safe_load(text or PLANS.read_text("utf-8")))
    context = ProfileContext(
        name="test", root=LUOHU, settings=runtime.settings, files=["packs/flood/plans.yaml"]
    )
    plans_section.load(session, context, [document])


def load_resources(session: Session, runtime: Runtime, text: str) -> None:
    """A ``resources.geojson`` text through the profile section's loader."""
    document = ResourcesFile.model_validate_json(text)
    context = ProfileContext(
        name="test", root=LUOHU, settings=runtime.settings, files=["packs/flood/resources.geojson"]
    )
    resources_section.load(session, context, [document])


def messages_to(session: Session, user: User, template: str) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(
                Message.recipient_user_id == user.id, Message.template == template
            )
        )
    )


@pytest.fixture
def command(runtime: Runtime, client: TestClient, registry: Registry) -> Command:
    with runtime.unit_of_work() as session:
        profiles.load(
            session,
            root=GEO_FIXTURE,
            registry=Registry((registry.by_name("geo"),)),
            settings=runtime.settings,
        )
        register_definition(
            session, WorkflowDef.model_validate(yaml.safe_load(TASK_WORKFLOW.read_text("utf-8")))
        )
        units = {}
        for code in UNITS:
            unit = Department(code=code, name_zh=code, name_en=code, kind="bureau")
            session.add(unit)
            session.flush()
            units[code] = unit.id
        load_plans(session, runtime)
        plans = ["plans.read", "plans.run", "plans.warnings.post", *INBOX]
        users = {
            "duty": create_user(session, "pl-duty", Assign("duty-officer", Scope.DISTRICT, plans)),
            "leader": create_user(
                session,
                "pl-leader",
                Assign(
                    "district-leader",
                    Scope.DISTRICT,
                    ["plans.read", "ioc.read", "ioc.reports.read"],
                ),
            ),
            "water": create_user(
                session,
                "pl-water",
                Assign(
                    "handler",
                    Scope.JURISDICTION,
                    ["plans.read", "files.upload", *INBOX],
                    ["440303"],
                    units["water-affairs"],
                ),
            ),
            "urban": create_user(
                session,
                "pl-urban",
                Assign(
                    "handler",
                    Scope.JURISDICTION,
                    ["plans.read", *INBOX],
                    ["440303"],
                    units["urban-management"],
                ),
            ),
            "west": create_user(
                session,
                "pl-west",
                Assign("dispatcher", Scope.JURISDICTION, ["plans.read", "plans.run"], [WEST]),
            ),
        }
        tokens = {
            name: issue_token(session, settings=runtime.settings, user=user)
            for name, user in users.items()
        }
    return Command(runtime, users, tokens)
