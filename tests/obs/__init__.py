"""Tests of bot4.obs: metrics, logs, dashboards, and a real Prometheus."""
