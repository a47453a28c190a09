"""Tests of bot4.risk: pre-trade risk, breakers, leases and the risk desk."""
