"""Metric values kept in plain dicts, cheap enough for the order path; exporters read them.

A `Recorder` holds counters, gauges and histograms keyed by (metric name, tag values). An
update is a dict operation (a histogram adds a bisect), with no lock and no exporter call, so
a symbol can count every order. Exporters publish the values elsewhere:

- `PromCollector` hands them to prometheus-client at scrape time (a script, or anything
  outside Ray: `serve(recorder, port)` or `registry.register(PromCollector(recorder))`);
- `bot4.obs.ray_export.RayExporter` pushes them into `ray.util.metrics` from a Ray actor.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from bot4.obs.catalogue import BY_NAME, Spec

Key = tuple[str, tuple[str, ...]]  # (metric, tag values in the spec's tag order)


class Histogram:
    """Counts per bucket (the last one is +Inf) and the sum of what was observed."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def quantile(self, q: float) -> float:
        """The upper bound of the bucket that holds quantile `q` (0 when empty)."""
        n = self.count
        if not n:
            return 0.0
        rank = q * n
        seen = 0
        for index, c in enumerate(self.counts):
            seen += c
            if seen >= rank and c:
                return self.bounds[index] if index < len(self.bounds) else float("inf")
        return float("inf")  # pragma: no cover - rank <= n always lands above


class Recorder:
    """Counters, gauges and histograms of the catalogue (`bot4.obs.catalogue`)."""

    def __init__(self, specs: dict[str, Spec] | None = None) -> None:
        self.specs = dict(specs or BY_NAME)
        self.counters: dict[Key, float] = {}
        self.gauges: dict[Key, float] = {}
        self.histograms: dict[Key, Histogram] = {}

    def _check(self, name: str, tags: tuple[str, ...], kind: str) -> Spec:
        spec = self.specs.get(name)
        if spec is None or spec.kind != kind:
            raise KeyError(f"{name!r} is not a {kind} of the catalogue")
        if len(tags) != len(spec.tags):
            raise ValueError(f"{name} takes tags {spec.tags}, got {tags}")
        return spec

    def inc(self, name: str, tags: tuple[str, ...] = (), value: float = 1) -> None:
        key = (name, tags)
        counters = self.counters
        if key not in counters:
            self._check(name, tags, "counter")
            counters[key] = 0
        if value < 0:
            raise ValueError("a counter only goes up")
        counters[key] += value

    def advance(self, name: str, tags: tuple[str, ...], total: float) -> None:
        """Set a counter to a running total kept elsewhere (it never goes down)."""
        key = (name, tags)
        if key not in self.counters:
            self._check(name, tags, "counter")
            self.counters[key] = 0
        if total > self.counters[key]:
            self.counters[key] = total

    def merge(self, name: str, tags: tuple[str, ...], counts: Sequence[int], total: float) -> None:
        """Add per-bucket counts (same buckets as the spec, +Inf last) and their sum."""
        key = (name, tags)
        hist = self.histograms.get(key)
        if hist is None:
            spec = self._check(name, tags, "histogram")
            hist = self.histograms[key] = Histogram(spec.buckets)
        if len(counts) != len(hist.counts):
            raise ValueError(f"{name} has {len(hist.counts)} buckets, got {len(counts)}")
        for index, n in enumerate(counts):
            hist.counts[index] += n
        hist.total += total

    def set(self, name: str, tags: tuple[str, ...], value: float) -> None:
        key = (name, tags)
        if key not in self.gauges:
            self._check(name, tags, "gauge")
        self.gauges[key] = value

    def observe(self, name: str, tags: tuple[str, ...], value: float) -> None:
        key = (name, tags)
        hist = self.histograms.get(key)
        if hist is None:
            spec = self._check(name, tags, "histogram")
            hist = self.histograms[key] = Histogram(spec.buckets)
        hist.observe(value)

    def value(self, name: str, tags: tuple[str, ...] = ()) -> float:
        """A counter's or gauge's value (0 when never set)."""
        key = (name, tags)
        return self.counters.get(key, self.gauges.get(key, 0))

    def total(self, name: str) -> float:
        """A counter summed over all its tags."""
        return sum(v for (n, _), v in self.counters.items() if n == name)


class PromCollector:
    """prometheus-client's view of a `Recorder`, read at each scrape."""

    def __init__(self, recorder: Recorder, before: Callable[[], None] | None = None) -> None:
        """`before` runs first at each scrape (e.g. `SymbolMetrics.publish`)."""
        self.recorder = recorder
        self.before = before

    def describe(self) -> list[Any]:
        return []  # the metric set grows with the tags seen; no fixed description

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        if self.before is not None:
            self.before()
        rec = self.recorder
        families: dict[str, Any] = {}
        for (name, tags), value in sorted(rec.counters.items()):
            spec = rec.specs[name]
            fam = families.get(name) or families.setdefault(
                name, CounterMetricFamily(name, spec.help, labels=spec.tags)
            )
            fam.add_metric(list(tags), value)
        for (name, tags), value in sorted(rec.gauges.items()):
            spec = rec.specs[name]
            fam = families.get(name) or families.setdefault(
                name, GaugeMetricFamily(name, spec.help, labels=spec.tags)
            )
            fam.add_metric(list(tags), value)
        for (name, tags), hist in sorted(rec.histograms.items()):
            spec = rec.specs[name]
            fam = families.get(name) or families.setdefault(
                name, HistogramMetricFamily(name, spec.help, labels=spec.tags)
            )
            cumulative, buckets = 0, []
            for bound, count in zip((*hist.bounds, float("inf")), hist.counts, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            fam.add_metric(list(tags), buckets, hist.total)
        yield from families.values()


def serve(recorder: Recorder, port: int, addr: str = "127.0.0.1",
          before: Callable[[], None] | None = None) -> Any:  # fmt: skip
    """Expose `recorder` on http://addr:port/metrics (prometheus-client's server, in a
    thread); returns (server, thread), so the caller can `server.shutdown()`."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(PromCollector(recorder, before))
    return start_http_server(port, addr=addr, registry=registry)
