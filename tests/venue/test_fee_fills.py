"""Commission on real fills: the Commission FAQ end to end, VIP tiers by 30-day volume, BNB."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.events import to_venue
from bot4.core.fees import DAY_MS, FeeSchedule, FeesFile, ceil_fraction, load_fees
from bot4.core.instruments import Instrument
from bot4.core.orders import NewOrder
from bot4.venue.backends import new_engine, new_fee_book, new_ledger
from bot4.venue.exchange import Venue
from tests.conftest import ROOT, simple_spec
from tests.core.test_fees import faq_schedule
from tests.support.backends import current


def new_venue(*args: Any, **kwargs: Any) -> Venue:
    """A venue on the backend this module runs on."""
    return Venue(*args, backend=current(), **kwargs)


FEES_FILE = ROOT / "configs" / "fees.toml"
DAY = 20_000  # a UTC day number (2024-10-04); times below are ms within it
T0 = DAY * DAY_MS + 1_000


def gtc(side: str, price: str, quantity: str, symbol: str = "BTCUSDT") -> dict[str, object]:
    return {"symbol": symbol, "side": side, "type": "LIMIT", "timeInForce": "GTC",
            "price": price, "quantity": quantity}  # fmt: skip


def market(side: str, quantity: str, symbol: str = "BTCUSDT") -> dict[str, object]:
    return {"symbol": symbol, "side": side, "type": "MARKET", "quantity": quantity}


def make_venue(instruments: dict[str, Instrument], fees: FeeSchedule | None, **refs: int) -> Venue:
    prices = {"BTCUSDT": 3_500_000, "BNBUSDT": 26_000, **refs}
    return new_venue(instruments, reference_prices=prices, fees=fees)


def faq_trade(venue: Venue, bnb: str | None = None) -> dict[str, Any]:
    """The FAQ's order: SELL MARKET 0.49975 BTC, filled at 35000 in one trade (taker)."""
    venue.deposit("mm", "USDT", "17491.25")
    venue.deposit("t", "BTC", "0.49975")
    if bnb is not None:
        venue.deposit("t", "BNB", bnb)
    assert "code" not in venue.place("mm", gtc("BUY", "35000.00", "0.49975"), T0)
    return venue.place("t", market("SELL", "0.49975"), T0 + 1)


# --- the Commission FAQ, through the venue ---------------------------------------------------


def test_faq_example_paid_in_the_received_asset(instruments: dict[str, Instrument]) -> None:
    venue = make_venue(instruments, faq_schedule("multiply_by"))
    response = faq_trade(venue)
    fill = response["fills"][0]
    # standard 0.01049475 + tax 0.040229875 + special 1049.475 = 1049.525724625, rounded up
    assert (fill["commission"], fill["commissionAsset"]) == ("1049.52572463", "USDT")
    assert venue.balances("t")["USDT"] == ("16441.72427537", "0.00000000")
    assert venue.ledger.fees["USDT"] == 104952572463


def test_faq_example_paid_in_bnb(instruments: dict[str, Instrument]) -> None:
    venue = make_venue(instruments, faq_schedule("multiply_by"))
    venue.fees.set_pay_with_bnb("t", True)
    venue.fees.set_price("BNB", "USDT", Decimal(260))  # the FAQ's 1 BNB = 260 USDT
    response = faq_trade(venue, bnb="10")
    fill = response["fills"][0]
    # the FAQ's total 4.036607129 BNB, rounded up to BNB's 8 decimals
    assert (fill["commission"], fill["commissionAsset"]) == ("4.03660713", "BNB")
    assert venue.balances("t")["USDT"] == ("17491.25000000", "0.00000000")
    assert venue.balances("t")["BNB"] == ("5.96339287", "0.00000000")
    assert venue.ledger.fees["BNB"] == 403660713


