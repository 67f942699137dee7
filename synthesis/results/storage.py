"""Content-addressed output files: one file per fingerprint, written once."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def output_name(fingerprint: str, extension: str) -> str:
    return f"outputs/{fingerprint[:2]}/{fingerprint}.{extension}"


def output_exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


def store_output(fingerprint: str, extension: str, data: bytes) -> str:
    """Save the bytes under their fingerprint unless an earlier run already did."""
    name = output_name(fingerprint, extension)
    if not default_storage.exists(name):
        saved = default_storage.save(name, ContentFile(data))
        if saved != name:  # another process won the race; keep theirs, drop our copy
            default_storage.delete(saved)
    return name


def read_output(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return bytes(handle.read())
