"""The `bot4` command: help on every command, `bot4 run`, `bot4 symbols`, config errors."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bot4.cli import main
from bot4.jobs.config import load_run_config
from bot4.jobs.local import simulate
from tests.conftest import ROOT

DEFAULT = ROOT / "configs" / "default.toml"


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["symbols", "--help"]])
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    assert "usage: bot4" in capsys.readouterr().out


def test_python_dash_m_bot4_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot4", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.startswith("bot4 ")


def test_run_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--local", "--config", str(DEFAULT), "--seconds", "12", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    for needle in (
        "BTCUSDT",
        "SOLUSDT",
        "rejects by code",
        "-1013",
        "fees collected",
        "event-log sha256",
    ):
        assert needle in out
    assert "t=   10s" in out


def test_run_is_deterministic_for_a_seed() -> None:
    config, instruments, prices = load_run_config(DEFAULT)
    first = simulate(config, instruments, prices, seconds=5)
    second = simulate(config, instruments, prices, seconds=5)
    other = simulate(config.model_copy(update={"seed": 99}), instruments, prices, seconds=5)
    assert first.event_digest == second.event_digest and first.state_digest == second.state_digest
    assert first.event_digest != other.event_digest
    assert first.requests > 3_000 and sum(s.trades for s in first.stats.values()) > 500
    assert first.rejects  # the malformed requests were refused with codes
    plain = simulate(config.model_copy(update={"bnb_fee_accounts": 0}), instruments, prices,
                     seconds=5)  # fmt: skip
    # the two BNB payers move commission from USDT, BTC, ... to BNB
    assert Decimal(first.fees["BNB"]) > Decimal(plain.fees["BNB"])
    assert Decimal(first.fees["USDT"]) < Decimal(plain.fees["USDT"])


def test_run_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--config", str(DEFAULT), "--seconds", "0"]) == 2
    assert main(["run", "--config", str(tmp_path / "missing.toml")]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('seconds = "soon"\n[start_prices]\nBTCUSDT = "1"\n')
    assert main(["run", "--config", str(bad)]) == 2
    assert "seconds" in capsys.readouterr().err


def test_symbols_lists_the_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["symbols", str(ROOT / "configs" / "symbols.toml")]) == 0
    out = capsys.readouterr().out
    assert "BTCUSDT: BTC/USDT TRADING" in out and "LOT_SIZE: minQty=0.00001" in out
