"""Prometheus metrics: what the web exports at /metrics, what workers push through Redis.

Every name is listed in `names.py`; the Grafana dashboard in deploy/grafana/ uses only those names
(tests/glmtts_site/metrics/test_dashboard.py holds the two in step).
"""
