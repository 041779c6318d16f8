"""The HTTP side of the Nomad double: routing, wire rules, the request log and fault injection.

`NomadDouble` starts a threaded HTTP server on 127.0.0.1 and exposes the state, the scheduler
controls, the request log and fault injection to tests.
"""

from __future__ import annotations

import base64
import copy
import fnmatch
import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import bexpr, hcl, jobs, network, scheduler, services, wire
from .acl import Acl
from .durations import parse_go_duration
from .errors import ApiError, denied
from .state import Store, public

logger = logging.getLogger(__name__)

Handler = Callable[["Request"], "Response"]
BOOL_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
BOOL_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
WRITE_METHODS = {"PUT", "POST"}
ANY_METHOD = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD")


@dataclass
class RequestRecord:
    """One request as the double saw it. `injected` names the fault it was given, if any."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any = None
    injected: str | None = None


@dataclass
class Fault:
    method: str
    pattern: str
    times: int
    status: int = 500
    hang: bool = False
    delay: float = 0.0
    body: str = "injected failure"

    def matches(self, method: str, path: str) -> bool:
        return (self.method in {"*", method}) and fnmatch.fnmatchcase(path, self.pattern)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    raw_body: bytes
    token: str
    acl: Acl
    params: dict[str, str]

    def namespace(self, default: str = "default") -> str:
        return self.query.get("namespace") or default

    def bool_param(self, name: str) -> bool:
        """A query boolean parsed like Go's ParseBool; a bad value is Nomad's 500."""
        value = self.query.get(name)
        if value is None or value == "":
            return False
        if value in BOOL_TRUE:
            return True
        if value in BOOL_FALSE:
            return False
        raise ApiError(
            500,
            f'Failed to parse value of "{name}" ({value}) as a bool: strconv.ParseBool: '
            f'parsing "{value}": invalid syntax',
        )

    def require(self, namespace: str, *capabilities: str) -> None:
        if not self.acl.allows(namespace, *capabilities):
            raise denied()

    def require_management(self) -> None:
        if not self.acl.management:
            raise denied()


@dataclass
class Response:
    status: int = 200
    body: Any = None
    index: int | None = None
    empty: bool = False
    query_meta: bool = False
    next_token: str = ""
    raw: bytes | None = None


class Route:
    """A path pattern and its handler per method.

    `{name}` captures one path segment, `{rest*}` everything that follows.
    """

    def __init__(self, pattern: str, handlers: dict[str, Handler]) -> None:
        regex = re.sub(r"\{(\w+)\*\}", r"(?P<\1>.+)", pattern)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        self.regex = re.compile(f"^{regex}$")
        self.handlers = handlers


class NomadDouble:
    """A strict stand-in for a Nomad agent's HTTP API, for tests.

    Starts on 127.0.0.1 (a free port unless one is given) in a background thread. With
    `acl=True` ACLs are enforced and `management_token` holds a bootstrap token. `vault=True`
    lets jobs use `vault` blocks. Allocations advance one step per request when `auto_advance`
    is on (the default), or on `advance()`.
    """

    def __init__(
        self,
        port: int = 0,
        acl: bool = False,
        vault: bool = False,
        auto_advance: bool = True,
        ticks_to_running: int = 1,
        ticks_to_healthy: int = 1,
        hang_seconds: float = 30.0,
    ) -> None:
        self.store = Store(
            vault_enabled=vault,
            acl_enabled=acl,
            pace=scheduler.Pace(
                ticks_to_running=ticks_to_running, ticks_to_healthy=ticks_to_healthy
            ),
        )
        self.lock = threading.RLock()
        self.auto_advance = auto_advance
        self.hang_seconds = hang_seconds
        self.request_log: list[RequestRecord] = []
        self.faults: list[Fault] = []
        self.management_token = ""
        if acl:
            self.management_token = self.store.bootstrap()["SecretID"]
        self._stopping = threading.Event()
        self._routes = _routes(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="nomad-double",
            daemon=True,
        )
        self._thread.start()

    # Lifecycle -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop serving; requests held by a `hang` fault are released."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> NomadDouble:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # Test controls -------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_pattern: str,
        times: int = 1,
        status: int = 500,
        hang: bool = False,
        delay: float = 0.0,
        body: str = "injected failure",
    ) -> None:
        """Make the next `times` matching requests fail with `status`, hang, or answer late.

        `path_pattern` is a shell-style pattern over the path (`/v1/job/*/plan`); `method` may
        be `*`. With `hang` the request is held past any client timeout (until the double
        stops or `hang_seconds` pass); with `delay` it is answered normally after that many
        seconds.
        """
        with self.lock:
            self.faults.append(
                Fault(method.upper(), path_pattern, times, status, hang, delay, body)
            )

    def mark_failing(self, image: str | None = None, command: str | None = None) -> None:
        """Allocations of tasks with this docker `image` or this `command` fail when they start."""
        with self.lock:
            if image:
                self.store.failures.images.add(image)
            if command:
                self.store.failures.commands.add(command)

    def workload_token(self, alloc_id: str, task: str) -> str:
        """The workload identity Nomad would give `task` of this allocation (`identity` block).

        With ACLs on, it reads and lists `nomad/jobs`, `nomad/jobs/<job>`, `.../<group>` and
        `.../<group>/<task>` in the job's namespace (`<job>` is the parent's ID for a periodic
        or dispatched child) and may do nothing else; once the allocation has finished, or is
        gone, it is refused with 403 `Permission denied`.
        """
        with self.lock:
            return self.store.workload_token(alloc_id, task)

    def advance(self, ticks: int = 1) -> None:
        """Move every allocation and deployment `ticks` steps forward."""
        with self.lock:
            self.store.tick(ticks)

    def requests(self, method: str | None = None, path: str | None = None) -> list[RequestRecord]:
        """Logged requests, optionally only those with this method and path pattern."""
        with self.lock:
            return [
                record
                for record in self.request_log
                if (method is None or record.method == method.upper())
                and (path is None or fnmatch.fnmatchcase(record.path, path))
            ]

    # State inspection ----------------------------------------------------------------------

    def job(self, job_id: str, namespace: str = "default") -> dict[str, Any] | None:
        with self.lock:
            found = self.store.jobs.get((namespace, job_id))
            return copy.deepcopy(found) if found else None

    def jobs(self, namespace: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                copy.deepcopy(job)
                for (ns, _id), job in sorted(self.store.jobs.items())
                if namespace is None or ns == namespace
            ]

    def namespaces(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.store.namespaces)

    def variables(self, namespace: str | None = None) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {
                path: copy.deepcopy(record)
                for (ns, path), record in self.store.variables.items()
                if namespace is None or ns == namespace
            }

    def allocations(
        self, job_id: str | None = None, namespace: str | None = None
    ) -> list[dict[str, Any]]:
        with self.lock:
            return [
                scheduler.public(copy.deepcopy(alloc))
                for alloc in sorted(self.store.allocs.values(), key=lambda a: a["CreateIndex"])
                if (job_id is None or alloc["JobID"] == job_id)
                and (namespace is None or alloc["Namespace"] == namespace)
            ]

    def deployments(self, job_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                copy.deepcopy(d)
                for d in sorted(self.store.deployments.values(), key=lambda d: d["CreateIndex"])
                if job_id is None or d["JobID"] == job_id
            ]

    # Serving -------------------------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.matches(method, path):
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[Response, str]:
        """Serve one request; returns the response and the text of an error body, if any."""
        split = urlsplit(target)
        path = unquote(split.path)
        query = {
            key: values[0] for key, values in parse_qs(split.query, keep_blank_values=True).items()
        }
        parsed_body = _loggable(body)
        with self.lock:
            fault = self._take_fault(method, split.path)
        if fault is not None and fault.hang:
            self._record(method, path, query, 0, parsed_body, "hang")
            self._stopping.wait(self.hang_seconds)
            return Response(status=503, body=None), "hung request released"
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and not fault.delay:
            self._record(method, path, query, fault.status, parsed_body, f"status {fault.status}")
            return Response(status=fault.status), fault.body

        response, error = self._serve(method, path, query, headers, body)
        response, error = self._block(method, path, query, headers, response, error)
        self._record(method, path, query, response.status, parsed_body, "delay" if fault else None)
        return response, error

    def _block(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        response: Response,
        error: str,
    ) -> tuple[Response, str]:
        """Hold a blocking query (`?index=N`) until its index passes N or `wait` runs out.

        In automatic mode the scheduler advances once per check (every 50 ms), as if polled.
        """
        if method != "GET" or "index" not in query or response.status != 200:
            return response, error
        wanted = int(query["index"])
        wait = parse_go_duration(query["wait"]) / 1e9 if "wait" in query else 300.0
        deadline = time.monotonic() + min(wait, 300.0)
        while (
            response.index is not None
            and response.index <= wanted
            and time.monotonic() < deadline
            and not self._stopping.is_set()
        ):
            self._stopping.wait(0.05)
            response, error = self._serve(method, path, query, headers, b"")
            if response.status != 200:
                break
        return response, error

    def _serve(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[Response, str]:
        with self.lock:
            if self.auto_advance:
                self.store.tick()
            try:
                route, params = self._match(path)
                if route is None:
                    return Response(status=404, empty=True), ""
                handler = route.handlers.get(method)
                if handler is None:
                    raise ApiError(405, "Invalid method")
                token = headers.get("x-nomad-token", "")
                if not token and headers.get("authorization", "").startswith("Bearer "):
                    token = headers["authorization"][len("Bearer ") :]
                self._check_query(query)
                acl = self.store.resolve(token)
                request = Request(method, path, dict(query), body, token, acl, params)
                return handler(request), ""
            except ApiError as exc:
                return Response(status=exc.status), exc.message
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                logger.exception("nomad double: internal error serving %s %s", method, path)
                return Response(status=500), f"nomad API double internal error: {exc!r}"

    def _match(self, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self._routes:
            found = route.regex.match(path)
            if found:
                return route, found.groupdict()
        return None, {}

    def _check_query(self, query: dict[str, str]) -> None:
        if "per_page" in query:
            try:
                int(query["per_page"])
            except ValueError as exc:
                raise ApiError(
                    400, "Expect a number for `per_page` query string parameter"
                ) from exc
        if "index" in query:
            try:
                int(query["index"])
            except ValueError as exc:
                raise ApiError(400, "Invalid index") from exc
        if "wait" in query and not re.fullmatch(
            r"[0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h)", query["wait"]
        ):
            raise ApiError(400, "Invalid wait time")

    def _record(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        status: int,
        body: Any,
        injected: str | None,
    ) -> None:
        with self.lock:
            self.request_log.append(RequestRecord(method, path, query, status, body, injected))


def _loggable(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return body.decode("utf-8", errors="replace")


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _handler_class(double: NomadDouble) -> type[BaseHTTPRequestHandler]:
    class NomadHandler(BaseHTTPRequestHandler):
        server_version = "Nomad"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("nomad double: " + format, *args)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            response, error = double.handle(self.command, self.path, headers, body)
            try:
                self._write(response, error)
            except (BrokenPipeError, ConnectionResetError):
                logger.debug("nomad double: client went away before the answer")

        def _write(self, response: Response, error: str) -> None:
            if response.raw is not None:
                payload = response.raw
                self.send_response(response.status)
                self.send_header("Content-Type", "application/json")
            elif response.status >= 400 or error:
                payload = error.encode()
                self.send_response(response.status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            elif response.empty:
                payload = b""
                self.send_response(response.status)
            else:
                pretty = "pretty" in urlsplit(self.path).query
                text = json.dumps(
                    response.body, default=_json_default, indent=4 if pretty else None
                )
                payload = text.encode()
                self.send_response(response.status)
                self.send_header("Content-Type", "application/json")
            if response.index is not None:
                self.send_header("X-Nomad-Index", str(response.index))
            if response.query_meta:
                self.send_header("X-Nomad-KnownLeader", "true")
                self.send_header("X-Nomad-LastContact", "0")
            if response.next_token:
                self.send_header("X-Nomad-NextToken", response.next_token)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and response.status != 204:
                self.wfile.write(payload)

        do_GET = _serve
        do_PUT = _serve
        do_POST = _serve
        do_DELETE = _serve
        do_PATCH = _serve
        do_HEAD = _serve

    return NomadHandler


# Endpoint handlers -------------------------------------------------------------------------------


def _routes(double: NomadDouble) -> list[Route]:
    store = double.store
    e = _Endpoints(store)
    writes = dict.fromkeys(WRITE_METHODS)
    return [
        Route("/v1/jobs", {"GET": e.list_jobs, **{m: e.register for m in writes}}),
        Route("/v1/jobs/parse", {m: e.parse for m in writes}),
        Route("/v1/validate/job", {m: e.validate for m in writes}),
        Route("/v1/job/{rest*}", {m: e.job_specific for m in ("GET", "PUT", "POST", "DELETE")}),
        Route("/v1/allocations", {"GET": e.list_allocations}),
        Route("/v1/allocation/{rest*}", dict.fromkeys(ANY_METHOD, e.allocation_specific)),
        Route("/v1/allocation/", dict.fromkeys(ANY_METHOD, e.allocation_specific)),
        Route("/v1/services", {"GET": e.list_services}),
        Route("/v1/service/{rest*}", dict.fromkeys(ANY_METHOD, e.service_specific)),
        Route("/v1/service/", dict.fromkeys(ANY_METHOD, e.service_specific)),
        Route("/v1/evaluations", {"GET": e.list_evaluations}),
        Route("/v1/evaluation/{id}", {"GET": e.get_evaluation}),
        Route("/v1/deployments", {"GET": e.list_deployments}),
        Route("/v1/deployment/allocations/{id}", {"GET": e.deployment_allocations}),
        Route("/v1/deployment/fail/{id}", {m: e.fail_deployment for m in writes}),
        Route("/v1/deployment/{id}", {"GET": e.get_deployment}),
        Route("/v1/namespaces", {"GET": e.list_namespaces}),
        Route("/v1/namespace", {m: e.upsert_namespace for m in writes}),
        Route(
            "/v1/namespace/{name}",
            {
                "GET": e.get_namespace,
                "DELETE": e.delete_namespace,
                **{m: e.upsert_namespace for m in writes},
            },
        ),
        Route("/v1/vars", {"GET": e.list_variables}),
        Route("/v1/var/", {m: e.missing_variable_path for m in ANY_METHOD}),
        Route(
            "/v1/var/{path*}",
            {
                "GET": e.get_variable,
                "DELETE": e.delete_variable,
                **{m: e.put_variable for m in writes},
            },
        ),
        Route("/v1/acl/bootstrap", {m: e.acl_bootstrap for m in writes}),
        Route("/v1/acl/policies", {"GET": e.list_policies}),
        Route(
            "/v1/acl/policy/{name}",
            {
                "GET": e.get_policy,
                "DELETE": e.delete_policy,
                **{m: e.upsert_policy for m in writes},
            },
        ),
        Route("/v1/acl/tokens", {"GET": e.list_tokens}),
        Route("/v1/acl/token", {m: e.create_token for m in writes}),
        Route("/v1/acl/token/self", {"GET": e.self_token}),
        Route(
            "/v1/acl/token/{accessor}",
            {"GET": e.get_token, "DELETE": e.delete_token, **{m: e.update_token for m in writes}},
        ),
        Route("/v1/status/leader", {"GET": e.leader}),
        Route("/v1/regions", {"GET": e.regions}),
        Route("/v1/agent/self", {"GET": e.agent_self}),
        Route("/v1/system/gc", {m: e.system_gc for m in writes}),
    ]


class _Endpoints:
    """One method per endpoint; each checks its capability, decodes, calls the store, answers."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # Jobs ----------------------------------------------------------------------------------

    def list_jobs(self, req: Request) -> Response:
        namespace = req.namespace()
        if namespace != "*":
            req.require(namespace, "list-jobs")
        found = self.store.list_jobs(
            namespace,
            req.query.get("prefix", ""),
            req.query.get("filter", ""),
            req.bool_param("meta"),
            req.acl,
        )
        return self._page(
            req, found, lambda item: item["ID"], self.store.table_index("jobs", "job_summary")
        )

    def _page(
        self, req: Request, items: list[Any], key: Callable[[Any], str], index: int
    ) -> Response:
        if req.query.get("reverse") == "true":
            items = list(reversed(items))
        token = req.query.get("next_token")
        if token:
            reverse = req.query.get("reverse") == "true"
            items = [
                item for item in items if (key(item) <= token if reverse else key(item) >= token)
            ]
        next_token = ""
        per_page = int(req.query.get("per_page") or 0)
        if per_page > 0 and len(items) > per_page:
            next_token = key(items[per_page])
            items = items[:per_page]
        return Response(body=items, index=index, query_meta=True, next_token=next_token)

    def _job_body(self, req: Request, root: str) -> dict[str, Any]:
        decoded = wire.decode(req.raw_body, root)
        if decoded is None or decoded.get("Job") is None:
            raise ApiError(400, "Job must be specified")
        return decoded

    def _request_namespace(self, req: Request, body: dict[str, Any]) -> str:
        return (
            req.query.get("namespace")
            or body.get("Namespace")
            or body["Job"].get("Namespace")
            or "default"
        )

    def register(self, req: Request, path_id: str = "") -> Response:
        body = self._job_body(req, "JobRegisterRequest")
        job = body["Job"]
        if "ID" not in job:
            raise ApiError(400, "Job ID hasn't been provided")
        if path_id and job["ID"] != path_id:
            raise ApiError(400, "Job ID does not match name")
        priority = body.get("EvalPriority") or 0
        if priority and not 1 <= priority <= 100:
            raise ApiError(400, "Eval priority must be between 1 and 100 inclusively")
        namespace = self._request_namespace(req, body)
        req.require(namespace, "submit-job", "register-job")
        token = self.store.token_for(req.token) if self.store.acl_enabled else None
        reply = self.store.register(
            job,
            namespace,
            enforce_index=bool(body.get("EnforceIndex")),
            job_modify_index=body.get("JobModifyIndex") or 0,
            eval_priority=priority,
            token_accessor=token["AccessorID"] if token else "",
        )
        reply.update({"LastContact": 0, "KnownLeader": False, "NextToken": ""})
        return Response(body=reply, index=reply["Index"])

    def parse(self, req: Request) -> Response:
        req.require(req.namespace(), "parse-job", "submit-job")
        body = wire.decode(req.raw_body, "JobsParseRequest") or {}
        if not body.get("JobHCL"):
            raise ApiError(400, "Job spec is empty")
        job = hcl.parse_job(body["JobHCL"])
        if body.get("Canonicalize"):
            job = _parse_canonical(job)
        return Response(body=_api_shape(job))

    def validate(self, req: Request) -> Response:
        body = wire.decode(req.raw_body, "JobValidateRequest")
        if body is None or body.get("Job") is None:
            raise ApiError(400, "Job must be specified")
        namespace = body["Job"].get("Namespace") or "default"
        req.require(namespace, "read-job")
        return Response(body=self.store.validate_job(body["Job"], namespace))

    def job_specific(self, req: Request) -> Response:
        rest = req.params["rest"]
        suffixes: list[tuple[str, Callable[[Request, str], Response]]] = [
            ("/evaluate", self.evaluate),
            ("/allocations", self.job_allocations),
            ("/evaluations", self.job_evaluations),
            ("/periodic/force", self.periodic_force),
            ("/plan", self.plan),
            ("/summary", self.summary),
            ("/dispatch", self.dispatch),
            ("/versions", self.versions),
            ("/deployments", self.job_deployments),
            ("/deployment", self.job_latest_deployment),
            ("/services", self.job_services),
        ]
        for suffix, handler in suffixes:
            if rest.endswith(suffix):
                return handler(req, rest[: -len(suffix)])
        for suffix in (
            "/dispatch/payload",
            "/revert",
            "/stable",
            "/scale",
            "/submission",
            "/actions",
            "/action",
        ):
            if rest.endswith(suffix):
                raise ApiError(404, f"endpoint {suffix} is not implemented by the Nomad API double")
        if req.method == "GET":
            return self.get_job(req, rest)
        if req.method == "DELETE":
            return self.deregister(req, rest)
        return self.register(req, rest)

    def _read_method(self, req: Request) -> None:
        if req.method != "GET":
            raise ApiError(405, "Invalid method")

    def _write_method(self, req: Request) -> None:
        if req.method not in WRITE_METHODS:
            raise ApiError(405, "Invalid method")

    def get_job(self, req: Request, job_id: str) -> Response:
        namespace = req.namespace()
        req.require(namespace, "read-job")
        job = self.store.job(namespace, job_id)
        return Response(body=network.encode_job(job), index=job["ModifyIndex"], query_meta=True)

    def deregister(self, req: Request, job_id: str) -> Response:
        namespace = req.namespace()
        purge = req.bool_param("purge")
        req.bool_param("global")
        req.bool_param("no_shutdown_delay")
        priority = 0
        if req.query.get("eval_priority"):
            try:
                priority = int(req.query["eval_priority"])
            except ValueError as exc:
                raise ApiError(400, "Failed to parse eval_priority") from exc
            if not 1 <= priority <= 100:
                raise ApiError(400, "Eval priority must be between 1 and 100 inclusively")
        req.require(namespace, "submit-job", "purge-job" if purge else "deregister-job")
        reply = self.store.deregister(namespace, job_id, purge, priority)
        reply.update({"LastContact": 0, "KnownLeader": False, "NextToken": ""})
        return Response(body=reply, index=reply["Index"])

    def plan(self, req: Request, job_id: str) -> Response:
        self._write_method(req)
        decoded = wire.decode(req.raw_body, "JobPlanRequest")
        if decoded is None or decoded.get("Job") is None:
            raise ApiError(400, "Job must be specified")
        if "ID" not in decoded["Job"]:
            raise ApiError(400, "Job must have a valid ID")
        if job_id and decoded["Job"]["ID"] != job_id:
            raise ApiError(400, "Job ID does not match")
        namespace = self._request_namespace(req, decoded)
        req.require(namespace, "submit-job", "plan-job")
        reply = self.store.plan(decoded["Job"], namespace, bool(decoded.get("Diff")))
        return Response(body=reply, index=reply["Index"])

    def summary(self, req: Request, job_id: str) -> Response:
        self._read_method(req)
        namespace = req.namespace()
        req.require(namespace, "read-job")
        summary = self.store.summary(namespace, job_id)
        return Response(body=summary, index=summary["ModifyIndex"], query_meta=True)

    def versions(self, req: Request, job_id: str) -> Response:
        self._read_method(req)
        namespace = req.namespace()
        req.require(namespace, "read-job")
        history = self.store.versions.get((namespace, job_id))
        if not history:
            raise ApiError(404, "job versions not found")
        newest_first = [copy.deepcopy(version) for version in reversed(history)]
        current = self.store.jobs[(namespace, job_id)]
        newest_first[0]["Status"] = current["Status"]
        diffs = None
        if req.bool_param("diffs"):
            from .diff import job_diff

            diffs = [job_diff(older, newer) for newer, older in itertools.pairwise(newest_first)]
        index = self.store.table_index("job_version")
        body = {
            "Versions": [network.encode_job(version) for version in newest_first],
            "Diffs": diffs,
            "Index": index,
            "LastContact": 0,
            "KnownLeader": True,
            "NextToken": "",
        }
        return Response(body=body, index=index, query_meta=True)

    def job_allocations(self, req: Request, job_id: str) -> Response:
        self._read_method(req)
        namespace = req.namespace()
        req.require(namespace, "read-job")
        all_versions = req.query.get("all") in BOOL_TRUE
        allocs = self.store.job_allocs_raw(namespace, job_id, all_versions=all_versions)
        return Response(
            body=[scheduler.stub(a) for a in allocs],
            index=self.store.table_index("allocs"),
            query_meta=True,
        )

    def job_evaluations(self, req: Request, job_id: str) -> Response:
        self._read_method(req)
        namespace = req.namespace()
        req.require(namespace, "read-job")
        evals = sorted(
            (
                e
                for e in self.store.evals.values()
                if e["Namespace"] == namespace and e["JobID"] == job_id
            ),
            key=lambda e: e["CreateIndex"],
            reverse=True,
        )
        return Response(body=evals, index=self.store.table_index("evals"), query_meta=True)

    def job_deployments(self, req: Request, job_id: str) -> Response:
        self._read_method(req)
        namespace = req.namespace()
        req.require(namespace, "read-job")
        return Response(
            body=self.store.job_deployments(namespace, job_id),
            index=self.store.table_index("deployment"),
            query_meta=True,
        )

    def job_latest_deployment(self, req: Request, job_id: str) -> Response:
        self._read_method(req)
        namespace = req.namespace()
        req.require(namespace, "read-job")
        found = self.store.job_deployments(namespace, job_id)
        return Response(
            body=found[0] if found else None,
            index=self.store.table_index("deployment"),
            query_meta=True,
        )

    def periodic_force(self, req: Request, job_id: str) -> Response:
        self._write_method(req)
        namespace = req.namespace()
        req.require(namespace, "dispatch-job", "submit-job", "force-periodic-job")
        reply = self.store.periodic_force(namespace, job_id)
        return Response(body=reply, index=reply["Index"])

    def dispatch(self, req: Request, job_id: str) -> Response:
        self._write_method(req)
        namespace = req.namespace()
        body = wire.decode(req.raw_body, "JobDispatchRequest") or {}
        if body.get("JobID") and body["JobID"] != job_id:
            raise ApiError(400, "Job ID does not match")
        req.require(namespace, "dispatch-job")
        reply = self.store.dispatch(namespace, job_id, body, req.query.get("idempotency_token", ""))
        return Response(body=reply, index=reply["Index"])

    def evaluate(self, req: Request, job_id: str) -> Response:
        self._write_method(req)
        namespace = req.namespace()
        if req.raw_body:
            body = wire.decode(req.raw_body, "JobEvaluateRequest") or {}
            if body.get("JobID") and body["JobID"] != job_id:
                raise ApiError(400, "JobID not same as job name")
        req.require(namespace, "submit-job", "evaluate-job")
        reply = self.store.evaluate(namespace, job_id)
        return Response(body=reply, index=reply["Index"])

    # Allocations, evaluations, deployments -------------------------------------------------

    def _namespaced(self, req: Request, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        namespace = req.namespace()
        if namespace == "*":
            return [r for r in records if req.acl.allows(r["Namespace"], "read-job")]
        req.require(namespace, "read-job")
        return [r for r in records if r["Namespace"] == namespace]

    def list_allocations(self, req: Request) -> Response:
        """GET /v1/allocations; `resources=true` adds each one's `AllocatedResources`."""
        resources = req.bool_param("resources")
        task_states = req.bool_param("task_states") or not req.query.get("task_states")
        allocs = sorted(self.store.allocs.values(), key=lambda a: a["ID"])
        prefix = req.query.get("prefix", "")
        found = [
            scheduler.stub(a, resources, task_states)
            for a in self._namespaced(req, allocs)
            if a["ID"].startswith(prefix)
        ]
        return self._page(req, found, lambda a: a["ID"], self.store.table_index("allocs"))

    def allocation_specific(self, req: Request) -> Response:
        """/v1/allocation/<id>[/<action>], dispatched by path segments as Nomad does."""
        tokens = req.params.get("rest", "").split("/")
        if len(tokens) > 2:
            raise ApiError(404, "resource not found")
        alloc_id = tokens[0]
        if len(tokens) == 1:
            return self.get_allocation(req, alloc_id)
        if tokens[1] == "stop":
            return self.stop_allocation(req, alloc_id)
        if tokens[1] == "services":
            return self.allocation_services(req, alloc_id)
        if tokens[1] == "checks":
            raise ApiError(404, "endpoint /checks is not implemented by the Nomad API double")
        raise ApiError(404, "resource not found")

    def get_allocation(self, req: Request, alloc_id: str) -> Response:
        """GET /v1/allocation/:id: the full allocation, job included, in Nomad's sparse form.

        A token without `read-job` in the allocation's namespace is told the allocation is
        unknown (a 500, as Nomad's RPC error reaches the HTTP layer), not that it is denied.
        """
        self._read_method(req)
        alloc = self.store.allocs.get(alloc_id)
        if alloc is None:
            raise ApiError(404, "alloc not found")
        if not req.acl.allows(alloc["Namespace"], "read-job"):
            raise ApiError(500, f'Unknown allocation "{alloc_id}"')
        body = network.encode_allocation(alloc)
        return Response(body=body, index=alloc["ModifyIndex"], query_meta=True)

    def allocation_services(self, req: Request, alloc_id: str) -> Response:
        """GET /v1/allocation/:id/services: the allocation's nomad service registrations."""
        self._read_method(req)
        namespace = req.namespace()
        req.require(namespace, "read-job")
        alloc = self.store.allocs.get(alloc_id)
        if alloc is None or alloc["Namespace"] != namespace:
            raise ApiError(404, "allocation not found")
        found = sorted(
            (r for r in self.store.services.values() if r["AllocID"] == alloc_id),
            key=lambda record: record["ID"],
        )
        index = self.store.table_index("service_registrations")
        return Response(body=found, index=index, query_meta=True)

    def stop_allocation(self, req: Request, alloc_id: str) -> Response:
        if req.method not in WRITE_METHODS:
            raise ApiError(405, "Invalid method")
        alloc = self.store.allocs.get(alloc_id)
        if alloc is None:
            raise ApiError(404, "alloc not found")
        req.require(alloc["Namespace"], "alloc-lifecycle")
        index = self.store.bump("allocs", "evals")
        alloc["DesiredStatus"] = "stop"
        alloc["DesiredDescription"] = "alloc was stopped by user"
        alloc["_ticks"] = 0
        alloc["ModifyIndex"] = index
        return Response(body={"EvalID": "", "Index": index}, index=index)

    def list_evaluations(self, req: Request) -> Response:
        evals = sorted(self.store.evals.values(), key=lambda e: e["ID"])
        return self._page(
            req, self._namespaced(req, evals), lambda e: e["ID"], self.store.table_index("evals")
        )

    def get_evaluation(self, req: Request) -> Response:
        found = self.store.evals.get(req.params["id"])
        if found is None:
            raise ApiError(404, "eval not found")
        req.require(found["Namespace"], "read-job")
        return Response(body=found, index=found["ModifyIndex"], query_meta=True)

    def list_deployments(self, req: Request) -> Response:
        deployments = sorted(self.store.deployments.values(), key=lambda d: d["ID"])
        prefix = req.query.get("prefix", "")
        found = [d for d in self._namespaced(req, deployments) if d["ID"].startswith(prefix)]
        return self._page(req, found, lambda d: d["ID"], self.store.table_index("deployment"))

    def get_deployment(self, req: Request) -> Response:
        found = self.store.deployments.get(req.params["id"])
        if found is None:
            raise ApiError(404, "deployment not found")
        req.require(found["Namespace"], "read-job")
        return Response(body=found, index=found["ModifyIndex"], query_meta=True)

    def deployment_allocations(self, req: Request) -> Response:
        found = self.store.deployments.get(req.params["id"])
        if found is None:
            return Response(body=[], index=self.store.table_index("allocs"), query_meta=True)
        req.require(found["Namespace"], "read-job")
        allocs = [
            scheduler.stub(a)
            for a in self.store.allocs.values()
            if a["DeploymentID"] == found["ID"]
        ]
        return Response(body=allocs, index=self.store.table_index("allocs"), query_meta=True)

    def fail_deployment(self, req: Request) -> Response:
        found = self.store.deployments.get(req.params["id"])
        if found is None:
            raise ApiError(500, f"deployment not found: {req.params['id']}")
        req.require(found["Namespace"], "submit-job", "fail-deployment")
        if found["Status"] != "running":
            raise ApiError(500, "can't fail terminal deployment")
        index = self.store.bump("deployment")
        found["Status"] = "failed"
        found["StatusDescription"] = "Deployment marked as failed"
        found["ModifyIndex"] = index
        return Response(
            body={
                "EvalID": "",
                "EvalCreateIndex": 0,
                "DeploymentModifyIndex": index,
                "Index": index,
            },
            index=index,
        )

    # Service registrations (provider "nomad") --------------------------------------------

    def list_services(self, req: Request) -> Response:
        """GET /v1/services: service names and tags, grouped by namespace.

        `namespace=*` lists every namespace the token may read (nothing, rather than 403, when
        it may read none); a named namespace needs `read-job` there.
        """
        namespace = req.namespace()
        if namespace == "*":
            records = [
                r
                for r in self.store.services.values()
                if req.acl.allows(r["Namespace"], "read-job")
            ]
        else:
            req.require(namespace, "read-job")
            records = [r for r in self.store.services.values() if r["Namespace"] == namespace]
        index = self.store.table_index("service_registrations")
        return Response(body=services.list_stubs(records), index=index, query_meta=True)

    def service_specific(self, req: Request) -> Response:
        """/v1/service/<name> (GET) and /v1/service/<name>/<id> (DELETE), as Nomad splits them."""
        parts = req.params.get("rest", "").split("/")
        if len(parts) == 1:
            if req.method != "GET":
                raise ApiError(405, "Invalid method")
            if not parts[0]:
                raise ApiError(400, "missing service name")
            return self.get_service(req, parts[0])
        if len(parts) == 2:
            if req.method != "DELETE":
                raise ApiError(405, "Invalid method")
            if not parts[1]:
                raise ApiError(400, "missing service id")
            return self.delete_service(req, parts[1])
        raise ApiError(400, "invalid URI")

    def get_service(self, req: Request, name: str) -> Response:
        """GET /v1/service/:name: its registrations in one namespace; none is 200 `[]`."""
        namespace = req.namespace()
        req.require(namespace, "read-job")
        found = self.store.service_registrations(namespace, name)
        expression = req.query.get("filter", "")
        if expression:
            found = _filtered(found, expression)
        page = self._page(
            req,
            found,
            lambda record: f"{record['Namespace']}.{record['ID']}",
            self.store.table_index("service_registrations"),
        )
        if req.query.get("choose"):
            page.body = services.choose(page.body, req.query["choose"])
        return page

    def delete_service(self, req: Request, service_id: str) -> Response:
        """DELETE /v1/service/:name/:id: the name in the path is not consulted, only the ID."""
        namespace = req.namespace()
        req.require(namespace, "submit-job", "delete-service-registration")
        index = self.store.delete_service(namespace, service_id)
        return Response(empty=True, index=index)

    def job_services(self, req: Request, job_id: str) -> Response:
        """GET /v1/job/:id/services: the job's registrations; 404 for an unknown job."""
        self._read_method(req)
        namespace = req.namespace()
        req.require(namespace, "read-job")
        if (namespace, job_id) not in self.store.jobs:
            raise ApiError(404, "job not found")
        found = sorted(
            (
                r
                for r in self.store.services.values()
                if r["Namespace"] == namespace and r["JobID"] == job_id
            ),
            key=lambda record: record["ID"],
        )
        index = self.store.table_index("service_registrations")
        return Response(body=found, index=index, query_meta=True)

    # Namespaces ----------------------------------------------------------------------------

    def list_namespaces(self, req: Request) -> Response:
        prefix = req.query.get("prefix", "")
        found = [
            ns
            for name, ns in sorted(self.store.namespaces.items())
            if name.startswith(prefix) and (req.acl.management or req.acl.capabilities(name))
        ]
        return Response(body=found, index=self.store.table_index("namespaces"), query_meta=True)

    def get_namespace(self, req: Request) -> Response:
        name = req.params["name"]
        if not (req.acl.management or req.acl.capabilities(name)):
            raise denied()
        found = self.store.namespaces.get(name)
        if found is None:
            raise ApiError(404, "Namespace not found")
        return Response(body=found, index=found["ModifyIndex"], query_meta=True)

    def upsert_namespace(self, req: Request) -> Response:
        body = wire.decode(req.raw_body, "Namespace") or {}
        name = req.params.get("name")
        if name is not None and body.get("Name") != name:
            raise ApiError(400, "Namespace name does not match request path")
        req.require_management()
        index = self.store.upsert_namespace(body)
        return Response(empty=True, index=index)

    def delete_namespace(self, req: Request) -> Response:
        req.require_management()
        index = self.store.delete_namespace(req.params["name"])
        return Response(empty=True, index=index)

    # Variables -----------------------------------------------------------------------------

    def _cas(self, req: Request) -> int | None:
        """`?cas=N` parsed as Go's ParseUint; absent or empty means no check-and-set."""
        value = req.query.get("cas", "")
        if value == "":
            return None
        if not value.isascii() or not value.isdigit():
            raise ApiError(
                400, f'can not parse cas: strconv.ParseUint: parsing "{value}": invalid syntax'
            )
        return int(value)

    def list_variables(self, req: Request) -> Response:
        """GET /v1/vars: only the paths the token may list; none at all is an empty list."""
        namespace = req.namespace()
        prefix = req.query.get("prefix", "")
        found = []
        for (ns, path), record in sorted(self.store.variables.items()):
            if namespace not in {"*", ns} or not path.startswith(prefix):
                continue
            if not req.acl.allows_variable(ns, path, "list"):
                continue
            found.append({k: v for k, v in record.items() if k != "Items"})
        return self._page(req, found, lambda v: v["Path"], self.store.table_index("variables"))

    def get_variable(self, req: Request) -> Response:
        namespace = req.namespace()
        path = req.params["path"]
        if not req.acl.allows_variable(namespace, path, "read"):
            raise denied()
        found = self.store.variables.get((namespace, path))
        if found is None:
            raise ApiError(404, "variable not found")
        return Response(body=found, index=found["ModifyIndex"], query_meta=True)

    def put_variable(self, req: Request) -> Response:
        """PUT /v1/var/:path, checked in Nomad's order: HTTP layer, ACL, validation, CAS.

        A `Namespace` in the body wins over `?namespace=`, as Nomad's Variables.Apply has it.
        """
        path = req.params["path"]
        locks = [op for op in ("lock-acquire", "lock-release", "lock-renew") if op in req.query]
        if len(locks) > 1:
            raise ApiError(400, "multiple lock operations")
        if locks and req.query.get("cas", "") != "":
            raise ApiError(400, "CAS can't be used with lock operations")
        if locks:
            raise ApiError(400, "variable locks are not implemented by the Nomad API double")
        body = wire.decode(req.raw_body, "Variable") or {}
        if not body.get("Items"):
            raise ApiError(400, "variable missing required Items object")
        cas = self._cas(req)
        namespace = body.get("Namespace") or req.namespace()
        if not req.acl.allows_variable(namespace, path, "write"):
            raise denied()
        status, record = self.store.put_variable(namespace, path, body["Items"], cas)
        if status == 409:
            return self._variable_conflict(req, record)
        return Response(body=record, index=record["ModifyIndex"])

    def delete_variable(self, req: Request) -> Response:
        """DELETE /v1/var/:path: 204 whether or not it existed; the path is not validated."""
        namespace = req.namespace()
        path = req.params["path"]
        cas = self._cas(req)
        if not req.acl.allows_variable(namespace, path, "destroy"):
            raise denied()
        status, record = self.store.delete_variable(namespace, path, cas)
        if status == 409 and record is not None:
            return self._variable_conflict(req, record)
        return Response(status=204, empty=True, index=self.store.table_index("variables"))

    def _variable_conflict(self, req: Request, record: dict[str, Any]) -> Response:
        """409 with the current variable; its Items only for a caller who may read them."""
        if not req.acl.allows_variable(record["Namespace"], record["Path"], "read"):
            record = {k: v for k, v in record.items() if k != "Items"}
        return Response(status=409, raw=json.dumps(record).encode(), index=record["ModifyIndex"])

    def missing_variable_path(self, req: Request) -> Response:
        raise ApiError(400, "missing variable path")

    # ACL -----------------------------------------------------------------------------------

    def _acl_on(self) -> None:
        if not self.store.acl_enabled:
            raise ApiError(400, "ACL support disabled")

    def acl_bootstrap(self, req: Request) -> Response:
        token = self.store.bootstrap()
        return Response(body=token, index=token["CreateIndex"])

    def list_policies(self, req: Request) -> Response:
        self._acl_on()
        if req.acl.management:
            names = sorted(self.store.policies)
        else:
            held = (self.store.token_for(req.token) or {}).get("Policies") or []
            names = sorted(name for name in held if name in self.store.policies)
        stubs = [{k: v for k, v in self.store.policies[n].items() if k != "Rules"} for n in names]
        return Response(body=stubs, index=self.store.table_index("acl_policy"), query_meta=True)

    def get_policy(self, req: Request) -> Response:
        self._acl_on()
        name = req.params["name"]
        held = (self.store.token_for(req.token) or {}).get("Policies") or []
        if not req.acl.management and name not in held:
            raise denied()
        found = self.store.policies.get(name)
        if found is None:
            raise ApiError(404, "ACL policy not found")
        return Response(body=found, index=found["ModifyIndex"], query_meta=True)

    def upsert_policy(self, req: Request) -> Response:
        self._acl_on()
        name = req.params["name"]
        body = wire.decode(req.raw_body, "ACLPolicy") or {}
        if body.get("Name") != name:
            raise ApiError(400, "ACL policy name does not match request path")
        req.require_management()
        self.store.upsert_policy(name, body)
        return Response(empty=True, index=self.store.table_index("acl_policy"))

    def delete_policy(self, req: Request) -> Response:
        self._acl_on()
        req.require_management()
        self.store.policies.pop(req.params["name"], None)
        return Response(empty=True, index=self.store.bump("acl_policy"))

    def list_tokens(self, req: Request) -> Response:
        self._acl_on()
        req.require_management()
        stubs = [
            {k: v for k, v in public(t).items() if k != "SecretID"}
            for t in sorted(self.store.tokens.values(), key=lambda t: t["CreateIndex"])
        ]
        return Response(body=stubs, index=self.store.table_index("acl_token"), query_meta=True)

    def create_token(self, req: Request) -> Response:
        self._acl_on()
        req.require_management()
        body = wire.decode(req.raw_body, "ACLToken") or {}
        token = self.store.create_token(body)
        return Response(body=token, index=token["CreateIndex"])

    def self_token(self, req: Request) -> Response:
        self._acl_on()
        token = self.store.token_for(req.token)
        if token is None:
            raise ApiError(403, "ACL token not found")
        return Response(body=public(token), index=token["ModifyIndex"], query_meta=True)

    def get_token(self, req: Request) -> Response:
        self._acl_on()
        token = self.store.tokens.get(req.params["accessor"])
        own = self.store.token_for(req.token)
        if not req.acl.management and (
            own is None or token is None or own["AccessorID"] != token["AccessorID"]
        ):
            raise denied()
        if token is None:
            raise ApiError(404, "ACL token not found")
        return Response(body=public(token), index=token["ModifyIndex"], query_meta=True)

    def update_token(self, req: Request) -> Response:
        self._acl_on()
        req.require_management()
        accessor = req.params["accessor"]
        token = self.store.tokens.get(accessor)
        if token is None:
            raise ApiError(400, f"cannot find token {accessor}")
        body = wire.decode(req.raw_body, "ACLToken") or {}
        index = self.store.bump("acl_token")
        for key in ("Name", "Policies", "Roles"):
            if key in body:
                token[key] = body[key]
        token["ModifyIndex"] = index
        return Response(body=public(token), index=index)

    def delete_token(self, req: Request) -> Response:
        self._acl_on()
        req.require_management()
        accessor = req.params["accessor"]
        if accessor not in self.store.tokens:
            raise ApiError(400, f"Cannot delete nonexistent tokens: {accessor}")
        del self.store.tokens[accessor]
        return Response(empty=True, index=self.store.bump("acl_token"))

    # Agent and system ----------------------------------------------------------------------

    def leader(self, req: Request) -> Response:
        return Response(body="127.0.0.1:4647")

    def regions(self, req: Request) -> Response:
        return Response(body=[self.store.region])

    def agent_self(self, req: Request) -> Response:
        if not req.acl.coarse("agent", "read"):
            raise denied()
        return Response(
            body={
                "config": {
                    "Region": self.store.region,
                    "Datacenter": self.store.datacenter,
                    "Version": {"Version": "2.0.6"},
                },
                "member": {
                    "Name": "nomad-double.global",
                    "Tags": {"region": self.store.region, "dc": self.store.datacenter},
                },
                "stats": {},
            }
        )

    def system_gc(self, req: Request) -> Response:
        req.require_management()
        for key, job in list(self.store.jobs.items()):
            if job["Status"] == "dead":
                del self.store.jobs[key]
                self.store.versions.pop(key, None)
        for alloc_id, alloc in list(self.store.allocs.items()):
            if (
                alloc["ClientStatus"] in scheduler.TERMINAL
                or (alloc["Namespace"], alloc["JobID"]) not in self.store.jobs
            ):
                del self.store.allocs[alloc_id]
                self.store.deregister_alloc_services(alloc_id)
        self.store.bump("jobs", "allocs")
        return Response(empty=True)


def _filtered(records: list[dict[str, Any]], expression: str) -> list[dict[str, Any]]:
    """Apply a `filter=` expression as Nomad's paginator does, with its error texts."""
    try:
        node = bexpr.parse(expression)
    except bexpr.FilterSyntaxError as exc:
        raise ApiError(
            400, f"failed to create result paginator: failed to read filter expression: {exc}"
        ) from exc
    try:
        return [record for record in records if bexpr.evaluate(node, record)]
    except bexpr.FilterEvalError as exc:
        raise ApiError(400, f"failed to read result page: {exc}") from exc


def _api_shape(job: dict[str, Any]) -> dict[str, Any]:
    """A parsed job as the api package encodes it: every Job field, unset ones null."""
    from .schema import STRUCTS

    out: dict[str, Any] = {field.name: None for field in STRUCTS["Job"]}
    out["Dispatched"] = False
    out.update(job)
    return out


def _parse_canonical(job: dict[str, Any]) -> dict[str, Any]:
    """Parse with `Canonicalize`: client-side defaults filled, server defaults not."""
    canonical = jobs.canonicalize(
        job, job.get("Namespace") or "default", job.get("Region") or "global"
    )
    canonical["Datacenters"] = job.get("Datacenters")
    canonical["NodePool"] = job.get("NodePool") or ""
    canonical["Status"] = ""
    for group in canonical["TaskGroups"] or []:
        group["Constraints"] = next(
            (
                g.get("Constraints")
                for g in job.get("TaskGroups") or []
                if g.get("Name") == group["Name"]
            ),
            None,
        )
    if canonical["UI"] is not None:
        canonical["UI"]["Links"] = [
            {"Label": link["Label"], "URL": link["Url"]} for link in canonical["UI"]["Links"] or []
        ] or None
    return canonical
