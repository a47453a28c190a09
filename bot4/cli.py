"""The `bot4` command line: `bot4 run` and `bot4 symbols` (each with --help)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot4 import __version__

DEFAULT_CONFIG = Path("configs/default.toml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot4",
        description="bot4: a Binance-Spot-faithful trading engine and exchange simulator.",
    )
    parser.add_argument("--version", action="version", version=f"bot4 {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="simulate random order flow on the configured symbols and print a summary",
        description=(
            "Run a seeded random-flow simulation of the venue (market makers, takers, cancels "
            "and some malformed requests) on every symbol of the config, on simulated time, "
            "and print orders, trades, rejects by code, fees and the event-log digest."
        ),
    )
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="run config (TOML)")
    run.add_argument("--seconds", type=int, help="simulated seconds (overrides the config)")
    run.add_argument("--seed", type=int, help="random seed (overrides the config)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")

    symbols = commands.add_parser(
        "symbols",
        help="validate a symbols file and list its symbols and filters",
        description="Load a symbols TOML file, validate it, and print each symbol's rules.",
    )
    symbols.add_argument(
        "file", type=Path, nargs="?", default=Path("configs/symbols.toml"), help="symbols TOML"
    )
    return parser


def _run(args: argparse.Namespace) -> int:
    from bot4.config import load_run_config
    from bot4.runner import print_summary, simulate

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
    summary = simulate(
        config, instruments, prices, seconds=seconds, progress=None if args.quiet else sys.stdout
    )
    print_summary(summary, instruments)
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        return _symbols(args)
    except ValidationError as exc:
        print(f"bot4: invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"bot4: {exc}", file=sys.stderr)
        return 2
