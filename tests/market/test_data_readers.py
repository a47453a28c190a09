"""Readers of Binance public data files: exact values, every check with its line, kinds, zips."""

from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot4.market.data import (
    SCALE,
    BookTicker,
    DataError,
    Klines,
    Trades,
    detect_kind,
    read_any,
    read_book_ticker,
    read_klines,
    read_trades,
    readers,
)
from bot4.market.data.records import INT64_MAX
from tests.conftest import REAL_DATA

SAMPLES = REAL_DATA  # ../shared/data
TRADES_SAMPLE = SAMPLES / "BTCUSDT-trades-2021-01-08-sample.csv"
BOOK_SAMPLE = SAMPLES / "BTCUSDT-bookTicker-2021-01-08-sample.csv"

HEADERS = {
    "trades": "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match",
    "aggTrades": (
        "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,"
        "is_buyer_maker,is_best_match"
    ),
    "klines": (
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
        "taker_buy_volume,taker_buy_quote_volume,ignore"
    ),
    "bookTicker": (
        "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,"
        "transaction_time,event_time"
    ),
}

MS = 1610064000000  # 2021-01-08 00:00:00 UTC in ms
US = 1735689600000000  # 2025-01-01 00:00:00 UTC in us

# Three valid rows of each kind, times in ms; the us variant multiplies the times by 1000.
ROWS_MS = {
    "trades": [
        f"10,39432.48,0.000263,10.37074224,{MS + 278},True,True",
        f"11,39439.44000000,0.004376,172.58698944,{MS + 310},False,True",
        f"12,1,5,5,{MS + 310},true,false",
    ],
    "aggTrades": [
        f"100,39432.48,0.5,7,9,{MS},False,True",
        f"101,39432.49,1.25,10,10,{MS + 1},true,True",
        f"105,0.00000001,0.00000001,12,20,{MS + 1},false,True",
    ],
    "klines": [
        f"{MS},100.5,101,99.5,100,12.5,{MS + 59999},1250.75,42,6.25,625.375,0",
        f"{MS + 60000},100,100,100,100,0,{MS + 119999},0,0,0,0,0",
        f"{MS + 120000},100,102,99,101.99999999,1,{MS + 179999},100,1,0.5,50,0",
    ],
    "bookTicker": [
        f"1,39432.99,0.0031,39433.62,0.066851,{MS + 1076},{MS + 1077}",
        f"2,39433.62,0,39433.62,2,{MS + 1076},{MS + 1076}",
        f"5,39434,1,39433,0,{MS + 2000},{MS + 1999}",
    ],
}
TIME_COLUMNS = {"trades": (4,), "aggTrades": (5,), "klines": (0, 6), "bookTicker": (5, 6)}
NAMES = {
    "trades": "BTCUSDT-trades-2021-01-08",
    "aggTrades": "BTCUSDT-aggTrades-2021-01-08",
    "klines": "BTCUSDT-1m-2021-01-08",
    "bookTicker": "BTCUSDT-bookTicker-2021-01-08",
}


READERS: dict[str, Callable[[Path], Trades | Klines | BookTicker]] = {
    "trades": read_trades,
    "aggTrades": read_trades,
    "klines": read_klines,
    "bookTicker": read_book_ticker,
}


def to_us(rows: list[str], kind: str) -> list[str]:
    out = []
    for row in rows:
        fields = row.split(",")
        for i in TIME_COLUMNS[kind]:
            fields[i] = str(int(fields[i]) * 1000)
        out.append(",".join(fields))
    return out


def write(
    path: Path,
    rows: list[str],
    *,
    header: str | None = None,
    zipped: bool = False,
    eol: str = "\n",
) -> Path:
    """Write rows (plus an optional header) as ``path`` or, zipped, as ``path`` + .zip."""
    text = "".join(line + eol for line in ([header] if header else []) + rows)
    if not zipped:
        path.write_text(text, newline="")
        return path
    zpath = path.with_name(path.name + ".zip")
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.name, text)
    return zpath


def units(text: str) -> int:
    """The oracle: Decimal text times SCALE, exactly."""
    value = Decimal(text) * SCALE
    assert value == value.to_integral_value()
    return int(value)


def error_of(call: object, *args: object, **kwargs: object) -> DataError:
    assert callable(call)
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)
    return info.value


# --- the real samples -----------------------------------------------------------------------


# These read the real samples through the `real_data` fixture (tests/conftest.py): without
# them they FAIL, saying where the files are expected, unless BOT4_SKIP_REAL_DATA=1.
real_samples = pytest.mark.usefixtures("real_data")


