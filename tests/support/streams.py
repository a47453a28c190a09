"""Random request streams for one matching engine: hypothesis strategies and a seeded generator.

A stream is a list of requests (`NewOrder` or `CancelOrder`) for one symbol over 2-4 accounts:
LIMIT GTC/IOC/FOK, LIMIT_MAKER, MARKET by quantity and by quoteOrderQty, cancels of random
(possibly dead, possibly another account's) order ids and client ids, and a few malformed
requests (each breaking one rule: a parameter, a client id, an unknown account, an STP mode, or
one of the symbol's filters), with prices in a narrow band around a mid so that most orders
cross. `build_engine` and `build_reference` start the engine and the reference venue
(tests/support/reference_book.py) with the same accounts, funds (`funding`) and trade groups.

Self-trade prevention: on the markets marked `stp`, bob and carol share a tradeGroupId and dave
is alone in another, each new order carries a random selfTradePreventionMode (None: the
symbol's default; every StpMode, TRANSFER included, whether or not the symbol allows it) and
half of the new orders come from the account of the previous one, so that takers often meet
their own (or their group's) makers. The `simple` market stays STP-free: no groups, no modes.

Both generators share one body (`generate`), which draws every choice through a `Picker`: the
hypothesis strategy draws from hypothesis (so failures shrink), the seeded one from its own
`random.Random(seed)` (never the global RNG). Request `i` of a stream runs at `now_of(i)`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol, overload

from hypothesis import strategies as st

from bot4.core.accounts import Ledger
from bot4.core.enums import ExecutionType, OrderType, Side, StpMode, TimeInForce
from bot4.core.errors import VenueError
from bot4.core.events import ExecutionReport
from bot4.core.instruments import Instrument, load_symbols
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.venue.engine import MatchingEngine
from bot4.venue.native import NativeEngine
from bot4.venue.nativeledger import NativeLedger
from tests.conftest import SYMBOLS_FILE, simple_spec
from tests.support.backends import current
from tests.support.reference_book import Fill, Prevented, ReferenceVenue, Transfer

Request = NewOrder | CancelOrder
Result = Ack | VenueError

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET, LIMIT_MAKER = OrderType.LIMIT, OrderType.MARKET, OrderType.LIMIT_MAKER
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK

ACCOUNTS = ("alice", "bob", "carol", "dave")
STRANGER = "mallory"  # never funded: the engine does not know this account
T0 = 1_700_000_000_000  # ms
STEP_MS = 5_000  # 60 requests per 5-minute avgPriceMins window, so windows roll
CLIENT_IDS = tuple(f"c{k}" for k in range(6))
TRADE_GROUPS = (("bob", 7), ("carol", 7), ("dave", 3))  # account, tradeGroupId (stp markets)


def now_of(index: int) -> int:
    """The time (ms) at which request `index` of a stream is sent."""
    return T0 + index * STEP_MS


# ---------------------------------------------------------------------- markets


@dataclass(frozen=True)
class Market:
    """One instrument and the shape of the streams sent to it (units as the engine's)."""

    name: str
    instrument: Instrument
    mid: int  # ticks
    band: int  # ticks either side of mid
    qty_lo: int  # lots
    qty_hi: int
    qoq_lo: int  # quote units
    qoq_hi: int
    reference_price: int | None = None  # ticks, seeds the average price
    poor_lots: int = 25  # what the poor account holds: this many lots' worth at mid
    stp: bool = False  # streams draw STP modes and the accounts of TRADE_GROUPS share groups

    def __repr__(self) -> str:
        return f"Market({self.name})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Short form in hypothesis' falsifying examples."""
        printer.text(repr(self))

    @property
    def groups(self) -> tuple[tuple[str, int], ...]:
        """(account, tradeGroupId) of the accounts in a trade group on this market."""
        return TRADE_GROUPS if self.stp else ()

    def stp_key(self, account: str) -> str | int:
        """What STP compares for this account: its tradeGroupId, or the account itself."""
        return dict(self.groups).get(account, account)

    @property
    def default_mode(self) -> StpMode:
        """The mode an order sent without one gets (the symbol's default)."""
        return self.instrument.spec.defaultSelfTradePreventionMode

    def mode_of(self, requested: StpMode | None) -> StpMode:
        """The STP mode an accepted order has: the one sent, or the symbol's default."""
        return self.default_mode if requested is None else requested

    def allows(self, mode: StpMode | None) -> bool:
        """Whether the symbol accepts an order sent with this mode."""
        return mode is None or mode in self.instrument.spec.allowedSelfTradePreventionModes

    def rich(self) -> tuple[int, int]:
        """(base units, quote units) of a well-funded account."""
        inst = self.instrument
        return int(Decimal(1000) / inst.base_unit), int(Decimal(10**8) / inst.quote_unit)

    def poor(self) -> tuple[int, int]:
        """(base units, quote units) of an account that runs out after a few orders."""
        inst = self.instrument
        return (
            self.poor_lots * inst.base_per_lot,
            self.poor_lots * self.mid * inst.quote_per_ticklot,
        )


def _simple_market() -> Market:
    inst = Instrument.compile(simple_spec())
    mid = 10_000  # 100.00
    per = inst.quote_per_ticklot
    return Market("simple", inst, mid, 4, 1, 20, mid * per // 2, 25 * mid * per)


def _wide_market() -> Market:
    """The simple symbol with prices spread over 20..80 ticks: big relative price steps, so
    price improvement and quoteOrderQty level-walking matter. STP: default NONE, every mode
    allowed."""
    inst = Instrument.compile(simple_spec(symbol="WIDEUSDT", baseAsset="WIDE"))
    mid = 50
    per = inst.quote_per_ticklot
    return Market("wide", inst, mid, 30, 1, 20, mid * per // 2, 25 * mid * per, stp=True)


def _coarse_market() -> Market:
    """Coarse asset units (1 lot = 1 base unit, 1 tick-lot = 1 quote unit) and unequal fee
    rates, so that fee rounding is visible on every trade. STP: default TRANSFER (so that
    transfers are frequent), EXPIRE_BOTH not allowed (-1013)."""
    spec = simple_spec(
        symbol="COARSEUSDT",
        baseAsset="COARSE",
        baseAssetPrecision=3,
        quoteAssetPrecision=5,
        makerCommission="0",
        takerCommission="0.00075",
        defaultSelfTradePreventionMode="TRANSFER",
        allowedSelfTradePreventionModes=[
            "NONE",
            "EXPIRE_TAKER",
            "EXPIRE_MAKER",
            "DECREMENT",
            "TRANSFER",
        ],
    )
    inst = Instrument.compile(spec)
    mid = 2_500  # 25.00
    per = inst.quote_per_ticklot
    return Market("coarse", inst, mid, 3, 1, 15, mid * per // 2, 20 * mid * per, stp=True)


def _btc_market() -> Market:
    """configs/symbols.toml BTCUSDT: NOTIONAL (min 5 USDT, also for MARKET), bands, limits,
    and the STP default and allowed modes the file gives."""
    inst = load_symbols(SYMBOLS_FILE)["BTCUSDT"]
    mid = 6_000_000  # 60000.00
    per = inst.quote_per_ticklot
    # 5..300 lots of 0.00001 BTC: 3..180 USDT, so the smallest fail NOTIONAL's 5 USDT
    return Market(
        "btc",
        inst,
        mid=mid,
        band=6,
        qty_lo=5,
        qty_hi=300,
        qoq_lo=2 * mid * per,
        qoq_hi=200 * mid * per,
        reference_price=mid,
        poor_lots=60,
        stp=True,
    )


SIMPLE = _simple_market()
WIDE = _wide_market()
COARSE = _coarse_market()
BTC = _btc_market()
MARKETS = (SIMPLE, WIDE, COARSE, BTC)
STP_MARKETS = tuple(m for m in MARKETS if m.stp)


def funding(market: Market, accounts: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(base units, quote units) each account starts with: rich, but with 3+ accounts the
    last one is poor."""
    out = {}
    for k, account in enumerate(accounts):
        poor = len(accounts) >= 3 and k == len(accounts) - 1
        out[account] = market.poor() if poor else market.rich()
    return out


@overload
def build_engine(
    market: Market,
    accounts: Sequence[str],
    on_events: Callable[[list[ExecutionReport]], None] | None = None,
    backend: Literal["python"] = ...,
) -> MatchingEngine: ...


@overload
def build_engine(
    market: Market,
    accounts: Sequence[str],
    on_events: Callable[[list[ExecutionReport]], None] | None = None,
    *,
    backend: Literal["native"],
) -> NativeEngine: ...


def build_engine(
    market: Market,
    accounts: Sequence[str],
    on_events: Callable[[list[ExecutionReport]], None] | None = None,
    backend: Literal["python", "native"] | None = None,
) -> MatchingEngine | NativeEngine:
    """A fresh engine (of `backend`, by default the one the test runs on) whose accounts are
    funded (`funding`). On an stp market the accounts of TRADE_GROUPS get their
    tradeGroupId."""
    backend = backend or current()
    inst = market.instrument
    ledger: Ledger | NativeLedger = Ledger() if backend == "python" else NativeLedger()
    for account, (base, quote) in funding(market, accounts).items():
        ledger.deposit(account, inst.base, base)
        ledger.deposit(account, inst.quote, quote)
    for account, group in market.groups:
        if account in accounts:
            ledger.set_trade_group(account, group)
    if isinstance(ledger, NativeLedger):
        return NativeEngine(
            inst, ledger, reference_price=market.reference_price, on_events=on_events
        )
    return MatchingEngine(inst, ledger, reference_price=market.reference_price, on_events=on_events)


def build_reference(market: Market, accounts: Sequence[str]) -> ReferenceVenue:
    """The reference venue for the same market, accounts, funds and trade groups."""
    groups = {a: g for a, g in market.groups if a in accounts}
    return ReferenceVenue(
        market.instrument.spec, funding(market, accounts), groups, market.reference_price
    )


# ---------------------------------------------------------------------- generation


class Picker(Protocol):
    """Where a generator's choices come from."""

    def integer(self, lo: int, hi: int) -> int:
        """A whole number in [lo, hi]."""
        ...


class RandomPicker:
    """Choices from a private `random.Random`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawPicker:
    """Choices drawn from hypothesis (so that a failing stream shrinks)."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))


class DataPicker:
    """Choices drawn from a hypothesis `st.data()` object, for generators that interleave
    drawing with running (each choice can depend on what the engine did)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))


# Request kinds and their weights; hypothesis shrinks towards the first.
KINDS: tuple[tuple[str, int], ...] = (
    ("gtc", 34),
    ("cancel", 20),
    ("ioc", 10),
    ("fok", 8),
    ("maker", 12),
    ("market", 7),
    ("market_quote", 5),
    ("junk", 4),
)
_TOTAL_WEIGHT = sum(w for _, w in KINDS)


def _kind(pick: Picker) -> str:
    roll = pick.integer(0, _TOTAL_WEIGHT - 1)
    for name, weight in KINDS:
        if roll < weight:
            return name
        roll -= weight
    raise AssertionError("unreachable")


def _client_id(pick: Picker) -> str | None:
    if pick.integer(0, 2):
        return None
    return CLIENT_IDS[pick.integer(0, len(CLIENT_IDS) - 1)]


# STP modes a new order on an stp market is sent with: None (the symbol's default) first, so
# that hypothesis shrinks towards it; TRANSFER twice, since it needs both sides on it.
STP_CHOICES: tuple[StpMode | None, ...] = (
    None,
    None,
    None,
    StpMode.NONE,
    StpMode.EXPIRE_TAKER,
    StpMode.EXPIRE_MAKER,
    StpMode.EXPIRE_BOTH,
    StpMode.DECREMENT,
    StpMode.TRANSFER,
    StpMode.TRANSFER,
)


def _stp_mode(pick: Picker, m: Market) -> StpMode | None:
    if not m.stp:
        return None
    return STP_CHOICES[pick.integer(0, len(STP_CHOICES) - 1)]


def _junk(pick: Picker, m: Market, account: str, side: Side, price: int, qty: int) -> NewOrder:
    """A request the engine must refuse (or, for a few, may accept: the tests don't assume).

    Each breaks one rule: an unknown account, a missing or unwanted parameter, a bad client
    id, a disallowed STP mode, or one filter (PRICE_FILTER, PERCENT_PRICE_BY_SIDE, LOT_SIZE,
    MARKET_LOT_SIZE, NOTIONAL), whichever of these the market's symbol has."""
    inst = m.instrument
    choice = pick.integer(0, 12)
    if choice == 10:  # a price outside the percent band, else above PRICE_FILTER's maximum
        if inst.percent_filter is not None:
            far = m.mid * 6 if side is BUY else m.mid // 6
            return NewOrder(account, side, LIMIT, qty, far, GTC)
        return NewOrder(account, side, LIMIT, qty, inst.max_price + 1, GTC)
    if choice == 11:  # a notional above NOTIONAL's maximum, else a quantity above LOT_SIZE's
        if inst.max_notional is not None:
            big = inst.max_notional // price + 1
            if big <= inst.max_qty:
                return NewOrder(account, side, LIMIT, big, price, GTC)
        return NewOrder(account, side, LIMIT, inst.max_qty + 1, price, IOC)
    if choice == 12:  # a MARKET quantity above MARKET_LOT_SIZE's maximum (else LOT_SIZE's)
        too_many = inst.market_max_qty + 1 if inst.market_max_qty else inst.max_qty + 1
        return NewOrder(account, side, MARKET, too_many)
    if choice == 9:
        refused = [mode for mode in StpMode if not m.allows(mode)]
        if refused:  # a well-formed order with a mode the symbol does not allow: -1013
            mode = refused[pick.integer(0, len(refused) - 1)]
            return NewOrder(account, side, LIMIT, qty, price, GTC, stp_mode=mode)
    if choice == 0:
        return NewOrder(STRANGER, side, LIMIT, qty, price, GTC)
    if choice == 1:
        return NewOrder(account, side, LIMIT, qty, price, None)  # timeInForce missing
    if choice == 2:
        return NewOrder(account, side, MARKET, qty, 0, None, m.qoq_hi)  # both sizes
    if choice == 3:
        return NewOrder(account, side, LIMIT, 0, price, GTC)  # LOT_SIZE
    if choice == 4:
        return NewOrder(account, side, LIMIT, qty, price, GTC, client_order_id="bad id!")
    if choice == 5:
        return NewOrder(account, side, LIMIT, qty, 0, IOC)  # PRICE_FILTER
    if choice == 6:
        return NewOrder(account, side, MARKET, qty, 0, IOC)  # timeInForce not required
    if choice == 7:
        return NewOrder(account, side, LIMIT_MAKER, qty, price, GTC)  # ditto
    return NewOrder(account, side, LIMIT, m.instrument.max_qty + 1, price, GTC)  # LOT_SIZE


def _cancel(pick: Picker, accounts: Sequence[str], n_new: int) -> CancelOrder:
    account = accounts[pick.integer(0, len(accounts) - 1)]
    order_id = pick.integer(max(1, n_new - 12), n_new + 1)  # recent ids, maybe dead or foreign
    cid = CLIENT_IDS[pick.integer(0, len(CLIENT_IDS) - 1)]
    new_cid = None if pick.integer(0, 5) else ("bad id!" if pick.integer(0, 1) else "cx")
    mode = pick.integer(0, 9)
    if mode < 6:
        return CancelOrder(account, order_id, None, new_cid)
    if mode < 8:
        return CancelOrder(account, None, cid, new_cid)
    if mode < 9:
        return CancelOrder(account, order_id, cid, new_cid)
    return CancelOrder(account)  # neither id: refused


def _request(
    pick: Picker, m: Market, accounts: Sequence[str], n_new: int, last: str | None
) -> Request:
    """One request; `last` is the account of the previous new order (stp markets send half
    of the new orders from it, so that self-matches are frequent)."""
    kind = _kind(pick)
    if kind == "cancel":
        return _cancel(pick, accounts, n_new)
    if m.stp and last is not None and pick.integer(0, 1) == 0:
        account = last
    else:
        account = accounts[pick.integer(0, len(accounts) - 1)]
    side = BUY if pick.integer(0, 1) == 0 else SELL
    price = m.mid + pick.integer(-m.band, m.band)
    qty = pick.integer(m.qty_lo, m.qty_hi)
    cid = _client_id(pick)
    if kind == "junk":
        return _junk(pick, m, account, side, price, qty)
    stp = _stp_mode(pick, m)
    if kind == "gtc":
        return NewOrder(account, side, LIMIT, qty, price, GTC, client_order_id=cid, stp_mode=stp)
    if kind == "ioc":
        return NewOrder(account, side, LIMIT, qty, price, IOC, client_order_id=cid, stp_mode=stp)
    if kind == "fok":
        return NewOrder(account, side, LIMIT, qty, price, FOK, client_order_id=cid, stp_mode=stp)
    if kind == "maker":
        return NewOrder(account, side, LIMIT_MAKER, qty, price, client_order_id=cid, stp_mode=stp)
    if kind == "market":
        return NewOrder(account, side, MARKET, qty, client_order_id=cid, stp_mode=stp)
    assert kind == "market_quote", kind
    qoq = pick.integer(m.qoq_lo, m.qoq_hi)
    return NewOrder(account, side, MARKET, 0, 0, None, qoq, client_order_id=cid, stp_mode=stp)


def generate(pick: Picker, market: Market, accounts: Sequence[str], n: int) -> list[Request]:
    """`n` requests for `market` from `accounts`."""
    out: list[Request] = []
    n_new = 0
    last: str | None = None
    for _ in range(n):
        req = _request(pick, market, accounts, n_new, last)
        if isinstance(req, NewOrder):
            n_new += 1
            if req.account in accounts:
                last = req.account
        out.append(req)
    return out


@dataclass(frozen=True)
class Scenario:
    """A market, the accounts trading on it, and the requests they send."""

    market: Market
    accounts: tuple[str, ...]
    requests: list[Request] = field(default_factory=list)


def seeded_scenario(seed: int, n: int, market: Market = SIMPLE, n_accounts: int = 3) -> Scenario:
    """A reproducible stream from `random.Random(seed)`."""
    rng = random.Random(seed)
    accounts = ACCOUNTS[:n_accounts]
    return Scenario(market, accounts, generate(RandomPicker(rng), market, accounts, n))


@st.composite
def scenarios(
    draw: st.DrawFn,
    markets: Sequence[Market] = MARKETS,
    min_size: int = 1,
    max_size: int = 60,
) -> Scenario:
    """A market from `markets`, 2-4 accounts and a stream of `min_size..max_size` requests."""
    market = draw(st.sampled_from(tuple(markets)))
    accounts = ACCOUNTS[: draw(st.integers(2, 4))]
    n = draw(st.integers(min_size, max_size))
    return Scenario(market, accounts, generate(DrawPicker(draw), market, accounts, n))


def streams(
    markets: Sequence[Market] = MARKETS, max_size: int = 80, max_seeded: int = 600
) -> st.SearchStrategy[Scenario]:
    """Hypothesis-drawn streams (fine-grained shrinking) or, half the time, a longer seeded
    stream: a random seed and a length, so shrinking the length finds the shortest failing
    prefix of that seed's stream."""
    seeded = st.builds(
        seeded_scenario,
        seed=st.integers(0, 2**32 - 1),
        n=st.integers(20, max_seeded),
        market=st.sampled_from(tuple(markets)),
        n_accounts=st.integers(2, 4),
    )
    return st.one_of(scenarios(markets, max_size=max_size), seeded)


# ---------------------------------------------------------------------- running


def send(engine: MatchingEngine | NativeEngine, request: Request, now: int) -> Result:
    """Submit or cancel, as the request says."""
    if isinstance(request, CancelOrder):
        return engine.cancel(request, now)
    return engine.submit(request, now)


class Harness:
    """An engine for a scenario that records every batch its `on_events` hook receives."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.batches: list[list[ExecutionReport]] = []
        self.engine = build_engine(scenario.market, scenario.accounts, self._collect)
        self.results: list[Result] = []

    def _collect(self, batch: list[ExecutionReport]) -> None:
        self.batches.append(list(batch))

    @property
    def reports(self) -> list[ExecutionReport]:
        return [r for batch in self.batches for r in batch]

    def step(self, request: Request) -> Result:
        """Send the next request at its time."""
        result = send(self.engine, request, now_of(len(self.results)))
        self.results.append(result)
        return result

    def run(self) -> Harness:
        """Send the whole stream."""
        for request in self.scenario.requests:
            self.step(request)
        return self


# ---------------------------------------------------------------------- reading reports


def engine_matches(reports: Sequence[ExecutionReport]) -> list[Fill | Prevented]:
    """The fills and prevented matches in one request's reports, in order.

    A fill is a taker TRADE report followed at once by its maker's. A prevented match is one
    or two consecutive TRADE_PREVENTION reports with one preventedMatchId, one per order whose
    quantity it took (the taker's first when both); each names the other order."""
    out: list[Fill | Prevented] = []
    i = 0
    while i < len(reports):
        r = reports[i]
        if r.execution_type is ExecutionType.TRADE:
            assert not r.is_maker and i + 1 < len(reports), r
            maker = reports[i + 1]
            assert maker.execution_type is ExecutionType.TRADE and maker.is_maker, (r, maker)
            assert maker.trade_id == r.trade_id
            assert (maker.last_price, maker.last_qty) == (r.last_price, r.last_qty)
            out.append(Fill(r.order_id, maker.order_id, r.last_price, r.last_qty))
            i += 2
            continue
        if r.execution_type is not ExecutionType.TRADE_PREVENTION:
            i += 1
            continue
        group = [r]
        while (
            i + len(group) < len(reports)
            and reports[i + len(group)].execution_type is ExecutionType.TRADE_PREVENTION
            and reports[i + len(group)].prevented_match_id == r.prevented_match_id
        ):
            group.append(reports[i + len(group)])
        assert len(group) <= 2, group
        if len(group) == 2:
            assert not group[0].is_maker and group[1].is_maker, group
        taker_ids, maker_ids = set(), set()
        taker_q = maker_q = 0
        for g in group:
            assert g.prevented_price == r.prevented_price, group
            if g.is_maker:
                maker_ids.add(g.order_id)
                taker_ids.add(g.counter_order_id)
                maker_q = g.last_prevented_qty
            else:
                taker_ids.add(g.order_id)
                maker_ids.add(g.counter_order_id)
                taker_q = g.last_prevented_qty
        assert len(taker_ids) == len(maker_ids) == 1, group
        out.append(
            Prevented(
                r.prevented_match_id,
                taker_ids.pop(),
                maker_ids.pop(),
                r.prevented_price,
                taker_q,
                maker_q,
            )
        )
        i += len(group)
    return out


Holdings = dict[tuple[str, str], int]


def holdings(engine: MatchingEngine, accounts: Sequence[str]) -> Holdings:
    """free + locked of each account's base and quote."""
    inst = engine.instrument
    out: Holdings = {}
    for account in accounts:
        for asset in (inst.base, inst.quote):
            bal = engine.ledger.balance(account, asset)
            out[(account, asset)] = bal.free + bal.locked
    return out


def moves(
    instrument: Instrument, reports: Sequence[ExecutionReport], transfers: Sequence[Transfer]
) -> Holdings:
    """How holdings change by these reports' trades (as reported, commission deducted) and
    these transfers (at their price, no commission)."""
    out: Holdings = {}
    base, quote = instrument.base, instrument.quote

    def move(account: str, asset: str, units: int) -> None:
        out[(account, asset)] = out.get((account, asset), 0) + units

    for r in reports:
        if r.execution_type is not ExecutionType.TRADE:
            continue
        base_units = r.last_qty * instrument.base_per_lot
        quote_units = r.last_qty * r.last_price * instrument.quote_per_ticklot
        sign = 1 if r.side is BUY else -1
        move(r.account, base, sign * base_units)
        move(r.account, quote, -sign * quote_units)
        move(r.account, r.commission_asset, -r.commission)
    for t in transfers:
        base_units = t.qty * instrument.base_per_lot
        quote_units = t.qty * t.price * instrument.quote_per_ticklot
        move(t.buyer, base, base_units)
        move(t.buyer, quote, -quote_units)
        move(t.seller, base, -base_units)
        move(t.seller, quote, quote_units)
    return out
