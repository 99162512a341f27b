"""The file store: content addressing, limits, type sniffing, both backends, upload/download.

S3 is real S3 over HTTP: moto's server on a local port stands in for the object store, and
the same tests run against it as against the local folder.
"""

from __future__ import annotations

import asyncio
import codecs
import io
import struct
import threading
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from cityos.app import create_app
from cityos.kernel import files
from cityos.kernel.db import make_sessionmaker
from cityos.kernel.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from cityos.kernel.files import (
    IMAGE_TYPES,
    LocalStorage,
    S3Storage,
    Storage,
    StorageConfigError,
    StoredFile,
    clean_filename,
    content_disposition,
    storage_from_settings,
)
from cityos.kernel.files.api import MULTIPART_OVERHEAD, download_router, upload_router
from cityos.kernel.files.storage import blob_key
from cityos.settings import Settings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
LIMIT = 1024 * 1024


# --- content ----------------------------------------------------------------------------------


def png(note: str | None = None) -> bytes:
    """A valid 1×1 PNG; ``note`` (a tEXt chunk) makes each one distinct."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    text = f"Comment\0{note or uuid.uuid4().hex}".encode()
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", text)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def pdf() -> bytes:
    return b"%PDF-1.4\n% " + uuid.uuid4().hex.encode() + b"\n%%EOF\n"


def jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00" + uuid.uuid4().bytes + b"\xff\xd9"


def zipped(*names: str) -> bytes:
    """A zip with these entries, in this order (openpyxl does not put [Content_Types] first)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, f"<x>{uuid.uuid4().hex}</x>")
    return buffer.getvalue()


def text(body: str = "hello") -> bytes:
    return f"{body} {uuid.uuid4().hex}\n".encode()


def put(
    session: Session,
    storage: Storage,
    content: bytes,
    filename: str,
    *,
    declared_type: str | None = None,
    allowed_types: AbstractSet[str] | None = None,
) -> StoredFile:
    return files.put(
        session,
        storage,
        stream=io.BytesIO(content),
        filename=filename,
        declared_type=declared_type,
        allowed_types=allowed_types,
        max_bytes=LIMIT,
    )


def blobs(storage: Storage) -> int:
    """How many blobs the backend holds (temporary files included, for the local folder)."""
    if isinstance(storage, LocalStorage):
        return (
            sum(1 for p in storage.root.rglob("*") if p.is_file()) if storage.root.exists() else 0
        )
    assert isinstance(storage, S3Storage)
    return storage.client.list_objects_v2(Bucket=storage.bucket)["KeyCount"]


def rows(session: Session, sha256: str) -> int:
    return session.scalar(select(func.count()).where(StoredFile.sha256 == sha256)) or 0


# --- backends ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible endpoint over HTTP (moto's server) on a free local port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_settings(tmp_path: Path, endpoint: str, bucket: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        file_store="s3",
        s3_endpoint_url=endpoint,
        s3_bucket=bucket,
        s3_access_key="testing",
        s3_secret_key="testing",
        _env_file=None,
    )


@pytest.fixture
def s3_storage(tmp_path: Path, s3_endpoint: str) -> S3Storage:
    settings = s3_settings(tmp_path, s3_endpoint, f"cityos-{uuid.uuid4().hex[:12]}")
    storage = storage_from_settings(settings, create_bucket=True)
    assert isinstance(storage, S3Storage)
    return storage


@pytest.fixture
def local_storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest) -> Storage:
    fixture = {"local": "local_storage", "s3": "s3_storage"}[request.param]
    value: Storage = request.getfixturevalue(fixture)
    return value


# --- storing and reading ----------------------------------------------------------------------


def test_put_stores_the_content_under_its_hash(session: Session, storage: Storage) -> None:
    content = png()
    stored = put(session, storage, content, "photo.png", declared_type="image/png")

    assert len(stored.sha256) == 64
    assert stored.size == len(content)
    assert stored.content_type == "image/png"
    assert stored.filename == "photo.png"
    assert stored.backend == storage.name
    assert files.exists(storage, stored.sha256)
    with files.open(storage, stored.sha256) as blob:
        assert blob.read() == content
    assert files.get(session, stored.sha256) is stored


