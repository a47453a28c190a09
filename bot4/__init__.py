"""bot4: a Binance-Spot-faithful trading engine and exchange simulator."""

__version__ = "0.1.0"
