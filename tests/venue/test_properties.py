"""Property tests of the matching engine's invariants (DESIGN.md) over random request streams.

Each test drives a fresh engine with a stream from `tests.support.streams` (simple, wide,
coarse-unit and configs/symbols.toml BTCUSDT markets, 2-4 accounts) and checks one invariant,
either after every request or over the whole event log. On every market but `simple`, orders
carry random self-trade prevention modes and two accounts share a tradeGroupId, so that
prevented matches (TRADE_PREVENTION reports, EXPIRED_IN_MATCH orders, TRANSFERs) are frequent."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bot4.core import errors
from bot4.core.enums import (
    TERMINAL_STATUSES,
    ExecutionType,
    OrderStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from bot4.core.errors import Category, VenueError
from bot4.core.events import ExecutionReport, digest
from bot4.core.money import (
    ceil_units,
    floor_units,
    format_units,
    from_units,
    parse_decimal,
    to_units,
)
from bot4.core.orders import CancelOrder, NewOrder, OrderView
from bot4.core.results import Ack
from bot4.venue.engine import MatchingEngine
from tests.support.reference_book import Fill, Prevented, Transfer, effective_mode
from tests.support.streams import (
    STP_MARKETS,
    Harness,
    Market,
    Scenario,
    build_engine,
    engine_matches,
    holdings,
    moves,
    now_of,
    send,
    streams,
)

X = ExecutionType
S = OrderStatus
BINANCE_CLIENT_ID = re.compile(r"^[a-zA-Z0-9_-]{1,36}$")  # the venue's rule for client ids


def by_order(reports: list[ExecutionReport]) -> dict[int, list[ExecutionReport]]:
    """Reports grouped per order id, in log order."""
    out: dict[int, list[ExecutionReport]] = defaultdict(list)
    for r in reports:
        out[r.order_id].append(r)
    return out


def trades_of(
    reports: list[ExecutionReport] | tuple[ExecutionReport, ...],
) -> list[tuple[ExecutionReport, ExecutionReport]]:
    """(taker report, maker report) pairs, grouped by trade id."""
    groups: dict[int, list[ExecutionReport]] = defaultdict(list)
    for r in reports:
        if r.execution_type is X.TRADE:
            groups[r.trade_id].append(r)
    pairs = []
    for trade_id, group in groups.items():
        assert len(group) == 2, f"trade {trade_id} has {len(group)} reports"
        takers = [r for r in group if not r.is_maker]
        makers = [r for r in group if r.is_maker]
        assert len(takers) == 1 and len(makers) == 1, f"trade {trade_id}: {group}"
        pairs.append((takers[0], makers[0]))
    return pairs


def leaves_of(view: OrderView) -> int:
    """What an open order still has working: original - executed - prevented."""
    return view.orig_qty - view.executed_qty - view.prevented_qty


def prevention_groups(
    reports: list[ExecutionReport] | tuple[ExecutionReport, ...],
) -> dict[int, list[ExecutionReport]]:
    """TRADE_PREVENTION reports grouped by preventedMatchId, in log order."""
    out: dict[int, list[ExecutionReport]] = defaultdict(list)
    for r in reports:
        if r.execution_type is X.TRADE_PREVENTION:
            out[r.prevented_match_id].append(r)
    return out


def transfers_of(reports: list[ExecutionReport] | tuple[ExecutionReport, ...]) -> list[Transfer]:
    """The TRANSFERs among these reports' prevented matches: both orders on TRANSFER, two
    accounts (then both lost the same quantity, which changed hands at the maker's price)."""
    out: list[Transfer] = []
    for group in prevention_groups(reports).values():
        if len(group) != 2:
            continue
        taker, maker = group
        if (
            taker.stp_mode is StpMode.TRANSFER
            and maker.stp_mode is StpMode.TRANSFER
            and taker.account != maker.account
        ):
            assert taker.last_prevented_qty == maker.last_prevented_qty
            buyer, seller = (taker, maker) if taker.side is Side.BUY else (maker, taker)
            out.append(
                Transfer(buyer.account, seller.account, maker.price, maker.last_prevented_qty)
            )
    return out


def expected_locks(engine: MatchingEngine) -> dict[tuple[str, str], int]:
    """What the open orders still lock, recomputed: a BUY locks price x leaves in quote, a SELL
    leaves in base."""
    inst = engine.instrument
    out: dict[tuple[str, str], int] = defaultdict(int)
    for view in engine.open_orders():
        if view.side is Side.BUY:
            out[(view.account, inst.quote)] += view.price * leaves_of(view) * inst.quote_per_ticklot
        else:
            out[(view.account, inst.base)] += leaves_of(view) * inst.base_per_lot
    return out


def open_depth(engine: MatchingEngine) -> dict[str, list[tuple[int, int]]]:
    """The aggregated book recomputed from open orders' leaves, best price first."""
    levels: dict[Side, dict[int, int]] = {Side.BUY: defaultdict(int), Side.SELL: defaultdict(int)}
    for view in engine.open_orders():
        levels[view.side][view.price] += leaves_of(view)
    return {
        "bids": sorted(levels[Side.BUY].items(), reverse=True),
        "asks": sorted(levels[Side.SELL].items()),
    }


def logical_state(engine: MatchingEngine) -> tuple[object, ...]:
    """Counters, open orders, book depth and every balance and fee, as plain values."""
    return (
        engine.seq,
        engine.last_order_id,
        engine.last_trade_id,
        engine.last_prevented_match_id,
        engine.open_orders(),
        engine.depth(10_000),
        [(a, s, b.free, b.locked) for a, s, b in engine.ledger.items()],
        sorted(engine.ledger.fees.items()),
    )


def totals(engine: MatchingEngine) -> tuple[int, int]:
    inst = engine.instrument
    return engine.ledger.total(inst.base), engine.ledger.total(inst.quote)


# ---------------------------------------------------------------------- the book


@given(streams())
def test_book_is_never_crossed(scenario: Scenario) -> None:
    """After every request, best bid < best ask whenever both sides have orders, and the depth
    view agrees with best_bid/best_ask and is sorted best first."""
    harness = Harness(scenario)
    engine = harness.engine
    for req in scenario.requests:
        harness.step(req)
        bid, ask = engine.best_bid(), engine.best_ask()
        if bid is not None and ask is not None:
            assert bid < ask, f"crossed book {bid} >= {ask} after {req}"
        depth = engine.depth(1000)
        bids, asks = [p for p, _ in depth["bids"]], [p for p, _ in depth["asks"]]
        assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
        assert (bids[0] if bids else None) == bid and (asks[0] if asks else None) == ask
        assert all(q > 0 for _, q in depth["bids"] + depth["asks"])
        assert depth == open_depth(engine)


def _priority_key(view: OrderView) -> tuple[int, int]:
    price = -view.price if view.side is Side.BUY else view.price
    return price, view.order_id  # order ids grow with arrival time


class QueueEntry:
    """A maker in the shadow queue of `_check_priority`."""

    def __init__(self, view: OrderView, market: Market) -> None:
        self.order_id, self.price, self.leaves = view.order_id, view.price, leaves_of(view)
        self.account, self.mode = view.account, view.stp_mode
        self.key = market.stp_key(view.account)


def _check_priority(market: Market, before: list[OrderView], req: NewOrder, ack: Ack) -> None:
    """The request's trades and prevented self-trades took the opposite side in (best price,
    earliest) order, each prevention took what the effective STP mode says, and the taker
    stopped only when done or nothing it may trade with remained. `before` is the open orders
    as they were before the request."""
    maker_side = Side.SELL if req.side is Side.BUY else Side.BUY
    queue = [
        QueueEntry(v, market)
        for v in sorted((v for v in before if v.side is maker_side), key=_priority_key)
    ]
    first = ack.reports[0]
    taker_mode, taker_key = first.stp_mode, market.stp_key(req.account)
    taker_left = first.orig_qty

    def mode_against(entry: QueueEntry) -> StpMode | None:
        return effective_mode(
            taker_mode, taker_key, req.account, entry.mode, entry.key, entry.account
        )

    events = engine_matches(ack.reports)
    for ev in events:
        assert ev.taker_order_id == ack.order_id
        assert queue, f"{ev} with an empty opposite side"
        head = queue[0]
        assert ev.maker_order_id == head.order_id, f"{ev} before maker {head.order_id}"
        assert ev.price == head.price
        mode = mode_against(head)
        if isinstance(ev, Fill):
            assert mode is None, f"{ev}: a trade within one stp key under {taker_mode}"
            assert ev.qty <= min(head.leaves, taker_left)
            taken = given = ev.qty
        else:
            assert mode is not None, f"{ev}: a prevention between different stp keys"
            if mode is StpMode.DECREMENT or mode is StpMode.TRANSFER:
                given = taken = min(head.leaves, taker_left)
            else:
                expire_taker = mode in (StpMode.EXPIRE_TAKER, StpMode.EXPIRE_BOTH)
                expire_maker = mode in (StpMode.EXPIRE_MAKER, StpMode.EXPIRE_BOTH)
                given = taker_left if expire_taker else 0
                taken = head.leaves if expire_maker else 0
            assert (ev.taker_qty, ev.maker_qty) == (given, taken), f"{ev} under {mode}"
        head.leaves -= taken
        taker_left -= given
        if head.leaves == 0:
            queue.pop(0)
    if ack.status in (S.FILLED, S.EXPIRED_IN_MATCH):
        assert taker_left == 0, f"{ack.status.value} with {taker_left} lots left"
    if req.type is OrderType.LIMIT_MAKER:
        assert not events, "a LIMIT_MAKER took"
    elif ack.status not in (S.FILLED, S.EXPIRED_IN_MATCH):
        assert taker_left > 0
        if req.time_in_force is TimeInForce.FOK:
            assert not events, "a FOK that expired must not trade or prevent"
            need = req.quantity  # could it fill whole, skipping what EXPIRE_MAKER expires?
            for entry in queue:
                if (entry.price > req.price) if req.side is Side.BUY else (entry.price < req.price):
                    break
                mode = mode_against(entry)
                if mode is StpMode.EXPIRE_MAKER:
                    continue
                if mode is not None:
                    break
                need -= entry.leaves
            assert need > 0, "FOK expired though it could fill"
        elif req.type is OrderType.MARKET:
            if req.quote_order_qty == 0:
                assert not queue, "MARKET by quantity expired with liquidity left"
        elif queue:
            best = queue[0].price
            crosses = best <= req.price if req.side is Side.BUY else best >= req.price
            assert not crosses, "the taker left a crossing maker untouched"


@given(streams())
def test_trades_follow_price_time_priority(scenario: Scenario) -> None:
    """Each trade's or prevented self-trade's maker is, at that moment, the best-priced and
    earliest live order on the opposite side (checked against a shadow queue rebuilt from open
    orders before each request); a taker stops only when filled, expired in match, or when
    nothing crossing is left."""
    harness = Harness(scenario)
    engine = harness.engine
    for req in scenario.requests:
        before = engine.open_orders()
        result = harness.step(req)
        if not isinstance(result, Ack):
            continue
        if isinstance(req, NewOrder):
            _check_priority(scenario.market, before, req, result)
        else:
            assert not engine_matches(result.reports), "a cancel traded or prevented"


@given(streams())
def test_quantity_is_conserved_per_order(scenario: Scenario) -> None:
    """For every accepted order: executed + prevented + remaining + cancelled/expired =
    original. An ended order has nothing left on the book; FILLED and EXPIRED_IN_MATCH mean
    executed + prevented = original, CANCELED/EXPIRED mean the difference was cancelled; the
    book's depth is the sum of open orders' leaves."""
    harness = Harness(scenario).run()
    engine = harness.engine
    open_ids = {v.order_id: v for v in engine.open_orders()}
    book = {o.order_id: o for s in (Side.BUY, Side.SELL) for o in engine.book_orders(s)}
    assert set(book) == set(open_ids)
    for oid, reports in by_order(harness.reports).items():
        last = reports[-1]
        orig, executed, prevented = last.orig_qty, last.cum_qty, last.prevented_qty
        assert executed >= 0 and prevented >= 0 and executed + prevented <= orig
        if last.status in TERMINAL_STATUSES:
            assert oid not in open_ids
            assert not last.is_working
            cancelled = orig - executed - prevented
            if last.status in (S.FILLED, S.EXPIRED_IN_MATCH):
                assert cancelled == 0, last
            else:
                assert last.status in (S.CANCELED, S.EXPIRED)
                assert cancelled > 0
        else:
            order = book[oid]
            assert order.leaves > 0 and executed + prevented + order.leaves == orig
            view = open_ids[oid]
            assert (view.executed_qty, view.prevented_qty) == (executed, prevented)
            assert last.is_working
    assert engine.depth(10_000) == open_depth(engine)


@given(streams())
def test_every_fill_has_one_maker_and_one_taker_report(scenario: Scenario) -> None:
    """Each trade id has exactly one taker and one maker report, on opposite sides, of
    different orders, with the same price and quantity; the price is the maker's limit price
    and never worse than the taker's limit; trade ids run 1, 2, 3, ... in log order."""
    harness = Harness(scenario).run()
    reports = harness.reports
    pairs = trades_of(reports)
    assert [t.trade_id for t, _ in pairs] == list(range(1, len(pairs) + 1))
    for taker, maker in pairs:
        assert taker.side is not maker.side
        assert taker.order_id != maker.order_id
        assert taker.last_qty == maker.last_qty > 0
        assert taker.last_price == maker.last_price == maker.price
        assert maker.type is not OrderType.MARKET
        assert taker.type is not OrderType.LIMIT_MAKER
        assert maker.seq == taker.seq + 1
        if taker.type is OrderType.LIMIT:
            if taker.side is Side.BUY:
                assert taker.last_price <= taker.price
            else:
                assert taker.last_price >= taker.price
    assert harness.engine.last_trade_id == len(pairs)


@given(streams())
def test_seq_strictly_increasing_without_gaps(scenario: Scenario) -> None:
    """The reports handed to on_events carry seq 1, 2, 3, ... with no gap or repeat; each
    accepted request's Ack carries exactly the batch the hook received, and a refused request
    sends no batch."""
    harness = Harness(scenario)
    for req in scenario.requests:
        batches_before = len(harness.batches)
        result = harness.step(req)
        if isinstance(result, VenueError):
            assert len(harness.batches) == batches_before
        else:
            assert len(harness.batches) == batches_before + 1
            assert tuple(harness.batches[-1]) == result.reports
            assert result.reports, "an accepted request reports something"
    seqs = [r.seq for r in harness.reports]
    assert seqs == list(range(1, len(seqs) + 1))
    assert harness.engine.seq == len(seqs)
    symbol = scenario.market.instrument.symbol
    assert all(r.symbol == symbol for r in harness.reports)


@given(streams())
def test_same_stream_gives_identical_event_log_and_state(scenario: Scenario) -> None:
    """The same stream through two fresh engines gives byte-identical event logs (same
    events.digest) and the same state_digest, after every request."""
    first, second = Harness(scenario), Harness(scenario)
    for req in scenario.requests:
        a, b = first.step(req), second.step(req)
        assert a == b
        assert first.engine.state_digest() == second.engine.state_digest()
        assert logical_state(first.engine) == logical_state(second.engine)
    assert digest(first.reports) == digest(second.reports)


# ---------------------------------------------------------------------- money


@given(streams())
def test_balances_are_conserved_and_never_negative(scenario: Scenario) -> None:
    """ledger.total(asset) (free + locked over all accounts, plus collected fees) of the base
    and the quote never changes (TRANSFERs included), and no free or locked balance ever goes
    negative."""
    harness = Harness(scenario)
    engine = harness.engine
    start = totals(engine)
    for req in scenario.requests:
        harness.step(req)
        assert totals(engine) == start, f"total changed by {req}"
        for account, asset, bal in engine.ledger.items():
            assert bal.free >= 0 and bal.locked >= 0, (account, asset, bal)
    assert all(v >= 0 for v in engine.ledger.fees.values())


@given(streams())
def test_holdings_move_only_by_trades_and_transfers(scenario: Scenario) -> None:
    """Each request changes an account's holdings (free + locked) of the base and the quote
    exactly by its trades (gross, less the reported commission) and its TRANSFERs (a prevented
    match between two accounts of one trade group, both orders on TRANSFER: the prevented
    quantity and its notional at the maker's price change hands, without commission). Other
    prevented matches move nothing."""
    harness = Harness(scenario)
    engine = harness.engine
    inst = scenario.market.instrument
    for req in scenario.requests:
        before = holdings(engine, scenario.accounts)
        result = harness.step(req)
        reports = () if isinstance(result, VenueError) else result.reports
        moved = moves(inst, reports, transfers_of(reports))
        after = holdings(engine, scenario.accounts)
        assert after == {k: v + moved.get(k, 0) for k, v in before.items()}, req


@given(streams())
def test_locked_equals_what_open_orders_still_lock(scenario: Scenario) -> None:
    """After every request, each account's locked balance of each asset is exactly what its
    open orders still need: price x leaves x quote_per_ticklot for a BUY, leaves x base_per_lot
    for a SELL, where leaves = original - executed - prevented (a prevented match releases
    what it took; a TRANSFER spends it)."""
    harness = Harness(scenario)
    engine = harness.engine
    inst = engine.instrument
    for req in scenario.requests:
        harness.step(req)
        want = expected_locks(engine)
        for account in scenario.accounts:
            for asset in (inst.base, inst.quote):
                got = engine.ledger.balance(account, asset).locked
                assert got == want.get((account, asset), 0), (account, asset, req)


@given(streams())
def test_fees_follow_the_rounding_rule(scenario: Scenario) -> None:
    """Each trade's commission is in the asset its side receives and equals
    ceil(gross received x rate) (maker or taker rate), never more than the gross; the ledger's
    collected fees are the sum of commissions."""
    harness = Harness(scenario).run()
    inst = scenario.market.instrument
    collected: dict[str, int] = defaultdict(int)
    for r in harness.reports:
        if r.execution_type is not X.TRADE:
            assert r.commission == 0
            continue
        if r.side is Side.BUY:
            asset, gross = inst.base, r.last_qty * inst.base_per_lot
        else:
            asset, gross = inst.quote, r.last_qty * r.last_price * inst.quote_per_ticklot
        num, den = inst.maker_rate if r.is_maker else inst.taker_rate
        assert r.commission_asset == asset
        assert r.commission == -((-gross * num) // den)
        assert 0 <= r.commission <= gross
        collected[asset] += r.commission
    assert {a: v for a, v in harness.engine.ledger.fees.items() if v} == {
        a: v for a, v in collected.items() if v
    }


# ---------------------------------------------------------------------- rejections


@given(streams())
def test_rejected_request_changes_no_state(scenario: Scenario) -> None:
    """A refused request returns a VenueError with an integer code, a non-empty message and a
    category, and changes nothing: not seq, ids, open orders, depth or balances, nor
    state_digest."""
    harness = Harness(scenario)
    engine = harness.engine
    for req in scenario.requests:
        before = (logical_state(engine), engine.state_digest())
        result = harness.step(req)
        if isinstance(result, VenueError):
            assert type(result.code) is int and result.code < 0
            assert isinstance(result.msg, str) and result.msg
            assert isinstance(result.category, Category)
            why = f"{req} was refused ({result.msg}) but changed"
            assert logical_state(engine) == before[0], f"{why} the book, ids or balances"
            assert engine.state_digest() == before[1], f"{why} state_digest"


@given(streams())
def test_cancelling_every_open_order_unlocks_everything(scenario: Scenario) -> None:
    """After any stream, cancelling each open order (by its owner) succeeds with a CANCELED
    report, leaves an empty book and no locked balance, and conserves totals."""
    harness = Harness(scenario).run()
    engine = harness.engine
    start = totals(engine)
    now = now_of(len(scenario.requests))
    for view in engine.open_orders():
        ack = engine.cancel(CancelOrder(view.account, view.order_id), now)
        assert isinstance(ack, Ack), ack
        assert ack.status is S.CANCELED and ack.reports[-1].execution_type is X.CANCELED
        assert ack.reports[-1].cum_qty == view.executed_qty
    assert engine.open_orders() == []
    assert engine.best_bid() is None and engine.best_ask() is None
    assert engine.depth() == {"bids": [], "asks": []}
    for account, asset, bal in engine.ledger.items():
        assert bal.locked == 0, (account, asset, bal)
    assert totals(engine) == start


# ---------------------------------------------------------------------- reports


@given(streams())
def test_cum_qty_and_cum_quote_are_sums_of_trades(scenario: Scenario) -> None:
    """On every report of an order, cum_qty is the sum of last_qty over its TRADE reports so
    far and cum_quote the sum of last_qty x last_price; the Ack agrees with its last report."""
    harness = Harness(scenario)
    for req in scenario.requests:
        result = harness.step(req)
        if isinstance(result, Ack):
            own = [r for r in result.reports if r.order_id == result.order_id]
            assert own and own[-1].status is result.status
            assert (own[-1].cum_qty, own[-1].cum_quote) == (result.executed_qty, result.cum_quote)
    for oid, reports in by_order(harness.reports).items():
        qty = quote = 0
        for r in reports:
            if r.execution_type is X.TRADE:
                qty += r.last_qty
                quote += r.last_qty * r.last_price
            else:
                assert r.last_qty == 0 and r.last_price == 0 and r.trade_id == -1
            assert (r.cum_qty, r.cum_quote) == (qty, quote), f"order {oid}: {r}"


_NEXT_STATUS = {
    None: {(X.NEW, S.NEW)},
    S.NEW: {
        (X.TRADE, S.PARTIALLY_FILLED),
        (X.TRADE, S.FILLED),
        (X.TRADE_PREVENTION, S.NEW),
        (X.TRADE_PREVENTION, S.EXPIRED_IN_MATCH),
        (X.CANCELED, S.CANCELED),
        (X.EXPIRED, S.EXPIRED),
    },
    S.PARTIALLY_FILLED: {
        (X.TRADE, S.PARTIALLY_FILLED),
        (X.TRADE, S.FILLED),
        (X.TRADE_PREVENTION, S.PARTIALLY_FILLED),
        (X.TRADE_PREVENTION, S.EXPIRED_IN_MATCH),
        (X.CANCELED, S.CANCELED),
        (X.EXPIRED, S.EXPIRED),
    },
}


@given(streams())
def test_status_transitions_are_legal(scenario: Scenario) -> None:
    """Per order: NEW first, then TRADEs (PARTIALLY_FILLED while short of the quantity, FILLED
    exactly when executed + prevented reaches it) and TRADE_PREVENTIONs (status unchanged, or
    EXPIRED_IN_MATCH exactly when executed + prevented reaches the quantity), then possibly
    CANCELED/EXPIRED; nothing follows a terminal status (EXPIRED_IN_MATCH included). IOC, FOK
    and MARKET orders never stay working, a FOK fills whole or not at all and never loses
    quantity to STP, and a LIMIT_MAKER never takes."""
    harness = Harness(scenario).run()
    open_ids = {v.order_id for v in harness.engine.open_orders()}
    for oid, reports in by_order(harness.reports).items():
        status: OrderStatus | None = None
        for r in reports:
            assert status not in TERMINAL_STATUSES, f"order {oid}: report after {status}"
            assert (r.execution_type, r.status) in _NEXT_STATUS[status], f"{status} -> {r}"
            used_up = r.cum_qty + r.prevented_qty == r.orig_qty
            if r.execution_type is X.TRADE:
                assert (r.status is S.FILLED) == used_up, r
            if r.execution_type is X.TRADE_PREVENTION:
                assert (r.status is S.EXPIRED_IN_MATCH) == used_up, r
            if r.status in TERMINAL_STATUSES:
                assert not r.is_working, r
            status = r.status
        assert (oid in open_ids) == (status not in TERMINAL_STATUSES)
        first = reports[0]
        if first.type is OrderType.MARKET or first.time_in_force in (
            TimeInForce.IOC,
            TimeInForce.FOK,
        ):
            assert status in TERMINAL_STATUSES and not any(r.is_working for r in reports)
        if first.time_in_force is TimeInForce.FOK:
            assert status is S.FILLED or reports[-1].cum_qty == 0
            assert all(r.execution_type is not X.TRADE_PREVENTION for r in reports)
            assert reports[-1].prevented_qty == 0
        if first.type is OrderType.LIMIT_MAKER:
            taking = (X.TRADE, X.TRADE_PREVENTION)
            assert all(r.is_maker for r in reports if r.execution_type in taking)


@given(streams())
def test_every_accepted_order_is_queryable_with_its_last_status(scenario: Scenario) -> None:
    """get_order(owner, order_id) of any accepted order (open or ended) returns its latest
    status and executed quantity, and other accounts get NO_SUCH_ORDER."""
    harness = Harness(scenario).run()
    engine = harness.engine
    for oid, reports in by_order(harness.reports).items():
        last = reports[-1]
        view = engine.get_order(last.account, oid)
        assert isinstance(view, OrderView), f"order {oid} ({last.status.value}): {view}"
        assert (view.status, view.executed_qty, view.cum_quote, view.prevented_qty) == (
            last.status,
            last.cum_qty,
            last.cum_quote,
            last.prevented_qty,
        )
        assert view.stp_mode is last.stp_mode
        for other in scenario.accounts:
            if other != last.account:
                assert isinstance(engine.get_order(other, oid), VenueError)
    # by client id, where an account used that id for one order only
    owners: dict[tuple[str, str], list[int]] = defaultdict(list)
    for oid, reports in by_order(harness.reports).items():
        owners[(reports[0].account, reports[0].client_order_id)].append(oid)
    for (account, cid), oids in owners.items():
        if len(oids) == 1:
            view = engine.get_order(account, client_order_id=cid)
            assert isinstance(view, OrderView) and view.order_id == oids[0], (account, cid)


@given(streams())
def test_cancel_succeeds_exactly_when_the_account_has_that_open_order(
    scenario: Scenario,
) -> None:
    """A cancel is accepted iff the requesting account has an open order matching every id it
    gives (orderId, origClientOrderId); it then cancels that very order, of that account, and
    nothing else. Another account's order is never touched."""
    harness = Harness(scenario)
    engine = harness.engine
    for req in scenario.requests:
        before = engine.open_orders()
        result = harness.step(req)
        if not isinstance(req, CancelOrder):
            continue
        matches = [
            v
            for v in before
            if v.account == req.account
            and (req.order_id is None or v.order_id == req.order_id)
            and (req.orig_client_order_id is None or v.client_order_id == req.orig_client_order_id)
        ]
        legal = (req.order_id is not None or req.orig_client_order_id is not None) and (
            req.new_client_order_id is None
            or BINANCE_CLIENT_ID.match(req.new_client_order_id) is not None
        )
        if not (legal and matches):
            assert isinstance(result, VenueError), f"{req} was accepted"
            assert engine.open_orders() == before
            continue
        assert isinstance(result, Ack), f"{req} refused: {result}"
        assert len(matches) == 1
        target = matches[0]
        assert result.order_id == target.order_id
        assert [(r.order_id, r.account, r.execution_type) for r in result.reports] == [
            (target.order_id, req.account, X.CANCELED)
        ]
        assert result.reports[0].orig_client_order_id == target.client_order_id
        assert engine.open_orders() == [v for v in before if v.order_id != target.order_id]


@given(streams())
def test_client_order_ids_are_unique_among_an_accounts_open_orders(scenario: Scenario) -> None:
    """A new order whose clientOrderId is that of one of the account's open orders is refused
    (as a duplicate, unless an earlier check refuses it first), so no account ever has two
    open orders with one client id; an accepted order keeps the client id it was sent with."""
    harness = Harness(scenario)
    engine = harness.engine
    for req in scenario.requests:
        before = engine.open_orders()
        result = harness.step(req)
        if not isinstance(req, NewOrder) or req.client_order_id is None:
            continue
        taken = {(v.account, v.client_order_id) for v in before}
        if (req.account, req.client_order_id) in taken:
            # refused, as a duplicate or by a check the venue makes before that one
            assert isinstance(result, VenueError), f"duplicate {req.client_order_id} accepted"
        elif isinstance(result, Ack):
            assert result.client_order_id == req.client_order_id
        keys = [(v.account, v.client_order_id) for v in engine.open_orders()]
        assert len(keys) == len(set(keys))


@given(streams())
def test_quote_order_qty_market_stays_within_its_quote(scenario: Scenario) -> None:
    """A MARKET order sized by quoteOrderQty never trades a notional above it (a BUY never
    spends more quote, a SELL never sells more base than that quote's worth), whatever
    self-trade prevention takes from it; it uses at least one lot and never stays open."""
    harness = Harness(scenario)
    per = scenario.market.instrument.quote_per_ticklot
    for req in scenario.requests:
        result = harness.step(req)
        if not (isinstance(req, NewOrder) and req.quote_order_qty and isinstance(result, Ack)):
            continue
        prevented = [e for e in engine_matches(result.reports) if isinstance(e, Prevented)]
        lost = sum(e.taker_qty for e in prevented)
        assert result.cum_quote * per <= req.quote_order_qty
        assert result.executed_qty + lost > 0
        assert result.status in (S.FILLED, S.EXPIRED, S.EXPIRED_IN_MATCH)


# ---------------------------------------------------------------------- self-trade prevention


@given(streams())
def test_prevented_match_ids_count_from_zero_without_gaps(scenario: Scenario) -> None:
    """The symbol's preventedMatchIds, in log order, are 0, 1, 2, ... with no gap or repeat;
    each prevented match has one or two TRADE_PREVENTION reports, one after the other (the
    taker's first); reports of anything else carry no prevention fields."""
    harness = Harness(scenario).run()
    ids = [
        e.match_id
        for batch in harness.batches
        for e in engine_matches(batch)
        if isinstance(e, Prevented)
    ]
    assert ids == list(range(len(ids)))
    assert harness.engine.last_prevented_match_id == len(ids) - 1
    assert sorted(prevention_groups(harness.reports)) == ids
    for r in harness.reports:
        if r.execution_type is not X.TRADE_PREVENTION:
            assert (r.prevented_match_id, r.last_prevented_qty, r.prevented_price) == (-1, 0, 0)
            assert r.counter_order_id == -1


@given(streams())
def test_no_trade_within_one_stp_key_unless_the_taker_mode_is_none(scenario: Scenario) -> None:
    """Two orders of one stp key (one account, or accounts of one tradeGroupId) trade only when
    the taker's mode is NONE; a prevented match is always between orders of one stp key, the
    taker's mode not NONE, on opposite sides, at the maker's price."""
    harness = Harness(scenario).run()
    market = scenario.market
    ledger = harness.engine.ledger
    assert all(ledger.stp_key(a) == market.stp_key(a) for a in scenario.accounts)
    first = {oid: reports[0] for oid, reports in by_order(harness.reports).items()}
    for batch in harness.batches:
        for e in engine_matches(batch):
            taker, maker = first[e.taker_order_id], first[e.maker_order_id]
            assert taker.side is not maker.side and e.price == maker.price
            same_key = market.stp_key(taker.account) == market.stp_key(maker.account)
            if isinstance(e, Fill):
                assert not same_key or taker.stp_mode is StpMode.NONE, (e, taker, maker)
            else:
                assert same_key and taker.stp_mode is not StpMode.NONE, (e, taker, maker)
                assert taker.type is not OrderType.LIMIT_MAKER
                assert maker.type is not OrderType.MARKET


@given(streams())
def test_trade_prevention_reports_accumulate_prevented_qty(scenario: Scenario) -> None:
    """Each TRADE_PREVENTION report takes a positive last_prevented_qty, names another order
    (counter_order_id) and a price, trades nothing and charges nothing; an order's
    prevented_qty on every report is the sum of its last_prevented_qty so far, and a query
    gives the same."""
    harness = Harness(scenario).run()
    engine = harness.engine
    for oid, reports in by_order(harness.reports).items():
        total = 0
        for r in reports:
            if r.execution_type is X.TRADE_PREVENTION:
                assert r.last_prevented_qty > 0, r
                assert r.prevented_match_id >= 0 and r.prevented_price > 0, r
                assert r.counter_order_id > 0 and r.counter_order_id != oid, r
                assert (r.last_qty, r.last_price, r.commission, r.trade_id) == (0, 0, 0, -1)
                total += r.last_prevented_qty
            assert r.prevented_qty == total, f"order {oid}: {r}"
        view = engine.get_order(reports[0].account, oid)
        assert isinstance(view, OrderView) and view.prevented_qty == total


@given(streams(STP_MARKETS))
def test_stp_mode_is_the_one_sent_or_the_symbol_default(scenario: Scenario) -> None:
    """An order sent with a mode the symbol does not allow is refused with -1013 "This symbol
    does not allow the specified self-trade prevention mode." (the engine checks the mode with
    the request's shape, before any filter); an accepted order reports the mode it was sent
    with, or the symbol's defaultSelfTradePreventionMode when it was sent without one."""
    harness = Harness(scenario)
    market = scenario.market
    for req in scenario.requests:
        result = harness.step(req)
        if not isinstance(req, NewOrder):
            continue
        if not market.allows(req.stp_mode):
            assert result == errors.STP_MODE_NOT_ALLOWED, (req, result)
            assert isinstance(result, VenueError) and result.code == -1013
            assert result.msg == (
                "This symbol does not allow the specified self-trade prevention mode."
            )
        elif isinstance(result, Ack):
            assert all(r.stp_mode is market.mode_of(req.stp_mode) for r in result.reports[:1])


def test_a_cancelled_order_can_still_be_queried() -> None:
    """Minimal case of the property above: a resting order that is cancelled stays queryable
    by get_order with status CANCELED (Binance keeps cancelled orders queryable)."""
    from tests.support.streams import SIMPLE

    engine = build_engine(SIMPLE, ("alice", "bob"))
    ack = send(engine, NewOrder("alice", Side.BUY, OrderType.LIMIT, 1, 100, TimeInForce.GTC), 1)
    assert isinstance(ack, Ack)
    assert isinstance(send(engine, CancelOrder("alice", ack.order_id), 2), Ack)
    view = engine.get_order("alice", ack.order_id)
    assert isinstance(view, OrderView), view
    assert view.status is S.CANCELED


# ---------------------------------------------------------------------- exact money

UNITS = st.sampled_from(
    [Decimal(s) for s in ("1", "0.1", "0.01", "0.001", "0.00001", "0.00000001", "0.25", "5")]
)


@given(units=st.integers(0, 10**18), unit=UNITS)
def test_money_round_trips_through_venue_text(units: int, unit: Decimal) -> None:
    """For any integer count of a unit: format_units -> parse_decimal -> to_units gives the
    same count back, exactly (no float anywhere); ceil/floor_units agree on grid values."""
    text = format_units(units, unit)
    assert "e" not in text.lower() and "." in text
    value = parse_decimal(text, "quantity")
    assert isinstance(value, Decimal)
    assert value == from_units(units, unit)
    assert to_units(value, unit) == units
    assert ceil_units(value, unit) == floor_units(value, unit) == units


@given(units=st.integers(0, 10**15), unit=UNITS, offset=st.integers(1, 9))
def test_off_grid_values_give_none_never_rounded(units: int, unit: Decimal, offset: int) -> None:
    """A value strictly between two grid points is refused by to_units (None), never rounded,
    while ceil_units/floor_units bracket it by the neighbouring counts."""
    value = from_units(units, unit) + unit * Decimal(offset) / Decimal(10)
    assert to_units(value, unit) is None
    assert floor_units(value, unit) == units
    assert ceil_units(value, unit) == units + 1
    text = format(value, "f")
    parsed = parse_decimal(text, "price")
    assert isinstance(parsed, Decimal) and to_units(parsed, unit) is None


@given(value=st.floats(allow_nan=False, allow_infinity=False) | st.booleans())
def test_parse_decimal_refuses_floats_and_bools(value: float | bool) -> None:
    """Money never passes through float: parse_decimal refuses floats and bools with a
    validation error (-1100) instead of converting them."""
    result = parse_decimal(value, "price")
    assert isinstance(result, VenueError)
    assert result.code == -1100 and "price" in result.msg
