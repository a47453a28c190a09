"""Adapters to external services (Redis, later PostgreSQL) behind the core's interfaces."""
