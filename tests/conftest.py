"""Shared fixtures: the hypothesis profiles and seed, the configured symbols, small engines,
the real-data samples, Redis, Ray (with leftover actors cleaned up) and Prometheus."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, settings

from bot4.core.instruments import Instrument, SymbolSpec, load_symbols
from bot4.venue.backends import new_engine, new_ledger
from bot4.venue.engine import MatchingEngine

if TYPE_CHECKING:
    from tests.support.prometheus_server import PrometheusServer

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS_FILE = ROOT / "configs" / "symbols.toml"

# --- hypothesis: profiles, examples per suite, one printed seed per run ------------------------
#
# "ci" (the default) draws 60 examples per test (times the suite's weight below) from a seed
# that is new on every run, printed at the top and at the end of the session, and replayed with
# BOT4_HYPOTHESIS_SEED=<seed> (or pytest's --hypothesis-seed=<seed>). "fuzz" (`make fuzz`) is
# the same with BOT4_FUZZ_SCALE (default 10) times as many examples, and runs only the
# hypothesis tests. No profile uses the example database: a seed alone replays a run (and,
# since every bot4 module is imported before the tests, see `pytest_sessionstart`, the same
# seed gives a test the same examples whether it runs alone or in the whole suite).

SEED_ENV, FUZZ_SCALE_ENV = "BOT4_HYPOTHESIS_SEED", "BOT4_FUZZ_SCALE"
CI_EXAMPLES = 60
FUZZ_SCALE = max(1, int(os.environ.get(FUZZ_SCALE_ENV) or 10))
# Property suites cheap enough to explore more in every run: examples x weight. Measured
# without coverage on 2 shared cores: test_properties ~35 s at x1, ~43 s at x2; the x3 / x5
# suites took 0.3-1.6 s per file at x1 and take 1-14 s at their weight (test_bad_input the
# most). test_differential, test_list_properties and test_leases (already 300 / 200 examples)
# stay at x1. Suites not named here (new ones too) draw the plain 60.
EXAMPLE_WEIGHTS = {
    "test_properties": 2,
    "test_auth": 5,
    "test_avgprice": 5,
    "test_bad_input": 5,
    "test_breakers": 3,
    "test_data_readers": 5,
    "test_fee_fills": 3,
    "test_fees": 5,
    "test_idempotency": 5,
    "test_journal": 5,
    "test_market_models": 5,
    "test_risk": 5,
    "test_wire": 5,
}
_COMMON: dict[str, Any] = {
    "deadline": None,
    "database": None,  # never replay from (or depend on) .hypothesis/examples
    "print_blob": True,  # a failure also prints its @reproduce_failure blob
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=CI_EXAMPLES, derandomize=False, **_COMMON)
settings.register_profile("fuzz", max_examples=CI_EXAMPLES * FUZZ_SCALE, derandomize=False,
                          **_COMMON)  # fmt: skip
settings.register_profile("dev", max_examples=100, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _profile_scale() -> int:
    """How many times the CI examples the current profile draws (for explicit @settings)."""
    return FUZZ_SCALE if settings.get_current_profile_name() == "fuzz" else 1


_SEED = pytest.StashKey[str]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Import every bot4 module before any test runs. Hypothesis draws some values from the
    literals of the (non-test) code imported so far, its "local constants"; with them all
    imported up front the pool is the same in every run, whichever tests it selects, so a seed
    replays the same examples in one file as in the whole suite (without this a test's examples
    depend on which modules earlier tests happened to import)."""
    import importlib
    import pkgutil

    import bot4

    for module in pkgutil.walk_packages(bot4.__path__, "bot4."):
        if not module.name.endswith("__main__"):  # that one runs the command
            importlib.import_module(module.name)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Fix this run's hypothesis seed before hypothesis' own plugin reads it: the
    --hypothesis-seed option, else $BOT4_HYPOTHESIS_SEED, else a fresh random one."""
    seed = config.getoption("hypothesis_seed", None) or os.environ.get(SEED_ENV) or str(
        random.SystemRandom().randrange(2**32))  # fmt: skip
    config.option.hypothesis_seed = seed
    config.stash[_SEED] = str(seed)


def _seed_line(config: pytest.Config) -> str:
    """The run's profile and seed, and how to replay it."""
    profile = settings.get_current_profile_name()
    seed = config.stash.get(_SEED, "?")
    if profile == "fuzz":
        replay = (
            f"make fuzz {SEED_ENV}={seed} FUZZ_SCALE={FUZZ_SCALE} (or HYPOTHESIS_PROFILE="
            f"fuzz {FUZZ_SCALE_ENV}={FUZZ_SCALE} pytest TESTS --hypothesis-seed={seed})"
        )
    else:
        env = "" if profile == "ci" else f"HYPOTHESIS_PROFILE={profile} "
        replay = f"{env}{SEED_ENV}={seed} make test (or {env}pytest TESTS --hypothesis-seed={seed})"
    return f"hypothesis: profile {profile!r}, seed {seed}; replay with {replay}"


