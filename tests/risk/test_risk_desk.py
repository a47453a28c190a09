"""Account-wide risk over symbols that run apart: the desk's leases, loss limits and kill
switch, and the symbol services that check orders against what the desk granted them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.errors import Code, VenueError
from bot4.core.instruments import Instrument
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.risk.config import RiskFile
from bot4.risk.desk import Holding, RiskDesk, StateChange
from bot4.risk.pretrade import RiskEngine, TradingState
from bot4.service.auth import TimestampGuard
from bot4.service.commands import Command, Deposit, decode
from bot4.service.idempotency import MemoryIdempotencyStore
from bot4.service.journal import MemoryJournal
from bot4.service.symbol import SymbolService

BUY, SELL, GTC = Side.BUY, Side.SELL, TimeInForce.GTC
LIMIT = OrderType.LIMIT
PRICES = {"BTCUSDT": 3_000_000, "ETHUSDT": 200_000}  # 30000.00 and 2000.00 in ticks
USDT = 10**8  # valuation units per USDT (BTCUSDT quotes in 1e-8)


def config(**account: Any) -> RiskFile:
    return RiskFile.model_validate({
        "account": {"max_gross_exposure": "100000", **account},
        "symbol": {"price_band_pct": "5"},
    })  # fmt: skip


def lots(inst: Instrument, qty: str) -> int:
    return int(Decimal(qty) / (inst.base_unit * inst.base_per_lot))


def code(result: object) -> int:
    assert isinstance(result, VenueError), result
    return result.code


class Deployment:
    """Symbol services wired to one desk as the Ray actors wire them (calls instead of
    messages): each asks the desk for exposure; reclaims and state pushes are explicit."""

    def __init__(self, instruments: dict[str, Instrument], cfg: RiskFile) -> None:
        self.instruments = {s: instruments[s] for s in PRICES}
        self.cfg = cfg
        self.desk = RiskDesk(cfg, self.instruments)
        self.journals = {s: MemoryJournal() for s in PRICES}
        self.services = {s: self.service(s) for s in PRICES}
        self.reclaims: list[tuple[str, str, int]] = []
        for symbol, service in self.services.items():
            for account in ("u", "m"):
                service.handle(Command("deposit", Deposit(account, "USDT", 10**9 * USDT), 0))
                base = self.instruments[symbol].base
                service.handle(Command("deposit", Deposit(account, base, 10**15), 0))

    def service(self, symbol: str, desk: Any = None) -> SymbolService:
        def ask(account: str, amount: int) -> int:
            total, reclaims = self.desk.request(account, symbol, amount)
            self.reclaims += [(account, s, a) for s, a in reclaims]
            return total

        risk = RiskEngine(self.cfg, self.instruments, leased=True)
        return SymbolService(self.instruments[symbol], self.journals[symbol],
                             reference_price=PRICES[symbol], risk=risk,
                             desk=ask if desk is None else desk,
                             idempotency=MemoryIdempotencyStore(1_000, 60_000),
                             guard=TimestampGuard())  # fmt: skip

    def order(self, symbol: str, side: Side, qty: str, account: str = "u",
              cid: str | None = None, price: int | None = None) -> NewOrder:  # fmt: skip
        inst = self.instruments[symbol]
        return NewOrder(account, side, LIMIT, lots(inst, qty), price or PRICES[symbol], GTC,
                        client_order_id=cid)  # fmt: skip

    def submit(self, symbol: str, order: NewOrder, now: int = 1_000) -> Any:
        return self.services[symbol].handle(Command("submit", order, now))

    def settle_reclaims(self) -> None:
        """Deliver the desk's reclaims, as the risk actor does by message."""
        while self.reclaims:
            account, symbol, amount = self.reclaims.pop(0)
            given = self.services[symbol].reclaim(account, amount)
            self.desk.released(account, symbol, given)

    def push(self, change: StateChange | None) -> dict[str, Any]:
        assert change is not None
        return {s: svc.set_state(change.account, change.state, change.reason, change.now)
                for s, svc in self.services.items()}  # fmt: skip


@pytest.fixture()
def deployment(instruments: dict[str, Instrument]) -> Deployment:
    return Deployment(instruments, config())


