"""The workbench's 考核评价 page in a real browser: the district leader finds it under 统计分析,
sees this month's ranking (or that there is nothing to rank yet), switches the dimension,
and is told plainly when a period makes no sense.

The live server runs ``cityos serve`` on a freshly loaded profile, not ``cityos demo``: the
only cases are those other browser tests reported, so both outcomes are accepted for the
current month, and a year long past is always empty.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e.browser import DESKTOP, PageProblems, open_signed_in

pytestmark = [pytest.mark.e2e]

NewContext = Callable[..., BrowserContext]


def test_leader_reads_the_evaluation_ranking(
    live_server: str,
    new_context: NewContext,
    demo_password: Callable[[str], str],
    screenshot_dir: Path,
) -> None:
    page = new_context(viewport=DESKTOP).new_page()
    problems = PageProblems(page)
    open_signed_in(
        page, f"{live_server}/workbench/", username="leader", password=demo_password("leader")
    )

    navigation = page.get_by_role("navigation", name="主导航")
    expect(navigation.get_by_test_id("nav-analysis")).to_have_text("统计分析")
    navigation.get_by_role("link", name="考核评价").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("考核评价")

    view = page.get_by_test_id("evaluation")
    table = view.get_by_test_id("evaluation-table")
    empty = view.get_by_test_id("evaluation-empty")
    expect(table.or_(empty)).to_be_visible()
    if table.is_visible():
        # Ranked rows first, best first; the total last.
        first = table.locator("tbody tr").first
        expect(first).to_have_attribute("data-rank", "1")
        expect(table.get_by_test_id("evaluation-total")).to_contain_text("合计")
    else:
        expect(empty).to_have_text("该时段内没有案件。")
    page.screenshot(path=screenshot_dir / "workbench-evaluation.png")

    # Another dimension asks the server again and marks the pressed button.
    with page.expect_response(lambda r: "by=category" in r.url and r.status == 200):
        view.locator('[data-by="category"]').click()
    expect(view.locator('[data-by="category"]')).to_have_attribute("aria-pressed", "true")

    # Nothing was reported in 2020.
    view.get_by_test_id("period-kind").select_option("year")
    view.get_by_test_id("period-year").fill("2020")
    expect(empty).to_have_text("该时段内没有案件。")

    # A range that ends before it starts: the server's 422, said next to the picker.
    view.get_by_test_id("period-kind").select_option("range")
    view.get_by_test_id("period-from").fill("2026-11-30")
    view.get_by_test_id("period-to").fill("2026-10-01")
    expect(view.get_by_test_id("evaluation-error")).to_contain_text("统计周期有误")

    # The 422 is the answer the page expects here, not a problem of the page.
    assert [item for item in problems.items if "422" not in item] == []
