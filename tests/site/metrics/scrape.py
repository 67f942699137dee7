"""Scrape /metrics the way Prometheus does and read samples out of the text format."""

from __future__ import annotations

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

TOKEN = "metrics-test-token"


def scrape(client: Client | None = None) -> list[Sample]:
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return [sample for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples]


def family_names(client: Client | None = None) -> set[str]:
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    return {family.name for family in text_string_to_metric_families(response.content.decode())}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sample's value; 0 when the labelled child does not exist yet (as Prometheus reads it)."""
    for sample in samples:
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return 0.0
