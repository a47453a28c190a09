"""Pre-trade risk, budgets, circuit breakers and the kill switch (issue 5)."""
