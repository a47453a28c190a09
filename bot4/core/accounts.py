"""Account balances: free and locked amounts per asset, in integer asset units."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator


class Balance:
    """One account's holding of one asset. `free` can be spent; `locked` backs open orders."""

    __slots__ = ("free", "locked")

    def __init__(self, free: int = 0, locked: int = 0) -> None:
        self.free = free
        self.locked = locked

    def __repr__(self) -> str:
        return f"Balance(free={self.free}, locked={self.locked})"


class Ledger:
    """Balances of every account, shared by the engines of one venue.

    Amounts are integers of each asset's smallest unit (10^-precision). Only known accounts
    (opened or funded) can trade; a balance exists once asked for.
    """

    __slots__ = ("_balances", "fees", "known", "trade_groups")

    def __init__(self) -> None:
        self.known: set[str] = set()  # accounts that may trade
        self._balances: dict[tuple[str, str], Balance] = {}
        self.fees: dict[str, int] = {}  # commission the venue collected, by asset
        self.trade_groups: dict[str, int] = {}  # account -> tradeGroupId (absent: -1, none)

    def open(self, account: str) -> None:
        """Make an account known (with nothing in it)."""
        self.known.add(account)

    def set_trade_group(self, account: str, group: int) -> None:
        """Put an account in a tradeGroupId (-1: none); a group self-trades as one account."""
        self.known.add(account)
        if group == -1:
            self.trade_groups.pop(account, None)
        elif group < 0:
            raise ValueError("a tradeGroupId is -1 (none) or a non-negative integer")
        else:
            self.trade_groups[account] = group

    def stp_key(self, account: str) -> str | int:
        """What self-trade prevention compares: the tradeGroupId, or the account itself."""
        return self.trade_groups.get(account, account)

    def knows(self, account: str) -> bool:
        return account in self.known

    def deposit(self, account: str, asset: str, units: int) -> None:
        """Credit `units` of `asset` to the account's free balance, opening it if needed."""
        if units < 0:
            raise ValueError("a deposit cannot be negative")
        self.known.add(account)
        self.balance(account, asset).free += units

    def withdraw(self, account: str, asset: str, units: int) -> None:
        """Take `units` from the free balance; refuses to overdraw."""
        bal = self.balance(account, asset)
        if units < 0 or units > bal.free:
            raise ValueError(f"cannot withdraw {units} of {asset}: free is {bal.free}")
        bal.free -= units

    def balance(self, account: str, asset: str) -> Balance:
        """The live balance object (created empty on first use)."""
        key = (account, asset)
        bal = self._balances.get(key)
        if bal is None:
            bal = self._balances[key] = Balance()
        return bal

    def accounts(self) -> list[str]:
        return sorted(self.known)

    def items(self) -> Iterator[tuple[str, str, Balance]]:
        """Every non-empty balance, sorted by account then asset."""
        for (account, asset), bal in sorted(self._balances.items()):
            if bal.free or bal.locked:
                yield account, asset, bal

    def total(self, asset: str) -> int:
        """Free + locked over all accounts, plus collected fees: conserved by trading."""
        held = sum(b.free + b.locked for (_, a), b in self._balances.items() if a == asset)
        return held + self.fees.get(asset, 0)

    def digest(self) -> str:
        """A hash of every non-empty balance and the fees: equal states give equal digests."""
        h = hashlib.sha256()
        for account, asset, bal in self.items():
            h.update(f"{account}|{asset}|{bal.free}|{bal.locked}\n".encode())
        for asset in sorted(self.fees):
            h.update(f"fee|{asset}|{self.fees[asset]}\n".encode())
        for account in sorted(self.trade_groups):
            h.update(f"group|{account}|{self.trade_groups[account]}\n".encode())
        return h.hexdigest()