def test_bnb_discount_as_the_venue_applies_it(instruments: dict[str, Instrument]) -> None:
    """reduce_by (the default): the standard part costs 75 %, tax and special stay whole."""
    venue = make_venue(instruments, faq_schedule("reduce_by"))
    venue.fees.set_pay_with_bnb("t", True)
    venue.fees.set_price("BNB", "USDT", Decimal(260))
    fill = faq_trade(venue, bnb="10")["fills"][0]
    notional = Fraction("17491.25")
    exact = (
        notional * Fraction("0.00000060") * Fraction(3, 4)
        + notional * Fraction("0.00000230")
        + notional * Fraction("0.06")
    ) / 260
    assert Decimal(fill["commission"]) == Decimal(ceil_fraction(exact * 10**8)) / 10**8
    assert fill["commissionAsset"] == "BNB"


def test_too_little_bnb_pays_the_full_commission_in_the_received_asset(
    instruments: dict[str, Instrument],
) -> None:
    venue = make_venue(instruments, faq_schedule("multiply_by"))
    venue.fees.set_pay_with_bnb("t", True)
    venue.fees.set_price("BNB", "USDT", Decimal(260))
    fill = faq_trade(venue, bnb="4.03660712")["fills"][0]  # one unit short
    assert (fill["commission"], fill["commissionAsset"]) == ("1049.52572463", "USDT")
    assert venue.balances("t")["BNB"] == ("4.03660712", "0.00000000")


def test_without_a_bnb_price_the_commission_stays_in_the_received_asset(
    instruments: dict[str, Instrument],
) -> None:
    venue = new_venue(
        instruments, reference_prices={"BTCUSDT": 3_500_000}, fees=faq_schedule("multiply_by")
    )
    venue.fees.set_pay_with_bnb("t", True)
    fill = faq_trade(venue, bnb="10")["fills"][0]  # BNBUSDT has no trade and no start price
    assert fill["commissionAsset"] == "USDT"


def test_bnb_price_comes_from_the_bnb_book(instruments: dict[str, Instrument]) -> None:
    venue = make_venue(instruments, faq_schedule("multiply_by"))
    venue.deposit("a", "BNB", "1")
    venue.deposit("b", "USDT", "1000")
    venue.place("a", gtc("SELL", "260.00", "1.000", "BNBUSDT"), T0 - 10)
    venue.place("b", market("BUY", "1.000", "BNBUSDT"), T0 - 5)
    assert venue.fees.price("BNB", "USDT") == 260
    assert venue.fees.price("USDT", "BNB") == Fraction(1, 260)
    venue.fees.set_pay_with_bnb("t", True)
    fill = faq_trade(venue, bnb="10")["fills"][0]
    assert (fill["commission"], fill["commissionAsset"]) == ("4.03660713", "BNB")


def test_execution_report_shows_the_bnb_commission(instruments: dict[str, Instrument]) -> None:
    log: list[Any] = []
    venue = new_venue(
        instruments,
        reference_prices={"BTCUSDT": 3_500_000},
        fees=faq_schedule("multiply_by"),
        on_events=log.extend,
    )
    venue.fees.set_pay_with_bnb("t", True)
    venue.fees.set_price("BNB", "USDT", Decimal(260))
    faq_trade(venue, bnb="10")
    trade = next(r for r in log if r.trade_id >= 0 and r.account == "t")
    shown = to_venue(trade, venue.instruments["BTCUSDT"], venue.unit("BNB"))
    assert (shown["n"], shown["N"]) == ("4.03660713", "BNB")


def test_maker_pays_its_own_rates_in_the_asset_it_receives(
    instruments: dict[str, Instrument],
) -> None:
    log: list[Any] = []
    venue = new_venue(
        instruments,
        reference_prices={"BTCUSDT": 3_500_000},
        fees=faq_schedule("multiply_by"),
        on_events=log.extend,
    )
    faq_trade(venue)
    maker_fill = next(r for r in log if r.trade_id >= 0 and r.account == "mm")
    # the buyer receives 0.49975 BTC at maker + buyer in each kind
    rate = Fraction("0.00000040") + Fraction("0.00000230") + Fraction("0.04")
    assert maker_fill.is_maker and maker_fill.commission_asset == "BTC"
    assert maker_fill.commission == ceil_fraction(49_975_000 * rate)


# --- account/commission and order/test --------------------------------------------------------


