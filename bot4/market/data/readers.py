"""Readers for Binance public historical data files (data.binance.vision, Spot).

A file is a plain ``.csv`` or a ``.zip`` holding exactly one ``.csv``. Spot files have no header;
an optional header row is accepted (a first row whose first field is not an integer). Prices and
quantities are parsed from their text into int64 counts of 1e-8 without passing through float;
times in milliseconds (< 10**15) or microseconds (>= 10**15) are returned in microseconds.

``progress`` callbacks receive the bytes consumed since the previous call, every
``PROGRESS_EVERY`` lines and once at the end; for a zip the bytes are those of the uncompressed
CSV, so the calls sum to the file size (plain) or to the member's uncompressed size (zip).
Files are read as bytes line by line and each line decoded as ASCII, so byte counts are exact and
a non-ASCII line is reported with its line number. A missing file raises ``FileNotFoundError``.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from abc import ABC, abstractmethod
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from bot4.market.data.records import (
    INT64_MAX,
    SCALE,
    BookTicker,
    DataError,
    Kind,
    Klines,
    Trades,
    TradesKind,
)

Progress = Callable[[int], None]
PROGRESS_EVERY = 4096
"""Lines between two progress calls."""

US_THRESHOLD = 10**15
"""A time >= this is in microseconds, below it in milliseconds."""

KINDS: tuple[Kind, ...] = ("trades", "aggTrades", "klines", "bookTicker")
COLUMNS: dict[Kind, int] = {"trades": 7, "aggTrades": 8, "klines": 12, "bookTicker": 7}

# SYMBOL-kind-YYYY-MM[-DD]...; klines name their interval (1s, 1m, 3m, 1h, 1d, 1w, 1mo, 1M).
_NAME_RE = re.compile(
    r"^[A-Za-z0-9]+-(trades|aggTrades|bookTicker|[0-9]+(?:s|m|h|d|w|M|mo))-[0-9]{4}-[0-9]{2}"
)
_HEADER_FIELD_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]*$")
_BOM = b"\xef\xbb\xbf"
_SCALE_DIGITS = 8
_FRACTION_FACTOR = [10 ** (_SCALE_DIGITS - n) for n in range(_SCALE_DIGITS + 1)]
_MAX_WHOLE_DIGITS = len(str(INT64_MAX // SCALE))  # 11
_BOOLS = {"True": 1, "False": 0, "true": 1, "false": 0}


class _Bad(Exception):
    """A problem in one row; the scanner adds path and line to make a DataError."""


# --- fields ---------------------------------------------------------------------------------


def _units(text: str, name: str) -> int:
    """An unsigned decimal with at most 8 decimals as an exact count of 1e-8 ("1.5" -> 150000000).

    Lines are ASCII (checked when decoded), so ``str.isdigit`` accepts exactly 0-9.
    """
    whole, dot, frac = text.partition(".")
    if not whole.isdigit() or (dot and not frac.isdigit()):
        raise _Bad(f"{name} {text!r} is not an unsigned decimal")
    if len(frac) > _SCALE_DIGITS:
        raise _Bad(f"{name} {text!r} has more than {_SCALE_DIGITS} decimals")
    whole = whole.lstrip("0")
    if len(whole) > _MAX_WHOLE_DIGITS:
        raise _Bad(f"{name} {text!r} overflows int64 1e-8 units")
    value = int(whole or "0") * SCALE
    if frac:
        value += int(frac) * _FRACTION_FACTOR[len(frac)]
    if value > INT64_MAX:
        raise _Bad(f"{name} {text!r} overflows int64 1e-8 units")
    return value


def _decimal_syntax(text: str, name: str) -> None:
    """Check an unsigned decimal of any precision (a column the readers do not return)."""
    whole, dot, frac = text.partition(".")
    if not whole.isdigit() or (dot and not frac.isdigit()):
        raise _Bad(f"{name} {text!r} is not an unsigned decimal")


def _integer(text: str, name: str) -> int:
    """An unsigned integer that fits int64."""
    if not text.isdigit():
        raise _Bad(f"{name} {text!r} is not an unsigned integer")
    digits = text.lstrip("0")
    if len(digits) > len(str(INT64_MAX)) or int(digits or "0") > INT64_MAX:
        raise _Bad(f"{name} {text!r} overflows int64")
    return int(digits or "0")


def _time_us(text: str, name: str) -> int:
    """A time in ms (< 10**15) or us (>= 10**15), returned in us."""
    value = _integer(text, name)
    return value if value >= US_THRESHOLD else value * 1000


def _boolean(text: str, name: str) -> int:
    try:
        return _BOOLS[text]
    except KeyError:
        raise _Bad(f"{name} {text!r} is not True/False/true/false") from None


def _positive(value: int, text: str, name: str) -> int:
    if value == 0:
        raise _Bad(f"{name} {text!r} must be > 0")
    return value


def _int64(column: array[int]) -> NDArray[np.int64]:
    out = np.frombuffer(column, dtype=np.int64) if len(column) else np.zeros(0, np.int64)
    out.flags.writeable = False
    return out


def _bool(column: array[int]) -> NDArray[np.bool_]:
    out = np.frombuffer(column, dtype=np.bool_) if len(column) else np.zeros(0, np.bool_)
    out.flags.writeable = False
    return out


def _ints() -> array[int]:
    column = array("q")
    assert column.itemsize == 8
    return column


# --- builders: one row at a time into typed columns ---------------------------------------------

T = TypeVar("T", Trades, Klines, BookTicker)


class _Builder(ABC, Generic[T]):
    kind: Kind

    @abstractmethod
    def row(self, f: list[str]) -> None:
        """Parse, check and append one row (already split, with the right column count)."""

    @abstractmethod
    def build(self) -> T:
        """The record of every row appended."""


class _TradesBuilder(_Builder[Trades]):
    """id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch."""

    kind: Kind = "trades"

    def __init__(self) -> None:
        self.ids, self.prices, self.qtys, self.times = _ints(), _ints(), _ints(), _ints()
        self.makers = array("B")
        self.prev_id = -1
        self.prev_time = -1

    def row(self, f: list[str]) -> None:
        trade_id = _integer(f[0], "id")
        price = _positive(_units(f[1], "price"), f[1], "price")
        qty = _positive(_units(f[2], "qty"), f[2], "qty")
        _decimal_syntax(f[3], "quoteQty")
        time = _time_us(f[4], "time")
        maker = _boolean(f[5], "isBuyerMaker")
        _boolean(f[6], "isBestMatch")
        if trade_id <= self.prev_id:
            raise _Bad(f"id {trade_id} does not increase (previous {self.prev_id})")
        if time < self.prev_time:
            raise _Bad(f"time {time} us goes back (previous {self.prev_time} us)")
        self.prev_id, self.prev_time = trade_id, time
        self.ids.append(trade_id)
        self.prices.append(price)
        self.qtys.append(qty)
        self.times.append(time)
        self.makers.append(maker)

    def build(self) -> Trades:
        ids = _int64(self.ids)
        return Trades(
            trade_id=ids,
            price=_int64(self.prices),
            qty=_int64(self.qtys),
            time_us=_int64(self.times),
            is_buyer_maker=_bool(self.makers),
            first_id=ids,
            last_id=ids,
        )


class _AggTradesBuilder(_Builder[Trades]):
    """aggTradeId, price, quantity, firstTradeId, lastTradeId, time, isBuyerMaker, isBestMatch."""

    kind: Kind = "aggTrades"

    def __init__(self) -> None:
        self.ids, self.prices, self.qtys, self.times = _ints(), _ints(), _ints(), _ints()
        self.firsts, self.lasts = _ints(), _ints()
        self.makers = array("B")
        self.prev_id = -1
        self.prev_last = -1
        self.prev_time = -1

    def row(self, f: list[str]) -> None:
        agg_id = _integer(f[0], "aggTradeId")
        price = _positive(_units(f[1], "price"), f[1], "price")
        qty = _positive(_units(f[2], "quantity"), f[2], "quantity")
        first = _integer(f[3], "firstTradeId")
        last = _integer(f[4], "lastTradeId")
        time = _time_us(f[5], "time")
        maker = _boolean(f[6], "isBuyerMaker")
        _boolean(f[7], "isBestMatch")
        if agg_id <= self.prev_id:
            raise _Bad(f"aggTradeId {agg_id} does not increase (previous {self.prev_id})")
        if first > last:
            raise _Bad(f"firstTradeId {first} > lastTradeId {last}")
        if first <= self.prev_last:
            raise _Bad(f"firstTradeId {first} <= previous lastTradeId {self.prev_last}")
        if time < self.prev_time:
            raise _Bad(f"time {time} us goes back (previous {self.prev_time} us)")
        self.prev_id, self.prev_last, self.prev_time = agg_id, last, time
        self.ids.append(agg_id)
        self.prices.append(price)
        self.qtys.append(qty)
        self.firsts.append(first)
        self.lasts.append(last)
        self.times.append(time)
        self.makers.append(maker)

    def build(self) -> Trades:
        return Trades(
            trade_id=_int64(self.ids),
            price=_int64(self.prices),
            qty=_int64(self.qtys),
            time_us=_int64(self.times),
            is_buyer_maker=_bool(self.makers),
            first_id=_int64(self.firsts),
            last_id=_int64(self.lasts),
        )


_KLINE_COLUMNS = (
    "openTime",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "closeTime",
    "quoteVolume",
    "count",
    "takerBuyBaseVolume",
    "takerBuyQuoteVolume",
)


class _KlinesBuilder(_Builder[Klines]):
    """openTime, open, high, low, close, volume, closeTime, quoteVolume, count,
    takerBuyBaseVolume, takerBuyQuoteVolume, ignore (not checked)."""

    kind: Kind = "klines"

    def __init__(self) -> None:
        self.columns = [_ints() for _ in _KLINE_COLUMNS]
        self.prev_open = -1

    def row(self, f: list[str]) -> None:
        open_time = _time_us(f[0], "openTime")
        o = _positive(_units(f[1], "open"), f[1], "open")
        h = _positive(_units(f[2], "high"), f[2], "high")
        low = _positive(_units(f[3], "low"), f[3], "low")
        c = _positive(_units(f[4], "close"), f[4], "close")
        volume = _units(f[5], "volume")
        close_time = _time_us(f[6], "closeTime")
        quote_volume = _units(f[7], "quoteVolume")
        count = _integer(f[8], "count")
        taker_buy = _units(f[9], "takerBuyBaseVolume")
        taker_buy_quote = _units(f[10], "takerBuyQuoteVolume")
        if low > min(o, c) or max(o, c) > h:
            raise _Bad(f"not low {f[3]} <= open {f[1]}, close {f[4]} <= high {f[2]}")
        if close_time < open_time:
            raise _Bad(f"closeTime {close_time} us < openTime {open_time} us")
        if open_time <= self.prev_open:
            raise _Bad(f"openTime {open_time} us does not increase (previous {self.prev_open} us)")
        self.prev_open = open_time
        values = (
            open_time,
            o,
            h,
            low,
            c,
            volume,
            close_time,
            quote_volume,
            count,
            taker_buy,
            taker_buy_quote,
        )
        for column, value in zip(self.columns, values, strict=True):
            column.append(value)

    def build(self) -> Klines:
        c = [_int64(column) for column in self.columns]
        return Klines(
            open_time_us=c[0],
            open=c[1],
            high=c[2],
            low=c[3],
            close=c[4],
            volume=c[5],
            close_time_us=c[6],
            quote_volume=c[7],
            count=c[8],
            taker_buy_volume=c[9],
            taker_buy_quote_volume=c[10],
        )


class _BookTickerBuilder(_Builder[BookTicker]):
    """update_id, best_bid_price, best_bid_qty, best_ask_price, best_ask_qty, transaction_time,
    event_time (checked as a time, not returned). A crossed or locked book is accepted."""

    kind: Kind = "bookTicker"

    def __init__(self) -> None:
        self.ids, self.bid_px, self.bid_qty = _ints(), _ints(), _ints()
        self.ask_px, self.ask_qty, self.times = _ints(), _ints(), _ints()
        self.prev_id = -1
        self.prev_time = -1

    def row(self, f: list[str]) -> None:
        update_id = _integer(f[0], "update_id")
        bid_px = _positive(_units(f[1], "best_bid_price"), f[1], "best_bid_price")
        bid_qty = _units(f[2], "best_bid_qty")
        ask_px = _positive(_units(f[3], "best_ask_price"), f[3], "best_ask_price")
        ask_qty = _units(f[4], "best_ask_qty")
        time = _time_us(f[5], "transaction_time")
        _time_us(f[6], "event_time")
        if update_id <= self.prev_id:
            raise _Bad(f"update_id {update_id} does not increase (previous {self.prev_id})")
        if time < self.prev_time:
            raise _Bad(f"transaction_time {time} us goes back (previous {self.prev_time} us)")
        self.prev_id, self.prev_time = update_id, time
        self.ids.append(update_id)
        self.bid_px.append(bid_px)
        self.bid_qty.append(bid_qty)
        self.ask_px.append(ask_px)
        self.ask_qty.append(ask_qty)
        self.times.append(time)

    def build(self) -> BookTicker:
        return BookTicker(
            update_id=_int64(self.ids),
            bid_price=_int64(self.bid_px),
            bid_qty=_int64(self.bid_qty),
            ask_price=_int64(self.ask_px),
            ask_qty=_int64(self.ask_qty),
            time_us=_int64(self.times),
        )


# --- files ----------------------------------------------------------------------------------


@contextmanager
def _open(path: Path, label: str) -> Iterator[tuple[IO[bytes], str]]:
    """The CSV bytes of ``path`` (plain, or the one .csv in a zip) and the CSV's own name."""
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as e:
            raise DataError(label, 0, f"not a valid zip file ({e})") from None
        with archive:
            members = [
                m
                for m in archive.infolist()
                if not m.is_dir() and m.filename.lower().endswith(".csv")
            ]
            if len(members) != 1:
                raise DataError(label, 0, f"zip holds {len(members)} .csv files, expected 1")
            with archive.open(members[0]) as stream:
                try:
                    yield stream, Path(members[0].filename).name
                except (zipfile.BadZipFile, zlib.error) as e:
                    raise DataError(label, 0, f"corrupt zip file ({e})") from None
    else:
        with path.open("rb") as stream:
            yield stream, path.name