@real_samples
def test_real_trades_sample_reads_exactly() -> None:
    """The real trades sample, first and last rows exact (fails without ../shared/data)."""
    trades = read_trades(TRADES_SAMPLE)
    assert isinstance(trades, Trades)
    assert len(trades) == 2001
    # 553287559,39432.48,0.00026300,10.37074224,1610064000278,True,True
    assert trades.trade_id[0] == 553287559
    assert trades.price[0] == 3943248000000
    assert trades.qty[0] == 26300
    assert trades.time_us[0] == 1610064000278000
    assert bool(trades.is_buyer_maker[0]) is True
    assert bool(trades.is_buyer_maker[1]) is False
    # 553289559,39491.76,0.01459600,576.42172896,1610064046355,True,True
    assert trades.trade_id[-1] == 553289559
    assert trades.price[-1] == 3949176000000
    assert trades.qty[-1] == 1459600
    assert trades.time_us[-1] == 1610064046355000
    assert np.array_equal(trades.trade_id, np.arange(553287559, 553289560))
    assert trades.first_id is trades.trade_id and trades.last_id is trades.trade_id
    for column in (trades.trade_id, trades.price, trades.qty, trades.time_us):
        assert column.dtype == np.int64
    assert trades.is_buyer_maker.dtype == np.bool_
    assert np.all(np.diff(trades.time_us) >= 0)


@real_samples
def test_real_trades_sample_matches_its_text_exactly() -> None:
    """Every real trade equals its line of text (fails without ../shared/data)."""
    trades = read_trades(TRADES_SAMPLE)
    lines = TRADES_SAMPLE.read_text().splitlines()
    expected_price = [units(line.split(",")[1]) for line in lines]
    expected_qty = [units(line.split(",")[2]) for line in lines]
    assert trades.price.tolist() == expected_price
    assert trades.qty.tolist() == expected_qty


@real_samples
def test_real_book_ticker_sample_reads_exactly() -> None:
    """The real bookTicker sample, exact (fails without ../shared/data)."""
    book = read_any(BOOK_SAMPLE)
    assert isinstance(book, BookTicker)
    assert len(book) == 451
    # 1,39432.99,0.00310000,39433.62,0.06685100,1610064001076,1610064001076
    assert book.update_id[0] == 1
    assert book.bid_price[0] == 3943299000000
    assert book.bid_qty[0] == 310000
    assert book.ask_price[0] == 3943362000000
    assert book.ask_qty[0] == 6685100
    assert book.time_us[0] == 1610064001076000
    # 451,39490.97,0.13146700,39490.98,0.88498400,1610064046674,1610064046674
    assert book.update_id[-1] == 451
    assert book.bid_price[-1] == 3949097000000
    assert book.bid_qty[-1] == 13146700
    assert book.ask_price[-1] == 3949098000000
    assert book.ask_qty[-1] == 88498400
    assert book.time_us[-1] == 1610064046674000


@real_samples
def test_real_samples_kinds_and_progress() -> None:
    """Kinds and progress on the real samples (fails without ../shared/data)."""
    assert detect_kind(TRADES_SAMPLE) == "trades"
    assert detect_kind(str(BOOK_SAMPLE)) == "bookTicker"
    calls: list[int] = []
    assert len(read_any(TRADES_SAMPLE, progress=calls.append)) == 2001
    assert sum(calls) == TRADES_SAMPLE.stat().st_size
    calls.clear()
    read_book_ticker(BOOK_SAMPLE, progress=calls.append)
    assert sum(calls) == BOOK_SAMPLE.stat().st_size


# --- synthetic files of every kind ----------------------------------------------------------


def check_values(record: Trades | Klines | BookTicker, kind: str, rows: list[str]) -> None:
    """Every returned column against the row text (times via the ms/us rule)."""
    f = [row.split(",") for row in rows]

    def col(i: int) -> list[int]:
        return [units(r[i]) for r in f]

    def ints(i: int) -> list[int]:
        return [int(r[i]) for r in f]

    def times(i: int) -> list[int]:
        return [t if t >= 10**15 else t * 1000 for t in ints(i)]

    def bools(i: int) -> list[bool]:
        return [r[i].lower() == "true" for r in f]

    if kind == "trades":
        assert isinstance(record, Trades)
        assert record.trade_id.tolist() == ints(0)
        assert record.first_id.tolist() == ints(0) == record.last_id.tolist()
        assert record.price.tolist() == col(1)
        assert record.qty.tolist() == col(2)
        assert record.time_us.tolist() == times(4)
        assert record.is_buyer_maker.tolist() == bools(5)
    elif kind == "aggTrades":
        assert isinstance(record, Trades)
        assert record.trade_id.tolist() == ints(0)
        assert record.price.tolist() == col(1)
        assert record.qty.tolist() == col(2)
        assert record.first_id.tolist() == ints(3)
        assert record.last_id.tolist() == ints(4)
        assert record.time_us.tolist() == times(5)
        assert record.is_buyer_maker.tolist() == bools(6)
    elif kind == "klines":
        assert isinstance(record, Klines)
        assert record.open_time_us.tolist() == times(0)
        assert record.open.tolist() == col(1)
        assert record.high.tolist() == col(2)
        assert record.low.tolist() == col(3)
        assert record.close.tolist() == col(4)
        assert record.volume.tolist() == col(5)
        assert record.close_time_us.tolist() == times(6)
        assert record.quote_volume.tolist() == col(7)
        assert record.count.tolist() == ints(8)
        assert record.taker_buy_volume.tolist() == col(9)
        assert record.taker_buy_quote_volume.tolist() == col(10)
    else:
        assert isinstance(record, BookTicker)
        assert record.update_id.tolist() == ints(0)
        assert record.bid_price.tolist() == col(1)
        assert record.bid_qty.tolist() == col(2)
        assert record.ask_price.tolist() == col(3)
        assert record.ask_qty.tolist() == col(4)
        assert record.time_us.tolist() == times(5)
    assert len(record) == len(rows)


