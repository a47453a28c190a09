"""Tests of bot4.jobs: the run config, the platform run and the Ray job."""
