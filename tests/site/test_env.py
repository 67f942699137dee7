from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from glmtts_site.settings.env import env_bool, env_float, env_int, env_list, env_str


def test_missing_required_variable_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GLMTTS_T_X", raising=False)
    with pytest.raises(ImproperlyConfigured, match="GLMTTS_T_X"):
        env_str("GLMTTS_T_X")


def test_defaults_apply_only_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GLMTTS_T_X", raising=False)
    assert env_int("GLMTTS_T_X", 7) == 7
    monkeypatch.setenv("GLMTTS_T_X", "9")
    assert env_int("GLMTTS_T_X", 7) == 9


@pytest.mark.parametrize("reader,value", [(env_int, "80a"), (env_bool, "ture"), (env_float, "fast")])
def test_bad_values_fail_loudly(monkeypatch: pytest.MonkeyPatch, reader: object, value: str) -> None:
    monkeypatch.setenv("GLMTTS_T_X", value)
    with pytest.raises(ImproperlyConfigured, match="GLMTTS_T_X"):
        reader("GLMTTS_T_X", None)  # type: ignore[operator]


def test_minimum_is_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLMTTS_T_X", "-1")
    with pytest.raises(ImproperlyConfigured, match=">= 0"):
        env_int("GLMTTS_T_X", 0, minimum=0)


def test_bool_and_list_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLMTTS_T_B", "Yes")
    monkeypatch.setenv("GLMTTS_T_L", "a.example, b.example,,")
    assert env_bool("GLMTTS_T_B", False) is True
    assert env_list("GLMTTS_T_L", []) == ["a.example", "b.example"]
