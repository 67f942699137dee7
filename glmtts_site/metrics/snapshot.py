"""A registry's samples as JSON and back: how a worker's metrics reach the web's /metrics.

Workers run on other machines (one per GPU) behind no HTTP port of their own; each writes this
snapshot to Redis with its heartbeat, and the web exports every live worker's samples with a
`worker` label. Counters restart with a worker, which Prometheus' rate() treats as a reset.
No Django here: the format is the registry's own (families, types, samples).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

SNAPSHOT_VERSION = 1


def registry_snapshot(registry: Collector) -> str:
    families = [{"name": family.name, "type": family.type, "help": family.documentation, "unit": family.unit,
                 "samples": [[sample.name, sample.labels, sample.value] for sample in family.samples]}
                for family in registry.collect()]
    return json.dumps({"v": SNAPSHOT_VERSION, "families": families}, separators=(",", ":"))


def merged_families(snapshots: Iterable[tuple[str, str]], *, label: str = "worker") -> list[Metric]:
    """One family per name across (source id, snapshot) pairs, each sample labelled with its source.
    A snapshot that does not parse (another version, a torn write) is skipped, not raised."""
    merged: dict[str, Metric] = {}
    for source, raw in snapshots:
        try:
            document = json.loads(raw)
            if document.get("v") != SNAPSHOT_VERSION:
                continue
            for family in document["families"]:
                metric = merged.get(family["name"])
                if metric is None:
                    metric = merged[family["name"]] = Metric(family["name"], family["help"], family["type"],
                                                             family.get("unit", ""))
                for name, labels, value in family["samples"]:
                    metric.add_sample(name, {**labels, label: source}, float(value))
        except (ValueError, KeyError, TypeError):
            continue
    return list(merged.values())
