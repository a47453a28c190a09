"""Latency of one full pre-trade risk check (`RiskEngine.check`), per order, in process.

The workload (seeded, generated up front):
* the four symbols of configs/symbols.toml, with the limits of configs/risk.toml except the
  order rate, raised to 5,000 per 10 s so that the rate limit does not refuse most of the
  stream;
* 100 accounts. Every order comes from a random account and a random symbol: 70% LIMIT GTC at
  the reference +-40 ticks, 20% LIMIT IOC, 10% MARKET, with quantities worth 50-5,000 USDT;
* the clock advances 1 ms per order.

Each order is checked by risk, and timed on its own with `perf_counter_ns`. An order that
passes then goes to the real venue (not timed) and its reports update risk, so positions, open
orders, leases and losses evolve as in a session. A random 30% of resting orders are
cancelled along the way.

The baseline is the venue's own request and filter check (`MatchingEngine.check`), timed the
same way on the same orders. The script prints p50/p99/p99.9 in microseconds, checks per
second (1 / mean), and the ratio of the two means.

    python benchmarks/risk.py [--orders 1000000] [--seed 1] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot4.core.enums import OrderType, Side, TimeInForce  # noqa: E402
from bot4.core.instruments import load_symbols  # noqa: E402
from bot4.core.money import to_units  # noqa: E402
from bot4.core.orders import CancelOrder, NewOrder  # noqa: E402
from bot4.core.results import Ack  # noqa: E402
from bot4.core.stats import nearest_rank  # noqa: E402
from bot4.risk.config import RiskFile, load_risk  # noqa: E402
from bot4.risk.pretrade import RiskEngine  # noqa: E402
from bot4.venue.exchange import Venue  # noqa: E402

PRICES = {"BTCUSDT": "30000", "ETHUSDT": "2000", "BNBUSDT": "300", "SOLUSDT": "100"}


def percentile(samples_ns: list[int], q: float) -> float:
    """Nearest-rank percentile in microseconds."""
    return nearest_rank(samples_ns, q) / 1_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    instruments = load_symbols(ROOT / "configs" / "symbols.toml")
    base = load_risk(ROOT / "configs" / "risk.toml").model_dump()
    base["account"]["order_rate"] = [{"interval": "10s", "limit": 5_000}]
    config = RiskFile.model_validate(base)
    refs = {s: to_units(Decimal(p), instruments[s].tick) or 1 for s, p in PRICES.items()}
    venue = Venue(instruments, reference_prices=refs)
    risk = RiskEngine(config, instruments)
    accounts = [f"acct{i}" for i in range(100)]
    for account in accounts:
        venue.deposit(account, "USDT", "100000000")
        for symbol, price in PRICES.items():
            venue.deposit(account, instruments[symbol].base, 1_000_000 // int(price))
    for symbol, ref in refs.items():
        risk.mark(symbol, ref, 0)

    rng = random.Random(args.seed)
    symbols = list(PRICES)
    stream = []
    for _ in range(args.orders):
        symbol = rng.choice(symbols)
        inst = instruments[symbol]
        usdt = rng.uniform(50, 5_000)
        lots = max(1, int(Decimal(str(round(usdt, 2))) / Decimal(PRICES[symbol]) / inst.step))
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        kind = rng.random()
        account = rng.choice(accounts)
        if kind < 0.1:
            req = NewOrder(account, side, OrderType.MARKET, lots)
        else:
            tif = TimeInForce.GTC if kind < 0.8 else TimeInForce.IOC
            req = NewOrder(account, side, OrderType.LIMIT, lots,
                           refs[symbol] + rng.randint(-40, 40), tif)  # fmt: skip
        stream.append((symbol, req, rng.random() < 0.3))

    gc.collect()
    gc.freeze()
    risk_ns: list[int] = []
    venue_ns: list[int] = []
    refused: dict[int, int] = {}
    clock = time.perf_counter_ns
    resting: list[tuple[str, str, int]] = []
    for i, (symbol, req, cancel_one) in enumerate(stream, start=1):
        engine = venue.engines[symbol]
        t0 = clock()
        engine.check(req, i)
        t1 = clock()
        error = risk.check(symbol, req, i)
        t2 = clock()
        venue_ns.append(t1 - t0)
        risk_ns.append(t2 - t1)
        if error is not None:
            refused[error.code] = refused.get(error.code, 0) + 1
            continue
        result = venue.submit(symbol, req, i)
        reports = result.reports if isinstance(result, Ack) else ()
        risk.on_result(symbol, result, reports, i)
        if isinstance(result, Ack) and result.status.value in ("NEW", "PARTIALLY_FILLED"):
            resting.append((symbol, req.account, result.order_id))
        if cancel_one and resting:
            sym, account, order_id = resting.pop(rng.randrange(len(resting)))
            ack = venue.cancel(sym, CancelOrder(account, order_id), i)
            if isinstance(ack, Ack):
                risk.on_reports(sym, ack.reports, i)
    risk_sorted, venue_sorted = sorted(risk_ns), sorted(venue_ns)
    mean_risk = sum(risk_ns) / len(risk_ns) / 1_000
    mean_venue = sum(venue_ns) / len(venue_ns) / 1_000
    result = {
        "orders": args.orders,
        "p50_us": percentile(risk_sorted, 50),
        "p99_us": percentile(risk_sorted, 99),
        "p999_us": percentile(risk_sorted, 99.9),
        "mean_us": round(mean_risk, 3),
        "checks_per_s": round(1e6 / mean_risk),
        "baseline_venue_check_p99_us": percentile(venue_sorted, 99),
        "baseline_venue_check_mean_us": round(mean_venue, 3),
        "ratio_risk_to_venue_check": round(mean_risk / mean_venue, 3),
        "refused": {str(k): v for k, v in sorted(refused.items())},
        "accepted": args.orders - sum(refused.values()),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"risk check over {args.orders:,} orders (seed {args.seed}), per check:")
    print(f"  p50 {result['p50_us']:.2f} us   p99 {result['p99_us']:.2f} us   "
          f"p99.9 {result['p999_us']:.2f} us   mean {mean_risk:.2f} us   "
          f"{result['checks_per_s']:,} checks/s")  # fmt: skip
    print(f"  baseline (venue request+filter check): p99 "
          f"{result['baseline_venue_check_p99_us']:.2f} us, mean {mean_venue:.2f} us; "
          f"ratio risk/venue {result['ratio_risk_to_venue_check']}")  # fmt: skip
    print(f"  accepted {result['accepted']:,}; refused by code: {result['refused']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
