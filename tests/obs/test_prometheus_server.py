"""The ``prometheus`` fixture: a real Prometheus that scrapes the test session's Ray.

A ``ray.util.metrics`` Counter recorded in an actor must show up in a PromQL query, under the
name Ray exports it with (``ray_`` prefix), with its tags as labels."""

from __future__ import annotations

import uuid

import pytest
import ray
from ray.util import metrics

from tests.support import prometheus_server
from tests.support.prometheus_server import PrometheusError, PrometheusMissing, PrometheusServer

# ray.util.metrics.Counter("bot4_fixture_probe_total") as Prometheus shows it (see the fixture)
PROBE_SERIES = "ray_bot4_fixture_probe_total"


@ray.remote(num_cpus=0)
class _Probe:
    def __init__(self) -> None:
        self.counter = metrics.Counter(
            "bot4_fixture_probe_total",
            description="Increments by the prometheus fixture's test.",
            tag_keys=("probe",),
        )

    def bump(self, probe: str, by: float) -> None:
        self.counter.inc(by, tags={"probe": probe})


def test_a_counter_recorded_in_an_actor_reaches_prometheus(prometheus: PrometheusServer) -> None:
    probe = uuid.uuid4().hex  # a tag value no earlier run (or other series) can have
    actor = _Probe.remote()  # type: ignore[attr-defined]
    try:
        ray.get(actor.bump.remote(probe, 3.0), timeout=30)
        series = prometheus.wait_for(f'{PROBE_SERIES}{{probe="{probe}"}}', timeout=60)
    finally:
        ray.kill(actor)
    assert len(series) == 1
    labels = series[0]["metric"]
    assert labels["__name__"] == PROBE_SERIES
    assert labels["probe"] == probe
    assert labels["job"] == "ray"
    assert float(series[0]["value"][1]) == 3.0
    # the un-prefixed name Ray was given is not a series of its own
    assert prometheus.query(f'bot4_fixture_probe_total{{probe="{probe}"}}') == []


def test_targets_lists_the_ray_metrics_agent_as_up(prometheus: PrometheusServer) -> None:
    targets = prometheus.targets()
    agents = {f"{n['NodeManagerAddress']}:{n['MetricsExportPort']}" for n in ray.nodes()}
    up = {t["labels"]["instance"] for t in targets if t["health"] == "up"}
    assert agents <= up


def test_a_bad_query_raises(prometheus: PrometheusServer) -> None:
    with pytest.raises(PrometheusError, match="bad_data"):
        prometheus.query("rate(")


def test_wait_for_gives_up_after_its_timeout(prometheus: PrometheusServer) -> None:
    with pytest.raises(PrometheusError, match=r"no series for .* within 0\.5s; targets: .*=up"):
        prometheus.wait_for("bot4_no_such_metric_anywhere", timeout=0.5)


def test_a_missing_prometheus_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prometheus_server.shutil, "which", lambda name: None)
    monkeypatch.setattr(prometheus_server, "_FALLBACK_PATHS", ("/nonexistent/prometheus",))
    with pytest.raises(PrometheusMissing, match=r"apt-get install -y prometheus.*make test"):
        PrometheusServer("/nonexistent/sd.json").start()
