"""The ASGI application: every module's routers, problem+json errors, probes and web pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from cityos import __version__
from cityos.foundation.privacy import ensure_installed, keyring_installed
from cityos.kernel import migrate
from cityos.kernel.errors import install_error_handlers
from cityos.kernel.http import request_context
from cityos.kernel.i18n import register_messages
from cityos.kernel.runtime import Runtime, build_runtime
from cityos.settings import Settings, get_settings

API_PREFIX = "/api/v1"
WEB_PAGES = ("ioc", "portal", "workbench")
DEFAULT_WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"


def web_dist(settings: Settings) -> Path:
    """Where the built web pages are: configured, or ``web/dist`` of a source checkout."""
    return settings.web_dist or DEFAULT_WEB_DIST


def _mount_web(app: FastAPI, dist: Path) -> None:
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")
    for page in WEB_PAGES:
        if (dist / page / "index.html").is_file():
            app.mount(f"/{page}", StaticFiles(directory=dist / page, html=True), name=page)


def _mount_files(app: FastAPI) -> None:
    """The kernel's file routes behind identity's permissions (the kernel cannot check
    them itself: identity sits above it)."""
    from fastapi import Depends

    from cityos.foundation.identity.authz import require
    from cityos.kernel.files import download_router, upload_router

    app.include_router(
        upload_router, prefix=API_PREFIX, dependencies=[Depends(require("files.upload"))]
    )
    app.include_router(
        download_router, prefix=API_PREFIX, dependencies=[Depends(require("files.read"))]
    )


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    background: bool = False,
) -> FastAPI:
    """Build the app. With ``background`` the process also runs the job worker and outbox relay."""
    settings = settings or (runtime.settings if runtime else get_settings())
    settings.check_production()
    runtime = runtime or build_runtime(settings)
    # Personal-data columns (a citizen's phone) need the key ring before the first request;
    # a database still to be migrated has none to load (``/readyz`` says so).
    if not keyring_installed() and migrate.is_current(runtime.engine, runtime.registry):
        ensure_installed(runtime)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = None
        if background:
            from cityos.kernel.workers import start_workers

            stop = start_workers(runtime)
        try:
            yield
        finally:
            if stop is not None:
                stop()
            feed = getattr(_app.state, "live_feed", None)
            if feed is not None:
                feed.request_stop()

    app = FastAPI(
        title="CityOS 罗湖区数字政府和智慧城市平台",
        version=__version__,
        description="云上新城，智享罗湖 · Open API of the CityOS platform",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.middleware("http")(request_context)
    install_error_handlers(app)
    for module in runtime.registry.modules:
        register_messages(module.messages)
        for router in module.root_routers:
            app.include_router(router)
        for router in module.routers:
            app.include_router(router, prefix=API_PREFIX)

    _mount_files(app)

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/portal/")

    _mount_web(app, web_dist(settings))
    return app
