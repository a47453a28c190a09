"""`bot4 run --platform`: the main job on Ray.

1. Start (or join) Ray and deploy one symbol actor per configured symbol through
   `bot4.connect`, in a fresh journal folder.
2. Start one `SimulatorActor` per symbol, with a market model scaled to the symbol's start
   price and the config's flow rate.
3. Step through simulated time one second at a time. In each step, every simulator sends its
   window of flow (all symbols at once). Then a demonstration market maker, `mm-demo`, trading
   through the Python API, cancels its quotes and quotes again around the last trade: one
   batch per symbol.
4. Print a summary: orders, fills, rejects by code, fees, PnL, latency percentiles of the
   strategy's API calls, and mailbox sheds.

The steps run in order, so for one config and seed the symbols end in the same states. The
wall-clock latencies are measured, and differ from run to run.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from typing import Any, TextIO

import ray

from bot4.actors.simulator import SimulatorActor
from bot4.api import connect
from bot4.config import RunConfig
from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import Bot4Error, VenueError
from bot4.core.events import FEE_ASSET_UNIT, commission_unit
from bot4.core.instruments import Instrument
from bot4.core.money import to_units
from bot4.core.orders import CancelOrder, NewOrder
from bot4.risk.breakers import nearest_rank
from bot4.sim.engine import Ack
from bot4.sim.market.models import ArrivalModel, FillModel, MarketModel, SizeModel

START_US = 1_700_000_000_000_000
MM = "mm-demo"


def demo_model(symbol: str, price: Decimal, rate: int) -> MarketModel:
    """Takers at `rate` orders/s per symbol, sizes around 1,000 USDT."""
    median = math.log(float(1_000 / price))
    return MarketModel(symbol, ArrivalModel(rate / 2, rate / 2), SizeModel(median, 0.8),
                       FillModel(0.2, 0.5, 1.2))  # fmt: skip


def percentile_us(samples_ns: list[int], percentile: float) -> float:
    """Nearest-rank percentile of nanosecond samples, in microseconds (0 when none)."""
    return nearest_rank(samples_ns, percentile) / 1_000 if samples_ns else 0.0


def run_platform(
    config: RunConfig,
    instruments: dict[str, Instrument],
    start_prices: dict[str, Decimal],
    *,
    seconds: int,
    out: TextIO | None = None,
    address: str | None = None,
    keep: bool = False,
) -> dict[str, Any]:
    """Deploy, simulate and trade for `seconds` of simulated time; the summary as a dict.
    The symbol actors are removed at the end unless `keep`."""
    w = (out or sys.stdout).write
    refs = {s: to_units(p, instruments[s].tick) or 1 for s, p in start_prices.items()}
    symbols = list(start_prices)
    wall = time.perf_counter()
    deploy = config.platform.connect_kwargs()
    deploy.setdefault("journal_dir", tempfile.mkdtemp(prefix="bot4-journal-"))
    client = connect(address, symbols=symbols, symbols_file=str(config.symbols_file),
                     reference_prices=refs, **deploy)  # fmt: skip
    for symbol, inst in instruments.items():
        client.deposit(MM, symbol, inst.quote, 10**16)
        client.deposit(MM, symbol, inst.base, int(Decimal(10**9) / start_prices[symbol]
                                                  / inst.base_unit))  # fmt: skip
    rate = max(1, config.requests_per_second // 10)
    simulators = {
        s: SimulatorActor.remote(  # type: ignore[attr-defined]
            str(config.symbols_file),
            s,
            demo_model(s, start_prices[s], rate).to_dict(),
            config.seed + i,
            {"levels": 5},
        )
        for i, s in enumerate(symbols)
    }
    latencies: list[int] = []  # ns
    rejects: Counter[tuple[int, str]] = Counter()
    flow: Counter[str] = Counter()
    quotes: dict[str, list[int]] = {s: [] for s in symbols}
    last = dict(refs)
    orders = fills = 0
    paid: dict[str, Decimal] = {}
    filled: set[int] = set()
    for second in range(seconds):
        start = START_US + second * 1_000_000
        results = ray.get([simulators[s].step.remote(start, start + 1_000_000, last[s])
                           for s in symbols], timeout=300)  # fmt: skip
        for result in results:
            flow.update({k: result[k] for k in ("takers", "makers", "trades")})
        now = start // 1_000 + 999
        for symbol in symbols:
            for report in client.events(symbol):
                if report.account == MM and report.status.value == "FILLED":
                    filled.add(report.order_id)
                if report.trade_id >= 0:
                    last[symbol] = report.last_price
                    if report.account == MM:
                        fills += 1
                        unit = commission_unit(instruments[symbol], report.commission_asset,
                                               FEE_ASSET_UNIT)  # fmt: skip
                        paid[report.commission_asset] = paid.get(
                            report.commission_asset, Decimal(0)) + report.commission * unit
            for order_id in quotes[symbol]:
                if order_id in filled:
                    continue
                t = time.perf_counter_ns()
                try:
                    client.cancel(symbol, CancelOrder(MM, order_id), now)
                except Bot4Error as err:
                    rejects[(err.code, err.msg)] += 1
                latencies.append(time.perf_counter_ns() - t)
            inst = instruments[symbol]
            size = max(1, int(Decimal(500) / start_prices[symbol] / inst.step))
            spread = max(1, last[symbol] // 2_000)
            batch = [
                NewOrder(MM, side, OrderType.LIMIT, size, last[symbol] + sign * spread,
                         TimeInForce.GTC)
                for side, sign in ((Side.BUY, -1), (Side.SELL, 1))
            ]  # fmt: skip
            t = time.perf_counter_ns()
            answers = client.submit_batch({symbol: batch}, now)[symbol]
            latencies.append(time.perf_counter_ns() - t)
            orders += len(batch)
            quotes[symbol] = []
            for answer in answers:
                if isinstance(answer, VenueError):
                    rejects[(answer.code, answer.msg)] += 1
                elif isinstance(answer, Ack) and answer.status.value in ("NEW", "PARTIALLY_FILLED"):
                    quotes[symbol].append(answer.order_id)
        if second % 10 == 9:
            w(f"  t={second + 1:>5}s  flow orders={flow['takers'] + flow['makers']:>8}  "
              f"trades={flow['trades']:>8}  mm fills={fills}\n")  # fmt: skip
    pnl = Decimal(0)
    fees_paid = {asset: format(amount.normalize(), "f") for asset, amount in sorted(paid.items())}
    for symbol, inst in instruments.items():
        held = client.balances(symbol, MM)
        base = sum(held.get(inst.base, (0, 0)))
        quote = sum(held.get(inst.quote, (0, 0)))
        start_base = int(Decimal(10**9) / start_prices[symbol] / inst.base_unit)
        mark = Decimal(last[symbol]) * inst.tick
        pnl += (Decimal(quote - 10**16) * inst.quote_unit
                + Decimal(base - start_base) * inst.base_unit * mark)  # fmt: skip
    digests = {s: client.state_digest(s) for s in symbols}
    summary = {
        "symbols": symbols,
        "seconds": seconds,
        "flow": dict(flow),
        "mm_orders": orders,
        "mm_fills": fills,
        "rejects": {f"{code} {msg}": n for (code, msg), n in rejects.most_common()},
        "pnl_usdt": str(pnl.quantize(Decimal("0.01"))),
        "fees": fees_paid,
        "latency_us": {
            q: round(percentile_us(latencies, p), 1)
            for q, p in (("p50", 50), ("p99", 99), ("p999", 99.9))
        },
        "sheds": dict(client.shed),
        "risk_states": client.risk_states() if client.risk is not None else {},
        "dashboard": client.dashboard_url,
        "state_digests": digests,
        "wall_seconds": round(time.perf_counter() - wall, 2),
    }
    ray.get([a.flush_metrics.remote() for a in client.actors.values()]
            + [sim.flush_metrics.remote() for sim in simulators.values()], timeout=60)  # fmt: skip
    client.exporter.flush()
    for simulator in simulators.values():
        ray.kill(simulator)
    if not keep:
        client.shutdown()
    _print_summary(summary, w)
    return summary


def _print_summary(s: dict[str, Any], w: Any) -> None:
    w(f"\nplatform run: {', '.join(s['symbols'])} for {s['seconds']} simulated seconds\n")
    w(f"  outside flow: {s['flow'].get('takers', 0)} taker and {s['flow'].get('makers', 0)} "
      f"maker orders, {s['flow'].get('trades', 0)} trades\n")  # fmt: skip
    w(f"  {MM}: {s['mm_orders']} orders, {s['mm_fills']} fills, PnL {s['pnl_usdt']} USDT "
      "(marked at the last trade)\n")  # fmt: skip
    w(f"  API latency (strategy calls): p50 {s['latency_us']['p50']} us, p99 "
      f"{s['latency_us']['p99']} us, p99.9 {s['latency_us']['p999']} us\n")  # fmt: skip
    w(f"  {MM} fees: {s['fees'] or 'none'}\n")
    w(f"  mailbox sheds: {s['sheds']}\n")
    w(f"  accounts not ACTIVE (risk): {s['risk_states'] or 'none'}\n  rejects by code:\n")
    for what, n in s["rejects"].items():
        w(f"    {n:>6}  {what}\n")
    for symbol, digest in s["state_digests"].items():
        w(f"  {symbol} state sha256: {digest}\n")
    w(f"  wall: {s['wall_seconds']} s\n")
    if s.get("dashboard"):
        w(f"  Ray dashboard (metrics, logs): http://{s['dashboard']}\n")


__all__ = ["run_platform"]
