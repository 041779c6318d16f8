"""The Nomad client factory and the mapping of python-nomad's exceptions to messages."""

from __future__ import annotations

from typing import Any

import nomad
import pytest
import requests
from nomad.api import exceptions as nomad_exceptions

from ansible_collections.nomad_previews.previews.plugins.module_utils.nomad import (
    NomadApiError,
    NomadConfigError,
    NomadIndexConflict,
    api_call,
    nomad_client,
    read_or_none,
    run_by_state,
)

NAMESPACE = "preview-shop-pr-42"


def settings(params: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    client = nomad_client(params, namespace)
    assert isinstance(client, nomad.Nomad)
    return dict(client.requester_settings)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        pytest.param("http://127.0.0.1:4646", "http://127.0.0.1:4646", id="http"),
        pytest.param("https://nomad.example:8443", "https://nomad.example:8443", id="https"),
        pytest.param("http://nomad.example", "http://nomad.example:4646", id="default-port"),
        pytest.param("https://nomad.example/", "https://nomad.example:4646", id="trailing-slash"),
        pytest.param("http://[::1]:4646", "http://[::1]:4646", id="ipv6"),
    ],
)
def test_the_address_names_scheme_host_and_port(address: str, expected: str) -> None:
    assert settings({"nomad_addr": address})["address"] == expected


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("127.0.0.1:4646", id="no-scheme"),
        pytest.param("ftp://nomad.example:4646", id="other-scheme"),
        pytest.param("http://nomad.example:4646/v1", id="path"),
        pytest.param("http://nomad.example:99999", id="port-out-of-range"),
        pytest.param("", id="empty"),
    ],
)
def test_an_address_that_is_not_an_agent_url_is_refused(address: str) -> None:
    with pytest.raises(NomadConfigError, match="nomad_addr"):
        nomad_client({"nomad_addr": address})


def test_the_environment_never_redirects_a_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOMAD_ADDR", "http://10.0.0.1:4646")

    assert settings({"nomad_addr": "http://127.0.0.1:4646"})["address"] == "http://127.0.0.1:4646"


@pytest.mark.parametrize(
    ("params", "verify", "cert"),
    [
        pytest.param({}, True, (), id="verified-by-default"),
        pytest.param({"nomad_ca_cert": "ca.pem"}, "ca.pem", (), id="own-ca"),
        pytest.param(
            {"nomad_ca_cert": "ca.pem", "nomad_tls_skip_verify": True}, False, (), id="skip"
        ),
        pytest.param(
            {"nomad_client_cert": "client.pem", "nomad_client_key": "client-key.pem"},
            True,
            ("client.pem", "client-key.pem"),
            id="mutual-tls",
        ),
    ],
)
def test_tls_options_reach_the_client(params: dict[str, Any], verify: Any, cert: Any) -> None:
    found = settings({"nomad_addr": "https://nomad.example:4646", **params})

    assert found["verify"] == verify
    assert found["cert"] == cert


def test_token_region_timeout_and_namespace_reach_the_client() -> None:
    found = settings(
        {
            "nomad_addr": "http://127.0.0.1:4646",
            "nomad_token": "a-token",
            "nomad_region": "eu",
            "nomad_timeout": 3,
        },
        NAMESPACE,
    )

    assert (found["token"], found["region"], found["timeout"]) == ("a-token", "eu", 3)
    assert found["namespace"] == NAMESPACE


