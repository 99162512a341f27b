"""One case round the loop in real chromium, each step by the person whose job it is, in the
UI: a citizen reports it on the portal, the 12345 operator registers and dispatches it, the
water unit signs for it and handles it, the Dongmen grid inspector verifies it, the operator
calls back, and the citizen sees it closed with the rating."""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import BrowserContext, FilePayload, Page, Request, Response, expect

from tests.e2e.browser import DESKTOP, PHONE, PageProblems, open_signed_in, sign_in

pytestmark = [pytest.mark.e2e]

NewContext = Callable[..., BrowserContext]
DemoPassword = Callable[[str], str]

# Inside 立新社区第1网格 (东门街道, the inspector's grid). Waterlogging there goes to the water
# bureau (routing.yaml: 1505 in 440303003*), the handler demo account's unit.
DONGMEN = {"latitude": 22.554, "longitude": 114.1148}
REPORT = "东门立新路口积水很深，水浸街，车辆无法通行"
WATERLOGGING = "1505"


def _png(width: int = 4, height: int = 4) -> bytes:
    """A small real PNG (a blue square), made here rather than kept as a file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x1d\x4e\xd8" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _photo(name: str) -> FilePayload:
    return {"name": name, "mimeType": "image/png", "buffer": _png()}


def _is_post(path_end: str) -> Callable[[Request], bool]:
    """A POST to a path that ends in `path_end`."""
    return lambda request: (
        request.method == "POST" and urlparse(request.url).path.endswith(path_end)
    )


def _is_upload(response: Response) -> bool:
    return _is_post("/api/v1/files")(response.request)


def _sent_photo(upload: Response, action: Request, kind: str) -> None:
    """The photo was stored (201, its hash) and the action named it by that hash."""
    assert upload.status == 201, upload.text()
    stored = upload.json()
    assert stored["sha256"] == hashlib.sha256(_png()).hexdigest()
    assert stored["content_type"] == "image/png"
    body = action.post_data_json
    assert body is not None
    assert body["attachments"] == [{"kind": kind, "sha256": stored["sha256"]}]


def _open_case(page: Page, desk: str, number: str) -> None:
    """Open the case from a workbench desk's list into the drawer."""
    page.get_by_role("navigation", name="主导航").locator(f'[data-nav="{desk}"]').click()
    row = page.get_by_test_id(f"desk-{desk}").locator(f'tr[data-case="{number}"]')
    expect(row).to_be_visible()
    row.get_by_test_id("open-case").click()
    expect(page.get_by_test_id("case-drawer")).to_be_visible()


def _act(page: Page, action: str) -> None:
    page.get_by_test_id("case-drawer").locator(f'[data-action="{action}"]').click()


def _confirm(page: Page) -> None:
    page.get_by_test_id("action-submit").click()
    expect(page.get_by_test_id("action-done")).to_be_visible()


def _close_drawer(page: Page) -> None:
    page.get_by_test_id("drawer-close").click()
    expect(page.get_by_test_id("case-drawer")).to_have_count(0)


