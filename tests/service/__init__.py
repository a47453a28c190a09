"""Tests of bot4.service (and the Redis store in bot4.infra): the pure order path."""
