"""Real-browser fixtures: a live ``cityos serve`` on a free port and Debian's chromium.

The server runs on a throw-away SQLite database with the Luohu profile loaded, and serves
the built pages from ``web/dist`` (``make`` builds them before the tests run).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cityos.foundation.identity.service import demo_password as derive_demo_password
from cityos.settings import Mode, Settings
from tests.e2e.browser import UNBUILT, WEB_DIST

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _cityos(*args: str, env: dict[str, str], log: Path) -> None:
    """Run one ``cityos`` command to completion, failing the set-up with its output."""
    result = subprocess.run(
        [sys.executable, "-m", "cityos.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    log.write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        pytest.fail(f"`cityos {' '.join(args)}` failed:\n{result.stdout}{result.stderr}")


def _wait_until_healthy(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"cityos serve exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(
        f"cityos serve did not answer /healthz in {STARTUP_TIMEOUT_S:.0f} s:\n{log.read_text()}"
    )


@dataclass(frozen=True)
class LiveCityOS:
    """A running ``cityos serve``: its base URL and the settings it was started with."""

    url: str
    settings: Settings


@pytest.fixture(scope="session")
def live_cityos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCityOS]:
    """A ``cityos serve`` process started for this test session."""
    if UNBUILT:
        # A failure, not a skip: a browser suite that quietly skips proves nothing.
        pytest.fail(f"web/dist is not built ({', '.join(UNBUILT)} missing): run `make web`")
    workdir = tmp_path_factory.mktemp("live-server")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CITYOS_MODE": "demo",
        "CITYOS_DATABASE_URL": f"sqlite:///{workdir / 'e2e.db'}",
        "CITYOS_DATA_DIR": str(workdir),
        "CITYOS_WEB_DIST": str(WEB_DIST),
        "CITYOS_LOG_JSON": "false",
        # The provider names itself by the address the browser uses.
        "CITYOS_ISSUER": base_url,
    }
    # `serve` refuses a database that is not migrated; the pages need the district loaded.
    _cityos("db", "upgrade", env=env, log=workdir / "db-upgrade.log")
    profile = env.get("CITYOS_PROFILE", "luohu")
    _cityos("profile", "load", profile, env=env, log=workdir / "profile-load.log")

    log = workdir / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cityos.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=REPO,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    # The same settings as the server (the rest comes from this process's environment, as
    # the server's did), so demo passwords derive from the same demo secret.
    settings = Settings(
        mode=Mode.DEMO,
        database_url=env["CITYOS_DATABASE_URL"],
        data_dir=workdir,
        issuer=base_url,
    )
    try:
        _wait_until_healthy(base_url, server, log)
        yield LiveCityOS(url=base_url, settings=settings)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


@pytest.fixture(scope="session")
def live_server(live_cityos: LiveCityOS) -> str:
    """Base URL of the session's ``cityos serve``."""
    return live_cityos.url


@pytest.fixture(scope="session")
def demo_password(live_cityos: LiveCityOS) -> Callable[[str], str]:
    """The live server's demo password of a demo account, by username."""
    return lambda username: derive_demo_password(live_cityos.settings, username)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's chromium; Playwright's own browser builds are never downloaded."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A visitor in Shenzhen whose browser prefers Chinese."""
    return {
        **browser_context_args,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "service_workers": "block",
    }


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``CITYOS_E2E_SCREENSHOTS`` if set, else a pytest tmp folder."""
    configured = os.environ.get("CITYOS_E2E_SCREENSHOTS")
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")
