"""What the browser tests share: viewports, whether the pages are built, a watcher for
anything a visitor would count as broken, and signing in through the real sign-in page."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, Request, Response, expect

WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
UNBUILT = [
    name
    for name in ("ioc", "portal", "workbench")
    if not (WEB_DIST / name / "index.html").is_file()
]

DESKTOP = {"width": 1440, "height": 900}
BIG_SCREEN = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}


class PageProblems:
    """Everything a visitor would count as broken: console errors, crashes, failed requests."""

    def __init__(self, page: Page) -> None:
        self.items: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.items.append(f"page error: {error}"))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.items.append(f"console {message.type}: {message.text}")

    def _on_request_failed(self, request: Request) -> None:
        # A read the browser itself cancels is not a failure a visitor sees: leaving or
        # reloading a page cuts its event stream, a favicon fetch and whatever pages of a
        # list were still loading (the IOC reads 1,700 devices 200 at a time). A cancelled
        # write would be, so only GETs are let through.
        if "ERR_ABORTED" in str(request.failure) and request.method == "GET":
            return
        self.items.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.items.append(f"HTTP {response.status}: {response.request.method} {response.url}")


SIGN_IN_PAGE = re.compile(r"/oidc/login")


def sign_in(page: Page, *, username: str, password: str) -> None:
    """Sign in on the provider's own page (the browser is on it), as a person would."""
    expect(page).to_have_url(SIGN_IN_PAGE)
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(password)
    # Demo mode asks no second factor (the provider asks for one in production only).
    page.locator('form:has(input[name="password"]) [type="submit"]').click()


def open_signed_in(page: Page, url: str, *, username: str, password: str) -> None:
    """Open ``url`` on a page that needs sign-in: through the sign-in page and back to it."""
    page.goto(url)
    sign_in(page, username=username, password=password)
    page_root = url.split("#", 1)[0]
    page.wait_for_url(lambda current: current.startswith(page_root) and "code=" not in current)
