"""The ledger: exact free/locked balances per account and asset."""

from __future__ import annotations

import pytest

from bot4.core.accounts import Balance, Ledger


def test_accounts_open_deposit_and_withdraw() -> None:
    ledger = Ledger()
    assert not ledger.knows("a")
    ledger.open("a")
    assert ledger.knows("a") and list(ledger.items()) == []
    ledger.deposit("b", "USDT", 500)
    assert ledger.accounts() == ["a", "b"]
    ledger.withdraw("b", "USDT", 200)
    assert repr(ledger.balance("b", "USDT")) == "Balance(free=300, locked=0)"
    with pytest.raises(ValueError, match="cannot withdraw"):
        ledger.withdraw("b", "USDT", 301)
    with pytest.raises(ValueError, match="cannot withdraw"):
        ledger.withdraw("b", "USDT", -1)
    with pytest.raises(ValueError, match="negative"):
        ledger.deposit("b", "USDT", -5)
    assert ledger.total("USDT") == 300


def test_digest_ignores_empty_balances_and_counts_fees() -> None:
    one, two = Ledger(), Ledger()
    one.deposit("a", "BTC", 7)
    two.deposit("a", "BTC", 7)
    two.balance("z", "ETH")  # looked at, never funded
    assert one.digest() == two.digest()
    two.fees["BTC"] = 1
    assert one.digest() != two.digest()
    assert two.total("BTC") == 8
    assert [(a, s, b.free) for a, s, b in one.items()] == [("a", "BTC", 7)]
    assert Balance(1, 2).locked == 2
