"""PNG plots of a calibration: per model, the data's histogram against the fitted density and a
QQ plot of data quantiles against the fitted distribution's. Rendered with matplotlib's Agg
backend (files only, no display)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt


def plot_fit(
    path: Path,
    title: str,
    data: npt.ArrayLike,
    pdf: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]],
    ppf: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]],
    *,
    log_x: bool = False,
) -> Path:
    """Write `path`: histogram with the fitted density (left) and a QQ plot (right)."""
    xs = np.sort(np.asarray(data, dtype=np.float64))
    if log_x:
        xs = xs[xs > 0]  # a log axis shows positive values only
    if len(xs) < 2 or xs[0] == xs[-1]:
        raise ValueError(f"{title}: need at least two distinct values to plot")
    fig, (hist, qq) = plt.subplots(1, 2, figsize=(10, 4))
    if log_x:  # the histogram of log10(x), against the density of log10 of the fitted law
        logs = np.log10(xs)
        hist.hist(logs, bins=50, density=True, alpha=0.5, label=f"data (n={len(xs)})")
        grid = np.linspace(logs[0], logs[-1], 400)
        hist.plot(grid, pdf(10**grid) * 10**grid * np.log(10), "r-", label="fitted density")
        hist.set_xlabel("log10 of value")
    else:
        hist.hist(xs, bins=50, density=True, alpha=0.5, label=f"data (n={len(xs)})")
        grid = np.linspace(xs[0], xs[-1], 400)
        hist.plot(grid, pdf(grid), "r-", label="fitted density")
        hist.set_xlabel("value")
    hist.set_title(f"{title}: histogram")
    hist.legend()
    probs = (np.arange(1, len(xs) + 1) - 0.5) / len(xs)
    theory = ppf(probs)
    qq.plot(theory, xs, ".", markersize=3)
    lo, hi = float(min(theory[0], xs[0])), float(max(theory[-1], xs[-1]))
    qq.plot([lo, hi], [lo, hi], "r-")
    if log_x:
        qq.set_xscale("log")
        qq.set_yscale("log")
    qq.set_xlabel("fitted quantile")
    qq.set_ylabel("data quantile")
    qq.set_title(f"{title}: QQ")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
