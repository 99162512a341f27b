"""The workbench map section in real headless chromium against a live ``cityos serve``."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.browser import DESKTOP, PageProblems, open_signed_in

pytestmark = [pytest.mark.e2e]

NewContext = Callable[..., BrowserContext]
DemoPassword = Callable[[str], str]
# The map is for any official: a case handler will do.
ACCOUNT = "handler"
SUBDISTRICT_COUNT = 10
MATCHED_ADDRESS = "人民南路3002号国际贸易中心大厦A座"
OUTSIDE_ADDRESS = "福田区深南大道6008号"


def _geocode(page: Page, address: str) -> None:
    page.get_by_test_id("geocode-input").fill(address)
    page.get_by_test_id("geocode-submit").click()
    expect(page.get_by_test_id("geocode-result")).to_be_visible()


def test_geo_page_draws_the_district_and_geocodes(
    live_server: str, new_context: NewContext, demo_password: DemoPassword, screenshot_dir: Path
) -> None:
    page = new_context(viewport=DESKTOP).new_page()
    open_signed_in(
        page, f"{live_server}/workbench/#geo", username=ACCOUNT, password=demo_password(ACCOUNT)
    )
    problems = PageProblems(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("地图")
    navigation = page.get_by_role("navigation", name="主导航")
    expect(navigation.get_by_role("link", name="地图")).to_have_attribute("aria-current", "page")

    # The subdistricts are drawn from our own API as SVG paths, with their names on the map.
    subdistricts = page.locator(".geo-map path.geo-subdistrict")
    expect(subdistricts).to_have_count(SUBDISTRICT_COUNT)
    expect(page.locator(".geo-map path.geo-district")).to_have_count(1)
    expect(page.locator(".geo-map .geo-label--subdistrict", has_text="东门街道")).to_be_visible()
    expect(page.get_by_test_id("synthetic-notice")).to_contain_text("边界为模拟数据")
    expect(page.get_by_test_id("geo-map")).to_have_attribute("data-ready", "true")
    # No base tiles: every request stays on our own server.
    assert page.locator(".leaflet-tile").count() == 0
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshot_dir / "workbench-geo-zh-CN.png")

    # A known address: matched, with a confidence, the chain and a pin on the map.
    _geocode(page, MATCHED_ADDRESS)
    result = page.get_by_test_id("geocode-result")
    expect(result).to_have_attribute("data-status", "matched")
    expect(page.get_by_test_id("geocode-status")).to_have_text("已匹配")
    expect(page.get_by_test_id("geocode-confidence")).to_have_text(re.compile(r"置信度 \d{1,3}%"))
    expect(page.get_by_test_id("geocode-address")).to_contain_text("国际贸易中心大厦A座")
    chain = page.get_by_test_id("geocode-chain")
    expect(chain).to_contain_text("东门街道")
    expect(chain).to_contain_text("罗湖区")
    expect(chain.locator("[data-level=grid]")).to_contain_text("网格")
    expect(page.locator(".geo-map path.geo-pin--match")).to_have_count(1)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshot_dir / "workbench-geo-matched.png")

    # An address in another district is not found, and says why.
    _geocode(page, OUTSIDE_ADDRESS)
    expect(result).to_have_attribute("data-status", "not_found")
    expect(page.get_by_test_id("geocode-status")).to_have_text("未找到")
    expect(page.get_by_test_id("geocode-detail")).to_contain_text("福田区")
    expect(page.locator(".geo-map path.geo-pin--match")).to_have_count(0)

    # The region tree opens lazily down to a community, which the map outlines.
    tree = page.get_by_test_id("region-tree")
    dongmen = tree.locator('[data-level="subdistrict"]', has_text="东门街道")
    dongmen.get_by_test_id("tree-toggle").first.click()
    expect(dongmen).to_have_attribute("aria-expanded", "true")
    community = dongmen.locator('[data-level="community"]').first
    expect(community).to_be_visible()
    community_name = community.get_by_test_id("tree-name").first.inner_text()
    community.get_by_test_id("tree-name").first.click()
    expect(community).to_have_attribute("aria-selected", "true")
    expect(page.locator(".geo-map path.geo-highlight")).to_have_count(1)
    info = page.get_by_test_id("geo-info")
    expect(info).to_contain_text("所选区域")
    info_chain = page.get_by_test_id("geo-info-chain")
    expect(info_chain.locator("[data-level=subdistrict]")).to_contain_text("东门街道")
    expect(info_chain.locator("[data-level=community]")).to_contain_text(community_name)

    # A click on the map says which region that point is in.
    box = page.get_by_test_id("geo-map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(info).to_contain_text("点击位置")
    expect(page.get_by_test_id("geo-info-chain").locator("[data-level=grid]")).to_be_visible()

    # A layer from /collections.
    page.locator('input[data-layer="shelters"]').check()
    expect(page.locator(".geo-map path.geo-point--shelters").first).to_be_attached()
    expect(page.get_by_test_id("synthetic-layers")).to_contain_text("应急避难场所")

    page.get_by_role("button", name="English", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Map")
    expect(tree.get_by_text("Dongmen Subdistrict", exact=True)).to_be_visible()
    expect(page.get_by_test_id("synthetic-boundaries")).to_have_text("Boundaries are synthetic")
    expect(page.get_by_test_id("geocode-status")).to_have_text("Not found")
    expect(page.get_by_test_id("geo-info")).to_contain_text("Dongmen Subdistrict")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshot_dir / "workbench-geo-en.png")

    assert problems.items == []


def test_geo_page_labels_follow_the_language(
    live_server: str, new_context: NewContext, demo_password: DemoPassword, screenshot_dir: Path
) -> None:
    page = new_context(viewport=DESKTOP).new_page()
    open_signed_in(
        page, f"{live_server}/workbench/#/geo", username=ACCOUNT, password=demo_password(ACCOUNT)
    )
    problems = PageProblems(page)
    expect(page.locator(".geo-map path.geo-subdistrict")).to_have_count(SUBDISTRICT_COUNT)

    page.get_by_role("button", name="English", exact=True).click()
    labels = page.locator(".geo-map .geo-label--subdistrict")
    expect(labels.filter(has_text="Dongmen Subdistrict")).to_be_visible()
    expect(labels.filter(has_text="东门街道")).to_have_count(0)

    # The grid toggle draws every grid boundary at the district view, loaded once.
    grid_requests: list[str] = []
    page.on(
        "request",
        lambda request: grid_requests.append(request.url) if "level=grid" in request.url else None,
    )
    page.locator('input[data-layer="grids"]').check()
    expect(page.locator(".geo-map path.geo-grid").first).to_be_attached()
    assert page.locator(".geo-map path.geo-grid").count() > 1000
    page.locator('input[data-layer="grids"]').uncheck()
    expect(page.locator(".geo-map path.geo-grid")).to_have_count(0)
    page.locator('input[data-layer="grids"]').check()
    expect(page.locator(".geo-map path.geo-grid").first).to_be_attached()
    assert len(grid_requests) == 1
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshot_dir / "workbench-geo-grids-en.png")

    assert problems.items == []