@pytest.mark.parametrize("kind", list(ROWS_MS))
@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize("zipped", [False, True])
@pytest.mark.parametrize("unit", ["ms", "us"])
def test_every_kind_reads_plain_zipped_with_or_without_header(
    tmp_path: Path, kind: str, header: bool, zipped: bool, unit: str
) -> None:
    rows = ROWS_MS[kind] if unit == "ms" else to_us(ROWS_MS[kind], kind)
    path = write(
        tmp_path / f"{NAMES[kind]}.csv",
        rows,
        header=HEADERS[kind] if header else None,
        zipped=zipped,
    )
    record = read_any(path)
    check_values(record, kind, rows)
    if kind in ("trades", "aggTrades"):
        check_values(read_trades(path), kind, rows)
    # The same times whatever the unit of the file.
    first_time = record.open_time_us[0] if isinstance(record, Klines) else record.time_us[0]
    assert first_time == int(ROWS_MS[kind][0].split(",")[TIME_COLUMNS[kind][0]]) * 1000


@pytest.mark.parametrize("kind", list(ROWS_MS))
def test_anonymous_files_with_header_are_read_by_the_right_reader(
    tmp_path: Path, kind: str
) -> None:
    path = write(tmp_path / "data.csv", ROWS_MS[kind], header=HEADERS[kind])
    assert detect_kind(path) == kind
    check_values(read_any(path), kind, ROWS_MS[kind])
    reader = READERS[kind]
    check_values(reader(path), kind, ROWS_MS[kind])


def test_read_trades_tells_trades_from_agg_trades_by_column_count(tmp_path: Path) -> None:
    trades = write(tmp_path / "a.csv", ROWS_MS["trades"])
    agg = write(tmp_path / "b.csv", ROWS_MS["aggTrades"])
    check_values(read_trades(trades), "trades", ROWS_MS["trades"])
    check_values(read_trades(agg), "aggTrades", ROWS_MS["aggTrades"])
    check_values(read_trades(trades, kind="trades"), "trades", ROWS_MS["trades"])
    check_values(read_trades(agg, kind="aggTrades"), "aggTrades", ROWS_MS["aggTrades"])
    # A nameless 7-column file is trades for read_trades, a bookTicker for read_book_ticker.
    book = write(tmp_path / "c.csv", ROWS_MS["bookTicker"])
    check_values(read_book_ticker(book), "bookTicker", ROWS_MS["bookTicker"])


def test_mixed_units_crlf_bom_and_trailing_blank_lines(tmp_path: Path) -> None:
    rows = [
        f"1,10,1,10,{MS},True,True",
        f"2,10,1,10,{(MS + 1) * 1000},True,True",  # us
        f"3,10,1,10,{MS + 1},True,True",  # ms again, same instant
        f"4,10,1,10,{(MS + 1) * 1000 + 1},True,True",
    ]
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(r + "\r\n" for r in rows).encode() + b"\r\n\n  \n")
    trades = read_trades(path)
    assert trades.time_us.tolist() == [
        MS * 1000,
        (MS + 1) * 1000,
        (MS + 1) * 1000,
        (MS + 1) * 1000 + 1,
    ]
    calls: list[int] = []
    read_trades(path, progress=calls.append)
    assert sum(calls) == path.stat().st_size


def test_us_boundary_is_ten_to_the_fifteen(tmp_path: Path) -> None:
    rows = [f"1,1,1,1,{10**15 - 1},True,True", f"2,1,1,1,{10**18},True,True"]
    trades = read_trades(write(tmp_path / "t.csv", rows))
    assert trades.time_us.tolist() == [(10**15 - 1) * 1000, 10**18]


def test_arrays_are_read_only(tmp_path: Path) -> None:
    trades = read_trades(write(tmp_path / "t.csv", ROWS_MS["trades"]))
    with pytest.raises(ValueError):
        trades.price[0] = 1
    with pytest.raises(ValueError):
        trades.is_buyer_maker[0] = False


# --- progress -------------------------------------------------------------------------------


def many_trades(n: int) -> list[str]:
    return [f"{i},{100 + i % 7}.25,0.{i % 9 + 1},1,{MS + i},{i % 2 == 0},True" for i in range(n)]


