"""Market models: samplers, fits with confidence intervals, KS certification, queue position,
and the flow generator driving a real matching engine."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from bot4.core.instruments import Instrument
from bot4.market.certify import ALPHA, certify, format_table, model_samples, recover
from bot4.market.fit import (
    Estimate,
    TakerEvents,
    fill_shares,
    fit_arrivals,
    fit_beta,
    fit_fills,
    fit_latency,
    fit_lognormal,
    fit_sizes,
    poisson_rate,
    taker_events,
)
from bot4.market.flow import FlowConfig, FlowGenerator, taker_arrays
from bot4.market.models import (
    DAY_US,
    HOUR_US,
    ArrivalModel,
    FillModel,
    LatencyModel,
    LatencyProfile,
    MarketModel,
    SizeModel,
    rng_for,
)
from bot4.market.queue import QueuePosition, simulate_passive_fill
from bot4.venue.engine import MatchingEngine

BTC_LIKE = MarketModel(
    "BTCUSDT",
    ArrivalModel(15.0, 16.0),
    SizeModel(-4.9, 2.3),
    FillModel(0.16, 0.25, 0.95),
)


# --- samplers ---------------------------------------------------------------------------------


def test_samplers_are_deterministic_for_a_seed() -> None:
    a, b, c = rng_for(3), rng_for(3), rng_for(4)
    model = BTC_LIKE
    first = model.arrivals.sample_times(a, True, 0, 10_000_000)
    assert np.array_equal(first, model.arrivals.sample_times(b, True, 0, 10_000_000))
    assert not np.array_equal(first, model.arrivals.sample_times(c, True, 0, 10_000_000))
    assert np.all(np.diff(first) >= 0) and first[0] >= 0 and first[-1] < 10_000_000


def test_hourly_profile_shapes_the_rate() -> None:
    hourly = tuple([0.5] * 12 + [1.5] * 12)
    model = ArrivalModel(2.0, 1.0, hourly)
    assert model.rate(True, 0) == 1.0 and model.rate(True, 13 * HOUR_US) == 3.0
    times = model.sample_times(rng_for(1), True, 0, DAY_US)
    night = int(np.sum(times < 12 * HOUR_US))
    day = len(times) - night
    # expected 0.5*2*43200 = 43200 and 1.5*2*43200 = 129600
    assert abs(night - 43_200) < 5 * math.sqrt(43_200) and abs(day - 129_600) < 5 * 360
    assert len(model.sample_times(rng_for(1), True, 5, 5)) == 0


@pytest.mark.parametrize(
    "bad",
    [
        lambda: ArrivalModel(-1.0, 1.0),
        lambda: ArrivalModel(1.0, 1.0, (1.0,) * 23),
        lambda: ArrivalModel(1.0, 1.0, (2.0,) * 24),
        lambda: SizeModel(0.0, 0.0),
        lambda: SizeModel(float("nan"), 1.0),
        lambda: FillModel(1.5, 1.0, 1.0),
        lambda: FillModel(0.5, 0.0, 1.0),
        lambda: LatencyModel(1.0, -1.0),
        lambda: LatencyModel(1.0, 1.0, spike_prob=1.0),
        lambda: LatencyModel(1.0, 1.0, spike_factor=0.5),
    ],
)
def test_models_refuse_impossible_parameters(bad: object) -> None:
    with pytest.raises(ValueError):
        bad()  # type: ignore[operator]


def test_sizes_become_whole_lots_within_bounds() -> None:
    lots = SizeModel(math.log(0.01), 1.5).lots(rng_for(2), 10_000, 0.00001, 5_000)
    assert lots.dtype == np.int64 and lots.min() >= 1 and lots.max() <= 5_000
    assert abs(np.median(lots) - 1_000) < 60


def test_fill_model_mixture_and_lots() -> None:
    model = FillModel(0.3, 2.0, 5.0)
    shares = model.sample(rng_for(5), 20_000)
    assert abs(np.mean(shares == 1.0) - 0.3) < 0.02
    assert model.cdf([0.0])[0] == 0.0 and model.cdf([1.0])[0] == 1.0
    assert model.cdf([0.999])[0] == pytest.approx(0.7, abs=1e-3)
    taken = [model.filled_lots(rng_for(i), 10) for i in range(200)]
    assert min(taken) >= 1 and max(taken) == 10


def test_latency_spikes() -> None:
    base = LatencyModel(math.log(500.0), 0.2)
    spiky = replace(base, spike_prob=0.1, spike_factor=20.0)
    plain, spiked = base.sample(rng_for(1), 20_000), spiky.sample(rng_for(1), 20_000)
    assert plain.min() >= 1 and np.median(plain) == pytest.approx(500, rel=0.02)
    assert abs(np.mean(spiked > 5_000) - 0.1) < 0.01  # spikes sit 20x higher


def test_model_json_round_trip() -> None:
    model = replace(BTC_LIKE, arrivals=ArrivalModel(1.0, 2.0, tuple([1.0] * 24)))
    again = MarketModel.from_dict(model.to_dict())
    assert again == model
    assert MarketModel.from_dict({**BTC_LIKE.to_dict(), "latency": None}).latency == (
        LatencyProfile()
    )


# --- queue position ---------------------------------------------------------------------------


def test_queue_position_trades_and_cancels() -> None:
    q = QueuePosition(ahead=10, qty=5)
    assert q.on_trade(4) == 0 and q.ahead == 6
    q.on_cancel(10, level_lots=20)  # 10 of 20 lots cancelled: half of what is ahead goes
    assert q.ahead == 3
    assert q.on_trade(5) == 2 and (q.ahead, q.filled, q.leaves) == (0, 2, 3)
    assert q.on_trade(10) == 3 and q.leaves == 0
    q.on_cancel(5, 0)
    with pytest.raises(ValueError):
        QueuePosition(-1, 1)
    with pytest.raises(ValueError):
        q.on_trade(-1)
    with pytest.raises(ValueError):
        q.on_cancel(-1, 3)


@given(
    ahead=st.integers(0, 1_000),
    qty=st.integers(1, 1_000),
    events=st.lists(st.tuples(st.booleans(), st.integers(0, 500), st.integers(0, 2_000))),
)
def test_queue_never_fills_more_than_traded_behind_the_queue(
    ahead: int, qty: int, events: list[tuple[bool, int, int]]
) -> None:
    q = QueuePosition(ahead, qty)
    traded = 0
    for is_trade, lots, level in events:
        before = q.ahead
        if is_trade:
            traded += lots
            q.on_trade(lots)
        else:
            q.on_cancel(lots, level)
        assert 0 <= q.ahead <= before
    # cancels can only move us forward: at least what trades past the original queue reached
    assert min(qty, max(0, traded - ahead)) <= q.filled <= min(qty, traded)


# --- fits -------------------------------------------------------------------------------------


def test_taker_events_group_one_takers_matches() -> None:
    t = np.array([1, 1, 1, 2, 2, 3], dtype=np.int64)
    price = np.array([10, 11, 12, 12, 11, 11], dtype=np.int64)
    qty = np.array([1, 2, 3, 4, 5, 6], dtype=np.int64)
    maker = np.array([False, False, True, True, True, False])
    ev = taker_events(t, price, qty, maker)
    assert ev.time_us.tolist() == [1, 1, 2, 3]
    assert ev.is_buy.tolist() == [True, False, False, True]
    assert ev.qty.tolist() == [3, 3, 9, 6] and ev.price.tolist() == [10, 12, 12, 11]
    empty = taker_events(t[:0], price[:0], qty[:0], maker[:0])
    assert len(empty.time_us) == 0


def test_poisson_rate_interval() -> None:
    est = poisson_rate(100, 10.0)
    assert est.value == 10.0 and est.low < 10.0 < est.high
    assert est.low == pytest.approx(stats.chi2.ppf(0.025, 200) / 20)
    assert poisson_rate(0, 5.0).low == 0.0
    with pytest.raises(ValueError):
        poisson_rate(1, 0.0)


def test_lognormal_fit_errors() -> None:
    with pytest.raises(ValueError):
        fit_lognormal([1.0])
    with pytest.raises(ValueError):
        fit_lognormal([2.0, 2.0, 2.0])
    with pytest.raises(ValueError):
        fit_lognormal([1.0, 0.0, 3.0])
    model, fit = fit_latency([400.0, 500.0, 900.0])
    assert model.mu == fit.mu.value and fit.n == 3


def test_beta_fit_errors() -> None:
    with pytest.raises(ValueError):
        fit_beta([0.5, 0.6])
    with pytest.raises(ValueError):
        fit_beta([0.5, 0.6, 1.0])
    with pytest.raises(ValueError):
        fit_fills([])


def test_confidence_intervals_hold_the_truth_95_percent_of_the_time() -> None:
    """Coverage over many seeds: each 95 % interval should miss about one time in twenty."""
    truth = SizeModel(-3.0, 1.2)
    hits = 0
    for seed in range(300):
        fit = fit_lognormal(truth.sample(rng_for(seed), 400))
        hits += fit.mu.contains(truth.mu) + fit.sigma.contains(truth.sigma)
    assert 0.92 <= hits / 600 <= 0.98
    beta_hits = 0
    for seed in range(80):
        a, b = fit_beta(rng_for(seed).beta(0.4, 1.3, 400))
        beta_hits += a.contains(0.4) + b.contains(1.3)
    assert 0.88 <= beta_hits / 160 <= 1.0
    rate_hits = sum(
        poisson_rate(int(rng_for(s).poisson(50.0)), 10.0).contains(5.0) for s in range(300)
    )
    assert 0.93 <= rate_hits / 300 <= 1.0  # the Garwood interval is conservative


def test_fit_arrivals_with_a_day_finds_the_hourly_profile() -> None:
    hourly = tuple(float(v) for v in np.repeat([0.4, 1.6], 12))
    truth = ArrivalModel(0.2, 0.1, hourly)
    rng = rng_for(9)
    buys = truth.sample_times(rng, True, 0, 2 * DAY_US)
    sells = truth.sample_times(rng, False, 0, 2 * DAY_US)
    times = np.concatenate([buys, sells])
    order = np.argsort(times, kind="stable")
    is_buy = np.concatenate([np.ones(len(buys), bool), np.zeros(len(sells), bool)])[order]
    ev = TakerEvents(times[order], is_buy, np.ones(len(times), np.int64), times[order])
    fit = fit_arrivals(ev, 0, 2 * DAY_US)
    assert fit.buy.contains(0.2) and fit.sell.contains(0.1)
    assert fit.model.hourly is not None
    assert np.allclose(fit.model.hourly, hourly, atol=0.25)
    short = fit_arrivals(ev, 0, HOUR_US)
    assert short.model.hourly is None


def test_fill_shares_use_the_quote_in_force() -> None:
    ev = TakerEvents(
        time_us=np.array([5, 15, 25, 35], dtype=np.int64),
        is_buy=np.array([True, False, True, False]),
        qty=np.array([50, 300, 10, 10], dtype=np.int64),
        price=np.array([101, 100, 101, 99], dtype=np.int64),
    )
    quotes = dict(
        quote_time_us=np.array([10, 20], dtype=np.int64),
        bid_price=np.array([100, 100], dtype=np.int64),
        bid_qty=np.array([200, 0], dtype=np.int64),
        ask_price=np.array([101, 101], dtype=np.int64),
        ask_qty=np.array([100, 40], dtype=np.int64),
    )
    shares, skipped = fill_shares(ev, **quotes)
    # event 0 precedes every quote; event 1 takes 300 of 200 (full); event 2 takes 10 of 40;
    # event 3 is at 99, not the quoted bid
    assert shares.tolist() == [1.5, 0.25] and skipped == 2


def test_sizes_fit_units() -> None:
    model, fit = fit_sizes(np.array([10**6, 2 * 10**6, 4 * 10**6], dtype=np.int64))
    assert model.mu == pytest.approx(math.log(0.02)) and fit.n == 3


# --- certification ----------------------------------------------------------------------------


def test_the_generator_reproduces_its_own_parameters() -> None:
    rows = certify(BTC_LIKE, seed=1)
    names = {"arrivals.buy", "arrivals.sell", "sizes", "fills", "latency.entry", "latency.ack",
             "latency.market_data"}  # fmt: skip
    assert {r.model for r in rows} == names
    for row in rows:
        assert row.check == "self" and row.passed, row
        assert row.pvalue >= ALPHA and row.n >= 4_000


def test_a_wrong_model_fails_its_ks_test() -> None:
    real = model_samples(BTC_LIKE, seed=3)
    wrong = replace(BTC_LIKE, sizes=SizeModel(-4.6, 2.3), fills=FillModel(0.16, 0.35, 0.95))
    rows = certify(wrong, {"sizes": real["sizes"], "fills": real["fills"], "nope": [1.0, 2.0]})
    verdicts = {(r.model, r.check): r for r in rows}
    assert verdicts[("sizes", "holdout")].pvalue < ALPHA
    assert verdicts[("fills", "holdout")].pvalue < ALPHA
    assert verdicts[("sizes", "holdout")].passed is None  # reported, not enforced
    right = certify(BTC_LIKE, {"sizes": real["sizes"]}, seed=8)
    assert {(r.model, r.check) for r in right} >= {("sizes", "holdout"), ("sizes", "holdout-2s")}
    assert next(r for r in right if r.check == "holdout").pvalue > ALPHA


def test_parameter_recovery() -> None:
    rows = recover(BTC_LIKE, seed=2)
    assert len(rows) == 13 and all(r.passed for r in rows), format_table([], rows)
    assert all(r.z == pytest.approx(stats.norm.ppf(1 - 0.05 / 26)) for r in rows)  # Bonferroni
    shifted = replace(rows[0], true=rows[0].estimate.value + 10 * rows[0].estimate.stderr)
    assert not shifted.passed
    table = format_table(certify(BTC_LIKE), rows)
    assert "sizes" in table and "FAIL" not in table and "pass" in table


def test_hourly_models_skip_gap_tests_and_spiky_latency_is_not_tested() -> None:
    model = replace(
        BTC_LIKE,
        arrivals=ArrivalModel(1.0, 1.0, tuple([1.0] * 24)),
        latency=LatencyProfile(entry=LatencyModel(6.0, 0.3, spike_prob=0.01)),
    )
    names = {r.model for r in certify(model, {"arrivals.buy": [0.1, 0.2, 0.3]})}
    assert "arrivals.buy" not in names and "latency.entry" not in names
    zero = replace(BTC_LIKE, arrivals=ArrivalModel(0.0, 1.0))
    assert "arrivals.buy" not in {r.model for r in certify(zero)}
    assert all(r.parameter != "buy_rate" for r in recover(zero))


def test_estimate_normal() -> None:
    est = Estimate.normal(1.0, 0.5)
    assert est.low == pytest.approx(1.0 - 1.96 * 0.5, abs=1e-3) and est.contains(1.5)


# --- flow generator ---------------------------------------------------------------------------


@pytest.fixture()
def btc(instruments: dict[str, Instrument]) -> Instrument:
    return instruments["BTCUSDT"]


def flow_engine(btc: Instrument) -> MatchingEngine:
    return MatchingEngine(btc, reference_price=3_000_000)


def test_flow_orders_follow_the_model(btc: Instrument) -> None:
    gen = FlowGenerator(BTC_LIKE, flow_engine(btc), seed=4)
    orders = gen.taker_orders(0, 120_000_000)
    assert [o.time_us for o in orders] == sorted(o.time_us for o in orders)
    for is_buy, rate in ((True, 15.0), (False, 16.0)):
        t = np.array([o.time_us for o in orders if o.is_buy == is_buy], dtype=np.float64)
        res = stats.kstest(np.diff(t) / 1e6, stats.expon(scale=1 / rate).cdf)
        assert res.pvalue >= ALPHA, (is_buy, res)
    sizes = np.array([o.lots for o in orders]) * float(btc.step)
    assert stats.kstest(sizes, BTC_LIKE.sizes.dist.cdf).pvalue >= ALPHA
    assert {o.account for o in orders} == {f"taker{i}" for i in range(4)}


def test_flow_drives_the_book_deterministically(btc: Instrument) -> None:
    def run(seed: int) -> tuple[str, object]:
        engine = flow_engine(btc)
        stats_ = FlowGenerator(BTC_LIKE, engine, seed, FlowConfig(levels=4)).run(
            1_700_000_000_000_000, 1_700_000_060_000_000, 3_000_000
        )
        return engine.state_digest(), stats_

    (digest, result), (again, _), (other, _) = run(3), run(3), run(4)
    assert digest == again and digest != other
    assert result.takers > 1_500 and result.trades >= result.takers  # type: ignore[attr-defined]
    times, is_buy, lots = taker_arrays(result)  # type: ignore[arg-type]
    assert len(times) == len(lots) == len(is_buy) and lots.min() >= 1
    assert set(result.refused) <= {-1013}  # type: ignore[attr-defined]


def test_makers_keep_both_sides_quoted(btc: Instrument) -> None:
    engine = flow_engine(btc)
    gen = FlowGenerator(BTC_LIKE, engine, 1, FlowConfig(levels=3))
    gen.fund()
    result = gen.run(0, 5_000_000, 3_000_000, orders=[])
    depth = engine.depth()
    assert len(depth["bids"]) == 3 and len(depth["asks"]) == 3 and result.makers == 6
    assert depth["bids"][0][0] < 3_000_000 < depth["asks"][0][0]


def test_passive_fill_simulation_uses_the_fill_model_and_the_queue() -> None:
    sweep = FillModel(1.0, 1.0, 1.0)  # every trade takes the whole level
    done = simulate_passive_fill(sweep, rng_for(1), ahead=50, qty=10, behind=40, trades=1)
    assert (done.filled, done.ahead) == (10, 0)
    nibble = FillModel(0.0, 0.5, 20.0)  # trades take about 2.5 % of the level
    one = simulate_passive_fill(nibble, rng_for(2), ahead=1_000, qty=100, behind=0, trades=5)
    assert one.filled == 0 and one.ahead < 1_000

    def filled(seed: int, trades: int) -> int:
        return simulate_passive_fill(nibble, rng_for(seed), 1_000, 100, 500, trades).filled

    many, fewer = [filled(s, 60) for s in range(40)], [filled(s, 20) for s in range(40)]
    assert sum(many) > sum(fewer) and max(many) <= 100
    empty = simulate_passive_fill(sweep, rng_for(3), ahead=0, qty=5, behind=0, trades=3)
    assert empty.filled == 5
