"""A contingency plan run seen end to end in real headless chromium (issue 7, point 8): the
duty officer starts the rainstorm plan in the workbench, the big screen's plans tile counts
it without a reload, the water unit's handler finds the task in the inbox, and the close
takes it off the screen again."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e.browser import BIG_SCREEN, PageProblems, open_signed_in

pytestmark = [pytest.mark.e2e]

NewContext = Callable[..., BrowserContext]
DemoPassword = Callable[[str], str]


def test_a_plan_started_in_the_workbench_shows_on_the_big_screen_and_in_the_inbox(
    live_server: str, new_context: NewContext, demo_password: DemoPassword, screenshot_dir: Path
) -> None:
    screen = new_context(viewport=BIG_SCREEN).new_page()
    open_signed_in(screen, f"{live_server}/ioc/", username="duty", password=demo_password("duty"))
    screen_problems = PageProblems(screen)
    tile = screen.locator("[data-kpi='plans'] .ioc-kpi__figure")
    expect(tile).to_have_text("0", timeout=20_000)

    desk = new_context().new_page()
    open_signed_in(
        desk, f"{live_server}/workbench/#/plans", username="duty", password=demo_password("duty")
    )
    desk_problems = PageProblems(desk)
    launch = desk.get_by_test_id("plan-launch")
    expect(launch).to_be_visible(timeout=20_000)
    launch.locator("select[name='plan']").select_option("rainstorm")
    launch.locator("select[name='level']").select_option("IV")
    desk.get_by_test_id("plan-launch-submit").click()

    # The command view: the run, its two level IV tasks and its timeline.
    expect(desk).to_have_url(re.compile(r"#/plans/[0-9a-f-]{36}$"))
    expect(desk.get_by_test_id("run-name")).to_contain_text("罗湖区暴雨内涝应急预案")
    tasks = desk.get_by_test_id("run-tasks").locator("tbody tr")
    expect(tasks).to_have_count(2)
    expect(desk.get_by_test_id("run-tasks")).to_contain_text("巡查易涝点并开启监测")
    expect(desk.get_by_test_id("run-timeline")).to_be_visible()
    desk.screenshot(path=screenshot_dir / "plan-run-zh-CN.png", full_page=True)

    # The big screen counts it without a reload.
    expect(tile).to_have_text("1", timeout=15_000)
    screen.screenshot(path=screenshot_dir / "ioc-plans-running.png")

    # The water unit's demo handler has the task in the unified inbox.
    inbox = new_context().new_page()
    open_signed_in(
        inbox,
        f"{live_server}/workbench/#/",
        username="handler",
        password=demo_password("handler"),
    )
    expect(inbox.get_by_text("巡查易涝点并开启监测").first).to_be_visible(timeout=20_000)

    # Closed with its summary, the run leaves the screen's count.
    desk.get_by_test_id("run-close").click()
    form = desk.get_by_test_id("run-form")
    form.locator("textarea").fill("演练结束：易涝点巡查完毕，无积水。")
    desk.get_by_test_id("run-submit").click()
    expect(desk.get_by_test_id("run-status")).to_contain_text("已结束")
    expect(tile).to_have_text("0", timeout=15_000)

    assert screen_problems.items == []
    assert desk_problems.items == []
