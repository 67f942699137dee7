"""Server-rendered pages. Account pages reuse Django's auth views with our templates."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods

from accounts.services import user_create
from glmtts_site.ratelimit import RateLimited, client_ip, rate_limit
from workers.engine_registry import engine_class, offered_engine_ids

from .forms import SignupForm, ThrottledAuthenticationForm, ThrottledPasswordChangeForm


def _engines() -> list[dict[str, Any]]:
    """The offered engines with what a page says of them (no model is loaded)."""
    return [{"id": engine_id, "name": getattr(engine_class(engine_id), "display_name", engine_id),
             "clones_voices": getattr(engine_class(engine_id), "clones_voices", False)}
            for engine_id in offered_engine_ids()]


@login_required
@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/home.html", {"engines": _engines(), "default_engine": settings.DEFAULT_ENGINE})


@login_required
@ensure_csrf_cookie  # the page's scripts send the token back in X-CSRFToken
def voices_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/voices.html")


@login_required
@ensure_csrf_cookie
def history_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/history.html", {"engines": _engines()})


@login_required
@ensure_csrf_cookie
def tokens_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/tokens.html")


@require_GET
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever a page links; the icon is an SVG among the static files
    (its hashed name is looked up per request, so a missing manifest never breaks URL loading)."""
    return redirect(static("frontend/favicon.svg"))


class ThrottledLoginView(auth_views.LoginView):
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 429 if getattr(form, "throttled", False) else 400
        return response


class ThrottledPasswordChangeView(auth_views.PasswordChangeView):
    form_class = ThrottledPasswordChangeForm

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 429 if getattr(form, "throttled", False) else 400
        return response


@csrf_protect
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        try:
            rate_limit("signup", client_ip(request))
        except RateLimited as exc:
            form.add_error(None, exc.message)
            return render(request, "registration/signup.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        user = user_create(username=form.cleaned_data["username"],
                           password=form.cleaned_data["password1"],
                           email=form.cleaned_data.get("email") or "")
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)
