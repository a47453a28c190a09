"""Shared fixtures: a CI hypothesis profile, the configured symbols, small engines."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from bot4.core.accounts import Ledger
from bot4.core.instruments import Instrument, SymbolSpec, load_symbols
from bot4.sim.engine import MatchingEngine

if TYPE_CHECKING:
    from tests.prometheus_server import PrometheusServer

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS_FILE = ROOT / "configs" / "symbols.toml"

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def simple_spec(**overrides: object) -> SymbolSpec:
    """A small test symbol: tick 0.01, lot 0.001, no price bands, min notional 1."""
    data: dict[str, object] = {
        "symbol": "TESTUSDT",
        "baseAsset": "TEST",
        "quoteAsset": "USDT",
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.01",
                "maxPrice": "100000",
                "tickSize": "0.01",
            },
            {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
        ],
    }
    data.update(overrides)
    return SymbolSpec.model_validate(data)


@pytest.fixture(scope="session")
def instruments() -> dict[str, Instrument]:
    return load_symbols(SYMBOLS_FILE)


@pytest.fixture()
def btc(instruments: dict[str, Instrument]) -> Instrument:
    return instruments["BTCUSDT"]


def funded_engine(
    instrument: Instrument, accounts: tuple[str, ...] = ("alice", "bob"), **kwargs: object
) -> MatchingEngine:
    """An engine whose accounts each hold plenty of base and quote."""
    ledger = Ledger()
    for account in accounts:
        ledger.deposit(account, instrument.base, int(Decimal(1000) / instrument.base_unit))
        ledger.deposit(account, instrument.quote, int(Decimal(10**8) / instrument.quote_unit))
    return MatchingEngine(instrument, ledger, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free loopback port for the session: its URL.

    Fails (does not skip) when redis-server is not installed, saying how to install it."""
    from tests.redis_server import RedisServer, RedisServerMissing

    server = RedisServer()
    try:
        server.start()
    except RedisServerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """One local Ray instance for the whole test session (2 CPUs).

    The dashboard is on because its head process is what writes the Prometheus
    service-discovery file that the ``prometheus`` fixture scrapes from."""
    import ray

    ray.init(num_cpus=2, include_dashboard=True, namespace="bot4", log_to_driver=False,
             resources={"symbol_BNBUSDT": 1},  # a node resource to pin a symbol to
             _system_config={"metrics_report_interval_ms": 1000})  # metrics out every 1 s
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def prometheus(ray_local: None) -> Iterator[PrometheusServer]:
    """A real Prometheus on a free loopback port, scraping this session's Ray every second.

    It reads its targets from the service-discovery file that Ray's dashboard head writes in
    the session directory, ``<session_dir>/prom_metrics_service_discovery.json`` (e.g.
    ``/tmp/ray/session_2026-..._<pid>/``; *not* the ``/tmp/ray/prom_metrics_service_discovery.json``
    symlink, which points at whichever Ray session on the machine started last). Yielded once
    the node's metrics agent has been scraped (``up == 1``). Fails (does not skip) when
    prometheus is not installed, saying how to install it.

    Names of ``ray.util.metrics`` metrics in Prometheus (Ray 2.60, checked by
    tests/test_prometheus_server.py): Ray prefixes ``ray_`` to the name; a ``Counter("x")``
    becomes ``ray_x_total`` (a name already ending in ``_total`` keeps a single one:
    ``Counter("x_total")`` is ``ray_x_total``); a ``Gauge("x")`` is ``ray_x``; a
    ``Histogram("x")`` gives ``ray_x_bucket`` (with ``le``), ``ray_x_sum`` and ``ray_x_count``.
    Ray's ``_sum`` is approximate: each observation counts as the midpoint of its bucket.
    Every series also carries ``job="ray"``, ``instance``, ``Component``, ``NodeAddress``,
    ``SessionName``, ``Version``, ``WorkerId`` and ``otel_scope_*`` labels besides its tags.
    Workers push their metrics to the agent every 10 s (Ray's ``metrics_report_interval_ms``),
    so allow ~15 s between recording a value and seeing it in a query."""
    import ray

    from tests.prometheus_server import (
        PrometheusMissing,
        PrometheusServer,
        find_prometheus,
        wait_for_service_discovery,
    )

    try:
        find_prometheus()
    except PrometheusMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    session_dir = ray._private.worker.global_worker.node.get_session_dir_path()
    sd_file = os.path.join(session_dir, "prom_metrics_service_discovery.json")
    agents = [f"{node['NodeManagerAddress']}:{node['MetricsExportPort']}"
              for node in ray.nodes() if node["Alive"]]  # fmt: skip
    wait_for_service_discovery(sd_file, agents, timeout=60)
    server = PrometheusServer(sd_file)
    server.start()
    try:
        for agent in agents:
            server.wait_for(f'up{{job="ray", instance="{agent}"}} == 1', timeout=30)
        yield server
    finally:
        server.stop()