def query_example_schedule() -> FeeSchedule:
    """The FAQ's "querying commission rates" account."""
    return FeeSchedule(
        FeesFile.model_validate(
            {
                "tiers": [
                    {"level": 0, "min_volume_usd": "0", "maker": "0.00000040",
                     "taker": "0.00000050"}
                ],
                "standard": {"buyer": "0.00000010", "seller": "0.00000010"},
                "special": {"maker": "0.04", "taker": "0.05", "buyer": "0.01", "seller": "0.01"},
                "tax": {"maker": "0.00000128", "taker": "0.00000130", "buyer": "0.00000100",
                        "seller": "0.00000100"},
            }
        )
    )  # fmt: skip


def test_account_commission_matches_the_faq(instruments: dict[str, Instrument]) -> None:
    venue = make_venue(instruments, query_example_schedule())
    venue.fees.set_pay_with_bnb("acct", True)
    assert venue.account_commission("acct", {"symbol": "BTCUSDT"}) == {
        "symbol": "BTCUSDT",
        "standardCommission": {"maker": "0.00000040", "taker": "0.00000050",
                               "buyer": "0.00000010", "seller": "0.00000010"},
        "taxCommission": {"maker": "0.00000128", "taker": "0.00000130",
                          "buyer": "0.00000100", "seller": "0.00000100"},
        "specialCommission": {"maker": "0.04000000", "taker": "0.05000000",
                              "buyer": "0.01000000", "seller": "0.01000000"},
        "discount": {"enabledForAccount": True, "enabledForSymbol": True,
                     "discountAsset": "BNB", "discount": "0.25000000"},
    }  # fmt: skip


def test_test_order_computes_the_faq_rates_for_the_order(
    instruments: dict[str, Instrument],
) -> None:
    venue = make_venue(instruments, query_example_schedule())
    venue.fees.set_pay_with_bnb("acct", True)
    venue.ledger.open("acct")  # known, holding nothing: a test order needs no balance
    before = venue.state_digest()
    params = {**gtc("BUY", "35000.00", "0.1"), "computeCommissionRates": "true"}
    assert venue.test_order("acct", params, T0) == {
        "standardCommissionForOrder": {"maker": "0.00000050", "taker": "0.00000060"},
        "specialCommissionForOrder": {"maker": "0.05000000", "taker": "0.06000000"},
        "taxCommissionForOrder": {"maker": "0.00000228", "taker": "0.00000230"},
        "discount": {"enabledForAccount": True, "enabledForSymbol": True,
                     "discountAsset": "BNB", "discount": "0.25000000"},
    }  # fmt: skip
    assert venue.test_order("acct", gtc("BUY", "35000.00", "0.1"), T0) == {}
    assert venue.state_digest() == before


def test_test_order_refuses_what_the_order_endpoint_refuses(
    instruments: dict[str, Instrument],
) -> None:
    venue = make_venue(instruments, None)
    venue.ledger.open("a")
    venue.deposit("b", "BTC", "1")
    venue.place("b", gtc("SELL", "35000.00", "0.1"), T0)
    before = venue.state_digest()
    assert venue.test_order("a", gtc("BUY", "35000.001", "0.1"), T0) == {
        "code": -1013, "msg": "Filter failure: PRICE_FILTER"}  # fmt: skip
    assert venue.test_order("a", gtc("BUY", "35000.00", "0.000000001"), T0)["code"] == -1111
    assert venue.test_order("nobody", gtc("BUY", "35000.00", "0.1"), T0)["code"] == -2015
    assert venue.test_order("a", gtc("BUY", "1.00", "0.1"), T0) == {
        "code": -1013, "msg": "Filter failure: PERCENT_PRICE_BY_SIDE"}  # fmt: skip
    bad = {**gtc("BUY", "35000.00", "0.1"), "computeCommissionRates": "yes"}
    assert venue.test_order("a", bad, T0)["code"] == -1130
    assert venue.test_order("a", {**gtc("BUY", "1", "1"), "symbol": "NOPE"}, T0)["code"] == -1121
    assert venue.account_commission("a", {"symbol": "NOPE"})["code"] == -1121
    assert venue.account_commission("a", {"symbol": "BTCUSDT", "x": 1})["code"] == -1103
    # a LIMIT_MAKER that would match now is refused, as on the venue
    maker = {**gtc("BUY", "35000.00", "0.1"), "type": "LIMIT_MAKER"}
    del maker["timeInForce"]
    assert venue.test_order("a", maker, T0)["code"] == -2010
    assert venue.state_digest() == before