def pytest_report_header(config: pytest.Config) -> str:
    return _seed_line(config)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    terminalreporter.write_line(_seed_line(config))


def _is_hypothesis(item: pytest.Item) -> bool:
    return bool(getattr(getattr(item, "obj", None), "is_hypothesis_test", False))


def _scale_examples(item: pytest.Item, seen: set[int]) -> None:
    """Multiply the test's max_examples by its suite's weight (and, under "fuzz", explicit
    @settings by the fuzz scale: the profile already scales the others)."""
    weight = EXAMPLE_WEIGHTS.get(item.module.__name__.rsplit(".", 1)[-1], 1)  # type: ignore[attr-defined]
    if getattr(item.obj, "_hypothesis_state_machine_class", None) is not None:  # type: ignore[attr-defined]
        holder: Any = item.cls  # type: ignore[attr-defined]
        own = holder.settings
        explicit = own.max_examples != settings.default.max_examples
        if id(holder) in seen:
            return
        seen.add(id(holder))
        factor = weight * (_profile_scale() if explicit else 1)
        if factor != 1:
            holder.settings = settings(own, max_examples=own.max_examples * factor)
        return
    test = getattr(item.obj, "__func__", item.obj)  # type: ignore[attr-defined]
    if id(test) in seen:  # parametrized: one function object for every case
        return
    seen.add(id(test))
    own = test._hypothesis_internal_use_settings
    explicit = getattr(test, "_hypothesis_internal_settings_applied", False)
    factor = weight * (_profile_scale() if explicit else 1)
    if factor != 1:
        test._hypothesis_internal_use_settings = settings(own, max_examples=own.max_examples
                                                          * factor)  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that starts Ray `ray` (those on the session's Ray, through the
    `ray_local` fixture; the multi-node and job tests mark themselves), so that
    `pytest -m "not ray"` runs the pure suite alone. Scale the hypothesis tests' examples;
    under the "fuzz" profile keep only them."""
    seen: set[int] = set()
    for item in items:
        if "ray_local" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.ray)
        if _is_hypothesis(item):
            _scale_examples(item, seen)
    if settings.get_current_profile_name() == "fuzz":
        kept = [item for item in items if _is_hypothesis(item)]
        dropped = [item for item in items if not _is_hypothesis(item)]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept


# --- the real data samples (../shared/data) --------------------------------------------------

REAL_DATA = ROOT.parent / "shared" / "data"
REAL_SAMPLES = ("BTCUSDT-trades-2021-01-08-sample.csv", "BTCUSDT-bookTicker-2021-01-08-sample.csv")
SKIP_REAL_DATA_ENV = "BOT4_SKIP_REAL_DATA"


def need_real_data(*names: str) -> Path:
    """The real-data folder, once `names` (default: the BTCUSDT samples) are in it.

    When they are missing the test FAILS, saying where they are expected; with
    BOT4_SKIP_REAL_DATA=1 it is skipped instead (an explicit opt-out)."""
    missing = [name for name in names or REAL_SAMPLES if not (REAL_DATA / name).is_file()]
    if missing:
        why = (f"real data missing: {', '.join(missing)} expected in {REAL_DATA} "
               f"(../shared/data beside the checkout, described by its README.md)")  # fmt: skip
        if os.environ.get(SKIP_REAL_DATA_ENV, "").strip().lower() in ("1", "true", "yes"):
            pytest.skip(f"{why}; skipped because {SKIP_REAL_DATA_ENV} is set")
        pytest.fail(f"{why}. Provide it, or set {SKIP_REAL_DATA_ENV}=1 to skip the tests "
                    "that read it.", pytrace=False)  # fmt: skip
    return REAL_DATA


@pytest.fixture()
def real_data() -> Path:
    """The real-data folder with the BTCUSDT samples (fails when absent; see `need_real_data`)."""
    return need_real_data()


# --- subprocesses that start their own Ray ------------------------------------------------------


def run_isolated(args: Sequence[str], *, timeout: float, env: dict[str, str] | None = None,
                 cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run a command in its own session (process group), capturing text output; whatever it
    leaves running (a Ray it started: raylet, GCS, workers) is killed with the group at the
    end, also on a timeout (which raises `subprocess.TimeoutExpired`)."""
    proc = subprocess.Popen(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=cwd, env=env, start_new_session=True)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.returncode is None:
            proc.communicate(timeout=30)
    return subprocess.CompletedProcess(list(args), proc.returncode, out, err)