def _decode(raw: bytes, label: str, line: int) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise DataError(label, line, "line is not ASCII text") from None


def _kind_from_name(name: str) -> Kind | None:
    match = _NAME_RE.match(name)
    if match is None:
        return None
    word = match.group(1)
    for kind in KINDS:
        if word == kind:
            return kind
    return "klines"


def _kind_from_header(fields: list[str]) -> Kind | None:
    names = [f.strip().lower().replace("_", "").replace(" ", "") for f in fields]
    if "bestbidprice" in names:
        return "bookTicker"
    if "firsttradeid" in names or names[0] == "aggtradeid":
        return "aggTrades"
    if "opentime" in names:
        return "klines"
    if names[0] in ("id", "tradeid") or "quoteqty" in names:
        return "trades"
    return None


def _check_header(fields: list[str], label: str) -> Kind | None:
    """Check a first row that is not data is a header; its kind if recognised."""
    if not all(_HEADER_FIELD_RE.match(f) for f in fields):
        raise DataError(label, 1, f"first row is neither data nor a header: {','.join(fields)!r}")
    return _kind_from_header(fields)


def _sniff(path: Path, label: str) -> tuple[Kind | None, int]:
    """The kind the CSV's name or header gives (None if neither does) and the column count."""
    with _open(path, label) as (stream, member):
        for line, raw in enumerate(stream, 1):
            text = raw.rstrip(b"\r\n")
            if line == 1 and text.startswith(_BOM):
                text = text[len(_BOM) :]
            if text.strip():
                fields = _decode(text, label, line).split(",")
                break
        else:
            raise DataError(label, 0, "no data rows")
    kind = _kind_from_name(member)
    if kind is None and not fields[0].isdigit():
        kind = _check_header(fields, label)
    return kind, len(fields)


