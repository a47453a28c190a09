"""Signed requests: HMAC signing as the venue does it, the timestamp window, replay refusal."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot4.core.errors import Category, VenueError
from bot4.service import auth
from bot4.service.auth import (
    KeyRing,
    RequestVerifier,
    SignedRequest,
    TimestampGuard,
    parse_params,
    sign,
    split_signature,
)

# Binance's documented example key pair (rest-api.md, "SIGNED Endpoint Examples")
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_PARAMS = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
DOC_TS_MS = 1_499_827_319_559
DOC_NOW_US = DOC_TS_MS * 1_000 + 250  # server time 0.25 ms after the request's timestamp

ACCEPT = None
AHEAD = auth.TIMESTAMP_AHEAD
OLD = auth.TIMESTAMP_OUTSIDE_WINDOW


def ring() -> KeyRing:
    keys = KeyRing()
    keys.add(API_KEY, "alice", SECRET)
    return keys


def signed_query(params: str, secret: bytes = SECRET) -> str:
    return f"{params}&signature={sign(secret, params)}"


def order_request(timestamp: int | str, recv_window: str | None = None, nonce: int = 0) -> str:
    params = f"symbol=BTCUSDT&side=BUY&type=LIMIT&price=1&quantity=1&newClientOrderId=c{nonce}"
    if recv_window is not None:
        params += f"&recvWindow={recv_window}"
    return signed_query(f"{params}&timestamp={timestamp}")


def code_of(result: object) -> int | None:
    return result.code if isinstance(result, VenueError) else None


# ---------------------------------------------------------------- signing


def test_sign_reproduces_the_venue_examples() -> None:
    assert sign(SECRET, DOC_PARAMS) == DOC_SIGNATURE
    # example 3: query and body concatenated without a separator ("GTCquantity")
    mixed = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC" + DOC_PARAMS.split("GTC&")[1]
    assert sign(SECRET, mixed) == (
        "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
    )
    # non-ASCII symbol: the percent-encoded payload is what is signed
    encoded = DOC_PARAMS.replace("LTCBTC", "%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96")
    assert sign(SECRET, encoded) == (
        "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"
    )


@pytest.mark.parametrize(
    ("query", "body"),
    [
        (f"{DOC_PARAMS}&signature={DOC_SIGNATURE}", ""),  # example 2: query string
        ("", f"{DOC_PARAMS}&signature={DOC_SIGNATURE}"),  # example 1: request body
        (  # example 3: mixed, signature at the end of the body
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
            "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
            "&signature=0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77",
        ),
        (  # mixed, signature at the end of the query (the newer docs' step 3)
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
            "&signature=0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77",
            "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
        ),
    ],
)
def test_the_venue_examples_verify(query: str, body: str) -> None:
    result = RequestVerifier(ring()).verify(SignedRequest(API_KEY, query, body), DOC_NOW_US)
    assert result == (
        "alice",
        {
            "symbol": "LTCBTC",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "1",
            "price": "0.1",
            "recvWindow": "5000",
            "timestamp": "1499827319559",
        },
    )


def test_the_signature_is_not_case_sensitive() -> None:
    query = f"{DOC_PARAMS}&signature={DOC_SIGNATURE.upper()}"
    result = RequestVerifier(ring()).verify(SignedRequest(API_KEY, query), DOC_NOW_US)
    assert isinstance(result, tuple) and result[0] == "alice"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("a=1&signature=ab", ("a=1", "ab")),
        ("signature=ab", ("", "ab")),
        ("a=1&signature=", ("a=1", "")),
        ("a=1", ("a=1", None)),
        ("", ("", None)),
        ("a=1&signature=ab&b=2", ("a=1&signature=ab&b=2", None)),  # not the last parameter
        ("signature=ab&b=2", ("signature=ab&b=2", None)),
        ("a=1&xsignature=ab", ("a=1&xsignature=ab", None)),
        ("a=signature=ab", ("a=signature=ab", None)),
        ("signature=a&signature=b", ("signature=a", "b")),  # the last one is the signature
    ],
)
def test_split_signature(params: str, expected: tuple[str, str | None]) -> None:
    assert split_signature(params) == expected


def test_parse_params_decodes_and_refuses_malformed_input() -> None:
    assert parse_params("") == {}
    assert parse_params("a=1&b=&c=x%20y+z&d=e=f") == {"a": "1", "b": "", "c": "x y z", "d": "e=f"}
    assert parse_params("symbol=%EF%BC%91") == {"symbol": "\uff11"}
    assert parse_params("a=1&a=2") is auth.DUPLICATE_PARAMETER
    for bad in ("a", "a=1&", "a=1&&b=2", "=1", "a=%FF"):
        assert parse_params(bad) is auth.ILLEGAL_PARAMS, bad
    assert auth.DUPLICATE_PARAMETER.code == -1101 and auth.ILLEGAL_PARAMS.code == -1100


# ---------------------------------------------------------------- verifying


def test_tampered_params_a_wrong_secret_or_no_signature_give_1022() -> None:
    verifier = RequestVerifier(ring())
    tampered = f"{DOC_PARAMS.replace('price=0.1', 'price=0.2')}&signature={DOC_SIGNATURE}"
    wrong_secret = signed_query(DOC_PARAMS, b"another secret")
    for query in (tampered, wrong_secret, DOC_PARAMS, f"{DOC_PARAMS}&signature="):
        assert verifier.verify(SignedRequest(API_KEY, query), DOC_NOW_US) is auth.INVALID_SIGNATURE
    # the same parameters split between query and body: no "&" between them, another payload
    moved = SignedRequest(API_KEY, "symbol=LTCBTC", DOC_PARAMS[14:] + f"&signature={DOC_SIGNATURE}")
    assert verifier.verify(moved, DOC_NOW_US) is auth.INVALID_SIGNATURE
    error = auth.INVALID_SIGNATURE
    assert (error.code, error.msg) == (-1022, "Signature for this request is not valid.")
    assert error.category is Category.AUTH and not error.retryable
    # nothing was recorded: the genuine request still passes once
    genuine = SignedRequest(API_KEY, f"{DOC_PARAMS}&signature={DOC_SIGNATURE}")
    assert isinstance(verifier.verify(genuine, DOC_NOW_US), tuple)
    assert verifier.replay_size == 1


def test_a_signature_that_is_not_last_or_sent_twice_is_refused() -> None:
    verifier = RequestVerifier(ring())
    inner = f"signature=00&{DOC_PARAMS}"  # signed, but carries a signature parameter
    assert verifier.verify(SignedRequest(API_KEY, signed_query(inner)), DOC_NOW_US) is (
        auth.INVALID_SIGNATURE
    )
    trailing = f"{DOC_PARAMS}&signature={DOC_SIGNATURE}&x=1"
    assert verifier.verify(SignedRequest(API_KEY, trailing), DOC_NOW_US) is auth.INVALID_SIGNATURE
    both = SignedRequest(
        API_KEY, f"symbol=LTCBTC&signature={DOC_SIGNATURE}", f"side=BUY&signature={DOC_SIGNATURE}"
    )
    assert verifier.verify(both, DOC_NOW_US) is auth.DUPLICATE_PARAMETER
    assert verifier.replay_size == 0


def test_unknown_or_revoked_api_key_gives_2015() -> None:
    keys = ring()
    verifier = RequestVerifier(keys)
    query = f"{DOC_PARAMS}&signature={DOC_SIGNATURE}"
    assert verifier.verify(SignedRequest("nope", query), DOC_NOW_US) is auth.INVALID_API_KEY
    assert keys.remove(API_KEY) and not keys.remove(API_KEY)
    assert verifier.verify(SignedRequest(API_KEY, query), DOC_NOW_US) is auth.INVALID_API_KEY
    error = auth.INVALID_API_KEY
    assert error.code == -2015 and error.msg == "Invalid API-key, IP, or permissions for action."
    assert not keys.signature_matches(API_KEY, DOC_PARAMS, DOC_SIGNATURE)


def test_malformed_params_missing_timestamp_and_query_precedence() -> None:
    verifier = RequestVerifier(ring())
    now = DOC_NOW_US
    no_ts = signed_query("symbol=LTCBTC")
    assert verifier.verify(SignedRequest(API_KEY, no_ts), now) is auth.BAD_TIMESTAMP
    assert auth.BAD_TIMESTAMP.code == -1102 and "'timestamp'" in auth.BAD_TIMESTAMP.msg
    dup = signed_query(f"{DOC_PARAMS}&side=SELL")
    assert verifier.verify(SignedRequest(API_KEY, dup), now) is auth.DUPLICATE_PARAMETER
    bad_body = SignedRequest(API_KEY, "", signed_query("a&" + DOC_PARAMS))
    assert verifier.verify(bad_body, now) is auth.ILLEGAL_PARAMS
    body = "side=SELL&timestamp=1"
    query = "side=BUY&timestamp=1499827319559"
    mixed = SignedRequest(API_KEY, query, f"{body}&signature={sign(SECRET, query + body)}")
    assert verifier.verify(mixed, now) == ("alice", {"side": "BUY", "timestamp": "1499827319559"})
    bad_query = SignedRequest(API_KEY, "a=%FF", f"{body}&signature={sign(SECRET, 'a=%FF' + body)}")
    assert verifier.verify(bad_query, now) is auth.ILLEGAL_PARAMS
    assert verifier.replay_size == 1


def test_timestamp_errors_come_through_verify() -> None:
    verifier = RequestVerifier(ring())
    now = DOC_NOW_US
    ahead = order_request(DOC_TS_MS + 1_001)  # 1000.75 ms ahead
    assert verifier.verify(SignedRequest(API_KEY, ahead), now) is AHEAD
    bad_window = order_request(DOC_TS_MS, "60001")
    assert verifier.verify(SignedRequest(API_KEY, bad_window), now) is auth.BAD_RECV_WINDOW
    # the refused ahead request left no trace: it passes once its time has come
    assert isinstance(verifier.verify(SignedRequest(API_KEY, ahead), now + 1_000), tuple)


# ---------------------------------------------------------------- the timestamp window


def test_window_edges_in_microseconds() -> None:
    guard = TimestampGuard()
    now = 1_700_000_000_123_456
    assert guard.check(now + 999_999, None, now) is ACCEPT  # 999.999 ms ahead
    assert guard.check(now + 1_000_000, None, now) is AHEAD  # exactly 1000 ms ahead
    assert guard.check(now - 5_000_000, None, now) is ACCEPT  # default window 5000 ms
    assert guard.check(now - 5_000_001, None, now) is OLD
    assert guard.check(now - 7_000_000, "7000", now) is ACCEPT
    assert guard.check(now - 7_000_001, "7000", now) is OLD
    assert guard.check(now - 7_000_000, 7000, now) is ACCEPT  # an int recvWindow
    assert guard.check(now - 6_000_346, "6000.346", now) is ACCEPT  # 3 decimals: µs
    assert guard.check(now - 6_000_347, "6000.346", now) is OLD
    assert guard.check(now - 6_000_300, "6000.3", now) is ACCEPT
    assert guard.check(now - 6_000_301, "6000.3", now) is OLD
    assert guard.check(now - 60_000_000, "60000", now) is ACCEPT  # the maximum is allowed
    assert guard.check(now - 60_000_000, "60000.000", now) is ACCEPT
    assert guard.check(now, "0", now) is ACCEPT
    assert guard.check(now - 1, "0", now) is OLD
    assert guard.check(str(now + 999_999), None, now) is ACCEPT  # as a string


def test_window_edges_with_millisecond_timestamps() -> None:
    guard = TimestampGuard()
    now = 1_700_000_000_123_000  # µs, on a millisecond
    ms = now // 1_000
    assert guard.check(ms + 999, None, now) is ACCEPT
    assert guard.check(ms + 1_000, None, now) is AHEAD
    assert guard.check(str(ms - 5_000), None, now) is ACCEPT
    assert guard.check(str(ms - 5_001), None, now) is OLD
    # server time between milliseconds: 0.5 ms past `ms`
    assert guard.check(ms + 1_000, None, now + 500) is ACCEPT  # 999.5 ms ahead
    assert guard.check(ms - 5_000, None, now + 500) is OLD  # 5000.5 ms old
    assert guard.check(ms - 5_000, "5000.5", now + 500) is ACCEPT


def test_the_errors_are_the_venues() -> None:
    assert (AHEAD.code, AHEAD.msg) == (
        -1021,
        "Timestamp for this request was 1000ms ahead of the server's time.",
    )
    assert (OLD.code, OLD.msg) == (
        -1021,
        "Timestamp for this request is outside of the recvWindow.",
    )
    assert AHEAD.category is OLD.category is Category.AUTH
    assert AHEAD.retryable and OLD.retryable  # after resyncing the clock and re-signing
    assert auth.BAD_RECV_WINDOW.code == -1131 and "60000" in auth.BAD_RECV_WINDOW.msg


@pytest.mark.parametrize(
    "window",
    ["60000.001", "60001", 60_001, "-1", -1, "abc", "", " 5000", "5000 ", "1e3", "6000.3461",
     "6000.", ".5", "+5", "\u0665", "12345678901", True, 5000.0],
)  # fmt: skip
def test_invalid_recv_window_gives_1131(window: object) -> None:
    now = 1_700_000_000_000_000
    assert TimestampGuard().check(now, window, now) is auth.BAD_RECV_WINDOW  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "timestamp",
    ["", "abc", "-1", -1, "1.5", "1e12", " 1", "\u0661\u0662", 10**16, str(10**16), True,
     "1" * 21, 1.7e12],
)  # fmt: skip
def test_invalid_timestamp_gives_1102(timestamp: object) -> None:
    now = 1_700_000_000_000_000
    assert TimestampGuard().check(timestamp, None, now) is auth.BAD_TIMESTAMP  # type: ignore[arg-type]


def test_bad_timestamp_is_reported_before_bad_window_and_units_are_read_by_size() -> None:
    now = 1_700_000_000_000_000
    assert TimestampGuard().check("x", "x", now) is auth.BAD_TIMESTAMP
    assert auth.timestamp_us(10**15 - 1) == (10**15 - 1) * 1_000  # 15 digits: milliseconds
    assert auth.timestamp_us(10**15) == 10**15  # 16 digits: microseconds
    assert auth.timestamp_us("0001700000000000") == 1_700_000_000_000_000  # by value, not length


def test_guard_settings_are_validated_and_used() -> None:
    for bad in ({"ahead_us": 0}, {"max_window_ms": 0}, {"default_window_ms": 60_001},
                {"default_window_ms": -1}):  # fmt: skip
        with pytest.raises(ValueError):
            TimestampGuard(**bad)
    guard = TimestampGuard(ahead_us=1, max_window_ms=10, default_window_ms=2)
    now = 1_700_000_000_000_000
    assert guard.check(now, None, now) is ACCEPT and guard.check(now + 1, None, now) is AHEAD
    assert guard.check(now - 2_000, None, now) is ACCEPT
    assert guard.check(now - 2_001, None, now) is OLD
    assert guard.check(now, "10.001", now) is auth.BAD_RECV_WINDOW


def venue_accepts(timestamp: int, window: int, now: int, ahead: int) -> bool:
    """Binance's pseudo code, in one unit."""
    return timestamp < now + ahead and now - timestamp <= window


