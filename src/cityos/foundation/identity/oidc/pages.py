"""The provider's own pages (sign in, second factor, authenticator set-up, sign out), in
zh-CN and English, rendered on the server so they work before any script has loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from cityos.kernel.i18n import negotiate

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)

LANGUAGES = (("zh-CN", "中文"), ("en", "English"))

TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "brand": "罗湖区统一身份认证 · 云上新城，智享罗湖",
        "title": "登录",
        "tab_password": "账号密码",
        "tab_sms": "手机验证码（市民）",
        "username": "用户名",
        "password": "密码",
        "sign_in": "登录",
        "phone": "手机号码",
        "sms_code": "短信验证码",
        "send_code": "获取验证码",
        "sms_hint": "首次使用手机号登录将自动创建市民账号。",
        "code_sent": "验证码已发送，5 分钟内有效。",
        "totp_code": "动态验证码（身份验证器 App 中的 6 位数字）",
        "verify": "验证",
        "confirm": "确认绑定",
        "mfa_title": "二次验证",
        "mfa_setup_title": "绑定身份验证器",
        "mfa_setup_intro": (
            "您的账号需要开启二次验证。请用身份验证器 App（如 FreeOTP、Microsoft "
            "Authenticator）扫描二维码，然后输入其显示的 6 位数字。"
        ),
        "qr_label": "身份验证器二维码",
        "mfa_secret": "无法扫码时可手动输入密钥：",
        "bad_code": "验证码不正确或已过期，请重试。",
        "expired": "登录已超时，请重新登录。",
        "federation": "使用",
        "logout_title": "退出登录",
        "logout_question": "确定要退出罗湖区统一身份认证吗？",
        "sign_out": "退出登录",
        "signed_out": "您已安全退出。",
        "error_title": "无法继续",
        "bad_request": "请求无效：应用未注册，或回调地址与登记的不一致。",
        "csrf": "页面已过期，请重新提交。",
        "mfa_enrolled": "身份验证器已绑定，下次登录时将要求输入动态验证码。",
        "mfa_already": "您的账号已绑定身份验证器。如需更换，请联系管理员重置。",
        "mfa_voluntary_intro": (
            "绑定身份验证器后，登录时除密码外还需输入 App 显示的 6 位动态验证码，账号更安全。"
            "请扫描二维码，然后输入显示的数字。"
        ),
        "upstream_failed": "统一身份认证平台暂时无法访问，请稍后再试或使用账号密码登录。",
        "no_account": "您在统一身份认证平台的账号尚未开通本平台权限，请联系管理员。",
        "footer": "罗湖区人民政府 · 本系统仅供授权用户使用，操作将被审计",
    },
    "en": {
        "brand": "Luohu unified sign-in · CityOS",
        "title": "Sign in",
        "tab_password": "Username and password",
        "tab_sms": "Phone and SMS code (citizens)",
        "username": "Username",
        "password": "Password",
        "sign_in": "Sign in",
        "phone": "Mobile number",
        "sms_code": "SMS code",
        "send_code": "Send code",
        "sms_hint": "Signing in with a phone number for the first time creates a citizen account.",
        "code_sent": "A code has been sent; it is valid for 5 minutes.",
        "totp_code": "Authenticator code (6 digits from your authenticator app)",
        "verify": "Verify",
        "confirm": "Confirm",
        "mfa_title": "Second factor",
        "mfa_setup_title": "Set up an authenticator",
        "mfa_setup_intro": (
            "Your account needs a second factor. Scan the QR code with an authenticator app "
            "(FreeOTP, Microsoft Authenticator …) and enter the 6 digits it shows."
        ),
        "qr_label": "Authenticator QR code",
        "mfa_secret": "If you cannot scan, enter this key by hand:",
        "bad_code": "The code is wrong or expired; try again.",
        "expired": "The sign-in timed out; please sign in again.",
        "federation": "Sign in with",
        "logout_title": "Sign out",
        "logout_question": "Sign out of the Luohu unified sign-in?",
        "sign_out": "Sign out",
        "signed_out": "You have signed out.",
        "error_title": "Cannot continue",
        "bad_request": (
            "Invalid request: the application is not registered, or its return address "
            "does not match the registered one."
        ),
        "csrf": "The page expired; please submit it again.",
        "mfa_enrolled": "The authenticator is set up; signing in will ask for its code.",
        "mfa_already": (
            "Your account already has an authenticator; ask an administrator to reset it "
            "to change it."
        ),
        "mfa_voluntary_intro": (
            "With an authenticator, signing in also asks for the 6-digit code your app "
            "shows. Scan the QR code, then enter the digits."
        ),
        "upstream_failed": (
            "The unified identity platform cannot be reached; try again later or sign in "
            "with a password."
        ),
        "no_account": (
            "Your unified-identity account has no access to this platform yet; ask an "
            "administrator."
        ),
        "footer": "Luohu District People's Government · authorised users only; actions are audited",
    },
}

TITLES = {
    "password": "title",
    "sms": "title",
    "mfa": "mfa_title",
    "mfa_setup": "mfa_setup_title",
    "logout": "logout_title",
    "message": "error_title",
}


def page_locale(request: Request, return_to: str | None = None) -> str:
    """``?lang=``, else the ``ui_locales`` of the authorization request, else the browser's."""
    asked = request.query_params.get("lang")
    if not asked and return_to:
        locales = parse_qs(urlsplit(return_to).query).get("ui_locales")
        asked = locales[0].split()[0] if locales else None
    if asked:
        return "en" if asked.lower().startswith("en") else "zh-CN"
    return negotiate(request.headers.get("accept-language"))


def text(locale: str, key: str) -> str:
    return TEXT[locale][key]


def render(
    request: Request,
    *,
    view: str,
    locale: str,
    status_code: int = 200,
    error: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """A provider page; ``error`` is a message key or text shown as an alert."""
    t = dict(TEXT[locale])
    t["title"] = TEXT[locale][TITLES[view]]
    query = dict(request.query_params)
    lang_links = {code: "?" + urlencode({**query, "lang": code}) for code, _ in LANGUAGES}
    return_to = context.get("return_to") or ""
    tabs = {
        "password": "/oidc/login?" + urlencode({"return_to": return_to, "lang": locale}),
        "sms": "/oidc/login?" + urlencode({"return_to": return_to, "lang": locale, "via": "sms"}),
    }
    html = _env.get_template("page.html").render(
        t=t,
        view=view,
        locale=locale,
        languages=LANGUAGES,
        lang_links=lang_links,
        tab_links=tabs,
        error=TEXT[locale].get(error, error) if error else None,
        providers=context.pop("providers", []),
        **context,
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:; frame-ancestors 'none'",
            "Referrer-Policy": "no-referrer",
        },
    )