def reserved(d: Deployment, account: str = "u") -> int:
    total = 0
    for svc in d.services.values():
        assert svc.risk is not None
        budget = svc.risk.account(account).budget
        assert budget is not None
        total += sum(x["used"] + x["reserved"] for x in budget.snapshot().values())
    return total


# --- the desk on its own ------------------------------------------------------------------


def test_desk_grants_never_exceed_the_account_limit(instruments: dict[str, Instrument]) -> None:
    desk = RiskDesk(config(), instruments)
    limit = 100_000 * USDT
    assert desk.request("u", "BTCUSDT", 70_000 * USDT) == (70_000 * USDT, [])
    total, reclaims = desk.request("u", "ETHUSDT", 50_000 * USDT)
    assert total == 30_000 * USDT  # what was free
    assert reclaims == [("BTCUSDT", 20_000 * USDT)]  # who should hand back the shortfall
    assert desk.released("u", "BTCUSDT", 20_000 * USDT) == 50_000 * USDT
    assert desk.request("u", "ETHUSDT", 20_000 * USDT)[0] == 50_000 * USDT
    assert sum(desk.grants(s).get("u", 0) for s in PRICES) == limit
    assert desk.request("u", "NOTASYMBOL", 10) == (0, [])  # not valued in USDT: no grant


def test_desk_without_an_exposure_limit_grants_nothing(instruments: dict[str, Instrument]) -> None:
    desk = RiskDesk(RiskFile.model_validate({}), instruments)
    assert desk.request("u", "BTCUSDT", 10) == (0, [])
    assert desk.released("u", "BTCUSDT", 10) == 0
    assert desk.grants("BTCUSDT") == {}
    with pytest.raises(ValueError):
        RiskDesk(RiskFile(valuation_asset="EUR"), instruments)


def test_desk_kill_reset_and_states(instruments: dict[str, Instrument]) -> None:
    desk = RiskDesk(config(), instruments)
    change = desk.kill("u", 5)
    assert change == StateChange("u", "KILLED", "kill switch", 5)
    assert desk.kill("u", 6) is None  # no change, nothing to push
    assert desk.states() == {"u": "KILLED"} and desk.state("x") is TradingState.ACTIVE
    assert desk.reset("u", 7) == StateChange("u", "ACTIVE", "operator reset", 7)
    assert desk.states() == {} and [e.to_state for e in desk.events] == [
        TradingState.KILLED, TradingState.ACTIVE]  # fmt: skip
    with pytest.raises(ValueError):
        desk.kill("", 1)


def test_desk_loss_limits_over_every_symbol(instruments: dict[str, Instrument]) -> None:
    """Daily loss counts realised and unrealised profit over all symbols: a loss on one symbol
    offset by a gain on another is no breach; a move of one price re-checks its holders."""
    desk = RiskDesk(config(max_daily_loss="1000", max_drawdown="5000"), instruments)
    per = {s: instruments[s].quote_per_ticklot for s in PRICES}
    btc = instruments["BTCUSDT"]
    one_btc = lots(btc, "1")
    cost = one_btc * PRICES["BTCUSDT"] * per["BTCUSDT"]  # 30000 USDT
    assert desk.report("BTCUSDT", PRICES["BTCUSDT"], {"u": Holding(one_btc, cost, 0)}, 0) == []
    # BTC falls 1500 USDT: a loss of 1500 > 1000, but ETH realised +800 on the same day
    assert desk.report("ETHUSDT", PRICES["ETHUSDT"], {"u": Holding(0, 0, 800 * USDT)}, 1) == []
    fall = PRICES["BTCUSDT"] - 150_000  # 28500.00
    assert desk.equity("u") == 800 * USDT
    assert desk.report("BTCUSDT", fall, {}, 2) == []  # 1500 - 800 = 700 < 1000
    changes = desk.report("BTCUSDT", fall - 50_000, {}, 3)  # 2000 - 800 = 1200 > 1000
    assert [(c.account, c.state) for c in changes] == [("u", "REDUCE_ONLY")]
    assert "daily loss" in changes[0].reason
    assert desk.report("BTCUSDT", fall - 60_000, {}, 4) == []  # already reduce-only
    assert desk.report("ETHBTC", 1, {}, 4) == []  # not valued in USDT: ignored


