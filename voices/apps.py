from __future__ import annotations

from django.apps import AppConfig


class VoicesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "voices"
    verbose_name = "Voice library"
