"""Which engine backend the venue tests build: set per test module by tests/venue/conftest.py.

`funded_engine` (tests/conftest.py) and `build_engine` (tests/support/streams.py) build their
engines and ledgers with `current()`, so one test body runs on the Python engine and on the
native one unchanged.
"""

from __future__ import annotations

from bot4.venue.backends import Backend

_current: list[Backend] = ["python"]


def current() -> Backend:
    """The backend the running test builds its engines with."""
    return _current[0]


def use(backend: Backend) -> None:
    """Build engines with `backend` from now on."""
    _current[0] = backend
