"""Fee schedule, commission and 30-day volume: the Commission FAQ's example, edges, properties."""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot4.core.fees import (
    DAY_MS,
    FeeAsset,
    FeeSchedule,
    FeesFile,
    Rates,
    VolumeTracker,
    bnb_price_units,
    ceil_fraction,
    commission,
    load_fees,
    trade_commission,
)
from tests.conftest import ROOT

FEES_FILE = ROOT / "configs" / "fees.toml"
E8 = Decimal("0.00000001")  # USDT, BTC and BNB smallest unit
USD = 10**8  # volume units per USD at volume_precision 8
BNB = 10**8  # BNB units per BNB


def units(text: str) -> int:
    """A decimal amount as 1e-8 units (exact)."""
    value = Decimal(text) / E8
    assert value == value.to_integral_value()
    return int(value)


def as_decimal(value: Fraction, places: int, rounding: str) -> Decimal:
    """A 1e-8-unit fraction as a decimal amount rounded to `places` (for the FAQ's figures)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator) * E8
    return exact.quantize(Decimal(1).scaleb(-places), rounding=rounding)


def faq_schedule(mode: str) -> FeeSchedule:
    """The Commission FAQ's account: one tier carries standard maker/taker."""
    return FeeSchedule(
        FeesFile.model_validate(
            {
                "tiers": [
                    {
                        "level": 0,
                        "min_volume_usd": "0",
                        "maker": "0.00000010",
                        "taker": "0.00000020",
                    }
                ],
                "standard": {"buyer": "0.00000030", "seller": "0.00000040"},
                "tax": {
                    "maker": "0.00000112",
                    "taker": "0.00000114",
                    "buyer": "0.00000118",
                    "seller": "0.00000116",
                },
                "special": {"maker": "0.01", "taker": "0.02", "buyer": "0.03", "seller": "0.04"},
                "discount": {"discount": "0.25000000", "mode": mode},
            }
        )
    )


# SELL MARKET 0.49975 BTC at 35000: the taker receives 17491.25 USDT.
FAQ_NOTIONAL = units("17491.25")
FAQ_BNB_PRICE = bnb_price_units(Decimal("260"), E8, E8)  # USDT units per BNB unit


# --- config ---------------------------------------------------------------------------------


def test_the_config_file_loads_the_vip_table() -> None:
    fees = load_fees(FEES_FILE)
    assert [t.level for t in fees.tiers] == list(range(10))
    vip3 = fees.tiers[3]
    assert vip3.min_volume_units == 20_000_000 * USD and vip3.min_bnb_units == 250 * BNB
    assert (vip3.maker, vip3.taker) == (Fraction(42, 100_000), Fraction(6, 10_000))
    regular = fees.rates(0, "BTCUSDT", is_maker=False, is_buyer=True)
    assert regular.standard == Fraction(1, 1000) and regular.tax == regular.special == 0
    assert regular.discount == Fraction(3, 4) and fees.bnb_asset == "BNB"


# Table 9.2: "Maker w/ BNB" and "Taker w/ BNB", in percent.
WITH_BNB = [
    ("0.0750", "0.0750"),
    ("0.0675", "0.0750"),
    ("0.0600", "0.0750"),
    ("0.0315", "0.0450"),
    ("0.0315", "0.0405"),
    ("0.0270", "0.0360"),
    ("0.0225", "0.0315"),
    ("0.0180", "0.0270"),
    ("0.0135", "0.0225"),
    ("0.0090", "0.0180"),
]


def test_reduce_by_reading_reproduces_the_tables_with_bnb_columns() -> None:
    fees = load_fees(FEES_FILE)
    for level, (maker, taker) in enumerate(WITH_BNB):
        for is_maker, pct in ((True, maker), (False, taker)):
            r = fees.rates(level, "ETHUSDT", is_maker, is_buyer=False)
            assert r.discount is not None
            assert r.standard * r.discount == Fraction(Decimal(pct)) / 100