def test_a_citizen_report_goes_round_the_loop_to_the_rating(
    live_server: str, new_context: NewContext, demo_password: DemoPassword, screenshot_dir: Path
) -> None:
    # The citizen, on a phone that lets the portal know where it is.
    citizen = new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        geolocation=DONGMEN,
        permissions=["geolocation"],
    ).new_page()
    citizen_problems = PageProblems(citizen)
    citizen.goto(f"{live_server}/portal/#/report")
    citizen.get_by_test_id("report-guest").get_by_role("button", name="登录").tap()
    sign_in(citizen, username="citizen", password=demo_password("citizen"))
    form = citizen.get_by_test_id("report-form")
    expect(form).to_be_visible()

    form.get_by_test_id("photo-input").set_input_files(_photo("scene.png"))
    expect(form.get_by_test_id("photo-preview")).to_contain_text("scene.png")
    form.get_by_test_id("use-gps").tap()
    expect(form.get_by_test_id("point-chain")).to_contain_text("东门街道")
    form.locator('textarea[name="description"]').fill(REPORT)
    form.get_by_text("投诉", exact=True).tap()
    citizen.screenshot(path=screenshot_dir / "portal-report-form.png", full_page=True)
    with (
        citizen.expect_response(_is_upload) as upload,
        citizen.expect_request(_is_post("/api/v1/cases")) as report,
    ):
        form.get_by_test_id("report-submit").tap()
    _sent_photo(upload.value, report.value, "photo")

    done = citizen.get_by_test_id("report-done")
    expect(done).to_be_visible()
    number = citizen.get_by_test_id("report-number").inner_text()
    assert re.fullmatch(r"LH\d{14}", number), number
    expect(citizen.get_by_test_id("report-status")).to_have_text("待立案")
    expect(citizen.get_by_test_id("report-suggested")).to_have_text(f"{WATERLOGGING} 内涝积水")
    citizen.screenshot(path=screenshot_dir / "portal-report-done.png")

    # The 12345 operator registers it with the suggested category and dispatches it by the rules.
    operator = new_context(viewport=DESKTOP).new_page()
    open_signed_in(
        operator,
        f"{live_server}/workbench/#dispatch",
        username="operator",
        password=demo_password("operator"),
    )
    operator_problems = PageProblems(operator)
    _open_case(operator, "dispatch", number)
    _act(operator, "register")
    expect(operator.locator('input[name="data.category"]')).to_have_value(WATERLOGGING)
    expect(operator.get_by_test_id("category-name")).to_have_text("内涝积水")
    _confirm(operator)
    expect(operator.get_by_test_id("case-status")).to_have_text("待派遣")
    _act(operator, "dispatch")
    _confirm(operator)
    expect(operator.get_by_test_id("case-status")).to_have_text("待签收")
    expect(operator.get_by_test_id("case-department")).to_have_text("water-affairs")
    operator.screenshot(path=screenshot_dir / "workbench-dispatch.png")
    _close_drawer(operator)

    # The water bureau's handler signs for it and reports it handled, with a photo.
    handler = new_context(viewport=DESKTOP).new_page()
    open_signed_in(
        handler,
        f"{live_server}/workbench/#handling",
        username="handler",
        password=demo_password("handler"),
    )
    handler_problems = PageProblems(handler)
    _open_case(handler, "handling", number)
    _act(handler, "sign")
    _confirm(handler)
    expect(handler.get_by_test_id("case-status")).to_have_text("处置中")
    _act(handler, "resolve")
    handler.get_by_test_id("action-form").get_by_test_id("photo-input").set_input_files(
        _photo("after.png")
    )
    handler.locator('textarea[name="comment"]').fill("已抽排积水，路面恢复通行")
    handler.screenshot(path=screenshot_dir / "workbench-resolve.png")
    with (
        handler.expect_response(_is_upload) as upload,
        handler.expect_request(_is_post("/actions/resolve")) as resolve,
    ):
        _confirm(handler)
    _sent_photo(upload.value, resolve.value, "photo_after")
    expect(handler.get_by_test_id("case-status")).to_have_text("待核查")

    # The Dongmen grid inspector verifies the work.
    inspector = new_context(viewport=DESKTOP).new_page()
    open_signed_in(
        inspector,
        f"{live_server}/workbench/#verify",
        username="inspector",
        password=demo_password("inspector"),
    )
    inspector_problems = PageProblems(inspector)
    _open_case(inspector, "verify", number)
    _act(inspector, "verify_pass")
    _confirm(inspector)
    expect(inspector.get_by_test_id("case-status")).to_have_text("待回访")

    # The operator calls the citizen back: very satisfied.
    _open_case(operator, "callback", number)
    _act(operator, "call_back")
    operator.get_by_text("5 · 非常满意").click()
    _confirm(operator)
    expect(operator.get_by_test_id("case-status")).to_have_text("已结案")
    expect(operator.get_by_test_id("case-satisfaction")).to_have_text("非常满意")

    # The citizen sees it closed, with the progress and the rating.
    citizen.get_by_test_id("to-reports").tap()
    item = citizen.locator(f'[data-case="{number}"]')
    expect(item.get_by_test_id("report-status")).to_have_text("已结案")
    item.get_by_role("button").first.tap()
    detail = item.get_by_test_id("report-detail")
    expect(detail.get_by_test_id("report-rating")).to_contain_text("非常满意")
    steps = detail.get_by_test_id("case-timeline").locator("li")
    expect(steps).to_have_count(7)
    expect(steps.last).to_contain_text("回访结案")
    citizen.screenshot(path=screenshot_dir / "portal-reports-closed.png", full_page=True)

    for page in (citizen, operator, handler, inspector):
        page.wait_for_load_state("networkidle")
    problems = [
        *citizen_problems.items,
        *operator_problems.items,
        *handler_problems.items,
        *inspector_problems.items,
    ]
    assert problems == []