def test_desk_drawdown_and_halted_breach(instruments: dict[str, Instrument]) -> None:
    desk = RiskDesk(config(max_drawdown="100", on_breach="HALTED"), instruments)
    assert desk.report("ETHUSDT", None, {"u": Holding(0, 0, 500 * USDT)}, 0) == []
    changes = desk.report("ETHUSDT", None, {"u": Holding(0, 0, 350 * USDT)}, 1)
    assert changes == [StateChange("u", "HALTED", f"drawdown {150 * USDT} > {100 * USDT}", 1)]


def test_desk_snapshot_restores_the_same_desk(instruments: dict[str, Instrument]) -> None:
    desk = RiskDesk(config(max_daily_loss="1000"), instruments)
    desk.request("u", "BTCUSDT", 123 * USDT)
    desk.request("m", "ETHUSDT", 7 * USDT)
    desk.kill("m", 3)
    desk.report("BTCUSDT", 2_999_000, {"u": Holding(5, 1_000, -7)}, 4)
    again = RiskDesk(config(max_daily_loss="1000"), instruments)
    again.restore(desk.snapshot())
    assert again.snapshot() == desk.snapshot()
    assert again.states() == {"m": "KILLED"} and again.grants("BTCUSDT") == {"u": 123 * USDT}


def test_desk_attach_takes_the_symbols_word(instruments: dict[str, Instrument]) -> None:
    """A symbol that crashed after the desk granted but before it journaled the grant comes
    back with less: the desk takes back the difference, so no exposure leaks."""
    desk = RiskDesk(config(), instruments)
    desk.request("u", "BTCUSDT", 60_000 * USDT)
    desk.request("m", "BTCUSDT", 10 * USDT)
    desk.kill("m", 1)
    assert desk.attach("BTCUSDT", {"u": 20_000 * USDT}) == {"m": "KILLED"}
    assert desk.grants("BTCUSDT") == {"u": 20_000 * USDT}
    desk.attach("BTCUSDT", {"u": 30_000 * USDT})
    assert desk.grants("BTCUSDT") == {"u": 30_000 * USDT}


# --- symbols checking against their grants ------------------------------------------------


def test_orders_draw_grants_and_the_account_limit_holds_over_symbols(
    deployment: Deployment,
) -> None:
    d = deployment
    limit = 100_000 * USDT
    ack = d.submit("BTCUSDT", d.order("BTCUSDT", BUY, "2"))  # 60000 USDT
    assert isinstance(ack, Ack)
    assert b'"grant"' in d.journals["BTCUSDT"].data[-2]  # asked the desk, journaled the answer
    granted = d.desk.grants("BTCUSDT")["u"]
    assert 60_000 * USDT <= granted <= limit
    # 25 ETH = 50000 USDT: more than is left of the account's limit once BTC holds 60000
    refused = d.submit("ETHUSDT", d.order("ETHUSDT", BUY, "25"))
    assert code(refused) == Code.RISK_MAX_EXPOSURE and refused.retryable  # type: ignore[union-attr]
    assert reserved(d) <= limit
    d.settle_reclaims()  # BTC hands back what its open order does not use
    assert d.desk.grants("BTCUSDT")["u"] == 60_000 * USDT
    assert code(d.submit("ETHUSDT", d.order("ETHUSDT", BUY, "25"))) == Code.RISK_MAX_EXPOSURE
    ack = d.submit("ETHUSDT", d.order("ETHUSDT", BUY, "20"))  # 40000: exactly what is left
    assert isinstance(ack, Ack)
    assert reserved(d) == limit == sum(d.desk.grants(s)["u"] for s in PRICES)
    # cancelling frees the reservation on the symbol (the grant stays until reclaimed)
    cancel = CancelOrder("u", ack.order_id)
    assert isinstance(d.services["ETHUSDT"].handle(Command("cancel", cancel, 2_000)), Ack)
    assert reserved(d) == 60_000 * USDT


