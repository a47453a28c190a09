"""The venue: order book, matching engine, reference price, multi-symbol venue."""
