"""A small smoke run of every script in benchmarks/ (about a thousand operations each, --json),
so that a benchmark, its JSON and its own agreement checks cannot rot unnoticed.

Each script runs as a subprocess in its own process group (`run_isolated`), so that the Ray
that wire.py and platform.py start for themselves is their own, is never the session's, and
is gone when the test ends. Nothing here is timed: only the figures' shapes are checked."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import pytest

from tests.conftest import ROOT, run_isolated

BENCH = ROOT / "benchmarks"
TIMEOUT = 300  # seconds; a smoke run takes a few (platform.py: Ray's start-up, ~20-40)


def run_script(name: str, *args: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    """Run benchmarks/`name` with `args` and --json; its JSON object (exit status 0 asserted:
    the engine benchmark exits 1 when its agreement checks find a problem)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}  # never the session's
    run = run_isolated([sys.executable, str(BENCH / name), *args, "--json"], timeout=timeout,
                       env=env)  # fmt: skip
    assert run.returncode == 0, f"{name} exited {run.returncode}:\n{run.stderr[-3000:]}"
    doc = json.loads(run.stdout[run.stdout.index("{") :])
    assert isinstance(doc, dict), run.stdout[-2000:]
    return doc


def positive(*values: Any) -> bool:
    return all(isinstance(v, int | float) and v > 0 for v in values)


def test_every_benchmark_script_has_a_smoke_run() -> None:
    """Every script in benchmarks/ is smoke-run below: a new one must be added here."""
    scripts = {p.name for p in BENCH.glob("*.py")}
    assert scripts == {"engine.py", "idempotency.py", "risk.py", "wire.py", "platform.py"}


def test_engine_benchmark_agrees_with_its_naive_book_and_generator() -> None:
    """engine.py on 1,000 ops of both workloads and 2,000 resting orders: the native per-call,
    native batch, python, python+parse and python+metrics runs agree with the naive book
    (fills, volume, cancels, final books) and the metrics count, the native, batch and python
    runs end with equal state digests, the mixed run (python engine) ends in the generator's
    state with its fills and refusals, and the memory run measured its resting orders."""
    doc = run_script("engine.py", "--ops", "1000", "--workload", "both", "--resting", "2000")
    assert doc["agree"] is True and doc["mixed_agree"] is True and doc["digests_agree"] is True
    assert doc["ops"] == 1_000 and doc["fills"] == doc["naive_fills"] > 0
    assert doc["python_fills"] == doc["batch_fills"] == doc["fills"]
    assert doc["cancels_ok"] > 0 and doc["mixed_fills"] > 0
    assert doc["engine_backend"] == "native" and doc["mixed_backend"] == "native"
    assert doc["python_mixed_ops_per_s"] > 0
    assert sum(doc["mixed_ops_by_kind"].values()) == 1_000
    assert positive(doc["engine_ops_per_s"], doc["python_ops_per_s"],
                    doc["native_batch_ops_per_s"], doc["naive_ops_per_s"],
                    doc["mixed_ops_per_s"], doc["engine_parse_ops_per_s"],
                    doc["engine_metrics_ops_per_s"], doc["ratio"], doc["python_ratio"],
                    doc["batch_ratio"], doc["mixed_vs_standard"])  # fmt: skip
    assert doc["resting_orders"] == 2_000 and doc["resting_levels"] > 0
    if sys.platform == "linux":  # RSS from /proc/self/statm; null elsewhere
        assert positive(doc["bytes_per_resting_order"], doc["resting_rss_growth_bytes"])


def test_idempotency_benchmark_accounts_for_every_key() -> None:
    """idempotency.py on 1,000 keys through a store of 100: every key is either a replay or
    new, and every new key is still held, evicted or expired (the store loses none); the
    native store (batch and per call) and the Python one end the same."""
    doc = run_script("idempotency.py", "--keys", "1000", "--capacity", "100")
    assert doc["keys"] == 1_000 and doc["capacity"] == 100
    assert doc["entries"] <= doc["capacity"] and doc["evicted"] > 0
    assert 0 < doc["replays"] < doc["keys"]
    assert doc["entries"] + doc["evicted"] + doc["expired"] == doc["keys"] - doc["replays"]
    assert positive(
        doc["ops_per_s"], doc["baseline_ops_per_s"], doc["python_ops_per_s"], doc["peak_rss_mb"]
    )
    assert doc["rss_when_full_mb"] is not None and doc["agree"] is True


def test_risk_benchmark_checks_every_order() -> None:
    """risk.py on 1,000 orders: each is accepted or refused with a code, and the latency
    percentiles are ordered."""
    doc = run_script("risk.py", "--orders", "1000")
    assert doc["orders"] == 1_000
    assert doc["accepted"] + sum(doc["refused"].values()) == 1_000 and doc["accepted"] > 0
    assert 0 < doc["p50_us"] <= doc["p99_us"] <= doc["p999_us"]
    assert positive(doc["checks_per_s"], doc["baseline_venue_check_mean_us"])


@pytest.mark.ray  # the script starts a Ray of its own
def test_wire_benchmark_round_trips_and_times_ray() -> None:
    """wire.py with 200 calls per timing and its own Ray: its round-trip checks (codec decode
    equals the objects, the journal's fast encoder equals the generic one) passed, and Ray's
    serializer was timed (Ray started; it is not silently skipped)."""
    doc = run_script("wire.py", "--number", "200", "--repeat", "1")
    rows = doc["payloads"]
    assert set(rows) == {"[Command]", "[Ack]"}
    for row in rows.values():
        assert positive(row["codec_encode"], row["codec_decode"], row["pickle_dumps"],
                        row["pickle_loads"], row["ray_serialize"],
                        row["ray_serialize_bytes"])  # fmt: skip
        assert 0 < row["codec_bytes"] < row["pickle_bytes"]
    assert positive(rows["[Ack]"]["lean_encode"], rows["[Ack]"]["lean_decode"])
    assert positive(doc["journal_encode"]["fast"], doc["journal_encode"]["generic"])


@pytest.mark.timeout(TIMEOUT + 60)
@pytest.mark.ray  # the script starts a Ray of its own
def test_platform_benchmark_runs_on_its_own_ray() -> None:
    """platform.py with 1,000 orders and 200 round trips of each kind, on a Ray of its own:
    every section ran (bare, compiled, lane, batched full and lean, two actors, in process on
    both engines, contention) and every figure is there."""
    doc = run_script("platform.py", "--orders", "1000", "--round-trips", "200")
    keys = {"bare_call_us", "bare_compiled_us", "order_rtt_us", "order_rtt_p99_us",
            "batched_orders_per_s", "batched_lean_orders_per_s", "two_actor_orders_per_s",
            "two_actor_lean_orders_per_s", "in_process_orders_per_s", "contention_p50_us",
            "contention_p99_us", "contention_p999_us", "native_in_process_orders_per_s",
            "python_in_process_orders_per_s", "aggregate_orders_per_s",
            "keyed_in_process_orders_per_s"}  # fmt: skip
    assert keys <= set(doc)
    assert positive(*(doc[k] for k in keys))
    assert doc["contention_p50_us"] <= doc["contention_p99_us"] <= doc["contention_p999_us"]
    assert set(doc["ratios"]) == {"order_rtt/bare_compiled", "batched/in_process",
                                  "two_actor/batched", "batched_lean/in_process",
                                  "two_actor_lean/batched_lean"}  # fmt: skip
