"""The venue's shared state in native memory: balances (`NativeLedger`) and who pays which
commission (`NativeFeeBook`), with the methods of `Ledger` and `FeeBook`.

The native engines of one venue share one `NativeLedger`; its fee book lives in the same
native ledger, so a fill's commission, the BNB it may be paid in and the day's volume are
settled without leaving native code. The fee schedule is compiled in Python (`FeeSchedule`)
and handed over as integers and exact fractions.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bot4._native import FeeBook as _FeeBook
from bot4._native import Ledger as _Ledger
from bot4.core.accounts import Balance
from bot4.core.fees import FeeSchedule
from bot4.core.instruments import Instrument
from bot4.venue.feebook import (
    check_level,
    commission_rates,
    fee_digest,
    price_fraction,
    volume_units,
)


class LiveBalance:
    """One balance in a native ledger, read live: `free` and `locked` are always current.

    Read-only: balances change through `deposit`, `withdraw` and the engines only."""

    __slots__ = ("_account", "_asset", "_core")

    def __init__(self, core: _Ledger, account: str, asset: str) -> None:
        self._core, self._account, self._asset = core, account, asset

    @property
    def free(self) -> int:
        free: int = self._core.balance(self._account, self._asset)[0]
        return free

    @property
    def locked(self) -> int:
        locked: int = self._core.balance(self._account, self._asset)[1]
        return locked

    def __repr__(self) -> str:
        return f"Balance(free={self.free}, locked={self.locked})"


class NativeLedger:
    """Balances of every account in native memory, with `Ledger`'s methods."""

    def __init__(self) -> None:
        self.core = _Ledger()

    def open(self, account: str) -> None:
        """Make an account known (with nothing in it)."""
        self.core.open(account)

    def set_trade_group(self, account: str, group: int) -> None:
        """Put an account in a tradeGroupId (-1: none); a group self-trades as one account."""
        self.core.set_trade_group(account, group)

    def stp_key(self, account: str) -> str | int:
        """What self-trade prevention compares: the tradeGroupId, or the account itself."""
        group = self.core.trade_group(account)
        return account if group is None else group

    def knows(self, account: str) -> bool:
        return type(account) is str and self.core.knows(account)

    def deposit(self, account: str, asset: str, units: int) -> None:
        """Credit `units` of `asset` to the account's free balance, opening it if needed."""
        self.core.deposit(account, asset, units)

    def withdraw(self, account: str, asset: str, units: int) -> None:
        """Take `units` from the free balance; refuses to overdraw."""
        self.core.withdraw(account, asset, units)

    def balance(self, account: str, asset: str) -> LiveBalance:
        """One balance, read live (`Ledger.balance` returns the live object too)."""
        return LiveBalance(self.core, account, asset)

    def accounts(self) -> list[str]:
        return self.core.accounts()

    def items(self) -> Iterator[tuple[str, str, Balance]]:
        """Every non-empty balance, sorted by account then asset."""
        for account, asset, free, locked in self.core.items():
            yield account, asset, Balance(free, locked)

    @property
    def fees(self) -> dict[str, int]:
        """Commission the venue collected, by asset (a copy)."""
        return dict(self.core.fees())

    @property
    def known(self) -> set[str]:
        """Accounts that may trade (a copy)."""
        return set(self.core.accounts())

    @property
    def trade_groups(self) -> dict[str, int]:
        """account -> tradeGroupId (a copy)."""
        return dict(self.core.trade_groups())

    def total(self, asset: str) -> int:
        """Free + locked over all accounts, plus collected fees: conserved by trading."""
        return self.core.total(asset)

    def digest(self) -> str:
        """The same hash as `Ledger.digest` for the same balances, fees and groups."""
        return self.core.digest()


