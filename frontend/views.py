"""Server-rendered pages. Account pages reuse Django's auth views with our templates."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from accounts.services import user_create
from workers.engines.registry import offered_engine_ids

from .forms import SignupForm


@login_required
@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    context = {"engines": offered_engine_ids(), "default_engine": settings.DEFAULT_ENGINE}
    return render(request, "frontend/home.html", context)


@login_required
@ensure_csrf_cookie  # the page's scripts send the token back in X-CSRFToken
def voices_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/voices.html")


@login_required
@ensure_csrf_cookie
def history_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/history.html")


@login_required
@ensure_csrf_cookie
def tokens_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/tokens.html")


@csrf_protect
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = user_create(username=form.cleaned_data["username"],
                           password=form.cleaned_data["password1"],
                           email=form.cleaned_data.get("email") or "")
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)
