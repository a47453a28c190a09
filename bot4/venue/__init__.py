"""The exchange: matching engines, books, stops, order lists, fee book, limits, the REST edge."""
