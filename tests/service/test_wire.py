"""The wire codec: commands and results as bytes for the Ray boundary, equal on the other side."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from enum import Enum
from typing import Any, get_type_hints

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot4.core import enums
from bot4.core.enums import (
    CancelRestriction,
    OrderStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from bot4.core.errors import Category, VenueError
from bot4.core.events import ExecutionReport
from bot4.core.orders import (
    AmendOrder,
    CancelOrder,
    CancelReplace,
    ListLeg,
    NewOco,
    NewOrder,
)
from bot4.core.results import Ack
from bot4.service import wire
from bot4.service.commands import Command, Deposit, Grant, RiskState
from bot4.service.wire import LeanAck
from tests.conftest import ROOT

BUY, SELL, GTC, IOC = Side.BUY, Side.SELL, TimeInForce.GTC, TimeInForce.IOC
LIMIT = OrderType.LIMIT
PRICE = 3_000_000  # 30000.00 in ticks

TEXT = st.text(st.characters(exclude_categories=[]), max_size=10) | st.sampled_from(
    ["", '"', "\\", "\x00", "üñí", "\ud800", "😀"]
)
INTS = st.integers() | st.sampled_from([-1, 2**63, -(2**64), 10**40])


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def fast_commands() -> st.SearchStrategy[Command]:
    new = st.builds(NewOrder, TEXT, opt(st.sampled_from(Side)), opt(st.sampled_from(OrderType)),
                    INTS, INTS, opt(st.sampled_from(TimeInForce)), INTS, opt(TEXT),
                    opt(st.sampled_from(StpMode)), INTS, INTS | st.booleans())  # fmt: skip
    cancel = st.builds(CancelOrder, TEXT, opt(INTS), opt(TEXT), opt(TEXT),
                       opt(st.sampled_from(CancelRestriction)))  # fmt: skip
    deposit = st.builds(Deposit, TEXT, TEXT, INTS | st.floats(allow_nan=False))
    return st.builds(Command, st.sampled_from(["submit", "cancel", "deposit", "x"]),
                     new | cancel | deposit, INTS, opt(INTS), opt(INTS))  # fmt: skip


def tags(marker: bytes, blob: bytes) -> list[int]:
    """The item tags of a frame (which items took a fast path)."""
    return [item[0] for item in wire._items(marker, blob)]


def assert_same_enums(a: Any, b: Any) -> None:
    """Enums inside equal values are the very same members."""
    if isinstance(a, Enum):
        assert a is b
    elif isinstance(a, tuple | list):
        for x, y in zip(a, b, strict=True):
            assert_same_enums(x, y)


@given(st.lists(fast_commands(), max_size=5))
def test_new_orders_cancels_and_deposits_round_trip_on_the_fast_path(
    commands: list[Command],
) -> None:
    blob = wire.encode_commands(commands)
    back = wire.decode_commands(blob)
    assert back == commands and [type(c.request) for c in back] == [
        type(c.request) for c in commands]  # fmt: skip
    assert_same_enums(back, commands)
    assert wire._OBJECT not in tags(wire._COMMANDS, blob)


ODD = st.sampled_from([np.int64(5), np.float64(1.5), bytearray(b"x"), Category.RISK, Side.BUY,
                       [1, 2], {"a": 1}, 1.5, True, ("t",)])  # fmt: skip


@given(fast_commands(), st.integers(0, 10), ODD)
def test_odd_values_and_other_commands_round_trip_exactly(
    command: Command, field: int, odd: Any
) -> None:
    request = command.request
    odd_request = request._replace(**{request._fields[field % len(request)]: odd})
    commands = [
        command._replace(request=odd_request),
        command._replace(kind=odd),
        Command("amend", AmendOrder("a", 5, 1, None, "n"), 1, 2, 3),
        Command("oco", NewOco("a", SELL, 5, ListLeg(OrderType.LIMIT_MAKER, 9), ListLeg(LIMIT)), 1),
        Command("cancel_replace", CancelReplace(CancelOrder("a", 1), request), 1),
        Command("grant", Grant("a", 10**30), 1),
        Command("risk_state", RiskState("a", "HALTED", "r"), 1),
        command,
    ]
    back = wire.decode_commands(wire.encode_commands(commands))
    assert back == commands
    assert [type(c.request) for c in back] == [type(c.request) for c in commands]
    assert type(back[0].request[field % len(request)]) is type(odd)  # np.int64 stays np.int64
    assert_same_enums(back, commands)


def test_engine_results_decode_equal_with_the_same_enum_members(results: list[Any]) -> None:
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["Ack", "Ack", "VenueError", "VenueError", "Ack", "ListAck", "Ack", "Ack",
                     "CancelReplaceResult", "Ack", "list", "NoneType"]  # fmt: skip
    taker = results[1]
    assert taker.status is OrderStatus.FILLED and {r.account for r in taker.reports} == {
        "alice", "bob"}  # fmt: skip
    assert results[6].list_statuses  # the OCO leg it filled ended the list
    stp = results[9].reports[-1]
    assert stp.status is OrderStatus.EXPIRED_IN_MATCH and stp.prevented_qty == 500
    blob = wire.encode_results(results)
    back = wire.decode_results(blob)
    assert back == results and [type(r) for r in back] == [type(r) for r in results]
    assert_same_enums(back, results)
    assert all(type(r) is ExecutionReport for r in back[1].reports)
    assert back[2].category is Category.VALIDATION
    fast = {wire._ACK, wire._ERROR}
    assert [t in fast for t in tags(wire._RESULTS, blob)] == [
        type(r) in (Ack, VenueError) and not getattr(r, "list_statuses", ()) for r in results
    ]


def test_the_codec_handles_each_enum_field_of_a_report() -> None:
    hints = get_type_hints(ExecutionReport)
    enum_fields = [i for i, name in enumerate(ExecutionReport._fields)
                   if any(isinstance(t, type) and issubclass(t, Enum)
                          for t in getattr(hints[name], "__args__", (hints[name],)))]  # fmt: skip
    assert enum_fields == [4, 5, 6, 12, 18, 19, 20]  # the positions _report_item converts


def test_lean_acks_carry_the_seq_range_of_their_reports(results: list[Any]) -> None:
    empty = Ack(7, "c", OrderStatus.NEW, 0, 0, 5, ())
    back = wire.decode_lean(wire.lean_results([*results, empty]))
    assert len(back) == len(results) + 1
    for original, lean in zip([*results, empty], back, strict=True):
        if type(original) is not Ack:
            assert lean == original and type(lean) is type(original)
            continue
        assert type(lean) is LeanAck and lean.status is original.status
        assert lean[:6] == original[:6]
        seqs = [r.seq for r in original.reports]
        if seqs:  # the reports are the events first_seq..last_seq, with no gap
            assert seqs == list(range(lean.first_seq, lean.last_seq + 1))
        else:
            assert (lean.first_seq, lean.last_seq) == (-1, -1)
    assert (back[1].first_seq, back[1].last_seq) == (2, 4)  # the taker: its NEW, maker, taker


def test_frames_of_one_kind_are_not_read_as_another(results: list[Any]) -> None:
    blobs = {wire.decode_commands: wire.encode_commands([Command("deposit", Deposit("a", "B", 1),
                                                                 0)]),
             wire.decode_results: wire.encode_results(results),
             wire.decode_lean: wire.lean_results(results)}  # fmt: skip
    for decode in blobs:
        for other, blob in blobs.items():
            if other is not decode:
                with pytest.raises(ValueError, match="not a b'"):
                    decode(blob)


DECODERS = [wire.decode_commands, wire.decode_results, wire.decode_lean]


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_value_error(blob: bytes) -> None:
    for decode in DECODERS:
        with pytest.raises(ValueError):
            decode(blob)


def test_cut_or_flipped_frames_raise_value_error(results: list[Any]) -> None:
    blob = wire.encode_results(results)
    for cut in range(len(blob)):
        with pytest.raises(ValueError):
            wire.decode_results(blob[:cut])
    for i in range(len(blob)):
        for bit in (0x01, 0x80):
            flipped = bytearray(blob)
            flipped[i] ^= bit
            with pytest.raises(ValueError):
                wire.decode_results(bytes(flipped))


PAYLOADS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.binary(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=9).map(tuple),
    max_leaves=30,
)


MARKERS = [wire._COMMANDS, wire._RESULTS, wire._LEAN_RESULTS]


@given(PAYLOADS)
def test_intact_frames_of_odd_items_decode_or_raise_value_error(payload: Any) -> None:
    for marker, decode in zip(MARKERS, DECODERS, strict=True):
        try:
            decoded = decode(wire.frame(marker, pickle.dumps(payload, 5)))
        except ValueError:
            continue
        assert type(decoded) is list


class Unloadable:
    def __reduce__(self) -> tuple[Any, ...]:
        return int, ("not a number",)


@pytest.mark.parametrize("payload", [
    b"", b"\x80\x05", b"not a pickle", b"\x80\x04cno_such_module\nthing\n.",
    pickle.dumps([(wire._OBJECT, Unloadable())]), pickle.dumps(7), pickle.dumps([(99, 1)]),
    pickle.dumps([(wire._NEW_ORDER, "submit")]),
    pickle.dumps([(wire._ACK, 1, "c", -5, 0, 0, 0, [])]),
])  # fmt: skip
def test_intact_frames_of_bad_pickles_raise_value_error(payload: bytes) -> None:
    for marker, decode in zip(MARKERS, DECODERS, strict=True):
        with pytest.raises(ValueError, match="malformed"):
            decode(wire.frame(marker, payload))


def test_enum_codes_are_the_same_in_another_process(results: list[Any]) -> None:
    """Codes come from the enum definitions, not from hashing: a driver and an actor agree."""
    code = ("import sys; from bot4.service import wire; "
            "from bot4.service.commands import Command; from bot4.core.orders import NewOrder; "
            "from bot4.core.enums import Side, OrderType, TimeInForce, StpMode; "
            "c = Command('submit', NewOrder('a', Side.SELL, OrderType.LIMIT_MAKER, 1, 2, "
            "TimeInForce.FOK, 0, 'x', StpMode.DECREMENT), 3, 4, 5); "
            "sys.stdout.write(wire.encode_commands([c]).hex())")  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    (command,) = wire.decode_commands(bytes.fromhex(out))
    assert command == Command("submit", NewOrder("a", SELL, OrderType.LIMIT_MAKER, 1, 2,
                                                 TimeInForce.FOK, 0, "x", StpMode.DECREMENT),
                              3, 4, 5)  # fmt: skip
    members = [m for obj in vars(enums).values()
               if isinstance(obj, type) and issubclass(obj, Enum) for m in obj]  # fmt: skip
    assert sorted(wire._CODES.values()) == list(range(len(members) + len(Category)))


def test_a_frame_is_smaller_than_a_pickle_of_the_objects(results: list[Any]) -> None:
    taker = [results[1]]
    assert len(wire.encode_results(taker)) < len(pickle.dumps(taker, 5)) * 0.7
