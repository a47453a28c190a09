"""Results as compact binary frames, written and read in native code, for the Ray hot path.

`bot4.service.wire` sends results as one pickle of plain tuples; building and reading those
costs more per order than matching it. Here the same results (`Ack`s without list statuses,
with their reports, and `VenueError`s) become a binary payload that
`bot4._native.ResultCodec` writes and reads (native/src/pywire.rs): integers as varints,
strings once per frame, enumeration members as their index. Anything else travels as its
pickle inside, so every result decodes equal to what was encoded, enums as the very members.

The frame is `wire`'s: payload, marker (``B``), and a CRC-32 seeded with the codec's schema,
checked before anything is read. `decode_results` reads these frames and `wire`'s pickled
result frames alike, so either end may be upgraded first. As with `wire`, decode only what
the cluster's own processes sent.
"""

from __future__ import annotations

import gc
import pickle
from functools import partial
from typing import Any

from bot4._native import ResultCodec
from bot4.core.enums import (
    ExecutionType,
    ExpiryReason,
    OrderStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from bot4.core.errors import Category, VenueError
from bot4.core.events import ExecutionReport
from bot4.core.results import Ack
from bot4.service import wire

_BINARY = b"B"
_RESULTS = b"R"
# the members of each enumeration field, in the order the codec's tables are numbered
_TABLES: list[list[Any]] = [
    list(Side),
    list(OrderType),
    [*TimeInForce, None],
    list(StpMode),
    list(ExecutionType),
    list(OrderStatus),
    list(ExpiryReason),
    list(Category),
]
_CODEC = ResultCodec(
    (Ack, ExecutionReport, VenueError), _TABLES, partial(pickle.dumps, protocol=5), pickle.loads
)


def encode_results(results: list[Any]) -> bytes:
    """What `SymbolService.handle` returned, for a batch of commands, as one binary frame."""
    return wire.frame(_BINARY, _CODEC.encode(results if type(results) is list else list(results)))


def decode_results(blob: bytes) -> list[Any]:
    """The results of an `encode_results` frame or of a `wire.encode_results` one; ValueError
    for anything else."""
    if isinstance(blob, bytes) and blob[-5:-4] == _RESULTS:
        return wire.decode_results(blob)
    data = wire.unframe(_BINARY, blob)
    # no collection while it builds: the codec keeps what it builds out of the collector's
    # sight (it can be in no cycle), but each object built would still count toward one
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _CODEC.decode(data)
    finally:
        if enabled:
            gc.enable()
