"""Nomad: the connection options every module shares, the client factory and the error mapping.

Every call to Nomad goes through python-nomad. Modules build a client with ``nomad_client`` from
their ``CONNECTION_ARGSPEC`` parameters and wrap each API call in ``api_call``, which turns
python-nomad's exceptions into one ``NomadApiError`` whose message names the action, the object
and Nomad's own answer. No message built here ever carries the token.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback

NOMAD_IMPORT_ERROR: str | None
try:
    import nomad
    import requests
    from nomad.api import exceptions as nomad_exceptions
except ImportError:  # modules report it through missing_required_lib
    HAS_NOMAD = False
    NOMAD_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_NOMAD = True
    NOMAD_IMPORT_ERROR = None

DEFAULT_PORT = 4646
DEFAULT_TIMEOUT = 10

CONNECTION_ARGSPEC: dict[str, dict[str, Any]] = {
    "nomad_addr": {"type": "str", "required": True, "fallback": (env_fallback, ["NOMAD_ADDR"])},
    "nomad_token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["NOMAD_TOKEN"])},
    "nomad_region": {"type": "str", "fallback": (env_fallback, ["NOMAD_REGION"])},
    "nomad_ca_cert": {
        "type": "path",
        "no_log": False,
        "fallback": (env_fallback, ["NOMAD_CACERT"]),
    },
    "nomad_client_cert": {
        "type": "path",
        "no_log": False,
        "fallback": (env_fallback, ["NOMAD_CLIENT_CERT"]),
    },
    "nomad_client_key": {
        "type": "path",
        "no_log": False,
        "fallback": (env_fallback, ["NOMAD_CLIENT_KEY"]),
    },
    "nomad_tls_skip_verify": {"type": "bool", "default": False},
    "nomad_timeout": {"type": "int", "default": DEFAULT_TIMEOUT},
}

CONNECTION_REQUIRED_TOGETHER: list[list[str]] = [["nomad_client_cert", "nomad_client_key"]]

# What a failure with this HTTP status is called at the start of a message.
_STATUS_LEADS = {
    400: "Bad request",
    403: "Permission denied",
    404: "Not found",
    409: "Conflict",
}

# What a call that got no usable answer is called at the start of a message.
FAILURE_TIMEOUT = "timeout"
FAILURE_CONNECTION = "connection"
FAILURE_UNREADABLE = "unreadable"
_FAILURE_LEADS = {
    FAILURE_TIMEOUT: "Timed out",
    FAILURE_CONNECTION: "Could not reach Nomad",
    FAILURE_UNREADABLE: "Unreadable answer from Nomad",
}

# The text Nomad answers when EnforceIndex finds the job changed since the plan.
ENFORCE_INDEX_TEXT = "Enforcing job modify index"


class NomadError(Exception):
    """Anything that stops a Nomad operation; ``str()`` is the message to show."""

    def result_fields(self) -> dict[str, Any]:
        """What a failed module returns beside its message; a subclass may add to it."""
        return {}


class NomadConfigError(NomadError):
    """The connection options cannot describe a Nomad agent."""


class NomadApiError(NomadError):
    """A Nomad API call that failed.

    ``action`` is a verb in -ing form ("deregistering"), ``obj`` the object it acted on
    ("job 'worker'"), ``namespace`` where, ``status`` the HTTP status and ``text`` Nomad's own
    answer. A call that got no usable answer has no status and a ``failure``: ``timeout``,
    ``connection`` or ``unreadable``.
    """

    def __init__(
        self,
        action: str,
        obj: str,
        text: str,
        *,
        status: int | None = None,
        namespace: str | None = None,
        failure: str = "",
    ) -> None:
        self.action = action
        self.obj = obj
        self.text = text
        self.status = status
        self.namespace = namespace
        self.failure = failure
        super().__init__(self._message())

    @property
    def where(self) -> str:
        """The object and its namespace, as messages name them."""
        if self.namespace:
            return f"{self.obj} in namespace '{self.namespace}'"
        return self.obj

    @property
    def timed_out(self) -> bool:
        return self.failure == FAILURE_TIMEOUT

    @property
    def lost_race(self) -> bool:
        """True when EnforceIndex refused a register because the job changed after the plan."""
        return self.status is not None and ENFORCE_INDEX_TEXT in self.text

    def _message(self) -> str:
        if self.status is None:
            lead = _FAILURE_LEADS.get(self.failure, _FAILURE_LEADS[FAILURE_CONNECTION])
            return f"{lead} {self.action} {self.where}: {self.text}"
        lead = _STATUS_LEADS.get(self.status, "")
        if not lead:
            return f"Nomad failed {self.action} {self.where} (HTTP {self.status}): {self.text}"
        return f"{lead} {self.action} {self.where}: {self.text}"


class NomadIndexConflict(NomadApiError):
    """A register refused by EnforceIndex: someone changed the job between plan and register."""

    def _message(self) -> str:
        return (
            f"Job {self.obj.removeprefix('job ')} in namespace '{self.namespace}' was changed "
            "by someone else between plan and register, so nothing was registered; run again to "
            f"plan against the new version: {self.text}"
        )


def nomad_client(params: Mapping[str, Any], namespace: str | None = None) -> Any:
    """Build a python-nomad client from the ``CONNECTION_ARGSPEC`` parameters.

    ``nomad_addr`` is a URL (``http://127.0.0.1:4646``, ``https://nomad.example:4646``); its
    scheme decides TLS, a missing port means 4646. ``namespace`` is sent with every job,
    allocation and deployment call; python-nomad does not add it to variable calls, so those
    pass it per call. The address is always given to python-nomad, so ``NOMAD_ADDR`` in the
    environment never redirects a client built here.
    """
    address = params.get("nomad_addr") or ""
    parts = urlsplit(address)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise NomadConfigError(
            f"nomad_addr must be an http:// or https:// URL such as http://127.0.0.1:4646, "
            f"got {address!r}"
        )
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise NomadConfigError(
            f"nomad_addr must name only the scheme, host and port of the agent, got {address!r}"
        )
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise NomadConfigError(f"nomad_addr has an invalid port: {address!r}") from exc
    secure = parts.scheme == "https"
    host = parts.hostname
    url_host = f"[{host}]" if ":" in host else host

    verify: bool | str = not params.get("nomad_tls_skip_verify")
    if verify and params.get("nomad_ca_cert"):
        verify = str(params["nomad_ca_cert"])
    cert: tuple[str, ...] = ()
    if params.get("nomad_client_cert") and params.get("nomad_client_key"):
        cert = (str(params["nomad_client_cert"]), str(params["nomad_client_key"]))

    return nomad.Nomad(
        host=host,
        port=port,
        secure=secure,
        address=f"{parts.scheme}://{url_host}:{port}",
        namespace=namespace,
        token=params.get("nomad_token") or None,
        region=params.get("nomad_region") or None,
        timeout=params.get("nomad_timeout") or DEFAULT_TIMEOUT,
        verify=verify,
        cert=cert,
    )


@contextmanager
def api_call(action: str, obj: str, namespace: str | None = None) -> Iterator[None]:
    """Run the calls in the block, turning python-nomad's failures into ``NomadApiError``.

    ``action`` and ``obj`` name what the block does ("planning", "job 'worker'"). A register
    refused by EnforceIndex raises ``NomadIndexConflict``.
    """
    try:
        yield
    except nomad_exceptions.BaseNomadException as exc:
        _raise_from(exc, action, obj, namespace)
    except requests.exceptions.InvalidJSONError as exc:
        raise NomadApiError(
            action, obj, _one_line(str(exc)), namespace=namespace, failure=FAILURE_UNREADABLE
        ) from exc
    except requests.RequestException as exc:
        # TimeoutNomadException subclasses requests' exception, not python-nomad's.
        raise NomadApiError(
            action, obj, _one_line(str(exc)), namespace=namespace, failure=_failure(exc)
        ) from exc


def read_or_none(read: Callable[[], Any], obj: str, namespace: str | None = None) -> Any:
    """What ``read()`` returns, or None when Nomad answers 404 because ``obj`` does not exist.

    Every other failure raises ``NomadApiError`` as ``api_call`` does, naming ``obj``.
    """
    try:
        with api_call("reading", obj, namespace):
            return read()
    except NomadApiError as exc:
        if exc.status == 404:
            return None
        raise


def run_by_state(
    module: Any,
    result: dict[str, Any],
    client: Callable[[], Any],
    present: Callable[[Any, Any, dict[str, Any]], None],
    absent: Callable[[Any, Any, dict[str, Any]], None],
) -> None:
    """Run ``present`` or ``absent`` as the module's ``state`` says, then exit the module.

    ``client`` builds the python-nomad client; either function fills ``result``. A
    ``NomadError`` fails the module with its message, what ``result`` holds so far and the
    error's own ``result_fields()``.
    """
    try:
        chosen = present if module.params["state"] == "present" else absent
        chosen(module, client(), result)
    except NomadError as exc:
        module.fail_json(msg=str(exc), **{**result, **exc.result_fields()})
    module.exit_json(**result)


def _raise_from(
    exc: nomad_exceptions.BaseNomadException, action: str, obj: str, namespace: str | None
) -> NoReturn:
    answer = exc.nomad_resp
    if isinstance(answer, requests.Response):
        text = answer.text.strip() or answer.reason or "(empty answer)"
        error = NomadApiError(action, obj, text, status=answer.status_code, namespace=namespace)
        if error.lost_race:
            raise NomadIndexConflict(
                action, obj, text, status=answer.status_code, namespace=namespace
            ) from exc
        raise error from exc
    raise NomadApiError(
        action, obj, _one_line(str(answer)), namespace=namespace, failure=_failure(answer)
    ) from exc


def _failure(exc: object) -> str:
    timeouts = (nomad_exceptions.TimeoutNomadException, requests.Timeout)
    return FAILURE_TIMEOUT if isinstance(exc, timeouts) else FAILURE_CONNECTION


def _one_line(text: str) -> str:
    return " ".join(text.split())
