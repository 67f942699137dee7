"""Production settings refuse to start without secrets and switch on HTTPS protections."""

from __future__ import annotations

import subprocess
import sys

from tests.support.processes import ROOT

_PRINT = ("import django; from django.conf import settings; django.setup(); "
          "print(settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, "
          "settings.SECURE_HSTS_SECONDS, getattr(settings, 'SECURE_PROXY_SSL_HEADER', None))")


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "glmtts_site.settings.production"}
    return subprocess.run([sys.executable, "-c", _PRINT], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def test_production_requires_secret_key_and_allowed_hosts() -> None:
    result = _run({"ALLOWED_HOSTS": "portal.example.com"})
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr
    result = _run({"SECRET_KEY": "s" * 60})
    assert result.returncode != 0 and "ALLOWED_HOSTS" in result.stderr


def test_production_turns_on_https_protections() -> None:
    result = _run({"SECRET_KEY": "s" * 60, "ALLOWED_HOSTS": "portal.example.com"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "31536000", "None"]


def test_proxy_header_is_trusted_only_when_told() -> None:
    result = _run({"SECRET_KEY": "s" * 60, "ALLOWED_HOSTS": "p.example", "BEHIND_PROXY": "true"})
    assert "HTTP_X_FORWARDED_PROTO" in result.stdout