def _fees(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "tiers": [
            {"level": 0, "min_volume_usd": "0", "maker": "0.001", "taker": "0.001"},
            {
                "level": 1,
                "min_volume_usd": "1000000",
                "min_bnb_balance": "25",
                "maker": "0.0009",
                "taker": "0.001",
            },
        ]
    }
    data.update(overrides)
    return data


def _error(**overrides: object) -> str:
    with pytest.raises(ValidationError) as info:
        FeesFile.model_validate(_fees(**overrides))
    return str(info.value)


def test_a_float_rate_is_refused_naming_the_field() -> None:
    text = _error(tax={"maker": 0.001})
    assert "tax.maker" in text and "strings" in text
    text = _error(discount={"discount": 0.25})
    assert "discount.discount" in text and "strings" in text


T0 = {"level": 0, "min_volume_usd": "0", "maker": "0.001", "taker": "0.001"}
T1 = {"level": 1, "min_volume_usd": "100", "maker": "0.001", "taker": "0.001"}


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"tiers": []}, "tiers"),
        ({"tiers": [{**T0, "taker": "1"}]}, "tiers.0.taker"),
        ({"tiers": [{**T0, "maker": "-0.001"}]}, "tiers.0.maker"),
        ({"tiers": [{**T0, "level": -1}]}, "tiers.0.level"),
        ({"tiers": [{**T0, "min_volume_usd": "5"}]}, "first tier"),
        ({"tiers": [T0, {**T1, "level": 0}]}, "tiers.1.level"),
        ({"tiers": [T0, T1, {**T1, "level": 2, "min_volume_usd": "50"}]}, "tiers.2.min_volume_usd"),
        ({"tiers": [T0, {**T1, "min_volume_usd": "0.000000001"}]}, "tiers.1.min_volume_usd"),
        ({"tiers": [T0, {**T1, "min_bnb_balance": "0.000000001"}]}, "tiers.1.min_bnb_balance"),
        ({"tiers": [T0, {**T1, "bnb": "1"}]}, "tiers.1.bnb"),
        ({"discount": {"mode": "halve"}}, "discount.mode"),
        ({"discount": {"discount": "1.5"}}, "discount.discount"),
        ({"tier_rule": "either"}, "tier_rule"),
        ({"special": {"taker": "0.6", "seller": "0.5"}}, "add up to"),
        ({"symbols": [{"symbol": "btc usdt"}]}, "symbols.0.symbol"),
        ({"symbols": [{"symbol": "BTCUSDT"}, {"symbol": "BTCUSDT"}]}, "listed twice"),
        (
            {"symbols": [{"symbol": "XUSDT", "tax": {"maker": "0.7", "buyer": "0.4"}}]},
            "tiers.0 with symbols.0",
        ),
    ],
)
def test_bad_config_is_refused_naming_the_field(overrides: dict[str, object], needle: str) -> None:
    assert needle in _error(**overrides)


# --- the Commission FAQ's worked example ----------------------------------------------------


def test_faq_rates_add_role_and_side() -> None:
    r = faq_schedule("multiply_by").rates(0, "BTCUSDT", is_maker=False, is_buyer=False)
    assert r.standard == Fraction(Decimal("0.00000060"))  # taker 0.2e-6 + seller 0.4e-6
    assert r.tax == Fraction(Decimal("0.00000230"))  # 1.14e-6 + 1.16e-6
    assert r.special == Fraction(Decimal("0.06"))  # 0.02 + 0.04 (the FAQ prints 0.06000030)


def test_faq_example_parts_in_usdt() -> None:
    rates = faq_schedule("multiply_by").rates(0, "BTCUSDT", is_maker=False, is_buyer=False)
    c = commission(FAQ_NOTIONAL, rates)
    assert not c.in_bnb
    assert c.standard == units("0.01049475")  # exact
    assert c.special == units("1049.475")  # exact
    # Tax is 0.040229875 USDT exactly. The FAQ's 8-dp figure 0.04022988 is what the module's
    # ceil gives, and half-up too; floor (truncation) would give 0.04022987.
    assert c.tax == Fraction(units("0.04022987")) + Fraction(1, 2)
    assert ceil_fraction(c.tax) == units("0.04022988")
    assert as_decimal(c.tax, 8, ROUND_HALF_UP) == Decimal("0.04022988")
    assert as_decimal(c.tax, 8, ROUND_FLOOR) == Decimal("0.04022987")


