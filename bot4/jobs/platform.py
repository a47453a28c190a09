"""`bot4 run --platform`: the main job on Ray.

1. Attach to the deployment running on the cluster (`bot4 up`), or start (or join) Ray and
   deploy one symbol actor per configured symbol through `bot4.connect`, in a fresh journal
   folder (unless the config names one).
2. Start one `SimulatorActor` per symbol, with a market model scaled to the symbol's start
   price and the config's flow rate.
3. Step through simulated time one second at a time. In each step, every simulator sends its
   window of flow (all symbols at once). Then a demonstration market maker, `mm-demo`, trading
   through the Python API, cancels its quotes and quotes again around the last trade: one
   batch per symbol.
4. Print a summary: orders, fills, rejects by code, fees, PnL, latency percentiles of the
   strategy's API calls, and mailbox sheds.

The steps run in order, so for one config and seed a run on its own deployment ends in the
same states. On a running deployment it trades on from the symbols' latest time, and its
digests depend on what was there before. The wall-clock latencies are measured, and differ
from run to run.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from typing import Any, TextIO

import ray

from bot4.actors.deployment import attach
from bot4.actors.simulator import SimulatorActor
from bot4.api import Client, connect
from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import Bot4Error, VenueError
from bot4.core.events import FEE_ASSET_UNIT, commission_unit
from bot4.core.instruments import Instrument
from bot4.core.money import to_units
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.core.stats import nearest_rank
from bot4.jobs.config import RunConfig
from bot4.market.models import ArrivalModel, FillModel, MarketModel, SizeModel

START_US = 1_700_000_000_000_000
TOKEN_HINT = "it asks for Ray's auth token: print it with `ray get-auth-token`"
MM = "mm-demo"


def demo_model(symbol: str, price: Decimal, rate: int) -> MarketModel:
    """Takers at `rate` orders/s per symbol, sizes around 1,000 USDT."""
    median = math.log(float(1_000 / price))
    return MarketModel(symbol, ArrivalModel(rate / 2, rate / 2), SizeModel(median, 0.8),
                       FillModel(0.2, 0.5, 1.2))  # fmt: skip


def percentile_us(samples_ns: list[int], percentile: float) -> float:
    """Nearest-rank percentile of nanosecond samples, in microseconds (0 when none)."""
    return nearest_rank(samples_ns, percentile) / 1_000 if samples_ns else 0.0


def _running(address: str | None) -> Client | None:
    """A client of the deployment running on the cluster at `address` (or on this machine's),
    or None: no cluster to join, or no deployment on it."""
    try:
        return attach(address)
    except (ConnectionError, LookupError):
        return None


def _latest_ms(client: Client, symbols: list[str]) -> int:
    """The latest command time of the symbols (ms): a run on them starts after it."""
    rows = ray.get([client.actors[s].health.remote() for s in symbols], timeout=60)
    return max((row["now"] for row in rows), default=0)


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
    """Trade for `seconds` of simulated time; the summary as a dict. On a running deployment
    (`bot4 up`) it trades on the configured symbols the deployment has and leaves it up.
    Otherwise it deploys its own, removed at the end, or with `keep` deployed detached and
    left up (`bot4.actors.deployment.down` removes it)."""
    w = (out or sys.stdout).write
    wall = time.perf_counter()
    client = _running(address)
    own = client is None
    start_us = START_US
    scratch = None  # a journal folder made for this run, removed with its deployment
    if client is None:
        symbols = list(start_prices)
        refs = {s: to_units(start_prices[s], instruments[s].tick) or 1 for s in symbols}
        deploy = config.platform.connect_kwargs()
        if "journal_dir" not in deploy:
            scratch = deploy["journal_dir"] = tempfile.mkdtemp(prefix="bot4-journal-")
        client = connect(address, symbols=symbols, symbols_file=str(config.symbols_file),
                         reference_prices=refs, detached=keep, **deploy)  # fmt: skip
    else:
        symbols = [s for s in start_prices if s in client.actors]
        if not symbols:
            raise ValueError(
                f"the running deployment has none of the configured symbols "
                f"({', '.join(start_prices)}); it has {', '.join(client.actors)}"
            )
        refs = {s: to_units(start_prices[s], instruments[s].tick) or 1 for s in symbols}
        start_us = max(START_US, (_latest_ms(client, symbols) // 1_000 + 1) * 1_000_000)
        w(f"attached to the running deployment: {', '.join(symbols)}\n")
    try:
        summary = _trade(client, config, instruments, start_prices, symbols, refs, seconds,
                         start_us, w)  # fmt: skip
    except BaseException:
        if own and not keep:
            _remove(client, scratch)
        raise
    summary["wall_seconds"] = round(time.perf_counter() - wall, 2)
    summary["deployment"] = "own" if own else "attached"
    summary["journal_dir"] = scratch
    if own and not keep:
        _remove(client, scratch)
    else:  # the deployment stays up: only this process's lanes and metrics thread end
        client.close()
        client.exporter.stop()
    _print_summary(summary, w)
    return summary


def _remove(client: Client, scratch: str | None) -> None:
    """Remove the run's own deployment, and the journal folder made for it."""
    client.shutdown()
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


def _trade(
    client: Client,
    config: RunConfig,
    instruments: dict[str, Instrument],
    start_prices: dict[str, Decimal],
    symbols: list[str],
    refs: dict[str, int],
    seconds: int,
    start_us: int,
    w: Any,
) -> dict[str, Any]:
    """The simulators' flow and the demo market maker, step by step; the summary."""
    for symbol in symbols:
        inst = instruments[symbol]
        client.deposit(MM, symbol, inst.quote, 10**16)
        client.deposit(MM, symbol, inst.base, int(Decimal(10**9) / start_prices[symbol]
                                                  / inst.base_unit))  # fmt: skip
    held_before = {s: client.balances(s, MM) for s in symbols}
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
        start = start_us + second * 1_000_000
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
                        paid[report.commission_asset] = (
                            paid.get(report.commission_asset, Decimal(0)) + report.commission * unit
                        )
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
    for symbol in symbols:
        inst = instruments[symbol]
        held, before = client.balances(symbol, MM), held_before[symbol]
        base = sum(held.get(inst.base, (0, 0))) - sum(before.get(inst.base, (0, 0)))
        quote = sum(held.get(inst.quote, (0, 0))) - sum(before.get(inst.quote, (0, 0)))
        mark = Decimal(last[symbol]) * inst.tick
        pnl += Decimal(quote) * inst.quote_unit + Decimal(base) * inst.base_unit * mark
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
    }
    ray.get([client.actors[s].flush_metrics.remote() for s in symbols]
            + [sim.flush_metrics.remote() for sim in simulators.values()], timeout=60)  # fmt: skip
    client.exporter.flush()
    for simulator in simulators.values():
        ray.kill(simulator)
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
        w(f"  Ray dashboard (metrics, logs): http://{s['dashboard']} ({TOKEN_HINT})\n")


__all__ = ["run_platform"]