def _resolve(path: Path, label: str, allowed: tuple[Kind, ...]) -> Kind:
    """The kind of a file among ``allowed``: by file name, header, then column count."""
    kind = _kind_from_name(path.name)
    columns = None
    if kind is None:
        kind, columns = _sniff(path, label)
    if kind is not None:
        if kind not in allowed:
            raise DataError(label, 0, f"this is a {kind} file, not {' or '.join(allowed)}")
        return kind
    fits = [k for k in allowed if COLUMNS[k] == columns]
    if len(fits) == 1:
        return fits[0]
    if fits:
        raise DataError(
            label, 0, f"{columns} columns fit {' and '.join(fits)}: name the kind to read it"
        )
    raise DataError(label, 0, f"{columns} columns fit none of {', '.join(allowed)}")


def _scan(path: Path, label: str, builder: _Builder[T], progress: Progress | None) -> T:
    """Feed every data row of the file to ``builder``; DataError names the failing line."""
    expected = COLUMNS[builder.kind]
    with _open(path, label) as (stream, member):
        named = _kind_from_name(path.name) or _kind_from_name(member)
        if named is not None and named != builder.kind:
            raise DataError(label, 0, f"the file name says {named}, not {builder.kind}")
        pending = 0
        rows = 0
        blank_at = 0
        row = builder.row
        for line, raw in enumerate(stream, 1):
            pending += len(raw)
            if progress is not None and line % PROGRESS_EVERY == 0:
                progress(pending)
                pending = 0
            text = raw.rstrip(b"\r\n")
            if line == 1 and text.startswith(_BOM):
                text = text[len(_BOM) :]
            if not text.strip():
                blank_at = blank_at or line
                continue
            if blank_at:
                raise DataError(label, blank_at, "blank line before more rows")
            fields = _decode(text, label, line).split(",")
            if line == 1 and not fields[0].isdigit():
                header = _check_header(fields, label)
                if header is not None and header != builder.kind:
                    raise DataError(label, 1, f"a {header} header, expected {builder.kind}")
                if len(fields) != expected:
                    raise DataError(
                        label, 1, f"header has {len(fields)} columns, expected {expected}"
                    )
                continue
            if len(fields) != expected:
                raise DataError(
                    label, line, f"{len(fields)} columns, expected {expected} ({builder.kind})"
                )
            try:
                row(fields)
            except _Bad as e:
                raise DataError(label, line, str(e)) from None
            rows += 1
    if progress is not None and pending:
        progress(pending)
    if rows == 0:
        raise DataError(label, 0, "no data rows")
    return builder.build()


