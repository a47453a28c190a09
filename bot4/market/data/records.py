"""Columnar records of Binance public market data, and the error a bad file raises.

Every price and quantity is an int64 count of 1e-8 (``SCALE`` units per 1.0); every time is an
int64 count of microseconds since the Unix epoch. The largest value a column holds is
``INT64_MAX`` units, i.e. 92_233_720_368.54775807 in decimal. Arrays built by the readers are
read-only, so records can share columns safely.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

SCALE: int = 10**8
"""Prices and quantities are int64 counts of 1/SCALE = 1e-8."""

INT64_MAX: int = 2**63 - 1

Kind = Literal["trades", "aggTrades", "klines", "bookTicker"]
TradesKind = Literal["trades", "aggTrades"]
Selector = slice | NDArray[np.bool_] | NDArray[np.integer[Any]]


class DataError(ValueError):
    """A bad row or file: ``str(e) == f"{path}:{line}: {message}"``.

    ``line`` is the 1-based physical line of the CSV (inside the zip for zipped files), or 0 for
    a whole-file problem (empty file, bad zip, unknown kind).
    """

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message

    def __reduce__(self) -> tuple[type[DataError], tuple[str, int, str]]:
        return (DataError, (self.path, self.line, self.message))


def _same_length(record: object) -> None:
    lengths = {len(getattr(record, f.name)) for f in fields(record)}  # type: ignore[arg-type]
    if len(lengths) > 1:
        raise ValueError(f"{type(record).__name__} columns differ in length: {sorted(lengths)}")


def _take(column: NDArray[Any], which: Selector) -> NDArray[Any]:
    part = column[which]
    part.flags.writeable = False
    return part


@dataclass(frozen=True, eq=False)
class Trades:
    """Trades from a ``trades`` or an ``aggTrades`` file, one row per (aggregate) trade."""

    trade_id: NDArray[np.int64]
    """trades: id; aggTrades: aggTradeId."""
    price: NDArray[np.int64]
    """1e-8 units."""
    qty: NDArray[np.int64]
    """1e-8 units."""
    time_us: NDArray[np.int64]
    is_buyer_maker: NDArray[np.bool_]
    first_id: NDArray[np.int64]
    """aggTrades: firstTradeId; trades: the same array as trade_id."""
    last_id: NDArray[np.int64]
    """aggTrades: lastTradeId; trades: the same array as trade_id."""

    def __post_init__(self) -> None:
        _same_length(self)

    def __len__(self) -> int:
        return len(self.trade_id)

    def select(self, which: Selector) -> Trades:
        """The rows a boolean mask, index array or slice picks (e.g. a train/held-out split)."""
        return Trades(
            trade_id=_take(self.trade_id, which),
            price=_take(self.price, which),
            qty=_take(self.qty, which),
            time_us=_take(self.time_us, which),
            is_buyer_maker=_take(self.is_buyer_maker, which),
            first_id=_take(self.first_id, which),
            last_id=_take(self.last_id, which),
        )


@dataclass(frozen=True, eq=False)
class Klines:
    """Candlesticks of any interval; prices and volumes in 1e-8 units."""

    open_time_us: NDArray[np.int64]
    close_time_us: NDArray[np.int64]
    open: NDArray[np.int64]
    high: NDArray[np.int64]
    low: NDArray[np.int64]
    close: NDArray[np.int64]
    volume: NDArray[np.int64]
    """Base asset volume."""
    quote_volume: NDArray[np.int64]
    taker_buy_volume: NDArray[np.int64]
    """Base asset volume bought by takers."""
    taker_buy_quote_volume: NDArray[np.int64]
    count: NDArray[np.int64]
    """Number of trades."""

    def __post_init__(self) -> None:
        _same_length(self)

    def __len__(self) -> int:
        return len(self.open_time_us)


@dataclass(frozen=True, eq=False)
class BookTicker:
    """Best bid/ask snapshots; prices and quantities in 1e-8 units, time is transaction_time."""

    update_id: NDArray[np.int64]
    bid_price: NDArray[np.int64]
    bid_qty: NDArray[np.int64]
    ask_price: NDArray[np.int64]
    ask_qty: NDArray[np.int64]
    time_us: NDArray[np.int64]

    def __post_init__(self) -> None:
        _same_length(self)

    def __len__(self) -> int:
        return len(self.update_id)
