"""Structured logs: JSON lines with the order's fields, nothing per order at INFO, and an
actor's lines in the worker log files that Ray's dashboard shows."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path

import pytest
import ray

import bot4
from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import BAD_PRICES
from bot4.core.orders import CancelOrder, NewOrder
from bot4.obs.logs import event, order_refused, setup_logging


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_records_are_json_lines_with_their_fields() -> None:
    stream = io.StringIO()
    log = setup_logging(logging.INFO, stream).getChild("test")
    setup_logging(logging.INFO, stream)  # again: still one handler
    event(log, logging.WARNING, "kill switch", account="alice", state="KILLED")
    event(log, logging.DEBUG, "not shown", account="alice")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", extra={"bot4_fields": {"symbol": "BTCUSDT"}})
    first, second = lines(stream)
    assert first["msg"] == "kill switch" and first["level"] == "WARNING"
    assert first["account"] == "alice" and first["state"] == "KILLED"
    assert first["logger"] == "bot4.test" and str(first["ts"]).endswith("+00:00")
    assert second["symbol"] == "BTCUSDT" and "ValueError: boom" in str(second["exc"])


def test_refused_orders_log_only_at_debug() -> None:
    stream = io.StringIO()
    log = setup_logging(logging.INFO, stream).getChild("symbol")
    order = NewOrder("alice", Side.BUY, OrderType.LIMIT, 1, 1, TimeInForce.GTC,
                     client_order_id="c-1")  # fmt: skip
    error = BAD_PRICES
    for _ in range(100):
        order_refused(log, "BTCUSDT", order, error)
    assert stream.getvalue() == ""  # the per-order path says nothing at INFO
    setup_logging(logging.DEBUG, stream)
    order_refused(log, "BTCUSDT", order, error)
    order_refused(log, "BTCUSDT", CancelOrder("alice", 7), error)
    placed, cancel = lines(stream)
    assert placed["account"] == "alice" and placed["clientOrderId"] == "c-1"
    assert placed["code"] == error.code and placed["symbol"] == "BTCUSDT"
    assert cancel["orderId"] == 7
    setup_logging(logging.INFO)  # back to stderr


@pytest.mark.usefixtures("ray_local")
def test_an_actors_log_lines_land_in_its_ray_worker_log(tmp_path: Path) -> None:
    risk_file = tmp_path / "risk.toml"
    risk_file.write_text('valuation_asset = "USDT"\n')
    client = bot4.connect(symbols=["BTCUSDT"], journal_dir=tmp_path / "j", fsync="never",
                          reference_prices={"BTCUSDT": 3_000_000}, risk_file=risk_file)  # fmt: skip
    try:
        pid = ray.get(client.actors["BTCUSDT"].pid.remote(), timeout=30)  # started
        client.kill("mallory", 1)
        logs = Path(ray._private.worker.global_worker.node.get_session_dir_path()) / "logs"
        deadline = time.monotonic() + 30
        found: list[dict[str, object]] = []
        while not found:
            assert time.monotonic() < deadline, "no JSON line in the worker log"
            for path in logs.glob(f"worker-*-{pid}.err"):
                for line in path.read_text(errors="replace").splitlines():
                    if line.startswith("{") and '"bot4.symbol"' in line:
                        found.append(json.loads(line))
            time.sleep(0.2)
        messages = {str(r["msg"]) for r in found}
        assert "symbol actor started" in messages
        deadline = time.monotonic() + 30
        while not any(r.get("account") == "mallory" for r in found):
            assert time.monotonic() < deadline, f"no trading-state line in {messages}"
            time.sleep(0.2)
            found = [json.loads(line) for path in logs.glob(f"worker-*-{pid}.err")
                     for line in path.read_text(errors="replace").splitlines()
                     if line.startswith("{") and '"bot4.symbol"' in line]  # fmt: skip
        killed = next(r for r in found if r.get("account") == "mallory")
        assert killed["state"] == "KILLED" and killed["level"] == "WARNING"
    finally:
        client.shutdown()
