"""The Ray platform's latency and throughput, all in one run on a local Ray (2 CPUs).

(a)  a bare Ray actor round trip (a trivial method);
(a2) a bare compiled-graph round trip to a trivial actor;
(b)  one order round trip through the bot4 API's low-latency lane (compiled graph), p50/p99;
(c)  batched, acknowledged orders per second into one symbol actor (batches of 1,000, through
     `Client.run_batches`: the wire form, full acks decoded by the client); also with lean
     acks (Binance's RESULT response: the order's state, its reports left in `events`);
(d)  the same into two symbol actors at once (with lean acks: `aggregate_orders_per_s`, every
     symbol actor this run deploys);
(e)  the in-process engine (`SymbolService`, journal in memory) on the same orders, on the
     native engine (the default; `native_in_process_orders_per_s`, also
     `in_process_orders_per_s`) and on the Python one; and on the native engine with a client
     order id on every order, through the idempotency store (`keyed_in_process_orders_per_s`);
(f)  order round trips under contention: 8 client threads on one symbol actor, plain calls.

Orders come in pairs that trade: a maker rests a SELL, a taker's IOC BUY takes it, so the book
stays small and every order is acknowledged. The journal is a file per symbol with
fsync "never" (flushed, not synced).

    python benchmarks/platform.py [--orders 20000] [--round-trips N] [--json]

`--round-trips N` takes N latency samples of each kind (bare calls, compiled calls, lane
orders, and per contention thread) instead of 2,000, 5,000, 4,000 and 1,000 (a smoke run).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# this file's name shadows the standard `platform` module: take its folder off the path first
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ray  # noqa: E402
from ray.dag import InputNode  # noqa: E402

from bot4.api import connect  # noqa: E402
from bot4.core.enums import OrderType, Side, TimeInForce  # noqa: E402
from bot4.core.instruments import load_symbols  # noqa: E402
from bot4.core.orders import NewOrder  # noqa: E402
from bot4.core.stats import nearest_rank  # noqa: E402
from bot4.service import nativewire, wire  # noqa: E402
from bot4.service.commands import Command, Deposit  # noqa: E402
from bot4.service.journal import MemoryJournal  # noqa: E402
from bot4.service.nativeidempotency import new_idempotency_store  # noqa: E402
from bot4.service.symbol import SymbolService  # noqa: E402

PRICES = {"BTCUSDT": 3_000_000, "ETHUSDT": 200_000}


@ray.remote
class Echo:
    def ping(self, x: Any) -> Any:
        return x


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    """Nearest-rank p50, p99 and p99.9 of durations in seconds, in microseconds."""
    ns = [int(x * 1e9) for x in samples]
    p50, p99, p999 = (nearest_rank(ns, q) / 1_000 for q in (50, 99, 99.9))
    return p50, p99, p999


def pairs(symbol: str, n: int, start: int = 0) -> list[Command]:
    """`n` orders: maker SELL GTC then taker BUY IOC at the same price (they trade)."""
    price = PRICES[symbol]
    out = []
    for i in range(start, start + n // 2):
        out.append(Command("submit", NewOrder("m", Side.SELL, OrderType.LIMIT, 1_000, price,
                                              TimeInForce.GTC), i))  # fmt: skip
        out.append(Command("submit", NewOrder("t", Side.BUY, OrderType.LIMIT, 1_000, price,
                                              TimeInForce.IOC), i))  # fmt: skip
    return out


def funding(symbol: str) -> list[Command]:
    base = symbol[:-4]
    return [Command("deposit", Deposit(a, asset, 10**17), 0)
            for a in ("m", "t") for asset in (base, "USDT")]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument(
        "--round-trips",
        type=int,
        default=None,
        help="latency samples of each kind (default 2000/5000/4000/1000)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n = args.orders
    trips: int | None = args.round_trips
    ray.init(num_cpus=2, include_dashboard=False, namespace="bot4", log_to_driver=False)
    out: dict[str, Any] = {}

    echo = Echo.remote()  # type: ignore[attr-defined]
    ray.get(echo.ping.remote(0))
    samples = []
    for i in range(trips or 2_000):
        t = time.perf_counter()
        ray.get(echo.ping.remote(i))
        samples.append(time.perf_counter() - t)
    out["bare_call_us"] = round(percentiles(samples)[0], 1)
    with InputNode() as inp:
        dag = echo.ping.bind(inp)
    graph = dag.experimental_compile()
    samples = []
    for i in range(trips or 5_000):
        t = time.perf_counter()
        ray.get(graph.execute(i))
        samples.append(time.perf_counter() - t)
    graph.teardown()
    out["bare_compiled_us"] = round(percentiles(samples)[0], 1)

    client = connect(symbols=list(PRICES), journal_dir=tempfile.mkdtemp(), fsync="never",
                     reference_prices=PRICES, cpus_per_symbol=0.5)  # fmt: skip
    for symbol, actor in client.actors.items():
        ray.get(actor.handle_batch.remote(funding(symbol)), timeout=60)
    lane = client.lane("BTCUSDT")
    samples = []
    for command in pairs("BTCUSDT", trips or 4_000):
        t = time.perf_counter()
        lane.run([command])
        samples.append(time.perf_counter() - t)
    client.close()
    p50, p99, _ = percentiles(samples)
    out["order_rtt_us"], out["order_rtt_p99_us"] = round(p50, 1), round(p99, 1)

    btc = client.actors["BTCUSDT"]

    def batched(streams: dict[str, list[Command]], lean: bool) -> float:
        """Orders/s sent in batches of 1,000 per symbol, every symbol at once, acknowledged
        (the acks decoded by the client)."""
        t = time.perf_counter()
        for i in range(0, n, 1_000):
            client.run_batches({s: c[i : i + 1_000] for s, c in streams.items()}, lean=lean)
        return sum(len(c) for c in streams.values()) / (time.perf_counter() - t)

    out["batched_orders_per_s"] = round(batched({"BTCUSDT": pairs("BTCUSDT", n, 10_000)}, False))
    out["batched_lean_orders_per_s"] = round(batched({"BTCUSDT": pairs("BTCUSDT", n, 50_000)},
                                                     True))  # fmt: skip
    out["two_actor_orders_per_s"] = round(
        batched(
            {"BTCUSDT": pairs("BTCUSDT", n, 100_000), "ETHUSDT": pairs("ETHUSDT", n, 100_000)},
            False,
        )
    )
    out["two_actor_lean_orders_per_s"] = round(
        batched(
            {"BTCUSDT": pairs("BTCUSDT", n, 200_000), "ETHUSDT": pairs("ETHUSDT", n, 200_000)}, True
        )
    )

    instrument = load_symbols(ROOT / "configs" / "symbols.toml")["BTCUSDT"]
    for backend in ("native", "python"):
        local = SymbolService(instrument, MemoryJournal(), reference_price=PRICES["BTCUSDT"],
                              backend=backend)  # fmt: skip
        local.handle_batch(funding("BTCUSDT"))
        stream = pairs("BTCUSDT", n)
        t = time.perf_counter()
        for i in range(0, n, 1_000):
            local.handle_batch(stream[i : i + 1_000])
        out[f"{backend}_in_process_orders_per_s"] = round(n / (time.perf_counter() - t))
    out["in_process_orders_per_s"] = out["native_in_process_orders_per_s"]  # the default
    # the same with a client order id on every order, through the idempotency store, as a
    # symbol actor runs them: each key checked, and its first answer remembered
    local = SymbolService(instrument, MemoryJournal(), reference_price=PRICES["BTCUSDT"],
                          idempotency=new_idempotency_store(100_000, 3_600_000))  # fmt: skip
    local.handle_batch(funding("BTCUSDT"))
    keyed = [c._replace(request=c.request._replace(client_order_id=f"c{i}"))
             for i, c in enumerate(pairs("BTCUSDT", n))]  # fmt: skip
    t = time.perf_counter()
    for i in range(0, n, 1_000):
        local.handle_batch(keyed[i : i + 1_000])
    out["keyed_in_process_orders_per_s"] = round(n / (time.perf_counter() - t))
    out["aggregate_orders_per_s"] = out["two_actor_lean_orders_per_s"]  # every actor deployed

    contention: list[float] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        mine = pairs("BTCUSDT", trips or 1_000, 1_000_000 + k * 10_000)
        local_samples = []
        for command in mine:
            t0 = time.perf_counter()
            nativewire.decode_results(ray.get(btc.handle_wire.remote(wire.encode_commands([command])),
                                        timeout=60))  # fmt: skip
            local_samples.append(time.perf_counter() - t0)
        with lock:
            contention.extend(local_samples)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    p50, p99, p999 = percentiles(contention)
    out.update(contention_p50_us=round(p50, 1), contention_p99_us=round(p99, 1),
               contention_p999_us=round(p999, 1))  # fmt: skip
    out["ratios"] = {
        "order_rtt/bare_compiled": round(out["order_rtt_us"] / out["bare_compiled_us"], 2),
        "batched/in_process": round(out["batched_orders_per_s"]
                                    / out["in_process_orders_per_s"], 2),
        "two_actor/batched": round(out["two_actor_orders_per_s"]
                                   / out["batched_orders_per_s"], 2),
        "batched_lean/in_process": round(out["batched_lean_orders_per_s"]
                                         / out["in_process_orders_per_s"], 2),
        "two_actor_lean/batched_lean": round(out["two_actor_lean_orders_per_s"]
                                             / out["batched_lean_orders_per_s"], 2),
    }  # fmt: skip
    ray.shutdown()
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:>26}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
