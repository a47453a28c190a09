"""Tests of bot4.core: the vocabulary (money, ledger, filters, fees, reports)."""
