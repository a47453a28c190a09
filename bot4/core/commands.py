"""Commands as bytes: the requests a symbol journals before it acknowledges them.

A command is (kind, request, now). The request is one of the core's request NamedTuples
(`NewOrder`, `CancelOrder`, `AmendOrder`, `CancelReplace`, `NewOco`, `NewOto`, `NewOtoco`,
`CancelOrderList`), a `Deposit`, or what the risk desk decided for the symbol (`Grant`,
`RiskState`). The encoding is one JSON line: NamedTuples and enums are
tagged by type name, so decoding gives back equal values, and the same command always encodes
to the same bytes. The engine is deterministic, so replaying a journal of commands rebuilds
the exact state (`state_digest`) of the symbol.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, NamedTuple

from bot4.core import enums, orders


class Deposit(NamedTuple):
    """Credit `units` of `asset` to an account's free balance."""

    account: str
    asset: str
    units: int


class Grant(NamedTuple):
    """The risk desk's whole grant of gross exposure to this symbol for an account (units of
    the valuation asset)."""

    account: str
    total: int


class RiskState(NamedTuple):
    """An account's trading state (a `TradingState` value), as the risk desk set it."""

    account: str
    state: str
    reason: str


_TUPLES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        orders.NewOrder,
        orders.CancelOrder,
        orders.AmendOrder,
        orders.CancelReplace,
        orders.ListLeg,
        orders.NewOco,
        orders.NewOto,
        orders.NewOtoco,
        orders.CancelOrderList,
        Deposit,
        Grant,
        RiskState,
    )
}
_ENUMS: dict[str, type[Enum]] = {
    name: obj
    for name, obj in vars(enums).items()
    if isinstance(obj, type) and issubclass(obj, Enum) and obj is not Enum
}
KINDS = ("submit", "cancel", "amend", "cancel_replace", "oco", "oto", "otoco", "cancel_list",
         "deposit", "grant", "risk_state")  # fmt: skip


class Command(NamedTuple):
    """One journaled request: what to do, with which request, at which time (ms).

    `timestamp` and `recv_window` are the client's, as on a signed request (ms, or µs with 16
    digits): the symbol's timestamp guard checks them against `now` before anything else.
    They are not journaled (a command in the journal already passed the guard).
    """

    kind: str
    request: Any
    now: int
    timestamp: int | None = None
    recv_window: int | None = None


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return {"e": type(value).__name__, "v": value.value}
    if isinstance(value, tuple) and type(value).__name__ in _TUPLES:
        return {"t": type(value).__name__, "f": [_plain(v) for v in value]}
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"cannot journal a {type(value).__name__}")


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        if "e" in value:
            return _ENUMS[value["e"]](value["v"])
        cls = _TUPLES[value["t"]]
        return cls(*(_typed(v) for v in value["f"]))
    return value


def encode(command: Command) -> bytes:
    """One line of JSON (with its newline) for a command."""
    if command.kind not in KINDS:
        raise ValueError(f"unknown command kind {command.kind!r}")
    body = {"k": command.kind, "n": command.now, "r": _plain(command.request)}
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode() + b"\n"


def decode(line: bytes) -> Command:
    """The command of one encoded line (raises ValueError on a malformed one)."""
    try:
        body = json.loads(line)
        kind, now, request = body["k"], body["n"], _typed(body["r"])
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"malformed journal line: {line[:80]!r}") from exc
    if kind not in KINDS or type(now) is not int:
        raise ValueError(f"malformed journal line: {line[:80]!r}")
    return Command(kind, request, now)
