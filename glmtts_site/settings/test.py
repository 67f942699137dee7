"""Settings for pytest: real Redis on a test DB index with a per-run key prefix."""

from __future__ import annotations

import os
import uuid

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
# A DB index of its own and a unique prefix: tests never touch keys of a running portal.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
# Subprocesses started by a test (worker, Daphne) inherit the run's prefix through TEST_REDIS_KEY_PREFIX.
_run_prefix = os.environ.get("TEST_REDIS_KEY_PREFIX") or f"glmtts-test:{uuid.uuid4().hex[:12]}"
os.environ["REDIS_KEY_PREFIX"] = _run_prefix

from .base import *  # noqa: E402,F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# Serve static files straight from the apps (no collectstatic before tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
WORKER_HEARTBEAT_INTERVAL_S = 0.5
# Off unless a test asks (workers it starts inherit the environment): preview jobs would join every
# test's queue and engine counts.
PRESET_PREVIEWS = env_bool("PRESET_PREVIEWS", False)  # noqa: F405
# SQLite tests use a file (not :memory:) so worker subprocesses can share the test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}  # noqa: F405
