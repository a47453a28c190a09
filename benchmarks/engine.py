"""Throughput of the matching engine: a standard workload against a naive book, and a mixed one.

The standard workload (seeded, generated once up front, never inside a timed section):

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

The stream is processed six times, each on fresh state and timed on its own:

* engine (native): `bot4.venue.native.NativeEngine.submit` / `cancel`, one Python call per
  request, with the same integer `NewOrder` / `CancelOrder` requests and the same checks
  (request shape, filters, MAX_NUM_ORDERS, duplicate client ids, balances, fees, execution
  reports built as Python objects); `engine_ops_per_s` in the JSON;
* native batch: the whole stream through `NativeEngine.submit_batch` in one call; the requests
  are encoded up front (`bot4.venue.batch.encode_requests`, outside the timed section, its
  time shown as `batch_encode_s`) and only `submit_batch` is timed (answers as a NumPy array,
  no event log, no report objects); `native_batch_ops_per_s`;
* python: `bot4.venue.engine.MatchingEngine`, the Python reference engine, through the same
  loop as the native per-call run; `python_ops_per_s`;
* python+parse: the Python engine fed through the string edge (`parse_new_order` /
  `parse_cancel` from Binance-style parameter maps), so the cost of parsing shows;
* python+metrics: the Python engine run again with every operation timed and counted as a
  platform symbol records it (`bot4.obs.observe.SymbolMetrics`: orders by type and outcome,
  rejects, fills, notional, fees, the match-latency histogram); its overhead is reported
  against the plain Python engine run, best of `--repeat` each, with the plain run repeated
  after it;
* naive: a baseline book written here, a SortedDict of price to deque plus a dict of id to
  order, Decimal prices and quantities, price-time priority, no checks at all.

`ratio` is native per-call / naive, `python_ratio` python / naive, `batch_ratio` batch / naive
(`parse_ratio`: python+parse / naive). In the per-call runs fills are counted from the engine's
taker TRADE reports, and by the naive book as it matches; they, the traded volume, the cancels
that hit a live order and the final aggregated books must agree, and every order must be
accepted. The batch answers carry no reports, so its fills are the engine's trade count
(`last_trade_id`: each trade has one taker); its volume is the sum of the new orders'
`executed_qty`, its cancels that hit the cancels not refused. Above all the native per-call,
the batch and the Python runs must end with equal `state_digest()` (books, orders, balances,
fees, counters; `digests_agree`). All of this is checked unless `--no-check`.

Memory (`bytes_per_resting_order`, after the timed runs; `--resting N`, default 1,000,000,
0 to skip): N LIMIT GTC orders that do not cross rest on a fresh native engine, bids below
30000.00 and asks above it over RESTING_LEVELS price levels (~N/RESTING_LEVELS orders a level),
from the four funded accounts in turn (the symbol's MAX_NUM_ORDERS raised to N for it), 100-1000
lots each, each with its own client order id. They go in through `submit_batch` in chunks of
RESTING_CHUNK. The figure is the growth of the process's current resident set size (RSS, the
`resident` field of /proc/self/statm times the page size; not `resource.getrusage`, whose
ru_maxrss is a peak that the earlier runs have already set) from a baseline to the end,
divided by N, in the same process. The baseline is taken after the request bytes are all built
(they stay alive to the end, so they are not counted), after `gc.collect()` and glibc's
`malloc_trim(0)` (so that memory the earlier runs freed but malloc still held resident is given
back and, when the engine reuses it, counted again); the end after another `gc.collect()` and
`malloc_trim(0)`, so that what malloc holds free at the end (the tables and buffers the engine
outgrew and freed, the answer arrays) is not counted either. So `bytes_per_resting_order`
counts what the native engine holds for the resting orders, as far as it is resident: the
order records with their client-id strings, the order-id and client-id indexes, the price
levels' queues (amortized over the orders of a level), the ledger's locked balances (4
accounts: nothing per order), hash-table and vector capacity that has been written (capacity
reserved but never touched is not resident; N = 1,000,000 is just past a hash table's doubling
at 917,504 entries, so its tables are near their emptiest), and malloc's per-block overhead.
`bytes_per_resting_order_untrimmed` is the same growth before the final trim, i.e. with what
malloc still holds free; it depends on the process's history (the earlier runs move glibc's
mmap threshold), the trimmed one does not. Without glibc both trims do nothing; without
/proc/self/statm (not Linux) the figures are null. `resting_insert_ops_per_s` is the rate at
which those orders went in (timed over the `submit_batch` calls only).

The mixed workload (`--workload mixed`, or `both`, the default) adds the semantics the naive
book lacks, so it has no baseline. It runs on the native engine (`mixed_ops_per_s`,
`"mixed_backend": "native"`) and on the Python one (`python_mixed_ops_per_s`); both must end in
the generator's state with its fills and refusals. `mixed_vs_standard` is the native mixed
rate over the native standard one (per call), and the reports are counted by execution type.
It runs on the same symbol with the stop types enabled, defaultSelfTradePreventionMode
EXPIRE_MAKER (every mode allowed), MAX_NUM_ALGO_ORDERS 200,000 and TRAILING_DELTA from 1 bp;
acct0 and acct1 share tradeGroupId 1, so about 3 in 8 maker-taker meetings are within one group
(STP on). Same `--ops`, seed, clock and mid walk; the operations (see MIXED_MIX):

* 42% LIMIT GTC and 7% MARKET, 21% cancels of an open order: the standard mix at 70%;
* 12% stop orders, STOP_LOSS / STOP_LOSS_LIMIT / TAKE_PROFIT / TAKE_PROFIT_LIMIT with equal
  odds, stop price 1-40 ticks from the last trade on the side where it waits (so a good share
  triggers within an order's life), _LIMIT price 0-20 ticks past it; 30% of them trailing
  (1-3 bp, half with an activation price). 1 bp is 300 ticks at 30000.00, far more than the
  price moves while an order lives, so trailing orders are tracked on every trade but seldom
  or never fire;
* 7% amends (keep-priority, quantity cut to 50-99%, new client id) and 6% cancel-replaces
  (STOP_ON_FAILURE; a limit order requoted near the mid, a stop re-placed around the last
  price), each of a uniformly drawn open order (resting, or a stop waiting; OCO legs too:
  amending one leg amends both);
* 4% OCO lists (SELL: LIMIT_MAKER 1-40 ticks above the last trade and the best bid, BUY:
  below it and the best ask; the other leg a STOP_LOSS or STOP_LOSS_LIMIT 1-STOP_BAND ticks
  away on the other side of the last trade, so some trigger) and 1%
  cancel_list of a uniformly drawn open list (by orderListId; when none is open, an unknown
  id, refused -2011); both legs join the open orders the other operations draw from;
* a quarter of new orders name an STP mode other than the default (NONE, EXPIRE_TAKER,
  EXPIRE_BOTH, DECREMENT, TRANSFER).

List requests are counted in the report's line `lists:` and in the JSON (`mixed_ops_by_kind`
"oco" and "cancel_list", `mixed_lists` the accepted ones). The generator draws the stream
while running it on a shadow engine (to know which orders and lists are open and the last trade
price); the timed run, on a fresh engine, must end in the same state with the same fills and
refusals.

Run from the repository root:

    .venv/bin/python benchmarks/engine.py                 # human-readable figures
    .venv/bin/python benchmarks/engine.py --json          # one JSON object on stdout
    .venv/bin/python benchmarks/engine.py --repeat 3      # best of three
    .venv/bin/python benchmarks/engine.py --profile       # plus cProfile of the engine run
    .venv/bin/python benchmarks/engine.py --ops 50000 --seed 7
    .venv/bin/python benchmarks/engine.py --cancels submitted   # deep-book variant
    .venv/bin/python benchmarks/engine.py --workload standard   # or mixed; default both
    .venv/bin/python benchmarks/engine.py --resting 100000      # smaller memory run; 0: none
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import ctypes.util
import gc
import io
import json
import os
import pstats
import random
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TextIO

# benchmarks/platform.py would shadow the standard `platform` module, which numpy imports (the
# native engine's batch answers are NumPy arrays): take this directory off the path
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
from sortedcontainers import SortedDict  # type: ignore[import-untyped]  # noqa: E402

from bot4.core.accounts import Ledger  # noqa: E402
from bot4.core.enums import (  # noqa: E402
    STOP_TYPES,
    ExecutionType,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from bot4.core.errors import VenueError  # noqa: E402
from bot4.core.instruments import Instrument, SymbolSpec  # noqa: E402
from bot4.core.orders import (  # noqa: E402
    AmendOrder,
    CancelOrder,
    CancelOrderList,
    CancelReplace,
    ListLeg,
    NewOco,
    NewOrder,
)
from bot4.core.results import Ack, CancelReplaceResult, ListAck  # noqa: E402
from bot4.obs.observe import SymbolMetrics  # noqa: E402
from bot4.obs.recorder import Recorder  # noqa: E402
from bot4.venue.batch import encode_requests, refusals  # noqa: E402
from bot4.venue.engine import MatchingEngine  # noqa: E402
from bot4.venue.native import NativeEngine  # noqa: E402
from bot4.venue.nativeledger import NativeLedger  # noqa: E402
from bot4.venue.requests import parse_cancel, parse_new_order  # noqa: E402
from bot4.venue.stops import fires_on_rise  # noqa: E402

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

# the memory run: price levels the resting orders spread over (half bids, half asks) and how
# many orders go into one submit_batch call
RESTING_LEVELS = 4_000
RESTING_CHUNK = 50_000

AnyEngine = MatchingEngine | NativeEngine


# ---------------------------------------------------------------------------- the symbol


BTC_FILTERS: list[dict[str, object]] = [
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
]


def btc_spec(**overrides: object) -> SymbolSpec:
    """BTCUSDT as configs/symbols.toml has it, with MAX_NUM_ORDERS raised to 200,000.

    Without overrides this is the standard workload's symbol (STP default NONE, no stop types).
    """
    fields: dict[str, object] = {
        "symbol": SYMBOL,
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "baseAssetPrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "quoteOrderQtyMarketAllowed": True,
        "makerCommission": "0.001",
        "takerCommission": "0.001",
        "filters": BTC_FILTERS,
    }
    fields.update(overrides)
    return SymbolSpec.model_validate(fields)


def fund(
    ledger: Ledger | NativeLedger, instrument: Instrument, trade_groups: Mapping[str, int] | None
) -> None:
    """Give every account far more than the workload can lock; put accounts in trade groups."""
    for account in ACCOUNTS:
        ledger.deposit(account, instrument.base, int(Decimal(10**7) / instrument.base_unit))
        ledger.deposit(account, instrument.quote, int(Decimal(10**13) / instrument.quote_unit))
    for account, group in (trade_groups or {}).items():
        ledger.set_trade_group(account, group)


def new_engine(
    instrument: Instrument, trade_groups: Mapping[str, int] | None = None
) -> MatchingEngine:
    """A fresh Python engine whose accounts hold far more than the workload can lock."""
    ledger = Ledger()
    fund(ledger, instrument, trade_groups)
    return MatchingEngine(instrument, ledger, reference_price=START_MID)


def new_native_engine(
    instrument: Instrument, trade_groups: Mapping[str, int] | None = None
) -> NativeEngine:
    """A fresh native engine with the same accounts, funded the same way (same digest)."""
    ledger = NativeLedger()
    fund(ledger, instrument, trade_groups)
    return NativeEngine(instrument, ledger, reference_price=START_MID)


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


def run_engine(engine: AnyEngine, ops: list[EngineOp]) -> Run:
    """One call per request (either backend); counts taker fills and volume from the reports,
    cancels that hit and refused orders."""
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


def run_engine_metrics(engine: MatchingEngine, ops: list[EngineOp], metrics: SymbolMetrics
                       ) -> Run:  # fmt: skip
    """`run_engine` with every operation timed and counted into metrics, as a symbol actor
    records them (fills, notional and fees come from the engine's totals at `publish`)."""
    submit, cancel, record = engine.submit, engine.cancel, metrics.outcome
    clock = time.perf_counter_ns
    fills = volume = cancels_ok = rejects = 0
    first_reject = ""
    t0 = time.perf_counter()
    for now, req in ops:
        start = clock()
        if isinstance(req, NewOrder):
            res = submit(req, now)
            record("submit", req, res, clock() - start)
        else:
            res = cancel(req, now)
            record("cancel", req, res, clock() - start)
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


def run_batch(engine: NativeEngine, data: bytes, is_new: np.ndarray) -> Run:
    """The whole encoded stream in one `submit_batch` call (only that is timed). The answers
    carry no reports: fills are the engine's trade count, volume the new orders'
    executed quantity, cancels that hit the cancels not refused."""
    t0 = time.perf_counter()
    answers, _ = engine.submit_batch(data)
    seconds = time.perf_counter() - t0
    if len(answers) != len(is_new):
        raise RuntimeError(f"submit_batch answered {len(answers)} of {len(is_new)} requests")
    refused = answers["refused"] != 0
    is_cancel = ~is_new
    rejected = np.flatnonzero(refused & is_new)
    first_reject = ""
    if len(rejected):
        i = int(rejected[0])
        first_reject = f"request {i} -> {refusals()[int(answers['refusal'][i])]}"
    return Run(
        seconds,
        engine.last_trade_id,
        int(answers["executed_qty"][is_new].sum()),
        int((~refused & is_cancel).sum()),
        len(rejected),
        first_reject,
    )


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


def engine_depth_decimal(engine: AnyEngine) -> dict[str, list[tuple[Decimal, Decimal]]]:
    big = 10**9
    return {
        side: [(Decimal(p).scaleb(-2), Decimal(q).scaleb(-5)) for p, q in levels]
        for side, levels in engine.depth(big).items()
    }


# ---------------------------------------------------------------------------- mixed workload

SL, SLL = OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT
TP, TPL = OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT
STOP_KINDS = (SL, SLL, TP, TPL)
X_NEW = ExecutionType.NEW
GTC = TimeInForce.GTC
MIXED_ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT",
                     "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"]  # fmt: skip