class NativeFeeBook:
    """Per-account fee state of a venue whose engines are native, with `FeeBook`'s methods.

    It is kept in `ledger`'s native memory (one schedule per ledger). Engines given this book
    charge their fills through it; the rules are `bot4.venue.feebook`'s, byte for byte."""

    def __init__(
        self, schedule: FeeSchedule | None = None, ledger: NativeLedger | None = None
    ) -> None:
        """`ledger` must be the one the engines trade on (BNB balances are read from it)."""
        self.schedule = schedule
        self.ledger = ledger if ledger is not None else NativeLedger()
        self.core = _FeeBook(self.ledger.core)
        if schedule is not None:
            self.core.set_schedule(*_compiled(schedule))

    @property
    def next_roll(self) -> int:
        """When the next re-tiering is due (ms): the first fill at or after it runs `roll`."""
        next_roll: int = self.core.next_roll
        return next_roll

    def set_price(self, base: str, quote: str, price: Decimal) -> None:
        """A price of `base` in `quote` for a pair not traded here (e.g. pushed from elsewhere)."""
        value = price_fraction(price)
        try:
            self.core.set_price(base, quote, (value.numerator, value.denominator))
        except OverflowError:
            raise ValueError(f"price {price} is out of the native fee book's range") from None

    def price(self, base: str, quote: str) -> Fraction | None:
        """Quote per one `base`: a traded pair's last price, a set price, or an inverse one."""
        value = self.core.price(base, quote)
        return None if value is None else Fraction(*value)

    def set_pay_with_bnb(self, account: str, enabled: bool) -> None:
        """The account's "pay fees with BNB" switch (off by default)."""
        self.core.set_pay_with_bnb(account, bool(enabled))

    def pays_with_bnb(self, account: str) -> bool:
        return bool(self.core.pays_with_bnb(account))

    def pin_level(self, account: str, level: int | None) -> None:
        """Fix the account's VIP level (None: back to volume and BNB balance)."""
        check_level(self.schedule, level)
        self.core.pin_level(account, level)

    def level(self, account: str) -> int:
        """The account's current VIP level (0 without a schedule)."""
        level: int = self.core.level(account)
        return level

    def record_volume(self, account: str, ts_ms: int, usd: Decimal) -> None:
        """Add traded USD volume from outside this venue to the 30-day window (it counts from
        the next re-tiering, as on the venue)."""
        self.core.record_volume(account, ts_ms, volume_units(self.schedule, usd))

    def volume(self, account: str, now_ms: int) -> int:
        """The account's USD volume (in volume units) over the window ending at `now_ms`."""
        volume: int = self.core.volume(account, now_ms)
        return volume

    def roll(self, now: int) -> None:
        """Close the finished UTC day's volume and re-tier every account (first fill of a day)."""
        self.core.roll(now)

    def commission_rates(self, account: str, instrument: Instrument) -> dict[str, Any]:
        """`GET /api/v3/account/commission` for one account and symbol (rates as Decimals)."""
        return commission_rates(
            self.schedule, instrument, self.level(account), self.pays_with_bnb(account)
        )

    def digest(self) -> str:
        """The same hash as `FeeBook.digest` for the same history."""
        day, levels, pinned, pay_bnb, refs = self.core.state()
        return fee_digest(day, levels, pinned, pay_bnb, refs if self.schedule is not None else [])


def _ratio(value: Decimal | Fraction) -> tuple[int, int]:
    """An exact value as the native side takes it: (numerator, denominator)."""
    return value.as_integer_ratio()


def _compiled(schedule: FeeSchedule) -> tuple[Any, ...]:
    """`set_schedule`'s arguments: the tiers, the rate table, BNB, units, USD and window."""
    tiers = [(t.level, t.min_volume_units, t.min_bnb_units) for t in schedule.tiers]
    table = [
        (symbol, level, [
            (_ratio(r.standard), _ratio(r.tax), _ratio(r.special),
             None if r.discount is None else _ratio(r.discount), r.is_buyer)
            for r in row
        ])
        for (symbol, level), row in schedule.rows()
    ]  # fmt: skip
    cfg = schedule.config
    return (
        tiers,
        schedule.tier_rule == "volume_or_bnb",
        table,
        schedule.bnb_asset,
        _ratio(schedule.bnb_unit),
        _ratio(schedule.volume_unit),
        list(cfg.usd_assets),
        cfg.volume_window_days,
    )
