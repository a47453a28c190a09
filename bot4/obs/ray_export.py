"""Push a `Recorder` into `ray.util.metrics`, so its values reach Ray's Prometheus endpoint
and the Ray dashboard.

A Ray metric call costs a few microseconds, too much for every order, so an actor records
into its `Recorder` and flushes now and then (`maybe_flush`: at most every `interval_s`;
`keep_alive`: also from a thread while the actor idles). A flush adds each counter's growth
since the last flush, sets every gauge (Ray stops exporting a gauge that is not set for about
20 s) and replays each histogram's new observations as observations inside their bucket, so
Prometheus puts them in the very same bucket. When a histogram has more new observations than
`max_observations` per flush, they are thinned in proportion per bucket (quantiles keep their
value; read rates from the counters, not from the histogram's count).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from bot4.obs.recorder import Key, Recorder


def _inside(bounds: tuple[float, ...], index: int) -> float:
    """A value well inside bucket `index` (between its bounds, whichever end is open)."""
    if index >= len(bounds):
        return bounds[-1] * 2
    if index == 0:
        return bounds[0] / 2 if bounds[0] > 0 else bounds[0] - 1
    return (
        (bounds[index - 1] * bounds[index]) ** 0.5
        if bounds[index - 1] > 0
        else (bounds[index - 1] + bounds[index]) / 2
    )


class RayExporter:
    """`ray.util.metrics` fed from a `Recorder`."""

    def __init__(self, recorder: Recorder, *, interval_s: float = 1.0,
                 max_observations: int = 2_000) -> None:  # fmt: skip
        self.recorder = recorder
        self.interval_s = interval_s
        self.max_observations = max_observations
        self._metrics: dict[str, Any] = {}
        self._counters: dict[Key, float] = {}
        self._buckets: dict[Key, list[int]] = {}
        self._carry: dict[Key, list[float]] = {}
        self._last = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

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

    def keep_alive(self) -> threading.Thread:
        """Flush every `interval_s` from a daemon thread too, so gauges stay exported (and
        counters go out) while the owner is idle. Only `flush` runs there: whatever feeds the
        recorder stays on the owner's thread."""

        def loop() -> None:
            while not self._stop.wait(self.interval_s):
                with contextlib.suppress(Exception):  # never take the owner down
                    self.flush()

        thread = threading.Thread(target=loop, name="bot4-metrics", daemon=True)
        thread.start()
        self._thread = thread
        return thread

    def stop(self, timeout_s: float = 10.0) -> None:
        """End the `keep_alive` thread and wait (up to `timeout_s`) for a flush it is in, so
        no Ray call of it races the process's exit (Ray's own shutdown at exit)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def due(self) -> bool:
        """Whether `interval_s` has passed since the last `flush`."""
        return time.monotonic() - self._last >= self.interval_s

    def maybe_flush(self) -> None:
        """`flush` if it is due."""
        if self.due():
            self.flush()

    def flush(self) -> int:
        """Publish what changed (and every gauge); returns how many Ray metric calls it made."""
        with self._lock:
            return self._flush()

    def _flush(self) -> int:
        self._last = time.monotonic()
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
        for key, value in list(rec.gauges.items()):  # every time: Ray drops a gauge not set
            name, tags = key  # for about 20 s
            self._metric(name).set(value, tags=dict(zip(rec.specs[name].tags, tags,
                                                        strict=True)))  # fmt: skip
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
            value = _inside(bounds, index)
            for _ in range(times):
                metric.observe(value, tags=tag_map)
            calls += times
        return calls
