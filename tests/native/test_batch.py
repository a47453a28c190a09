"""The native engine's batch entry point against the Python engine, request by request.

A stream (tests/support/streams.py, plus amends; on markets with stops, stop orders and order
lists too) goes once through the Python engine, one call per request, and once through
`NativeEngine.submit_batch` as bytes: the batch's event log must be the Python reports'
canonical encoding byte for byte, each answer must carry the same outcome (the same
`VenueError`, or the same order or list id, status, executed and quote quantities and number
of reports), and the final state digests must be equal.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from bot4.core.enums import OrderType, Side, TimeInForce
from bot4.core.events import encode
from bot4.core.orders import AmendOrder, CancelOrder, NewOrder
from bot4.core.results import Ack, ListAck
from bot4.venue.batch import (
    LIST_STATUSES,
    STATUSES,
    Request,
    cum_quote,
    encode_requests,
    refusals,
)
from tests.native.test_engine import STOP_MARKETS, _list, _stop
from tests.support.streams import (
    BTC,
    MARKETS,
    Market,
    build_engine,
    now_of,
    seeded_scenario,
    send,
)


def _encodable(req: Request) -> bool:
    try:
        encode_requests([(0, req)])
    except ValueError:
        return False
    return True


def _stream(market: Market, seed: int, n: int) -> list[tuple[int, Request]]:
    """A seeded stream with an amend of a recent order id now and then."""
    rng = random.Random(seed)
    scenario = seeded_scenario(seed, n, market, n_accounts=3)
    out: list[tuple[int, Request]] = []
    for i, req in enumerate(scenario.requests):
        if rng.random() < 0.1:
            account = rng.choice(scenario.accounts)
            amend = AmendOrder(account, rng.randint(1, 50), rng.randint(1, i + 1))
            out.append((now_of(i), amend))
        if _encodable(req):
            out.append((now_of(i), req))
    return out


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
@pytest.mark.parametrize("seed", range(4))
def test_a_batch_answers_and_logs_as_the_python_engine_does(market: Market, seed: int) -> None:
    stream = _stream(market, seed, 1500)
    accounts = ("alice", "bob", "carol")
    python = build_engine(market, accounts)
    native = build_engine(market, accounts, backend="native")
    answers, log = native.submit_batch(encode_requests(stream), log=True)
    assert len(answers) == len(stream)
    expected = bytearray()
    accepted = refused = 0
    for (now, req), row in zip(stream, answers, strict=True):
        if isinstance(req, NewOrder):
            answer = python.submit(req, now)
        elif isinstance(req, CancelOrder):
            answer = python.cancel(req, now)
        else:
            answer = python.amend(req, now)
        if isinstance(answer, Ack):
            accepted += 1
            assert not row["refused"]
            assert (row["order_id"], STATUSES[row["status"]]) == (answer.order_id, answer.status)
            assert row["executed_qty"] == answer.executed_qty
            assert cum_quote(row) == answer.cum_quote
            assert row["reports"] == len(answer.reports)
            expected += b"".join(encode(r) for r in answer.reports)
        else:
            refused += 1
            assert row["refused"]
            assert refusals()[row["refusal"]] == answer
    assert log == bytes(expected)
    assert python.state_digest() == native.state_digest()
    assert accepted > 100 and refused > 10


@pytest.mark.parametrize("market", STOP_MARKETS, ids=lambda m: m.name)
@pytest.mark.parametrize("seed", range(3))
def test_order_lists_in_a_batch_answer_and_log_as_the_python_engine_does(
    market: Market, seed: int
) -> None:
    rng = random.Random(seed)
    accounts = ("alice", "bob", "carol")
    python = build_engine(market, accounts)
    stream: list[tuple[int, Request]] = []
    answers: list[object] = []
    for i, req in enumerate(seeded_scenario(seed, 1200, market, n_accounts=3).requests):
        now = now_of(i)
        if rng.random() < 0.35:  # drawn from the reference's state as it stands
            op, extra = (
                _list(rng, python, accounts, market.mid) if rng.random() < 0.75
                else ("submit", _stop(rng, python, accounts, market.mid))
            )  # fmt: skip
            stream.append((now, extra))  # type: ignore[arg-type]
            answers.append(getattr(python, op)(extra, now))
        if _encodable(req):
            stream.append((now, req))
            answers.append(send(python, req, now))
    native = build_engine(market, accounts, backend="native")
    rows, log = native.submit_batch(encode_requests(stream), log=True)
    expected = bytearray()
    lists = Counter[str]()
    for answer, row in zip(answers, rows, strict=True):
        if isinstance(answer, ListAck):
            lists[answer.contingency_type.value] += 1
            assert not row["refused"]
            assert LIST_STATUSES[row["status"]] == answer.list_order_status
            assert row["order_id"] == answer.order_list_id
            assert row["executed_qty"] == sum(v.executed_qty for v in answer.orders)
            assert cum_quote(row) == sum(v.cum_quote for v in answer.orders)
        elif isinstance(answer, Ack):
            assert not row["refused"] and row["order_id"] == answer.order_id
        else:
            assert row["refused"] and refusals()[row["refusal"]] == answer
            continue
        assert row["reports"] == len(answer.reports)
        expected += b"".join(encode(r) for r in answer.reports)
    assert log == bytes(expected)
    assert python.state_digest() == native.state_digest()
    assert lists["OCO"] > 10 and lists["OTO"] > 10, lists


def test_without_the_log_a_batch_answers_the_same() -> None:
    stream = _stream(BTC, 9, 400)
    one = build_engine(BTC, ("alice", "bob", "carol"), backend="native")
    two = build_engine(BTC, ("alice", "bob", "carol"), backend="native")
    data = encode_requests(stream)
    quiet, none = one.submit_batch(data)
    loud, log = two.submit_batch(data, log=True)
    assert none is None and log
    assert quiet.tobytes() == loud.tobytes()
    assert one.state_digest() == two.state_digest()


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda d: d[:-1], "truncated"),
        (lambda d: d + b"\x07", "kind"),
        (lambda d: d[:9] + b"\x09" + d[10:], "enumeration"),
        (lambda d: d[:-2] + b"\xc3\x28", "UTF-8"),
    ],
)
def test_a_malformed_batch_raises_and_changes_nothing(cut: object, message: str) -> None:
    engine = build_engine(BTC, ("alice", "bob"), backend="native")
    before = engine.state_digest()
    good = NewOrder("alice", Side.SELL, OrderType.LIMIT, 100, 3_000_000, TimeInForce.GTC, 0, "ab")
    data = encode_requests([(now_of(0), good), (now_of(1), good)])
    assert callable(cut)
    with pytest.raises(ValueError, match=message):
        engine.submit_batch(cut(data))
    assert engine.state_digest() == before
    answers, _ = engine.submit_batch(data)
    assert [bool(r) for r in answers["refused"]] == [False, True]  # the id is taken


@pytest.mark.parametrize(
    "req",
    [
        NewOrder("alice", Side.BUY, OrderType.LIMIT, 1.5, 1, TimeInForce.GTC),  # type: ignore[arg-type]
        NewOrder("alice", Side.BUY, OrderType.LIMIT, 2**64, 1, TimeInForce.GTC),
        NewOrder("alice", "BUY", OrderType.LIMIT, 1, 1, TimeInForce.GTC),  # type: ignore[arg-type]
        NewOrder(None, Side.BUY, OrderType.LIMIT, 1, 1, TimeInForce.GTC),  # type: ignore[arg-type]
        CancelOrder("alice", "7"),  # type: ignore[arg-type]
    ],
)
def test_requests_the_batch_form_cannot_carry_are_refused_before_sending(req: Request) -> None:
    with pytest.raises(ValueError):
        encode_requests([(0, req)])