def test_without_a_schedule_the_symbol_rates_apply(instruments: dict[str, Instrument]) -> None:
    venue = make_venue(instruments, None)
    shown = venue.account_commission("a", {"symbol": "BTCUSDT"})
    assert shown["standardCommission"] == {
        "maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000", "seller": "0.00000000"
    }  # fmt: skip
    assert shown["discount"]["enabledForSymbol"] is False
    venue.fees.set_pay_with_bnb("t", True)  # no schedule, no discount: it changes nothing
    fill = faq_trade(venue, bnb="10")["fills"][0]
    assert (fill["commission"], fill["commissionAsset"]) == ("17.49125000", "USDT")
    with pytest.raises(ValueError, match="no fee schedule"):
        venue.fees.pin_level("a", 1)
    with pytest.raises(ValueError, match="no fee schedule"):
        venue.fees.record_volume("a", T0, Decimal(1))
    assert venue.fees.level("a") == 0


# --- VIP tiers by 30-day volume ---------------------------------------------------------------


def tiered_venue(instruments: dict[str, Instrument]) -> Venue:
    venue = make_venue(instruments, load_fees(FEES_FILE), BTCUSDT=3_000_000)
    venue.deposit("mm", "BTC", "1000")
    venue.deposit("mm", "USDT", "100000000")
    venue.deposit("whale", "USDT", "100000000")
    venue.deposit("whale", "BTC", "1000")
    return venue


NOTIONAL = 30_000 * 10**8  # USDT units of 1 BTC at 30000


def cross(venue: Venue, maker: str, taker: str, qty: str, now: int) -> tuple[Any, Any]:
    """`maker` rests a SELL at 30000, `taker` buys it: returns (maker fill, taker fill)."""
    log: list[Any] = []
    for engine in venue.engines.values():
        engine.on_events = log.extend
    venue.place(maker, gtc("SELL", "30000.00", qty), now)
    venue.place(taker, market("BUY", qty), now)
    fills = [r for r in log if r.trade_id >= 0]
    return next(r for r in fills if r.is_maker), next(r for r in fills if not r.is_maker)


def test_tier_follows_30_day_volume_and_bnb_from_the_next_utc_day(
    instruments: dict[str, Instrument],
) -> None:
    venue = tiered_venue(instruments)
    cross(venue, "mm", "whale", "40", T0)  # 1,200,000 USDT each
    venue.deposit("whale", "BNB", "25")
    maker, _ = cross(venue, "whale", "mm", "1", T0 + 10)
    assert venue.fees.level("whale") == 0
    assert maker.commission == NOTIONAL // 1000  # 0.1 % of 30000 USDT
    # the first fill of the next day re-tiers: VIP 1 (>= 1M volume and >= 25 BNB)
    maker, taker = cross(venue, "whale", "mm", "1", T0 + DAY_MS)
    assert venue.fees.level("whale") == 1 and venue.fees.level("mm") == 0  # mm holds no BNB
    assert maker.commission == NOTIONAL * 9 // 10_000  # VIP 1 maker 0.09 %
    assert taker.commission == 10**8 // 1000  # mm still pays 0.1 % of 1 BTC
    shown = venue.account_commission("whale", {"symbol": "BTCUSDT"})
    assert shown["standardCommission"]["maker"] == "0.00090000"
    # 31 days later day DAY's volume has left the window
    cross(venue, "mm", "whale", "1", T0 + 31 * DAY_MS)
    assert venue.fees.level("whale") == 0


