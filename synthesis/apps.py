from __future__ import annotations

from django.apps import AppConfig


class SynthesisConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "synthesis"
    verbose_name = "Synthesis jobs and result cache"

    def ready(self) -> None:
        from synthesis import signals  # noqa: F401  (a deleted job's reference copy is deleted with it)
