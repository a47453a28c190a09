"""`bot4 run --platform` end to end on the session's local Ray: actors, simulators and the
demonstration market maker, twice with the same seed to the same states."""

from __future__ import annotations

import io

import pytest

from bot4.config import load_run_config
from bot4.platform_run import run_platform
from tests.conftest import ROOT


@pytest.mark.usefixtures("ray_local")
def test_the_platform_job_runs_and_repeats_itself() -> None:
    config, instruments, prices = load_run_config(ROOT / "configs" / "default.toml")
    config = config.model_copy(update={"requests_per_second": 50})
    first_out = io.StringIO()
    first = run_platform(config, instruments, prices, seconds=5, out=first_out)
    second = run_platform(config, instruments, prices, seconds=5, out=io.StringIO())
    assert first["flow"]["trades"] > 0 and first["mm_orders"] == 5 * 2 * len(prices)
    assert first["state_digests"] == second["state_digests"]
    assert set(first["latency_us"]) == {"p50", "p99", "p999"}
    assert all(v == 0 for v in first["sheds"].values())
    printed = first_out.getvalue()
    assert "mm-demo" in printed and "API latency" in printed and "state sha256" in printed