@given(
    ts_ms=st.integers(10**12, 10**13 - 1),
    offset_ms=st.integers(-70_000, 3_000),
    window_ms=st.none() | st.integers(0, 60_000),
)
def test_guard_is_the_venue_formula_in_milliseconds(
    ts_ms: int, offset_ms: int, window_ms: int | None
) -> None:
    now_ms = ts_ms + offset_ms
    window = 5_000 if window_ms is None else window_ms
    expected = venue_accepts(ts_ms, window, now_ms, 1_000)
    guard = TimestampGuard()
    as_ms = guard.check(str(ts_ms), None if window_ms is None else str(window_ms), now_ms * 1_000)
    as_us = guard.check(ts_ms * 1_000, window_ms, now_ms * 1_000)
    assert (as_ms is None) == expected
    assert as_us == as_ms  # the µs form of the same instant gets the same verdict
    if not expected:
        assert as_ms is (AHEAD if ts_ms >= now_ms + 1_000 else OLD)


@given(
    ts_us=st.integers(10**15, 10**16 - 1),
    offset_us=st.integers(-61_000_000, 2_000_000),
    window_us=st.integers(0, 60_000_000),
)
def test_guard_is_the_venue_formula_in_microseconds(
    ts_us: int, offset_us: int, window_us: int
) -> None:
    now_us = ts_us + offset_us
    window = f"{window_us // 1_000}.{window_us % 1_000:03d}"
    verdict = TimestampGuard().check(str(ts_us), window, now_us)
    assert (verdict is None) == venue_accepts(ts_us, window_us, now_us, 1_000_000)


