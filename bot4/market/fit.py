"""Maximum-likelihood fits of the market models, each parameter with a 95 % confidence interval.

Inputs are plain numpy arrays (times in microseconds, quantities in 1e-8 units as the data
readers give them), so the fits do not depend on where the data came from.

* Arrivals: one taker order can match several resting orders, and the venue prints one trade
  per match, all with the taker's time. Consecutive trades with the same time and side are
  therefore one taker event (`taker_events`); its size is their summed quantity. The Poisson
  rate per side is events / seconds observed, with the exact (Garwood) interval.
* Sizes: log-normal MLE (`scipy.stats.lognorm.fit` with loc 0: the mean and standard
  deviation of log size); intervals from the Fisher information (sigma/sqrt(n) and
  sigma/sqrt(2n)).
* Fills: for each taker event, the quote in force just before it gives the touched level's
  quantity; the share taken is size / level quantity. A share >= 1 is a full take (binomial
  `p_full`, Clopper-Pearson interval); the others fit a Beta by MLE (scipy), intervals from
  the Beta's Fisher information (trigamma). Events whose first price is not the quoted price
  (the quote was stale) are skipped and counted.
* Latency: log-normal MLE like sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from bot4.market.models import (
    DAY_US,
    HOUR_US,
    ArrivalModel,
    FillModel,
    FloatArray,
    IntArray,
    LatencyModel,
    SizeModel,
)

CONFIDENCE = 0.95
SCALE = 10**8  # quantities and prices in 1e-8 units, as the data readers give them
_Z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))


@dataclass(frozen=True)
class Estimate:
    """A fitted parameter: value, standard error and 95 % confidence interval."""

    value: float
    stderr: float
    low: float
    high: float

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    @classmethod
    def normal(cls, value: float, stderr: float) -> Estimate:
        """value +- z * stderr."""
        return cls(value, stderr, value - _Z * stderr, value + _Z * stderr)


@dataclass(frozen=True)
class TakerEvents:
    """Taker orders reconstructed from trades: time, side (True = buyer-initiated), size."""

    time_us: IntArray
    is_buy: npt.NDArray[np.bool_]
    qty: IntArray  # summed 1e-8 units
    price: IntArray  # the first trade's price (1e-8 units): the touched level


def taker_events(
    time_us: IntArray, price: IntArray, qty: IntArray, is_buyer_maker: npt.NDArray[np.bool_]
) -> TakerEvents:
    """Group consecutive trades with the same time and aggressor side into taker events."""
    n = len(time_us)
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return TakerEvents(empty, np.empty(0, dtype=np.bool_), empty, empty)
    is_buy = ~np.asarray(is_buyer_maker, dtype=np.bool_)
    new = np.ones(n, dtype=np.bool_)
    new[1:] = (time_us[1:] != time_us[:-1]) | (is_buy[1:] != is_buy[:-1])
    starts = np.flatnonzero(new)
    sizes = np.add.reduceat(np.asarray(qty, dtype=np.int64), starts)
    return TakerEvents(time_us[starts], is_buy[starts], sizes.astype(np.int64), price[starts])


def poisson_rate(count: int, seconds: float) -> Estimate:
    """MLE rate count/seconds with the exact Garwood interval."""
    if seconds <= 0:
        raise ValueError("need a positive observation time")
    alpha = 1 - CONFIDENCE
    low = stats.chi2.ppf(alpha / 2, 2 * count) / 2 / seconds if count else 0.0
    high = stats.chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2 / seconds
    return Estimate(count / seconds, math.sqrt(count) / seconds, float(low), float(high))


@dataclass(frozen=True)
class ArrivalFit:
    model: ArrivalModel
    buy: Estimate
    sell: Estimate
    seconds: float
    n_buy: int
    n_sell: int


def fit_arrivals(events: TakerEvents, start_us: int, end_us: int) -> ArrivalFit:
    """Poisson rates per side over [start_us, end_us); an hourly profile only when the window
    covers at least one whole day (otherwise the hours cannot be told apart)."""
    seconds = (end_us - start_us) / 1e6
    n_buy = int(events.is_buy.sum())
    n_sell = len(events.is_buy) - n_buy
    buy, sell = poisson_rate(n_buy, seconds), poisson_rate(n_sell, seconds)
    hourly = None
    if end_us - start_us >= DAY_US and len(events.time_us):
        hours = (events.time_us % DAY_US) // HOUR_US
        counts = np.bincount(hours, minlength=24).astype(np.float64)
        exposure = np.zeros(24)
        t = start_us
        while t < end_us:
            nxt = min(end_us, (t // HOUR_US + 1) * HOUR_US)
            exposure[(t % DAY_US) // HOUR_US] += nxt - t
            t = nxt
        per_hour = counts / exposure
        if per_hour.sum() > 0:
            hourly = tuple(float(v) for v in per_hour / per_hour.mean())
    model = ArrivalModel(buy.value, sell.value, hourly)
    return ArrivalFit(model, buy, sell, seconds, n_buy, n_sell)


@dataclass(frozen=True)
class LogNormalFit:
    mu: Estimate
    sigma: Estimate
    n: int


def fit_lognormal(x: npt.ArrayLike) -> LogNormalFit:
    """MLE of a log-normal (positive samples)."""
    xs = np.asarray(x, dtype=np.float64)
    n = len(xs)
    if n < 2 or not np.all(np.isfinite(xs)) or np.any(xs <= 0):
        raise ValueError("need at least two positive, finite samples")
    if np.all(xs == xs[0]):
        raise ValueError("all samples are equal: no spread to fit")
    shape, _, scale = stats.lognorm.fit(xs, floc=0)  # closed-form MLE when loc is fixed
    mu, sigma = math.log(scale), float(shape)
    return LogNormalFit(
        Estimate.normal(mu, sigma / math.sqrt(n)),
        Estimate.normal(sigma, sigma / math.sqrt(2 * n)),
        n,
    )


def fit_sizes(qty_units: npt.ArrayLike) -> tuple[SizeModel, LogNormalFit]:
    """Log-normal sizes in base-asset units from quantities in 1e-8 units."""
    fit = fit_lognormal(np.asarray(qty_units, dtype=np.float64) / SCALE)
    return SizeModel(fit.mu.value, fit.sigma.value), fit


def fit_latency(delays_us: npt.ArrayLike) -> tuple[LatencyModel, LogNormalFit]:
    """Log-normal latency (microseconds) from measured delays (spikes are not fitted)."""
    fit = fit_lognormal(delays_us)
    return LatencyModel(fit.mu.value, fit.sigma.value), fit


@dataclass(frozen=True)
class FillFit:
    model: FillModel
    p_full: Estimate
    a: Estimate
    b: Estimate
    n: int  # events used
    skipped: int  # events whose quote was stale


def fill_shares(
    events: TakerEvents,
    quote_time_us: IntArray,
    bid_price: IntArray,
    bid_qty: IntArray,
    ask_price: IntArray,
    ask_qty: IntArray,
) -> tuple[FloatArray, int]:
    """Share of the touched level each taker event took, from the last quote before it.

    Returns (shares, skipped): events before the first quote, at a price other than the
    quoted one, or on an empty level are skipped.
    """
    idx = np.searchsorted(quote_time_us, events.time_us, side="right") - 1
    ok = idx >= 0
    safe = np.where(ok, idx, 0)
    level_price = np.where(events.is_buy, ask_price[safe], bid_price[safe])
    level_qty = np.where(events.is_buy, ask_qty[safe], bid_qty[safe])
    ok &= (level_price == events.price) & (level_qty > 0)
    shares = events.qty[ok] / level_qty[ok]
    return shares.astype(np.float64), int((~ok).sum())


def binomial(k: int, n: int) -> Estimate:
    """The share k/n with the exact (Clopper-Pearson) interval."""
    alpha = 1 - CONFIDENCE
    p = k / n
    low = stats.beta.ppf(alpha / 2, k, n - k + 1) if k else 0.0
    high = stats.beta.ppf(1 - alpha / 2, k + 1, n - k) if k < n else 1.0
    return Estimate(p, math.sqrt(p * (1 - p) / n), float(low), float(high))


def fit_beta(x: npt.ArrayLike) -> tuple[Estimate, Estimate]:
    """MLE of Beta(a, b) on samples in (0, 1), intervals from the Fisher information."""
    xs = np.asarray(x, dtype=np.float64)
    n = len(xs)
    if n < 3 or np.any(xs <= 0) or np.any(xs >= 1):
        raise ValueError("need at least three samples strictly between 0 and 1")
    a, b, _, _ = stats.beta.fit(xs, floc=0, fscale=1)
    t_ab = special.polygamma(1, a + b)
    info = n * np.array(
        [[special.polygamma(1, a) - t_ab, -t_ab], [-t_ab, special.polygamma(1, b) - t_ab]]
    )
    cov = np.linalg.inv(info)
    return (
        Estimate.normal(float(a), float(math.sqrt(cov[0, 0]))),
        Estimate.normal(float(b), float(math.sqrt(cov[1, 1]))),
    )


def fit_fills(shares: npt.ArrayLike, skipped: int = 0) -> FillFit:
    """`p_full` from the shares >= 1, Beta(a, b) from the rest."""
    xs = np.asarray(shares, dtype=np.float64)
    full = xs >= 1.0
    n = len(xs)
    if n == 0:
        raise ValueError("no fill shares to fit")
    p_full = binomial(int(full.sum()), n)
    a, b = fit_beta(xs[~full])
    return FillFit(FillModel(p_full.value, a.value, b.value), p_full, a, b, n, skipped)


@dataclass(frozen=True)
class Quality:
    """In-sample goodness of fit: log-likelihood, AIC and the KS test on the fitted data."""

    n: int
    loglik: float
    aic: float
    ks_statistic: float
    ks_pvalue: float


def quality(data: npt.ArrayLike, dist: Any, parameters: int) -> Quality:
    """Goodness of fit of a frozen scipy distribution to the data it was fitted on."""
    xs = np.asarray(data, dtype=np.float64)
    loglik = float(np.sum(dist.logpdf(xs)))
    res = stats.kstest(xs, dist.cdf)
    return Quality(len(xs), loglik, 2 * parameters - 2 * loglik, float(res.statistic),
                   float(res.pvalue))  # fmt: skip