def test_faq_example_total_without_bnb_is_one_ceil_of_the_exact_sum() -> None:
    rates = faq_schedule("multiply_by").rates(0, "BTCUSDT", is_maker=False, is_buyer=False)
    c = commission(FAQ_NOTIONAL, rates)  # no BNB price: charged in USDT
    assert c.exact == Fraction(Decimal("1049.525724625")) * USD
    assert c.units == units("1049.52572463")  # = 0.01049475 + 0.04022988 + 1049.475
    fee = trade_commission(rates, units("0.49975"), FAQ_NOTIONAL)
    assert (fee.units, fee.asset) == (c.units, FeeAsset.QUOTE)


def test_faq_example_in_bnb_under_the_literal_multiply_reading() -> None:
    rates = faq_schedule("multiply_by").rates(0, "BTCUSDT", is_maker=False, is_buyer=False)
    assert rates.discount == Fraction(1, 4)
    c = commission(FAQ_NOTIONAL, rates, bnb_price=FAQ_BNB_PRICE, bnb_balance_units=10 * BNB)
    assert c.in_bnb
    # Each FAQ intermediate is the exact part rounded half-up at the FAQ's printed places.
    assert as_decimal(c.standard, 9, ROUND_HALF_UP) == Decimal("0.000010091")
    assert as_decimal(c.tax, 8, ROUND_HALF_UP) == Decimal("0.00015473")
    assert as_decimal(c.special, 9, ROUND_HALF_UP) == Decimal("4.036442308")
    # The exact total is 4.036607129086538... BNB. Rounded at 9 dp it is the FAQ's 4.036607129,
    # which is also the sum of the FAQ's rounded parts.
    assert c.exact == Fraction(16792285657, 4160000000) * BNB
    assert as_decimal(c.exact, 9, ROUND_HALF_UP) == Decimal("4.036607129")
    assert Decimal("0.000010091") + Decimal("0.00015473") + Decimal("4.036442308") == Decimal(
        "4.036607129"
    )
    # Charged: one ceil to BNB's 8 dp.
    assert c.units == units("4.03660713")


def test_faq_example_in_bnb_under_the_reduce_by_reading() -> None:
    rates = faq_schedule("reduce_by").rates(0, "BTCUSDT", is_maker=False, is_buyer=False)
    assert rates.discount == Fraction(3, 4)
    c = commission(FAQ_NOTIONAL, rates, bnb_price=FAQ_BNB_PRICE, bnb_balance_units=10 * BNB)
    assert c.in_bnb
    assert as_decimal(c.standard, 10, ROUND_HALF_UP) == Decimal("0.0000302733")
    assert c.exact == Fraction(3358473923, 832000000) * BNB  # 4.0366273112980769... BNB
    assert c.units == units("4.03662732")


def test_faq_example_falls_back_to_full_usdt_commission_when_bnb_is_short() -> None:
    rates = faq_schedule("reduce_by").rates(0, "BTCUSDT", is_maker=False, is_buyer=False)
    need = units("4.03662732")
    enough = commission(FAQ_NOTIONAL, rates, bnb_price=FAQ_BNB_PRICE, bnb_balance_units=need)
    assert enough.in_bnb and enough.units == need  # a balance exactly equal is enough
    short = commission(FAQ_NOTIONAL, rates, bnb_price=FAQ_BNB_PRICE, bnb_balance_units=need - 1)
    assert not short.in_bnb
    assert short.units == units("1049.52572463")  # standard not discounted
    fee = trade_commission(
        rates, units("0.49975"), FAQ_NOTIONAL, bnb_price_quote=FAQ_BNB_PRICE, bnb_balance_units=0
    )
    assert (fee.units, fee.asset) == (units("1049.52572463"), FeeAsset.QUOTE)


