"""The workbench's 审计日志 page in a real browser: the admin's own sign-in is on the trail,
and the trail's hash chain verifies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e.browser import DESKTOP, PageProblems, open_signed_in

pytestmark = [pytest.mark.e2e]

NewContext = Callable[..., BrowserContext]


def test_admin_reads_and_verifies_the_audit_trail(
    live_server: str,
    new_context: NewContext,
    demo_password: Callable[[str], str],
    screenshot_dir: Path,
) -> None:
    page = new_context(viewport=DESKTOP).new_page()
    problems = PageProblems(page)
    open_signed_in(
        page, f"{live_server}/workbench/", username="admin", password=demo_password("admin")
    )

    navigation = page.get_by_role("navigation", name="主导航")
    navigation.get_by_role("link", name="审计日志").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("审计日志")

    # The admin's own sign-in, just now, labelled as a 登录 of the 登录认证 family.
    table = page.get_by_test_id("audit-table")
    sign_ins = table.locator('tbody tr[data-action="auth.sign_in"]').filter(has_text="admin")
    expect(sign_ins.first).to_be_visible()
    expect(sign_ins.first).to_contain_text("登录认证")
    expect(sign_ins.first).to_contain_text("成功")

    # The family filter narrows the list to sign-in records.
    page.locator('select[name="family"]').select_option("auth")
    page.get_by_test_id("audit-search").click()
    expect(table.locator("tbody tr[data-action]").first).to_be_visible()
    actions = table.locator("tbody tr[data-action]").evaluate_all(
        "rows => rows.map(row => row.dataset.action)"
    )
    assert actions
    assert all(action.startswith("auth.") for action in actions), actions

    page.get_by_test_id("audit-verify").click()
    result = page.get_by_test_id("audit-verify-result")
    expect(result).to_have_attribute("data-ok", "true")
    expect(result).to_contain_text("审计链完整，共")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshot_dir / "workbench-audit.png")
    assert problems.items == []
