"""Typed environment readers that fail loudly on bad values.

Every setting that comes from the environment goes through one of these, so a typo in a
deployment (``DEBUG=ture``, ``PORT=80a``) stops the process at start instead of misbehaving.
"""

from __future__ import annotations

import os
from typing import Final

from django.core.exceptions import ImproperlyConfigured

_MISSING: Final = object()
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, default: object) -> str | None:
    value = os.environ.get(name)
    if value is None:
        if default is _MISSING:
            raise ImproperlyConfigured(f"Environment variable {name} is required but not set.")
        return None
    return value


def env_str(name: str, default: str | object = _MISSING) -> str:
    value = _raw(name, default)
    if value is None:
        assert isinstance(default, str)
        return default
    return value


def env_int(name: str, default: int | object = _MISSING, *, minimum: int | None = None) -> int:
    value = _raw(name, default)
    if value is None:
        assert isinstance(default, int)
        return default
    try:
        number = int(value.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from exc
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {number}.")
    return number


def env_float(name: str, default: float | object = _MISSING) -> float:
    value = _raw(name, default)
    if value is None:
        assert isinstance(default, float)
        return default
    try:
        return float(value.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}.") from exc


def env_bool(name: str, default: bool | object = _MISSING) -> bool:
    value = _raw(name, default)
    if value is None:
        assert isinstance(default, bool)
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0), got {value!r}.")


def env_list(name: str, default: list[str] | object = _MISSING) -> list[str]:
    """A comma-separated list; blanks are dropped."""
    value = _raw(name, default)
    if value is None:
        assert isinstance(default, list)
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]