def test_a_resting_order_pays_the_rate_of_the_day_it_fills(
    instruments: dict[str, Instrument],
) -> None:
    venue = tiered_venue(instruments)
    venue.fees.record_volume("whale", T0 - DAY_MS, Decimal("20000000"))
    venue.deposit("whale", "BNB", "250")
    venue.place("whale", gtc("SELL", "30000.00", "1"), T0)  # rests before the re-tiering
    assert venue.fees.level("whale") == 0  # recorded volume counts from the next re-tiering
    log: list[Any] = []
    venue.engines["BTCUSDT"].on_events = log.extend
    venue.place("mm", market("BUY", "1"), T0 + 5)
    maker = next(r for r in log if r.trade_id >= 0 and r.is_maker)
    assert venue.fees.level("whale") == 3
    assert maker.commission == NOTIONAL * 42 // 100_000  # VIP 3 maker 0.042 %


def test_pinned_level_wins_over_volume(instruments: dict[str, Instrument]) -> None:
    venue = tiered_venue(instruments)
    venue.fees.pin_level("mm", 9)
    maker, _ = cross(venue, "mm", "whale", "1", T0)
    assert maker.commission == NOTIONAL * 12 // 100_000  # VIP 9 maker 0.012 %
    venue.fees.pin_level("mm", None)
    assert venue.fees.level("mm") == 0
    with pytest.raises(ValueError, match="no fee tier with level 42"):
        venue.fees.pin_level("mm", 42)
    with pytest.raises(ValueError, match="finer than"):
        venue.fees.record_volume("mm", T0, Decimal("0.000000001"))


def test_volume_in_another_quote_asset_counts_at_its_usd_price() -> None:
    eth_btc = Instrument.compile(
        simple_spec(symbol="ETHBTC", baseAsset="ETH", quoteAsset="BTC",
                    baseAssetPrecision=8, quoteAssetPrecision=8)
    )  # fmt: skip
    btc_usdt = Instrument.compile(simple_spec(symbol="BTCUSDT", baseAsset="BTC"))
    venue = new_venue({"ETHBTC": eth_btc, "BTCUSDT": btc_usdt}, fees=load_fees(FEES_FILE))
    for account in ("a", "b"):
        venue.deposit(account, "ETH", "100")
        venue.deposit(account, "BTC", "100")
        venue.deposit(account, "USDT", "1000000")
    venue.place("a", gtc("SELL", "0.05", "10", "ETHBTC"), T0)  # 0.5 BTC
    venue.place("b", market("BUY", "10", "ETHBTC"), T0)
    venue.place("a", gtc("SELL", "30000.00", "0.001"), T0)
    venue.place("b", market("BUY", "0.001"), T0)  # BTC last price 30000: 30 USDT each
    book = venue.fees
    book.roll(T0 + DAY_MS)
    usd = 10**8  # volume units per USD
    assert book.volume("a", T0 + DAY_MS) == (15_000 + 30) * usd
    assert book.volume("b", T0 + DAY_MS) == (15_000 + 30) * usd


def test_volume_without_a_usd_price_is_not_counted() -> None:
    eth_btc = Instrument.compile(simple_spec(symbol="ETHBTC", baseAsset="ETH", quoteAsset="BTC"))
    venue = new_venue({"ETHBTC": eth_btc}, fees=load_fees(FEES_FILE))
    for account in ("a", "b"):
        venue.deposit(account, "ETH", "100")
        venue.deposit(account, "BTC", "100")
    venue.place("a", gtc("SELL", "0.05", "10", "ETHBTC"), T0)
    venue.place("b", market("BUY", "10", "ETHBTC"), T0)
    venue.fees.roll(T0 + DAY_MS)
    assert venue.fees.volume("a", T0 + DAY_MS) == 0
    venue.fees.set_price("BTC", "USDT", Decimal("30000"))  # too late for the closed day
    with pytest.raises(ValueError, match="positive"):
        venue.fees.set_price("BTC", "USDT", Decimal(0))


