from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, UserCreationForm
from django.core.exceptions import ValidationError

from accounts.services import login_failed, login_wait_s, password_checked
from glmtts_site.errors import ApiError
from glmtts_site.ratelimit import RateLimited, client_ip


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False, help_text="Optional; used only for password resets.")

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class ThrottledAuthenticationForm(AuthenticationForm):
    """Sign-in with failures throttled per username and per address (accounts.services): past the
    limit even the right password waits, so passwords cannot be guessed at speed."""

    throttled = False

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        ip = client_ip(self.request) if self.request is not None else "unknown"
        wait = login_wait_s(username=username, ip=ip)
        if wait > 0:
            self.throttled = True
            raise ValidationError(f"Too many failed sign-ins; try again in {int(wait) + 1} seconds.",
                                  code="throttled")
        try:
            return super().clean()
        except ValidationError:
            login_failed(username=username, ip=ip)
            raise


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """The old password is checked with the same failure throttle as the password API."""

    throttled = False

    def clean_old_password(self) -> str:
        old_password = str(self.cleaned_data["old_password"])
        try:
            password_checked(user=self.user, password=old_password, field="old_password")
        except RateLimited as exc:
            self.throttled = True
            raise ValidationError(exc.message, code="throttled") from exc
        except ApiError as exc:
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect") from exc
        return old_password
