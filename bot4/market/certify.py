"""Certification of a market model: Kolmogorov-Smirnov tests and parameter recovery.

Three kinds of check, each a row of one table:

* `self`: samples the model generates (fixed seed) against the model's own distribution
  (`scipy.stats.kstest`). The generator must reproduce its parameters: a row fails when the
  p-value is below `ALPHA` (0.01).
* `holdout`: held-out real data against the fitted distribution (`kstest`), and generated
  samples against held-out real data (`ks_2samp`). These say how well the model describes
  the market; they are reported, not enforced (`passed` is None). With parameters fitted on
  other data they are honest tests; real order flow clusters, so a low p-value is expected
  for arrivals and is the point of reporting it.
* `recovery`: samples drawn with the model's parameters are fitted again; every parameter
  must come back inside its confidence interval. One 95 % interval misses its truth one time
  in twenty by design, so with a dozen parameters the table uses Bonferroni intervals
  (value +- z * stderr with z for 95 % over the whole table): the table as a whole holds the
  truth 95 % of the time. The tests check the plain 95 % intervals' coverage over many seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import stats

from bot4.market.fit import Estimate, binomial, fit_beta, fit_lognormal, poisson_rate
from bot4.market.models import FloatArray, MarketModel, rng_for

ALPHA = 0.01
SELF_SAMPLES = 5_000


@dataclass(frozen=True)
class KsRow:
    """One line of the certification table."""

    model: str  # e.g. "sizes", "arrivals.buy"
    check: str  # "self", "holdout", "holdout-2s"
    statistic: float
    pvalue: float
    n: int
    passed: bool | None  # None: reported, not enforced


@dataclass(frozen=True)
class RecoveryRow:
    """A parameter drawn from, fitted back, and whether its table-wide interval holds it."""

    model: str
    parameter: str
    true: float
    estimate: Estimate
    n: int
    z: float = 1.959963984540054  # half-width of the interval, in standard errors

    @property
    def low(self) -> float:
        return self.estimate.value - self.z * self.estimate.stderr

    @property
    def high(self) -> float:
        return self.estimate.value + self.z * self.estimate.stderr

    @property
    def passed(self) -> bool:
        return self.low <= self.true <= self.high


Cdf = Callable[[npt.ArrayLike], FloatArray]


def _gaps_s(times_us: npt.NDArray[np.int64]) -> FloatArray:
    return np.diff(np.asarray(times_us, dtype=np.float64)) / 1e6


def model_samples(model: MarketModel, seed: int, n: int = SELF_SAMPLES) -> dict[str, FloatArray]:
    """What the model generates, per component, for a seed (arrival gaps in seconds)."""
    rng = rng_for(seed)
    out: dict[str, FloatArray] = {}
    for side, rate in (("buy", model.arrivals.buy_rate), ("sell", model.arrivals.sell_rate)):
        if rate > 0:
            span = int(n / rate * 1e6)
            times = model.arrivals.sample_times(rng, side == "buy", 0, span)
            out[f"arrivals.{side}"] = _gaps_s(times)
    out["sizes"] = model.sizes.sample(rng, n)
    fills = model.fills.sample(rng, n)
    out["fills"] = fills[fills < 1.0]
    for name in ("entry", "ack", "market_data"):
        lat = getattr(model.latency, name)
        if not lat.spike_prob:
            out[f"latency.{name}"] = lat.sample(rng, n).astype(np.float64)
    return out


def model_cdfs(model: MarketModel) -> dict[str, Cdf]:
    """Each component's fitted distribution function (arrivals: exponential gaps)."""
    out: dict[str, Cdf] = {}
    for side, rate in (("buy", model.arrivals.buy_rate), ("sell", model.arrivals.sell_rate)):
        if rate > 0:
            out[f"arrivals.{side}"] = stats.expon(scale=1 / rate).cdf
    out["sizes"] = model.sizes.dist.cdf
    out["fills"] = model.fills.dist.cdf
    for name in ("entry", "ack", "market_data"):
        lat = getattr(model.latency, name)
        if not lat.spike_prob:
            out[f"latency.{name}"] = lat.dist.cdf
    return out