TRADE_GROUPS = {"acct0": 1, "acct1": 1}  # tradeGroupId 1: acct0 and acct1 self-trade as one
OTHER_MODES = (StpMode.NONE, StpMode.EXPIRE_TAKER, StpMode.EXPIRE_BOTH, StpMode.DECREMENT,
               StpMode.TRANSFER)  # fmt: skip
MODE_SHARE = 0.25  # new orders naming one of OTHER_MODES; the rest take the symbol default
STOP_BAND = 40  # stop prices 1..STOP_BAND ticks from the last trade, on the side that waits
STOP_SLIP = 20  # a _LIMIT stop's limit price: 0..STOP_SLIP ticks past its stop price
TRAILING_SHARE = 0.3  # stops with a trailingDelta; half of them also have an activation price
TRAILING_BPS = (1, 3)  # trailingDelta range, basis points (1 bp of 30000.00 is 300 ticks)

# The mixed workload's operations and their shares: the standard mix (limit, market, cancel)
# at 70% of its weight, plus 30% of operations with the extra semantics. Each name is a
# MixedGenerator method that draws one operation.
# "oco" places an OCO list around the last price, "cancel_list" cancels an open one.
MIXED_MIX: tuple[tuple[str, float], ...] = (
    ("limit", 0.42),
    ("market", 0.07),
    ("cancel", 0.21),
    ("stop", 0.12),
    ("amend", 0.07),
    ("replace", 0.06),
    ("oco", 0.04),
    ("cancel_list", 0.01),
)
MAKER = OrderType.LIMIT_MAKER
# An OCO's stop leg waits OCO_STOP_GAP ticks from the last trade, like the plain stops, so
# some trigger (and some fire in one batch with a stop that fills their sibling first).
OCO_STOP_GAP = (1, STOP_BAND)