def test_same_content_twice_is_one_blob_and_one_row(session: Session, storage: Storage) -> None:
    content = pdf()
    first = put(session, storage, content, "申请表.pdf")
    second = put(session, storage, content, "copy of the form.pdf")

    assert second.sha256 == first.sha256
    assert second is first
    assert second.filename == "申请表.pdf"
    assert rows(session, first.sha256) == 1
    assert blobs(storage) == 1


def test_simultaneous_uploads_of_the_same_content_share_one_row(
    engine: Engine, local_storage: LocalStorage
) -> None:
    """The second upload waits for the first's transaction, then takes its row, not an error."""
    content = pdf()
    sessions = make_sessionmaker(engine)
    first = sessions()
    outcome: dict[str, object] = {}

    def second_upload() -> None:
        try:
            with sessions() as second:
                outcome["filename"] = put(second, local_storage, content, "second.pdf").filename
                second.commit()
        except Exception as exc:
            outcome["error"] = exc

    try:
        put(first, local_storage, content, "first.pdf")
        first.flush()
        racer = threading.Thread(target=second_upload)
        racer.start()
        racer.join(0.5)
        assert racer.is_alive(), outcome
        first.commit()
        racer.join(20)
        assert outcome == {"filename": "first.pdf"}
    finally:
        first.close()
        with engine.begin() as connection:
            connection.execute(delete(StoredFile).where(StoredFile.filename == "first.pdf"))


def test_two_contents_are_two_blobs(session: Session, storage: Storage) -> None:
    a = put(session, storage, png(), "a.png")
    b = put(session, storage, png(), "a.png")
    assert a.sha256 != b.sha256
    assert blobs(storage) == 2


def test_too_large_is_refused_and_nothing_is_stored(session: Session, storage: Storage) -> None:
    content = pdf() + b"x" * 2000
    with pytest.raises(PayloadTooLarge) as raised:
        files.put(session, storage, stream=io.BytesIO(content), filename="big.pdf", max_bytes=2000)
    assert raised.value.code == "payload_too_large"
    assert raised.value.status == 413
    assert blobs(storage) == 0
    assert (
        session.scalar(
            select(func.count()).select_from(StoredFile).where(StoredFile.filename == "big.pdf")
        )
        == 0
    )


def test_exactly_the_limit_is_accepted(session: Session, local_storage: LocalStorage) -> None:
    content = pdf()
    stored = files.put(
        session,
        local_storage,
        stream=io.BytesIO(content),
        filename="f.pdf",
        max_bytes=len(content),
    )
    assert stored.size == len(content)


