"""Message templates: a title and a body in zh-CN and English, and whether the message
also goes out by SMS.

A message stores its template code and parameters, never rendered text, so it reads in
the language of whoever opens it. A parameter may itself be a ``{"zh-CN": …, "en": …}``
mapping (a state's name, say), rendered in the reader's language like the template.
Modules add their own templates with ``register_template`` when they are imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cityos.kernel.i18n import DEFAULT_LOCALE

# The sender's signature SMS carriers in mainland China require at the head of each text.
SMS_SIGNATURE = "【罗湖区政府】"


@dataclass(frozen=True)
class Template:
    """What a kind of message says, in each language; ``sms`` marks those worth a text."""

    code: str
    title: Mapping[str, str]
    body: Mapping[str, str]
    sms: bool = False


_TEMPLATES: dict[str, Template] = {}


def register_template(template: Template) -> None:
    """Make ``template`` available by its code; a code is declared by one module only."""
    known = _TEMPLATES.get(template.code)
    if known is not None and known != template:
        raise ValueError(f"notification template {template.code!r} is declared twice")
    _TEMPLATES[template.code] = template


def template_for(code: str) -> Template | None:
    """The template registered as ``code``, if any."""
    return _TEMPLATES.get(code)


class _Params(dict[str, str]):
    # A parameter the template names but the message lacks (an older message, a template
    # since reworded) shows as empty rather than failing the whole list.
    def __missing__(self, key: str) -> str:
        return ""


def _localised(value: Any, locale: str) -> str:
    if isinstance(value, Mapping):
        chosen = value.get(locale) or value.get(DEFAULT_LOCALE) or ""
        return str(chosen)
    return "" if value is None else str(value)


def _text(texts: Mapping[str, str], params: Mapping[str, Any], locale: str) -> str:
    pattern = texts.get(locale) or texts[DEFAULT_LOCALE]
    return pattern.format_map(_Params({k: _localised(v, locale) for k, v in params.items()}))


def render(code: str, params: Mapping[str, Any], locale: str) -> tuple[str, str]:
    """The title and body of a message in ``locale`` (zh-CN when the template lacks it).

    A code no installed module declares renders as itself, so old messages stay readable.
    """
    template = _TEMPLATES.get(code)
    if template is None:
        return code, ""
    return _text(template.title, params, locale), _text(template.body, params, locale)


def sms_text(code: str, params: Mapping[str, Any]) -> str | None:
    """The SMS for a message, in Chinese with the signature; None for portal-only templates."""
    template = _TEMPLATES.get(code)
    if template is None or not template.sms:
        return None
    return SMS_SIGNATURE + _text(template.body, params, DEFAULT_LOCALE)


WORKFLOW_WARNING = Template(
    code="workflow.warning",
    title={"zh-CN": "待办即将超时", "en": "A task is nearly due"},
    body={
        "zh-CN": "待办事项“{title}”（{state}）将于{due_at}到期，请及时办理。",
        "en": "The task “{title}” ({state}) is due at {due_at}; please act on it.",
    },
)
WORKFLOW_OVERDUE = Template(
    code="workflow.overdue",
    title={"zh-CN": "待办已超时", "en": "A task is overdue"},
    body={
        "zh-CN": "待办事项“{title}”（{state}）已于{due_at}超时，请尽快办理。",
        "en": "The task “{title}” ({state}) was due at {due_at} and is overdue; act on it now.",
    },
    sms=True,
)
WORKFLOW_ESCALATED = Template(
    code="workflow.escalated",
    title={"zh-CN": "事项已升级", "en": "A task was escalated"},
    body={
        "zh-CN": "事项“{title}”在“{state}”环节{when}，已升级至您处，请督促办理。",
        "en": "The task “{title}” is {when} at “{state}” and was escalated to you; "
        "please follow it up.",
    },
    sms=True,
)

for _template in (WORKFLOW_WARNING, WORKFLOW_OVERDUE, WORKFLOW_ESCALATED):
    register_template(_template)