# --- public API -----------------------------------------------------------------------------


def detect_kind(path: str | Path) -> Kind:
    """The kind of a Binance file: from its name (``BTCUSDT-trades-2021-01-08.zip``,
    ``BTCUSDT-1m-2021-01-08.csv``...), else its header row, else its column count
    (8 -> aggTrades, 12 -> klines; 7 is trades or bookTicker -> DataError asking for the kind)."""
    return _resolve(Path(path), str(path), KINDS)


def read_trades(
    path: str | Path,
    *,
    kind: TradesKind | None = None,
    progress: Progress | None = None,
) -> Trades:
    """A trades or aggTrades file (``kind``, else detected; 7 columns -> trades, 8 -> aggTrades)."""
    p, label = Path(path), str(path)
    if kind is None:
        found = _resolve(p, label, ("trades", "aggTrades"))
        kind = "aggTrades" if found == "aggTrades" else "trades"
    if kind == "trades":
        return _scan(p, label, _TradesBuilder(), progress)
    if kind == "aggTrades":
        return _scan(p, label, _AggTradesBuilder(), progress)
    raise ValueError(f"kind must be 'trades' or 'aggTrades', not {kind!r}")


def read_klines(path: str | Path, *, progress: Progress | None = None) -> Klines:
    """A klines file of any interval."""
    return _scan(Path(path), str(path), _KlinesBuilder(), progress)


def read_book_ticker(path: str | Path, *, progress: Progress | None = None) -> BookTicker:
    """A bookTicker file."""
    return _scan(Path(path), str(path), _BookTickerBuilder(), progress)


def read_any(path: str | Path, *, progress: Progress | None = None) -> Trades | Klines | BookTicker:
    """Any supported file, its kind found by ``detect_kind``."""
    kind = detect_kind(path)
    if kind == "klines":
        return read_klines(path, progress=progress)
    if kind == "bookTicker":
        return read_book_ticker(path, progress=progress)
    return read_trades(path, kind=kind, progress=progress)


__all__ = [
    "detect_kind",
    "read_any",
    "read_book_ticker",
    "read_klines",
    "read_trades",
]
