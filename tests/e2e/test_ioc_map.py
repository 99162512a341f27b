"""The IOC's district map in real headless chromium: the Luohu profile's devices as
markers coloured by status, the type filter, the legend and a device's card, and a new
alarm reaching the screen without a reload."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect
from sqlalchemy import select

from cityos.foundation.identity.models import User
from cityos.foundation.identity.tokens import issue_token
from cityos.kernel.db import make_engine, make_sessionmaker
from tests.e2e.browser import BIG_SCREEN, PageProblems, open_signed_in
from tests.e2e.conftest import LiveCityOS

pytestmark = [pytest.mark.e2e]

NewContext = Callable[..., BrowserContext]
DemoPassword = Callable[[str], str]
# The IOC's duty officer watches the big screen.
ACCOUNT = "duty"
# The Luohu profile's packs place this many devices, each with a point location.
PROFILE_DEVICES = 1700


def _token(live: LiveCityOS, username: str) -> str:
    """A bearer token of a demo account, issued as ``cityos auth token`` would."""
    engine = make_engine(live.settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            token = issue_token(session, settings=live.settings, user=user)
            session.commit()
            return token
    finally:
        engine.dispose()


def _smoke(live: LiveCityOS, device: str) -> None:
    """A smoke detector sounding, posted to the ingest API as a gateway would."""
    body = {
        "devices": [
            {
                "device": device,
                "observations": [
                    {"property": "smoke", "time": datetime.now(UTC).isoformat(), "value": True}
                ],
            }
        ]
    }
    request = urllib.request.Request(
        f"{live.url}/api/v1/telemetry/ingest",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {_token(live, 'data')}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.loads(answer.read())["stored"] == 1


def test_ioc_map_shows_the_devices_of_the_profile(
    live_server: str,
    live_cityos: LiveCityOS,
    new_context: NewContext,
    demo_password: DemoPassword,
    screenshot_dir: Path,
) -> None:
    page = new_context(viewport=BIG_SCREEN).new_page()
    open_signed_in(page, f"{live_server}/ioc/", username=ACCOUNT, password=demo_password(ACCOUNT))
    problems = PageProblems(page)

    # Every device of the profile is a marker; none has reported yet, so none is online.
    markers = page.locator("[data-testid='ioc-map'] path.ioc-device")
    expect(markers).to_have_count(PROFILE_DEVICES, timeout=20_000)
    expect(page.get_by_test_id("ioc-device-total")).to_have_text("1,700")
    expect(page.get_by_test_id("ioc-status-online")).to_have_text("0")
    expect(page.locator("[data-testid='ioc-map'] path.ioc-district")).to_have_count(1)
    expect(page.get_by_test_id("ioc-legend")).to_contain_text("设备状态")
    expect(page.get_by_test_id("ioc-live")).to_have_attribute("data-state", "open")
    page.screenshot(path=screenshot_dir / "ioc-map-zh-CN.png")

    # Switching a type off takes its markers off the map.
    smoke = page.locator("[data-testid='ioc-type-filter'] [data-type='smoke-detector']")
    expect(smoke).to_contain_text("独立式烟感探测器")
    count = int(smoke.locator(".ioc-chip__count").inner_text().replace(",", ""))
    smoke.click()
    expect(smoke).to_have_attribute("aria-pressed", "false")
    expect(markers).to_have_count(PROFILE_DEVICES - count)

    # A device's card: its name, code and latest values.
    first = markers.first
    code = first.get_attribute("data-code")
    assert code
    # Markers overlap where devices stand close; the event goes to this one exactly.
    first.dispatch_event("click")
    card = page.get_by_test_id("ioc-device-card")
    expect(card).to_be_visible()
    expect(card).to_contain_text(code)
    expect(card.locator("[data-stream]").first).to_be_visible()

    # A detector sounds: its alarm reaches the screen over the live feed, no reload.
    alarms = page.locator("li.ioc-alarm-item", has_text="SD-0007")
    expect(alarms).to_have_count(0)
    _smoke(live_cityos, "SD-0007")
    expect(alarms).to_have_count(1, timeout=10_000)
    expect(alarms).to_have_attribute("data-severity", "critical")

    assert problems.items == []
