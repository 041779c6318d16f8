"""Connection options shared by every module and plugin that talks to Nomad."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  nomad_addr:
    description:
      - URL of the Nomad HTTP API, such as V(http://127.0.0.1:4646) or
        V(https://nomad.example.com:4646).
      - The scheme decides whether TLS is used; without a port, V(4646) is used.
      - Falls back to the E(NOMAD_ADDR) environment variable.
    type: str
    env:
      - name: NOMAD_ADDR
    required: true
  nomad_token:
    description:
      - Nomad ACL token (secret ID) sent with every request.
      - Falls back to the E(NOMAD_TOKEN) environment variable. Never shown in any output.
    type: str
    env:
      - name: NOMAD_TOKEN
  nomad_region:
    description:
      - Nomad region to send requests to; the agent's own region when unset.
      - Falls back to the E(NOMAD_REGION) environment variable.
    type: str
    env:
      - name: NOMAD_REGION
  nomad_ca_cert:
    description:
      - Path to a PEM CA certificate used to verify the agent's TLS certificate.
      - Falls back to the E(NOMAD_CACERT) environment variable.
    type: path
    env:
      - name: NOMAD_CACERT
  nomad_client_cert:
    description:
      - Path to a PEM client certificate for mutual TLS; requires O(nomad_client_key).
      - Falls back to the E(NOMAD_CLIENT_CERT) environment variable.
    type: path
    env:
      - name: NOMAD_CLIENT_CERT
  nomad_client_key:
    description:
      - Path to the PEM private key of O(nomad_client_cert).
      - Falls back to the E(NOMAD_CLIENT_KEY) environment variable.
    type: path
    env:
      - name: NOMAD_CLIENT_KEY
  nomad_tls_skip_verify:
    description:
      - Do not verify the agent's TLS certificate. Only for throw-away test agents.
    type: bool
    default: false
  nomad_timeout:
    description:
      - Seconds to wait for each HTTP request to Nomad before failing.
    type: int
    default: 10
requirements:
  - python-nomad >= 2.1.0
"""