# --- tiers, sides, rounding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("volume_usd", "bnb", "level"),
    [
        (Decimal(0), 0, 0),
        (Decimal("999999.99999999"), 25, 0),
        (Decimal(1_000_000), 25, 1),
        (Decimal(1_000_000), Decimal("24.99999999"), 0),  # "and": the BNB is short
        (Decimal(4_999_999), 10_000, 1),
        (Decimal(5_000_000), 100, 2),
        (Decimal(20_000_000), Decimal("249.99999999"), 2),
        (Decimal(20_000_000), 250, 3),
        (Decimal(3_999_999_999), 10_000, 8),
        (Decimal(4_000_000_000), 5_500, 9),
        (Decimal(10**12), 10**6, 9),
    ],
)
def test_tier_is_chosen_at_exact_edges(volume_usd: Decimal, bnb: Decimal | int, level: int) -> None:
    fees = load_fees(FEES_FILE)
    tier = fees.tier_for(int(volume_usd * USD), int(Decimal(bnb) * BNB))
    assert tier.level == level


def test_volume_or_bnb_rule_takes_either_threshold() -> None:
    data = load_fees(FEES_FILE).config.model_dump()
    fees = FeeSchedule(FeesFile.model_validate({**data, "tier_rule": "volume_or_bnb"}))
    assert fees.tier_for(0, 250 * BNB).level == 3
    assert fees.tier_for(5_000_000 * USD, 0).level == 2
    assert fees.tier_for(5_000_000 * USD - 1, 25 * BNB - 1).level == 1  # by volume
    assert fees.tier_for(1_000_000 * USD - 1, 25 * BNB - 1).level == 0


def test_symbol_override_is_a_zero_fee_promo_at_every_tier() -> None:
    data = load_fees(FEES_FILE).config.model_dump()
    promo = {"symbol": "BTCFDUSD", "standard": {"maker": "0", "taker": "0"}}
    fees = FeeSchedule(FeesFile.model_validate({**data, "symbols": [promo]}))
    for level in (0, 5, 9):
        assert fees.rates(level, "BTCFDUSD", True, True).total == 0
        assert fees.rates(level, "BTCUSDT", True, True).total == fees.tiers[level].maker
    assert commission(10**12, fees.rates(0, "BTCFDUSD", False, False)).units == 0


def test_discount_switches_off_per_symbol_and_per_account() -> None:
    data = load_fees(FEES_FILE).config.model_dump()
    no_bnb = {"symbol": "SOLUSDT", "discount_enabled": False}
    fees = FeeSchedule(FeesFile.model_validate({**data, "symbols": [no_bnb]}))
    assert fees.rates(0, "SOLUSDT", False, True).discount is None
    assert fees.rates(0, "BTCUSDT", False, True, bnb_enabled=False).discount is None
    r = fees.rates(0, "BTCUSDT", False, True)
    off = fees.rates(0, "BTCUSDT", False, True, bnb_enabled=False)
    price = bnb_price_units(300, E8, E8)
    assert commission(10**10, r, bnb_price=price, bnb_balance_units=BNB).in_bnb
    assert not commission(10**10, off, bnb_price=price, bnb_balance_units=BNB).in_bnb
    with pytest.raises(KeyError):
        fees.rates(10, "BTCUSDT", False, True)


def test_buy_pays_in_base_and_sell_in_quote() -> None:
    fees = load_fees(FEES_FILE)
    base, quote = units("0.5"), units("15000")  # 0.5 BTC at 30000 USDT
    buy = trade_commission(fees.rates(0, "BTCUSDT", False, True), base, quote)
    sell = trade_commission(fees.rates(0, "BTCUSDT", False, False), base, quote)
    assert (buy.units, buy.asset) == (units("0.0005"), FeeAsset.BASE)
    assert (sell.units, sell.asset) == (units("15"), FeeAsset.QUOTE)
    # In BNB both sides pay the same: 15000 x 0.001 x 0.75 / 300 = 0.0375 BNB.
    price = bnb_price_units(Decimal("300"), E8, E8)
    for is_buyer in (True, False):
        r = fees.rates(0, "BTCUSDT", False, is_buyer)
        fee = trade_commission(r, base, quote, bnb_price_quote=price, bnb_balance_units=BNB)
        assert (fee.units, fee.asset) == (units("0.0375"), FeeAsset.BNB)


