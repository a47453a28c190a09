"""Push a `Recorder` into `ray.util.metrics`, so its values reach Ray's Prometheus endpoint
and the Ray dashboard.

A Ray metric call costs a few microseconds, too much for every order, so an actor records
into its `Recorder` and calls `flush()` now and then (`maybe_flush` at most every
`interval_s`). A flush adds each counter's growth since the last flush, sets each gauge that
changed, and replays each histogram's new observations as observations at their bucket's upper
bound (Prometheus puts them in the very same bucket). When a histogram has more new
observations than `max_observations` per flush, they are thinned in proportion per bucket
(quantiles keep their value; use the counters, not the histogram's count, for rates).
"""

from __future__ import annotations

import time
from typing import Any

from bot4.obs.recorder import Key, Recorder


class RayExporter:
    """`ray.util.metrics` fed from a `Recorder`."""

    def __init__(self, recorder: Recorder, *, interval_s: float = 1.0,
                 max_observations: int = 2_000) -> None:  # fmt: skip
        self.recorder = recorder
        self.interval_s = interval_s
        self.max_observations = max_observations
        self._metrics: dict[str, Any] = {}
        self._counters: dict[Key, float] = {}
        self._gauges: dict[Key, float] = {}
        self._buckets: dict[Key, list[int]] = {}
        self._carry: dict[Key, list[float]] = {}
        self._last = 0.0

    def _metric(self, name: str) -> Any:
        metric = self._metrics.get(name)
        if metric is None:
            from ray.util import metrics

            spec = self.recorder.specs[name]
            if spec.kind == "counter":
                metric = metrics.Counter(name, spec.help, tag_keys=spec.tags)
            elif spec.kind == "gauge":
                metric = metrics.Gauge(name, spec.help, tag_keys=spec.tags)
            else:
                metric = metrics.Histogram(name, spec.help, boundaries=list(spec.buckets),
                                           tag_keys=spec.tags)  # fmt: skip
            self._metrics[name] = metric
        return metric

    def maybe_flush(self) -> None:
        """`flush` if `interval_s` has passed since the last one."""
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            self.flush()

    def flush(self) -> int:
        """Publish what changed; returns how many Ray metric calls it made."""
        rec = self.recorder
        calls = 0
        for key, value in list(rec.counters.items()):
            delta = value - self._counters.get(key, 0)
            if delta > 0:
                name, tags = key
                self._metric(name).inc(delta, tags=dict(zip(rec.specs[name].tags, tags,
                                                            strict=True)))  # fmt: skip
                self._counters[key] = value
                calls += 1
        for key, value in list(rec.gauges.items()):
            if self._gauges.get(key) != value:
                name, tags = key
                self._metric(name).set(value, tags=dict(zip(rec.specs[name].tags, tags,
                                                            strict=True)))  # fmt: skip
                self._gauges[key] = value
                calls += 1
        for key, hist in list(rec.histograms.items()):
            calls += self._flush_histogram(key, hist.bounds, hist.counts)
        return calls

    def _flush_histogram(self, key: Key, bounds: tuple[float, ...], counts: list[int]) -> int:
        seen = self._buckets.setdefault(key, [0] * len(counts))
        carry = self._carry.setdefault(key, [0.0] * len(counts))
        new = [c - s for c, s in zip(counts, seen, strict=True)]
        self._buckets[key] = list(counts)
        total = sum(new)
        if not total:
            return 0
        scale = min(1.0, self.max_observations / total)
        name, tags = key
        metric = self._metric(name)
        tag_map = dict(zip(self.recorder.specs[name].tags, tags, strict=True))
        calls = 0
        for index, n in enumerate(new):
            if not n:
                continue
            want = n * scale + carry[index]
            times = int(want)
            carry[index] = want - times
            value = bounds[index] if index < len(bounds) else bounds[-1] * 2
            for _ in range(times):
                metric.observe(value, tags=tag_map)
            calls += times
        return calls
