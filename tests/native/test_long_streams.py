"""Long seeded streams through both engine backends: at least a million requests in all.

Each stream mixes every request kind the engines serve (the plain orders, cancels and
malformed requests of tests/support/streams.py, plus stop orders, OCO/OTO/OTOCO lists, list
cancels, amends, cancel-replaces and cancel-alls drawn from the live state) on the eight
markets of tests/native/test_engine.py, four with stops and lists enabled. After every request
both answers must be equal, field for field, which is what the canonical event log encodes
(tests/native/test_batch.py checks the encoding byte for byte); every `CHECKPOINT` requests,
and at the end, the state digests must be equal too.

`BOT4_LONG_REQUESTS` sets the total (default 1,000,000); `make differential-long` runs ten
million.
"""

from __future__ import annotations

import os
import random

import pytest

from tests.native.test_engine import STOP_MARKETS, Pair, _extra
from tests.support.streams import MARKETS, Market, now_of, seeded_scenario

TOTAL = int(os.environ.get("BOT4_LONG_REQUESTS", "1000000"))
CHECKPOINT = 2_000
CHUNK = 2_000  # requests drawn per seeded scenario, then a new seed on the same engines
LONG_MARKETS = MARKETS + STOP_MARKETS


@pytest.mark.parametrize("market", LONG_MARKETS, ids=lambda m: m.name)
def test_long_streams_agree_request_by_request(market: Market) -> None:
    stops = market in STOP_MARKETS
    share = TOTAL // len(LONG_MARKETS)
    accounts = ("alice", "bob", "carol")
    pair = Pair(market, accounts)
    rng = random.Random(share)
    sent = 0
    seed = 0
    while sent < share:
        scenario = seeded_scenario(seed, CHUNK, market, n_accounts=3)
        seed += 1
        for req in scenario.requests:
            now = now_of(sent)
            if rng.random() < (0.4 if stops else 0.15):
                op, other = _extra(rng, pair.py, accounts, market.mid, stops)
                a = getattr(pair.py, op)(other, now)
                b = getattr(pair.native, op)(other, now)
                assert a == b, (sent, op, other)
                sent += 1
            op = "submit" if hasattr(req, "side") else "cancel"
            a, b = getattr(pair.py, op)(req, now), getattr(pair.native, op)(req, now)
            assert a == b, (sent, op, req)
            sent += 1
            if sent % CHECKPOINT < 2:
                assert pair.py.state_digest() == pair.native.state_digest(), sent
    assert pair.py.state_digest() == pair.native.state_digest()
    pair.check_queries(accounts)
