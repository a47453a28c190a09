"""Every venue test runs on both engine backends, the Python specification and the native
core, unchanged in what it asserts; a test marked `python_engine_only` (with its reason)
runs on the Python one alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot4.venue.backends import BACKENDS, Backend
from tests.support import backends


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine_backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("python_engine_only")
        params = ["python"] if only else list(BACKENDS)
        metafunc.parametrize("engine_backend", params, indirect=True, scope="module")


@pytest.fixture(autouse=True, scope="module")
def engine_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The backend this test's engines are built with (module scope: hypothesis reruns a
    test's examples inside one setup, and the backend does not change between them)."""
    backend: Backend = request.param
    backends.use(backend)
    yield backend
    backends.use("python")
