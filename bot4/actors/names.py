"""The names the platform's actors go by in Ray: their namespace, and each actor's name."""

from __future__ import annotations

NAMESPACE = "bot4"  # every bot4 actor's namespace
RISK = "risk"  # the account-wide risk actor
IDEMPOTENCY = "idempotency"  # the shared idempotency actor
SYMBOL_PREFIX = "symbol:"
GROUP = "bot4"  # the placement group of a detached deployment (`bot4 up`)


def symbol_actor(symbol: str) -> str:
    """The name of `symbol`'s actor."""
    return SYMBOL_PREFIX + symbol
