"""`bot4 calibrate`: fit a symbol's market model to Binance data files and certify the fit.

The data is split in time: the first `1 - holdout` share of every series trains the fits, the
rest is held out and compared with the fitted model (KS). The result is a JSON document:

    {"version": 1, "symbol": ..., "model": MarketModel.to_dict(),
     "fits": {component: {parameter: {value, stderr, low, high}}, "fitted": [...]},
     "certification": {"ks": [...], "recovery": [...], "alpha": 0.01},
     "data": {"files": [...], "trades": n, "quotes": n, "seconds": s, "notes": [...]}}

A component the files cannot inform keeps its default and is listed in `data.notes`. Fills
need bookTicker quotes next to the trades; latency needs measured delays (`--latency`, one
number of microseconds per line). Klines are read and validated but not fitted: they are too
coarse for arrival and size models.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from bot4.market.certify import ALPHA, KsRow, RecoveryRow, certify, format_table, recover
from bot4.market.data import BookTicker, DataError, Klines, Trades, read_any
from bot4.market.fit import (
    Estimate,
    LogNormalFit,
    Quality,
    TakerEvents,
    fill_shares,
    fit_arrivals,
    fit_fills,
    fit_latency,
    fit_sizes,
    quality,
    taker_events,
)
from bot4.market.models import (
    ArrivalModel,
    FillModel,
    LatencyModel,
    LatencyProfile,
    MarketModel,
    SizeModel,
)

DEFAULT_FILLS = FillModel(0.15, 0.3, 1.0)  # used only when no quotes come with the trades
LATENCY_KINDS = ("entry", "ack", "market_data")
Progress = Callable[[int], None]


@dataclass
class Calibration:
    """A fitted and certified model with everything the report and the plots need."""

    model: MarketModel
    fits: dict[str, dict[str, Estimate]]
    ks: list[KsRow]
    recovery: list[RecoveryRow]
    data: dict[str, Any]
    train: dict[str, np.ndarray] = field(default_factory=dict)  # samples the fits used

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "symbol": self.model.symbol,
            "model": self.model.to_dict(),
            "fits": {
                comp: {name: asdict(est) for name, est in params.items()}
                for comp, params in self.fits.items()
            },
            "goodness_of_fit": {name: asdict(q) for name, q in self.goodness().items()},
            "certification": {
                "alpha": ALPHA,
                "ks": [asdict(r) for r in self.ks],
                "recovery": [
                    {**asdict(r), "low": r.low, "high": r.high, "passed": r.passed}
                    for r in self.recovery
                ],
            },
            "data": self.data,
        }

    def table(self) -> str:
        return format_table(self.ks, self.recovery)

    def goodness(self) -> dict[str, Quality]:
        """In-sample log-likelihood, AIC and KS of every fitted component."""
        out = {}
        for name, data in self.train.items():
            if len(data) >= 2:
                dist, k = component_dist(self.model, name)
                out[name] = quality(data, dist, k)
        return out


def component_dist(model: MarketModel, name: str) -> tuple[Any, int]:
    """A component's fitted scipy distribution and its number of parameters."""
    if name.startswith("arrivals."):
        rate = model.arrivals.buy_rate if name.endswith("buy") else model.arrivals.sell_rate
        return stats.expon(scale=1 / rate), 1
    if name == "sizes":
        return model.sizes.dist, 2
    if name == "fills":
        return model.fills.dist, 2
    return getattr(model.latency, name.split(".", 1)[1]).dist, 2


