"""Stored files (reference clips, results) read without a local path: their size, a strong ETag and
byte ranges, from the filesystem or from an S3 API (ranged GETs on the object), and a signed URL
where the object store can give one.

`Storage.path()` exists only on the filesystem backend, and `Storage.open()` of S3Storage downloads the
whole object to serve one range; this module is the small part of both backends that serving needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

CHUNK = 64 * 1024
Reader = Callable[[int, int], Iterator[bytes]]  # (start, length) -> the bytes, in chunks


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int
    etag: str  # strong: it changes whenever the bytes do
    read: Reader


@lru_cache(maxsize=4096)
def _sha256_etag(path: Path, size: int, mtime_ns: int) -> str:
    """sha256 of the bytes; stored files are written once, so one hash per process and file is enough."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f'"{digest.hexdigest()}"'


def _path_reader(path: Path) -> Reader:
    def read(start: int, length: int) -> Iterator[bytes]:
        with path.open("rb") as handle:
            handle.seek(start)
            remaining = length
            while remaining > 0:
                block = handle.read(min(CHUNK, remaining))
                if not block:
                    break
                remaining -= len(block)
                yield block
    return read


def _local_file(storage: FileSystemStorage, name: str) -> StoredFile | None:
    path = Path(storage.path(name))
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return StoredFile(name, stat.st_size, _sha256_etag(path, stat.st_size, stat.st_mtime_ns), _path_reader(path))


def _s3_reader(client: Any, bucket: str, key: str) -> Reader:
    def read(start: int, length: int) -> Iterator[bytes]:
        if length <= 0:
            return
        body = client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{start + length - 1}")["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()
    return read


def _s3_file(storage: S3Storage, name: str) -> StoredFile | None:
    key = storage._normalize_name(clean_name(name))  # the key django-storages itself writes
    client = storage.connection.meta.client
    try:
        head = client.head_object(Bucket=storage.bucket_name, Key=key)
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return None
        raise
    return StoredFile(name, int(head["ContentLength"]), str(head["ETag"]),
                      _s3_reader(client, storage.bucket_name, key))


def stored_file(name: str, storage: Storage | None = None) -> StoredFile | None:
    """The stored file, or None when there is none by that name."""
    storage = storage or default_storage
    if not name:
        return None
    if isinstance(storage, S3Storage):
        return _s3_file(storage, name)
    if isinstance(storage, FileSystemStorage):
        return _local_file(storage, name)
    raise TypeError(f"Serving from {type(storage).__name__} is not supported.")


def signed_url(name: str, *, content_type: str, filename: str, storage: Storage | None = None) -> str | None:
    """A time-limited URL of the object itself (S3: presigned GET, S3_URL_EXPIRE_S); None elsewhere."""
    storage = storage or default_storage
    if not isinstance(storage, S3Storage):
        return None
    return str(storage.url(name, parameters={"ResponseContentType": content_type,
                                             "ResponseContentDisposition": f'inline; filename="{filename}"'}))
