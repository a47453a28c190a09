"""The native engine's batch form: many requests as bytes in, compact answers out.

`encode_requests` writes (now, request) pairs (`NewOrder`, `CancelOrder`, `AmendOrder`, and the
order lists `NewOco`, `NewOto`, `NewOtoco`, `CancelOrderList`) in the binary form
`NativeEngine.submit_batch` reads (native/src/engine/batch.rs documents it);
`RESULT_DTYPE` reads the answers as a NumPy structured array without copying, and `refusals`
turns an answer's refusal index back into the `VenueError` the per-call path returns.
A request must have the types its NamedTuple promises (enumeration members, ints within 64
bits, strings): `encode_requests` raises ValueError otherwise, before anything is sent.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from functools import cache

import numpy as np

from bot4._native import refusal_names
from bot4.core import errors
from bot4.core.enums import (
    CancelRestriction,
    ListOrderStatus,
    OrderStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from bot4.core.errors import VenueError
from bot4.core.orders import (
    AmendOrder,
    CancelOrder,
    CancelOrderList,
    ListLeg,
    NewOco,
    NewOrder,
    NewOto,
    NewOtoco,
)
from bot4.venue.rules import _TYPE_NAMES, CLIENT_ID_PATTERN

Request = NewOrder | CancelOrder | AmendOrder | NewOco | NewOto | NewOtoco | CancelOrderList

RESULT_DTYPE = np.dtype(
    [
        ("refused", "u1"),
        ("status", "u1"),
        ("refusal", "<u2"),
        ("reports", "<u4"),
        ("order_id", "<i8"),
        ("executed_qty", "<i8"),
        ("cum_quote_lo", "<u8"),
        ("cum_quote_hi", "<i8"),
    ]
)
"""One answer: refused (0/1), the order's status (index in `STATUSES`), the refusal (index in
`refusals()`), how many reports, order id, executed quantity, and the cumulative quote as the
low and high halves of a 128-bit integer (`cum_quote`). An order list's answer holds the list's
status (index in `LIST_STATUSES`) and its orderListId, with the executed quantity and the
cumulative quote of its orders summed."""

STATUSES = tuple(OrderStatus)
LIST_STATUSES = tuple(ListOrderStatus)
_INDEX: dict[type, dict[object, int]] = {
    enum: {member: i for i, member in enumerate(enum)}
    for enum in (Side, OrderType, TimeInForce, StpMode, CancelRestriction)
}
_NONE = 255
_NEW = struct.Struct("<Bq4B5q")
_I64 = struct.Struct("<q")


def _index(enum: type, value: object) -> int:
    if value is None:
        return _NONE
    try:
        return _INDEX[enum][value]
    except (KeyError, TypeError):
        raise ValueError(f"{value!r} is not a {enum.__name__}") from None


def _str(value: object, optional: bool = True) -> bytes:
    if value is None and optional:
        return b"\xff\xff"
    if type(value) is not str:
        raise ValueError(f"{value!r} is not a string")
    raw = value.encode()
    if len(raw) >= 0xFFFF:
        raise ValueError("a string of 65535 bytes or more")
    return len(raw).to_bytes(2, "little") + raw


def _int(value: object) -> int:
    if type(value) is not int or not -(2**63) <= value < 2**63:
        raise ValueError(f"{value!r} is not a 64-bit int")
    return value


def _opt_int(value: object) -> bytes:
    return b"\x00" if value is None else b"\x01" + _I64.pack(_int(value))


def _new(kind: int, now: int, req: NewOrder) -> bytes:
    """A new order's fields, after the kind and the time (kind 0) or alone (kind None)."""
    head = _NEW.pack(
        kind, _int(now), _index(Side, req.side), _index(OrderType, req.type),
        _index(TimeInForce, req.time_in_force), _index(StpMode, req.stp_mode),
        _int(req.quantity), _int(req.price), _int(req.quote_order_qty),
        _int(req.stop_price), _int(req.trailing_delta),
    )  # fmt: skip
    return head + _str(req.account, optional=False) + _str(req.client_order_id)


