"""Tests of bot4.market and bot4.calibration: market models, data readers, calibration."""
