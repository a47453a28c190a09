"""Throughput of the matching engine against a naive book, on one standard workload.

The workload (seeded, generated once up front, never inside a timed section):

* one symbol shaped like BTCUSDT in configs/symbols.toml: tick 0.01, lot 0.00001, with
  PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE, PERCENT_PRICE_BY_SIDE, NOTIONAL (min 5, also for
  MARKET) and MAX_NUM_ORDERS (raised to 200,000 so the workload is not refused by it);
* a mid price starting at 30000.00 that moves by -1/0/0/+1 ticks after every operation;
* `--ops` operations (default 200,000), drawn with `random.Random(seed)`:
  60% LIMIT GTC orders at mid +-50 ticks with a random side and a quantity of 0.001-0.5,
  10% MARKET orders of that size, 30% cancels of a random resting order;
* four generously funded accounts, each operation from a random one; the clock advances 5 ms
  per operation (so the 5-minute average-price window does roll).

"A random resting order" is decided at generation time: the generator runs a shadow copy of
the naive book and picks uniformly among the orders resting in it at that point, so both books
see the very same cancels (each names the order by its client order id and account). With
cancels that always hit, the book stays thin (a handful of resting orders on average) and about
half the limit orders cross. `--cancels submitted` instead names any limit order submitted
before, live or not: the book then grows to thousands of orders and most cancels are refused
(-2011 Unknown order) in both books, which is the other end of the same spec.

The stream is processed three times, each on fresh state and timed on its own:

* engine: `MatchingEngine.submit` / `cancel` with integer `NewOrder` / `CancelOrder` requests
  and every check on (request shape, filters, MAX_NUM_ORDERS, duplicate client ids, balances,
  fees, execution reports);
* engine+parse: the same, fed through the string edge (`parse_new_order` / `parse_cancel` from
  Binance-style parameter maps), so the cost of parsing shows;
* naive: a baseline book written here, a SortedDict of price to deque plus a dict of id to
  order, Decimal prices and quantities, price-time priority, no checks at all.

Fills are counted from the engine's taker TRADE reports and by the naive book as it matches;
they, the cancels that hit a live order and the final aggregated books must agree (checked
unless `--no-check`).

Run from the repository root:

    .venv/bin/python benchmarks/engine.py                 # human-readable figures
    .venv/bin/python benchmarks/engine.py --json          # one JSON object on stdout
    .venv/bin/python benchmarks/engine.py --repeat 3      # best of three
    .venv/bin/python benchmarks/engine.py --profile       # plus cProfile of the engine run
    .venv/bin/python benchmarks/engine.py --ops 50000 --seed 7
    .venv/bin/python benchmarks/engine.py --cancels submitted   # deep-book variant
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from sortedcontainers import SortedDict  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot4.core.accounts import Ledger
from bot4.core.enums import ExecutionType, OrderType, Side, TimeInForce
from bot4.core.errors import VenueError
from bot4.core.instruments import Instrument, SymbolSpec
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.requests import parse_cancel, parse_new_order
from bot4.sim.engine import Ack, MatchingEngine

SYMBOL = "BTCUSDT"
START_MID = 3_000_000  # ticks: 30000.00
BAND = 50  # limit prices within mid +- BAND ticks
MIN_LOTS, MAX_LOTS = 100, 50_000  # 0.001 .. 0.5 BTC in lots of 0.00001
ACCOUNTS = ("acct0", "acct1", "acct2", "acct3")
T0 = 1_700_000_000_000  # ms
MS_PER_OP = 5
STEP = Decimal("0.00001")
X_TRADE = ExecutionType.TRADE

# kinds of operation
LIMIT_OP, MARKET_OP, CANCEL_OP = 0, 1, 2


# ---------------------------------------------------------------------------- the symbol


def btc_spec() -> SymbolSpec:
    """BTCUSDT as configs/symbols.toml has it, with MAX_NUM_ORDERS raised to 200,000."""
    return SymbolSpec.model_validate(
        {
            "symbol": SYMBOL,
            "baseAsset": "BTC",
            "quoteAsset": "USDT",
            "baseAssetPrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
            "quoteOrderQtyMarketAllowed": True,
            "makerCommission": "0.001",
            "takerCommission": "0.001",
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": "0.01",
                    "maxPrice": "1000000.00",
                    "tickSize": "0.01",
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": "0.00001",
                    "maxQty": "9000.00000",
                    "stepSize": "0.00001",
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": "0",
                    "maxQty": "83.50000",
                    "stepSize": "0",
                },
                {
                    "filterType": "PERCENT_PRICE_BY_SIDE",
                    "bidMultiplierUp": "5",
                    "bidMultiplierDown": "0.2",
                    "askMultiplierUp": "5",
                    "askMultiplierDown": "0.2",
                    "avgPriceMins": 5,
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": "5.00",
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200_000},
            ],
        }
    )


def new_engine(instrument: Instrument) -> MatchingEngine:
    """A fresh engine whose accounts hold far more than the workload can lock."""
    ledger = Ledger()
    for account in ACCOUNTS:
        ledger.deposit(account, instrument.base, int(Decimal(10**7) / instrument.base_unit))
        ledger.deposit(account, instrument.quote, int(Decimal(10**13) / instrument.quote_unit))
    return MatchingEngine(instrument, ledger, reference_price=START_MID)


# ---------------------------------------------------------------------------- naive book


class NaiveOrder:
    __slots__ = ("is_buy", "oid", "price", "qty")

    def __init__(self, oid: int, is_buy: bool, price: Decimal, qty: Decimal) -> None:
        self.oid = oid
        self.is_buy = is_buy
        self.price = price
        self.qty = qty


class NaiveBook:
    """Price-time priority in Decimal: SortedDict of price to deque, dict of id to order."""

    __slots__ = ("asks", "bids", "fills", "orders", "volume")

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()  # ascending: best bid last
        self.asks: SortedDict = SortedDict()  # ascending: best ask first
        self.orders: dict[int, NaiveOrder] = {}
        self.fills = 0
        self.volume = Decimal(0)

    def _match(self, is_buy: bool, qty: Decimal, limit: Decimal | None) -> Decimal:
        """Take from the opposite side while it crosses; returns the quantity left."""
        book = self.asks if is_buy else self.bids
        orders = self.orders
        fills, volume = self.fills, self.volume
        while qty and book:
            price, level = book.peekitem(0 if is_buy else -1)
            if limit is not None and (price > limit if is_buy else price < limit):
                break
            while qty and level:
                maker = level[0]
                fill = qty if qty < maker.qty else maker.qty
                qty -= fill
                maker.qty -= fill
                fills += 1
                volume += fill
                if not maker.qty:
                    level.popleft()
                    del orders[maker.oid]
            if not level:
                del book[price]
        self.fills, self.volume = fills, volume
        return qty

    def limit(self, oid: int, is_buy: bool, price: Decimal, qty: Decimal) -> None:
        left = self._match(is_buy, qty, price)
        if left:
            order = NaiveOrder(oid, is_buy, price, left)
            self.orders[oid] = order
            book = self.bids if is_buy else self.asks
            level = book.get(price)
            if level is None:
                level = book[price] = deque()
            level.append(order)

    def market(self, is_buy: bool, qty: Decimal) -> None:
        self._match(is_buy, qty, None)

    def cancel(self, oid: int) -> bool:
        order = self.orders.pop(oid, None)
        if order is None:
            return False
        book = self.bids if order.is_buy else self.asks
        level = book[order.price]
        level.remove(order)
        if not level:
            del book[order.price]
        return True

    def depth(self) -> dict[str, list[tuple[Decimal, Decimal]]]:
        def side(book: SortedDict, reverse: bool) -> list[tuple[Decimal, Decimal]]:
            keys = reversed(book.keys()) if reverse else iter(book.keys())
            return [(p, sum((o.qty for o in book[p]), Decimal(0))) for p in keys]

        return {"bids": side(self.bids, True), "asks": side(self.asks, False)}


# ---------------------------------------------------------------------------- the stream

NaiveOp = tuple[int, int, bool, Decimal, Decimal]  # kind, id, is_buy, price, qty
EngineOp = tuple[int, NewOrder | CancelOrder]  # now, request
ParseOp = tuple[int, bool, str, Mapping[str, object]]  # now, is_cancel, account, params


@dataclass
class Stream:
    engine: list[EngineOp]
    parse: list[ParseOp]
    naive: list[NaiveOp]
    counts: dict[str, int]


def generate(n_ops: int, seed: int, cancels: str = "resting") -> Stream:
    """Draw the workload once, in the three forms, with a shadow naive book for cancels.

    `cancels` "resting": each cancel names an order resting at that point (uniformly);
    "submitted": any limit order submitted before, live or not (most are then no-ops).
    """
    rng = random.Random(seed)
    shadow = NaiveBook()
    live_ids: list[int] = []  # "resting": ids that rested at some point, pruned lazily
    submitted: list[int] = []  # "submitted": every limit id so far
    owner: dict[int, str] = {}
    engine_ops: list[EngineOp] = []
    parse_ops: list[ParseOp] = []
    naive_ops: list[NaiveOp] = []
    counts = {"limit": 0, "market": 0, "cancel": 0, "cancel_of_nothing": 0, "cancel_of_dead": 0}
    resting_sum = 0
    mid = START_MID
    buy, sell = Side.BUY, Side.SELL
    for i in range(n_ops):
        now = T0 + i * MS_PER_OP
        r = rng.random()
        if r < 0.7:
            is_buy = rng.random() < 0.5
            lots = rng.randint(MIN_LOTS, MAX_LOTS)
            qty = Decimal(lots).scaleb(-5)
            account = ACCOUNTS[rng.randrange(len(ACCOUNTS))]
            cid = f"b{i}"
            side = buy if is_buy else sell
            params: dict[str, object] = {
                "symbol": SYMBOL,
                "side": side.value,
                "quantity": format(qty, "f"),
                "newClientOrderId": cid,
            }
            if r < 0.6:
                ticks = mid + rng.randint(-BAND, BAND)
                price = Decimal(ticks).scaleb(-2)
                engine_ops.append(
                    (
                        now,
                        NewOrder(
                            account, side, OrderType.LIMIT, lots, ticks, TimeInForce.GTC, 0, cid
                        ),
                    )
                )
                params.update(type="LIMIT", timeInForce="GTC", price=format(price, "f"))
                naive_ops.append((LIMIT_OP, i, is_buy, price, qty))
                shadow.limit(i, is_buy, price, qty)
                owner[i] = account
                submitted.append(i)
                if i in shadow.orders:
                    live_ids.append(i)
                counts["limit"] += 1
            else:
                engine_ops.append(
                    (now, NewOrder(account, side, OrderType.MARKET, lots, 0, None, 0, cid))
                )
                params["type"] = "MARKET"
                naive_ops.append((MARKET_OP, i, is_buy, Decimal(0), qty))
                shadow.market(is_buy, qty)
                counts["market"] += 1
            parse_ops.append((now, False, account, params))
        else:
            target = -1
            if cancels == "submitted" and submitted:
                target = submitted[rng.randrange(len(submitted))]
            while cancels == "resting" and live_ids:
                j = rng.randrange(len(live_ids))
                oid = live_ids[j]
                if oid in shadow.orders:
                    target = oid
                    break
                live_ids[j] = live_ids[-1]
                live_ids.pop()
            if target < 0:  # nothing to name: cancel an id that never existed
                counts["cancel_of_nothing"] += 1
                account, cid = ACCOUNTS[0], "none"
            else:
                account, cid = owner[target], f"b{target}"
                if not shadow.cancel(target):
                    counts["cancel_of_dead"] += 1
            engine_ops.append((now, CancelOrder(account, None, cid)))
            parse_ops.append((now, True, account, {"symbol": SYMBOL, "origClientOrderId": cid}))
            naive_ops.append((CANCEL_OP, target, False, Decimal(0), Decimal(0)))
            counts["cancel"] += 1
        mid += (-1, 0, 0, 1)[rng.randrange(4)]
        resting_sum += len(shadow.orders)
    counts["shadow_fills"] = shadow.fills
    counts["mean_resting"] = round(resting_sum / max(n_ops, 1))
    return Stream(engine_ops, parse_ops, naive_ops, counts)


# ---------------------------------------------------------------------------- timed runs


@dataclass
class Run:
    seconds: float
    fills: int
    volume_lots: int
    cancels_ok: int
    rejects: int
    first_reject: str = ""


def run_engine(engine: MatchingEngine, ops: list[EngineOp]) -> Run:
    submit, cancel = engine.submit, engine.cancel
    fills = volume = cancels_ok = rejects = 0
    first_reject = ""
    t0 = time.perf_counter()
    for now, req in ops:
        res = submit(req, now) if isinstance(req, NewOrder) else cancel(req, now)
        if isinstance(res, Ack):
            for rep in res.reports:
                if rep.execution_type is X_TRADE and not rep.is_maker:
                    fills += 1
                    volume += rep.last_qty
            if not isinstance(req, NewOrder):
                cancels_ok += 1
        elif isinstance(req, NewOrder):
            rejects += 1
            first_reject = first_reject or f"{req} -> {res}"
    seconds = time.perf_counter() - t0
    return Run(seconds, fills, volume, cancels_ok, rejects, first_reject)


def run_engine_parse(engine: MatchingEngine, ops: list[ParseOp]) -> Run:
    inst = engine.instrument
    submit, cancel = engine.submit, engine.cancel
    fills = volume = cancels_ok = rejects = 0
    first_reject = ""
    t0 = time.perf_counter()
    for now, is_cancel, account, params in ops:
        res: Ack | VenueError
        if is_cancel:
            creq = parse_cancel(account, params)
            res = creq if isinstance(creq, VenueError) else cancel(creq, now)
        else:
            nreq = parse_new_order(inst, account, params)
            res = nreq if isinstance(nreq, VenueError) else submit(nreq, now)
        if isinstance(res, Ack):
            for rep in res.reports:
                if rep.execution_type is X_TRADE and not rep.is_maker:
                    fills += 1
                    volume += rep.last_qty
            if is_cancel:
                cancels_ok += 1
        elif not is_cancel:
            rejects += 1
            first_reject = first_reject or f"{params} -> {res}"
    seconds = time.perf_counter() - t0
    return Run(seconds, fills, volume, cancels_ok, rejects, first_reject)


def run_naive(book: NaiveBook, ops: list[NaiveOp]) -> Run:
    limit, market, cancel = book.limit, book.market, book.cancel
    cancels_ok = 0
    t0 = time.perf_counter()
    for kind, oid, is_buy, price, qty in ops:
        if kind == LIMIT_OP:
            limit(oid, is_buy, price, qty)
        elif kind == MARKET_OP:
            market(is_buy, qty)
        elif cancel(oid):
            cancels_ok += 1
    seconds = time.perf_counter() - t0
    return Run(seconds, book.fills, int(book.volume / STEP), cancels_ok, 0)


def engine_depth_decimal(engine: MatchingEngine) -> dict[str, list[tuple[Decimal, Decimal]]]:
    big = 10**9
    return {
        side: [(Decimal(p).scaleb(-2), Decimal(q).scaleb(-5)) for p, q in levels]
        for side, levels in engine.depth(big).items()
    }


# ---------------------------------------------------------------------------- main


def best_of(repeat: int, once: Callable[[], tuple[Run, object]]) -> tuple[Run, object]:
    """The fastest of `repeat` runs, each on fresh state; returns its run and final state."""
    best: tuple[Run, object] | None = None
    for _ in range(repeat):
        got = once()
        if best is None or got[0].seconds < best[0].seconds:
            best = got
    assert best is not None
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--ops", type=int, default=200_000, help="operations (default 200000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--repeat", type=int, default=1, help="best of K runs (default 1)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="also run the engine under cProfile; print the top 25 by tottime",
    )
    ap.add_argument(
        "--cancels",
        choices=("resting", "submitted"),
        default="resting",
        help="what a cancel names: a random resting order (default, as specified) or a random "
        "previously submitted limit order, live or not (deeper book, mostly rejected cancels)",
    )
    ap.add_argument(
        "--no-check",
        action="store_true",
        help="do not assert that the engine and the naive book agree",
    )
    args = ap.parse_args(argv)
    if args.ops <= 0 or args.repeat <= 0:
        ap.error("--ops and --repeat must be positive")

    instrument = Instrument.compile(btc_spec())
    t_gen = time.perf_counter()
    stream = generate(args.ops, args.seed, args.cancels)
    t_gen = time.perf_counter() - t_gen
    # The pre-built stream is large and immutable: keep the collector from rescanning it in
    # every full collection during the timed runs (their own objects are still collected).
    gc.collect()
    gc.freeze()

    def engine_once() -> tuple[Run, object]:
        engine = new_engine(instrument)
        gc.collect()
        return run_engine(engine, stream.engine), engine

    def parse_once() -> tuple[Run, object]:
        engine = new_engine(instrument)
        gc.collect()
        return run_engine_parse(engine, stream.parse), engine

    def naive_once() -> tuple[Run, object]:
        book = NaiveBook()
        gc.collect()
        return run_naive(book, stream.naive), book

    eng, eng_state = best_of(args.repeat, engine_once)
    naive, naive_state = best_of(args.repeat, naive_once)
    parse, _ = best_of(args.repeat, parse_once)

    n = args.ops
    eng_rate, naive_rate, parse_rate = n / eng.seconds, n / naive.seconds, n / parse.seconds
    assert isinstance(eng_state, MatchingEngine) and isinstance(naive_state, NaiveBook)

    problems: list[str] = []
    for name, run in (("engine", eng), ("engine+parse", parse)):
        if run.rejects:
            problems.append(f"{name} refused {run.rejects} orders, first: {run.first_reject}")
        for what in ("fills", "volume_lots", "cancels_ok"):
            if getattr(run, what) != getattr(naive, what):
                problems.append(
                    f"{what}: {name} {getattr(run, what)} != naive {getattr(naive, what)}"
                )
    if eng.fills != eng_state.last_trade_id:
        problems.append(
            f"engine taker TRADE reports {eng.fills} != trades {eng_state.last_trade_id}"
        )
    if naive.fills != stream.counts["shadow_fills"]:
        problems.append(f"naive fills {naive.fills} != generator's {stream.counts['shadow_fills']}")
    if engine_depth_decimal(eng_state) != naive_state.depth():
        problems.append("final books differ")

    resting = len(naive_state.orders)
    if args.json:
        print(
            json.dumps(
                {
                    "engine_ops_per_s": round(eng_rate, 1),
                    "naive_ops_per_s": round(naive_rate, 1),
                    "ratio": round(eng_rate / naive_rate, 4),
                    "fills": eng.fills,
                    "naive_fills": naive.fills,
                    "engine_parse_ops_per_s": round(parse_rate, 1),
                    "parse_ratio": round(parse_rate / naive_rate, 4),
                    "ops": n,
                    "seed": args.seed,
                    "cancels": args.cancels,
                    "mean_resting": stream.counts["mean_resting"],
                    "repeat": args.repeat,
                    "cancels_ok": eng.cancels_ok,
                    "resting_at_end": resting,
                    "agree": not problems,
                }
            )
        )
    else:
        c = stream.counts
        print(
            f"workload: {n} ops, seed {args.seed}: {c['limit']} limit, {c['market']} market, "
            f"{c['cancel']} cancel ({c['cancel_of_nothing']} naming nothing, "
            f"{c['cancel_of_dead']} naming an ended order); "
            f"{c['mean_resting']} orders resting on average; "
            f"generated in {t_gen:.2f}s; best of {args.repeat}"
        )
        print(
            f"  engine        {eng_rate:>12,.0f} ops/s  ({eng.seconds:.3f}s)  "
            f"fills {eng.fills}  cancels ok {eng.cancels_ok}"
        )
        print(
            f"  engine+parse  {parse_rate:>12,.0f} ops/s  ({parse.seconds:.3f}s)  "
            f"fills {parse.fills}  cancels ok {parse.cancels_ok}"
        )
        print(
            f"  naive         {naive_rate:>12,.0f} ops/s  ({naive.seconds:.3f}s)  "
            f"fills {naive.fills}  cancels ok {naive.cancels_ok}"
        )
        print(
            f"  ratio engine/naive {eng_rate / naive_rate:.3f}   "
            f"engine+parse/naive {parse_rate / naive_rate:.3f}   "
            f"resting at end {resting}"
        )
        print("  engine and naive book agree" if not problems else "  DISAGREEMENT:")
    for problem in problems:
        print(f"    {problem}", file=sys.stderr)

    if args.profile:
        out: TextIO = sys.stderr if args.json else sys.stdout
        engine = new_engine(instrument)
        gc.collect()
        prof = cProfile.Profile()
        prof.enable()
        run_engine(engine, stream.engine)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(25)
        print("\nengine under cProfile (top 25 by tottime):", file=out)
        print(buf.getvalue(), file=out)

    if problems and not args.no_check:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