def simple_spec(**overrides: object) -> SymbolSpec:
    """A small test symbol: tick 0.01, lot 0.001, no price bands, min notional 1."""
    data: dict[str, object] = {
        "symbol": "TESTUSDT",
        "baseAsset": "TEST",
        "quoteAsset": "USDT",
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.01",
                "maxPrice": "100000",
                "tickSize": "0.01",
            },
            {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
        ],
    }
    data.update(overrides)
    return SymbolSpec.model_validate(data)


@pytest.fixture(scope="session")
def instruments() -> dict[str, Instrument]:
    return load_symbols(SYMBOLS_FILE)


@pytest.fixture()
def btc(instruments: dict[str, Instrument]) -> Instrument:
    return instruments["BTCUSDT"]


def funded_engine(
    instrument: Instrument, accounts: tuple[str, ...] = ("alice", "bob"), **kwargs: object
) -> MatchingEngine:
    """An engine whose accounts each hold plenty of base and quote, of the backend the test
    runs on (tests/support/backends.py). Typed as the Python engine, whose API both share."""
    from tests.support.backends import current

    ledger = new_ledger(current())
    for account in accounts:
        ledger.deposit(account, instrument.base, int(Decimal(1000) / instrument.base_unit))
        ledger.deposit(account, instrument.quote, int(Decimal(10**8) / instrument.quote_unit))
    engine = new_engine(instrument, ledger, backend=current(), **kwargs)  # type: ignore[arg-type]
    return engine  # type: ignore[return-value]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free loopback port for the session: its URL.

    Fails (does not skip) when redis-server is not installed, saying how to install it."""
    from tests.support.redis_server import RedisServer, RedisServerMissing

    server = RedisServer()
    try:
        server.start()
    except RedisServerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """One local Ray instance for the whole test session (2 CPUs).

    The dashboard is on because its head process is what writes the Prometheus
    service-discovery file that the ``prometheus`` fixture scrapes from."""
    import ray

    # address="local": a Ray of its own, never a head already running on the machine (a
    # `bot4 up` or `ray start --head` of someone else's)
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=True,
        namespace="bot4",
        log_to_driver=False,
        resources={"symbol_BNBUSDT": 1},  # a node resource to pin a symbol to
        _system_config={"metrics_report_interval_ms": 1000},
    )  # metrics out every 1 s
    try:
        yield
    finally:
        ray.shutdown()


RAY_NAMESPACE = "bot4"


def wait_for(what: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll `what` until it gives a truthy value or `timeout` seconds pass; its last value
    (what the test asserts on, never how long it took). For what actors do asynchronously."""
    deadline = time.monotonic() + timeout
    value = what()
    while not value and time.monotonic() < deadline:
        time.sleep(0.05)
        value = what()
    return value


def named_actors() -> set[str]:
    """The names of the live named actors in the `bot4` namespace of the session's Ray."""
    import ray

    return {a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
            if a["namespace"] == RAY_NAMESPACE}  # fmt: skip


