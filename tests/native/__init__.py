"""Tests of the native core (bot4._native) against its Python references."""
