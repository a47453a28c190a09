"""The native stop book against the Python one (bot4/venue/stops.py, the specification):
the same orders fire in the same order, and trailing orders keep the same extreme and
activation time, over random streams of stop orders, cancels and trade prices."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot4._native import StopBook as NativeStopBook
from bot4.core.accounts import Balance
from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.orders import Order
from bot4.venue.stops import StopBook, fires_on_rise

STOP_TYPES = [OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT,
              OrderType.TAKE_PROFIT_LIMIT]  # fmt: skip
PRICES = st.integers(900, 1_100)

orders = st.tuples(
    st.just("add"), st.sampled_from(STOP_TYPES), st.sampled_from([Side.BUY, Side.SELL]),
    st.one_of(st.just(0), PRICES), st.one_of(st.just(0), st.integers(1, 2_000)),
)  # fmt: skip
steps = st.lists(
    st.one_of(orders, st.tuples(st.just("cancel"), st.integers(0, 10**6)),
              st.tuples(st.just("trade"), PRICES)),
    max_size=200,
)  # fmt: skip


def order(order_id: int, otype: OrderType, side: Side, stop: int, delta: int) -> Order:
    tif = TimeInForce.GTC if otype.value.endswith("LIMIT") else None
    return Order(order_id, f"c{order_id}", "a", side, otype, tif, stop or 1_000, 1, 0, 0,
                 "BTCUSDT", Balance(), Balance(), stop_price=stop,
                 trailing_delta=delta)  # fmt: skip


@given(steps=steps)
def test_the_native_stop_book_agrees_with_the_python_one(steps: list[tuple]) -> None:  # type: ignore[type-arg]
    python, native = StopBook(), NativeStopBook()
    waiting: dict[int, Order] = {}
    last, next_id = 1_000, 1
    for now, step in enumerate(steps, start=1):
        if step[0] == "add":
            _, otype, side, stop, delta = step
            if not stop and not delta:
                stop = 1_000  # a plain stop needs a stop price
            new = order(next_id, otype, side, stop, delta)
            python.add(new, last)
            native.add(next_id, fires_on_rise(otype, side), side is Side.BUY, stop, delta, last)
            waiting[next_id] = new
            next_id += 1
        elif step[0] == "cancel" and waiting:
            gone = sorted(waiting)[step[1] % len(waiting)]
            python.remove(waiting.pop(gone))
            assert native.remove(gone)
        elif step[0] == "trade":
            last = step[1]
            fired = [o.order_id for o in python.fire(last, now)]
            assert native.fire(last, now) == fired
            for order_id in fired:
                del waiting[order_id]
        assert len(native) == len(python) == len(waiting)
        for order_id, o in waiting.items():
            assert native.trail(order_id) == (o.trail_ref, o.trailing_time)
    assert native.trail(10**9) is None and not native.remove(10**9)