Request = NewOrder | CancelOrder | AmendOrder | CancelReplace | NewOco | CancelOrderList
MixedOp = tuple[int, Request]  # now, request
Result = Ack | VenueError | CancelReplaceResult | ListAck


def mixed_spec() -> SymbolSpec:
    """The standard symbol plus stop types, STP default EXPIRE_MAKER (every mode allowed),
    MAX_NUM_ALGO_ORDERS raised like MAX_NUM_ORDERS, and TRAILING_DELTA from 1 bp (the venue's
    BTCUSDT starts at 10; at this price and spread nothing that wide would ever fire)."""
    return btc_spec(
        orderTypes=MIXED_ORDER_TYPES,
        defaultSelfTradePreventionMode="EXPIRE_MAKER",
        filters=[
            *BTC_FILTERS,
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 200_000},
            {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 1,
             "maxTrailingAboveDelta": 2000, "minTrailingBelowDelta": 1,
             "maxTrailingBelowDelta": 2000},
        ],
    )  # fmt: skip


@dataclass
class LiveOrder:
    """What the generator knows of an order that was open when it last looked."""

    account: str
    cid: str
    qty: int
    side: Side
    type: OrderType


@dataclass
class MixedStream:
    ops: list[MixedOp]
    counts: dict[str, int]  # operations by kind (MIXED_MIX names)
    events: dict[str, int]  # reports by execution type, plus STOP_TRIGGERED(_TRAILING)
    refused: dict[str, int]  # refused requests (or halves of a cancel-replace) by error
    lists: dict[str, int]  # list requests accepted: oco_placed, cancel_list_ok
    fills: int  # taker TRADE reports
    prevented_matches: int
    mean_open: int  # open orders (resting or waiting stops) after an operation, on average
    digest: str  # the generator's engine state at the end


