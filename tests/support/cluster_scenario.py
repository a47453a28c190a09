"""A 3-node simulated Ray cluster (`ray.cluster_utils.Cluster`), run in its own process by
tests/actors/test_cluster.py: symbols spread over nodes; a node is removed and its symbol comes back
on another node with its journaled state. Prints one JSON line with what it saw."""

from __future__ import annotations

import json
import sys
import tempfile
import time

import ray
from ray.cluster_utils import Cluster

from bot4.api import connect
from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.orders import NewOrder
from bot4.service.commands import Command, Deposit

SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT"]
PRICES = {"BTCUSDT": 3_000_000, "ETHUSDT": 200_000, "BNBUSDT": 30_000}


def main() -> int:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace="bot4", log_to_driver=False)
    journal = tempfile.mkdtemp()
    client = connect(symbols=SYMBOLS, journal_dir=journal, fsync="never", cpus_per_symbol=0.5,
                     reference_prices=PRICES)  # fmt: skip
    placed = {s: ray.get(a.node_id.remote(), timeout=60) for s, a in client.actors.items()}
    for symbol, actor in client.actors.items():
        base = symbol[:-4]
        commands = [Command("deposit", Deposit("a", asset, 10**15), 0) for asset in (base, "USDT")]
        commands += [Command("submit", NewOrder("a", Side.BUY, OrderType.LIMIT, 1_000,
                                                PRICES[symbol] - 100 - i, TimeInForce.GTC), i)
                     for i in range(100)]  # fmt: skip
        ray.get(actor.handle_batch.remote(commands), timeout=60)
    digests = {s: ray.get(a.state_digest.remote(), timeout=60) for s, a in client.actors.items()}
    head = ray.get_runtime_context().get_node_id()
    victim_node = next(w for w in workers if w.node_id in placed.values() and w.node_id != head)
    moved = [s for s, n in placed.items() if n == victim_node.node_id]
    cluster.remove_node(victim_node)
    after: dict[str, str] = {}
    deadline = time.monotonic() + 180
    for symbol in moved:
        while True:
            try:
                after[symbol] = ray.get(client.actors[symbol].node_id.remote(), timeout=30)
                break
            except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError,
                    ray.exceptions.GetTimeoutError):  # fmt: skip
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    recovered = {s: ray.get(client.actors[s].state_digest.remote(), timeout=60) for s in moved}
    print(
        json.dumps(
            {
                "nodes_used": len(set(placed.values())),
                "moved": moved,
                "new_nodes_differ": all(after[s] != victim_node.node_id for s in moved),
                "state_equal": all(recovered[s] == digests[s] for s in moved),
                "recovered": {
                    s: ray.get(client.actors[s].recovered.remote(), timeout=60) for s in moved
                },
            }
        )
    )
    ray.shutdown()
    cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
