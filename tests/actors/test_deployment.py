"""A deployment outlives the process that made it: `bot4 up` in one process, trading from
another after the first has exited, `bot4 status`, `bot4 run` attaching, and `bot4 down`
leaving no actor or placement group behind (all on the session's Ray, by its address)."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import ray
from ray.util.placement_group import placement_group_table

from bot4.actors import deployment
from bot4.jobs.config import load_run_config
from bot4.jobs.platform import run_platform
from tests.conftest import ROOT, named_actors, wait_for

CONFIG = """
symbols_file = "{symbols}"
seed = 3
seconds = 5
requests_per_second = 50
[start_prices]
BTCUSDT = "30000.00"
ETHUSDT = "2000.00"
[platform]
fsync = "never"
cpus_per_symbol = 0.1
"""

TRADER = """
import sys
from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.orders import NewOrder
from bot4.actors.deployment import attach
client = attach(sys.argv[1])
client.deposit("carol", "BTCUSDT", "USDT", 10**14)
ack = client.submit("BTCUSDT", NewOrder("carol", Side.BUY, OrderType.LIMIT, 100, 2_999_000,
                                        TimeInForce.GTC), 1_700_000_000_000)
print("order", ack.order_id, ack.status.value)
"""


def bot4(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot4 ARGS` in a process of its own (bounded)."""
    return subprocess.run([sys.executable, "-m", "bot4", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def groups_named_bot4() -> list[str]:
    return [pg_id for pg_id, info in placement_group_table().items()
            if info.get("name") == "bot4" and info.get("state") != "REMOVED"]  # fmt: skip


@pytest.mark.usefixtures("ray_local")
def test_up_trade_from_another_process_status_run_down(tmp_path: Path) -> None:
    address = ray.get_runtime_context().gcs_address
    config = tmp_path / "run.toml"
    config.write_text(CONFIG.format(symbols=ROOT / "configs" / "symbols.toml"))
    journals = tmp_path / "journals"

    up = bot4("up", "--config", str(config), "--address", address, "--journal-dir", str(journals))
    assert up.returncode == 0, up.stderr[-3000:]
    assert "bot4 up: BTCUSDT (0 commands), ETHUSDT (0 commands)" in up.stdout
    # the process that deployed has exited; its detached actors and group have not
    assert {"symbol:BTCUSDT", "symbol:ETHUSDT", "idempotency"} <= named_actors()
    assert len(groups_named_bot4()) == 1

    trader = subprocess.run([sys.executable, "-c", TRADER, address], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert trader.returncode == 0, trader.stderr[-3000:]
    assert trader.stdout.split() == ["order", "1", "NEW"]
    assert (journals / "BTCUSDT.journal").read_bytes().count(b"\n") == 2

    status = bot4("status", "--address", address, "--json")
    assert status.returncode == 0, status.stdout + status.stderr[-3000:]
    rows = {row["symbol"]: row for row in json.loads(status.stdout)}
    assert set(rows) == {"BTCUSDT", "ETHUSDT"}
    assert rows["BTCUSDT"]["applied"] == 2 and rows["ETHUSDT"]["applied"] == 0
    assert all(row["health"] == "ok" and row["node_id"] for row in rows.values())
    assert rows["BTCUSDT"]["journal"] == str(journals / "BTCUSDT.journal")
    assert rows["BTCUSDT"]["now"] == 1_700_000_000_000

    # the same from Python, in this process: queued calls come from Ray's state API
    here = {row["symbol"]: row for row in deployment.status()}
    assert here["BTCUSDT"]["applied"] == 2 and here["BTCUSDT"]["health"] == "ok"
    assert all(isinstance(row["queued"], int) and row["queued"] >= 0 for row in here.values())

    # a second `up` joins the deployment, it does not double it
    second = bot4("up", "--config", str(config), "--address", address)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "bot4 up (already up): BTCUSDT (2 commands), ETHUSDT (0 commands)" in second.stdout
    assert f"journals in {journals}" in second.stdout and len(groups_named_bot4()) == 1

    # `bot4 run` trades on the running deployment, after its latest time, and leaves it up
    run_config, instruments, prices = load_run_config(config)
    summary = run_platform(run_config, instruments, prices, seconds=2, out=io.StringIO())
    assert summary["deployment"] == "attached" and summary["mm_orders"] == 2 * 2 * 2
    assert not any("-9401" in what for what in summary["rejects"])  # never behind the clock
    assert {"symbol:BTCUSDT", "symbol:ETHUSDT"} <= named_actors()

    down = bot4("down", "--address", address)
    assert down.returncode == 0, down.stderr[-3000:]
    assert "symbol:BTCUSDT" in down.stdout and "placement group bot4" in down.stdout
    assert wait_for(lambda: not named_actors(), 60), named_actors()
    assert groups_named_bot4() == []
    again = bot4("status", "--address", address)
    assert again.returncode == 1 and "no bot4 deployment" in again.stderr
    # the journals stay: a new `up` on them brings the state back
    assert (journals / "BTCUSDT.journal").exists()


@pytest.mark.usefixtures("ray_local")
def test_run_hold_keeps_its_actors_alive_until_ctrl_c(tmp_path: Path) -> None:
    """`bot4 run --hold`: while it holds, its symbol actors are alive (they used to die with
    the client's handles); Ctrl-C removes them and their placement group."""
    address = ray.get_runtime_context().gcs_address
    config = tmp_path / "run.toml"
    config.write_text(CONFIG.format(symbols=ROOT / "configs" / "symbols.toml"))
    run = subprocess.Popen([sys.executable, "-m", "bot4", "run", "--config", str(config),
                            "--seconds", "2", "--address", address, "--hold"], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    watchdog = threading.Timer(300, run.kill)  # never wait forever on its output
    watchdog.start()
    try:
        assert run.stdout is not None
        printed = []
        for line in run.stdout:
            printed.append(line)
            if line.startswith("holding"):
                break
        assert printed and printed[-1].startswith("holding"), "".join(printed[-30:])
        assert {"symbol:BTCUSDT", "symbol:ETHUSDT"} <= named_actors()
        health = ray.get(ray.get_actor("symbol:BTCUSDT", namespace="bot4").health.remote(),
                         timeout=60)  # fmt: skip
        assert health["stopped"] is None and health["applied"] > 0
        run.send_signal(signal.SIGINT)
        try:  # read what it prints on the way out too, so a full pipe never holds it up
            rest, _ = run.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            run.kill()
            rest, _ = run.communicate(timeout=60)
        assert run.returncode == 0, "".join(printed[-10:]) + rest
    finally:
        watchdog.cancel()
        if run.poll() is None:
            run.kill()
    assert wait_for(lambda: not named_actors(), 60), named_actors()
    assert groups_named_bot4() == []
