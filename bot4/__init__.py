"""bot4: a Binance-Spot-faithful trading engine and exchange simulator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot4.api import Client

__version__ = "0.1.0"


def connect(*args: Any, **kwargs: Any) -> Client:
    """`bot4.api.connect`: deploy or attach to the symbol actors on Ray (imported on use)."""
    from bot4.api import connect as _connect

    return _connect(*args, **kwargs)
