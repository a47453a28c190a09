"""`bot4 run --platform` end to end on the session's local Ray: actors, simulators and the
demonstration market maker, twice with the same seed to the same states."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot4.jobs.config import load_run_config
from bot4.jobs.platform import run_platform
from tests.conftest import ROOT, live_placement_groups, named_actors, wait_for


@pytest.mark.usefixtures("ray_local")
def test_the_platform_job_runs_and_repeats_itself() -> None:
    """Two runs with one seed end in the same states, and each removes its deployment: no
    named actor and no placement group of it is left on the session's Ray. (When a run fails
    half-way, the `ray_leftovers` fixture of tests/conftest.py removes what it left.)"""
    actors_before, groups_before = named_actors(), live_placement_groups()
    config, instruments, prices = load_run_config(ROOT / "configs" / "default.toml")
    config = config.model_copy(update={"requests_per_second": 50})
    first_out = io.StringIO()
    first = run_platform(config, instruments, prices, seconds=5, out=first_out)
    second = run_platform(config, instruments, prices, seconds=5, out=io.StringIO())
    assert first["flow"]["trades"] > 0 and first["mm_orders"] == 5 * 2 * len(prices)
    assert first["state_digests"] == second["state_digests"]
    assert set(first["latency_us"]) == {"p50", "p99", "p999"}
    assert all(v == 0 for v in first["sheds"].values())
    assert first["deployment"] == "own" and not Path(first["journal_dir"]).exists()  # cleaned
    printed = first_out.getvalue()
    assert "mm-demo" in printed and "API latency" in printed and "state sha256" in printed
    assert wait_for(lambda: named_actors() <= actors_before), named_actors() - actors_before
    assert wait_for(lambda: live_placement_groups() <= groups_before)
