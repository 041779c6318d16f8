"""A strict HTTP API double of HashiCorp Nomad for tests that cannot run a Nomad agent."""

from .server import NomadDouble, RequestRecord

__all__ = ["NomadDouble", "RequestRecord"]
