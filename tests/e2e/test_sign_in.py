"""Signing in to the workbench through the platform's own OIDC provider, in a real browser."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e.browser import DESKTOP, SIGN_IN_PAGE, PageProblems, sign_in

pytestmark = [pytest.mark.e2e]

NewContext = Callable[..., BrowserContext]


def test_admin_signs_in_and_sees_the_users(
    live_server: str,
    new_context: NewContext,
    demo_password: Callable[[str], str],
    screenshot_dir: Path,
) -> None:
    page = new_context(viewport=DESKTOP).new_page()

    page.goto(f"{live_server}/workbench/")
    expect(page).to_have_url(SIGN_IN_PAGE)
    page.screenshot(path=screenshot_dir / "sign-in-page.png")
    problems = PageProblems(page)
    sign_in(page, username="admin", password=demo_password("admin"))

    # Back on the workbench, with the code gone from the address bar.
    expect(page).to_have_url(f"{live_server}/workbench/")
    expect(page.get_by_test_id("account-name")).to_have_text("平台管理员（演示）")
    expect(page.get_by_role("heading", level=1)).to_have_text("待办")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="用户管理").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("用户管理")
    table = page.get_by_test_id("users-table")
    expect(table.locator('tr[data-username="admin"]')).to_contain_text("平台管理员（演示）")
    expect(table.locator('tr[data-username="inspector"]')).to_contain_text("东门网格员（演示）")
    expect(page.get_by_test_id("users-total")).to_contain_text("个用户")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshot_dir / "workbench-users.png")

    # A reload keeps the tab's session: no second trip to the sign-in page.
    page.reload()
    expect(page.get_by_test_id("users-table").locator('tr[data-username="admin"]')).to_be_visible()
    expect(page).to_have_url(f"{live_server}/workbench/#/users")

    navigation = page.get_by_role("navigation", name="主导航")
    navigation.get_by_role("link", name="部门管理").click()
    tree = page.get_by_test_id("department-tree")
    expect(tree.locator('[data-code="luohu-government"]').first).to_contain_text("罗湖区人民政府")
    page.screenshot(path=screenshot_dir / "workbench-departments.png")

    navigation.get_by_role("link", name="角色与权限").click()
    admin_role = page.get_by_test_id("roles-table").locator('tr[data-role="platform-admin"]')
    expect(admin_role).to_contain_text("平台管理员")
    expect(admin_role).to_contain_text("全部权限")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshot_dir / "workbench-roles.png")
    assert problems.items == []