def test_a_refused_keyed_order_may_be_retried(deployment: Deployment) -> None:
    d = deployment
    big = d.order("BTCUSDT", BUY, "4", cid="big-1")  # 120000 USDT > the limit
    assert code(d.submit("BTCUSDT", big)) == Code.RISK_MAX_EXPOSURE
    assert all(b"big-1" not in line for line in d.journals["BTCUSDT"].data)
    smaller = d.order("BTCUSDT", BUY, "1", cid="big-1")  # same id, another order: allowed
    first = d.submit("BTCUSDT", smaller)
    assert isinstance(first, Ack)
    assert d.submit("BTCUSDT", smaller) == first  # and now it is a retry


def test_kill_switch_cancels_blocks_and_survives_replay(deployment: Deployment) -> None:
    d = deployment
    d.submit("BTCUSDT", d.order("BTCUSDT", SELL, "1", account="m", price=3_010_000))
    d.submit("BTCUSDT", d.order("BTCUSDT", BUY, "1", price=2_990_000))
    d.submit("ETHUSDT", d.order("ETHUSDT", BUY, "1", price=199_000))
    results = d.push(d.desk.kill("u", 2_000))
    assert [len(v) for v in results.values()] == [1, 1]  # each symbol cancelled u's order
    assert all(a.status.value == "CANCELED" for v in results.values() for a in v)
    assert code(d.submit("BTCUSDT", d.order("BTCUSDT", BUY, "1", price=2_990_000), 2_000)) == (
        Code.RISK_KILL_SWITCH)  # fmt: skip
    assert d.services["BTCUSDT"].set_state("u", "KILLED", "again") == []  # already: no-op
    # a restart replays the journal: the account is still killed, the book is the same
    for symbol, svc in d.services.items():

        def never(account: str, amount: int) -> int:
            raise AssertionError("replay must not ask the desk")

        again = d.service(symbol, desk=never)
        assert again.state_digest() == svc.state_digest()
        assert again.risk is not None and again.risk.state("u") is TradingState.KILLED
        assert again.risk.granted() == svc.risk.granted()  # type: ignore[union-attr]


def test_fills_are_reported_for_the_desk(deployment: Deployment) -> None:
    d = deployment
    svc = d.services["BTCUSDT"]
    assert svc.risk_report() == (PRICES["BTCUSDT"], {})
    d.submit("BTCUSDT", d.order("BTCUSDT", SELL, "1", account="m"))
    d.submit("BTCUSDT", d.order("BTCUSDT", BUY, "1"))
    price, holdings = svc.risk_report()
    one = lots(d.instruments["BTCUSDT"], "1")
    notional = one * PRICES["BTCUSDT"] * d.instruments["BTCUSDT"].quote_per_ticklot
    assert price == PRICES["BTCUSDT"]
    assert holdings == {"m": (-one, -notional, 0), "u": (one, notional, 0)}
    assert svc.risk_report() == (PRICES["BTCUSDT"], {})  # reported once


def test_the_timestamp_guard_comes_first(deployment: Deployment) -> None:
    d = deployment
    svc = d.services["BTCUSDT"]
    before = len(d.journals["BTCUSDT"].data)
    order = d.order("BTCUSDT", BUY, "0.1")
    stale = Command("submit", order, 100_000, timestamp=90_000)  # 10 s old, window 5 s
    assert code(svc.handle(stale)) == -1021
    ahead = Command("submit", order, 100_000, timestamp=102_000)  # 2 s in the future
    assert code(svc.handle(ahead)) == -1021
    assert code(svc.handle(Command("submit", order, 100_000, 99_000, 0))) == -1021
    assert code(svc.handle(Command("submit", order, 100_000, 99_000, 70_000))) == -1131
    assert len(d.journals["BTCUSDT"].data) == before  # refused before the journal
    fresh = Command("submit", order, 100_000, timestamp=99_500, recv_window=1_000)
    assert isinstance(svc.handle(fresh), Ack)
    assert decode(d.journals["BTCUSDT"].data[-1]) == Command("submit", order, 100_000)
    svc.require_timestamp = True
    assert code(svc.handle(Command("submit", order, 100_000))) == -1102


