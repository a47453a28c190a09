"""Exact money at the edges: venue decimal strings to integer units and back.

Inside the core a price is an integer count of ticks and a quantity an integer count of lots;
an asset amount is an integer count of the asset's smallest unit. Nothing here touches float.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, InvalidOperation

from bot4.core import errors
from bot4.core.errors import VenueError

# The venue's legal form for a decimal parameter (errors.md, -1100).
NUMBER_RE = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_EXACT = Context(prec=80)

Number = str | Decimal | int


def parse_decimal(value: object, name: str) -> Decimal | VenueError:
    """Parse a venue number (string, Decimal or int) or say which parameter is malformed.

    Floats are refused: a float has already lost the exact value the caller meant.
    """
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
        return errors.illegal_number(name)
    if isinstance(value, str):
        text = value
    elif isinstance(value, int):
        text = str(value)
    else:
        if not value.is_finite():
            return errors.illegal_number(name)
        text = format(value, "f")
    if NUMBER_RE.match(text) is None:
        return errors.illegal_number(name)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        return errors.illegal_number(name)


def decimals_of(value: Decimal) -> int:
    """How many digits a value needs after the point (0.0100 -> 2)."""
    exponent = value.normalize(_EXACT).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def to_units(value: Decimal, unit: Decimal) -> int | None:
    """`value` as a whole number of `unit`s, or None when it is off that grid."""
    num, den = value.as_integer_ratio()
    unum, uden = unit.as_integer_ratio()
    q, r = divmod(num * uden, den * unum)
    return None if r else q


def ceil_units(value: Decimal, unit: Decimal) -> int:
    """The smallest whole number of `unit`s that is at least `value`."""
    num, den = value.as_integer_ratio()
    unum, uden = unit.as_integer_ratio()
    return -((-num * uden) // (den * unum))


def floor_units(value: Decimal, unit: Decimal) -> int:
    """The largest whole number of `unit`s that is at most `value`."""
    num, den = value.as_integer_ratio()
    unum, uden = unit.as_integer_ratio()
    return (num * uden) // (den * unum)


def from_units(units: int, unit: Decimal) -> Decimal:
    """The exact decimal value of `units` counts of `unit`."""
    return _EXACT.multiply(Decimal(units), unit)


def format_decimal(value: Decimal, places: int = 8) -> str:
    """Binance-style fixed-point text ("0.00100000"); more places only if the value needs them."""
    places = max(places, decimals_of(value))
    return format(value.quantize(Decimal(1).scaleb(-places), context=_EXACT), "f")


def format_units(units: int, unit: Decimal, places: int = 8) -> str:
    """Format `units` counts of `unit` as the venue prints amounts."""
    return format_decimal(from_units(units, unit), places)