def answer(status: int, text: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = text.encode()
    response.reason = "reason"
    return response


def raised(exc: BaseException, namespace: str | None = NAMESPACE) -> NomadApiError:
    with (
        pytest.raises(NomadApiError) as caught,
        api_call("deregistering", "job 'worker'", namespace),
    ):
        raise exc
    return caught.value


@pytest.mark.parametrize(
    ("exception", "status", "message"),
    [
        pytest.param(
            nomad_exceptions.BadRequestNomadException,
            400,
            "Bad request deregistering job 'worker' in namespace 'preview-shop-pr-42': "
            "Failed to parse value",
            id="400",
        ),
        pytest.param(
            nomad_exceptions.URLNotAuthorizedNomadException,
            403,
            "Permission denied deregistering job 'worker' in namespace 'preview-shop-pr-42': "
            "Permission denied",
            id="403",
        ),
        pytest.param(
            nomad_exceptions.URLNotFoundNomadException,
            404,
            "Not found deregistering job 'worker' in namespace 'preview-shop-pr-42': job not found",
            id="404",
        ),
        pytest.param(
            nomad_exceptions.VariableConflict,
            409,
            "Conflict deregistering job 'worker' in namespace 'preview-shop-pr-42': {}",
            id="409",
        ),
        pytest.param(
            nomad_exceptions.BaseNomadException,
            500,
            "Nomad failed deregistering job 'worker' in namespace 'preview-shop-pr-42' "
            "(HTTP 500): 1 error occurred:\n\t* Missing job task groups",
            id="500",
        ),
    ],
)
def test_each_status_gives_its_message_with_nomads_text(
    exception: type[nomad_exceptions.BaseNomadException], status: int, message: str
) -> None:
    text = message.rsplit(": ", 1)[1] if status != 500 else message.split("): ", 1)[1]

    error = raised(exception(answer(status, f"{text}\n\n")))

    assert str(error) == message
    assert (error.status, error.text) == (status, text)


def test_a_lost_enforce_index_race_names_the_job_and_what_to_do() -> None:
    text = "Enforcing job modify index 12: job exists with conflicting job modify index: 15"

    error = raised(nomad_exceptions.BaseNomadException(answer(500, text)))

    assert isinstance(error, NomadIndexConflict)
    assert "Job 'worker' in namespace 'preview-shop-pr-42' was changed" in str(error)
    assert "run again" in str(error)
    assert text in str(error)


@pytest.mark.parametrize(
    ("exception", "lead"),
    [
        pytest.param(
            nomad_exceptions.BaseNomadException(requests.exceptions.ReadTimeout("read timed out")),
            "Timed out deregistering job 'worker'",
            id="read-timeout",
        ),
        pytest.param(
            nomad_exceptions.TimeoutNomadException(requests.exceptions.ConnectTimeout("slow")),
            "Timed out deregistering job 'worker'",
            id="stream-timeout",
        ),
        pytest.param(
            nomad_exceptions.BaseNomadException(requests.exceptions.ConnectionError("refused")),
            "Could not reach Nomad deregistering job 'worker'",
            id="connection-refused",
        ),
        pytest.param(
            requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0),
            "Unreadable answer from Nomad deregistering job 'worker'",
            id="not-json",
        ),
    ],
)
def test_failures_without_an_answer_say_what_happened(exception: Exception, lead: str) -> None:
    error = raised(exception)

    assert str(error).startswith(lead)
    assert error.status is None


def test_an_object_without_namespace_is_named_alone() -> None:
    error = raised(
        nomad_exceptions.URLNotAuthorizedNomadException(answer(403, "Permission denied")),
        namespace=None,
    )

    assert str(error) == "Permission denied deregistering job 'worker': Permission denied"


def test_other_exceptions_pass_through_untouched() -> None:
    with pytest.raises(KeyError), api_call("reading", "job 'worker'", NAMESPACE):
        raise KeyError("ID")


def test_read_or_none_gives_none_for_a_missing_object_and_raises_the_rest() -> None:
    def missing() -> Any:
        raise nomad_exceptions.URLNotFoundNomadException(answer(404, "job not found"))

    def denied() -> Any:
        raise nomad_exceptions.URLNotAuthorizedNomadException(answer(403, "Permission denied"))

    assert read_or_none(lambda: {"ID": "worker"}, "job 'worker'", NAMESPACE) == {"ID": "worker"}
    assert read_or_none(missing, "job 'worker'", NAMESPACE) is None
    with pytest.raises(NomadApiError) as refused:
        read_or_none(denied, "job 'worker'", NAMESPACE)
    assert str(refused.value) == (
        f"Permission denied reading job 'worker' in namespace '{NAMESPACE}': Permission denied"
    )


class Exited(Exception):
    """How the stand-in module ends, as AnsibleModule's exit_json and fail_json do."""


class StandIn:
    """The part of an AnsibleModule that ``run_by_state`` uses."""

    def __init__(self, state: str) -> None:
        self.params = {"state": state}
        self.ended: dict[str, Any] = {}

    def exit_json(self, **result: Any) -> None:
        self.ended = {"exit": result}
        raise Exited

    def fail_json(self, **result: Any) -> None:
        self.ended = {"fail": result}
        raise Exited


@pytest.mark.parametrize("state", ["present", "absent"])
def test_run_by_state_runs_the_chosen_side_and_fails_on_a_nomad_error(state: str) -> None:
    def present(_module: Any, client: Any, result: dict[str, Any]) -> None:
        result["ran"] = f"present with {client}"

    def absent(_module: Any, _client: Any, result: dict[str, Any]) -> None:
        result["ran"] = "absent"
        raise NomadConfigError("nomad_addr is not set")

    module = StandIn(state)
    with pytest.raises(Exited):
        run_by_state(module, {"changed": False}, lambda: "a client", present, absent)

    if state == "present":
        assert module.ended == {"exit": {"changed": False, "ran": "present with a client"}}
    else:
        assert module.ended == {
            "fail": {"msg": "nomad_addr is not set", "changed": False, "ran": "absent"}
        }
