"""GLM-TTS Portal: Django project package (settings, ASGI entry point, URLs)."""