def live_placement_groups() -> set[str]:
    """The ids (hex) of the session Ray's placement groups that are not removed."""
    from ray.util.placement_group import placement_group_table

    return {pg_id for pg_id, info in placement_group_table().items()
            if info.get("state") != "REMOVED"}  # fmt: skip


@pytest.fixture(autouse=True)
def ray_leftovers(request: pytest.FixtureRequest) -> Iterator[None]:
    """For tests on the session's Ray: after the test (and its own fixtures' cleanup), kill
    the named actors of the `bot4` namespace and remove the placement groups that it created
    and left behind (or is still killing), and wait (bounded) until their names are free, so
    that a failing test never hands its actors (attached by name, `get_if_exists`) to the next
    one."""
    if "ray_local" not in request.fixturenames:
        yield
        return
    import ray
    from ray.util.placement_group import PlacementGroup, remove_placement_group

    actors_before, groups_before = named_actors(), live_placement_groups()
    yield
    actors = named_actors() - actors_before
    groups = live_placement_groups() - groups_before
    if not actors and not groups:
        return
    for name in actors:
        with contextlib.suppress(Exception):  # gone meanwhile
            ray.kill(ray.get_actor(name, namespace=RAY_NAMESPACE), no_restart=True)
    for pg_id in groups:
        with contextlib.suppress(Exception):
            remove_placement_group(PlacementGroup(ray.PlacementGroupID.from_hex(pg_id)))
    deadline = time.monotonic() + 30
    while named_actors() & actors and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture(scope="session")
def prometheus(ray_local: None) -> Iterator[PrometheusServer]:
    """A real Prometheus on a free loopback port, scraping this session's Ray every second.

    It reads its targets from the service-discovery file that Ray's dashboard head writes in
    the session directory, ``<session_dir>/prom_metrics_service_discovery.json`` (e.g.
    ``/tmp/ray/session_2026-..._<pid>/``; *not* the ``/tmp/ray/prom_metrics_service_discovery.json``
    symlink, which points at whichever Ray session on the machine started last). Yielded once
    the node's metrics agent has been scraped (``up == 1``). Fails (does not skip) when
    prometheus is not installed, saying how to install it.

    Names of ``ray.util.metrics`` metrics in Prometheus (Ray 2.60, checked by
    tests/obs/test_prometheus_server.py): Ray prefixes ``ray_`` to the name; a ``Counter("x")``
    becomes ``ray_x_total`` (a name already ending in ``_total`` keeps a single one:
    ``Counter("x_total")`` is ``ray_x_total``); a ``Gauge("x")`` is ``ray_x``; a
    ``Histogram("x")`` gives ``ray_x_bucket`` (with ``le``), ``ray_x_sum`` and ``ray_x_count``.
    Ray's ``_sum`` is approximate: each observation counts as the midpoint of its bucket.
    Every series also carries ``job="ray"``, ``instance``, ``Component``, ``NodeAddress``,
    ``SessionName``, ``Version``, ``WorkerId`` and ``otel_scope_*`` labels besides its tags.
    Workers push their metrics to the agent every 10 s (Ray's ``metrics_report_interval_ms``),
    so allow ~15 s between recording a value and seeing it in a query."""
    import ray

    from tests.support.prometheus_server import (
        PrometheusMissing,
        PrometheusServer,
        find_prometheus,
        wait_for_service_discovery,
    )

    try:
        find_prometheus()
    except PrometheusMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    session_dir = ray._private.worker.global_worker.node.get_session_dir_path()
    sd_file = os.path.join(session_dir, "prom_metrics_service_discovery.json")
    agents = [f"{node['NodeManagerAddress']}:{node['MetricsExportPort']}"
              for node in ray.nodes() if node["Alive"]]  # fmt: skip
    wait_for_service_discovery(sd_file, agents, timeout=60)
    server = PrometheusServer(sd_file)
    server.start()
    try:
        for agent in agents:
            server.wait_for(f'up{{job="ray", instance="{agent}"}} == 1', timeout=30)
        yield server
    finally:
        server.stop()