class MixedGenerator:
    """Draws the mixed workload while running it on a shadow engine.

    The engine is deterministic, so the timed run on a fresh engine goes through the very same
    states: the shadow tells the generator which orders are open (for cancels, amends and
    cancel-replaces) and the last trade price (stops are placed around it so that they do not
    trigger at once), and its reports give the event counts. The timed run is checked against
    it (fills, refusals, final state digest).
    """

    def __init__(self, instrument: Instrument, seed: int) -> None:
        self.rng = random.Random(seed)
        self.engine = new_engine(instrument, TRADE_GROUPS)
        self.mid = START_MID
        self.last = START_MID  # the last trade price (the engine's reference seed at first)
        self.live_ids: list[int] = []  # ids that were open at some point, pruned lazily
        self.live: dict[int, LiveOrder] = {}
        self.lists: list[tuple[int, str, tuple[int, ...]]] = []  # list id, account, leg ids
        self.list_counts: Counter[str] = Counter()
        self.ops: list[MixedOp] = []
        self.events: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.fills = 0
        self.steps: dict[str, Callable[[int, int], None]] = {
            "limit": self.limit,
            "market": self.market,
            "cancel": self.cancel,
            "stop": self.stop,
            "amend": self.amend,
            "replace": self.replace,
            "oco": self.oco,
            "cancel_list": self.cancel_list,
        }

    def run(self, n_ops: int) -> MixedStream:
        rng = self.rng
        table: list[tuple[float, str]] = []
        edge = 0.0
        for kind, weight in MIXED_MIX:
            edge += weight
            table.append((edge, kind))
        counts = dict.fromkeys(self.steps, 0)
        open_sum = 0
        for i in range(n_ops):
            now = T0 + i * MS_PER_OP
            r = rng.random()
            kind = table[-1][1]
            for edge, name in table:
                if r < edge:
                    kind = name
                    break
            self.steps[kind](i, now)
            counts[kind] += 1
            self.mid += (-1, 0, 0, 1)[rng.randrange(4)]
            open_sum += len(self.engine.open_orders()) if i % 100 == 0 else 0
        engine = self.engine
        labels = [x.value for x in ExecutionType] + ["STOP_TRIGGERED", "STOP_TRIGGERED_TRAILING"]
        return MixedStream(
            self.ops,
            counts,
            {label: self.events[label] for label in labels},
            dict(self.refused),
            {k: self.list_counts[k] for k in ("oco_placed", "cancel_list_ok")},
            self.fills,
            engine.last_prevented_match_id + 1,
            round(open_sum / max((n_ops + 99) // 100, 1)),
            engine.state_digest(),
        )

    # -------------------------------------------------------- drawing one operation

    def account(self) -> str:
        return ACCOUNTS[self.rng.randrange(len(ACCOUNTS))]

    def side(self) -> Side:
        return Side.BUY if self.rng.random() < 0.5 else Side.SELL

    def mode(self) -> StpMode | None:
        rng = self.rng
        return OTHER_MODES[rng.randrange(len(OTHER_MODES))] if rng.random() < MODE_SHARE else None

    def new_limit(self, i: int, account: str, side: Side) -> NewOrder:
        rng = self.rng
        lots = rng.randint(MIN_LOTS, MAX_LOTS)
        price = self.mid + rng.randint(-BAND, BAND)
        return NewOrder(account, side, OrderType.LIMIT, lots, price, GTC, 0, f"m{i}", self.mode())

    def new_stop(self, i: int, account: str, side: Side, otype: OrderType) -> NewOrder:
        """A stop 1..STOP_BAND ticks from the last trade on the side where it waits; some
        trailing (with an activation price or, for half of them, from the last price)."""
        rng = self.rng
        lots = rng.randint(MIN_LOTS, MAX_LOTS)
        offset = rng.randint(1, STOP_BAND)
        stop = self.last + offset if fires_on_rise(otype, side) else self.last - offset
        trailing = 0
        if rng.random() < TRAILING_SHARE:
            trailing = rng.randint(*TRAILING_BPS)
            if rng.random() < 0.5:
                stop = 0
        price, tif = 0, None
        if otype is SLL or otype is TPL:
            slip = rng.randint(0, STOP_SLIP)
            at = stop or self.last
            price, tif = (at + slip if side is Side.BUY else at - slip), GTC
        return NewOrder(
            account, side, otype, lots, price, tif, 0, f"m{i}", self.mode(), stop, trailing
        )

    def limit(self, i: int, now: int) -> None:
        self.apply(now, self.new_limit(i, self.account(), self.side()), "limit")

    def market(self, i: int, now: int) -> None:
        account, side = self.account(), self.side()
        lots = self.rng.randint(MIN_LOTS, MAX_LOTS)
        order = NewOrder(account, side, OrderType.MARKET, lots, 0, None, 0, f"m{i}", self.mode())
        self.apply(now, order, "market")

    def stop(self, i: int, now: int) -> None:
        account, side = self.account(), self.side()
        otype = STOP_KINDS[self.rng.randrange(len(STOP_KINDS))]
        self.apply(now, self.new_stop(i, account, side, otype), "stop")

    def cancel(self, i: int, now: int) -> None:
        target = self.pick()
        if target is None:  # nothing open: name an id that never existed
            self.apply(now, CancelOrder(ACCOUNTS[0], None, "none"), "cancel")
            return
        order = self.live[target]
        self.apply(now, CancelOrder(order.account, None, order.cid), "cancel")

    def amend(self, i: int, now: int) -> None:
        """Lower an open order's quantity (keep-priority), by order id, with a new client id."""
        target = self.pick()
        if target is None:
            self.apply(now, AmendOrder(ACCOUNTS[0], MIN_LOTS, None, "none"), "amend")
            return
        order = self.live[target]
        new_qty = self.rng.randint(max(1, order.qty // 2), order.qty - 1)
        req = AmendOrder(order.account, new_qty, target, None, f"a{i}")
        ack = self.apply(now, req, "amend")
        if isinstance(ack, Ack):
            order.cid = f"a{i}"
            for report in ack.reports:  # an OCO leg's sibling is amended with it
                if report.order_id in self.live:
                    self.live[report.order_id].qty = new_qty

    def replace(self, i: int, now: int) -> None:
        """Cancel-replace an open order (STOP_ON_FAILURE) by a fresh one of its kind and side:
        a limit order at a new price near the mid, or a stop around the last price."""
        target = self.pick()
        if target is None:
            new = self.new_limit(i, ACCOUNTS[0], self.side())
            self.apply(now, CancelReplace(CancelOrder(ACCOUNTS[0], None, "none"), new), "replace")
            return
        order = self.live[target]
        if order.type in STOP_TYPES:
            new = self.new_stop(i, order.account, order.side, order.type)
        else:
            new = self.new_limit(i, order.account, order.side)
        self.apply(now, CancelReplace(CancelOrder(order.account, None, order.cid), new), "replace")

    def oco(self, i: int, now: int) -> None:
        """An OCO around the last price: a LIMIT_MAKER 1..STOP_BAND ticks on the passive side
        (past the best opposite quote too, so it does not cross) and a STOP_LOSS or
        STOP_LOSS_LIMIT (limit 0..STOP_SLIP ticks past its stop) OCO_STOP_GAP ticks from the
        last price on the other side."""
        rng, engine = self.rng, self.engine
        account, side = self.account(), self.side()
        lots = rng.randint(MIN_LOTS, MAX_LOTS)
        otype = SL if rng.random() < 0.5 else SLL
        slip = rng.randint(0, STOP_SLIP) if otype is SLL else 0
        tif = GTC if otype is SLL else None
        if side is Side.SELL:
            bid = engine.best_bid()
            maker_at = max(self.last, bid if bid is not None else 0) + rng.randint(1, STOP_BAND)
            stop = self.last - rng.randint(*OCO_STOP_GAP)
            above = ListLeg(MAKER, maker_at, client_order_id=f"o{i}a")
            below = ListLeg(otype, stop - slip if tif else 0, stop, 0, tif, f"o{i}b")
        else:
            ask = engine.best_ask()
            maker_at = min(self.last, ask if ask is not None else self.last)
            maker_at -= rng.randint(1, STOP_BAND)
            stop = self.last + rng.randint(*OCO_STOP_GAP)
            above = ListLeg(otype, stop + slip if tif else 0, stop, 0, tif, f"o{i}a")
            below = ListLeg(MAKER, maker_at, client_order_id=f"o{i}b")
        req = NewOco(account, side, lots, above, below, f"l{i}", self.mode())
        self.apply(now, req, "oco")

    def cancel_list(self, i: int, now: int) -> None:
        """Cancel a uniformly drawn open OCO list (one with a leg still open), by list id."""
        rng, lists, is_open = self.rng, self.lists, self.engine.is_open
        while lists:
            j = rng.randrange(len(lists))
            list_id, account, legs = lists[j]
            if any(is_open(oid) for oid in legs):
                self.apply(now, CancelOrderList(account, list_id), "cancel_list")
                return
            lists[j] = lists[-1]
            lists.pop()
        self.apply(now, CancelOrderList(ACCOUNTS[0], -1), "cancel_list")

    # -------------------------------------------------------- the shadow engine

    def pick(self) -> int | None:
        """A uniformly drawn open order (resting, or a stop waiting for its trigger)."""
        rng, live_ids, is_open = self.rng, self.live_ids, self.engine.is_open
        while live_ids:
            j = rng.randrange(len(live_ids))
            oid = live_ids[j]
            if is_open(oid):
                return oid
            live_ids[j] = live_ids[-1]
            live_ids.pop()
            del self.live[oid]
        return None

    def apply(self, now: int, req: Request, kind: str) -> Result:
        """Run one request on the shadow engine, record it, count what it did."""
        self.ops.append((now, req))
        engine = self.engine
        res: Result
        if isinstance(req, NewOrder):
            res = engine.submit(req, now)
            self.note(res, kind, req)
        elif isinstance(req, CancelOrder):
            res = engine.cancel(req, now)
            self.note(res, kind, None)
        elif isinstance(req, AmendOrder):
            res = engine.amend(req, now)
            self.note(res, kind, None)
        elif isinstance(req, NewOco):
            res = engine.submit_oco(req, now)
            self.note(res, kind, None)
            if isinstance(res, ListAck):
                self.list_counts["oco_placed"] += 1
                legs = tuple(o.order_id for o in res.orders)
                self.lists.append((res.order_list_id, req.account, legs))
                for o in res.orders:
                    if engine.is_open(o.order_id):
                        self.live[o.order_id] = LiveOrder(
                            o.account, o.client_order_id, o.orig_qty, o.side, o.type
                        )
                        self.live_ids.append(o.order_id)
        elif isinstance(req, CancelOrderList):
            res = engine.cancel_list(req, now)
            self.note(res, kind, None)
            if isinstance(res, ListAck):
                self.list_counts["cancel_list_ok"] += 1
        else:
            res = engine.cancel_replace(req, now)
            if isinstance(res, VenueError):
                self.note(res, kind, None)
            else:
                self.note(res.cancel, kind + " (cancel)", None)
                if res.new is not None:
                    self.note(res.new, kind + " (new)", req.new)
        return res

    def note(self, res: Ack | ListAck | VenueError, what: str, placed: NewOrder | None) -> None:
        if isinstance(res, VenueError):
            self.refused[f"{what}: {res.code} {res.msg}"] += 1
            return
        events = self.events
        for rep in res.reports:
            x = rep.execution_type
            events[x.value] += 1
            if x is X_TRADE:
                self.last = rep.last_price
                if not rep.is_maker:
                    self.fills += 1
            elif x is X_NEW and rep.working_time != -1 and rep.type in STOP_TYPES:
                events["STOP_TRIGGERED"] += 1
                if rep.trailing_delta:
                    events["STOP_TRIGGERED_TRAILING"] += 1
        if placed is not None and isinstance(res, Ack) and self.engine.is_open(res.order_id):
            self.live[res.order_id] = LiveOrder(
                placed.account, res.client_order_id, placed.quantity, placed.side, placed.type
            )
            self.live_ids.append(res.order_id)


def run_mixed(engine: MatchingEngine, ops: list[MixedOp]) -> Run:
    """The mixed stream, timed; counts taker fills and refusals as the generator did."""
    submit, cancel, amend, replace = (
        engine.submit, engine.cancel, engine.amend, engine.cancel_replace
    )  # fmt: skip
    submit_oco, cancel_list = engine.submit_oco, engine.cancel_list
    fills = volume = rejects = 0
    first_reject = ""
    t0 = time.perf_counter()
    for now, req in ops:
        res: Result
        if isinstance(req, NewOrder):
            res = submit(req, now)
        elif isinstance(req, CancelOrder):
            res = cancel(req, now)
        elif isinstance(req, AmendOrder):
            res = amend(req, now)
        elif isinstance(req, NewOco):
            res = submit_oco(req, now)
        elif isinstance(req, CancelOrderList):
            res = cancel_list(req, now)
        else:
            res = replace(req, now)
            if isinstance(res, CancelReplaceResult):
                if isinstance(res.cancel, VenueError):
                    rejects += 1
                if res.new is None:
                    continue
                res = res.new
        if isinstance(res, Ack | ListAck):
            for rep in res.reports:
                if rep.execution_type is X_TRADE and not rep.is_maker:
                    fills += 1
                    volume += rep.last_qty
        else:
            rejects += 1
            first_reject = first_reject or f"{req} -> {res}"
    seconds = time.perf_counter() - t0
    return Run(seconds, fills, volume, 0, rejects, first_reject)


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


def print_profile(title: str, run: Callable[[], object], out: TextIO) -> None:
    prof = cProfile.Profile()
    prof.enable()
    run()
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(25)
    print(f"\n{title} under cProfile (top 25 by tottime):", file=out)
    print(buf.getvalue(), file=out)


def bench_standard(
    args: argparse.Namespace,
) -> tuple[dict[str, object], list[str], tuple[float, float]]:
    """The standard workload: native per call, native batch, python, python+parse,
    python+metrics and naive; its JSON fields, problems and the Python engine's ops/s."""
    instrument = Instrument.compile(btc_spec())
    t_gen = time.perf_counter()
    stream = generate(args.ops, args.seed, args.cancels)
    t_gen = time.perf_counter() - t_gen
    t_enc = time.perf_counter()
    batch_data = encode_requests(stream.engine)
    t_enc = time.perf_counter() - t_enc
    is_new = np.fromiter((isinstance(req, NewOrder) for _, req in stream.engine), bool, args.ops)
    # The pre-built stream is large and immutable: keep the collector from rescanning it in
    # every full collection during the timed runs (their own objects are still collected).
    gc.collect()
    gc.freeze()

    def native_once() -> tuple[Run, object]:
        engine = new_native_engine(instrument)
        gc.collect()
        return run_engine(engine, stream.engine), engine

    def batch_once() -> tuple[Run, object]:
        engine = new_native_engine(instrument)
        gc.collect()
        return run_batch(engine, batch_data, is_new), engine

    def engine_once() -> tuple[Run, object]:
        engine = new_engine(instrument)
        gc.collect()
        return run_engine(engine, stream.engine), engine

    def parse_once() -> tuple[Run, object]:
        engine = new_engine(instrument)
        gc.collect()
        return run_engine_parse(engine, stream.parse), engine

    recorders: list[Recorder] = []

    def metrics_once() -> tuple[Run, object]:
        recorder = Recorder()
        recorders.append(recorder)
        metrics = SymbolMetrics(recorder, instrument)
        engine = new_engine(instrument)
        gc.collect()
        run = run_engine_metrics(engine, stream.engine, metrics)
        metrics.publish(engine)
        return run, engine

    def naive_once() -> tuple[Run, object]:
        book = NaiveBook()
        gc.collect()
        return run_naive(book, stream.naive), book

    nat, nat_state = best_of(args.repeat, native_once)
    bat, bat_state = best_of(args.repeat, batch_once)
    eng, eng_state = best_of(args.repeat, engine_once)
    naive, naive_state = best_of(args.repeat, naive_once)
    parse, _ = best_of(args.repeat, parse_once)
    metered, _ = best_of(args.repeat, metrics_once)
    eng_again, _ = best_of(args.repeat, engine_once)  # the baseline again, after: less drift
    if eng_again.seconds < eng.seconds:
        eng = eng_again
    counted = recorders[-1].total("bot4_orders")

    n = args.ops
    nat_rate, bat_rate, eng_rate = n / nat.seconds, n / bat.seconds, n / eng.seconds
    naive_rate, parse_rate = n / naive.seconds, n / parse.seconds
    assert isinstance(nat_state, NativeEngine) and isinstance(bat_state, NativeEngine)
    assert isinstance(eng_state, MatchingEngine) and isinstance(naive_state, NaiveBook)

    problems: list[str] = []
    if counted != int(is_new.sum()):
        problems.append(f"metrics counted {counted} orders")
    runs = (("native", nat), ("native batch", bat), ("python", eng), ("python+parse", parse),
            ("python+metrics", metered))  # fmt: skip
    for name, run in runs:
        if run.rejects:
            problems.append(f"{name} refused {run.rejects} orders, first: {run.first_reject}")
        for what in ("fills", "volume_lots", "cancels_ok"):
            if getattr(run, what) != getattr(naive, what):
                problems.append(
                    f"{what}: {name} {getattr(run, what)} != naive {getattr(naive, what)}"
                )
    for name, run, state in (("native", nat, nat_state), ("python", eng, eng_state)):
        if run.fills != state.last_trade_id:
            problems.append(
                f"{name} taker TRADE reports {run.fills} != trades {state.last_trade_id}"
            )
    if naive.fills != stream.counts["shadow_fills"]:
        problems.append(f"naive fills {naive.fills} != generator's {stream.counts['shadow_fills']}")
    naive_depth = naive_state.depth()
    for name, state in (("native", nat_state), ("native batch", bat_state), ("python", eng_state)):
        if engine_depth_decimal(state) != naive_depth:
            problems.append(f"final books differ: {name} engine and naive book")
    digests = {
        "native": nat_state.state_digest(),
        "native batch": bat_state.state_digest(),
        "python": eng_state.state_digest(),
    }
    digests_agree = len(set(digests.values())) == 1
    if not digests_agree:
        problems.append(
            "state digests differ: " + ", ".join(f"{k} {v}" for k, v in digests.items())
        )

    resting = len(naive_state.orders)
    fields: dict[str, object] = {
        "engine_ops_per_s": round(nat_rate, 1),
        "engine_backend": "native",
        "python_ops_per_s": round(eng_rate, 1),
        "native_batch_ops_per_s": round(bat_rate, 1),
        "naive_ops_per_s": round(naive_rate, 1),
        "ratio": round(nat_rate / naive_rate, 4),
        "python_ratio": round(eng_rate / naive_rate, 4),
        "batch_ratio": round(bat_rate / naive_rate, 4),
        "native_vs_python": round(nat_rate / eng_rate, 4),
        "fills": nat.fills,
        "python_fills": eng.fills,
        "batch_fills": bat.fills,
        "naive_fills": naive.fills,
        "digests_agree": digests_agree,
        "batch_encode_s": round(t_enc, 4),
        "engine_parse_ops_per_s": round(parse_rate, 1),
        "engine_metrics_ops_per_s": round(n / metered.seconds, 1),
        "metrics_overhead": round(metered.seconds / eng.seconds - 1, 4),
        "parse_ratio": round(parse_rate / naive_rate, 4),
        "ops": n,
        "seed": args.seed,
        "cancels": args.cancels,
        "mean_resting": stream.counts["mean_resting"],
        "repeat": args.repeat,
        "cancels_ok": nat.cancels_ok,
        "resting_at_end": resting,
        "agree": not problems,
    }
    if not args.json:
        c = stream.counts
        print(
            f"workload: {n} ops, seed {args.seed}: {c['limit']} limit, {c['market']} market, "
            f"{c['cancel']} cancel ({c['cancel_of_nothing']} naming nothing, "
            f"{c['cancel_of_dead']} naming an ended order); "
            f"{c['mean_resting']} orders resting on average; "
            f"generated in {t_gen:.2f}s, encoded for the batch in {t_enc:.2f}s; "
            f"best of {args.repeat}"
        )
        lines = (
            ("native", nat_rate, nat, f"fills {nat.fills}  cancels ok {nat.cancels_ok}"),
            ("native batch", bat_rate, bat,
             f"trades {bat.fills}  cancels ok {bat.cancels_ok}"),
            ("python", eng_rate, eng, f"fills {eng.fills}  cancels ok {eng.cancels_ok}"),
            ("python+parse", parse_rate, parse,
             f"fills {parse.fills}  cancels ok {parse.cancels_ok}"),
            ("python+metrics", n / metered.seconds, metered,
             f"metrics overhead {metered.seconds / eng.seconds - 1:.1%} (goal < 10%)"),
            ("naive", naive_rate, naive, f"fills {naive.fills}  cancels ok {naive.cancels_ok}"),
        )  # fmt: skip
        for label, rate, run, note in lines:
            print(f"  {label:<15}{rate:>12,.0f} ops/s  ({run.seconds:.3f}s)  {note}")
        print(
            f"  ratio to naive: native {nat_rate / naive_rate:.3f}   "
            f"batch {bat_rate / naive_rate:.3f}   python {eng_rate / naive_rate:.3f}   "
            f"python+parse {parse_rate / naive_rate:.3f};   native/python "
            f"{nat_rate / eng_rate:.2f};   resting at end {resting}"
        )
        print(
            "  engines and naive book agree; native, batch and python state digests equal"
            if not problems
            else "  DISAGREEMENT:"
        )
    for problem in problems:
        print(f"    {problem}", file=sys.stderr)

    if args.profile:
        out: TextIO = sys.stderr if args.json else sys.stdout
        native = new_native_engine(instrument)
        gc.collect()
        print_profile("native engine, per call", lambda: run_engine(native, stream.engine), out)
        engine = new_engine(instrument)
        gc.collect()
        print_profile("python engine", lambda: run_engine(engine, stream.engine), out)
    return fields, problems, (nat_rate, eng_rate)


def rss_bytes() -> int | None:
    """The process's current resident set size: /proc/self/statm's resident pages times the
    page size (None where there is no /proc, i.e. not Linux)."""
    try:
        with open("/proc/self/statm") as f:
            resident = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return resident * os.sysconf("SC_PAGE_SIZE")


def malloc_trim() -> None:
    """Hand memory that malloc holds free back to the system (glibc only; else nothing)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)


def resting_spec(n: int) -> SymbolSpec:
    """The standard symbol with MAX_NUM_ORDERS raised to `n`, so no account is refused."""
    filters = [f for f in BTC_FILTERS if f["filterType"] != "MAX_NUM_ORDERS"]
    filters.append({"filterType": "MAX_NUM_ORDERS", "maxNumOrders": max(n, 200_000)})
    return btc_spec(filters=filters)


def resting_requests(lo: int, hi: int, rng: random.Random) -> Iterator[EngineOp]:
    """Orders lo..hi-1 of the memory run: even ones bids below START_MID, odd ones asks above
    it, RESTING_LEVELS / 2 levels a side, accounts in turn, 100-1000 lots; none crosses."""
    half = RESTING_LEVELS // 2
    for i in range(lo, hi):
        is_buy = not i % 2
        away = 1 + rng.randrange(half)
        yield (
            T0,
            NewOrder(
                ACCOUNTS[i % len(ACCOUNTS)],
                Side.BUY if is_buy else Side.SELL,
                OrderType.LIMIT,
                rng.randint(100, 1_000),
                START_MID - away if is_buy else START_MID + away,
                TimeInForce.GTC,
                0,
                f"r{i}",
            ),
        )


def bench_resting(args: argparse.Namespace) -> tuple[dict[str, object], list[str]]:
    """Memory per resting order on the native engine (see the module docstring)."""
    n = args.resting
    instrument = Instrument.compile(resting_spec(n))
    rng = random.Random(args.seed)
    t_build = time.perf_counter()
    chunks = [
        encode_requests(resting_requests(lo, min(lo + RESTING_CHUNK, n), rng))
        for lo in range(0, n, RESTING_CHUNK)
    ]
    t_build = time.perf_counter() - t_build
    engine = new_native_engine(instrument)
    refused = executed = 0
    gc.collect()
    malloc_trim()
    before = rss_bytes()
    t0 = time.perf_counter()
    for chunk in chunks:
        answers, _ = engine.submit_batch(chunk)
        refused += int(np.count_nonzero(answers["refused"]))
        executed += int(np.count_nonzero(answers["executed_qty"]))
        del answers
    seconds = time.perf_counter() - t0
    gc.collect()
    held = rss_bytes()  # with what malloc holds free (old tables and buffers that grew)
    malloc_trim()
    after = rss_bytes()
    growth = None if before is None or after is None else after - before
    per_order = None if growth is None else round(growth / n, 1)
    held_growth = None if before is None or held is None else held - before
    held_per_order = None if held_growth is None else round(held_growth / n, 1)

    problems: list[str] = []
    if refused or executed or engine.last_order_id != n:
        problems.append(
            f"resting: {refused} orders refused, {executed} traded (none should), "
            f"{engine.last_order_id} accepted of {n}"
        )
    depth = engine.depth(10**9)
    levels = len(depth["bids"]) + len(depth["asks"])
    del depth
    fields: dict[str, object] = {
        "bytes_per_resting_order": per_order,
        "resting_orders": n,
        "resting_levels": levels,
        "resting_rss_growth_bytes": growth,
        "bytes_per_resting_order_untrimmed": held_per_order,
        "resting_rss_source": "/proc/self/statm resident x page size (current RSS)",
        "resting_insert_ops_per_s": round(n / seconds, 1) if seconds else None,
    }
    if not args.json:
        shown = "n/a (no /proc/self/statm)" if per_order is None else f"{per_order:,.1f}"
        grown = "n/a" if growth is None else f"{growth / 2**20:,.1f} MiB"
        print(
            f"memory: {n:,} resting LIMIT GTC orders on a native engine over {levels} levels "
            f"(requests built in {t_build:.2f}s, inserted at {n / seconds:,.0f} orders/s "
            f"through submit_batch in chunks of {RESTING_CHUNK:,})"
        )
        print(
            f"  RSS growth {grown} = {shown} bytes per resting order "
            f"(current RSS from /proc/self/statm after malloc_trim; request bytes not counted); "
            f"before the trim {held_per_order} bytes per order"
        )
    for problem in problems:
        print(f"    {problem}", file=sys.stderr)
    return fields, problems


def bench_mixed(
    args: argparse.Namespace, standard_rates: tuple[float, float] | None
) -> tuple[dict[str, object], list[str]]:
    """The mixed workload on the native engine, and on the Python one beside it; its JSON
    fields and problems. `standard_rates`: the standard workload's native (per call) and
    Python engine ops/s, if it ran."""
    instrument = Instrument.compile(mixed_spec())
    t_gen = time.perf_counter()
    stream = MixedGenerator(instrument, args.seed).run(args.ops)
    t_gen = time.perf_counter() - t_gen
    gc.collect()
    gc.freeze()

    def once() -> tuple[Run, object]:
        engine = new_native_engine(instrument, TRADE_GROUPS)
        gc.collect()
        return run_mixed(engine, stream.ops), engine  # type: ignore[arg-type]

    def python_once() -> tuple[Run, object]:
        engine = new_engine(instrument, TRADE_GROUPS)
        gc.collect()
        return run_mixed(engine, stream.ops), engine

    problems: list[str] = []
    refused = sum(stream.refused.values())
    rates = []
    for name, runner in (("native", once), ("python", python_once)):
        run, state = best_of(args.repeat, runner)
        assert isinstance(state, MatchingEngine | NativeEngine)
        rates.append(args.ops / run.seconds)
        if run.fills != stream.fills:
            problems.append(f"mixed {name}: taker TRADE reports {run.fills} != {stream.fills}")
        if run.fills != state.last_trade_id:
            problems.append(f"mixed {name}: taker TRADE reports {run.fills} != trades")
        if run.rejects != refused:
            problems.append(f"mixed {name}: {run.rejects} refused != generator's {refused}")
        if state.state_digest() != stream.digest:
            problems.append(f"mixed {name}: final state differs from the generator's")
    rate, python_rate = rates
    vs_standard = round(rate / standard_rates[0], 4) if standard_rates else None

    fields: dict[str, object] = {
        "mixed_ops_per_s": round(rate, 1),
        "mixed_backend": "native",
        "python_mixed_ops_per_s": round(python_rate, 1),
        "mixed_events": stream.events,
        "mixed_vs_standard": vs_standard,
        "mixed_ops": stream.counts,
        "mixed_ops_by_kind": stream.counts,
        "mixed_lists": stream.lists,
        "mixed_fills": run.fills,
        "mixed_prevented_matches": stream.prevented_matches,
        "mixed_refused": stream.refused,
        "mixed_mean_open": stream.mean_open,
        "mixed_agree": not problems,
    }
    if not args.json:
        ops = ", ".join(f"{count} {kind}" for kind, count in stream.counts.items())
        print(
            f"mixed workload: {args.ops} ops, seed {args.seed}: {ops}; "
            f"{stream.mean_open} orders open on average; "
            f"generated in {t_gen:.2f}s; best of {args.repeat}"
        )
        print(
            f"  native        {rate:>12,.0f} ops/s   python {python_rate:>12,.0f} ops/s   "
            f"fills {stream.fills}  refused {refused}"
        )
        ev = stream.events
        by_type = ", ".join(f"{x.value} {ev.get(x.value, 0)}" for x in ExecutionType)
        print(f"  reports: {by_type}")
        print(
            f"  stops triggered {ev.get('STOP_TRIGGERED', 0)} "
            f"(trailing {ev.get('STOP_TRIGGERED_TRAILING', 0)}) of {stream.counts['stop']} "
            f"placed (+ those from cancel-replaces); "
            f"prevented matches {stream.prevented_matches}"
        )
        lists, c = stream.lists, stream.counts
        print(
            f"  lists: {c['oco']} OCO requests, {lists['oco_placed']} placed; "
            f"{c['cancel_list']} cancel_list, {lists['cancel_list_ok']} of an open list"
        )
        for what, count in sorted(stream.refused.items(), key=lambda kv: -kv[1]):
            print(f"  refused {count:>6}  {what}")
        if vs_standard is not None:
            print(f"  ratio mixed/standard (python engine) {vs_standard:.3f}")
        print(
            "  engine run agrees with the generator's (fills, refusals, final state)"
            if not problems
            else "  DISAGREEMENT:"
        )
    for problem in problems:
        print(f"    {problem}", file=sys.stderr)

    if args.profile:
        engine = new_engine(instrument, TRADE_GROUPS)
        gc.collect()
        out: TextIO = sys.stderr if args.json else sys.stdout
        print_profile("python engine (mixed)", lambda: run_mixed(engine, stream.ops), out)
    return fields, problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--ops", type=int, default=200_000, help="operations (default 200000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--repeat", type=int, default=1, help="best of K runs (default 1)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument(
        "--workload",
        choices=("standard", "mixed", "both"),
        default="both",
        help="the standard workload (native per call, native batch and python engines, "
        "the naive baseline, and the memory run), the mixed one (stops, STP, amends, "
        "cancel-replaces, lists; python engine only), or both (default)",
    )
    ap.add_argument(
        "--resting",
        type=int,
        default=1_000_000,
        help="orders resting on a native engine for bytes_per_resting_order (default "
        "1000000; 0: skip); standard workload only",
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="also run the engines (native per call, python) under cProfile; print the top "
        "25 by tottime",
    )
    ap.add_argument(
        "--cancels",
        choices=("resting", "submitted"),
        default="resting",
        help="what a cancel names: a random resting order (default, as specified) or a random "
        "previously submitted limit order, live or not (deeper book, mostly rejected cancels); "
        "standard workload only",
    )
    ap.add_argument(
        "--no-check",
        action="store_true",
        help="do not assert that the engines and the naive book agree (nor the native, "
        "batch and python state digests)",
    )
    args = ap.parse_args(argv)
    if args.ops <= 0 or args.repeat <= 0:
        ap.error("--ops and --repeat must be positive")
    if args.resting < 0:
        ap.error("--resting must not be negative")

    fields: dict[str, object] = {}
    problems: list[str] = []
    standard_rates: tuple[float, float] | None = None
    if args.workload in ("standard", "both"):
        got, found, standard_rates = bench_standard(args)
        fields.update(got)
        problems += found
    if args.workload in ("mixed", "both"):
        if args.workload == "mixed":
            fields.update(ops=args.ops, seed=args.seed, repeat=args.repeat)
        elif not args.json:
            print()
        got, found = bench_mixed(args, standard_rates)
        fields.update(got)
        problems += found
    if args.workload in ("standard", "both") and args.resting:
        # last, so the timed runs do not share the process with a million-order engine
        if not args.json:
            print()
        got, found = bench_resting(args)
        fields.update(got)
        problems += found
    if args.json:
        print(json.dumps(fields))

    if problems and not args.no_check:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