def test_progress_plain_sums_to_file_size_in_several_calls(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", many_trades(10000))
    calls: list[int] = []
    trades = read_trades(path, progress=calls.append)
    assert len(trades) == 10000
    assert len(calls) == 3  # after lines 4096 and 8192, and at the end
    assert all(c > 0 for c in calls)
    assert sum(calls) == path.stat().st_size


def test_progress_zip_sums_to_uncompressed_size(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", many_trades(10000), zipped=True)
    with zipfile.ZipFile(path) as archive:
        uncompressed = archive.infolist()[0].file_size
    assert uncompressed != path.stat().st_size
    calls: list[int] = []
    read_trades(path, progress=calls.append)
    assert sum(calls) == uncompressed


def test_progress_exact_multiple_of_the_period_makes_no_empty_call(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", many_trades(readers.PROGRESS_EVERY))
    calls: list[int] = []
    read_trades(path, progress=calls.append)
    assert calls == [path.stat().st_size]


# --- validation: every failure names the file and the 1-based physical line ---------------------

T = "trades"
A = "aggTrades"
K = "klines"
B = "bookTicker"
TR = "1,10,1,10,1610064000000,True,True"
AG = "1,10,1,1,1,1610064000000,True,True"
KL = "1610064000000,10,11,9,10,1,1610064059999,10,1,0.5,5,0"
BT = "1,10,1,11,1,1610064000000,1610064000000"


def replace(row: str, i: int, value: str) -> str:
    fields = row.split(",")
    fields[i] = value
    return ",".join(fields)


BAD_ROWS: list[tuple[str, list[str], int, str]] = [
    # column counts
    (T, [TR, TR + ",x"], 2, "8 columns, expected 7 (trades)"),
    (A, [AG, "1,2"], 2, "2 columns, expected 8 (aggTrades)"),
    (K, [KL[:-2]], 1, "11 columns, expected 12 (klines)"),
    # decimals
    (T, [replace(TR, 1, "-1")], 1, "price '-1' is not an unsigned decimal"),
    (T, [replace(TR, 1, "+1")], 1, "price '+1' is not an unsigned decimal"),
    (T, [replace(TR, 1, "1e5")], 1, "price '1e5' is not an unsigned decimal"),
    (T, [replace(TR, 1, "")], 1, "price '' is not an unsigned decimal"),
    (T, [replace(TR, 1, ".5")], 1, "price '.5' is not an unsigned decimal"),
    (T, [replace(TR, 1, "5.")], 1, "price '5.' is not an unsigned decimal"),
    (T, [replace(TR, 1, "1.2.3")], 1, "price '1.2.3' is not an unsigned decimal"),
    (T, [replace(TR, 1, " 1")], 1, "price ' 1' is not an unsigned decimal"),
    (T, [replace(TR, 1, "1_000")], 1, "price '1_000' is not an unsigned decimal"),
    (T, [replace(TR, 1, "nan")], 1, "price 'nan' is not an unsigned decimal"),
    (T, [TR, replace(TR, 2, "0.000000001")], 2, "qty '0.000000001' has more than 8 decimals"),
    (T, [replace(TR, 3, "1,5")], 1, "8 columns, expected 7 (trades)"),
    (T, [replace(TR, 3, "x")], 1, "quoteQty 'x' is not an unsigned decimal"),
    (B, [replace(BT, 1, "92233720368.54775808")], 1, "overflows int64 1e-8 units"),
    (B, [replace(BT, 1, "100000000000")], 1, "overflows int64 1e-8 units"),
    # integers and booleans
    (T, [TR, replace(TR, 0, "2.0")], 2, "id '2.0' is not an unsigned integer"),
    (T, [TR, replace(TR, 0, "-2")], 2, "id '-2' is not an unsigned integer"),
    (A, [replace(AG, 3, "x")], 1, "firstTradeId 'x' is not an unsigned integer"),
    (A, [replace(AG, 0, "9223372036854775808")], 1, "overflows int64"),
    (T, [replace(TR, 4, "")], 1, "time '' is not an unsigned integer"),
    (T, [replace(TR, 5, "1")], 1, "isBuyerMaker '1' is not True/False/true/false"),
    (T, [replace(TR, 6, "TRUE")], 1, "isBestMatch 'TRUE' is not True/False/true/false"),
    (A, [replace(AG, 7, "yes")], 1, "isBestMatch 'yes' is not True/False/true/false"),
    (K, [replace(KL, 8, "1.5")], 1, "count '1.5' is not an unsigned integer"),
    (B, [replace(BT, 6, "x")], 1, "event_time 'x' is not an unsigned integer"),
    # positivity
    (T, [TR, TR.replace("1,10,1,", "2,0,1,")], 2, "price '0' must be > 0"),
    (T, [replace(TR, 2, "0.00000000")], 1, "qty '0.00000000' must be > 0"),
    (A, [replace(AG, 2, "0")], 1, "quantity '0' must be > 0"),
    (K, [replace(KL, 3, "0")], 1, "low '0' must be > 0"),
    (B, [replace(BT, 1, "0")], 1, "best_bid_price '0' must be > 0"),
    (B, [replace(BT, 3, "0.0")], 1, "best_ask_price '0.0' must be > 0"),
    (B, [replace(BT, 2, "-1")], 1, "best_bid_qty '-1' is not an unsigned decimal"),
    # ids and times
    (T, [TR, TR], 2, "id 1 does not increase (previous 1)"),
    (T, [TR, replace(TR, 0, "2"), replace(TR, 0, "0")], 3, "id 0 does not increase (previous 2)"),
    (
        T,
        [TR, replace(replace(TR, 0, "2"), 4, "1610063999999")],
        2,
        "time 1610063999999000 us goes back (previous 1610064000000000 us)",
    ),
    (A, [AG, AG], 2, "aggTradeId 1 does not increase (previous 1)"),
    (A, [replace(replace(AG, 3, "5"), 4, "4")], 1, "firstTradeId 5 > lastTradeId 4"),
    (
        A,
        [replace(AG, 4, "3"), replace(replace(replace(AG, 0, "2"), 3, "3"), 4, "3")],
        2,
        "firstTradeId 3 <= previous lastTradeId 3",
    ),
    (
        A,
        [AG, replace(replace(replace(replace(AG, 0, "2"), 3, "2"), 4, "2"), 5, "1")],
        2,
        "time 1000 us goes back (previous 1610064000000000 us)",
    ),
    (B, [BT, BT], 2, "update_id 1 does not increase (previous 1)"),
    (
        B,
        [BT, replace(replace(BT, 0, "2"), 5, "1610063999999999")],
        2,
        "transaction_time 1610063999999999 us goes back (previous 1610064000000000 us)",
    ),
    # klines shape
    (K, [replace(KL, 3, "10.5")], 1, "not low 10.5 <= open 10, close 10 <= high 11"),
    (K, [replace(KL, 4, "11.00000001")], 1, "not low 9 <= open 10, close 11.00000001 <= high 11"),
    (K, [replace(KL, 1, "8")], 1, "not low 9 <= open 8, close 10 <= high 11"),
    (
        K,
        [replace(KL, 6, "1610063999999")],
        1,
        "closeTime 1610063999999000 us < openTime 1610064000000000 us",
    ),
    (
        K,
        [KL, KL],
        2,
        "openTime 1610064000000000 us does not increase (previous 1610064000000000 us)",
    ),
    # lines and text
    (T, [TR, "", replace(TR, 0, "2")], 2, "blank line before more rows"),
    (T, ["", TR], 1, "blank line before more rows"),
    (T, [TR, replace(TR, 5, "Trüe")], 2, "line is not ASCII text"),
    (T, [TR, "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match"], 2, "id 'id' is not"),
    (T, ["1x,10,1,10,1,True,True"], 1, "first row is neither data nor a header: '1x,10,1"),
    (T, [",10,1,10,1,True,True"], 1, "first row is neither data nor a header"),
    (T, [HEADERS["trades"] + ",extra"], 1, "header has 8 columns, expected 7"),
    (T, [HEADERS["bookTicker"], TR], 1, "a bookTicker header, expected trades"),
    (K, [HEADERS["klines"]], 0, "no data rows"),
    (T, [], 0, "no data rows"),
    (B, ["", "  "], 0, "no data rows"),
]


@pytest.mark.parametrize(("kind", "rows", "line", "message"), BAD_ROWS)
@pytest.mark.parametrize("zipped", [False, True])
def test_every_bad_row_is_a_data_error_naming_its_line(
    tmp_path: Path, kind: str, rows: list[str], line: int, message: str, zipped: bool
) -> None:
    path = write(tmp_path / f"{NAMES[kind]}.csv", rows, zipped=zipped)
    reader = READERS[kind]
    e = error_of(reader, path)
    assert (e.path, e.line) == (str(path), line)
    assert message in e.message
    assert str(e) == f"{path}:{line}: {e.message}"
    assert isinstance(e, ValueError)


def test_an_error_message_is_path_line_message(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", [TR, replace(TR, 0, "0")])
    e = error_of(read_trades, str(path), kind="trades")
    assert str(e) == f"{path}:2: id 0 does not increase (previous 1)"
    copy = pickle.loads(pickle.dumps(e))
    assert isinstance(copy, DataError)
    assert (copy.path, copy.line, copy.message, str(copy)) == (e.path, 2, e.message, str(e))


def test_crossed_and_locked_books_are_accepted(tmp_path: Path) -> None:
    rows = ["1,10,1,10,1,1,1", "2,11,0,10,0,1,1"]  # locked, then crossed with zero sizes
    book = read_book_ticker(write(tmp_path / "b.csv", rows))
    assert book.bid_price.tolist() == [10 * SCALE, 11 * SCALE]
    assert book.ask_qty.tolist() == [SCALE, 0]
    assert book.time_us.tolist() == [1000, 1000]


def test_largest_values_fit_and_leading_zeros_are_fine(tmp_path: Path) -> None:
    rows = [f"{INT64_MAX},92233720368.54775807,0000000000001.5,1,0,{INT64_MAX},1"]
    book = read_book_ticker(write(tmp_path / "b.csv", rows))
    assert book.update_id[0] == INT64_MAX
    assert book.bid_price[0] == INT64_MAX
    assert book.bid_qty[0] == 150000000
    assert book.time_us[0] == INT64_MAX
    huge = "0" * 5000 + "1"
    book = read_book_ticker(write(tmp_path / "c.csv", [f"{huge},{huge}.5,1,1,1,1,1"]))
    assert (book.update_id[0], book.bid_price[0]) == (1, 150000000)
    e = error_of(read_book_ticker, write(tmp_path / "d.csv", [f"1,{'9' * 5000},1,1,1,1,1"]))
    assert e.line == 1 and "overflows int64" in e.message
    e = error_of(read_book_ticker, write(tmp_path / "e.csv", [f"{'9' * 5000},1,1,1,1,1,1"]))
    assert e.line == 1 and "overflows int64" in e.message


# --- files, zips and kinds ------------------------------------------------------------------


def test_zip_problems_are_whole_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "BTCUSDT-trades-2021-01-08.zip"
    bad.write_bytes(b"this is no zip")
    e = error_of(read_trades, bad)
    assert e.line == 0 and e.message.startswith("not a valid zip file")

    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("README.txt", "no csv here")
    assert error_of(read_trades, empty, kind="trades").message == (
        "zip holds 0 .csv files, expected 1"
    )
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.writestr("a.csv", TR + "\n")
        archive.writestr("b.csv", TR + "\n")
    e = error_of(read_trades, two, kind="trades")
    assert (e.line, e.message) == (0, "zip holds 2 .csv files, expected 1")


def test_zip_with_a_directory_and_other_files_reads_its_one_csv(tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("dir/", "")
        archive.writestr("dir/BTCUSDT-aggTrades-2021-01-08.CSV", "\n".join(ROWS_MS[A]) + "\n")
        archive.writestr("dir/BTCUSDT-aggTrades-2021-01-08.CHECKSUM", "abc")
    assert detect_kind(path) == "aggTrades"  # from the name of the CSV inside
    check_values(read_any(path), A, ROWS_MS[A])


def test_a_zip_without_the_zip_suffix_is_still_a_zip(tmp_path: Path) -> None:
    zpath = write(tmp_path / "t.csv", ROWS_MS[T], zipped=True)
    renamed = zpath.rename(tmp_path / "data.bin")
    check_values(read_trades(renamed), T, ROWS_MS[T])


def test_a_corrupt_zip_member_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("t.csv", "".join(r + "\n" for r in ROWS_MS[T]))
    data = bytearray(path.read_bytes())
    at = data.index(b"39432.48")
    data[at] = ord("4")  # same length, different CRC
    path.write_bytes(bytes(data))
    e = error_of(read_trades, path)
    assert e.line == 0 and e.message.startswith("corrupt zip file")


def test_a_corrupt_deflate_stream_is_a_data_error(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", many_trades(2000), zipped=True)
    data = bytearray(path.read_bytes())
    for at in range(60, 400):
        data[at] ^= 0x55
    path.write_bytes(bytes(data))
    e = error_of(read_trades, path, kind="trades")
    assert e.line == 0 and e.message.startswith("corrupt zip file")


def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_trades(tmp_path / "BTCUSDT-trades-2021-01-08.csv")
    with pytest.raises(FileNotFoundError):
        read_klines(tmp_path / "none.csv")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("BTCUSDT-trades-2021-01-08.csv", "trades"),
        ("BTCUSDT-trades-2021-01.zip", "trades"),
        ("BTCUSDT-trades-2021-01-08-sample.csv", "trades"),
        ("ETHBTC-aggTrades-2024-12-31.zip", "aggTrades"),
        ("BTCUSDT-bookTicker-2023-05-01.csv", "bookTicker"),
        ("BTCUSDT-1s-2025-01-01.zip", "klines"),
        ("BTCUSDT-1m-2021-01-08.csv", "klines"),
        ("BTCUSDT-3m-2021-01-08.csv", "klines"),
        ("BTCUSDT-15m-2021-01-08.csv", "klines"),
        ("BTCUSDT-1h-2021-01-08.csv", "klines"),
        ("BTCUSDT-12h-2021-01-08.csv", "klines"),
        ("BTCUSDT-1d-2021-01-08.csv", "klines"),
        ("BTCUSDT-1w-2021-01.zip", "klines"),
        ("BTCUSDT-1mo-2021-01.zip", "klines"),
        ("BTCUSDT-1M-2021-01.zip", "klines"),
    ],
)
def test_detect_kind_by_name_reads_nothing(tmp_path: Path, name: str, kind: str) -> None:
    assert detect_kind(tmp_path / name) == kind  # the file does not even exist


@pytest.mark.parametrize("kind", list(HEADERS))
def test_detect_kind_by_header(tmp_path: Path, kind: str) -> None:
    assert detect_kind(write(tmp_path / "x.csv", ROWS_MS[kind], header=HEADERS[kind])) == kind
    camel = {
        "trades": "tradeId,price,qty,quoteQty,time,isBuyerMaker,isBestMatch",
        "aggTrades": "aggTradeId,price,quantity,firstTradeId,lastTradeId,time,m,M",
        "klines": "Open time,Open,High,Low,Close,Volume,Close time,a,b,c,d,Ignore",
        "bookTicker": "updateId,bestBidPrice,a,b,c,d,e",
    }[kind]
    assert detect_kind(write(tmp_path / "y.csv", ROWS_MS[kind], header=camel)) == kind


def test_detect_kind_by_column_count(tmp_path: Path) -> None:
    assert detect_kind(write(tmp_path / "a.csv", ROWS_MS[A])) == "aggTrades"
    assert detect_kind(write(tmp_path / "k.csv", ROWS_MS[K], zipped=True)) == "klines"
    # An unknown header falls back to the column count.
    odd = "a,b,c,d,e,f,g,h,i,j,k,l"
    assert detect_kind(write(tmp_path / "h.csv", ROWS_MS[K], header=odd)) == "klines"
    seven = write(tmp_path / "t.csv", ROWS_MS[T])
    e = error_of(detect_kind, seven)
    assert (e.line, e.message) == (
        0,
        "7 columns fit trades and bookTicker: name the kind to read it",
    )
    e = error_of(read_any, seven)
    assert e.line == 0
    five = write(tmp_path / "f.csv", ["1,2,3,4,5"])
    e = error_of(detect_kind, five)
    assert (e.line, e.message) == (0, "5 columns fit none of trades, aggTrades, klines, bookTicker")
    e = error_of(read_trades, five)
    assert (e.line, e.message) == (0, "5 columns fit none of trades, aggTrades")
    e = error_of(read_trades, write(tmp_path / "k2.csv", ROWS_MS[K]))
    assert e.message == "12 columns fit none of trades, aggTrades"


def test_detect_kind_of_empty_or_odd_files(tmp_path: Path) -> None:
    empty = tmp_path / "e.csv"
    empty.write_text("")
    assert (error_of(detect_kind, empty).line, error_of(detect_kind, empty).message) == (
        0,
        "no data rows",
    )
    blank = tmp_path / "b.csv"
    blank.write_text("\n\n")
    assert error_of(read_any, blank).message == "no data rows"
    e = error_of(detect_kind, write(tmp_path / "n.csv", ["x-y,1,2"]))
    assert (e.line, e.message.split(":")[0]) == (1, "first row is neither data nor a header")
    e = error_of(detect_kind, write(tmp_path / "u.csv", ["caf\u00e9,1"]))
    assert (e.line, e.message) == (1, "line is not ASCII text")
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (HEADERS[B] + "\n" + BT + "\n").encode())
    assert detect_kind(bom) == "bookTicker"
    check_values(read_book_ticker(bom), B, [BT])


def test_the_kind_a_name_or_header_gives_must_match_the_reader(tmp_path: Path) -> None:
    klines = write(tmp_path / f"{NAMES[K]}.csv", ROWS_MS[K])
    e = error_of(read_trades, klines)
    assert (e.line, e.message) == (0, "this is a klines file, not trades or aggTrades")
    e = error_of(read_book_ticker, write(tmp_path / f"{NAMES[T]}.csv", ROWS_MS[T]))
    assert (e.line, e.message) == (0, "the file name says trades, not bookTicker")
    e = error_of(read_trades, write(tmp_path / f"{NAMES[A]}.csv", ROWS_MS[A]), kind="trades")
    assert (e.line, e.message) == (0, "the file name says aggTrades, not trades")
    headed = write(tmp_path / "h.csv", ROWS_MS[B], header=HEADERS[B])
    e = error_of(read_trades, headed)
    assert (e.line, e.message) == (0, "this is a bookTicker file, not trades or aggTrades")
    e = error_of(read_trades, headed, kind="trades")
    assert (e.line, e.message) == (1, "a bookTicker header, expected trades")


def test_read_trades_refuses_an_unknown_kind(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", ROWS_MS[T])
    with pytest.raises(ValueError, match="kind must be 'trades' or 'aggTrades'"):
        read_trades(path, kind="klines")  # type: ignore[arg-type]


# --- records --------------------------------------------------------------------------------


def test_trades_select_by_mask_slice_and_indices(tmp_path: Path) -> None:
    agg = read_trades(write(tmp_path / "a.csv", ROWS_MS[A]))
    mask = agg.time_us > MS * 1000
    later = agg.select(mask)
    assert isinstance(later, Trades)
    assert later.trade_id.tolist() == [101, 105]
    assert later.first_id.tolist() == [10, 12]
    assert later.last_id.tolist() == [10, 20]
    assert later.price.tolist() == [units("39432.49"), 1]
    assert later.qty.tolist() == [units("1.25"), 1]
    assert later.is_buyer_maker.tolist() == [True, False]
    held_out = agg.select(~mask)
    assert len(held_out) + len(later) == len(agg)
    assert held_out.trade_id.tolist() == [100]
    head = agg.select(slice(0, 2))
    assert head.trade_id.tolist() == [100, 101]
    picked = agg.select(np.array([2, 0]))
    assert picked.trade_id.tolist() == [105, 100]
    assert picked.time_us.tolist() == [(MS + 1) * 1000, MS * 1000]
    for part in (later, head, picked):
        assert not part.price.flags.writeable
    assert len(agg.select(np.zeros(3, dtype=np.bool_))) == 0
    assert len(agg) == 3  # unchanged


def test_records_refuse_columns_of_different_lengths() -> None:
    ids = np.arange(3, dtype=np.int64)
    with pytest.raises(ValueError, match=re.escape("Trades columns differ in length: [2, 3]")):
        Trades(ids, ids, ids, ids[:2], np.zeros(3, np.bool_), ids, ids)
    with pytest.raises(ValueError, match="Klines columns differ"):
        Klines(ids, ids, ids, ids, ids, ids, ids, ids, ids, ids, ids[:1])
    with pytest.raises(ValueError, match="BookTicker columns differ"):
        BookTicker(ids, ids, ids, ids, ids, ids[1:])
    book = BookTicker(ids, ids, ids, ids, ids, ids)
    assert len(book) == 3


# --- properties -----------------------------------------------------------------------------


@st.composite
def decimal_texts(draw: st.DrawFn) -> tuple[str, int]:
    """A valid decimal text for a random int64 count of 1e-8, with random padding."""
    decimals = draw(st.integers(0, 8))
    step = 10 ** (8 - decimals)
    value = draw(st.integers(0, INT64_MAX // step)) * step
    whole, frac = divmod(value, SCALE)
    text = "0" * draw(st.integers(0, 3)) + str(whole)
    if decimals:
        text += "." + f"{frac:08d}"[:decimals]
    return text, value


@given(decimal_texts())
def test_valid_decimal_texts_parse_to_their_exact_units(case: tuple[str, int]) -> None:
    text, value = case
    assert readers._units(text, "price") == value
    assert Decimal(text) * SCALE == value


@given(st.text(alphabet="0123456789.-+eE _", max_size=24))
def test_any_text_parses_exactly_or_is_refused(text: str) -> None:
    legal = re.fullmatch(r"[0-9]+(\.[0-9]{1,8})?", text) is not None
    if legal and Decimal(text) * SCALE <= INT64_MAX:
        assert readers._units(text, "qty") == Decimal(text) * SCALE
    else:
        with pytest.raises(readers._Bad, match=r"^qty '"):
            readers._units(text, "qty")


def format_units(value: int, decimals: int) -> str:
    whole, frac = divmod(value, SCALE)
    digits = f"{frac:08d}"
    kept = max(decimals, len(digits.rstrip("0")))
    return f"{whole}.{digits[:kept]}" if kept else str(whole)


trade_rows = st.lists(
    st.tuples(
        st.integers(1, 10**6),  # id gap
        st.integers(1, 10**16),  # price units
        st.integers(1, 10**14),  # qty units
        st.integers(0, 10**6),  # time step in us
        st.booleans(),  # buyer is maker
        st.booleans(),  # write the time in ms when it is whole ms
        st.integers(0, 8),  # decimals at least
    ),
    min_size=1,
    max_size=30,
)


@given(rows=trade_rows, header=st.booleans(), zipped=st.booleans())
def test_random_aggregate_trades_round_trip(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[int, int, int, int, bool, bool, int]],
    header: bool,
    zipped: bool,
) -> None:
    trade_id, last, time = 0, 0, US
    expected: dict[str, list[int]] = {k: [] for k in ("id", "p", "q", "t", "m", "f", "l")}
    lines = []
    for gap, price, qty, step, maker, in_ms, decimals in rows:
        trade_id += gap
        first, last = last + 1, last + gap
        time += step
        written = str(time // 1000) if in_ms and time % 1000 == 0 else str(time)
        lines.append(
            f"{trade_id},{format_units(price, decimals)},{format_units(qty, decimals)},"
            f"{first},{last},{written},{maker},True"
        )
        values = (trade_id, price, qty, time, maker, first, last)
        for key, value in zip(expected, values, strict=True):
            expected[key].append(int(value))
    folder = tmp_path_factory.mktemp("agg")
    path = write(folder / "x.csv", lines, header=HEADERS[A] if header else None, zipped=zipped)
    trades = read_trades(path)
    assert trades.trade_id.tolist() == expected["id"]
    assert trades.price.tolist() == expected["p"]
    assert trades.qty.tolist() == expected["q"]
    assert trades.time_us.tolist() == expected["t"]
    assert trades.is_buyer_maker.astype(int).tolist() == expected["m"]
    assert trades.first_id.tolist() == expected["f"]
    assert trades.last_id.tolist() == expected["l"]
