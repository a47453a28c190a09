"""Metrics: the recorder, its prometheus-client view (scraped over HTTP), the Ray exporter's
thinning, and what a symbol's orders turn into."""

from __future__ import annotations

import itertools
import socket
import time
import urllib.request

import pytest

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.instruments import Instrument
from bot4.core.orders import NewOrder
from bot4.obs.catalogue import LATENCY_BUCKETS, SPECS, log_buckets
from bot4.obs.observe import SymbolMetrics, TimedJournal
from bot4.obs.recorder import Histogram, Recorder, serve
from bot4.service.commands import Command, Deposit
from bot4.service.journal import MemoryJournal
from bot4.service.symbol import SymbolService


def test_catalogue_names_are_unique_and_buckets_fine_enough_for_p999() -> None:
    assert len({s.name for s in SPECS}) == len(SPECS)
    assert all(s.name.startswith("bot4_") and not s.name.endswith("_total") for s in SPECS)
    assert all(s.buckets == LATENCY_BUCKETS for s in SPECS if s.kind == "histogram")
    ratios = [b / a for a, b in itertools.pairwise(LATENCY_BUCKETS)]
    assert max(ratios) < 1.3 and LATENCY_BUCKETS[0] == 1e-6 and LATENCY_BUCKETS[-1] == 10.0
    assert log_buckets(1, 100, 1) == (1.0, 10.0, 100.0)


def test_recorder_counts_and_refuses_what_the_catalogue_lacks() -> None:
    rec = Recorder()
    rec.inc("bot4_rejects", ("BTCUSDT", "-2010"))
    rec.inc("bot4_rejects", ("BTCUSDT", "-2010"), 2)
    rec.set("bot4_mailbox_depth", ("BTCUSDT",), 7)
    assert rec.value("bot4_rejects", ("BTCUSDT", "-2010")) == 3
    assert rec.value("bot4_mailbox_depth", ("BTCUSDT",)) == 7 and rec.value("nope") == 0
    assert rec.total("bot4_rejects") == 3
    with pytest.raises(KeyError):
        rec.inc("bot4_nope")
    with pytest.raises(KeyError):
        rec.inc("bot4_mailbox_depth", ("BTCUSDT",))  # a gauge
    with pytest.raises(ValueError):
        rec.inc("bot4_rejects", ("BTCUSDT",))  # a tag short
    with pytest.raises(ValueError):
        rec.inc("bot4_rejects", ("BTCUSDT", "-2010"), -1)
    with pytest.raises(KeyError):
        rec.set("bot4_rejects", ("BTCUSDT", "x"), 1)
    with pytest.raises(KeyError):
        rec.observe("bot4_rejects", ("BTCUSDT", "x"), 1.0)


