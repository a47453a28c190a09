"""Domain vocabulary: enums, errors, money, instruments, filters, orders, events, accounts, fees."""
