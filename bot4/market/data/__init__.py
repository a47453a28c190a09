"""Binance public historical market data (data.binance.vision, Spot) as exact columnar arrays."""

from bot4.market.data.readers import (
    detect_kind,
    read_any,
    read_book_ticker,
    read_klines,
    read_trades,
)
from bot4.market.data.records import SCALE, BookTicker, DataError, Kind, Klines, Trades

__all__ = [
    "SCALE",
    "BookTicker",
    "DataError",
    "Kind",
    "Klines",
    "Trades",
    "detect_kind",
    "read_any",
    "read_book_ticker",
    "read_klines",
    "read_trades",
]
