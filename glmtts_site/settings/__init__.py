"""Settings package: base (shared), dev (default), test, production."""
