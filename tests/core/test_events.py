"""Reports: canonical encoding, digests, and gap detection on the sequence numbers."""

from __future__ import annotations

import pytest

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.events import ExecutionReport, Gap, SequenceTracker, digest, encode
from bot4.core.instruments import Instrument
from bot4.core.orders import NewOrder
from bot4.core.results import Ack
from tests.conftest import funded_engine, simple_spec


def _reports() -> list[ExecutionReport]:
    engine = funded_engine(Instrument.compile(simple_spec()))
    out: list[ExecutionReport] = []
    steps = [(Side.SELL, 10_000), (Side.BUY, 10_001), (Side.SELL, 9_000)]
    for t, (side, price) in enumerate(steps):
        order = NewOrder("alice", side, OrderType.LIMIT, 100, price, TimeInForce.GTC)
        ack = engine.submit(order, t)
        assert isinstance(ack, Ack)
        out.extend(ack.reports)
    return out


def test_a_reader_detects_lost_and_repeated_reports() -> None:
    reports = _reports()
    assert [r.seq for r in reports] == [1, 2, 3, 4, 5]
    tracker = SequenceTracker()
    assert [tracker.observe(r) for r in reports[:2]] == [None, None]
    assert tracker.observe(reports[4]) == Gap("TESTUSDT", 3, 4)
    with pytest.raises(ValueError, match="already seen"):
        tracker.observe(reports[3])


def test_encoding_is_canonical_and_digest_order_sensitive() -> None:
    reports = _reports()
    line = encode(reports[0])
    assert line.endswith(b"\n") and line.count(b"|") == len(reports[0]) - 1
    assert b"|LIMIT|GTC|" in line and b"|NEW|NEW|NONE|" in line
    assert digest(reports) == digest(_reports())
    assert digest(reports) != digest(reversed(reports))
