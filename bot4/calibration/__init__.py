"""Calibration of market models against Binance data: the `bot4 calibrate` pipeline, its JSON
report and its plots (outside the pure core: it reads files and draws PNGs)."""
