"""Local development and `make run`: debug on, a per-checkout secret kept under var/."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _dev_secret_key() -> str:
    # A stable per-checkout key so sessions survive restarts without anyone inventing one.
    var_dir = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parents[2] / "var"))
    key_file = var_dir / "dev_secret_key"
    if not key_file.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


os.environ.setdefault("SECRET_KEY", _dev_secret_key())
os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: E402,F403
