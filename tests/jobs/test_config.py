"""Symbol specs and run configs: validated by pydantic, errors that name the bad field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot4.core.instruments import Instrument, load_symbols
from bot4.jobs.config import load_run_config
from tests.conftest import ROOT, SYMBOLS_FILE, simple_spec


def test_the_configured_symbols_compile_to_integer_rules() -> None:
    symbols = load_symbols(SYMBOLS_FILE)
    assert set(symbols) >= {"BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT"}
    btc = symbols["BTCUSDT"]
    assert (btc.tick, btc.step) == (Decimal("0.01"), Decimal("0.00001"))
    assert btc.base_per_lot == 1_000  # 0.00001 BTC = 1000 satoshi-units
    assert btc.quote_per_ticklot == 10  # 0.01 x 0.00001 = 1e-7 USDT = 10 units
    assert btc.min_notional == 5 * 10**7  # 5 USDT in tick-lots
    assert btc.percent_filter == "PERCENT_PRICE_BY_SIDE" and btc.bid_up == (5, 1)
    assert btc.max_num_orders == 200 and btc.avg_price_mins == 5
    assert btc.needs_reference_price


def _error_text(**overrides: object) -> str:
    with pytest.raises(ValidationError) as info:
        simple_spec(**overrides)
    return str(info.value)


def test_a_float_decimal_is_refused_naming_the_field() -> None:
    text = _error_text(
        filters=[
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "100", "tickSize": 0.01},
            {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1", "stepSize": "0.001"},
        ]
    )
    assert "tickSize" in text and "strings" in text


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"symbol": "btc usdt"}, "symbol"),
        ({"quoteAsset": "TEST"}, "differ"),
        ({"takerCommission": "1.5"}, "takerCommission"),
        ({"orderTypes": ["LIMIT", "ICEBERG"]}, "orderTypes"),
        ({"baseAssetPrecision": 2}, "baseAssetPrecision"),
        ({"quoteAssetPrecision": 3}, "quoteAssetPrecision"),
        (
            {
                "filters": [
                    {"filterType": "LOT_SIZE", "minQty": "1", "maxQty": "2", "stepSize": "1"}
                ]
            },
            "PRICE_FILTER is required",
        ),
        ({"filters": [{"filterType": "WEIRD"}]}, "filterType"),
    ],
)
def test_bad_specs_say_what_is_wrong(overrides: dict[str, object], needle: str) -> None:
    assert needle in _error_text(**overrides)


def test_filter_level_checks() -> None:
    price = {
        "filterType": "PRICE_FILTER",
        "minPrice": "0.01",
        "maxPrice": "100",
        "tickSize": "0.01",
    }
    lot = {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1", "stepSize": "0.001"}
    cases = [
        ([{**price, "tickSize": "0"}, lot], "tickSize must be positive"),
        ([price, {**lot, "stepSize": "0"}], "stepSize must be positive"),
        ([{**price, "maxPrice": "0.001"}, lot], "maxPrice"),
        ([price, {**lot, "maxQty": "0.0001"}], "maxQty"),
        ([price, lot, price], "listed twice"),
        (
            [
                price,
                lot,
                {"filterType": "MARKET_LOT_SIZE", "minQty": "1", "maxQty": "0.5", "stepSize": "0"},
            ],
            "maxQty",
        ),
        (
            [
                price,
                lot,
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": "0",
                    "maxQty": "5",
                    "stepSize": "0.0015",
                },
            ],
            "multiple",
        ),
        (
            [
                price,
                lot,
                {
                    "filterType": "NOTIONAL",
                    "minNotional": "5",
                    "applyMinToMarket": True,
                    "maxNotional": "1",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
            ],
            "maxNotional",
        ),
        (
            [
                price,
                lot,
                {
                    "filterType": "PERCENT_PRICE",
                    "multiplierUp": "0",
                    "multiplierDown": "0.5",
                    "avgPriceMins": 5,
                },
            ],
            "multiplierUp",
        ),
        (
            [
                price,
                lot,
                {
                    "filterType": "PERCENT_PRICE",
                    "multiplierUp": "2",
                    "multiplierDown": "0.5",
                    "avgPriceMins": 5,
                },
                {
                    "filterType": "MIN_NOTIONAL",
                    "minNotional": "1",
                    "applyToMarket": True,
                    "avgPriceMins": 1,
                },
            ],
            "avgPriceMins must agree",
        ),
        ([price, lot, {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 0}], "maxNumOrders"),
    ]
    for filters, needle in cases:
        assert needle in _error_text(filters=filters), needle


def test_spec_lookup_helpers() -> None:
    spec = simple_spec()
    from bot4.core.filters import MaxNumOrders, PriceFilter

    assert spec.filter(PriceFilter).tickSize == Decimal("0.01")
    assert spec.find(MaxNumOrders) is None
    with pytest.raises(KeyError):
        spec.filter(MaxNumOrders)
    inst = Instrument.compile(spec)
    assert inst.max_num_orders is None and not inst.needs_reference_price


def test_symbols_file_rejects_duplicates(tmp_path: Path) -> None:
    text = SYMBOLS_FILE.read_text()
    path = tmp_path / "dupes.toml"
    path.write_text(text + "\n" + text.split("[[symbols]]")[1].join(["[[symbols]]", ""]))
    with pytest.raises(ValidationError, match="listed twice"):
        load_symbols(path)


def test_run_config_loads_with_its_symbols() -> None:
    config, instruments, prices = load_run_config(ROOT / "configs" / "default.toml")
    assert list(instruments) == ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT"]
    assert prices["BTCUSDT"] == Decimal("30000.00") and config.seconds > 0


def test_run_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(f'symbols_file = "{SYMBOLS_FILE}"\n[start_prices]\nXRPUSDT = "1"\n')
    with pytest.raises(ValueError, match="XRPUSDT"):
        load_run_config(bad)
    bad.write_text(f'symbols_file = "{SYMBOLS_FILE}"\n[start_prices]\nBTCUSDT = "0"\n')
    with pytest.raises(ValidationError, match="positive"):
        load_run_config(bad)
    bad.write_text(
        f'symbols_file = "{SYMBOLS_FILE}"\nseconds = -1\n[start_prices]\nBTCUSDT = "1"\n'
    )
    with pytest.raises(ValidationError, match="seconds"):
        load_run_config(bad)
    bad.write_text(
        f'symbols_file = "{SYMBOLS_FILE}"\nbnb_fee_accounts = 1\n[start_prices]\nBTCUSDT = "1"\n'
    )
    with pytest.raises(ValidationError, match="needs a fees_file"):
        load_run_config(bad)
    bad.write_text(
        f'symbols_file = "{SYMBOLS_FILE}"\nfees_file = "x.toml"\nbnb_fee_accounts = 7\n'
        '[start_prices]\nBTCUSDT = "1"\n'
    )
    with pytest.raises(ValidationError, match="must not exceed accounts"):
        load_run_config(bad)


def test_run_config_resolves_its_fees_file_next_to_it() -> None:
    config, _, _ = load_run_config(ROOT / "configs" / "default.toml")
    assert config.fees_file == ROOT / "configs" / "fees.toml"
    assert config.bnb_fee_accounts == 2
