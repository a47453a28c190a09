"""The Ray shell: symbol, risk, idempotency and simulator actors (issue 7)."""
