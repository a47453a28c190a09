"""Multi-node: a 3-node simulated cluster (in its own process, so that it does not meet the
session's local Ray): symbols spread across nodes, a node removed, its symbol back elsewhere
with its journaled state."""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import ROOT, run_isolated

pytestmark = pytest.mark.ray  # starts a Ray of its own


def test_symbols_spread_and_recover_when_a_node_goes() -> None:
    """The scenario runs in its own process group, killed with everything it started (its
    3-node Ray) when it ends, also on a timeout, so a failure leaves no Ray behind."""
    run = run_isolated([sys.executable, str(ROOT / "tests" / "support" / "cluster_scenario.py")],
                       timeout=400)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["nodes_used"] >= 2  # SPREAD over the cluster
    assert seen["moved"] and seen["new_nodes_differ"] and seen["state_equal"]
    assert all(count == 102 for count in seen["recovered"].values())
