"""`bot4 calibrate` and `bot4 flow`: the real samples, synthetic files drawn from known
parameters (which the calibration must give back), plots, and bad input."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bot4.calibration.calibrate import (
    Calibration,
    calibrate,
    load_model,
    read_latency,
    write_plots,
)
from bot4.cli import main
from bot4.market.data import DataError
from bot4.market.models import (
    ArrivalModel,
    FillModel,
    LatencyModel,
    MarketModel,
    SizeModel,
    rng_for,
)
from tests.conftest import REAL_DATA, ROOT

DATA = REAL_DATA  # ../shared/data
TRADES = DATA / "BTCUSDT-trades-2021-01-08-sample.csv"
QUOTES = DATA / "BTCUSDT-bookTicker-2021-01-08-sample.csv"
T0 = 1_735_689_600_000_000  # 2025-01-01 00:00 UTC in microseconds
TRUTH = MarketModel("ABCUSDT", ArrivalModel(3.0, 2.0), SizeModel(-2.0, 1.1),
                    FillModel(0.2, 0.6, 1.8))  # fmt: skip
PNG = b"\x89PNG\r\n\x1a\n"

# Without the real samples this FAILS, saying where they are expected, unless
# BOT4_SKIP_REAL_DATA=1 (the `real_data` fixture of tests/conftest.py); it never skips silently.
needs_samples = pytest.mark.usefixtures("real_data")


def dec(units: int) -> str:
    """1e-8 units as the decimal text Binance files use."""
    return f"{units // 10**8}.{units % 10**8:08d}"


def synthetic(tmp: Path, model: MarketModel = TRUTH, seconds: int = 4_000, seed: int = 5,
              zipped: bool = False) -> list[Path]:  # fmt: skip
    """Trades and bookTicker files of `model`: each taker event is one trade, and the quote
    just before it holds the level quantity that makes the event take its drawn share."""
    tmp.mkdir(parents=True, exist_ok=True)
    rng = rng_for(seed)
    buys = model.arrivals.sample_times(rng, True, T0, T0 + seconds * 1_000_000)
    sells = model.arrivals.sample_times(rng, False, T0, T0 + seconds * 1_000_000)
    times = np.concatenate([buys, sells])
    is_buy = np.concatenate([np.ones(len(buys), bool), np.zeros(len(sells), bool)])
    order = np.argsort(times, kind="stable")
    times, is_buy = times[order], is_buy[order]
    keep = np.ones(len(times), bool)
    keep[1:] = np.diff(times) >= 2  # one trade per microsecond pair: the quote fits between
    times, is_buy = times[keep], is_buy[keep]
    n = len(times)
    qty = np.maximum(1, np.rint(model.sizes.sample(rng, n) * 1e8)).astype(np.int64)
    shares = model.fills.sample(rng, n)
    bid, ask = 3_000_000_000_000, 3_000_001_000_000
    trade_rows, quote_rows = [], ["update_id,best_bid_price,best_bid_qty,best_ask_price,"
                                  "best_ask_qty,transaction_time,event_time"]  # fmt: skip
    for i in range(n):
        q = int(qty[i])
        level = q if shares[i] >= 1.0 else max(q + 1, round(q / shares[i]))
        price = ask if is_buy[i] else bid
        bid_qty, ask_qty = (10**8, level) if is_buy[i] else (level, 10**8)
        t = int(times[i])
        quote_rows.append(f"{i + 1},{dec(bid)},{dec(bid_qty)},{dec(ask)},{dec(ask_qty)},"
                          f"{t - 1},{t - 1}")  # fmt: skip
        trade_rows.append(f"{1000 + i},{dec(price)},{dec(q)},1.0,{t},{not is_buy[i]},True")
    files = []
    for name, rows in (("ABCUSDT-trades-2025-01-01.csv", trade_rows),
                       ("ABCUSDT-bookTicker-2025-01-01.csv", quote_rows)):  # fmt: skip
        path = tmp / name
        path.write_text("\n".join(rows) + "\n")
        if zipped:
            archive = path.with_suffix(".zip")
            with zipfile.ZipFile(archive, "w") as zf:
                zf.write(path, path.name)
            path.unlink()
            path = archive
        files.append(path)
    return files


def test_calibration_gives_back_the_parameters_of_synthetic_data(tmp_path: Path) -> None:
    result = calibrate(synthetic(tmp_path, zipped=True), seed=3)
    fits = result.fits
    assert result.model.symbol == "ABCUSDT"
    assert fits["arrivals"]["buy_rate"].contains(3.0), fits["arrivals"]
    assert fits["arrivals"]["sell_rate"].contains(2.0), fits["arrivals"]
    assert fits["sizes"]["mu"].contains(-2.0) and fits["sizes"]["sigma"].contains(1.1)
    assert fits["fills"]["p_full"].contains(0.2), fits["fills"]
    assert fits["fills"]["a"].contains(0.6) and fits["fills"]["b"].contains(1.8), fits["fills"]
    assert result.data["fitted"] == ["arrivals", "sizes", "fills"]
    # the held-out data comes from the same law: its KS tests do not reject it
    holdout = [r for r in result.ks if r.check == "holdout"]
    assert {r.model for r in holdout} == {"sizes", "arrivals.buy", "arrivals.sell", "fills"}
    assert all(r.pvalue > 0.01 for r in holdout), result.table()
    assert all(r.passed for r in result.ks if r.check == "self")
    assert all(r.passed for r in result.recovery), result.table()


@needs_samples
def test_calibration_on_the_real_sample(tmp_path: Path) -> None:
    """The calibration of the real BTCUSDT sample; fails (never skips) when ../shared/data is
    absent, unless BOT4_SKIP_REAL_DATA=1."""
    result = calibrate([TRADES, QUOTES], seed=1)
    model = result.model
    assert model.symbol == "BTCUSDT"
    assert result.data["trades"] == 2001 and result.data["quotes"] == 451
    assert 10 < model.arrivals.buy_rate < 25 and 10 < model.arrivals.sell_rate < 25
    assert -6 < model.sizes.mu < -4 and 1.5 < model.sizes.sigma < 3
    assert 0.05 < model.fills.p_full < 0.3 and model.fills.a < 1
    assert any("time-of-day" in note for note in result.data["notes"])
    # real flow clusters: the held-out gaps are far from exponential, and the report says so
    sells = next(r for r in result.ks if r.model == "arrivals.sell" and r.check == "holdout")
    assert sells.pvalue < 0.01 and sells.passed is None
    doc = result.to_json()
    goodness = doc["goodness_of_fit"]
    assert set(goodness) == {"sizes", "arrivals.buy", "arrivals.sell", "fills"}
    assert goodness["sizes"]["n"] == result.data["train_events"]
    assert goodness["sizes"]["aic"] == pytest.approx(4 - 2 * goodness["sizes"]["loglik"])
    path = tmp_path / "calib.json"
    path.write_text(json.dumps(doc))
    assert load_model(path) == model
    assert doc["data"]["last_price"] == "39491.76"
    plots = write_plots(result, tmp_path / "plots")
    assert sorted(p.name for p in plots) == [
        "BTCUSDT-arrivals-buy.png", "BTCUSDT-arrivals-sell.png", "BTCUSDT-fills.png",
        "BTCUSDT-sizes.png"]  # fmt: skip
    assert all(p.read_bytes()[:8] == PNG for p in plots)


def test_latency_measurements_are_fitted(tmp_path: Path) -> None:
    truth = LatencyModel(math.log(700.0), 0.4)
    delays = truth.sample(rng_for(4), 3_000)
    path = tmp_path / "entry.txt"
    path.write_text("# round trips, us\n" + "\n".join(str(d) for d in delays) + "\n\n")
    result = calibrate(synthetic(tmp_path, seconds=600), latency={"entry": [path]})
    fit = result.fits["latency.entry"]
    assert fit["mu"].contains(truth.mu) and fit["sigma"].contains(truth.sigma)
    assert "latency.entry" in result.data["fitted"]
    assert any("ack, market_data" in note for note in result.data["notes"])
    names = [p.name for p in write_plots(result, tmp_path / "plots")]
    assert "ABCUSDT-latency-entry.png" in names
    with pytest.raises(ValueError, match="latency kind"):
        calibrate(synthetic(tmp_path, seconds=60), latency={"exit": [path]})


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("100\nabc\n", 2, "not a number"),
        ("100\n-5\n7\n", 2, "positive"),
        ("100\n200\n", 0, "at least three"),
    ],
)
def test_latency_file_errors_name_the_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "lat.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as err:
        read_latency(path)
    assert err.value.line == line and str(err.value).startswith(f"{path}:{line}:")


def test_calibration_refuses_what_it_cannot_fit(tmp_path: Path) -> None:
    trades, quotes = synthetic(tmp_path, seconds=60)
    with pytest.raises(DataError, match="no trades"):
        calibrate([quotes])
    with pytest.raises(ValueError, match="holdout"):
        calibrate([trades], holdout=1.0)
    few = tmp_path / "XYZUSDT-trades-2025-01-01.csv"
    few.write_text("\n".join(trades.read_text().splitlines()[:5]) + "\n")
    with pytest.raises(DataError, match="fewer than 10"):
        calibrate([few])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 7}))
    with pytest.raises(ValueError, match="not a bot4 calibration"):
        load_model(bad)


def test_trades_alone_keep_the_default_fills_and_klines_are_counted(tmp_path: Path) -> None:
    trades, _ = synthetic(tmp_path, seconds=600)
    klines = tmp_path / "ABCUSDT-1m-2025-01-01.csv"
    klines.write_text(
        f"{T0 // 1000},30000.0,30001.0,29999.0,30000.5,1.5,{T0 // 1000 + 59_999},45000.0,"
        "12,0.7,21000.0,0\n"
    )
    result = calibrate([trades, klines])
    assert isinstance(result, Calibration)
    assert result.data["klines"] == 1 and result.data["quotes"] == 0
    assert result.data["fitted"] == ["arrivals", "sizes"]
    assert any("no bookTicker" in note for note in result.data["notes"])


def test_two_trade_files_are_merged_in_time(tmp_path: Path) -> None:
    first = synthetic(tmp_path / "a", seconds=300, seed=1)
    second = synthetic(tmp_path / "b", seconds=300, seed=2)
    result = calibrate([first[0], second[0], first[1], second[1]])
    assert result.data["trades"] > 1_500 and result.data["files"][0].endswith(".csv")


def test_cli_calibrate_then_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = synthetic(tmp_path, seconds=1_200)
    out, plots = tmp_path / "out" / "calib.json", tmp_path / "plots"
    symbols = tmp_path / "symbols.toml"
    symbols.write_text(
        (ROOT / "configs" / "symbols.toml")
        .read_text()
        .replace('"BTCUSDT"', '"ABCUSDT"')
        .replace('baseAsset = "BTC"', 'baseAsset = "ABC"')
    )
    code = main(["calibrate", *map(str, files), "--out", str(out), "--plots", str(plots),
                 "--quiet", "--seed", "2"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "ABCUSDT:" in printed and "recovery" not in printed and "wrote" in printed
    assert json.loads(out.read_text())["model"]["symbol"] == "ABCUSDT"
    assert len(list(plots.glob("*.png"))) == 4
    code = main(["flow", "--calibration", str(out), "--symbols", str(symbols), "--seconds", "60"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "taker orders" in printed and printed.count(" pass") == 3
    assert main(["flow", "--calibration", str(out), "--seconds", "5"]) == 2  # not a symbol there
    assert "not in" in capsys.readouterr().err
    assert main(["calibrate", str(files[0]), "--out", str(out), "--latency", "entry"]) == 2
