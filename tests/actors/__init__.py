"""Tests of bot4.actors on a real Ray: the symbol, risk and idempotency actors, deployments."""
