"""Fixtures for the tests of the API doubles themselves."""

from __future__ import annotations

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
