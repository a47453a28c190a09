"""`ray job submit -- python -m bot4 run` against a running head: the main job runs as a Ray
job and prints its summary (the head runs in its own process, with its dashboard)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.ray  # starts a Ray of its own


def test_the_main_job_runs_as_a_ray_job() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "support" / "job_scenario.py")],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=ROOT,
        env={**os.environ, "RAY_AUTH_MODE": "disabled"},  # a throwaway loopback head
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["status"] == "SUCCEEDED", seen["logs"][-3000:]
    logs = seen["logs"]
    assert "Connecting to existing Ray cluster" in logs  # joined the head, did not start one
    assert "platform run: BTCUSDT, ETHUSDT, BNBUSDT, SOLUSDT for 3 simulated seconds" in logs
    assert "state sha256" in logs and "mailbox sheds" in logs