def load_model(path: str | Path) -> MarketModel:
    """The `MarketModel` of a calibration JSON written by `bot4 calibrate`."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if doc.get("version") != 1:
        raise ValueError(f"{path}: not a bot4 calibration (version 1)")
    return MarketModel.from_dict(doc["model"])


def _split(n: int, holdout: float) -> int:
    return max(2, min(n - 2, round(n * (1 - holdout))))


def _lognormal_params(fit: LogNormalFit) -> dict[str, Estimate]:
    return {"mu": fit.mu, "sigma": fit.sigma}


def calibrate(
    paths: Sequence[str | Path],
    *,
    symbol: str | None = None,
    holdout: float = 0.3,
    seed: int = 1,
    latency: dict[str, Sequence[str | Path]] | None = None,
    progress: Progress | None = None,
) -> Calibration:
    """Read the files, fit every component they inform, certify on the held-out part."""
    if not 0 < holdout < 1:
        raise ValueError("holdout must be between 0 and 1")
    trades: list[Trades] = []
    quotes: list[BookTicker] = []
    klines: list[Klines] = []
    names = []
    for raw in paths:
        path = Path(raw)
        names.append(path.name)
        if symbol is None:
            symbol = path.name.split("-", 1)[0].upper() or "SYMBOL"
        table = read_any(path, progress=progress)
        if isinstance(table, Trades):
            trades.append(table)
        elif isinstance(table, BookTicker):
            quotes.append(table)
        else:
            klines.append(table)
    if not trades:
        raise DataError(str(paths[0]) if paths else "-", 0, "no trades or aggTrades file given")
    notes: list[str] = []
    tr = _concat_trades(trades)
    events = taker_events(tr.time_us, tr.price, tr.qty, tr.is_buyer_maker)
    if len(events.time_us) < 10:
        raise DataError(names[0], 0, "fewer than 10 taker events: too little data to fit")
    cut = _split(len(events.time_us), holdout)
    train = _events_slice(events, 0, cut)
    held = _events_slice(events, cut, len(events.time_us))
    start, split_at, end = int(events.time_us[0]), int(events.time_us[cut]), int(events.time_us[-1])
    arrivals = fit_arrivals(train, start, max(split_at, start + 1))
    sizes, size_fit = fit_sizes(train.qty)
    fits: dict[str, dict[str, Estimate]] = {
        "arrivals": {"buy_rate": arrivals.buy, "sell_rate": arrivals.sell},
        "sizes": _lognormal_params(size_fit),
    }
    fitted = ["arrivals", "sizes"]
    samples: dict[str, np.ndarray] = {"sizes": train.qty / 1e8}
    holdout_samples: dict[str, np.ndarray] = {"sizes": held.qty / 1e8}
    for side, is_buy in (("buy", True), ("sell", False)):
        samples[f"arrivals.{side}"] = np.diff(train.time_us[train.is_buy == is_buy]) / 1e6
        holdout_samples[f"arrivals.{side}"] = np.diff(held.time_us[held.is_buy == is_buy]) / 1e6
    if arrivals.model.hourly is None:
        notes.append("arrivals: less than a day of data, so no time-of-day profile was fitted")
    fills = DEFAULT_FILLS
    if quotes:
        book = _concat_quotes(quotes)
        shares, skipped = fill_shares(train, book.time_us, book.bid_price, book.bid_qty,
                                      book.ask_price, book.ask_qty)  # fmt: skip
        held_shares, _ = fill_shares(held, book.time_us, book.bid_price, book.bid_qty,
                                     book.ask_price, book.ask_qty)  # fmt: skip
        fill_fit = fit_fills(shares, skipped)
        fills = fill_fit.model
        fits["fills"] = {"p_full": fill_fit.p_full, "a": fill_fit.a, "b": fill_fit.b}
        fitted.append("fills")
        samples["fills"] = shares[shares < 1]
        holdout_samples["fills"] = held_shares[held_shares < 1]
        if skipped:
            notes.append(f"fills: {skipped} taker events skipped (quote stale or missing)")
    else:
        notes.append("fills: no bookTicker file, the default fill model is used")
    profile = {}
    for kind, files in (latency or {}).items():
        if kind not in LATENCY_KINDS:
            raise ValueError(f"latency kind {kind!r}: one of {', '.join(LATENCY_KINDS)}")
        delays = np.concatenate([read_latency(f) for f in files])
        lat_cut = _split(len(delays), holdout)
        model, lat_fit = fit_latency(delays[:lat_cut])
        profile[kind] = model
        fits[f"latency.{kind}"] = _lognormal_params(lat_fit)
        fitted.append(f"latency.{kind}")
        samples[f"latency.{kind}"] = delays[:lat_cut]
        holdout_samples[f"latency.{kind}"] = delays[lat_cut:]
    missing = [k for k in LATENCY_KINDS if k not in profile]
    if missing:
        notes.append(f"latency: no measurements for {', '.join(missing)}; defaults are used")
    market = MarketModel(
        symbol or "SYMBOL",
        ArrivalModel(arrivals.model.buy_rate, arrivals.model.sell_rate, arrivals.model.hourly),
        SizeModel(sizes.mu, sizes.sigma),
        fills,
        LatencyProfile(**{**asdict_profile(LatencyProfile()), **profile}),
    )
    ks = certify(market, holdout_samples, seed=seed)
    recovery = recover(market, seed=seed + 1)
    data = {
        "files": names,
        "trades": len(tr),
        "taker_events": len(events.time_us),
        "train_events": int(cut),
        "quotes": int(sum(len(q) for q in quotes)),
        "klines": int(sum(len(k) for k in klines)),
        "seconds": (end - start) / 1e6,
        "end_us": end,
        "last_price": str(Decimal(int(tr.price[-1])).scaleb(-8).normalize()),
        "fitted": fitted,
        "notes": notes,
    }
    return Calibration(market, fits, ks, recovery, data, samples)


def asdict_profile(profile: LatencyProfile) -> dict[str, LatencyModel]:
    return {k: getattr(profile, k) for k in LATENCY_KINDS}


def read_latency(path: str | Path) -> np.ndarray:
    """Measured delays: one positive number of microseconds per line ('#' starts a comment)."""
    values = []
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                value = float(text)
            except ValueError:
                raise DataError(str(path), line_no, f"not a number: {text!r}") from None
            if not math.isfinite(value) or value <= 0:
                raise DataError(str(path), line_no, f"a delay must be positive: {text!r}")
            values.append(value)
    if len(values) < 3:
        raise DataError(str(path), 0, "need at least three delays")
    return np.asarray(values, dtype=np.float64)


def _concat_trades(parts: list[Trades]) -> Trades:
    if len(parts) == 1:
        return parts[0]
    merged = {
        name: np.concatenate([getattr(p, name) for p in parts])
        for name in ("trade_id", "price", "qty", "time_us", "is_buyer_maker", "first_id", "last_id")
    }
    order = np.argsort(merged["time_us"], kind="stable")
    return Trades(**{k: v[order] for k, v in merged.items()})


def _concat_quotes(parts: list[BookTicker]) -> BookTicker:
    if len(parts) == 1:
        return parts[0]
    merged = {
        name: np.concatenate([getattr(p, name) for p in parts])
        for name in ("update_id", "bid_price", "bid_qty", "ask_price", "ask_qty", "time_us")
    }
    order = np.argsort(merged["time_us"], kind="stable")
    return BookTicker(**{k: v[order] for k, v in merged.items()})


def _events_slice(events: TakerEvents, lo: int, hi: int) -> TakerEvents:
    return TakerEvents(
        events.time_us[lo:hi], events.is_buy[lo:hi], events.qty[lo:hi], events.price[lo:hi]
    )


def write_plots(result: Calibration, out_dir: str | Path) -> list[Path]:
    """One PNG per fitted component: histogram against density, and a QQ plot."""
    from bot4.calibration.plots import plot_fit

    out = Path(out_dir)
    model = result.model
    written = []
    for name, data in result.train.items():
        if len(data) < 2:
            continue
        dist, _ = component_dist(model, name)
        log_x = name != "fills"
        path = out / f"{model.symbol}-{name.replace('.', '-')}.png"
        written.append(plot_fit(path, f"{model.symbol} {name}", data, dist.pdf, dist.ppf,
                                log_x=log_x))  # fmt: skip
    return written
