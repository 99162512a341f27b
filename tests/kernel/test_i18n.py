"""Locale negotiation: zh-CN first, English second."""

from __future__ import annotations

import pytest

from cityos.kernel.i18n import message, negotiate, register_messages


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        (None, "zh-CN"),
        ("", "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("zh-TW,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("fr-FR,en;q=0.5,zh;q=0.7", "zh-CN"),
        ("fr-FR,en;q=0.7,zh;q=0.5", "en"),
        ("de-DE", "zh-CN"),
        ("en;q=bad", "zh-CN"),
    ],
)
def test_negotiate(header: str | None, locale: str) -> None:
    assert negotiate(header) == locale


def test_message_falls_back_to_chinese_then_the_code() -> None:
    assert message("not_found", "en") == "Not found"
    assert message("not_found", "zh-CN") == "资源不存在"
    assert message("no_such_code", "en") == "no_such_code"
    assert message("no_such_code", "en", default="Oops") == "Oops"


def test_titles_under_a_locale_we_do_not_serve_are_refused() -> None:
    with pytest.raises(ValueError, match="zh-CN"):
        register_messages({"test_only_code": {"zh": "中文", "en": "English"}})
    assert message("test_only_code", "zh-CN") == "test_only_code"