def test_reclaim_and_set_state_refuse_bad_input(deployment: Deployment) -> None:
    svc = deployment.services["BTCUSDT"]
    before = svc.state_digest(), len(deployment.journals["BTCUSDT"].data)
    assert svc.reclaim("u", -5) == 0 and svc.reclaim("u", "5") == 0  # type: ignore[arg-type]
    assert svc.reclaim("nobody", 10) == 0
    assert isinstance(svc.set_state("", "KILLED", "x"), VenueError)
    assert isinstance(svc.set_state("u", "NOPE", "x"), VenueError)
    assert (svc.state_digest(), len(deployment.journals["BTCUSDT"].data)) == before


def test_a_service_without_risk_ignores_the_desk(btc: Instrument) -> None:
    svc = SymbolService(btc, MemoryJournal())
    assert svc.set_state("u", "KILLED", "x") == [] and svc.reclaim("u", 5) == 0
    assert svc.risk_report() == (None, {})


def test_the_symbols_circuit_breaker_trips_on_rejects_and_probes_after_cooldown(
    btc: Instrument,
) -> None:
    from bot4.risk.breakers import BreakerConfig, BreakerState, CircuitBreaker

    config = BreakerConfig(window_ms=10_000, min_events=4, max_reject_rate=0.5, cooldown_ms=1_000,
                           probe_orders=1)  # fmt: skip
    journal = MemoryJournal()
    svc = SymbolService(btc, journal, reference_price=PRICES["BTCUSDT"],
                        breaker=CircuitBreaker("BTCUSDT", config))  # fmt: skip
    svc.handle(Command("deposit", Deposit("u", "USDT", 10**9 * USDT), 0))
    svc.handle(Command("deposit", Deposit("poor", "USDT", USDT), 0))
    broke = NewOrder("poor", BUY, LIMIT, 1_000, PRICES["BTCUSDT"], GTC)  # 300 USDT: too much
    for t in range(4):
        assert code(svc.handle(Command("submit", broke, 10 + t))) == -2010
    assert svc.breaker is not None and svc.breaker.state is BreakerState.OPEN
    good = NewOrder("u", BUY, LIMIT, 1_000, PRICES["BTCUSDT"] - 100, GTC)
    lines = len(journal.data)
    refused = svc.handle(Command("submit", good, 20))
    assert code(refused) == Code.RISK_BREAKER_OPEN and refused.retryable  # type: ignore[union-attr]
    assert len(journal.data) == lines  # not journaled
    assert isinstance(svc.handle(Command("submit", good, 1_100)), Ack)  # the probe, after cooldown
    assert svc.breaker.state is BreakerState.CLOSED
    again = SymbolService(btc, journal, reference_price=PRICES["BTCUSDT"],
                          breaker=CircuitBreaker("BTCUSDT", config))  # fmt: skip
    assert again.state_digest() == svc.state_digest()


def test_a_command_must_carry_its_kinds_request(btc: Instrument) -> None:
    """A request of the wrong type, or a kind only the desk may send, is refused typed and
    changes nothing (the engine never sees it)."""
    svc = SymbolService(btc, MemoryJournal())
    for command in (Command("cancel", None, 1), Command("submit", CancelOrder("u", 1), 1),
                    Command("grant", ("u", 10), 1), Command("risk_state", None, 1),
                    Command("deposit", NewOrder("u", BUY, LIMIT), 1)):  # fmt: skip
        assert code(svc.handle(command)) == -1130
    assert svc.applied == 0 and svc.journal.data == []  # type: ignore[attr-defined]


def test_a_command_with_a_non_int_time_is_refused_and_replay_still_works(btc: Instrument) -> None:
    journal = MemoryJournal()
    svc = SymbolService(btc, journal)
    assert code(svc.handle(Command("deposit", Deposit("a", "BTC", 5), 2.5))) == -1130  # type: ignore[arg-type]
    assert code(svc.handle(Command("deposit", Deposit("a", "BTC", 5), True))) == -1130
    svc.handle(Command("deposit", Deposit("a", "BTC", 5), 3))
    assert SymbolService(btc, journal).state_digest() == svc.state_digest()
