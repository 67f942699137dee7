"""GET /metrics: Prometheus text format, for a scraper that proves who it is.

Off (404) unless METRICS_TOKEN or METRICS_ALLOW_IPS is set; with both set, a scrape needs both. The
address checked is the socket's peer, never a forwarded header: Prometheus scrapes each web node
directly, and a header could be forged by anyone who reaches the node past the proxy.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterator
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from glmtts_site.errors import error_body
from workers.metrics import registry as worker_registry

from .cluster import ClusterCollector

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: str) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _address_allowed(remote_addr: str, spec: str) -> bool:
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in network for network in _networks(spec))


def _token_matches(request: HttpRequest, token: str) -> bool:
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(sent) and hmac.compare_digest(sent.encode(), token.encode())


def _refusal(request: HttpRequest) -> JsonResponse | None:
    token, allowed = settings.METRICS_TOKEN, settings.METRICS_ALLOW_IPS
    if not token and not allowed:
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    if allowed and not _address_allowed(str(request.META.get("REMOTE_ADDR", "")), allowed):
        return JsonResponse(error_body("forbidden", "This address may not read metrics."), status=403)
    if token and not _token_matches(request, token):
        refused = JsonResponse(error_body("not_authenticated", "Send the metrics bearer token."), status=401)
        refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    return None


class _OwnFamilies(Collector):
    """The multiprocess files hold every process's samples, workers' too where one shares the folder;
    workers are exported from their Redis snapshots, so only the web's own names pass here."""

    def __init__(self, inner: Collector, excluded: frozenset[str]) -> None:
        self.inner, self.excluded = inner, excluded

    def collect(self) -> Iterator[Metric]:
        yield from (family for family in self.inner.collect() if family.name not in self.excluded)


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiprocess_dir:
        registry.register(_OwnFamilies(MultiProcessCollector(None, path=multiprocess_dir), _worker_names()))
    else:
        registry.register(_Delegate(REGISTRY))  # this process's metrics and its process_* facts
    registry.register(ClusterCollector())
    return registry


@lru_cache(maxsize=1)
def _worker_names() -> frozenset[str]:
    return frozenset(family.name for family in worker_registry.collect())


class _Delegate(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


@csrf_exempt  # safe methods only
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refused = _refusal(request)
    if refused is not None:
        return refused
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