def _order(req: object) -> bytes:
    """A list's working or pending order: a new order's fields without kind and time."""
    if not isinstance(req, NewOrder):
        raise ValueError(f"{req!r} is not a NewOrder")
    return _new(0, 0, req)[9:]


def _leg(leg: object) -> bytes:
    if not isinstance(leg, ListLeg):
        raise ValueError(f"{leg!r} is not a ListLeg")
    out = bytes((_index(OrderType, leg.type), _index(TimeInForce, leg.time_in_force)))
    out += _I64.pack(_int(leg.price)) + _I64.pack(_int(leg.stop_price))
    return out + _I64.pack(_int(leg.trailing_delta)) + _str(leg.client_order_id)


def _required(enum: type, value: object) -> int:
    if value is None:
        raise ValueError(f"None is not a {enum.__name__}")
    return _index(enum, value)


def encode_requests(requests: Iterable[tuple[int, Request]]) -> bytes:
    """The binary form of (now, request) pairs, in order."""
    out = bytearray()
    for now, req in requests:
        if isinstance(req, NewOrder):
            out += _new(0, now, req)
        elif isinstance(req, NewOco):
            out += b"\x03" + _I64.pack(_int(now)) + _str(req.account, optional=False)
            out += bytes((_required(Side, req.side),)) + _I64.pack(_int(req.quantity))
            out += bytes((_index(StpMode, req.stp_mode),)) + _str(req.list_client_order_id)
            out += _leg(req.above) + _leg(req.below)
        elif isinstance(req, NewOto):
            out += b"\x04" + _I64.pack(_int(now)) + _order(req.working) + _order(req.pending)
            out += _str(req.list_client_order_id)
        elif isinstance(req, NewOtoco):
            out += b"\x05" + _I64.pack(_int(now)) + _order(req.working)
            out += bytes((_required(Side, req.pending_side),))
            out += _I64.pack(_int(req.pending_quantity)) + _leg(req.above) + _leg(req.below)
            out += _str(req.list_client_order_id)
        elif isinstance(req, CancelOrderList):
            out += b"\x06" + _I64.pack(_int(now)) + _str(req.account, optional=False)
            out += _opt_int(req.order_list_id) + _str(req.list_client_order_id)
            out += _str(req.new_client_order_id)
        elif isinstance(req, CancelOrder):
            out += b"\x01" + _I64.pack(_int(now)) + _str(req.account, optional=False)
            out += _opt_int(req.order_id) + _str(req.orig_client_order_id)
            out += _str(req.new_client_order_id)
            out.append(_index(CancelRestriction, req.restriction))
        elif isinstance(req, AmendOrder):
            out += b"\x02" + _I64.pack(_int(now)) + _str(req.account, optional=False)
            out += _I64.pack(_int(req.new_qty)) + _opt_int(req.order_id)
            out += _str(req.orig_client_order_id) + _str(req.new_client_order_id)
        else:
            raise ValueError(f"{type(req).__name__} is not a request the batch carries")
    return bytes(out)


def decode_results(data: bytes) -> np.ndarray:
    """The answers of a batch as a structured array (a view of `data`)."""
    return np.frombuffer(data, dtype=RESULT_DTYPE)


def cum_quote(row: np.void) -> int:
    """An answer's cumulative quote (tick-lots) as a Python int."""
    return int(row["cum_quote_hi"]) * 2**64 + int(row["cum_quote_lo"])


def refusal(name: str, first: str | None, second: str | None) -> VenueError:
    """The `bot4.core.errors` value the native engine names: a constant, or a factory's result."""
    if name == "illegal_client_id":
        assert first is not None
        return errors.illegal_chars(first, CLIENT_ID_PATTERN)
    if name == "type_not_supported":
        assert first is not None
        return errors.not_supported(_TYPE_NAMES[OrderType(first)])
    value = getattr(errors, name)
    if first is None:
        assert isinstance(value, VenueError)
        return value
    made: VenueError = value(first) if second is None else value(first, second)
    return made


@cache
def refusals() -> tuple[VenueError, ...]:
    """The `VenueError` of each refusal index, in the native engine's order."""
    return tuple(refusal(name, first, second) for name, first, second in refusal_names())
