"""Where blobs live: a local folder by default, S3-compatible object storage when configured.

Both backends address a blob by its SHA-256 only and never overwrite one: the same hash is
the same bytes, so a second write of it is skipped. What a blob is (type, name, size) is the
database's business (``StoredFile``), not the backend's.

The backends are small classes over the standard library and boto3 rather than a storage
framework: four operations are all the store needs, and each backend can keep its own
guarantee (a hard link that cannot overwrite; an S3 object that appears only when complete).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, Protocol, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from pydantic import SecretStr

    from cityos.settings import Settings

CHUNK_SIZE = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BlobNotFound(LookupError):
    """The backend holds no blob with this hash."""


class StorageConfigError(ValueError):
    """The settings name a file store that cannot be built."""


def check_sha256(sha256: str) -> str:
    """The hash itself, if it is 64 lowercase hex digits; it becomes a path, so nothing else."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return sha256


def blob_key(sha256: str) -> str:
    """``ab/cd/abcd…``: two levels of 256 folders keep any one folder small."""
    check_sha256(sha256)
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class Storage(Protocol):
    """A content-addressed blob store."""

    @property
    def name(self) -> str:
        """Short backend name recorded on each row (``local``, ``s3``)."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        ...

    def save(self, sha256: str, source: IO[bytes], *, content_type: str) -> None:
        """Store ``source`` (read from its current position) under ``sha256``, unless present."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """The blob for reading; the caller closes it. ``BlobNotFound`` if absent."""
        ...


class LocalStorage:
    """Blobs in a folder, at ``<root>/ab/cd/<sha256>``."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / blob_key(sha256)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def save(self, sha256: str, source: IO[bytes], *, content_type: str) -> None:
        """Write to a temporary file beside the target, then link it into place.

        ``os.link`` fails rather than replace an existing file, so a reader never sees a
        half-written blob and a concurrent writer of the same hash never clobbers one.
        """
        target = self.path(sha256)
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK_SIZE)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temp, target)
            except FileExistsError:
                pass
            except OSError:
                # Some file systems (SMB shares, a few FUSE mounts) refuse hard links;
                # a rename is just as atomic there, guarded against overwriting.
                if not target.exists():
                    temp.replace(target)
        finally:
            temp.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(sha256) from exc


class S3Storage:
    """Blobs in one bucket of an S3-compatible store (AWS S3, MinIO, Ceph RGW, cloud OSS)."""

    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        create_bucket: bool = False,
    ) -> None:
        self.bucket = bucket
        # Path-style addressing: self-hosted stores rarely have wildcard DNS per bucket.
        config = Config(
            s3={"addressing_style": "path"} if endpoint_url else {},
            retries={"mode": "standard", "max_attempts": 5},
        )
        self.client: S3Client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )
        if create_bucket:
            self.ensure_bucket()

    def ensure_bucket(self) -> None:
        """Create the bucket if missing: for set-up and tests; production buckets are ops' job."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _status(exc) != 404:
                raise
            self.client.create_bucket(Bucket=self.bucket)

    def exists(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=blob_key(sha256))
        except ClientError as exc:
            if _status(exc) == 404:
                return False
            raise
        return True

    def save(self, sha256: str, source: IO[bytes], *, content_type: str) -> None:
        """Upload unless present; an object becomes visible only once completely uploaded."""
        if self.exists(sha256):
            return
        self.client.upload_fileobj(
            source, self.bucket, blob_key(sha256), ExtraArgs={"ContentType": content_type}
        )

    def open(self, sha256: str) -> BinaryIO:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=blob_key(sha256))
        except ClientError as exc:
            if _status(exc) == 404:
                raise BlobNotFound(sha256) from exc
            raise
        # botocore's StreamingBody is a readable io.IOBase; callers only read and close it.
        return cast(BinaryIO, answer["Body"])


def _status(exc: ClientError) -> int | None:
    if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "NoSuchBucket", "404"}:
        return 404
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def storage_from_settings(settings: Settings, *, create_bucket: bool = False) -> Storage:
    """The backend ``CITYOS_FILE_STORE`` names: ``local`` (default) or ``s3``."""
    if settings.file_store == "local":
        return LocalStorage(settings.files_dir)
    if settings.file_store == "s3":
        return S3Storage(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=_secret(settings.s3_access_key),
            secret_key=_secret(settings.s3_secret_key),
            create_bucket=create_bucket,
        )
    raise StorageConfigError(
        f"unknown file store {settings.file_store!r}: CITYOS_FILE_STORE is 'local' or 's3'"
    )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() or None if value is not None else None
