"""The three web pages in real headless chromium against a live ``cityos serve``."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.e2e.browser import BIG_SCREEN, DESKTOP, PHONE, SIGN_IN_PAGE, PageProblems, open_signed_in

pytestmark = [pytest.mark.e2e]

NewContext = Callable[..., BrowserContext]
DemoPassword = Callable[[str], str]

# Who signs in to the pages that need it: the IOC's duty officer, and on the workbench the
# data officer, who reads (but cannot change) users, departments and roles.
IOC_ACCOUNT = "duty"
WORKBENCH_ACCOUNT = "data"


@dataclass(frozen=True)
class PageCase:
    name: str
    path: str
    viewport: dict[str, int]
    title: dict[str, str]
    heading: dict[str, str]
    texts: dict[str, list[str]]
    # The demo account that signs in; None for a page open to everyone.
    account: str | None
    # A page holding a live event stream open never goes network-idle: it is settled once
    # its stream is open.
    live: bool = False


PAGES = [
    PageCase(
        name="ioc",
        path="/ioc/",
        viewport=BIG_SCREEN,
        title={
            "zh-CN": "罗湖区智能运营中心 (IOC)",
            "en": "Luohu Intelligent Operations Center (IOC)",
        },
        heading={
            "zh-CN": "罗湖区智能运营中心 (IOC)",
            "en": "Luohu District Intelligent Operations Center (IOC)",
        },
        texts={
            "zh-CN": ["云上新城，智享罗湖", "罗湖区全域态势", "北京时间"],
            "en": [
                "A new city in the cloud, a smarter Luohu",
                "Luohu District Overview",
                "Beijing Time",
            ],
        },
        account=IOC_ACCOUNT,
        live=True,
    ),
    PageCase(
        name="portal",
        path="/portal/",
        viewport=DESKTOP,
        title={"zh-CN": "i罗湖", "en": "iLuohu"},
        heading={"zh-CN": "i罗湖", "en": "iLuohu"},
        texts={
            "zh-CN": ["随手拍", "办事服务", "我的办件", "首页", "办事", "我的"],
            "en": ["Report a problem", "Government services", "My applications", "Home", "Me"],
        },
        account=None,
    ),
    PageCase(
        name="workbench",
        path="/workbench/",
        viewport=DESKTOP,
        title={"zh-CN": "罗湖区数字政府工作台", "en": "Luohu Government Workbench"},
        heading={"zh-CN": "待办", "en": "Inbox"},
        texts={
            "zh-CN": [
                "罗湖区数字政府工作台",
                "案件",
                "数据目录",
                "系统管理",
                "用户管理",
                "暂无待办",
                "退出",
            ],
            "en": [
                "Cases",
                "Data catalogue",
                "Administration",
                "Users",
                "Nothing to do",
                "Sign out",
            ],
        },
        account=WORKBENCH_ACCOUNT,
    ),
]


def _meta(live_server: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{live_server}/api/v1/meta", timeout=5) as answer:
        body: dict[str, Any] = json.load(answer)
        return body


def _open(page: Page, url: str, account: str | None, demo_password: DemoPassword) -> None:
    """Open a page, signing in through the provider first when it needs an account."""
    if account is None:
        page.goto(url)
    else:
        open_signed_in(page, url, username=account, password=demo_password(account))


def _check_locale(page: Page, case: PageCase, locale: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", locale)
    expect(page).to_have_title(case.title[locale])
    expect(page.get_by_role("heading", level=1)).to_have_text(case.heading[locale])
    for text in case.texts[locale]:
        expect(page.get_by_text(text, exact=True).first).to_be_visible()


def _settle(page: Page, case: PageCase) -> None:
    if case.live:
        expect(page.get_by_test_id("ioc-live")).to_have_attribute("data-state", "open")
    else:
        page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("case", PAGES, ids=[case.name for case in PAGES])
def test_page_loads_in_chinese_and_switches_to_english(
    case: PageCase,
    live_server: str,
    new_context: NewContext,
    demo_password: DemoPassword,
    screenshot_dir: Path,
) -> None:
    page = new_context(viewport=case.viewport).new_page()
    # Watched from the signed-in page on: the trip to the provider cuts off the first load.
    _open(page, f"{live_server}{case.path}", case.account, demo_password)
    problems = PageProblems(page)
    _check_locale(page, case, "zh-CN")
    _settle(page, case)
    page.screenshot(path=screenshot_dir / f"{case.name}-zh-CN.png")

    page.get_by_role("button", name="English", exact=True).click()
    _check_locale(page, case, "en")
    page.screenshot(path=screenshot_dir / f"{case.name}-en.png")

    page.reload()
    _check_locale(page, case, "en")
    _settle(page, case)

    assert problems.items == []


def test_ioc_status_line_shows_the_platform_meta(
    live_server: str, new_context: NewContext, demo_password: DemoPassword
) -> None:
    meta = _meta(live_server)
    page = new_context(viewport=BIG_SCREEN).new_page()
    _open(page, f"{live_server}/ioc/", IOC_ACCOUNT, demo_password)

    status = page.get_by_test_id("ioc-status")
    expect(status).to_have_attribute("data-state", "ok")
    expect(page.get_by_test_id("ioc-district")).to_have_text(meta["name"]["zh"])
    expect(page.get_by_test_id("ioc-mode")).to_have_text("演示模式")
    expect(status).to_contain_text(f"版本 {meta['version']}")
    expect(page.get_by_test_id("ioc-clock")).to_have_text(re.compile(r"^\d{2}:\d{2}:\d{2}$"))

    page.get_by_role("button", name="English", exact=True).click()
    expect(page.get_by_test_id("ioc-district")).to_have_text(meta["name"]["en"])
    expect(page.get_by_test_id("ioc-mode")).to_have_text("Demo mode")


def test_ioc_shows_an_error_when_the_platform_is_unreachable(
    live_server: str, new_context: NewContext, demo_password: DemoPassword, screenshot_dir: Path
) -> None:
    page = new_context(viewport=BIG_SCREEN).new_page()
    page.route("**/api/v1/meta", lambda route: route.abort("connectionrefused"))
    _open(page, f"{live_server}/ioc/", IOC_ACCOUNT, demo_password)

    status = page.get_by_test_id("ioc-status")
    expect(status).to_have_attribute("data-state", "error")
    expect(status).to_contain_text("无法连接平台服务")
    expect(page.get_by_test_id("ioc-status-error")).to_have_text("网络连接失败")
    page.screenshot(path=screenshot_dir / "ioc-unreachable.png")


def test_ioc_fits_a_smaller_screen_without_scrolling(
    live_server: str, new_context: NewContext, demo_password: DemoPassword, screenshot_dir: Path
) -> None:
    page = new_context(viewport={"width": 1366, "height": 768}).new_page()
    _open(page, f"{live_server}/ioc/", IOC_ACCOUNT, demo_password)
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    stage = page.locator(".ioc-stage").bounding_box()
    assert stage is not None
    assert stage["width"] <= 1366 + 0.5
    assert stage["height"] <= 768 + 0.5
    assert abs(stage["width"] / stage["height"] - 16 / 9) < 0.01
    overflow = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert overflow == [1366, 768]
    page.screenshot(path=screenshot_dir / "ioc-1366x768.png")


def test_workbench_shows_the_calendar_warnings_of_the_platform(
    live_server: str, new_context: NewContext, demo_password: DemoPassword
) -> None:
    warnings = _meta(live_server)["calendar_warnings"]
    page = new_context(viewport=DESKTOP).new_page()
    _open(page, f"{live_server}/workbench/", WORKBENCH_ACCOUNT, demo_password)
    expect(page.get_by_role("heading", level=1)).to_have_text("待办")
    page.wait_for_load_state("networkidle")

    banner = page.get_by_test_id("calendar-warnings")
    if warnings:
        expect(banner).to_be_visible()
        expect(banner.get_by_role("listitem")).to_have_text(warnings)
    else:
        expect(banner).to_have_count(0)


def test_workbench_banner_appears_for_an_unknown_year(
    live_server: str, new_context: NewContext, demo_password: DemoPassword, screenshot_dir: Path
) -> None:
    warning = "2031 年节假日安排未配置，按周末计算 / Holidays for 2031 are not configured"

    def add_warning(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        body["calendar_warnings"] = [warning]
        route.fulfill(response=answer, json=body)

    page = new_context(viewport=DESKTOP).new_page()
    page.route("**/api/v1/meta", add_warning)
    _open(page, f"{live_server}/workbench/", WORKBENCH_ACCOUNT, demo_password)

    banner = page.get_by_test_id("calendar-warnings")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("工作日历提醒")
    expect(banner).to_contain_text(warning)
    page.screenshot(path=screenshot_dir / "workbench-calendar-warning.png")


def test_workbench_navigation_reaches_every_section(
    live_server: str, new_context: NewContext, demo_password: DemoPassword
) -> None:
    page = new_context(viewport=DESKTOP).new_page()
    _open(page, f"{live_server}/workbench/", WORKBENCH_ACCOUNT, demo_password)
    problems = PageProblems(page)
    navigation = page.get_by_role("navigation", name="主导航")
    for label, notice in (
        ("案件", "案件管理将随城区社会事件系统在后续版本上线。"),
        ("数据目录", "数据资源目录将随一库共享在后续版本上线。"),
    ):
        navigation.get_by_role("link", name=label).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(label)
        expect(page.get_by_text(notice)).to_be_visible()
    for label, section in (
        ("用户管理", "admin-users"),
        ("部门管理", "admin-departments"),
        ("角色与权限", "admin-roles"),
    ):
        navigation.get_by_role("link", name=label).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(label)
        expect(page.get_by_test_id(section)).to_be_visible()
    navigation.get_by_role("link", name="待办").click()
    expect(page.get_by_test_id("inbox-empty")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert problems.items == []

    # Signing out ends the provider's session too: the workbench asks for sign-in again.
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(SIGN_IN_PAGE)
    expect(page.locator('input[name="username"]')).to_be_visible()


def test_portal_works_on_a_phone(
    live_server: str, new_context: NewContext, screenshot_dir: Path
) -> None:
    context = new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    problems = PageProblems(page)
    page.goto(f"{live_server}/portal/")

    expect(page.get_by_role("heading", level=1)).to_have_text("i罗湖")
    tabs = page.locator(".portal-tabs")
    expect(tabs).to_be_in_viewport()
    box = tabs.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] == pytest.approx(PHONE["height"], abs=1)
    assert box["width"] == pytest.approx(PHONE["width"], abs=1)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=screenshot_dir / "portal-phone-home.png")

    page.get_by_role("link", name="随手拍").tap()
    expect(page).to_have_url(f"{live_server}/portal/#/report")
    # 随手拍 asks a visitor to sign in first.
    expect(page.get_by_test_id("report-guest")).to_contain_text("登录后即可拍照上报城市问题")
    page.screenshot(path=screenshot_dir / "portal-phone-report.png")

    # 办事 opens the service guide: the Luohu profile's (demo) catalogue, open to visitors.
    tabs.get_by_role("link", name="办事").tap()
    expect(page.get_by_test_id("services")).to_be_visible()
    expect(page.get_by_text("食品经营许可证核发").first).to_be_visible()
    expect(tabs.get_by_role("link", name="办事")).to_have_attribute("aria-current", "page")

    tabs.get_by_role("link", name="我的").tap()
    expect(page.get_by_text("您尚未登录")).to_be_visible()
    page.get_by_role("link", name="我的办件").tap()
    expect(page.get_by_text("我的办件将随一网通办在后续版本上线。")).to_be_visible()

    assert problems.items == []

    # The portal is open to all; 登录 goes to the unified sign-in page, citizens' tab included.
    page.locator(".portal-header").get_by_role("button", name="登录").tap()
    expect(page).to_have_url(SIGN_IN_PAGE)
    expect(page.locator('input[name="username"]')).to_be_visible()
    page.screenshot(path=screenshot_dir / "portal-phone-sign-in.png")