def test_bought_bnb_pays_its_own_discounted_commission(
    instruments: dict[str, Instrument],
) -> None:
    venue = make_venue(instruments, load_fees(FEES_FILE))
    venue.fees.set_pay_with_bnb("b", True)
    assert venue.fees.pays_with_bnb("b")
    venue.deposit("a", "BNB", "10")
    venue.deposit("b", "USDT", "10000")
    venue.place("a", gtc("SELL", "260.00", "4.000", "BNBUSDT"), T0)
    fill = venue.place("b", market("BUY", "4.000", "BNBUSDT"), T0)["fills"][0]
    # 4 BNB x 0.1 % x 75 %, charged in BNB at the fill's own price
    assert (fill["commission"], fill["commissionAsset"]) == ("0.00300000", "BNB")
    assert venue.balances("b")["BNB"] == ("3.99700000", "0.00000000")
    venue.fees.set_pay_with_bnb("b", False)
    venue.place("a", gtc("SELL", "260.00", "1.000", "BNBUSDT"), T0)
    fill = venue.place("b", market("BUY", "1.000", "BNBUSDT"), T0)["fills"][0]
    assert (fill["commission"], fill["commissionAsset"]) == ("0.00100000", "BNB")


def test_on_a_bnb_quoted_pair_bnb_is_worth_one_bnb() -> None:
    eth_bnb = Instrument.compile(simple_spec(symbol="ETHBNB", baseAsset="ETH", quoteAsset="BNB"))
    venue = new_venue({"ETHBNB": eth_bnb}, fees=load_fees(FEES_FILE))
    venue.fees.set_pay_with_bnb("a", True)
    venue.deposit("a", "ETH", "1")
    venue.deposit("b", "BNB", "100")
    venue.place("b", gtc("BUY", "5.00", "1", "ETHBNB"), T0)
    fill = venue.place("a", market("SELL", "1", "ETHBNB"), T0)["fills"][0]
    # the seller receives 5 BNB; paying in BNB takes 0.1 % x 75 % of it
    assert (fill["commission"], fill["commissionAsset"]) == ("0.00375000", "BNB")
    assert venue.balances("a")["BNB"] == ("4.99625000", "0.00000000")


def test_tiers_are_evaluated_once_per_utc_day(instruments: dict[str, Instrument]) -> None:
    venue = tiered_venue(instruments)
    book = venue.fees
    book.roll(T0)
    book.record_volume("mm", T0 - DAY_MS, Decimal("5000000"))
    venue.deposit("mm", "BNB", "100")
    book.roll(T0 + 1000)  # the same day: nothing is re-evaluated
    assert book.level("mm") == 0 and book.next_roll == (DAY + 1) * DAY_MS
    book.roll(T0 + DAY_MS)
    assert book.level("mm") == 2


def test_a_schedule_without_the_discount_never_takes_bnb(
    instruments: dict[str, Instrument],
) -> None:
    config = FeesFile.model_validate(
        {
            "tiers": [{"level": 0, "min_volume_usd": "0", "maker": "0.001", "taker": "0.001"}],
            "discount": {"enabled": False},
        }
    )
    venue = make_venue(instruments, FeeSchedule(config))
    venue.fees.set_pay_with_bnb("t", True)
    venue.fees.set_price("BNB", "USDT", Decimal(260))
    assert venue.account_commission("t", {"symbol": "BTCUSDT"})["discount"] == {
        "enabledForAccount": True, "enabledForSymbol": False, "discountAsset": "BNB",
        "discount": "0.25000000"}  # fmt: skip
    fill = faq_trade(venue, bnb="10")["fills"][0]
    assert (fill["commission"], fill["commissionAsset"]) == ("17.49125000", "USDT")
    with pytest.raises(KeyError, match="no fee tier with level 3"):
        FeeSchedule(config).rate_sets(3, "BTCUSDT")


def test_engine_refuses_a_fee_book_of_another_ledger(instruments: dict[str, Instrument]) -> None:
    with pytest.raises(ValueError, match="ledger"):
        new_engine(
            instruments["BTCUSDT"],
            backend=current(),
            fees=new_fee_book(None, new_ledger(current())),
        )


