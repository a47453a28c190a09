"""Account budgets leased to symbols: an account-wide limit checked locally by each symbol.

An `AccountBudget` is one account-wide limit (gross exposure, daily-loss headroom...) held by the
risk actor. It is split into `SymbolLease`s, one per symbol, held by the symbol actors. A symbol
checks an order against its own lease (`try_reserve`: a few integer operations, no message).
When its headroom runs low (`wants`) it asks for more (`request`); unused parts come back by
`release`, `rebalance` and `set_limit`.

Amounts are ints in units of the account's valuation asset (e.g. 1e-8 USDT); no clock, no
randomness. On a lease, `used` is what positions or losses consume now (fills, re-marked after
price moves), `reserved` is the worst case of live orders and
`available = granted - used - reserved`. The *unused* part is `max(available, 0)`: reserved
amounts back live orders and are never taken back.

Invariants (tests/risk/test_leases.py checks them under random interleavings):

1. `sum(granted) <= limit`. The one exception is `set_limit` below what is granted: it takes
   back unused parts (largest first, ties by symbol), never usage. If that is not enough,
   granted stays above the new limit (never above what it was before the shrink), every lease
   is *frozen* and no grant is made until `granted <= limit` again.
2. A lease never grants itself: only `AccountBudget.request` and `rebalance` raise `granted`.
   A frozen lease only lowers it: capacity freed by `unreserve`, `commit`, `free_usage` or a
   downward `revalue` goes straight back, so usage falling brings `granted` under the limit.
   The budget thaws all leases at its next `request`, `rebalance` or `set_limit` once
   `granted <= limit`.
3. `try_reserve` never lets `used + reserved` exceed `granted`. A fill at a worse price
   (`commit`) or a price move (`revalue`) may push a lease over its grant; then
   `available < 0` and only zero-size (reducing) orders pass.
4. Hence any positive reservation is accepted while no lease is frozen, so `sum(granted) <=
   limit`, and the account-wide `sum(used + reserved) <= limit` unless a lease is over its grant
   through `commit`/`revalue` (by at most that overshoot): no order that would breach the limit
   is accepted.

A refused call (ValueError for a negative or excessive amount, TypeError for a non-int) changes
nothing. The budget touches a lease only through `_grant`, `_reclaim` and `_set_frozen`, and
reads its `granted`/`used`/`reserved`: each is one message once the objects live in actors.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["AccountBudget", "SymbolLease"]


def _amount(name: str, value: object) -> int:
    """`value` as a non-negative int, or TypeError/ValueError naming `name`."""
    if type(value) is not int:
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _symbol(symbol: object) -> str:
    if not isinstance(symbol, str) or not symbol:
        raise ValueError(f"a symbol is a non-empty string, got {symbol!r}")
    return symbol


class SymbolLease:
    """What one symbol may use of an account budget, checked locally without asking anyone."""

    __slots__ = ("_frozen", "_granted", "_reserved", "_used", "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = _symbol(symbol)
        self._granted = 0
        self._used = 0
        self._reserved = 0
        self._frozen = False

    @property
    def granted(self) -> int:
        """What the budget has leased to this symbol."""
        return self._granted

    @property
    def used(self) -> int:
        """What positions or losses consume now."""
        return self._used

    @property
    def reserved(self) -> int:
        """Worst case of the live orders."""
        return self._reserved

    @property
    def frozen(self) -> bool:
        """True while the account is over a shrunk limit: freed capacity goes back at once."""
        return self._frozen

    @property
    def available(self) -> int:
        """`granted - used - reserved`; negative after price moves (only reducing orders pass)."""
        return self._granted - self._used - self._reserved

    def try_reserve(self, amount: int) -> bool:
        """Reserve `amount` for an order if it fits in `available`; 0 (reducing) always fits."""
        if type(amount) is not int or amount < 0:
            _amount("try_reserve amount", amount)
        if amount and amount > self._granted - self._used - self._reserved:
            return False
        self._reserved += amount
        return True

    def unreserve(self, amount: int) -> None:
        """An order ended (cancel/expire) without using `amount` of its reservation."""
        _amount("unreserve amount", amount)
        if amount > self._reserved:
            raise ValueError(
                f"{self.symbol}: cannot unreserve {amount}, only {self._reserved} reserved"
            )
        self._reserved -= amount
        self._settle()

    def commit(self, reserved: int, used: int) -> None:
        """A fill: `reserved` leaves the reservation and `used` becomes usage (price may differ)."""
        _amount("commit reserved", reserved)
        _amount("commit used", used)
        if reserved > self._reserved:
            raise ValueError(
                f"{self.symbol}: cannot commit {reserved}, only {self._reserved} reserved"
            )
        self._reserved -= reserved
        self._used += used
        self._settle()

    def revalue(self, used: int) -> None:
        """Usage re-measured after a price move; may exceed `granted` (then `available < 0`)."""
        self._used = _amount("revalue used", used)
        self._settle()

    def free_usage(self, amount: int) -> None:
        """Usage fell by `amount` (position reduced, loss recovered)."""
        _amount("free_usage amount", amount)
        if amount > self._used:
            raise ValueError(f"{self.symbol}: cannot free {amount}, only {self._used} used")
        self._used -= amount
        self._settle()

    def wants(self, low_water: int) -> int:
        """How much to request when `available < low_water`: back to `2 * low_water`; else 0."""
        _amount("low_water", low_water)
        available = self.available
        return 2 * low_water - available if available < low_water else 0

    # Budget side: the only ways `granted` and `frozen` change (one message each in actors).

    def _grant(self, amount: int) -> None:
        self._granted += amount

    def _reclaim(self, amount: int) -> int:
        """Give back up to `amount` of the unused part; returns what was given back."""
        give = min(amount, max(self.available, 0))
        self._granted -= give
        return give

    def _set_frozen(self, frozen: bool) -> None:
        self._frozen = frozen
        self._settle()

    def _settle(self) -> None:
        """While frozen, hand back any unused part at once."""
        if self._frozen and self.available > 0:
            self._granted = self._used + self._reserved


class AccountBudget:
    """One account-wide limit (e.g. gross exposure or daily loss headroom), split into leases."""

    __slots__ = ("_frozen", "_leases", "_limit", "name")

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self._limit = _amount("limit", limit)
        self._leases: dict[str, SymbolLease] = {}
        self._frozen = False

    @property
    def limit(self) -> int:
        """The account-wide limit (change it with `set_limit`)."""
        return self._limit

    @property
    def granted(self) -> int:
        """Sum of all leases granted."""
        return sum(lease.granted for lease in self._leases.values())

    @property
    def free(self) -> int:
        """`limit - granted`, never negative."""
        return max(self._limit - self.granted, 0)

    @property
    def frozen(self) -> bool:
        """True while granted is over a shrunk limit: no grants, leases hand back freed room."""
        return self._frozen

    def lease(self, symbol: str) -> SymbolLease:
        """The symbol's lease (created with 0 on first use)."""
        lease = self._leases.get(symbol)
        if lease is None:
            lease = self._leases[symbol] = SymbolLease(symbol)
            lease._set_frozen(self._frozen)
        return lease

    def request(self, symbol: str, amount: int) -> int:
        """Grant up to `amount` more to `symbol` from what is free; returns what was granted."""
        _amount("request amount", amount)
        lease = self.lease(_symbol(symbol))
        self._thaw()
        give = 0 if self._frozen else min(amount, self.free)
        if give:
            lease._grant(give)
        return give

    def release(self, symbol: str, amount: int) -> int:
        """Take back up to `amount` of the symbol's unused lease; returns what came back.

        More than the lease's whole grant is a caller error (ValueError); more than its unused
        part (some got reserved meanwhile) just returns less.
        """
        _amount("release amount", amount)
        lease = self._leases.get(symbol)
        held = 0 if lease is None else lease.granted
        if amount > held:
            raise ValueError(f"cannot release {amount} of {symbol!r}: its lease is {held}")
        return 0 if lease is None else lease._reclaim(amount)

    def set_limit(self, limit: int) -> None:
        """Change the limit. Shrinking below granted takes back unused parts (largest first);
        if still over, leases freeze and no grant is made until granted <= limit."""
        self._limit = _amount("limit", limit)
        excess = self.granted - self._limit
        if excess > 0:
            by_unused = sorted(self._leases.values(), key=lambda x: (-x.available, x.symbol))
            for lease in by_unused:
                if excess <= 0:
                    break
                excess -= lease._reclaim(excess)
            if excess > 0 and not self._frozen:
                self._frozen = True
                for lease in self._leases.values():
                    lease._set_frozen(True)
        self._thaw()

    def rebalance(self, weights: Mapping[str, int] | None = None) -> dict[str, int]:
        """Move leases toward fair targets; returns {symbol: granted} for every lease.

        Targets split `limit` in proportion to `weights` (default: equal among all leases; a
        symbol left out gets 0), rounded down with the remainder going to the largest
        fractions (ties by symbol). Each lease's unused part above its target is reclaimed,
        then leases below target are topped up from what is free, in symbol order. Used and
        reserved amounts are never taken back and the limit is never exceeded.
        """
        if weights is None:
            weights = dict.fromkeys(self._leases, 1)
        checked = {_symbol(s): _amount(f"weight of {s!r}", w) for s, w in weights.items()}
        for symbol in sorted(checked):
            if checked[symbol]:
                self.lease(symbol)
        targets = self._targets(checked)
        for symbol in sorted(self._leases):
            lease = self._leases[symbol]
            keep = max(targets.get(symbol, 0), lease.used + lease.reserved)
            if lease.granted > keep:
                lease._reclaim(lease.granted - keep)
        self._thaw()
        if not self._frozen:
            free = self.free
            for symbol in sorted(targets):
                lease = self._leases[symbol]
                give = min(max(targets[symbol] - lease.granted, 0), free)
                if give:
                    lease._grant(give)
                    free -= give
        return {symbol: self._leases[symbol].granted for symbol in sorted(self._leases)}

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Per symbol (sorted): granted, used, reserved."""
        return {
            s: {"granted": x.granted, "used": x.used, "reserved": x.reserved}
            for s, x in sorted(self._leases.items())
        }

    def _targets(self, weights: Mapping[str, int]) -> dict[str, int]:
        """`limit` split by positive `weights` (largest remainder method)."""
        total = sum(weights.values())
        if not total:
            return {}
        shares = {s: divmod(self._limit * w, total) for s, w in weights.items() if w}
        targets = {s: q for s, (q, _) in shares.items()}
        left = self._limit - sum(targets.values())
        for symbol in sorted(shares, key=lambda s: (-shares[s][1], s))[:left]:
            targets[symbol] += 1
        return targets

    def _thaw(self) -> None:
        if self._frozen and self.granted <= self._limit:
            self._frozen = False
            for lease in self._leases.values():
                lease._set_frozen(False)
