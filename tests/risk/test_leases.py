"""Account budgets leased to symbols (bot4.risk.leases): scenarios, bad input, and a stateful
property test of the invariants in the module docstring over random interleavings."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from bot4.risk.leases import AccountBudget, SymbolLease


def state(budget: AccountBudget) -> tuple[object, ...]:
    """Everything observable about a budget and its leases."""
    leases = [budget.lease(s) for s in budget.snapshot()]
    return (
        budget.limit,
        budget.granted,
        budget.frozen,
        budget.snapshot(),
        [x.frozen for x in leases],
    )


def held(budget: AccountBudget, symbol: str, granted: int, used: int, reserved: int) -> SymbolLease:
    """Lease `granted` to `symbol` (free), reserve `used + reserved`, then fill `used` of it."""
    assert budget.request(symbol, granted) == granted
    lease = budget.lease(symbol)
    assert lease.try_reserve(used + reserved)
    lease.commit(used, used)
    return lease


# --- requests and releases ---------------------------------------------------------------------


def test_request_grants_partially_when_little_is_free() -> None:
    budget = AccountBudget("gross", 100)
    assert (budget.name, budget.limit, budget.granted, budget.free) == ("gross", 100, 0, 100)
    assert budget.request("AAA", 70) == 70
    assert budget.request("BBB", 50) == 30
    assert budget.request("CCC", 10) == 0
    assert budget.request("AAA", 0) == 0
    assert (budget.granted, budget.free) == (100, 0)
    assert budget.snapshot() == {
        "AAA": {"granted": 70, "used": 0, "reserved": 0},
        "BBB": {"granted": 30, "used": 0, "reserved": 0},
        "CCC": {"granted": 0, "used": 0, "reserved": 0},
    }
    assert budget.lease("AAA") is budget.lease("AAA")
    assert budget.lease("DDD").granted == 0 and "DDD" in budget.snapshot()


def test_release_takes_back_unused_only() -> None:
    budget = AccountBudget("gross", 100)
    lease = held(budget, "AAA", 100, used=20, reserved=30)
    assert lease.available == 50
    assert budget.release("AAA", 10) == 10
    assert budget.release("AAA", 90) == 40  # asked for more than unused: gets the unused part
    assert (lease.granted, lease.used, lease.reserved, lease.available) == (50, 20, 30, 0)
    assert budget.release("AAA", 50) == 0
    assert budget.free == 50
    assert budget.release("ZZZ", 0) == 0
    assert "ZZZ" not in budget.snapshot()  # releasing nothing creates no lease


# --- the lease's local checks ------------------------------------------------------------------


def test_reserve_fill_cancel_and_free_usage() -> None:
    budget = AccountBudget("gross", 1_000)
    budget.request("AAA", 100)
    lease = budget.lease("AAA")
    assert lease.symbol == "AAA"
    assert lease.try_reserve(60)
    assert not lease.try_reserve(41)  # would exceed the grant
    assert lease.try_reserve(40) and lease.available == 0
    lease.unreserve(40)  # cancelled
    lease.commit(30, 35)  # filled at a worse price than reserved
    assert (lease.used, lease.reserved, lease.available) == (35, 30, 35)
    lease.commit(30, 20)  # the rest filled at a better price
    assert (lease.used, lease.reserved, lease.available) == (55, 0, 45)
    lease.free_usage(15)  # position reduced
    assert (lease.used, lease.available) == (40, 60)
    assert lease.try_reserve(60) and lease.used + lease.reserved == lease.granted


def test_revalue_above_grant_refuses_positive_orders_but_lets_reducing_ones_pass() -> None:
    budget = AccountBudget("gross", 1_000)
    lease = held(budget, "AAA", 100, used=50, reserved=0)
    lease.revalue(120)  # price moved up: usage now above the grant
    assert lease.available == -20
    assert not lease.try_reserve(1)
    assert lease.try_reserve(0)  # a reducing order reserves nothing and passes
    assert (lease.used, lease.reserved) == (120, 0)
    assert budget.release("AAA", 100) == 0  # nothing unused to give back
    assert lease.wants(10) == 40  # back to 2 * 10 headroom from -20
    lease.revalue(60)  # price moved down
    assert lease.try_reserve(40) and not lease.try_reserve(1)


def test_commit_at_a_worse_price_can_push_usage_over_the_grant() -> None:
    budget = AccountBudget("gross", 100)
    lease = held(budget, "AAA", 100, used=0, reserved=100)
    lease.commit(100, 130)
    assert (lease.available, lease.try_reserve(1), lease.try_reserve(0)) == (-30, False, True)


@pytest.mark.parametrize(
    ("available", "low_water", "wanted"),
    [(100, 10, 0), (10, 10, 0), (9, 10, 11), (0, 10, 20), (-5, 10, 25), (-5, 0, 5), (0, 0, 0)],
)
def test_wants_asks_for_twice_the_low_water_headroom(
    available: int, low_water: int, wanted: int
) -> None:
    budget = AccountBudget("gross", 1_000)
    lease = held(budget, "AAA", 100, used=0, reserved=0)
    lease.revalue(100 - available)
    assert lease.available == available
    assert lease.wants(low_water) == wanted
    if wanted:
        assert budget.request("AAA", wanted) == wanted
        assert lease.available == 2 * low_water


# --- rebalance ---------------------------------------------------------------------------------


def test_rebalance_splits_equally_and_never_takes_back_usage() -> None:
    budget = AccountBudget("gross", 100)
    lease = held(budget, "AAA", 100, used=0, reserved=0)
    assert budget.request("BBB", 30) == 0
    assert budget.rebalance() == {"AAA": 50, "BBB": 50}
    assert budget.rebalance() == {"AAA": 50, "BBB": 50}  # already fair: nothing moves
    assert budget.release("BBB", 50) == 50
    assert budget.request("AAA", 50) == 50
    assert lease.try_reserve(70)
    lease.commit(50, 50)  # AAA: used 50, reserved 20
    assert budget.rebalance() == {"AAA": 70, "BBB": 30}
    assert (lease.used, lease.reserved, lease.available) == (50, 20, 0)
    lease.unreserve(20)
    lease.free_usage(50)
    assert budget.rebalance() == {"AAA": 50, "BBB": 50}
    assert budget.granted == 100


def test_rebalance_grants_in_symbol_order_when_usage_holds_the_room() -> None:
    budget = AccountBudget("gross", 100)
    held(budget, "AAA", 90, used=90, reserved=0)
    budget.lease("CCC")
    budget.lease("BBB")
    assert budget.rebalance() == {"AAA": 90, "BBB": 10, "CCC": 0}


def test_rebalance_follows_weights_with_largest_remainders() -> None:
    budget = AccountBudget("gross", 10)
    for symbol in ("CCC", "AAA", "BBB"):
        budget.lease(symbol)
    assert budget.rebalance() == {"AAA": 4, "BBB": 3, "CCC": 3}  # equal remainders: by symbol
    assert budget.rebalance({"AAA": 2, "BBB": 1}) == {"AAA": 7, "BBB": 3, "CCC": 0}
    # BBB 10/4 = 2 r2, DDD 30/4 = 7 r2: the unit left goes to the tie's first symbol, BBB
    assert budget.rebalance({"BBB": 1, "DDD": 3, "EEE": 0}) == {
        "AAA": 0,
        "BBB": 3,
        "CCC": 0,
        "DDD": 7,
    }
    assert "EEE" not in budget.snapshot()  # a zero weight creates no lease
    assert budget.rebalance({}) == {"AAA": 0, "BBB": 0, "CCC": 0, "DDD": 0}
    assert budget.rebalance({"AAA": 0}) == {"AAA": 0, "BBB": 0, "CCC": 0, "DDD": 0}
    assert budget.free == 10


def test_rebalance_remainder_goes_to_largest_fraction_first() -> None:
    budget = AccountBudget("gross", 10)
    # AAA 10*1/7 = 1 r3, BBB 10*2/7 = 2 r6, CCC 10*4/7 = 5 r5: two units left -> BBB, CCC
    assert budget.rebalance({"AAA": 1, "BBB": 2, "CCC": 4}) == {"AAA": 1, "BBB": 3, "CCC": 6}
    assert AccountBudget("empty", 10).rebalance() == {}


def test_rebalance_is_deterministic_whatever_the_creation_order() -> None:
    results = []
    for order in (("AAA", "BBB", "CCC"), ("CCC", "AAA", "BBB"), ("BBB", "CCC", "AAA")):
        budget = AccountBudget("gross", 1_000)
        for symbol in order:
            budget.request(symbol, 200 if symbol == "BBB" else 100)
        budget.lease("BBB").try_reserve(150)
        budget.lease("CCC").revalue(400)
        budget.set_limit(500)
        results.append((budget.rebalance({"AAA": 3, "BBB": 2, "CCC": 1}), budget.snapshot()))
    assert results[0] == results[1] == results[2]
    # targets 250/167/83; BBB gives back down to 167 (150 reserved), CCC keeps its 100 (used
    # 400 after a price move), AAA gets what is free
    assert results[0][0] == {"AAA": 233, "BBB": 167, "CCC": 100}


# --- shrinking the limit -----------------------------------------------------------------------


def test_shrink_takes_back_unused_largest_first() -> None:
    budget = AccountBudget("gross", 100)
    held(budget, "AAA", 60, used=10, reserved=0)  # 50 unused
    held(budget, "BBB", 40, used=0, reserved=0)  # 40 unused
    budget.set_limit(70)
    assert {s: v["granted"] for s, v in budget.snapshot().items()} == {"AAA": 30, "BBB": 40}
    assert (budget.granted, budget.frozen) == (70, False)
    budget.set_limit(10)  # AAA keeps its usage, BBB gives everything back
    assert {s: v["granted"] for s, v in budget.snapshot().items()} == {"AAA": 10, "BBB": 0}
    assert (budget.granted, budget.free, budget.frozen) == (10, 0, False)


def test_shrink_below_usage_freezes_until_usage_falls() -> None:
    budget = AccountBudget("gross", 100)
    a = held(budget, "AAA", 60, used=60, reserved=0)
    b = held(budget, "BBB", 40, used=30, reserved=10)
    budget.set_limit(50)
    assert (budget.granted, budget.free, budget.frozen, a.frozen, b.frozen) == (
        100,
        0,
        True,
        True,
        True,
    )
    assert budget.request("AAA", 10) == 0  # no grant while over the limit
    assert budget.lease("CCC").frozen and budget.request("CCC", 5) == 0
    assert budget.rebalance() == {"AAA": 60, "BBB": 40, "CCC": 0}
    a.free_usage(20)  # freed room goes straight back
    assert (a.granted, a.available, a.try_reserve(1), a.try_reserve(0)) == (40, 0, False, True)
    b.unreserve(10)
    b.commit(0, 0)
    assert (b.granted, budget.granted, budget.frozen) == (30, 70, True)
    b.revalue(20)
    a.free_usage(30)
    assert (a.granted, b.granted, budget.granted) == (10, 20, 30)
    assert a.wants(5) == 10
    assert budget.request("AAA", 10) == 10  # under the limit again: thawed, grants resume
    assert (budget.frozen, a.frozen, b.frozen, budget.granted) == (False, False, False, 40)
    a.free_usage(10)
    assert a.granted == 20 and a.try_reserve(20)  # thawed leases keep freed room


def test_raising_the_limit_thaws_and_rebalance_can_thaw() -> None:
    budget = AccountBudget("gross", 100)
    a = held(budget, "AAA", 100, used=100, reserved=0)
    budget.set_limit(40)
    budget.set_limit(60)  # still over: stays frozen
    assert (budget.frozen, a.frozen) == (True, True)
    budget.set_limit(100)
    assert (budget.frozen, a.frozen) == (False, False)
    budget.set_limit(40)
    a.revalue(30)
    assert (a.granted, budget.frozen) == (30, True)
    assert budget.rebalance() == {"AAA": 40}
    assert (budget.frozen, a.frozen) == (False, False)


# --- bad input ---------------------------------------------------------------------------------


@pytest.fixture()
def busy() -> AccountBudget:
    budget = AccountBudget("gross", 100)
    held(budget, "AAA", 50, used=20, reserved=10)
    held(budget, "BBB", 30, used=5, reserved=0)
    return budget


def _lease(budget: AccountBudget) -> SymbolLease:
    return budget.lease("AAA")


BAD: list[tuple[str, type[Exception], Callable[[AccountBudget], object]]] = [
    ("request negative", ValueError, lambda b: b.request("AAA", -1)),
    ("request float", TypeError, lambda b: b.request("AAA", 1.5)),  # type: ignore[arg-type]
    ("request bool", TypeError, lambda b: b.request("AAA", True)),
    ("request empty symbol", ValueError, lambda b: b.request("", 5)),
    ("request non-str symbol", ValueError, lambda b: b.request(7, 5)),  # type: ignore[arg-type]
    ("release negative", ValueError, lambda b: b.release("AAA", -1)),
    ("release over the grant", ValueError, lambda b: b.release("AAA", 51)),
    ("release unknown symbol", ValueError, lambda b: b.release("ZZZ", 1)),
    ("set_limit negative", ValueError, lambda b: b.set_limit(-1)),
    ("set_limit float", TypeError, lambda b: b.set_limit(50.0)),  # type: ignore[arg-type]
    ("rebalance negative weight", ValueError, lambda b: b.rebalance({"CCC": 1, "AAA": -1})),
    ("rebalance empty symbol", ValueError, lambda b: b.rebalance({"CCC": 1, "": 1})),
    ("lease empty symbol", ValueError, lambda b: b.lease("")),
    ("reserve negative", ValueError, lambda b: _lease(b).try_reserve(-1)),
    ("reserve float", TypeError, lambda b: _lease(b).try_reserve(1.0)),  # type: ignore[arg-type]
    ("unreserve negative", ValueError, lambda b: _lease(b).unreserve(-1)),
    ("unreserve too much", ValueError, lambda b: _lease(b).unreserve(11)),
    ("commit negative reserved", ValueError, lambda b: _lease(b).commit(-1, 0)),
    ("commit negative used", ValueError, lambda b: _lease(b).commit(1, -1)),
    ("commit more than reserved", ValueError, lambda b: _lease(b).commit(11, 11)),
    ("revalue negative", ValueError, lambda b: _lease(b).revalue(-1)),
    ("free_usage negative", ValueError, lambda b: _lease(b).free_usage(-1)),
    ("free_usage too much", ValueError, lambda b: _lease(b).free_usage(21)),
    ("wants negative", ValueError, lambda b: _lease(b).wants(-1)),
]


@pytest.mark.parametrize(("what", "error", "call"), BAD, ids=[row[0] for row in BAD])
def test_bad_input_is_refused_and_changes_nothing(
    busy: AccountBudget,
    what: str,
    error: type[Exception],
    call: Callable[[AccountBudget], object],
) -> None:
    before = state(busy)
    with pytest.raises(error, match=r"must be|cannot|only|lease is|symbol is"):
        call(busy)
    assert state(busy) == before, what


def test_bad_input_is_refused_while_frozen(busy: AccountBudget) -> None:
    busy.lease("BBB").revalue(50)
    busy.set_limit(40)
    before = state(busy)
    assert busy.frozen
    for _, error, call in BAD:
        with pytest.raises(error):
            call(busy)
    assert state(busy) == before


def test_bad_limit_at_construction() -> None:
    with pytest.raises(ValueError, match="limit must be >= 0"):
        AccountBudget("gross", -1)
    with pytest.raises(TypeError, match="limit must be an int"):
        AccountBudget("gross", 10.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty string"):
        SymbolLease("")


# --- property: random interleavings ------------------------------------------------------------

SYMBOLS = ("AAA", "BBB", "CCC", "DDD", "EEE")
which = st.integers(0, 4)
sizes = st.integers(1, 600) | st.integers(0, 50)


def upto(n: int) -> st.SearchStrategy[int]:
    """0..n, often all of it (plain integers would mostly be small)."""
    return st.just(n) | st.integers(0, n)


class LeaseMachine(RuleBasedStateMachine):
    """Random grants, releases, orders, fills, price moves, rebalances and limit changes."""

    def __init__(self) -> None:
        super().__init__()
        self.budget = AccountBudget("gross", 0)
        self.symbols: tuple[str, ...] = SYMBOLS[:1]
        self.cap = 0  # granted may not rise above this while it is over the limit

    @initialize(n=st.integers(1, 5), limit=st.integers(0, 1_000), split=st.booleans())
    def start(self, n: int, limit: int, split: bool) -> None:
        self.budget = AccountBudget("gross", limit)
        self.symbols = SYMBOLS[:n]
        if split:  # start with the limit leased out evenly, else with no lease at all
            assert self.budget.rebalance(dict.fromkeys(self.symbols, 1))
            assert self.budget.granted == limit

    def pick(self, i: int) -> SymbolLease:
        return self.budget.lease(self.symbols[i % len(self.symbols)])

    @rule(i=which, amount=sizes)
    def request(self, i: int, amount: int) -> None:
        lease, budget = self.pick(i), self.budget
        granted, over = budget.granted, budget.granted > budget.limit
        got = budget.request(lease.symbol, amount)
        assert got == (0 if over else min(amount, budget.limit - granted))
        assert budget.granted == granted + got

    @rule(i=which, amount=sizes)
    def release(self, i: int, amount: int) -> None:
        lease, budget = self.pick(i), self.budget
        before = state(budget)
        unused, used, reserved = max(lease.available, 0), lease.used, lease.reserved
        if amount > lease.granted:
            with pytest.raises(ValueError, match="cannot release"):
                budget.release(lease.symbol, amount)
            assert state(budget) == before
            return
        assert budget.release(lease.symbol, amount) == min(amount, unused)
        assert (lease.used, lease.reserved) == (used, reserved)

    @rule(i=which, data=st.data())
    def reserve(self, i: int, data: st.DataObject) -> None:
        lease, budget = self.pick(i), self.budget
        available = lease.available
        room = max(available, 0)
        amount = data.draw(upto(room) | st.integers(room + 1, room + 20))  # fits, or just doesn't
        accepted = lease.try_reserve(amount)
        assert accepted == (amount == 0 or amount <= available)
        if not accepted or amount == 0:
            return
        assert available >= amount  # never on a lease already over its grant
        assert not budget.frozen and budget.granted <= budget.limit
        assert lease.used + lease.reserved <= lease.granted
        leases = [budget.lease(s) for s in budget.snapshot()]
        total = sum(x.used + x.reserved for x in leases)
        overshoot = sum(max(x.used + x.reserved - x.granted, 0) for x in leases)
        # Fills at a worse price or price moves pushed some lease over its grant: the account
        # may be over the limit by that overshoot only, never by what was just accepted.
        assert total <= budget.limit + overshoot
        if not overshoot:
            assert total <= budget.limit

    @rule(i=which, data=st.data())
    def cancel(self, i: int, data: st.DataObject) -> None:
        lease = self.pick(i)
        reserved = lease.reserved
        amount = data.draw(upto(reserved))
        lease.unreserve(amount)
        assert lease.reserved == reserved - amount

    @rule(i=which, data=st.data())
    def fill(self, i: int, data: st.DataObject) -> None:
        lease = self.pick(i)
        reserved, used = lease.reserved, lease.used
        part = data.draw(upto(reserved))
        cost = data.draw(st.integers(0, 2 * part + 5))  # the fill price differs from the worst
        lease.commit(part, cost)
        assert (lease.reserved, lease.used) == (reserved - part, used + cost)

    @rule(i=which, tenths=st.integers(5, 25) | st.integers(0, 25))
    def price_move(self, i: int, tenths: int) -> None:
        lease = self.pick(i)
        lease.revalue(lease.used * tenths // 10)

    @rule(i=which, data=st.data())
    def reduce(self, i: int, data: st.DataObject) -> None:
        lease = self.pick(i)
        used = lease.used
        amount = data.draw(upto(used))
        lease.free_usage(amount)
        assert lease.used == used - amount

    @rule(data=st.data())
    def rebalance(self, data: st.DataObject) -> None:
        budget = self.budget
        weights = data.draw(
            st.none() | st.dictionaries(st.sampled_from(self.symbols), st.integers(0, 5))
        )
        before = {s: budget.lease(s) for s in budget.snapshot()}
        kept = {s: min(x.granted, x.used + x.reserved) for s, x in before.items()}
        committed = {s: (x.used, x.reserved) for s, x in before.items()}
        was_under = budget.granted <= budget.limit
        result = budget.rebalance(weights)
        assert result == {s: v["granted"] for s, v in budget.snapshot().items()}
        for symbol, lease in before.items():
            assert lease.granted >= kept[symbol]  # never takes back usage or reservations
            assert (lease.used, lease.reserved) == committed[symbol]
        if was_under:
            assert budget.granted <= budget.limit
        if was_under and not any(u or r for u, r in committed.values()):
            # nothing holds room anywhere: every lease lands on its share, rounded either way
            shares = dict.fromkeys(before, 1) if weights is None else weights
            total, limit = sum(shares.values()), budget.limit
            for symbol, granted in result.items():
                share = limit * shares.get(symbol, 0)
                assert (share // total if total else 0) <= granted
                assert granted <= (-(-share // total) if total else 0)
            assert budget.granted == (limit if total else 0)

    @rule(tenths=st.integers(0, 20), on_usage=st.booleans())
    def set_limit(self, tenths: int, on_usage: bool) -> None:
        """Scale the limit (or the account's usage, to shrink below it) by tenths/10."""
        budget = self.budget
        leases = [budget.lease(s) for s in budget.snapshot()]
        base = sum(x.used + x.reserved for x in leases) if on_usage else budget.limit + 50
        limit = base * tenths // 10
        granted = budget.granted
        budget.set_limit(limit)
        assert budget.limit == limit
        assert budget.granted <= max(limit, granted)
        if budget.granted > limit:
            self.cap = granted

    @rule(i=which, what=st.integers(0, 8))
    def bad_input(self, i: int, what: int) -> None:
        lease, budget = self.pick(i), self.budget
        before = state(budget)
        calls: list[Callable[[], object]] = [
            lambda: budget.request(lease.symbol, -1),
            lambda: budget.release(lease.symbol, lease.granted + 1),
            lambda: budget.set_limit(-1),
            lambda: budget.rebalance({lease.symbol: 1, "ZZZ": -1}),
            lambda: lease.try_reserve(-1),
            lambda: lease.unreserve(lease.reserved + 1),
            lambda: lease.commit(lease.reserved + 1, 0),
            lambda: lease.free_usage(lease.used + 1),
            lambda: lease.revalue(-1),
        ]
        with pytest.raises(ValueError):
            calls[what]()
        assert state(budget) == before

    @invariant()
    def limits_hold(self) -> None:
        budget = self.budget
        leases = [budget.lease(s) for s in budget.snapshot()]
        granted = budget.granted
        assert granted == sum(x.granted for x in leases)
        assert budget.free == max(budget.limit - granted, 0)
        for lease in leases:
            assert min(lease.granted, lease.used, lease.reserved) >= 0
            assert lease.frozen == budget.frozen
            if lease.frozen:
                assert lease.available <= 0
        if granted > budget.limit:  # only after a shrink, and never growing since
            assert budget.frozen and granted <= self.cap
            self.cap = granted


TestLeaseMachine = LeaseMachine.TestCase
TestLeaseMachine.settings = settings(max_examples=200)  # about 20 ms each: explore more