def test_fee_asset_precision_must_agree_with_its_symbol(
    instruments: dict[str, Instrument],
) -> None:
    coarse = FeeSchedule(
        FeesFile.model_validate(
            {"tiers": [{"level": 0, "min_volume_usd": "0", "maker": "0.001", "taker": "0.001"}],
             "discount": {"precision": 6}}
        )
    )  # fmt: skip
    with pytest.raises(ValueError, match="BNB precision"):
        new_venue(instruments, fees=coarse)


# --- properties -------------------------------------------------------------------------------

ACCOUNTS = ("a", "b", "c")
orders = st.lists(
    st.tuples(
        st.sampled_from(ACCOUNTS),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(2_990_000, 3_010_000),  # price in ticks around 30000
        st.integers(1, 3_000),  # lots of 0.00001 BTC
        st.booleans(),  # market?
        st.integers(0, 3 * DAY_MS),  # time step
    ),
    min_size=1,
    max_size=40,
)


def run_stream(
    instruments: dict[str, Instrument], stream: list[Any], bnb_payers: set[str]
) -> tuple[Venue, list[Any]]:
    config = FeesFile.model_validate(
        {
            "tiers": [
                {"level": 0, "min_volume_usd": "0", "maker": "0.001", "taker": "0.001"},
                {"level": 1, "min_volume_usd": "100", "maker": "0.0005", "taker": "0.0007"},
            ],
            "standard": {"buyer": "0.0001"},
            "tax": {"taker": "0.0002", "seller": "0.0001"},
        }
    )
    log: list[Any] = []
    venue = new_venue(
        instruments,
        reference_prices={"BTCUSDT": 3_000_000},
        fees=FeeSchedule(config),
        on_events=log.extend,
    )
    venue.fees.set_price("BNB", "USDT", Decimal("300"))
    for account in ACCOUNTS:
        venue.deposit(account, "BTC", "5")
        venue.deposit(account, "USDT", "200000")
        venue.deposit(account, "BNB", "0.02")
        venue.fees.set_pay_with_bnb(account, account in bnb_payers)
    now = T0
    for account, side, price, lots, is_market, step in stream:
        now += step
        if is_market:
            req = NewOrder(account, side, OrderType.MARKET, lots)
        else:
            req = NewOrder(account, side, OrderType.LIMIT, lots, price, TimeInForce.GTC)
        venue.submit("BTCUSDT", req, now)
    return venue, log


@given(stream=orders, bnb_payers=st.sets(st.sampled_from(ACCOUNTS)))
def test_fees_conserve_every_asset_and_never_exceed_what_is_received(
    instruments: dict[str, Instrument], stream: list[Any], bnb_payers: set[str]
) -> None:
    venue, log = run_stream(instruments, stream, bnb_payers)
    totals = {"BTC": 15 * 10**8, "USDT": 600_000 * 10**8, "BNB": 6 * 10**6}
    for asset, total in totals.items():
        assert venue.ledger.total(asset) == total
    for _, _, bal in venue.ledger.items():
        assert bal.free >= 0 and bal.locked >= 0
    inst = venue.instruments["BTCUSDT"]
    for r in log:
        if r.trade_id < 0:
            continue
        received = (
            r.last_qty * inst.base_per_lot
            if r.side is Side.BUY
            else r.last_qty * r.last_price * inst.quote_per_ticklot
        )
        if r.commission_asset == "BNB":
            assert r.account in bnb_payers
        else:
            assert r.commission_asset == ("BTC" if r.side is Side.BUY else "USDT")
            assert 0 < r.commission <= received
    again, log2 = run_stream(instruments, stream, bnb_payers)
    assert again.state_digest() == venue.state_digest() and log2 == log


def test_a_fill_counts_once_for_each_side_of_the_trade(instruments: dict[str, Instrument]) -> None:
    venue, _ = run_stream(
        instruments,
        [("a", Side.SELL, 3_000_000, 1_000, False, 0), ("b", Side.BUY, 0, 1_000, True, 1)],
        set(),
    )
    venue.fees.roll(T0 + DAY_MS)
    assert venue.fees.volume("a", T0 + DAY_MS) == 300 * 10**8
    assert venue.fees.volume("b", T0 + DAY_MS) == 300 * 10**8
    assert venue.fees.level("a") == venue.fees.level("b") == 1
