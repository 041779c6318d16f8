"""Fixtures for the tests of the API doubles themselves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.doubles.fixtures import (  # noqa: F401  fixtures are found by name
    nomad_acl_double,
    nomad_addr,
    nomad_double,
    nomad_vault_double,
)
from tests.doubles.nomad import NomadDouble


@pytest.fixture
def double(request: pytest.FixtureRequest) -> NomadDouble:
    """The double itself, for tests of double-only behaviour; skips against a real agent."""
    target = request.getfixturevalue("nomad_double")
    if not isinstance(target, NomadDouble):
        pytest.skip("exercises controls only the Nomad API double has")
    return target


@pytest.fixture
def acl_double(request: pytest.FixtureRequest) -> NomadDouble:
    """The double with ACLs enforced, for double-only ACL tests; skips against a real agent."""
    target = request.getfixturevalue("nomad_acl_double")
    if not isinstance(target, NomadDouble):
        pytest.skip("needs allocations that run, which only the Nomad API double guarantees")
    return target


@pytest.fixture
def stepped() -> Iterator[NomadDouble]:
    """A double whose scheduler moves only when the test calls `advance()`."""
    with NomadDouble(auto_advance=False) as double:
        yield double
