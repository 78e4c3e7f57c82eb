"""Reading a ``/metrics`` page as Prometheus does, and the families docs/metrics.md lists."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def exposed_name(family: Metric) -> str:
    """The name as written on the page: the parser drops a counter's ``_total``."""
    return f"{family.name}_total" if family.type == "counter" else family.name


@dataclass(frozen=True)
class Scrape:
    families: dict[str, Metric]

    def value(self, sample: str, **labels: str) -> float:
        """The one sample called ``sample`` with exactly ``labels``."""
        found = [
            s.value
            for family in self.families.values()
            for s in family.samples
            if s.name == sample and s.labels == labels
        ]
        assert len(found) == 1, f"{sample}{labels}: {len(found)} samples"
        return float(found[0])

    def total(self, sample: str, **labels: str) -> float:
        """The sum of the samples called ``sample`` whose labels include ``labels``."""
        return float(
            sum(
                s.value
                for family in self.families.values()
                for s in family.samples
                if s.name == sample and labels.items() <= s.labels.items()
            )
        )

    def label_values(self, sample: str, label: str) -> set[str]:
        return {
            s.labels[label]
            for family in self.families.values()
            for s in family.samples
            if s.name == sample and label in s.labels
        }


def parse(text: str) -> Scrape:
    """Parse an exposition page; a page Prometheus would refuse fails here."""
    return Scrape({exposed_name(f): f for f in text_string_to_metric_families(text)})


@dataclass(frozen=True)
class Documented:
    name: str
    type: str
    labels: frozenset[str]
    served_by: str


_ROW = re.compile(r"^\| `(fleet_[a-z_]+)` \| (\w+) \| ([^|]*) \| (\w+) \|")


def documented() -> dict[str, Documented]:
    """Every ``fleet_*`` family in the table of docs/metrics.md."""
    rows: dict[str, Documented] = {}
    for line in DOC.read_text().splitlines():
        match = _ROW.match(line)
        if match:
            name, kind, labels, served_by = match.groups()
            rows[name] = Documented(
                name, kind, frozenset(re.findall(r"`([a-z_]+)`", labels)), served_by
            )
    return rows
