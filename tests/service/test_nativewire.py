"""The native results codec: every result comes back equal, with the very enum members and
types, from its binary frame; anything malformed raises ValueError and never crashes."""

from __future__ import annotations

import gc
import pickle
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot4.core.enums import ExecutionType, OrderStatus, Side
from bot4.core.errors import Category, VenueError
from bot4.core.events import ExecutionReport
from bot4.core.results import Ack
from bot4.service import nativewire, wire


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (enum members by identity)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a is b if isinstance(a, Side | OrderStatus | ExecutionType | Category) else a == b


def test_engine_results_come_back_equal_from_the_binary_frame(results: list[Any]) -> None:
    blob = nativewire.encode_results(results)
    assert blob[-5:-4] == b"B"
    back = nativewire.decode_results(blob)
    assert same(back, results)
    assert back == wire.decode_results(wire.encode_results(results))
    # acks and errors go as fields (the rest: lists, list acks, None, as their pickle)
    acks = [r for r in results if type(r) is Ack and not r.list_statuses]
    assert len(nativewire.encode_results(acks)) < 0.7 * len(wire.encode_results(acks))


def test_it_reads_the_python_codecs_frames_too(results: list[Any]) -> None:
    assert same(nativewire.decode_results(wire.encode_results(results)), results)


def test_decoded_results_are_left_out_of_the_cycle_collector(results: list[Any]) -> None:
    back = nativewire.decode_results(nativewire.encode_results(results))
    acks = [r for r in back if type(r) is Ack and not r.list_statuses]
    assert acks and not any(gc.is_tracked(a) or gc.is_tracked(a.reports) for a in acks)
    assert not any(gc.is_tracked(r) for a in acks for r in a.reports)
    assert gc.isenabled()


def report(**change: Any) -> ExecutionReport:
    base = ExecutionReport(
        "BTCUSDT", "alice", 1, "c", Side.BUY, *[None] * 2, 3, 4, 0, 5, 5, None, 0, 0, -1, 7, "",
        ExecutionType.NEW, OrderStatus.NEW, None, 0, 0, 0, 0, 0, "", -1, False, True, 5,
        -1, 0, 0, 0, 0,
    )  # fmt: skip
    return base._replace(**change)


ODD_FIELDS = [
    {"price": True},  # a bool where an int goes
    {"cum_quote": 2**127 - 1},
    {"commission": -(2**127)},
    {"cum_quote": 2**130},  # past 128 bits
    {"order_id": np.int64(5)},
    {"account": "\ud800"},  # text that is not Unicode
    {"symbol": "😀 üñí \x00"},
    {"side": "BUY"},  # not a member
    {"status": ExecutionType.NEW},  # a member of another enumeration
    {"is_maker": 1},
]


@pytest.mark.parametrize("change", ODD_FIELDS, ids=[next(iter(c)) for c in ODD_FIELDS])
def test_odd_fields_round_trip_exactly(change: dict[str, Any], results: list[Any]) -> None:
    ack = Ack(9, "c", OrderStatus.NEW, 0, 0, 5, (report(**change), report()))
    items = [ack, *results[:3], VenueError(-1015, "slow", Category.RATE_LIMIT, True, 10**20)]
    back = nativewire.decode_results(nativewire.encode_results(items))
    assert same(back, items)


class MyError(VenueError):
    """A subclass: not what the codec writes field by field."""


def test_a_subclass_or_an_ack_with_list_statuses_travels_as_itself(results: list[Any]) -> None:
    oco_fill = next(r for r in results if type(r) is Ack and r.list_statuses)
    items = [MyError(-1, "m", Category.VALIDATION), oco_fill, {"a": 1}, (1, 2)]
    assert same(nativewire.decode_results(nativewire.encode_results(items)), items)


@given(st.lists(st.integers(-(2**200), 2**200), max_size=20))
def test_any_integer_field_round_trips(values: list[int]) -> None:
    acks = [Ack(v, "c", OrderStatus.FILLED, v, v, v, (report(cum_quote=v, price=v),))
            for v in values]  # fmt: skip
    assert same(nativewire.decode_results(nativewire.encode_results(acks)), acks)


def test_a_frame_of_another_kind_or_cut_or_flipped_raises_value_error(results: list[Any]) -> None:
    blob = nativewire.encode_results(results)
    with pytest.raises(ValueError, match="not a b'B' frame"):
        nativewire.decode_results(wire.lean_results(results))
    with pytest.raises(ValueError, match="not a b'R' frame"):
        wire.decode_results(blob)
    for cut in range(0, len(blob), 7):
        with pytest.raises(ValueError):
            nativewire.decode_results(blob[:cut])
    for i in range(0, len(blob), 5):
        flipped = bytearray(blob)
        flipped[i] ^= 0x10
        with pytest.raises(ValueError):
            nativewire.decode_results(bytes(flipped))
    with pytest.raises(ValueError):
        nativewire.decode_results(bytearray(blob))  # type: ignore[arg-type]


@given(st.binary(max_size=400))
def test_any_intact_frame_of_any_payload_decodes_or_raises_value_error(payload: bytes) -> None:
    """The CRC passes, so the native reader itself meets whatever bytes: lengths, indexes,
    varints and tags are all checked."""
    try:
        back = nativewire.decode_results(wire.frame(b"B", payload))
    except ValueError as exc:
        assert "malformed" in str(exc)
    else:
        assert type(back) is list
    assert gc.isenabled()


def test_cut_payloads_of_real_results_raise_value_error(results: list[Any]) -> None:
    data = wire.unframe(b"B", nativewire.encode_results(results))
    for cut in range(len(data)):
        with pytest.raises(ValueError, match="malformed"):
            nativewire.decode_results(wire.frame(b"B", data[:cut]))
    with pytest.raises(ValueError, match="bytes after"):
        nativewire.decode_results(wire.frame(b"B", data + b"\x00"))
    # one item (zigzag 2), an object (tag 0) of 3 bytes (zigzag 6) that are no pickle
    with pytest.raises(ValueError, match="pickled item"):
        nativewire.decode_results(wire.frame(b"B", bytes([2, 0, 6]) + b"abc"))


def test_a_frame_encoded_from_a_tuple_of_results_is_a_list(results: list[Any]) -> None:
    assert nativewire.decode_results(nativewire.encode_results(tuple(results))) == results  # type: ignore[arg-type]
    assert pickle.loads(pickle.dumps(results)) == results