def _flat(rate: str) -> Rates:
    return Rates(Fraction(Decimal(rate)), Fraction(0), Fraction(0), Fraction(3, 4), False, True)


@pytest.mark.parametrize(
    ("received", "fee"),
    [(0, 0), (1, 1), (999, 1), (1000, 1), (1001, 2), (1999, 2), (2000, 2), (2001, 3)],
)
def test_commission_rounds_up_to_a_whole_unit(received: int, fee: int) -> None:
    assert commission(received, _flat("0.001")).units == fee


def test_bnb_commission_rounds_up_once_after_adding_the_parts() -> None:
    # Each part alone is 1/3 of a BNB unit: rounding each would give 3 units, one rounding gives 1.
    r = Rates(Fraction(1, 100), Fraction(1, 100), Fraction(1, 100), Fraction(1), False, False)
    c = commission(100, r, bnb_price=Fraction(3), bnb_balance_units=5)
    assert c.in_bnb and c.units == 1 and c.exact == 1
    c = commission(101, r, bnb_price=Fraction(3), bnb_balance_units=5)
    assert c.units == 2  # 1.01 rounds up


def test_bnb_price_units_converts_between_asset_units() -> None:
    assert bnb_price_units(Decimal("260"), E8, E8) == 260
    # 260.5 USD per BNB, counted in cents: 26050 cents per 10**8 BNB units.
    assert bnb_price_units(Decimal("260.5"), Decimal("0.01"), E8) == Fraction(26050, 10**8)
    with pytest.raises(TypeError):
        bnb_price_units(260.0, E8, E8)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        bnb_price_units(0, E8, E8)


# --- 30-day volume --------------------------------------------------------------------------

DAY0 = 20_000 * DAY_MS  # 2024-10-04 00:00:00.000 UTC


def test_volume_window_edges_default_counts_the_30_complete_days_before_today() -> None:
    t = VolumeTracker()
    t.record("alice", DAY0, 7)
    assert t.volume("alice", DAY0) == 0  # today does not count until tomorrow's snapshot
    assert t.volume("alice", DAY0 + DAY_MS - 1) == 0
    assert t.volume("alice", DAY0 + DAY_MS) == 7
    assert t.volume("alice", DAY0 + 30 * DAY_MS) == 7  # exactly 30 days later: still in
    assert t.volume("alice", DAY0 + 31 * DAY_MS - 1) == 7
    assert t.volume("alice", DAY0 + 31 * DAY_MS) == 0  # 31 days: out
    assert t.volume("bob", DAY0 + DAY_MS) == 0


def test_volume_window_edges_when_today_counts() -> None:
    t = VolumeTracker(include_current_day=True)
    t.record("alice", DAY0 + DAY_MS - 1, 5)  # last ms of day 0
    t.record("alice", DAY0 + DAY_MS, 3)  # first ms of day 1
    assert t.volume("alice", DAY0 + DAY_MS - 1) == 5
    assert t.volume("alice", DAY0 + DAY_MS) == 8
    assert t.volume("alice", DAY0 + 30 * DAY_MS - 1) == 8  # day 29: day 0 still in
    assert t.volume("alice", DAY0 + 30 * DAY_MS) == 3  # exactly 30 days after day 0: out
    assert t.volume("alice", DAY0 + 31 * DAY_MS) == 0


