"""Exact money at the edges: parsing, grids, formatting; never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot4.core.errors import VenueError
from bot4.core.money import (
    ceil_units,
    decimals_of,
    floor_units,
    format_decimal,
    format_units,
    from_units,
    parse_decimal,
    to_units,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", "0"),
        ("30000.01", "30000.01"),
        ("0.00001000", "0.00001"),
        ("12345678901234567890", "12345678901234567890"),
    ],
)
def test_parse_accepts_the_venues_number_form(text: str, value: str) -> None:
    assert parse_decimal(text, "price") == Decimal(value)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "-1",
        "+1",
        "1e5",
        "1E-8",
        ".5",
        "5.",
        "NaN",
        "Infinity",
        " 1",
        "1,5",
        "0x10",
        "١٢",
        "123456789012345678901",
        "1." + "0" * 21,
        1.5,
        None,
        True,
        [1],
        Decimal("NaN"),
        Decimal("-2"),
    ],
)
def test_parse_rejects_anything_else_with_1100(bad: object) -> None:
    error = parse_decimal(bad, "quantity")
    assert isinstance(error, VenueError) and error.code == -1100
    assert "'quantity'" in error.msg


def test_parse_takes_decimals_and_ints() -> None:
    assert parse_decimal(Decimal("1E+2"), "p") == Decimal(100)
    assert parse_decimal(7, "p") == Decimal(7)


def test_units_on_and_off_the_grid() -> None:
    tick = Decimal("0.01")
    assert to_units(Decimal("30000.01"), tick) == 3_000_001
    assert to_units(Decimal("30000.015"), tick) is None  # never rounded
    assert to_units(Decimal("0"), tick) == 0
    assert to_units(Decimal("0.3"), Decimal("0.1")) == 3  # exact, unlike 0.3 / 0.1 in float
    assert ceil_units(Decimal("0.015"), tick) == 2 and floor_units(Decimal("0.015"), tick) == 1


def test_formatting_is_binance_style() -> None:
    assert format_units(3_000_001, Decimal("0.01")) == "30000.01000000"
    assert format_units(5, Decimal("0.00001")) == "0.00005000"
    assert format_units(5, Decimal("1E-10")) == "0.0000000005"  # more places only when needed
    assert format_units(12, Decimal("0.01"), 2) == "0.12"
    assert format_decimal(Decimal("1"), 0) == "1"
    assert from_units(10**30, Decimal("1E-8")) == Decimal("1E+22")
    assert decimals_of(Decimal("0.0100")) == 2 and decimals_of(Decimal("100")) == 0
