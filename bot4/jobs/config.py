"""The main job's configuration (configs/default.toml), validated by pydantic."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot4.core.filters import ExactDecimal
from bot4.core.instruments import Instrument, load_symbols


class PlatformConfig(BaseModel):
    """How `bot4.connect` deploys the platform (the `[platform]` table of a run config)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpus_per_symbol: float = Field(default=0.2, gt=0, le=64)
    max_pending_calls: int = Field(default=1_000, gt=0)  # each actor's mailbox bound
    backpressure: Literal["reject", "wait"] = "reject"  # when a mailbox is full
    wait_timeout_s: float = Field(default=5.0, gt=0)  # how long "wait" waits
    fsync: Literal["always", "never"] = "always"  # the journals' durability
    journal_dir: Path | None = None  # None: a fresh temporary folder per run
    risk_file: Path | None = None  # pre-trade risk; None: no risk checks
    idempotency_capacity: int = Field(default=100_000, ge=0)  # keys kept per symbol
    redis_url: str | None = None  # the shared idempotency store's Redis tier
    require_timestamp: bool = False  # refuse commands that carry no timestamp

    def connect_kwargs(self) -> dict[str, Any]:
        """These settings as `bot4.connect` keyword arguments."""
        data = self.model_dump()
        data["policy"] = data.pop("backpressure")
        return {k: v for k, v in data.items() if v is not None}


class RunConfig(BaseModel):
    """What `bot4 run` simulates: which symbols, from which prices, for how long."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbols_file: Path = Path("symbols.toml")
    seed: int = 7
    seconds: int = Field(default=60, gt=0, le=86_400)
    requests_per_second: int = Field(default=200, gt=0, le=100_000)
    accounts: int = Field(default=6, ge=3, le=1_000)
    fees_file: Path | None = None  # commission schedule; None: each symbol's flat rates
    bnb_fee_accounts: int = Field(default=0, ge=0)  # the first N accounts pay fees in BNB
    start_prices: dict[str, ExactDecimal] = Field(min_length=1)
    platform: PlatformConfig = PlatformConfig()

    @model_validator(mode="after")
    def _positive_prices(self) -> RunConfig:
        for symbol, price in self.start_prices.items():
            if price <= 0:
                raise ValueError(f"start_prices.{symbol} must be positive")
        if self.bnb_fee_accounts > self.accounts:
            raise ValueError("bnb_fee_accounts must not exceed accounts")
        if self.bnb_fee_accounts and self.fees_file is None:
            raise ValueError("bnb_fee_accounts needs a fees_file (no schedule, no BNB discount)")
        return self

    def instruments(self, base_dir: Path) -> dict[str, Instrument]:
        """The configured symbols that have a start price, in start_prices order."""
        path = (
            self.symbols_file if self.symbols_file.is_absolute() else base_dir / self.symbols_file
        )
        known = load_symbols(path)
        missing = [s for s in self.start_prices if s not in known]
        if missing:
            raise ValueError(f"start_prices names symbols not in {path}: {', '.join(missing)}")
        return {s: known[s] for s in self.start_prices}


def load_run_config(
    path: str | Path,
) -> tuple[RunConfig, dict[str, Instrument], dict[str, Decimal]]:
    """Load a run config and its symbols; errors name the bad field."""
    path = Path(path)
    with open(path, "rb") as fh:
        config = RunConfig.model_validate(tomllib.load(fh))
    for name in ("fees_file", "symbols_file"):
        value = getattr(config, name)
        if value is not None and not value.is_absolute():
            config = config.model_copy(update={name: (path.parent / value).resolve()})
    deploy = config.platform
    for name in ("journal_dir", "risk_file"):
        value = getattr(deploy, name)
        if value is not None and not value.is_absolute():
            deploy = deploy.model_copy(update={name: (path.parent / value).resolve()})
    config = config.model_copy(update={"platform": deploy})
    instruments = config.instruments(path.parent)
    return config, instruments, dict(config.start_prices)
