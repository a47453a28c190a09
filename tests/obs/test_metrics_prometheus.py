"""The dashboards against a real Prometheus: a short platform workload on the session's Ray
makes every kind of event, then every PromQL expression in `dashboards/` must return data
through Prometheus's HTTP API. A metric renamed in code without its panel fails here."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
import ray

import bot4
from bot4.actors.simulator import SimulatorActor
from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import Bot4Error
from bot4.core.orders import NewOrder
from bot4.jobs.platform import demo_model
from bot4.obs.dashboards import expressions, load_dashboards
from bot4.service.commands import Command
from tests.conftest import SYMBOLS_FILE
from tests.support.prometheus_server import PrometheusServer

BUY, SELL, GTC = Side.BUY, Side.SELL, TimeInForce.GTC
BTC, ETH = 3_000_000, 200_000
RISK = """
valuation_asset = "USDT"
[account]
max_daily_loss = "500"
[breaker]
min_events = 1000
"""


def limit(account: str, side: Side, lots: int, price: int) -> NewOrder:
    return NewOrder(account, side, OrderType.LIMIT, lots, price, GTC)


def test_every_dashboard_expression_returns_data(tmp_path: Path,
                                                 prometheus: PrometheusServer) -> None:  # fmt: skip
    risk_file = tmp_path / "risk.toml"
    risk_file.write_text(RISK)
    client = bot4.connect(symbols=["BTCUSDT", "ETHUSDT"], journal_dir=tmp_path / "j",
                          fsync="never", reference_prices={"BTCUSDT": BTC, "ETHUSDT": ETH},
                          risk_file=risk_file, keep_events=20, max_pending_calls=4)  # fmt: skip
    simulator = None
    try:
        for account in ("u", "m", "t"):
            for symbol, base in (("BTCUSDT", "BTC"), ("ETHUSDT", "ETH")):
                client.deposit(account, symbol, "USDT", 10**16)
                client.deposit(account, symbol, base, 10**14)
        # fills, fees and notional; a loss that breaches u's daily limit
        client.submit("BTCUSDT", limit("m", SELL, 100_000, BTC), 1)
        client.submit("BTCUSDT", limit("u", BUY, 100_000, BTC), 2)
        client.submit("BTCUSDT", limit("t", SELL, 1_000, BTC - 60_000), 3)
        client.lane("BTCUSDT").submit(limit("m", BUY, 1_000, BTC - 60_000), 4)
        ray.get(client.actors["BTCUSDT"].flush_report.remote(), timeout=30)
        with pytest.raises(Bot4Error):
            client.submit("BTCUSDT", limit("nobody", BUY, 1_000, BTC), 5)  # a reject
        client.submit_batch({"ETHUSDT": [limit("t", BUY, 1_000, ETH - i) for i in range(30)]}, 6)
        client.events("ETHUSDT")  # the actor keeps 20 of 30 reports: a gap of 10
        client.kill("t", 7)
        sends = []
        with pytest.raises(Bot4Error):  # a full mailbox sheds
            for i in range(200):
                sends.append(client.send("ETHUSDT", "handle", Command(
                    "submit", limit("m", SELL, 1_000, ETH + 100 + i), 8)))  # fmt: skip
        ray.get(sends, timeout=60)
        simulator = SimulatorActor.remote(  # type: ignore[attr-defined]
            str(SYMBOLS_FILE),
            "BTCUSDT",
            demo_model("BTCUSDT", Decimal(30_000), 20).to_dict(),
            1,
            {"levels": 3},
        )
        ray.get(simulator.step.remote(1_000_000, 2_000_000, BTC), timeout=120)
        deadline = time.monotonic() + 60
        while client.risk_states().get("u") != "REDUCE_ONLY":
            assert time.monotonic() < deadline, "no breach"
            time.sleep(0.1)
        ray.get([a.flush_metrics.remote() for a in client.actors.values()]
                + [client.risk.flush_metrics.remote(), simulator.flush_metrics.remote()],
                timeout=60)  # fmt: skip
        client.exporter.flush()
        missing = []
        for dashboard in load_dashboards():
            for expr in expressions(dashboard):
                try:
                    prometheus.wait_for(expr, timeout=45)
                except Exception as exc:  # collect them all, then fail once
                    missing.append(f"{expr}: {exc}")
        assert not missing, "\n".join(missing)
    finally:
        if simulator is not None:
            ray.kill(simulator)
        client.shutdown()
