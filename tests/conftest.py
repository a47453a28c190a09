"""Shared fixtures: a CI hypothesis profile, the configured symbols, small engines."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from bot4.core.accounts import Ledger
from bot4.core.instruments import Instrument, SymbolSpec, load_symbols
from bot4.sim.engine import MatchingEngine

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
    """One local Ray instance for the whole test session (2 CPUs, no dashboard)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, namespace="bot4", log_to_driver=False,
             resources={"symbol_BNBUSDT": 1})  # a node resource to pin a symbol to
    try:
        yield
    finally:
        ray.shutdown()