def certify(
    model: MarketModel,
    holdout: Mapping[str, npt.ArrayLike] | None = None,
    *,
    seed: int = 1,
    n: int = SELF_SAMPLES,
) -> list[KsRow]:
    """The KS table: `self` rows for every component, `holdout` rows for the components
    `holdout` gives real samples of (same keys and units as `model_samples`). Arrival
    processes with an hourly profile are not time-homogeneous, so their gaps get no row."""
    sims = model_samples(model, seed, n)
    cdfs = model_cdfs(model)
    hourly = model.arrivals.hourly is not None
    rows = []
    for name, sample in sims.items():
        if hourly and name.startswith("arrivals."):
            continue
        res = stats.kstest(sample, cdfs[name])
        rows.append(KsRow(name, "self", float(res.statistic), float(res.pvalue), len(sample),
                          bool(res.pvalue >= ALPHA)))  # fmt: skip
    for name, real in (holdout or {}).items():
        data = np.asarray(real, dtype=np.float64)
        if name not in cdfs or len(data) < 2 or (hourly and name.startswith("arrivals.")):
            continue
        res = stats.kstest(data, cdfs[name])
        rows.append(KsRow(name, "holdout", float(res.statistic), float(res.pvalue), len(data),
                          None))  # fmt: skip
        two = stats.ks_2samp(sims[name], data)
        rows.append(KsRow(name, "holdout-2s", float(two.statistic), float(two.pvalue),
                          len(data), None))  # fmt: skip
    return rows


def recover(model: MarketModel, *, seed: int = 2, n: int = SELF_SAMPLES) -> list[RecoveryRow]:
    """Draw `n` samples per component with the model's parameters and fit them again."""
    rng = rng_for(seed)
    rows = []
    sizes = fit_lognormal(model.sizes.sample(rng, n))
    rows += [
        RecoveryRow("sizes", "mu", model.sizes.mu, sizes.mu, n),
        RecoveryRow("sizes", "sigma", model.sizes.sigma, sizes.sigma, n),
    ]
    fills = model.fills.sample(rng, n)
    full = fills >= 1.0
    k = int(full.sum())
    p = binomial(k, n)
    a, b = fit_beta(fills[~full])
    rows += [
        RecoveryRow("fills", "p_full", model.fills.p_full, p, n),
        RecoveryRow("fills", "a", model.fills.a, a, n - k),
        RecoveryRow("fills", "b", model.fills.b, b, n - k),
    ]
    for side, rate in (("buy", model.arrivals.buy_rate), ("sell", model.arrivals.sell_rate)):
        if rate > 0:
            seconds = n / rate
            count = len(model.arrivals.sample_times(rng, side == "buy", 0, int(seconds * 1e6)))
            rows.append(
                RecoveryRow("arrivals", f"{side}_rate", rate, poisson_rate(count, seconds), count)
            )
    for name in ("entry", "ack", "market_data"):
        lat = getattr(model.latency, name)
        fit = fit_lognormal(lat.sample(rng, n))
        rows += [
            RecoveryRow(f"latency.{name}", "mu", lat.mu, fit.mu, n),
            RecoveryRow(f"latency.{name}", "sigma", lat.sigma, fit.sigma, n),
        ]
    z = float(stats.norm.ppf(1 - 0.05 / (2 * len(rows))))
    return [replace(row, z=z) for row in rows]


def format_table(ks: list[KsRow], recovery: list[RecoveryRow]) -> str:
    """The certification as a plain-text table a person can read."""
    lines = [f"{'model':<20}{'check':<12}{'D':>9}{'p-value':>12}{'n':>8}  verdict"]
    for r in ks:
        verdict = "reported" if r.passed is None else ("pass" if r.passed else "FAIL")
        lines.append(f"{r.model:<20}{r.check:<12}{r.statistic:>9.4f}{r.pvalue:>12.3g}"
                     f"{r.n:>8}  {verdict}")  # fmt: skip
    lines.append("")
    lines.append(f"{'model':<20}{'parameter':<12}{'true':>12}{'fitted':>12}"
                 f"{'interval (95% table-wide)':>28}  verdict")  # fmt: skip
    for rec in recovery:
        e = rec.estimate
        interval = f"[{rec.low:.4g}, {rec.high:.4g}]"
        lines.append(f"{rec.model:<20}{rec.parameter:<12}{rec.true:>12.5g}{e.value:>12.5g}"
                     f"{interval:>28}  {'pass' if rec.passed else 'FAIL'}")  # fmt: skip
    return "\n".join(lines)