def test_volume_buckets_late_trades_and_prunes_old_days() -> None:
    t = VolumeTracker(include_current_day=True)
    t.record("a", DAY0 + 5 * DAY_MS, 10)
    t.record("a", DAY0 + 2 * DAY_MS, 1)  # late, goes to its own (new) day
    t.record("a", DAY0 + 5 * DAY_MS + 1, 10)  # same day as the first
    t.record("a", DAY0 + 2 * DAY_MS + 5, 1)  # late, existing day
    assert t.volume("a", DAY0 + 5 * DAY_MS) == 22
    assert t.volume("a", DAY0 + 32 * DAY_MS) == 20  # day 2 has left, day 5 is in
    t.record("a", DAY0 + 100 * DAY_MS, 4)
    t.record("a", DAY0 + 69 * DAY_MS, 99)  # 31 days before the newest: can never count
    t.record("a", DAY0 + 70 * DAY_MS, 6)  # 30 days before the newest: kept
    assert t.volume("a", DAY0 + 100 * DAY_MS) == 4
    assert t.volume("a", DAY0 + 99 * DAY_MS) == 6
    assert len(t._accounts["a"].days) == 2  # old days pruned
    with pytest.raises(ValueError):
        t.record("a", DAY0, -1)


def test_volume_uses_the_utc_day_of_the_timestamp() -> None:
    t = VolumeTracker(window_days=1, include_current_day=True)
    t.record("a", DAY0 - 1, 1)  # 23:59:59.999 of the day before
    t.record("a", DAY0, 2)
    assert t.volume("a", DAY0 - 1) == 1
    assert t.volume("a", DAY0) == 2


# --- properties -----------------------------------------------------------------------------

DEN = 10**8
parts = st.tuples(*(st.integers(0, DEN) for _ in range(3))).filter(lambda p: sum(p) <= DEN)
amounts = st.integers(0, 10**15)


def _rates(p: tuple[int, int, int], discount: Fraction = Fraction(3, 4)) -> Rates:
    std, tax, special = (Fraction(x, DEN) for x in p)
    return Rates(std, tax, special, discount, False, False)


@given(parts, amounts, st.integers(0, 10**6))
def test_received_commission_is_bounded_and_monotone(
    p: tuple[int, int, int], received: int, more: int
) -> None:
    r = _rates(p)
    c = commission(received, r)
    assert 0 <= c.units <= received
    assert c.units - 1 < c.exact <= c.units  # ceil
    assert commission(received + more, r).units >= c.units


@given(parts, amounts, st.integers(1, 10**12), st.integers(1, 10**6), st.integers(0, 10**12))
def test_bnb_commission_never_exceeds_the_balance(
    p: tuple[int, int, int], received: int, price_num: int, price_den: int, balance: int
) -> None:
    r = _rates(p)
    price = Fraction(price_num, price_den)  # received units per BNB unit
    c = commission(received, r, bnb_price=price, bnb_balance_units=balance)
    full = commission(received, r)
    needed = ceil_fraction(received * (r.standard * 3 / 4 + r.tax + r.special) / price)
    if c.in_bnb:
        assert c.units == needed <= balance and c.units - 1 < c.exact <= c.units
        # The discount is on standard only: the BNB value is never above the full commission.
        assert c.exact * price <= full.exact
    else:
        assert c == full and needed > balance


trades_st = st.lists(
    st.tuples(st.integers(0, 45 * DAY_MS), st.integers(1, 10**12)), min_size=1, max_size=60
)


@given(trades_st, st.booleans(), st.integers(0, 3 * DAY_MS))
def test_volume_matches_a_brute_force_sum_in_any_arrival_order(
    trades: list[tuple[int, int]], today: bool, later: int
) -> None:
    t = VolumeTracker(include_current_day=today)
    for ts, notional in trades:  # arrival order is not time order
        t.record("a", DAY0 + ts, notional)
    now_day = (DAY0 + max(ts for ts, _ in trades) + later) // DAY_MS
    hi = now_day if today else now_day - 1
    expected = sum(n for ts, n in trades if hi - 29 <= (DAY0 + ts) // DAY_MS <= hi)
    assert t.volume("a", now_day * DAY_MS) == expected
    assert len(t._accounts["a"].days) <= 31
