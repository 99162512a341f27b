"""Logs are JSON lines with a UTC timestamp and the request id of the request that wrote them."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from cityos.kernel.logs import configure_logging


def test_a_request_logs_json_with_its_request_id(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(level="INFO", json=True)
    try:
        client.get("/api/v1/missing", headers={"X-Request-ID": "req-42"})
        logging.getLogger("cityos.test").info("outside any request")
    finally:
        logging.getLogger().handlers.clear()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    access = next(line for line in lines if line["logger"] == "cityos.access")
    assert access["request_id"] == "req-42"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/api/v1/missing", 404)
    outside = next(line for line in lines if line["message"] == "outside any request")
    assert outside["request_id"] is None
    assert outside["level"] == "INFO"
    assert outside["time"].endswith("Z")
    assert "T" in outside["time"]


def test_the_cli_logs_never_show_an_id_or_mobile_number(capsys: pytest.CaptureFixture[str]) -> None:
    from cityos.cli import _configure_logging
    from cityos.kernel.runtime import Runtime

    class _Settings:
        log_level = "INFO"
        log_json = True

    _configure_logging(Runtime(settings=_Settings(), engine=None, sessions=None, registry=None))  # type: ignore[arg-type]
    try:
        logging.getLogger("cityos.test").info(
            "caller %s, id %s", "13812345678", "11010519491231002X"
        )
    finally:
        logging.getLogger().handlers.clear()
    line = capsys.readouterr().err
    assert "13812345678" not in line
    assert "11010519491231002X" not in line
    assert "138****5678" in line
