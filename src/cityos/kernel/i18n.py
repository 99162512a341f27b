"""Locales: zh-CN first, English second; message catalogues keyed by stable codes."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")

# Titles for the kernel's own problem codes. Modules add theirs through ``register_messages``.
_MESSAGES: dict[str, dict[str, str]] = {
    "not_found": {"zh-CN": "资源不存在", "en": "Not found"},
    "route_not_found": {"zh-CN": "接口不存在", "en": "No such endpoint"},
    "method_not_allowed": {"zh-CN": "不支持该请求方法", "en": "Method not allowed"},
    "validation_failed": {"zh-CN": "提交的数据有误", "en": "The submitted data is invalid"},
    "conflict": {"zh-CN": "与现有数据冲突", "en": "Conflicts with existing data"},
    "permission_denied": {"zh-CN": "无权执行此操作", "en": "Permission denied"},
    "unauthenticated": {"zh-CN": "请先登录", "en": "Sign-in required"},
    "payload_too_large": {"zh-CN": "文件过大", "en": "Payload too large"},
    "too_many_requests": {"zh-CN": "请求过于频繁，请稍后再试", "en": "Too many requests"},
    "unsupported_media_type": {"zh-CN": "不支持的文件类型", "en": "Unsupported media type"},
    "invalid_cursor": {"zh-CN": "分页游标无效", "en": "Invalid pagination cursor"},
    "internal_error": {"zh-CN": "系统内部错误", "en": "Internal server error"},
    "http_error": {"zh-CN": "请求失败", "en": "Request failed"},
}


def register_messages(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add a module's titles for its problem codes, keyed by our locales (``zh-CN``,
    ``en``); any other key is refused, since a title under it would never be shown."""
    for code, by_locale in messages.items():
        unknown = sorted(set(by_locale) - set(LOCALES))
        if unknown or DEFAULT_LOCALE not in by_locale:
            raise ValueError(
                f"the titles of {code!r} must be keyed {' and '.join(LOCALES)}, "
                f"with {DEFAULT_LOCALE} present (got {sorted(by_locale)})"
            )
        _MESSAGES[code] = dict(by_locale)


def negotiate(accept_language: str | None) -> str:
    """The best of our locales for an ``Accept-Language`` header; zh-CN when unsure."""
    if not accept_language:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:  # q=0 (or an unreadable q) means "not acceptable"
            ranked.append((quality, tag.strip().lower()))
    for _, tag in sorted(ranked, key=lambda item: -item[0]):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


def message(code: str, locale: str, default: str | None = None) -> str:
    """The title for ``code`` in ``locale``, falling back to zh-CN, then ``default``."""
    by_locale = _MESSAGES.get(code)
    if by_locale is None:
        return default or code
    return by_locale.get(locale) or by_locale.get(DEFAULT_LOCALE) or default or code


class LocalizedText(BaseModel):
    """A text in zh-CN (required) and English."""

    model_config = ConfigDict(extra="forbid")

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh
