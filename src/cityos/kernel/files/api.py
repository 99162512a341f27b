"""HTTP face of the file store: upload one file, download one by its hash.

Authorisation: the kernel cannot check permissions (identity sits above it), so the two
routes live on two routers, ``upload_router`` and ``download_router``, and the app mounts
each behind identity's ``require("files.upload")`` / ``require("files.read")``.

The upload reads the multipart body itself instead of declaring an ``UploadFile``
parameter: FastAPI would otherwise spool the whole body to disk before any of our code ran,
whatever its size. Here the body is cut off once it passes the limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import Message, Receive

from cityos.kernel.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from cityos.kernel.files import service
from cityos.kernel.files.models import StoredFile
from cityos.kernel.files.sniff import IMAGE_TYPES, PDF
from cityos.kernel.files.storage import CHUNK_SIZE, Storage, storage_from_settings
from cityos.kernel.http import DbSession, RuntimeDep, get_runtime

PERMISSIONS: dict[str, dict[str, str]] = {
    "files.upload": {"zh": "上传文件", "en": "Upload files"},
    "files.read": {"zh": "下载文件", "en": "Download files"},
}

# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
# Content is addressed by its hash and never changes, so a browser may keep it for good.
CACHE_CONTROL = "private, max-age=31536000, immutable"

upload_router = APIRouter(prefix="/files", tags=["files"])
download_router = APIRouter(prefix="/files", tags=["files"])


class FileOut(BaseModel):
    """A stored file, as the upload returns it."""

    sha256: str = Field(description="SHA-256 of the content, hex; the file's address")
    size: int = Field(description="size in bytes")
    content_type: str = Field(description="media type sniffed from the content")
    filename: str = Field(description="the name it was first uploaded under")

    @classmethod
    def of(cls, row: StoredFile) -> FileOut:
        return cls(
            sha256=row.sha256, size=row.size, content_type=row.content_type, filename=row.filename
        )


def get_storage(request: Request) -> Storage:
    """The process's file store, built from the settings on first use (an S3 client is costly)."""
    storage: Storage | None = getattr(request.app.state, "file_storage", None)
    if storage is None:
        storage = storage_from_settings(get_runtime(request).settings)
        request.app.state.file_storage = storage
    return storage


StorageDep = Annotated[Storage, Depends(get_storage)]

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@upload_router.post(
    "",
    status_code=201,
    summary="Upload a file (multipart field 'file')",
    openapi_extra=_UPLOAD_BODY,
)
async def upload(
    request: Request, session: DbSession, storage: StorageDep, runtime: RuntimeDep
) -> FileOut:
    """Store the file once per content; its type is judged from its bytes, not its name."""
    max_bytes = runtime.settings.max_upload_bytes
    body_limit = max_bytes + MULTIPART_OVERHEAD
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > body_limit:
        raise PayloadTooLarge(
            f"the file is larger than the limit of {max_bytes} bytes", max_bytes=max_bytes
        )
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType("send the file as multipart/form-data in a field named 'file'")
    bounded = Request(request.scope, _bounded(request.receive, body_limit, max_bytes))
    async with bounded.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed(
                "no file in the multipart field 'file'",
                errors=[{"field": "file", "message": "required", "type": "missing"}],
            )
        row = await run_in_threadpool(
            lambda: service.put(
                session,
                storage,
                stream=upload.file,
                filename=upload.filename or "",
                declared_type=upload.content_type,
                max_bytes=max_bytes,
            )
        )
    return FileOut.of(row)


@download_router.get(
    "/{sha256}",
    summary="Download a file by its SHA-256",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, 304: {}},
)
def download(sha256: str, request: Request, session: DbSession, storage: StorageDep) -> Response:
    """The file's bytes with its sniffed type and its name in ``Content-Disposition``."""
    row = service.get(session, sha256.lower())
    etag = f'"{row.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    inline = row.content_type in IMAGE_TYPES or row.content_type == PDF
    headers["Content-Disposition"] = content_disposition(row.filename, inline=inline)
    headers["Content-Length"] = str(row.size)
    media_type = row.content_type
    if row.charset:
        media_type += f"; charset={row.charset}"
    blob = service.open(storage, row.sha256)
    return StreamingResponse(_chunks(blob), media_type=media_type, headers=headers)


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """An ASCII ``filename``, and the exact name as RFC 5987 ``filename*``."""
    disposition = "inline" if inline else "attachment"
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    if fallback == filename:
        return f'{disposition}; filename="{filename}"'
    encoded = quote(filename, safe="!#$&+-.^_`|~")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _bounded(receive: Receive, limit: int, max_bytes: int) -> Receive:
    """A ``receive`` that fails once more than ``limit`` body bytes have arrived."""
    received = 0

    async def bounded() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise PayloadTooLarge(
                    f"the file is larger than the limit of {max_bytes} bytes", max_bytes=max_bytes
                )
        return message

    return bounded


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def _chunks(blob: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := blob.read(CHUNK_SIZE):
            yield chunk
    finally:
        blob.close()