# ---------------------------------------------------------------- replay


def test_a_replay_inside_the_window_gives_9201_and_after_it_1021() -> None:
    verifier = RequestVerifier(ring())
    request = SignedRequest(API_KEY, order_request(DOC_TS_MS))
    now = DOC_NOW_US
    assert verifier.verify(request, now) == (
        "alice",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "price": "1",
            "quantity": "1",
            "newClientOrderId": "c0",
            "timestamp": str(DOC_TS_MS),
        },
    )
    assert verifier.verify(request, now) is auth.REPLAYED
    assert verifier.verify(request, now + 4_000_000) is auth.REPLAYED
    upper = SignedRequest(API_KEY, request.query[:-64] + request.query[-64:].upper())
    assert verifier.verify(upper, now + 1) is auth.REPLAYED  # same signature, other case
    assert verifier.verify(request, DOC_TS_MS * 1_000 + 5_000_001) is OLD
    error = auth.REPLAYED
    assert (error.code, error.msg) == (-9201, "Replayed request: this signature was already used.")
    assert error.category is Category.AUTH and not error.retryable


def test_replay_memory_covers_the_longest_acceptance_span() -> None:
    verifier = RequestVerifier(ring())
    ts_us = 1_700_000_000_000_000
    request = SignedRequest(API_KEY, order_request(ts_us, "60000"))
    first = ts_us - 999_999  # the earliest instant it can pass: 999.999 ms ahead
    last = ts_us + 60_000_000  # the latest: exactly recvWindow old
    assert verifier.guard.check(ts_us, "60000", first - 1) is AHEAD
    assert isinstance(verifier.verify(request, first), tuple)
    for now in (first + 1, ts_us, last - 1, last):
        assert verifier.verify(request, now) is auth.REPLAYED, now
    assert verifier.verify(request, last + 1) is OLD


