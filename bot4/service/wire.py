"""Commands and results as compact bytes, for what crosses the Ray boundary on the hot path.

Ray sends every NamedTuple and enum through msgpack and cloudpickle, one reducer call per
object (a taker's `[Ack]` holds ~25 of them); `bytes` cross as they are. Here NewOrder,
CancelOrder and Deposit commands, `Ack`s without list statuses and `VenueError`s become plain
tuples with enums as small ints, in one C pickle (marshal is no faster on these, and it would
write a numpy scalar as bytes). Anything else travels as itself in that pickle, so every value
decodes equal to what was encoded, enums as the very members.

A frame is the pickle, a marker byte (commands, results or lean results) and a CRC-32 of
both, checked before anything is unpickled (a few malformed bytes can make an unpickler
allocate gigabytes). The CRC is seeded with the codec's schema (enum codes, field names), so
bytes from another bot4 version, truncated or corrupted bytes, or a frame of another kind
raise `ValueError` rather than decoding to something else. It does not stop forged bytes: the
payload is a pickle, so decode only what the cluster's own processes sent. Both ends must run
the same bot4 and the same Python, as the nodes of one Ray cluster do.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Callable
from dataclasses import fields
from enum import Enum
from typing import Any, NamedTuple

from bot4.core import enums
from bot4.core.enums import (
    CancelRestriction,
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
from bot4.core.orders import CancelOrder, NewOrder
from bot4.core.results import Ack
from bot4.service.commands import Command, Deposit


class LeanAck(NamedTuple):
    """An Ack without its reports, as Binance answers newOrderRespType=RESULT.

    The Ack's reports are the symbol's events `first_seq`..`last_seq` (-1/-1 when there were
    none), which `events_since(first_seq - 1)` reads back while the symbol keeps them.
    """

    order_id: int
    client_order_id: str
    status: OrderStatus
    executed_qty: int  # lots
    cum_quote: int  # tick-lots
    transact_time: int
    first_seq: int
    last_seq: int


# Enum codes: every member of bot4.core.enums and errors.Category, numbered in the order of
# (class name, member order); None is -1. Each enum field has its own pair of tables, so a
# member of the wrong enum takes the pickle path instead of coming back as another member.
# The encoding side is keyed by id(): Enum.__hash__ is a Python call, and members live as
# long as their class, so an id names one member for good.
_ENUM_CLASSES: list[type[Enum]] = sorted(
    [obj for obj in vars(enums).values()
     if isinstance(obj, type) and issubclass(obj, Enum) and obj.__module__ == enums.__name__]
    + [Category],
    key=lambda cls: cls.__name__,
)  # fmt: skip
_CODES = {member: code for code, member in enumerate(m for c in _ENUM_CLASSES for m in c)}


def _tables(cls: type[Enum]) -> tuple[dict[int, int], dict[int, Any]]:
    """id(member) -> code and code -> member for the fields of one enum type (or None)."""
    members: list[Any] = [*cls, None]
    codes = [_CODES.get(member, -1) for member in members]
    return dict(zip(map(id, members), codes, strict=True)), dict(zip(codes, members, strict=True))


_SIDE, _SIDE_OF = _tables(Side)
_TYPE, _TYPE_OF = _tables(OrderType)
_TIF, _TIF_OF = _tables(TimeInForce)
_STP, _STP_OF = _tables(StpMode)
_EXEC, _EXEC_OF = _tables(ExecutionType)
_STATUS, _STATUS_OF = _tables(OrderStatus)
_EXPIRY, _EXPIRY_OF = _tables(ExpiryReason)
_RESTRICTION, _RESTRICTION_OF = _tables(CancelRestriction)
_CATEGORY, _CATEGORY_OF = _tables(Category)

# what an item's tuple starts with
_OBJECT, _NEW_ORDER, _CANCEL, _DEPOSIT, _ACK, _ERROR, _LEAN = range(7)
# what a frame holds (its first byte)
_COMMANDS, _RESULTS, _LEAN_RESULTS = b"C", b"R", b"L"
_SCHEMA = repr(
    (
        [(cls.__name__, [m.name for m in cls]) for cls in _ENUM_CLASSES],
        [cls._fields for cls in (Command, NewOrder, CancelOrder, Deposit, Ack, ExecutionReport,
                                 LeanAck)],
        [f.name for f in fields(VenueError)],
    )
)  # fmt: skip
_SEED = zlib.crc32(_SCHEMA.encode())
# a CRC-32 over a message followed by its own CRC (little-endian) is the same for every message
_RESIDUE = zlib.crc32(zlib.crc32(b"", _SEED).to_bytes(4, "little"), _SEED)
_make = tuple.__new__  # a NamedTuple from its fields, without its __new__'s argument handling


def frame(marker: bytes, payload: bytes) -> bytes:
    """`payload` framed: a marker byte of one kind of frame, and the CRC of both."""
    body = payload + marker
    return body + zlib.crc32(body, _SEED).to_bytes(4, "little")


def unframe(marker: bytes, blob: bytes) -> bytes:
    """A frame's payload; ValueError if it is not an intact frame of this kind."""
    if type(blob) is not bytes or zlib.crc32(blob, _SEED) != _RESIDUE or blob[-5:-4] != marker:
        size = len(blob) if isinstance(blob, bytes | bytearray) else "no"
        raise ValueError(f"not a {marker!r} frame of this bot4 wire codec ({size} bytes)")
    return blob[:-5]


