"""The file store: photos, materials and attachments, addressed by the SHA-256 of their content.

Other modules keep a ``sha256`` reference to a ``StoredFile`` and call ``put`` / ``open``;
the bytes live in a local folder or S3-compatible storage (``storage_from_settings``).

The HTTP routes in ``api.py`` (upload, download) are mounted by the app behind identity's
``files.upload`` / ``files.read`` permissions, which this module declares.
"""

from __future__ import annotations

from pathlib import Path

from cityos.kernel.files.api import (
    PERMISSIONS,
    FileOut,
    content_disposition,
    download_router,
    get_storage,
    upload_router,
)
from cityos.kernel.files.models import StoredFile
from cityos.kernel.files.service import (
    PHOTO_KINDS,
    checked_attachments,
    clean_filename,
    exists,
    get,
    open,
    put,
)
from cityos.kernel.files.sniff import DEFAULT_ALLOWED_TYPES, IMAGE_TYPES, Sniffed, sniff
from cityos.kernel.files.storage import (
    BlobNotFound,
    LocalStorage,
    S3Storage,
    Storage,
    StorageConfigError,
    storage_from_settings,
)
from cityos.kernel.registry import Module

module = Module(
    name="files",
    models=("cityos.kernel.files.models",),
    migrations=Path(__file__).parent / "migrations",
    messages={"empty_file": {"zh-CN": "文件为空", "en": "The file is empty"}},
    permissions=PERMISSIONS,
)

__all__ = [
    "DEFAULT_ALLOWED_TYPES",
    "IMAGE_TYPES",
    "PERMISSIONS",
    "PHOTO_KINDS",
    "BlobNotFound",
    "FileOut",
    "LocalStorage",
    "S3Storage",
    "Sniffed",
    "Storage",
    "StorageConfigError",
    "StoredFile",
    "checked_attachments",
    "clean_filename",
    "content_disposition",
    "download_router",
    "exists",
    "get",
    "get_storage",
    "module",
    "open",
    "put",
    "sniff",
    "storage_from_settings",
    "upload_router",
]
