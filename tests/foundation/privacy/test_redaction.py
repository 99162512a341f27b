"""Logs: identity and mobile numbers are masked before any handler writes them."""

from __future__ import annotations

import io
import logging

from pythonjsonlogger.json import JsonFormatter

from cityos.foundation.privacy import PiiRedactingFilter, redact


def _logger(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.addFilter(PiiRedactingFilter())
    logger = logging.getLogger(f"test.privacy.{id(out)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, out


def test_redact_masks_identity_and_mobile_numbers_only() -> None:
    text = "id 11010519491231002X tel +86 138-1234-5678 order 2026112500001"
    assert redact(text) == "id 110***********002X tel 138****5678 order 2026112500001"


def test_messages_args_extras_and_tracebacks_are_redacted() -> None:
    logger, out = _logger(JsonFormatter("%(message)s %(phone)s"))
    try:
        raise ValueError("bad id 11010519491231002X")
    except ValueError:
        logger.exception(
            "citizen %s called from %s", "张三", "13812345678", extra={"phone": "13912345678"}
        )
    written = out.getvalue()
    for secret in ("13812345678", "13912345678", "11010519491231002X"):
        assert secret not in written
    assert "138****5678" in written
    assert "139****5678" in written
    assert "110***********002X" in written


def test_plain_formatter_tracebacks_are_redacted_too() -> None:
    logger, out = _logger(logging.Formatter("%(message)s"))
    try:
        raise ValueError("phone 13812345678")
    except ValueError:
        logger.exception("failed")
    assert "13812345678" not in out.getvalue()
    assert "ValueError: phone 138****5678" in out.getvalue()