def _items(marker: bytes, blob: bytes) -> list[Any]:
    """The item tuples of a frame; ValueError if it is not an intact frame of this kind."""
    unframe(marker, blob)
    try:
        items = pickle.loads(blob)  # it stops at the pickle's end, before marker and CRC
    except Exception as exc:  # a pickle can fail in any way; the caller gets ValueError
        raise ValueError(f"malformed {marker!r} frame: {exc!r}") from exc
    if type(items) is not list:
        raise ValueError(f"malformed {marker!r} frame: a {type(items).__name__}, not a list")
    return items


_Decoder = Callable[[tuple[Any, ...]], Any]  # an item tuple back to its value


def _decode(marker: bytes, blob: bytes, decoders: dict[int, _Decoder]) -> list[Any]:
    items = _items(marker, blob)
    try:
        return [decoders[item[0]](item) for item in items]
    except (LookupError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed {marker!r} frame: {exc!r}") from exc


def _object(item: tuple[Any, ...]) -> Any:
    _, value = item
    return value


# ------------------------------------------------------------------------------- commands


def _command_item(command: Command) -> tuple[Any, ...]:
    if type(command) is Command:
        kind, request, now, timestamp, recv_window = command
        try:
            if type(request) is NewOrder:
                account, side, type_, qty, price, tif, quote_qty, cid, stp, stop, trail = request
                return (_NEW_ORDER, kind, now, timestamp, recv_window, account, _SIDE[id(side)],
                        _TYPE[id(type_)], qty, price, _TIF[id(tif)], quote_qty, cid,
                        _STP[id(stp)], stop, trail)  # fmt: skip
            if type(request) is CancelOrder:
                account, order_id, orig_cid, new_cid, restriction = request
                return (_CANCEL, kind, now, timestamp, recv_window, account, order_id, orig_cid,
                        new_cid, _RESTRICTION[id(restriction)])  # fmt: skip
            if type(request) is Deposit:
                return (_DEPOSIT, kind, now, timestamp, recv_window, *request)
        except KeyError:
            pass  # an enum field holding something else: send the command as it is
    return (_OBJECT, command)


def _new_order(item: tuple[Any, ...]) -> Command:
    (_, kind, now, timestamp, recv_window, account, side, type_, qty, price, tif, quote_qty,
     cid, stp, stop, trail) = item  # fmt: skip
    request = _make(NewOrder, (account, _SIDE_OF[side], _TYPE_OF[type_], qty, price, _TIF_OF[tif],
                               quote_qty, cid, _STP_OF[stp], stop, trail))  # fmt: skip
    command: Command = _make(Command, (kind, request, now, timestamp, recv_window))
    return command


def _cancel(item: tuple[Any, ...]) -> Command:
    _, kind, now, timestamp, recv_window, account, order_id, orig_cid, new_cid, restriction = item
    request = _make(CancelOrder, (account, order_id, orig_cid, new_cid,
                                  _RESTRICTION_OF[restriction]))  # fmt: skip
    command: Command = _make(Command, (kind, request, now, timestamp, recv_window))
    return command


def _deposit(item: tuple[Any, ...]) -> Command:
    _, kind, now, timestamp, recv_window, account, asset, units = item
    request = _make(Deposit, (account, asset, units))
    command: Command = _make(Command, (kind, request, now, timestamp, recv_window))
    return command


_COMMAND_DECODERS: dict[int, _Decoder] = {
    _NEW_ORDER: _new_order,
    _CANCEL: _cancel,
    _DEPOSIT: _deposit,
    _OBJECT: _object,
}


def encode_commands(commands: list[Command]) -> bytes:
    """The commands as one frame (their `timestamp` and `recv_window` included)."""
    return frame(_COMMANDS, pickle.dumps([_command_item(c) for c in commands], 5))


def decode_commands(blob: bytes) -> list[Command]:
    """The commands of an `encode_commands` frame; ValueError for anything else."""
    return _decode(_COMMANDS, blob, _COMMAND_DECODERS)


# -------------------------------------------------------------------------------- results


# an ExecutionReport's enums: 4 side, 5 type, 6 time_in_force, 12 stp_mode, 18 execution_type,
# 19 status, 20 expiry_reason


def _report_item(report: ExecutionReport) -> list[Any]:
    r = list(report)
    r[4] = _SIDE[id(r[4])]
    r[5] = _TYPE[id(r[5])]
    r[6] = _TIF[id(r[6])]
    r[12] = _STP[id(r[12])]
    r[18] = _EXEC[id(r[18])]
    r[19] = _STATUS[id(r[19])]
    r[20] = _EXPIRY[id(r[20])]
    return r


def _report(r: list[Any]) -> ExecutionReport:
    r[4] = _SIDE_OF[r[4]]
    r[5] = _TYPE_OF[r[5]]
    r[6] = _TIF_OF[r[6]]
    r[12] = _STP_OF[r[12]]
    r[18] = _EXEC_OF[r[18]]
    r[19] = _STATUS_OF[r[19]]
    r[20] = _EXPIRY_OF[r[20]]
    report: ExecutionReport = _make(ExecutionReport, r)
    return report


def _error_item(error: VenueError) -> tuple[Any, ...]:
    return (_ERROR, error.code, error.msg, _CATEGORY[id(error.category)], error.retryable,
            error.retry_after_ms)  # fmt: skip


def _error(item: tuple[Any, ...]) -> VenueError:
    _, code, msg, category, retryable, retry_after_ms = item
    return VenueError(code, msg, _CATEGORY_OF[category], retryable, retry_after_ms)


def _result_item(result: Any) -> tuple[Any, ...]:
    try:
        if type(result) is Ack and not result.list_statuses:
            order_id, cid, status, executed, cum_quote, time, reports, _ = result
            return (_ACK, order_id, cid, _STATUS[id(status)], executed, cum_quote, time,
                    [_report_item(r) for r in reports])  # fmt: skip
        if type(result) is VenueError:
            return _error_item(result)
    except (LookupError, TypeError):
        pass  # not what the engine makes: send it as it is
    return (_OBJECT, result)


def _ack(item: tuple[Any, ...]) -> Ack:
    _, order_id, cid, status, executed, cum_quote, time, reports = item
    ack: Ack = _make(Ack, (order_id, cid, _STATUS_OF[status], executed, cum_quote, time,
                           tuple(map(_report, reports)), ()))  # fmt: skip
    return ack


_RESULT_DECODERS: dict[int, _Decoder] = {_ACK: _ack, _ERROR: _error, _OBJECT: _object}


def encode_results(results: list[Any]) -> bytes:
    """What `SymbolService.handle` returned, for a batch of commands, as one frame."""
    return frame(_RESULTS, pickle.dumps([_result_item(r) for r in results], 5))


def decode_results(blob: bytes) -> list[Any]:
    """The results of an `encode_results` frame; ValueError for anything else."""
    return _decode(_RESULTS, blob, _RESULT_DECODERS)


# ------------------------------------------------------------------------------ lean form


def _lean_item(result: Any) -> tuple[Any, ...]:
    if type(result) is not Ack:
        return _result_item(result)
    order_id, cid, status, executed, cum_quote, time, reports, _ = result
    first, last = (reports[0].seq, reports[-1].seq) if reports else (-1, -1)
    try:
        return (_LEAN, order_id, cid, _STATUS[id(status)], executed, cum_quote, time, first, last)
    except KeyError:
        return (_OBJECT, LeanAck(order_id, cid, status, executed, cum_quote, time, first, last))


def _lean(item: tuple[Any, ...]) -> LeanAck:
    _, order_id, cid, status, executed, cum_quote, time, first, last = item
    lean: LeanAck = _make(LeanAck, (order_id, cid, _STATUS_OF[status], executed, cum_quote,
                                    time, first, last))  # fmt: skip
    return lean


_LEAN_DECODERS: dict[int, _Decoder] = {_LEAN: _lean, _ERROR: _error, _OBJECT: _object}


def lean_results(results: list[Any]) -> bytes:
    """Results as one frame with each `Ack` cut to a `LeanAck` (the rest as `encode_results`)."""
    return frame(_LEAN_RESULTS, pickle.dumps([_lean_item(r) for r in results], 5))


def decode_lean(blob: bytes) -> list[Any]:
    """The results of a `lean_results` frame; ValueError for anything else."""
    return _decode(_LEAN_RESULTS, blob, _LEAN_DECODERS)
