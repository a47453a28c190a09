"""The market models and their samplers. Pure and seeded: every sampler takes a numpy
`Generator`, and nothing here reads a clock or global random state.

* `ArrivalModel`: taker trades arrive as a Poisson process per side (buyer- and seller-
  initiated), optionally scaled by a 24-hour UTC time-of-day profile.
* `SizeModel`: trade sizes are log-normal (base-asset units).
* `FillModel`: the fraction of the touched price level one trade takes: the whole level with
  probability `p_full`, else a Beta(a, b) share of it.
* `LatencyModel`: delays are log-normal (microseconds), with optional spikes: with probability
  `spike_prob` a delay is multiplied by `spike_factor`.

Statistics run in float64. Money does not: a size becomes whole lots (`SizeModel.lots`) before
it reaches an order, and prices stay integer ticks.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def rng_for(seed: int) -> np.random.Generator:
    """The project's generator for a seed (PCG64: the same stream for the same numpy)."""
    return np.random.Generator(np.random.PCG64(seed))


@dataclass(frozen=True)
class ArrivalModel:
    """Taker trades per second on each side; `hourly` (24 numbers averaging 1) shapes the day."""

    buy_rate: float
    sell_rate: float
    hourly: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not (self.buy_rate >= 0 and self.sell_rate >= 0):
            raise ValueError("arrival rates must be >= 0")
        if self.hourly is not None:
            if len(self.hourly) != 24 or any(not (m >= 0) for m in self.hourly):
                raise ValueError("hourly must hold 24 non-negative multipliers")
            if not math.isclose(sum(self.hourly) / 24, 1.0, rel_tol=1e-6):
                raise ValueError("hourly multipliers must average 1")

    def rate(self, is_buy: bool, t_us: int) -> float:
        """The intensity (per second) at time `t_us` for one side."""
        base = self.buy_rate if is_buy else self.sell_rate
        if self.hourly is None:
            return base
        return base * self.hourly[(t_us % DAY_US) // HOUR_US]

    def sample_times(
        self, rng: np.random.Generator, is_buy: bool, start_us: int, end_us: int
    ) -> IntArray:
        """Arrival times in [start_us, end_us), sorted: exact for a piecewise-constant rate
        (a Poisson count per hour segment, then uniform times within it)."""
        if end_us <= start_us:
            return np.empty(0, dtype=np.int64)
        cuts = [start_us]
        if self.hourly is not None:
            t = (start_us // HOUR_US + 1) * HOUR_US
            while t < end_us:
                cuts.append(t)
                t += HOUR_US
        cuts.append(end_us)
        parts = []
        for lo, hi in itertools.pairwise(cuts):
            lam = self.rate(is_buy, lo) * (hi - lo) / 1e6
            n = int(rng.poisson(lam))
            parts.append(np.sort(rng.integers(lo, hi, size=n, dtype=np.int64)))
        return np.concatenate(parts)


@dataclass(frozen=True)
class SizeModel:
    """Log-normal trade sizes: log(size) ~ Normal(mu, sigma), size in base-asset units."""

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        if not (self.sigma > 0) or not math.isfinite(self.mu):
            raise ValueError("a log-normal needs a finite mu and sigma > 0")

    @property
    def dist(self) -> Any:
        """The frozen scipy distribution."""
        return stats.lognorm(s=self.sigma, scale=math.exp(self.mu))

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.lognormal(self.mu, self.sigma, size=n)

    def lots(self, rng: np.random.Generator, n: int, lot_size: float, max_lots: int) -> IntArray:
        """`n` sizes as whole lots of `lot_size` base units, at least 1 and at most `max_lots`."""
        raw = np.rint(self.sample(rng, n) / lot_size)
        return np.clip(raw, 1, max_lots).astype(np.int64)


@dataclass(frozen=True)
class FillModel:
    """The share of the touched level a trade takes: 1 with probability `p_full`, else
    Beta(a, b). `cdf` is that mixture's distribution function."""

    p_full: float
    a: float
    b: float

    def __post_init__(self) -> None:
        if not (0 <= self.p_full <= 1 and self.a > 0 and self.b > 0):
            raise ValueError("need 0 <= p_full <= 1 and a, b > 0")

    @property
    def dist(self) -> Any:
        """The Beta part (partial fills)."""
        return stats.beta(self.a, self.b)

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        full = rng.random(n) < self.p_full
        partial = rng.beta(self.a, self.b, size=n)
        return np.where(full, 1.0, partial)

    def cdf(self, x: npt.ArrayLike) -> FloatArray:
        xs = np.asarray(x, dtype=np.float64)
        out: FloatArray = (1 - self.p_full) * self.dist.cdf(xs) + self.p_full * (xs >= 1.0)
        return out

    def filled_lots(self, rng: np.random.Generator, level_lots: int) -> int:
        """Lots one trade takes from a level of `level_lots` (whole lots, at least 1)."""
        share = float(self.sample(rng, 1)[0])
        return max(1, min(level_lots, int(share * level_lots)))


@dataclass(frozen=True)
class LatencyModel:
    """Log-normal delay in microseconds; a spike (probability `spike_prob`) multiplies it by
    `spike_factor`."""

    mu: float
    sigma: float
    spike_prob: float = 0.0
    spike_factor: float = 10.0

    def __post_init__(self) -> None:
        if not (self.sigma > 0) or not math.isfinite(self.mu):
            raise ValueError("a log-normal needs a finite mu and sigma > 0")
        if not (0 <= self.spike_prob < 1 and self.spike_factor >= 1):
            raise ValueError("need 0 <= spike_prob < 1 and spike_factor >= 1")

    @property
    def dist(self) -> Any:
        """The frozen scipy log-normal (without spikes)."""
        return stats.lognorm(s=self.sigma, scale=math.exp(self.mu))

    def sample(self, rng: np.random.Generator, n: int) -> IntArray:
        """`n` delays in whole microseconds (at least 1)."""
        delay = rng.lognormal(self.mu, self.sigma, size=n)
        if self.spike_prob:
            delay = np.where(rng.random(n) < self.spike_prob, delay * self.spike_factor, delay)
        return np.maximum(1, np.rint(delay)).astype(np.int64)


@dataclass(frozen=True)
class LatencyProfile:
    """Order entry (send to venue), acknowledgement (venue to client) and market data delays."""

    entry: LatencyModel = field(default_factory=lambda: LatencyModel(math.log(800.0), 0.35))
    ack: LatencyModel = field(default_factory=lambda: LatencyModel(math.log(600.0), 0.35))
    market_data: LatencyModel = field(default_factory=lambda: LatencyModel(math.log(400.0), 0.5))


@dataclass(frozen=True)
class MarketModel:
    """Everything a simulation needs to generate one symbol's flow."""

    symbol: str
    arrivals: ArrivalModel
    sizes: SizeModel
    fills: FillModel
    latency: LatencyProfile = field(default_factory=LatencyProfile)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.arrivals.hourly is not None:
            out["arrivals"]["hourly"] = list(self.arrivals.hourly)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MarketModel:
        """The inverse of `to_dict` (raises KeyError/TypeError/ValueError on a bad shape)."""
        arrivals = dict(data["arrivals"])
        if arrivals.get("hourly") is not None:
            arrivals["hourly"] = tuple(arrivals["hourly"])
        latency = data.get("latency")
        return cls(
            symbol=str(data["symbol"]),
            arrivals=ArrivalModel(**arrivals),
            sizes=SizeModel(**data["sizes"]),
            fills=FillModel(**data["fills"]),
            latency=(
                LatencyProfile(**{k: LatencyModel(**v) for k, v in latency.items()})
                if latency
                else LatencyProfile()
            ),
        )
