"""pytest fixtures for the Nomad API double, or for a real agent when NOMAD_ADDR is set.

Import the fixtures into a conftest (`from tests.doubles.fixtures import nomad_double, ...`).
With NOMAD_ADDR set, `nomad_double` yields a `RealNomad` pointing at that agent; the test
controls only the double has (fault injection, scheduler pace, failing images) then skip the
test with the reason. Without it, a fresh double runs for each test and the environment is
scrubbed so clients reach the double and nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import pytest

from .nomad import NomadDouble

CLIENT_VARIABLES = (
    "NOMAD_ADDR",
    "NOMAD_TOKEN",
    "NOMAD_NAMESPACE",
    "NOMAD_REGION",
    "NOMAD_CLIENT_CERT",
    "NOMAD_CLIENT_KEY",
    "NOMAD_CACERT",
)


@dataclass
class RealNomad:
    """A real Nomad agent standing where the double would; double-only controls skip the test."""

    address: str
    management_token: str = ""
    is_double: bool = False

    @property
    def host(self) -> str:
        return self.address.split("://", 1)[-1].rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[-1].rstrip("/"))

    def _skip(self, control: str) -> NoReturn:
        pytest.skip(f"{control} needs the Nomad API double; NOMAD_ADDR points at a real agent")

    def fail_next(self, *_args: Any, **_kwargs: Any) -> None:
        self._skip("fault injection")

    def mark_failing(self, *_args: Any, **_kwargs: Any) -> None:
        self._skip("marking a task image or command as failing")

    def advance(self, *_args: Any, **_kwargs: Any) -> None:
        self._skip("stepping the simulated scheduler")

    def workload_token(self, *_args: Any, **_kwargs: Any) -> NoReturn:
        self._skip("a workload identity from outside its task")

    @property
    def request_log(self) -> NoReturn:
        self._skip("the request log")


_STARTED: set[str] = set()


def real_address() -> str:
    """NOMAD_ADDR when it names a real agent, not a double one of these fixtures started."""
    address = os.environ.get("NOMAD_ADDR", "").rstrip("/")
    return "" if address in _STARTED else address


def _double(monkeypatch: pytest.MonkeyPatch, **options: Any) -> Iterator[NomadDouble]:
    for name in CLIENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    double = NomadDouble(**options)
    _STARTED.add(double.address)
    monkeypatch.setenv("NOMAD_ADDR", double.address)
    try:
        yield double
    finally:
        double.stop()
        _STARTED.discard(double.address)


@pytest.fixture
def nomad_double(monkeypatch: pytest.MonkeyPatch) -> Iterator[NomadDouble | RealNomad]:
    """A fresh Nomad double for this test, ACLs and Vault off (or the agent at NOMAD_ADDR)."""
    real = real_address()
    if real:
        yield RealNomad(real, os.environ.get("NOMAD_TOKEN", ""))
        return
    yield from _double(monkeypatch)


@pytest.fixture
def nomad_acl_double(monkeypatch: pytest.MonkeyPatch) -> Iterator[NomadDouble | RealNomad]:
    """A fresh double with ACLs enforced and a `management_token`.

    Against a real agent, NOMAD_TOKEN must hold a management token of an ACL-enabled agent.
    """
    real = real_address()
    if real:
        token = os.environ.get("NOMAD_TOKEN", "")
        if not token:
            pytest.skip("ACL tests on a real agent need NOMAD_TOKEN with a management token")
        yield RealNomad(real, token)
        return
    yield from _double(monkeypatch, acl=True)


@pytest.fixture
def nomad_vault_double(monkeypatch: pytest.MonkeyPatch) -> Iterator[NomadDouble | RealNomad]:
    """A fresh double whose server has Vault enabled, so jobs may carry `vault` blocks.

    Against a real agent, set NOMAD_VAULT_ENABLED=1 once that agent is configured for Vault.
    """
    real = real_address()
    if real:
        if os.environ.get("NOMAD_VAULT_ENABLED") != "1":
            pytest.skip(
                "the agent at NOMAD_ADDR is not declared Vault-enabled (NOMAD_VAULT_ENABLED)"
            )
        yield RealNomad(real, os.environ.get("NOMAD_TOKEN", ""))
        return
    yield from _double(monkeypatch, vault=True)


@pytest.fixture
def nomad_addr(nomad_double: NomadDouble | RealNomad) -> str:
    """The HTTP address of the Nomad the test talks to."""
    return nomad_double.address