def test_a_fresh_signature_for_the_same_order_passes() -> None:
    verifier = RequestVerifier(ring())
    now = DOC_NOW_US
    assert isinstance(verifier.verify(SignedRequest(API_KEY, order_request(DOC_TS_MS)), now), tuple)
    again = SignedRequest(API_KEY, order_request(DOC_TS_MS + 1))  # re-signed, new timestamp
    assert isinstance(verifier.verify(again, now), tuple)
    assert verifier.replay_size == 2


def test_a_flood_past_capacity_never_reopens_an_old_signature_to_replay() -> None:
    """The bug: with an LRU store of 2, three requests evicted the first, whose replay a second
    later (inside its window) was accepted. Now the memory refuses the third instead (-9205,
    retryable), the first stays refused as a replay, and once the first two can no longer
    pass, new requests are taken again."""
    verifier = RequestVerifier(ring(), replay_capacity=2)
    now = DOC_TS_MS * 1_000
    first, second, third = (SignedRequest(API_KEY, order_request(DOC_TS_MS, nonce=n))
                            for n in range(3))  # fmt: skip
    assert isinstance(verifier.verify(first, now), tuple)
    assert isinstance(verifier.verify(second, now + 1), tuple)
    full = verifier.verify(third, now + 2)
    assert full is auth.REPLAY_MEMORY_FULL
    assert (full.code, full.category, full.retryable) == (-9205, Category.BACKPRESSURE, True)
    assert full.retry_after_ms == 1_000
    assert verifier.verify(first, now + 1_000_000) is auth.REPLAYED  # a second later
    assert verifier.replay_size == 2
    # a flood of fresh signatures inside the window: every one refused, none forgotten
    for nonce in range(3, 1_003):
        flood = SignedRequest(API_KEY, order_request(DOC_TS_MS + 1, nonce=nonce))
        assert verifier.verify(flood, now + 2_000_000) is auth.REPLAY_MEMORY_FULL
    assert verifier.verify(first, now + 4_999_999) is auth.REPLAYED
    assert verifier.verify(second, now + 5_000_000) is auth.REPLAYED  # its last instant
    # past both windows: the old ones fail the guard, and there is room again
    assert verifier.verify(first, now + 5_000_001) is OLD
    later = SignedRequest(API_KEY, order_request(DOC_TS_MS + 5_001, nonce=9))
    assert isinstance(verifier.verify(later, now + 5_001_000), tuple)
    assert verifier.verify(third, now + 5_001_000) is OLD  # its own window has passed
    assert verifier.replay_size == 1


