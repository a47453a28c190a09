"""Statistics helpers over exact integers: the nearest-rank percentile."""

from __future__ import annotations

import heapq
import math
from fractions import Fraction


def nearest_rank(values: list[int], percentile: float) -> int:
    """The nearest-rank percentile: the ceil(p/100 * n)-th smallest value (1-based, at least 1).

    `percentile` is read through its shortest decimal repr, so 99.9 means exactly 999/10.
    """
    n = len(values)
    if n == 0:
        raise ValueError("nearest_rank of no values")
    rank = max(1, math.ceil(Fraction(repr(percentile)) * n / 100))
    from_top = n - rank + 1
    if from_top <= rank:
        return heapq.nlargest(from_top, values)[-1]
    return heapq.nsmallest(rank, values)[-1]
