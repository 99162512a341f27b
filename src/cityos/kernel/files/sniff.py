"""What a file is, judged from its bytes: the content type the store records and serves.

puremagic knows binary signatures, but two things it cannot do are written here by hand:

* every zip-based format starts ``PK\\x03\\x04`` and puremagic answers ``.docx`` for all of
  them, so the zip's own list of entries decides between docx, xlsx, macro-enabled Office
  files, OpenDocument and a plain zip;
* text has no signature, so text is recognised by decoding it: UTF-8, UTF-16 with a byte
  order mark (Excel's "Unicode text"), or GB18030, which is how Excel on Chinese Windows
  saves CSV. Which kind of text (CSV, JSON, plain) cannot be told from the bytes with any
  certainty, so there the declared type or the file's extension chooses, within text.

A declared type is a claim to check, never a fact: one that contradicts the bytes is
refused with ``unsupported_media_type``.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from collections.abc import Set
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

import puremagic

from cityos.kernel.errors import UnsupportedMediaType

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
GIF = "image/gif"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSM = "application/vnd.ms-excel.sheet.macroenabled.12"
DOCM = "application/vnd.ms-word.document.macroenabled.12"
PPTM = "application/vnd.ms-powerpoint.presentation.macroenabled.12"
ZIP = "application/zip"
CSV = "text/csv"
TEXT = "text/plain"
JSON = "application/json"
HTML = "text/html"
SVG = "image/svg+xml"
XML = "application/xml"
OCTET_STREAM = "application/octet-stream"

IMAGE_TYPES: frozenset[str] = frozenset({JPEG, PNG, WEBP, GIF})
DEFAULT_ALLOWED_TYPES: frozenset[str] = IMAGE_TYPES | {PDF, XLSX, DOCX, CSV, TEXT, JSON, ZIP}

# How many leading bytes are kept for sniffing; puremagic looks at fewer than 40 KiB.
HEAD_BYTES = 64 * 1024

# Below this puremagic's match is a two- or three-byte coincidence that text can produce.
_STRONG_MATCH = 0.4
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_ZIP_BASED = frozenset({XLSX, DOCX, PPTX, XLSM, DOCM, PPTM})
_OOXML_PARTS = (("word/", DOCX, DOCM), ("xl/", XLSX, XLSM), ("ppt/", PPTX, PPTM))
_CONTROL = re.compile("[\x00-\x08\x0e-\x19\x1c-\x1f]")
_BY_EXTENSION = {".csv": CSV, ".json": JSON, ".txt": TEXT}

# Names that clients send for the types above, mapped to the names we record.
_ALIASES = {
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "image/x-png": PNG,
    "application/x-pdf": PDF,
    "application/x-zip-compressed": ZIP,
    "application/x-zip": ZIP,
    "text/comma-separated-values": CSV,
    "text/x-csv": CSV,
    "application/csv": CSV,
    "text/json": JSON,
    "application/x-json": JSON,
    "text/xml": XML,
}
# Claims that say nothing about the content.
_NO_CLAIM = frozenset(
    {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}
)
# Windows browsers label a .csv with Excel's legacy type when Excel is installed.
_EXCEL_CSV = "application/vnd.ms-excel"


@dataclass(frozen=True)
class Detected:
    """What the bytes say. ``text`` is set for text with no markup, whose kind is open."""

    content_type: str
    charset: str | None = None
    text: bool = False
    json_like: bool = False


@dataclass(frozen=True)
class Sniffed:
    """The content type to record, and the text encoding when the file is text."""

    content_type: str
    charset: str | None = None


def sniff(
    head: bytes,
    *,
    complete: bool,
    source: IO[bytes],
    filename: str,
    declared_type: str | None,
) -> Sniffed:
    """The content's type, reconciled with the declared one; ``UnsupportedMediaType`` if they clash.

    ``head`` is the first ``HEAD_BYTES`` of the content (all of it when ``complete``);
    ``source`` is the whole content, seekable, used only to read a zip's list of entries.
    """
    detected = detect(head, complete=complete, source=source)
    declared = normalise_type(declared_type)
    if detected.text:
        return Sniffed(_text_kind(detected, declared, filename), detected.charset)
    if declared is None or declared == detected.content_type or _compatible(detected, declared):
        return Sniffed(detected.content_type, detected.charset)
    raise _contradiction(declared, detected.content_type)


def detect(head: bytes, *, complete: bool, source: IO[bytes]) -> Detected:
    """The type the bytes alone show."""
    if head.startswith(_ZIP_MAGIC):
        return Detected(_zip_kind(source))
    match = _magic(head)
    if match is not None and match[1] >= _STRONG_MATCH and not _textual(match[0]):
        return Detected(match[0])
    decoded = _decode_text(head, complete=complete)
    if decoded is not None:
        charset, text = decoded
        markup = _markup_kind(text)
        if markup is not None:
            return Detected(markup, charset)
        return Detected(TEXT, charset, text=True, json_like=_json_like(text))
    if match is not None and not _textual(match[0]):
        return Detected(match[0])
    return Detected(OCTET_STREAM)


def normalise_type(declared: str | None) -> str | None:
    """A declared media type without parameters, in our spelling; ``None`` for no real claim."""
    if declared is None:
        return None
    value = declared.split(";", 1)[0].strip().lower()
    if value in _NO_CLAIM:
        return None
    return _ALIASES.get(value, value)


def _compatible(detected: Detected, declared: str) -> bool:
    if detected.content_type in _ZIP_BASED:
        return declared == ZIP
    if detected.content_type in {HTML, SVG, XML}:
        return declared.startswith("text/") or declared in {XML, SVG}
    return False


def _text_kind(detected: Detected, declared: str | None, filename: str) -> str:
    """Text's kind: the declared one if it is a kind of text, else the extension's, else plain."""
    if declared == _EXCEL_CSV:
        declared = CSV
    if declared is not None:
        if declared == JSON and detected.json_like:
            return JSON
        if declared.startswith("text/"):
            return declared
        raise _contradiction(declared, "text")
    kind = _BY_EXTENSION.get(PurePosixPath(filename).suffix.lower())
    if kind == JSON and not detected.json_like:
        return TEXT
    if kind is not None:
        return kind
    return JSON if detected.json_like else TEXT


def _contradiction(declared: str, detected: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"the file was declared as {declared} but its content is {detected}",
        declared_type=declared,
        detected_type=detected,
    )


def check_allowed(content_type: str, allowed: Set[str]) -> None:
    """Refuse a type the caller does not accept."""
    if content_type not in allowed:
        raise UnsupportedMediaType(
            f"files of type {content_type} are not accepted here",
            detected_type=content_type,
            allowed_types=sorted(allowed),
        )


def _magic(head: bytes) -> tuple[str, float] | None:
    """puremagic's best match that names a media type, with its confidence."""
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    for match in matches:
        if match.mime_type:
            return str(match.mime_type).lower(), float(match.confidence)
    return None


