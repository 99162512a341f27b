"""``PiiRedactingFilter``: identity and mobile numbers never reach a log in plain text.

Masks what looks like an 18-character identity number or a mainland mobile number in the
formatted message, in string ``extra`` fields and in exception text. It errs on the side of
masking: any 18-digit run is treated as an identity number.
"""

from __future__ import annotations

import logging
import re

from cityos.foundation.privacy.masking import PiiKind, mask

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?![0-9])")
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def redact(text: str) -> str:
    """``text`` with identity and mobile numbers masked."""
    text = _ID_NUMBER.sub(lambda m: mask(PiiKind.ID_NUMBER, m.group()), text)
    return _MOBILE.sub(lambda m: mask(PiiKind.MOBILE, m.group()), text)


class PiiRedactingFilter(logging.Filter):
    """Rewrites each record so its message, string extras and traceback carry no PII."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD and isinstance(value, str):
                record.__dict__[name] = redact(value)
        if record.exc_info:
            # Formatters (ours and python-json-logger) print ``exc_text`` when ``exc_info``
            # is gone, so the traceback is rendered here once, masked.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