def test_replay_memory_lasts_each_request_its_own_window() -> None:
    """A request with recvWindow 1000 is forgotten 1 s after its timestamp, one with 60000
    after 60 s: memory follows the signed window, not the longest one."""
    verifier = RequestVerifier(ring(), replay_capacity=2)
    now = DOC_TS_MS * 1_000
    short = SignedRequest(API_KEY, order_request(DOC_TS_MS, "1000", nonce=1))
    long = SignedRequest(API_KEY, order_request(DOC_TS_MS, "60000", nonce=2))
    assert isinstance(verifier.verify(short, now), tuple)
    assert isinstance(verifier.verify(long, now), tuple)
    assert verifier.verify(short, now + 1_000_000) is auth.REPLAYED
    fresh = SignedRequest(API_KEY, order_request(DOC_TS_MS + 2_000, nonce=3))
    assert isinstance(verifier.verify(fresh, now + 2_000_000), tuple)  # short's room
    assert verifier.verify(long, now + 60_000_000) is auth.REPLAYED


@given(
    capacity=st.integers(1, 6),
    steps=st.lists(
        st.tuples(
            st.integers(0, 3_000),
            st.integers(0, 12),
            st.sampled_from(["0", "1500", "5000"]),
            st.integers(-999, 4_000),
            st.none() | st.integers(0, 59),
        ),
        min_size=1,
        max_size=60,
    ),
)
@example(
    capacity=1, steps=[(0, 0, "5000", 0, None), (0, 1, "5000", 0, None), (1_000, 0, "5000", 0, 0)]
)  # the LRU's hole: the first, replayed
def test_no_request_ever_passes_twice_inside_its_window(
    capacity: int, steps: list[tuple[int, int, str, int, int | None]]
) -> None:
    """Against a model that remembers everything: whatever the stream (fresh requests, earlier
    ones sent again byte for byte, timestamps ahead and behind, windows of 0 to 5 s), a request
    accepted once is never accepted again while it can pass the guard; the memory never holds
    more than `capacity`; and a request is refused for a full memory only when it is full of
    signatures that can still pass (or did less than a millisecond ago)."""
    verifier = RequestVerifier(ring(), replay_capacity=capacity)
    accepted: dict[str, int] = {}  # query -> last µs its request passes
    sent: list[tuple[str, int, str]] = []  # (query, timestamp, window) of every request
    now_ms = DOC_TS_MS
    for step, nonce, window, skew_ms, again in steps:
        now_ms += step
        if again is not None and sent:  # an earlier request, replayed as it was
            query, timestamp, window = sent[again % len(sent)]
        else:
            timestamp = now_ms - skew_ms
            query = order_request(timestamp, window, nonce=nonce)
            sent.append((query, timestamp, window))
        now_us = now_ms * 1_000
        verdict = verifier.verify(SignedRequest(API_KEY, query), now_us)
        guard = verifier.guard.check(timestamp, window, now_us)
        if guard is not None:
            assert verdict is guard
            continue
        if query in accepted and accepted[query] >= now_us:
            assert verdict is auth.REPLAYED
        elif verdict is auth.REPLAY_MEMORY_FULL:
            # a signature leaves at the first millisecond boundary after its last instant
            live = sum((until // 1_000 + 1) * 1_000 > now_us for until in accepted.values())
            assert live >= capacity
        else:
            assert isinstance(verdict, tuple)
            accepted[query] = timestamp * 1_000 + int(window) * 1_000
        assert verifier.replay_size <= capacity


@given(
    params=st.dictionaries(
        st.text("abcdefghij", min_size=1, max_size=6).filter(
            lambda name: name not in ("timestamp", "recvWindow")
        ),
        st.text("abcXYZ0189.-_", max_size=8),
        max_size=5,
    ),
    split=st.integers(0, 6),
    position=st.integers(0, 10**6),
)
def test_signed_requests_round_trip_and_any_tampering_is_caught(
    params: dict[str, str], split: int, position: int
) -> None:
    pairs = [f"{name}={value}" for name, value in params.items()]
    pairs.append(f"timestamp={DOC_TS_MS}")
    query, body = "&".join(pairs[:split]), "&".join(pairs[split:])
    signature = sign(SECRET, query + body)
    verifier = RequestVerifier(ring())
    result = verifier.verify(
        SignedRequest(API_KEY, query, f"{body}&signature={signature}"), DOC_NOW_US
    )
    assert result == ("alice", {**params, "timestamp": str(DOC_TS_MS)})
    total = query + body
    index = position % len(total)
    flipped = "1" if total[index] != "1" else "2"
    tampered = total[:index] + flipped + total[index + 1 :]
    request = SignedRequest(API_KEY, "", f"{tampered}&signature={signature}")
    assert code_of(RequestVerifier(ring()).verify(request, DOC_NOW_US)) == -1022


# ---------------------------------------------------------------- keys


def test_key_ring_maps_keys_to_accounts_and_hides_secrets() -> None:
    keys = KeyRing()
    keys.add("k1", "alice", b"s3cret-one")
    keys.add("k2", "alice", b"s3cret-two")  # several keys per account
    keys.add("k3", "bob", b"s3cret-three")
    assert [keys.account_of(k) for k in ("k1", "k2", "k3", "k4")] == ["alice", "alice", "bob", None]
    assert len(keys) == 3 and "k2" in keys and "k4" not in keys
    for text in (repr(keys), str(keys)):
        assert "s3cret" not in text and text == "KeyRing(3 keys)"
    assert keys.signature_matches("k2", "a=1", sign(b"s3cret-two", "a=1"))
    assert not keys.signature_matches("k1", "a=1", sign(b"s3cret-two", "a=1"))
    assert "s3cret" not in repr(auth._Key("alice", b"s3cret"))


@pytest.mark.parametrize(
    ("api_key", "account", "secret"),
    [("", "alice", b"s"), ("k9", "", b"s"), ("k9", "alice", b""), ("k9", "alice", "s"),
     ("k9", "alice", bytearray(b"s")),
     ("k1", "bob", b"other")],
)  # fmt: skip
def test_key_ring_refuses_bad_or_reused_keys_without_change(
    api_key: str, account: str, secret: bytes
) -> None:
    keys = KeyRing()
    keys.add("k1", "alice", b"s3cret")
    with pytest.raises(ValueError):
        keys.add(api_key, account, secret)
    assert len(keys) == 1 and keys.account_of("k1") == "alice"
    assert keys.signature_matches("k1", "x=1", sign(b"s3cret", "x=1"))