def test_histogram_quantiles_read_the_bucket_bounds() -> None:
    hist = Histogram(LATENCY_BUCKETS)
    assert hist.quantile(0.5) == 0.0
    for _ in range(999):
        hist.observe(50e-6)
    hist.observe(0.2)
    assert 50e-6 <= hist.quantile(0.5) < 65e-6
    assert hist.quantile(0.999) < 65e-6 and 0.2 <= hist.quantile(1.0) < 0.26
    hist.observe(100.0)  # above the last bound
    assert hist.quantile(1.0) == float("inf") and hist.count == 1001


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_prometheus_client_serves_the_recorder() -> None:
    rec = Recorder()
    rec.inc("bot4_orders", ("BTCUSDT", "LIMIT", "NEW"), 5)
    rec.set("bot4_breaker_state", ("BTCUSDT", "symbol"), 2)
    for value in (30e-6, 40e-6, 2e-3):
        rec.observe("bot4_match_latency_seconds", ("BTCUSDT",), value)
    port = free_port()
    server, thread = serve(rec, port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            text = resp.read().decode()
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert 'bot4_orders_total{outcome="NEW",symbol="BTCUSDT",type="LIMIT"} 5.0' in text
    assert 'bot4_breaker_state{breaker="symbol",symbol="BTCUSDT"} 2.0' in text
    assert 'bot4_match_latency_seconds_bucket{le="+Inf",symbol="BTCUSDT"} 3.0' in text
    assert 'bot4_match_latency_seconds_count{symbol="BTCUSDT"} 3.0' in text
    lows = [line for line in text.splitlines() if 'le="3.98107e-05"' in line]
    assert lows and lows[0].endswith(" 1.0")  # 30 µs at or below 39.8 µs, 40 µs above


def test_symbol_metrics_follow_the_orders(btc: Instrument) -> None:
    rec = Recorder()
    metrics = SymbolMetrics(rec, btc)
    journal = TimedJournal(MemoryJournal(), rec, "BTCUSDT")
    svc = SymbolService(btc, journal, reference_price=3_000_000)
    commands = [
        Command("deposit", Deposit("a", "BTC", 10**10), 0),
        Command("deposit", Deposit("b", "USDT", 10**14), 0),
        Command("submit", NewOrder("a", Side.SELL, OrderType.LIMIT, 100_000, 3_000_000,
                                   TimeInForce.GTC), 1),
        Command("submit", NewOrder("b", Side.BUY, OrderType.MARKET, 40_000), 2),
        Command("submit", NewOrder("nobody", Side.BUY, OrderType.LIMIT, 1, 1, TimeInForce.GTC),
                3),
        Command("cancel", None, 4),
    ]  # fmt: skip
    for command in commands:
        metrics.outcome(command.kind, command.request, svc.handle(command), 10_000)  # 10 µs
    metrics.publish(svc.engine)
    assert rec.value("bot4_orders", ("BTCUSDT", "LIMIT", "NEW")) == 1
    assert rec.value("bot4_orders", ("BTCUSDT", "MARKET", "FILLED")) == 1
    assert rec.value("bot4_orders", ("BTCUSDT", "LIMIT", "REJECTED")) == 1
    assert rec.total("bot4_rejects") == 2  # the unknown account and the bad cancel
    assert rec.value("bot4_fills", ("BTCUSDT", "maker")) == 1
    assert rec.value("bot4_fills", ("BTCUSDT", "taker")) == 1
    assert rec.value("bot4_traded_notional", ("BTCUSDT", "USDT")) == pytest.approx(12_000)
    assert rec.value("bot4_fees", ("BTCUSDT", "USDT")) == pytest.approx(12)  # maker 0.1%
    assert rec.value("bot4_fees", ("BTCUSDT", "BTC")) == pytest.approx(0.0004)  # taker 0.1%
    latency = rec.histograms[("bot4_match_latency_seconds", ("BTCUSDT",))]
    assert latency.count == 6 and 10e-6 <= latency.quantile(0.999) < 13e-6
    metrics.publish(svc.engine)  # again: nothing new, nothing counted twice
    assert rec.value("bot4_fills", ("BTCUSDT", "maker")) == 1 and latency.count == 6
    commits = rec.histograms[("bot4_journal_append_seconds", ("BTCUSDT",))]
    assert commits.count == 6  # one durable commit per command handled alone
    svc.handle_batch([Command("deposit", Deposit("c", "USDT", 1), 5)] * 10)
    assert commits.count == 7  # and one per batch
    assert list(journal.lines()) == list(svc.journal.lines())


@pytest.mark.usefixtures("ray_local")
def test_the_ray_exporter_sends_growth_and_thins_busy_histograms() -> None:
    from bot4.obs.ray_export import RayExporter, _inside

    rec = Recorder()
    exporter = RayExporter(rec, max_observations=100, interval_s=3600)
    assert exporter.flush() == 0
    rec.inc("bot4_sim_trades", ("BTCUSDT",), 5)
    rec.set("bot4_mailbox_depth", ("BTCUSDT",), 3)
    for i in range(1_000):
        rec.observe("bot4_match_latency_seconds", ("BTCUSDT",), 20e-6 if i % 2 else 300e-6)
    assert exporter.flush() == 2 + 100  # one counter, one gauge, 100 of 1000 observations
    assert exporter.flush() == 1  # nothing grew; the gauge is set again (or Ray drops it)
    rec.inc("bot4_sim_trades", ("BTCUSDT",))
    rec.observe("bot4_match_latency_seconds", ("BTCUSDT",), 20e-6)
    assert exporter.flush() == 3
    assert not exporter.due()
    exporter.maybe_flush()  # not due: nothing
    exporter.interval_s = 0.05
    thread = exporter.keep_alive()
    rec.inc("bot4_sim_trades", ("BTCUSDT",))
    deadline = time.monotonic() + 30
    while exporter._counters[("bot4_sim_trades", ("BTCUSDT",))] < 7:  # flushed by the thread
        assert time.monotonic() < deadline
        time.sleep(0.01)
    exporter.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()
    bounds = (1.0, 2.0, 4.0)
    assert _inside(bounds, 0) == 0.5 and 1 < _inside(bounds, 1) < 2 and _inside(bounds, 3) == 8
    assert -1 < _inside((0.0, 2.0), 1) < 2 and _inside((0.0, 2.0), 0) == -1
