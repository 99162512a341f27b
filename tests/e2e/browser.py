"""What the browser tests share: viewports, whether the pages are built, and a watcher
for anything a visitor would count as broken."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, Request, Response

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
        self.items.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.items.append(f"HTTP {response.status}: {response.request.method} {response.url}")