class EndlessStream(io.RawIOBase):
    """A client that never stops sending; counts what was read from it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = len(buffer)
        buffer[:size] = b"a" * size
        self.read_bytes += size
        return size


def test_the_limit_stops_reading_instead_of_buffering_everything(
    session: Session, local_storage: LocalStorage
) -> None:
    stream = EndlessStream()
    with pytest.raises(PayloadTooLarge):
        files.put(session, local_storage, stream=stream, filename="x.txt", max_bytes=LIMIT)  # type: ignore[arg-type]
    assert LIMIT < stream.read_bytes <= LIMIT + 64 * 1024
    assert blobs(local_storage) == 0


def test_empty_file_is_refused(session: Session, local_storage: LocalStorage) -> None:
    with pytest.raises(ValidationFailed) as raised:
        put(session, local_storage, b"", "empty.txt")
    assert raised.value.code == "empty_file"
    assert blobs(local_storage) == 0


def test_opening_what_is_not_there_is_not_found(session: Session, storage: Storage) -> None:
    missing = "0" * 64
    assert not files.exists(storage, missing)
    with pytest.raises(NotFound):
        files.open(storage, missing)
    with pytest.raises(NotFound):
        files.get(session, missing)
    with pytest.raises(NotFound):
        files.open(storage, "../../etc/passwd")
    assert not files.exists(storage, "../../etc/passwd")


def test_chinese_filename_round_trips(session: Session, storage: Storage) -> None:
    name = "罗湖区2024年城市更新项目（第一批）汇总表.pdf"
    stored = put(session, storage, pdf(), name)
    session.flush()
    session.expire_all()
    assert files.get(session, stored.sha256).filename == name


# --- what the bytes are -----------------------------------------------------------------------


def test_a_png_declared_as_pdf_is_refused(session: Session, storage: Storage) -> None:
    with pytest.raises(UnsupportedMediaType) as raised:
        put(session, storage, png(), "scan.pdf", declared_type="application/pdf")
    assert raised.value.code == "unsupported_media_type"
    assert raised.value.status == 415
    assert raised.value.extra == {"declared_type": "application/pdf", "detected_type": "image/png"}
    assert blobs(storage) == 0


def test_text_renamed_png_is_text_and_refused_where_only_images_are_allowed(
    session: Session, storage: Storage
) -> None:
    content = text("not a picture")
    with pytest.raises(UnsupportedMediaType) as raised:
        put(session, storage, content, "photo.png", allowed_types=IMAGE_TYPES)
    assert raised.value.extra["detected_type"] == "text/plain"
    assert blobs(storage) == 0

    stored = put(session, storage, content, "photo.png")
    assert stored.content_type == "text/plain"
    assert stored.charset == "utf-8"


def test_text_declared_as_an_image_is_refused(session: Session, local_storage: Storage) -> None:
    with pytest.raises(UnsupportedMediaType):
        put(session, local_storage, text(), "photo.png", declared_type="image/png")


@pytest.mark.parametrize(
    ("content", "filename", "declared", "expected"),
    [
        pytest.param(jpeg(), "a.jpg", "image/jpg", "image/jpeg", id="jpeg, legacy alias"),
        pytest.param(
            b"GIF89a\x01\x00\x01\x00" + uuid.uuid4().bytes, "a.gif", None, "image/gif", id="gif"
        ),
        pytest.param(
            b"RIFF\x24\x00\x00\x00WEBPVP8 " + uuid.uuid4().bytes * 2,
            "a",
            None,
            "image/webp",
            id="webp without a name",
        ),
        pytest.param(
            pdf(), "noname", "application/pdf; name=x", "application/pdf", id="pdf with parameters"
        ),
        pytest.param(
            zipped("[Content_Types].xml", "_rels/.rels", "word/document.xml"),
            "a.zip",
            None,
            DOCX,
            id="docx whatever its name",
        ),
        pytest.param(
            zipped("docProps/app.xml", "xl/workbook.xml", "[Content_Types].xml"),
            "表.xlsx",
            XLSX,
            XLSX,
            id="xlsx as openpyxl writes it",
        ),
        pytest.param(
            zipped("[Content_Types].xml", "xl/workbook.xml"),
            "b.xlsx",
            "application/zip",
            XLSX,
            id="xlsx declared as zip",
        ),
        pytest.param(
            zipped("a.txt", "b/c.txt"),
            "a.zip",
            "application/x-zip-compressed",
            "application/zip",
            id="zip as Windows labels it",
        ),
        pytest.param(text("a,b\n1,2"), "data.csv", None, "text/csv", id="csv by extension"),
        pytest.param(
            text("a,b\n1,2"),
            "data.csv",
            "application/vnd.ms-excel",
            "text/csv",
            id="csv as Windows browsers label it",
        ),
        pytest.param(
            b'{"a": "' + uuid.uuid4().hex.encode() + b'"}', "x", None, "application/json", id="json"
        ),
        pytest.param(
            text("plain"), "notes", "text/plain; charset=utf-8", "text/plain", id="plain text"
        ),
    ],
)
def test_types_are_judged_from_the_bytes(
    session: Session,
    local_storage: LocalStorage,
    content: bytes,
    filename: str,
    declared: str | None,
    expected: str,
) -> None:
    stored = put(session, local_storage, content, filename, declared_type=declared)
    assert stored.content_type == expected


def test_csv_saved_by_chinese_excel_is_gb18030_text(
    session: Session, local_storage: LocalStorage
) -> None:
    content = f"街道,社区,网格\n东门街道,湖贝社区,{uuid.uuid4().hex}\n".encode("gb18030")
    stored = put(session, local_storage, content, "网格.csv")
    assert (stored.content_type, stored.charset) == ("text/csv", "gb18030")

    unicode_text = (
        codecs.BOM_UTF16_LE
        + "街道\t社区\n".encode("utf-16-le")
        + uuid.uuid4().bytes.hex().encode("utf-16-le")
    )
    stored = put(session, local_storage, unicode_text, "网格.txt")
    assert (stored.content_type, stored.charset) == ("text/plain", "utf-16")


@pytest.mark.parametrize(
    ("content", "detected"),
    [
        pytest.param(b"<!DOCTYPE html><html><script>alert(1)</script></html>", "text/html"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/svg+xml"),
        pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64), None),
        pytest.param(bytes(range(256)) * 4, "application/octet-stream"),
        pytest.param(
            zipped("[Content_Types].xml", "xl/workbook.xml", "xl/vbaProject.bin"),
            "application/vnd.ms-excel.sheet.macroenabled.12",
        ),
    ],
    ids=["html", "svg", "windows executable", "unknown binary", "xlsm with macros"],
)
def test_types_outside_the_defaults_are_refused(
    session: Session, local_storage: LocalStorage, content: bytes, detected: str | None
) -> None:
    with pytest.raises(UnsupportedMediaType) as raised:
        put(session, local_storage, content, "innocent.txt")
    if detected is not None:
        assert raised.value.extra["detected_type"] == detected
    assert blobs(local_storage) == 0


def test_allowed_types_are_the_callers_choice(session: Session, local_storage: Storage) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"/>' + uuid.uuid4().hex.encode()
    stored = put(session, local_storage, svg, "logo.svg", allowed_types={"image/svg+xml"})
    assert stored.content_type == "image/svg+xml"
    with pytest.raises(UnsupportedMediaType):
        put(session, local_storage, pdf(), "a.pdf", allowed_types={"image/svg+xml"})


def test_filenames_are_labels_not_paths() -> None:
    assert clean_filename("C:\\Users\\张三\\Desktop\\身份证.jpg") == "身份证.jpg"
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("invoice\u202egpj.exe") == "invoicegpj.exe"
    assert clean_filename("a\r\nX-Injected: 1.txt") == "aX-Injected: 1.txt"
    assert clean_filename("..") == "file"
    long = clean_filename("长" * 300 + ".pdf")
    assert len(long) == 255
    assert long.endswith(".pdf")


# --- backends in particular -------------------------------------------------------------------


def test_local_blobs_are_sharded_and_never_overwritten(local_storage: LocalStorage) -> None:
    sha256 = "ab" + "cd" + "e" * 60
    local_storage.save(sha256, io.BytesIO(b"first"), content_type="text/plain")
    path = local_storage.root / "ab" / "cd" / sha256
    assert path.read_bytes() == b"first"
    local_storage.save(sha256, io.BytesIO(b"second"), content_type="text/plain")
    assert path.read_bytes() == b"first"
    assert [p.name for p in path.parent.iterdir()] == [sha256]
    assert blob_key(sha256) == f"ab/cd/{sha256}"


def test_a_failed_local_write_leaves_nothing(local_storage: LocalStorage) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        local_storage.save("f" * 64, Broken(), content_type="text/plain")  # type: ignore[arg-type]
    assert blobs(local_storage) == 0


def test_s3_bucket_is_created_only_when_asked(tmp_path: Path, s3_endpoint: str) -> None:
    bucket = f"cityos-{uuid.uuid4().hex[:12]}"
    storage = storage_from_settings(s3_settings(tmp_path, s3_endpoint, bucket))
    assert isinstance(storage, S3Storage)
    names = [b["Name"] for b in storage.client.list_buckets()["Buckets"]]
    assert bucket not in names
    storage.ensure_bucket()
    storage.ensure_bucket()
    names = [b["Name"] for b in storage.client.list_buckets()["Buckets"]]
    assert bucket in names


def test_s3_objects_carry_the_sniffed_type(session: Session, s3_storage: S3Storage) -> None:
    stored = put(session, s3_storage, png(), "a.png")
    head = s3_storage.client.head_object(Bucket=s3_storage.bucket, Key=blob_key(stored.sha256))
    assert head["ContentType"] == "image/png"
    assert head["ContentLength"] == stored.size


def test_storage_follows_the_settings(settings: Settings) -> None:
    local = storage_from_settings(settings)
    assert isinstance(local, LocalStorage)
    assert local.root == settings.files_dir
    with pytest.raises(StorageConfigError):
        storage_from_settings(settings.model_copy(update={"file_store": "ftp"}))


# --- HTTP -------------------------------------------------------------------------------------


BARE = "/bare"


def files_app(settings: Settings) -> FastAPI:
    """The whole app, plus the file routes without authorisation under ``/bare`` (the
    storage behaviour under test; the mounted routes' authorisation is tested below)."""
    app = create_app(settings)
    app.include_router(upload_router, prefix=BARE)
    app.include_router(download_router, prefix=BARE)
    return app


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The whole app on the test database; the rows its requests commit are removed after."""
    app = files_app(settings.model_copy(update={"max_upload_bytes": 64 * 1024}))
    try:
        with TestClient(app) as client:
            yield client
    finally:
        app.state.runtime.close()
        with engine.begin() as connection:
            connection.execute(delete(StoredFile).where(StoredFile.filename.like("http-%")))


def test_upload_and_download_over_http(client: TestClient) -> None:
    content = png()
    name = "http-现场照片 #1.png"
    answer = client.post("/bare/files", files={"file": (name, content, "image/png")})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["size"] == len(content)
    assert body["content_type"] == "image/png"
    assert body["filename"] == name

    again = client.post("/bare/files", files={"file": ("http-other.png", content, "image/png")})
    assert again.status_code == 201
    assert again.json() == body

    download = client.get(f"/bare/files/{body['sha256']}")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("inline; ")
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == name

    cached = client.get(
        f"/bare/files/{body['sha256']}", headers={"If-None-Match": download.headers["etag"]}
    )
    assert cached.status_code == 304


def test_http_text_download_names_its_encoding(client: TestClient) -> None:
    content = f"名称,数量\n井盖,{uuid.uuid4().int % 100}\n".encode("gb18030")
    answer = client.post("/bare/files", files={"file": ("http-部件.csv", content, "text/csv")})
    assert answer.status_code == 201, answer.text
    download = client.get(f"/bare/files/{answer.json()['sha256']}")
    assert download.headers["content-type"] == "text/csv; charset=gb18030"
    assert download.headers["content-disposition"].startswith("attachment; ")
    assert download.content.decode("gb18030").startswith("名称,数量")


def test_http_refusals_are_problem_json(client: TestClient) -> None:
    too_big = client.post(
        "/bare/files",
        files={"file": ("http-big.pdf", pdf() + bytes(64 * 1024), "application/pdf")},
    )
    assert too_big.status_code == 413
    assert too_big.headers["content-type"] == "application/problem+json"
    assert too_big.json()["code"] == "payload_too_large"

    lying = client.post("/bare/files", files={"file": ("http-x.pdf", png(), "application/pdf")})
    assert lying.status_code == 415
    assert lying.json()["code"] == "unsupported_media_type"

    missing = client.post("/bare/files", files={"other": ("http-x.png", png(), "image/png")})
    assert missing.status_code == 422

    not_multipart = client.post("/bare/files", content=png(), headers={"content-type": "image/png"})
    assert not_multipart.status_code == 415

    unknown = client.get(f"/bare/files/{'0' * 64}")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"
    assert client.get("/bare/files/not-a-hash").status_code == 404


def test_a_body_without_length_is_cut_off_as_it_arrives(settings: Settings) -> None:
    """A chunked upload that never ends: refused once past the limit, not read to the end.

    Driven through raw ASGI, because the test client reads a whole request body first.
    """
    limit = 64 * 1024
    app = files_app(settings.model_copy(update={"max_upload_bytes": limit}))
    received = 0

    async def receive() -> dict[str, object]:
        nonlocal received
        if received == 0:
            chunk = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n'
        else:
            chunk = bytes(16 * 1024)
        received += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/bare/files",
        "raw_path": b"/bare/files",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), (b"content-type", b"multipart/form-data; boundary=b")],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    try:
        # In a thread of its own: the test process may already run an event loop here.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, app(scope, receive, send)).result()  # type: ignore[arg-type]
    finally:
        app.state.runtime.close()
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    assert received <= limit + MULTIPART_OVERHEAD + 16 * 1024 + 100


def test_content_disposition_keeps_ascii_names_simple() -> None:
    assert content_disposition("report.pdf") == 'attachment; filename="report.pdf"'
    assert content_disposition('a"b.txt', inline=True) == (
        "inline; filename=\"a_b.txt\"; filename*=UTF-8''a%22b.txt"
    )
    assert content_disposition("报告.pdf") == (
        "attachment; filename=\"__.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf"
    )


def test_permissions_are_declared_for_identity() -> None:
    assert set(files.PERMISSIONS) == {"files.upload", "files.read"}


def test_the_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    body = paths["/bare/files"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert body["schema"]["required"] == ["file"]
    assert "get" in paths["/bare/files/{sha256}"]


def test_the_mounted_file_routes_need_their_permissions(client: TestClient) -> None:
    assert (
        client.post("/api/v1/files", files={"file": ("a.png", b"x", "image/png")}).status_code
        == 401
    )
    assert client.get(f"/api/v1/files/{'0' * 64}").status_code == 401
