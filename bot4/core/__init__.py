"""Domain vocabulary: money, instruments, filters, orders, events, errors, accounts."""
