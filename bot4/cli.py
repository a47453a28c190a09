"""The `bot4` command line: `bot4 run`, `bot4 up`, `bot4 status`, `bot4 down`, `bot4 symbols`,
`bot4 calibrate`, `bot4 flow`, `bot4 dashboards` (each with --help)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot4 import __version__

DEFAULT_CONFIG = Path("configs/default.toml")
DEFAULT_DASHBOARDS = Path("dashboards")
DEFAULT_JOURNALS = Path("var/journal")  # `bot4 up`'s journals unless the config names a folder


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot4",
        description="bot4: a Binance-Spot-faithful trading engine and exchange simulator.",
    )
    parser.add_argument("--version", action="version", version=f"bot4 {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="the main job: the venue on Ray with simulated flow and a demo market maker",
        description=(
            "Start (or join) Ray, deploy a symbol actor and a flow simulator per configured "
            "symbol, run a demonstration market maker through the Python API on simulated "
            "time, and print orders, fills, rejects by code, fees, PnL, API latency "
            "percentiles, mailbox sheds and the symbols' state digests. With --local: a seeded "
            "random-flow simulation of the venue in one process instead."
        ),
    )
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="run config (TOML)")
    run.add_argument("--seconds", type=int, help="simulated seconds (overrides the config)")
    run.add_argument("--seed", type=int, help="random seed (overrides the config)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.add_argument(
        "--local",
        action="store_true",
        help="the in-process simulation instead of the Ray platform (no actors, seeded digests)",
    )
    run.add_argument("--address", help="a running Ray cluster to join (default: local Ray)")
    run.add_argument(
        "--hold",
        action="store_true",
        help="after the summary keep the actors and local Ray up (Ray dashboard, metrics, "
        "logs) until Ctrl-C",
    )

    up = commands.add_parser(
        "up",
        help="deploy the venue's actors on Ray, detached: they stay up after this returns",
        description=(
            "Deploy a symbol actor per configured symbol, with the risk and idempotency "
            "actors, as the config's [platform] table says: detached named actors in a "
            "placement group named bot4, which stay up until 'bot4 down'. Joins --address, "
            "else the Ray cluster running on this machine, else starts a local Ray head that "
            "outlives this command (as 'ray start --head'; 'ray stop' stops it). 'bot4 run', "
            "Ray jobs and bot4.actors.deployment.attach() then trade on it."
        ),
    )
    up.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="run config (TOML)")
    up.add_argument("--address", help="a running Ray cluster to deploy on")
    up.add_argument(
        "--journal-dir",
        type=Path,
        help="the journals' folder (default: the config's platform.journal_dir, else var/journal)",
    )
    status = commands.add_parser(
        "status",
        help="each symbol of the running deployment: node, queued calls, journal, health",
        description=(
            "Ask each symbol actor of the running deployment for its node, process, journal "
            "and how many commands it holds, count its queued calls (Ray's state API, about "
            "a second behind) and print its health: ok, stopped (a journal it could not "
            "replay: -9501, with the line) or unreachable. Exit status 1 unless all are ok."
        ),
    )
    status.add_argument("--address", help="the Ray cluster (default: the one on this machine)")
    status.add_argument("--json", action="store_true", help="print the rows as JSON")
    down_ = commands.add_parser(
        "down",
        help="remove the running deployment's actors and placement group",
        description="Kill every bot4 actor of the deployment and remove its placement group. "
        "The journals stay: 'bot4 up' with the same journal folder brings the state back.",
    )
    down_.add_argument("--address", help="the Ray cluster (default: the one on this machine)")

    symbols = commands.add_parser(
        "symbols",
        help="validate a symbols file and list its symbols and filters",
        description="Load a symbols TOML file, validate it, and print each symbol's rules.",
    )
    symbols.add_argument(
        "file", type=Path, nargs="?", default=Path("configs/symbols.toml"), help="symbols TOML"
    )

    cal = commands.add_parser(
        "calibrate",
        help="fit a symbol's market model to Binance data files and certify it",
        description=(
            "Read Binance trades/aggTrades (and optionally bookTicker and klines) files, plain "
            "CSV or zipped, fit arrivals, sizes and fills by maximum likelihood on the first part "
            "of the data, test the fit on the held-out rest (Kolmogorov-Smirnov) and by parameter "
            "recovery, and write the model and its report as JSON (plus PNG plots)."
        ),
    )
    cal.add_argument("files", type=Path, nargs="+", help="Binance data files (.csv or .zip)")
    cal.add_argument("--out", type=Path, required=True, help="where to write the JSON")
    cal.add_argument("--plots", type=Path, help="folder for PNG plots (histogram + QQ per model)")
    cal.add_argument("--symbol", help="symbol name (default: from the first file name)")
    cal.add_argument("--holdout", type=float, default=0.3, help="share of data held out (0.3)")
    cal.add_argument("--seed", type=int, default=1, help="seed of the certification samples")
    cal.add_argument(
        "--latency",
        action="append",
        default=[],
        metavar="KIND=FILE",
        help="measured delays in microseconds, one per line; KIND is entry, ack or market_data",
    )
    cal.add_argument("--quiet", action="store_true", help="no progress bar")

    flow = commands.add_parser(
        "flow",
        help="drive a symbol's book with flow generated from a calibration",
        description=(
            "Generate other participants' orders for the calibrated symbol (Poisson takers with "
            "fitted sizes and entry latency, makers keeping the book quoted), send them through "
            "the matching engine for N simulated seconds, and print what happened and whether "
            "the generated flow reproduces the calibrated parameters (KS, alpha 0.01)."
        ),
    )
    flow.add_argument("--calibration", type=Path, required=True, help="JSON from bot4 calibrate")
    flow.add_argument(
        "--symbols", type=Path, default=Path("configs/symbols.toml"), help="symbols TOML"
    )
    flow.add_argument("--seconds", type=int, default=300, help="simulated seconds (300)")
    flow.add_argument("--seed", type=int, default=7, help="flow seed (7)")

    dash = commands.add_parser(
        "dashboards",
        help="list the Grafana dashboards' PromQL, or push the dashboards to a Grafana",
        description=(
            "The Grafana dashboards in dashboards/ (JSON) over the metrics bot4 exports through "
            "Ray: 'list' prints each dashboard's title and its PromQL expressions, 'push' "
            "creates or overwrites them in a folder of a Grafana through its HTTP API."
        ),
    )
    dash_commands = dash.add_subparsers(dest="dash_command", metavar="ACTION", required=True)
    dash_list = dash_commands.add_parser(
        "list",
        help="print each dashboard's title and PromQL expressions",
        description=(
            "Print each dashboard's title and the PromQL of its panels, with the template "
            "variables substituted ($symbol as .*, $__rate_interval as 1m, $__range as 5m) so "
            "they can be pasted into Prometheus; --raw prints them as written."
        ),
    )
    dash_list.add_argument(
        "--folder", type=Path, default=DEFAULT_DASHBOARDS, help="dashboards folder (dashboards)"
    )
    dash_list.add_argument("--raw", action="store_true", help="keep the template variables")
    dash_push = dash_commands.add_parser(
        "push",
        help="create or overwrite the dashboards in a Grafana",
        description=(
            "Create (or find) a folder in the Grafana at URL and create or overwrite every "
            "dashboard of --folder in it (matched by uid), authenticating with a service "
            "account token (--token, or the environment variable GRAFANA_TOKEN). Prints the "
            "URL of each dashboard."
        ),
    )
    dash_push.add_argument("--url", required=True, help="Grafana's URL, e.g. http://host:3000")
    dash_push.add_argument(
        "--token", help="Grafana service account token (default: $GRAFANA_TOKEN)"
    )
    dash_push.add_argument(
        "--folder", type=Path, default=DEFAULT_DASHBOARDS, help="dashboards folder (dashboards)"
    )
    dash_push.add_argument(
        "--grafana-folder", default="bot4", help="title of the Grafana folder to put them in (bot4)"
    )
    return parser


def _run(args: argparse.Namespace) -> int:
    from bot4.jobs.config import load_run_config
    from bot4.jobs.local import print_summary, simulate

    config, instruments, prices = load_run_config(args.config)
    if args.seed is not None:
        config = config.model_copy(update={"seed": args.seed})
    seconds = args.seconds if args.seconds is not None else config.seconds
    if seconds <= 0:
        print("bot4 run: --seconds must be positive", file=sys.stderr)
        return 2
    print(
        f"bot4 run: {', '.join(instruments)} for {seconds} simulated seconds, "
        f"seed {config.seed}, {config.requests_per_second} requests/s per symbol"
    )
    if not args.local:
        from bot4.jobs.platform import run_platform

        outcome = run_platform(config, instruments, prices, seconds=seconds,
                               address=args.address, keep=args.hold)  # fmt: skip
        if args.hold:
            from bot4.actors.deployment import down
            from bot4.jobs.platform import TOKEN_HINT

            dashboard = outcome["dashboard"]
            print("holding the actors up: Ctrl-C to stop"
                  + (f" (Ray dashboard http://{dashboard}; {TOKEN_HINT})" if dashboard else ""),
                  flush=True)  # fmt: skip
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
            if outcome["deployment"] == "own":
                down(args.address)
        return 0
    summary = simulate(
        config, instruments, prices, seconds=seconds, progress=None if args.quiet else sys.stdout
    )
    print_summary(summary, instruments)
    return 0


def _up(args: argparse.Namespace) -> int:
    from bot4.actors.deployment import cluster_address, status, up
    from bot4.core.money import to_units
    from bot4.jobs.config import load_run_config
    from bot4.jobs.platform import TOKEN_HINT

    config, instruments, prices = load_run_config(args.config)
    deploy = config.platform.connect_kwargs()
    journal_dir = args.journal_dir or deploy.pop("journal_dir", None) or DEFAULT_JOURNALS
    deploy.pop("journal_dir", None)
    refs = {s: to_units(p, instruments[s].tick) or 1 for s, p in prices.items()}
    client, already = up(args.address, symbols=list(prices),
                         symbols_file=str(config.symbols_file), reference_prices=refs,
                         journal_dir=Path(journal_dir).resolve(), **deploy)  # fmt: skip
    client.exporter.stop()
    rows = {row["symbol"]: row for row in status(timeout=120)}
    health = {s: rows[s] for s in client.actors}
    folders = sorted({str(Path(row["journal"]).parent) for row in health.values()})
    held = ", ".join(f"{s} ({row['applied']} commands)" for s, row in health.items())
    print(f"bot4 up{' (already up)' if already else ''}: {held} on Ray at "
          f"{cluster_address()}, journals in {', '.join(folders)}")  # fmt: skip
    if client.dashboard_url:
        print(f"  Ray dashboard: http://{client.dashboard_url} ({TOKEN_HINT})")
    print("  bot4 status shows them, bot4 run trades on them, bot4 down removes them")
    return 0


def _status(args: argparse.Namespace) -> int:
    from bot4.actors.deployment import status

    try:
        rows = status(args.address)
    except LookupError as exc:
        print(f"bot4 status: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows, indent=2, sort_keys=True))
    else:
        print(f"{'symbol':<10} {'node':<12} {'pid':>7} {'commands':>9} {'queued':>6}  health")
        for row in rows:
            queued = "?" if row.get("queued") is None else row["queued"]
            print(f"{row['symbol']:<10} {str(row.get('node_id', '?'))[:12]:<12} "
                  f"{row.get('pid', '?'):>7} {row.get('applied', '?'):>9} {queued:>6}  "
                  f"{row['health']}")  # fmt: skip
            if "journal" in row:
                print(f"{'':<10} journal {row['journal']}")
    return 0 if all(row["health"] == "ok" for row in rows) else 1


def _down(args: argparse.Namespace) -> int:
    from bot4.actors.deployment import down

    removed = down(args.address)
    print(f"bot4 down: removed {', '.join(removed)}" if removed else "bot4 down: nothing to remove")
    return 0


def _symbols(args: argparse.Namespace) -> int:
    from bot4.core.instruments import load_symbols

    for name, inst in load_symbols(args.file).items():
        spec = inst.spec
        print(
            f"{name}: {spec.baseAsset}/{spec.quoteAsset} {spec.status.value} "
            f"types={','.join(t.value for t in spec.orderTypes)} "
            f"maker={spec.makerCommission} taker={spec.takerCommission}"
        )
        for flt in spec.filters:
            fields = {k: v for k, v in flt.model_dump().items() if k != "filterType"}
            print(f"  {flt.filterType}: " + " ".join(f"{k}={v}" for k, v in fields.items()))
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    import json

    from tqdm import tqdm

    from bot4.calibration.calibrate import calibrate, write_plots

    latency: dict[str, Sequence[str | Path]] = {}
    for item in args.latency:
        kind, sep, file = item.partition("=")
        if not sep:
            print(f"bot4 calibrate: --latency wants KIND=FILE, got {item!r}", file=sys.stderr)
            return 2
        latency[kind] = [*latency.get(kind, []), Path(file)]
    total = sum(p.stat().st_size for p in args.files)
    with tqdm(total=total, unit="B", unit_scale=True, disable=args.quiet, desc="reading") as bar:
        result = calibrate(args.files, symbol=args.symbol, holdout=args.holdout, seed=args.seed,
                           latency=latency, progress=bar.update)  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    m = result.model
    print(f"{m.symbol}: {result.data['taker_events']} taker events over "
          f"{result.data['seconds']:.1f} s; buy {m.arrivals.buy_rate:.3f}/s, "
          f"sell {m.arrivals.sell_rate:.3f}/s; sizes lognormal(mu={m.sizes.mu:.3f}, "
          f"sigma={m.sizes.sigma:.3f}); fills p_full={m.fills.p_full:.3f} "
          f"Beta({m.fills.a:.3f}, {m.fills.b:.3f})")  # fmt: skip
    for note in result.data["notes"]:
        print(f"note: {note}")
    print()
    print(result.table())
    if args.plots is not None:
        for path in write_plots(result, args.plots):
            print(f"plot: {path}")
    print(f"wrote {args.out}")
    failed = [r for r in result.ks if r.passed is False] + [
        r for r in result.recovery if not r.passed
    ]
    return 1 if failed else 0


def _flow(args: argparse.Namespace) -> int:
    import json
    from decimal import Decimal

    import numpy as np
    from scipy import stats

    from bot4.calibration.calibrate import load_model
    from bot4.core.instruments import load_symbols
    from bot4.core.money import to_units
    from bot4.market.certify import ALPHA
    from bot4.market.flow import FlowGenerator, taker_arrays
    from bot4.venue.backends import new_engine

    model = load_model(args.calibration)
    instruments = load_symbols(args.symbols)
    inst = instruments.get(model.symbol)
    if inst is None:
        print(f"bot4 flow: {model.symbol} is not in {args.symbols}", file=sys.stderr)
        return 2
    doc = json.loads(args.calibration.read_text(encoding="utf-8"))
    price = Decimal(doc["data"]["last_price"])
    mid = to_units(price.quantize(inst.tick), inst.tick) or 1
    start = int(doc["data"].get("end_us", 0))
    engine = new_engine(inst, reference_price=mid)
    generator = FlowGenerator(model, engine, args.seed)
    end = start + args.seconds * 1_000_000
    orders = generator.taker_orders(start, end)
    result = generator.run(start, end, mid, orders)
    _times, is_buy, _lots = taker_arrays(result)
    print(f"{model.symbol}: {args.seconds} simulated seconds from {price}, seed {args.seed}")
    refused = result.refused or "none"
    print(f"  taker orders {result.takers} ({int(is_buy.sum())} buy), maker quotes "
          f"{result.makers}, trades {result.trades}, refused {refused}")  # fmt: skip
    print(f"  book: bid {engine.best_bid()} ask {engine.best_ask()} ticks, last "
          f"{engine.last_price()}")  # fmt: skip
    gen_sizes = np.asarray([o.lots for o in orders], dtype=np.float64) * float(inst.step)
    checks = [("sizes", gen_sizes, model.sizes.dist.cdf)]
    for side, flag, rate in (("buy", True, model.arrivals.buy_rate),
                             ("sell", False, model.arrivals.sell_rate)):  # fmt: skip
        t = np.asarray([o.time_us for o in orders if o.is_buy == flag], dtype=np.float64)
        if rate > 0 and len(t) > 2 and model.arrivals.hourly is None:
            checks.append((f"arrivals.{side}", np.diff(t) / 1e6, stats.expon(scale=1 / rate).cdf))
    ok = True
    print("  generated flow against the calibration (KS):")
    for name, sample, cdf in checks:
        res = stats.kstest(sample, cdf)
        passed = bool(res.pvalue >= ALPHA)
        ok &= passed
        print(f"    {name:<14} D={res.statistic:.4f} p={res.pvalue:.3g} n={len(sample)} "
              f"{'pass' if passed else 'FAIL'}")  # fmt: skip
    print(f"  state sha256: {engine.state_digest()}")
    return 0 if ok else 1


def _dashboards(args: argparse.Namespace) -> int:
    from bot4.obs.dashboards import expressions, load_dashboards, push

    dashboards = load_dashboards(args.folder)
    if not dashboards:
        print(f"bot4 dashboards: no dashboard (*.json) in {args.folder}", file=sys.stderr)
        return 2
    if args.dash_command == "list":
        for dashboard in dashboards:
            exprs = expressions(dashboard, substitute_variables=not args.raw)
            print(f"{dashboard['title']} (uid {dashboard.get('uid')}, {len(exprs)} expressions)")
            for expr in exprs:
                print(f"  {expr}")
        return 0
    token = args.token or os.environ.get("GRAFANA_TOKEN") or None
    from grafana_client.client import GrafanaException

    try:
        results = push(args.url, token, dashboards, folder_title=args.grafana_folder)
    except GrafanaException as exc:
        print(f"bot4 dashboards push: Grafana said {exc.status_code}: {exc}", file=sys.stderr)
        return 1
    for result in results:
        print(f"{result['title']}: {result['status']} version {result['version']} {result['url']}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "calibrate":
            return _calibrate(args)
        if args.command == "flow":
            return _flow(args)
        if args.command == "dashboards":
            return _dashboards(args)
        if args.command in ("up", "status", "down"):
            return {"up": _up, "status": _status, "down": _down}[args.command](args)
        return _symbols(args)
    except ValidationError as exc:
        print(f"bot4: invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"bot4: {exc}", file=sys.stderr)
        return 2