def _textual(media_type: str) -> bool:
    return (
        media_type.startswith("text/")
        or media_type in {JSON, XML, SVG}
        or media_type.endswith(("+xml", "+json"))
    )


def _zip_kind(source: IO[bytes]) -> str:
    """Look inside the zip: Office Open XML and OpenDocument are zips with known entries."""
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
            odf = ""
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 100:
                odf = archive.read("mimetype").decode("ascii", "replace")
    except (zipfile.BadZipFile, EOFError, RuntimeError, ValueError, NotImplementedError):
        return OCTET_STREAM
    finally:
        source.seek(0)
    if "[Content_Types].xml" in names:
        for prefix, plain, with_macros in _OOXML_PARTS:
            if any(name.startswith(prefix) for name in names):
                has_macros = f"{prefix}vbaProject.bin" in names
                return with_macros if has_macros else plain
    if odf.startswith("application/vnd.oasis.opendocument."):
        return odf
    return ZIP


def _decode_text(head: bytes, *, complete: bool) -> tuple[str, str] | None:
    """``(charset, text)`` if ``head`` reads as text in one of the encodings we accept."""
    if head.startswith(codecs.BOM_UTF8):
        candidates = [("utf-8", "utf-8-sig")]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = [("utf-16", "utf-16")]
    else:
        candidates = [("utf-8", "utf-8"), ("gb18030", "gb18030")]
    for charset, codec in candidates:
        decoder = codecs.getincrementaldecoder(codec)(errors="strict")
        try:
            # Not final unless complete: the head may end inside a multi-byte character.
            text = decoder.decode(head, final=complete)
        except UnicodeDecodeError:
            continue
        if _CONTROL.search(text):
            return None
        return charset, text
    return None


def _markup_kind(text: str) -> str | None:
    """HTML, SVG or other XML: text that a browser would render as a document."""
    start = text.lstrip("\ufeff \t\r\n")[:4096].lower()
    if not start.startswith("<"):
        return None
    if "<svg" in start:
        return SVG
    if "<!doctype html" in start or "<html" in start:
        return HTML
    if start.startswith(("<head", "<body", "<script", "<iframe")):
        return HTML
    if start.startswith("<?xml"):
        return XML
    return None


def _json_like(text: str) -> bool:
    """Starts as a JSON document does. Not parsed: whoever reads it as data validates it."""
    return text.lstrip("\ufeff \t\r\n").startswith(("{", "["))
