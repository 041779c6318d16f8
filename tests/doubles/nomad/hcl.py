"""HCL2 job specs to the API's JSON, as `POST /v1/jobs/parse` does it.

python-hcl2 reads the text; this module walks the result against the schema of the API structs,
maps HCL names to JSON names, converts values the way Nomad's decoder does (durations from
Go duration strings, numbers to strings for meta and env) and refuses unknown arguments and
blocks with the diagnostics HCL2 uses. Runtime interpolations such as `${NOMAD_ALLOC_DIR}` or
`${attr.kernel.name}` stay as text, as they do in Nomad.

Limits, refused with a diagnostic rather than guessed: input variables and locals, function
calls and operators inside expressions, template directives (`%{ ... }`), and blocks the
schema does not list.
"""

from __future__ import annotations

import re
from typing import Any

import hcl2
import lark
from hcl2 import SerializationOptions

from .durations import parse_go_duration
from .errors import ApiError
from .schema import BOOL, STRING, STRUCTS, Field, ListOf, MapOf, Scalar, Struct, Type

FILENAME = "input.hcl"
OPTIONS = SerializationOptions(
    with_comments=False,
    preserve_heredocs=True,
    preserve_scientific_notation=False,
    explicit_blocks=True,
)
BLOCK = "__is_block__"
HEREDOC = re.compile(r'^"<<(-?)([A-Za-z_][A-Za-z0-9_-]*)\n(.*)\n[ \t]*\2"$', re.DOTALL)
TRAVERSAL = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_-]*)"
    r"((?:\.[A-Za-z_][A-Za-z0-9_-]*|\.[0-9]+|\[\s*(?:\"[^\"]*\"|[0-9]+)\s*\])*)\s*$"
)
OPERATOR_SHORTCUTS = {
    "distinct_hosts",
    "distinct_property",
    "regexp",
    "version",
    "semver",
    "set_contains",
    "set_contains_all",
    "set_contains_any",
    "is_set",
    "is_not_set",
}
AFFINITY_SHORTCUTS = {
    "regexp",
    "version",
    "semver",
    "set_contains",
    "set_contains_all",
    "set_contains_any",
}
ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class Diagnostic(Exception):
    """An HCL error diagnostic: summary, detail and the name it is about (for its position)."""

    def __init__(self, summary: str, detail: str, subject: str = "") -> None:
        super().__init__(f"{summary}; {detail}")
        self.summary = summary
        self.detail = detail
        self.subject = subject


def parse_job(text: str) -> dict[str, Any]:
    """Parse an HCL2 job spec into the API job JSON; 400 `Failed to parse job: ...` on errors."""
    try:
        tree = hcl2.loads(text, serialization_options=OPTIONS)
    except lark.exceptions.UnexpectedInput as exc:
        line = getattr(exc, "line", 1) or 1
        column = getattr(exc, "column", 1) or 1
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
        message = f"{FILENAME}:{line},{column}-{column + 1}: Invalid expression; {first}"
        raise ApiError(400, f"Failed to parse job: {message}") from exc
    except (lark.exceptions.LarkError, ValueError) as exc:
        raise ApiError(400, f"Failed to parse job: {FILENAME}: Invalid syntax; {exc}") from exc
    try:
        return _Converter(text).job(tree)
    except Diagnostic as diag:
        raise ApiError(
            400, f"Failed to parse job: {_position(text, diag.subject)}: {diag}"
        ) from diag


def _position(text: str, subject: str) -> str:
    """Best-effort `input.hcl:line,col-col` of the first occurrence of `subject`."""
    if subject:
        pattern = re.compile(rf"(?<![\w-]){re.escape(subject)}(?![\w-])")
        for number, line in enumerate(text.splitlines(), start=1):
            found = pattern.search(line)
            if found:
                return f"{FILENAME}:{number},{found.start() + 1}-{found.end() + 1}"
    return f"{FILENAME}:1,1-1"


def _is_block_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) for v in value)
        and all(BLOCK in v or (len(v) == 1 and _is_labelled(v)) for v in value)
    )


def _is_labelled(value: dict[str, Any]) -> bool:
    key, inner = next(iter(value.items()))
    return (
        key.startswith('"') and isinstance(inner, dict) and (BLOCK in inner or _is_labelled(inner))
    )


def _unwrap_labels(block: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Split a python-hcl2 block into its labels and its body."""
    labels: list[str] = []
    while BLOCK not in block and len(block) == 1:
        key, inner = next(iter(block.items()))
        if not (key.startswith('"') and isinstance(inner, dict)):
            break
        labels.append(key[1:-1])
        block = inner
    return labels, {k: v for k, v in block.items() if k != BLOCK}


class _Converter:
    def __init__(self, text: str) -> None:
        self.text = text

    # Top level -----------------------------------------------------------------------------

    def job(self, tree: dict[str, Any]) -> dict[str, Any]:
        jobs: list[tuple[list[str], dict[str, Any]]] = []
        for key, value in tree.items():
            if key == BLOCK:
                continue
            if key in {"variable", "variables", "locals"}:
                raise Diagnostic(
                    "Unsupported block type",
                    f'Blocks of type "{key}" are not evaluated by this API double; '
                    "render the values into the job spec instead.",
                    key,
                )
            if key != "job":
                if _is_block_list(value):
                    raise Diagnostic(
                        "Unsupported block type",
                        f'Blocks of type "{key}" are not expected here.',
                        key,
                    )
                raise Diagnostic(
                    "Unsupported argument", f'An argument named "{key}" is not expected here.', key
                )
            if not _is_block_list(value):
                raise Diagnostic(
                    "Unsupported argument",
                    'An argument named "job" is not expected here. '
                    'Did you mean to define a block of type "job"?',
                    "job",
                )
            jobs.extend(_unwrap_labels(block) for block in value)
        if not jobs:
            raise Diagnostic("Missing job block", "A job block is required")
        if len(jobs) > 1:
            raise Diagnostic(
                "Duplicate job block", 'Only one block of type "job" is allowed.', "job"
            )
        labels, body = jobs[0]
        self._check_labels("job", labels, 1)
        job_id = labels[0]

        body = dict(body)
        job_vault = body.pop("vault", None)
        loose_tasks = body.pop("task", None)
        job = self.struct(body, "Job")
        job.setdefault("ID", job_id)
        job.setdefault("Name", job_id)

        vault = None
        if job_vault is not None:
            vault = self._single_block("vault", job_vault, "Vault")
        groups = job.get("TaskGroups") or []
        if loose_tasks is not None:
            if not _is_block_list(loose_tasks):
                raise Diagnostic(
                    "Unsupported argument", 'An argument named "task" is not expected here.', "task"
                )
            alone = []
            for block in loose_tasks:
                labels, task_body = _unwrap_labels(block)
                self._check_labels("task", labels, 1)
                task = self.struct(task_body, "Task")
                task["Name"] = labels[0]
                alone.append({"Name": labels[0], "Tasks": [task]})
            groups = alone + groups
        if groups:
            job["TaskGroups"] = groups
        periodic = job.get("Periodic")
        if periodic is not None and ("Spec" in periodic or "Specs" in periodic):
            periodic["SpecType"] = "cron"
        for group in groups:
            self._normalize_group(group, vault)
        return job

    def _normalize_group(self, group: dict[str, Any], vault: dict[str, Any] | None) -> None:
        for network in group.get("Networks") or []:
            _split_ports(network)
        for task in group.get("Tasks") or []:
            for network in (task.get("Resources") or {}).get("Networks") or []:
                _split_ports(network)
            for template in task.get("Templates") or []:
                template.setdefault("ChangeMode", "restart")
                template.setdefault("Perms", "0644")
                template.setdefault("Splay", 5_000_000_000)
                template.setdefault("ErrMissingKey", False)
                script = template.get("ChangeScript")
                if script is not None:
                    script.setdefault("Args", [])
                    script.setdefault("Timeout", 5_000_000_000)
                    script.setdefault("FailOnError", False)
                    script.setdefault("RunOnFirstRender", False)
            if task.get("Vault") is None and vault is not None:
                task["Vault"] = dict(vault)
            if task.get("Vault") is not None:
                task["Vault"].setdefault("Env", True)
                task["Vault"].setdefault("DisableFile", False)
                task["Vault"].setdefault("ChangeMode", "restart")
            identities = task.get("Identities") or []
            for index, identity in enumerate(identities):
                if identity.get("Name", "") in {"", "default"}:
                    task["Identity"] = identity
                    del identities[index]
                    break
            if "Identities" in task and not identities:
                del task["Identities"]

    # Structs -------------------------------------------------------------------------------

    def struct(self, body: dict[str, Any], name: str) -> dict[str, Any]:
        fields = {f.hcl: f for f in STRUCTS[name] if f.hcl is not None and not f.label}
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key == BLOCK:
                continue
            field = fields.get(key)
            if field is None and name in {"Constraint", "Affinity"} and key in OPERATOR_SHORTCUTS:
                if name == "Affinity" and key not in AFFINITY_SHORTCUTS:
                    raise Diagnostic(
                        "Unsupported argument",
                        f'An argument named "{key}" is not expected here.',
                        key,
                    )
                kind = BOOL if key == "distinct_hosts" else STRING
                converted = self.value(key, value, kind)
                if key == "distinct_hosts":
                    if converted:
                        out["Operand"] = key
                    continue
                out["Operand"] = key
                out["RTarget"] = converted
                continue
            if field is None:
                raise _unsupported(key, value)
            converted = self.field(field, value)
            if converted is not None:
                out[field.name] = converted
        if name in {"Constraint", "Affinity"}:
            out.setdefault("Operand", "=")
        return out

    def field(self, field: Field, value: Any) -> Any:
        typ = field.type
        key = field.hcl or field.name
        if isinstance(typ, Struct):
            return self._single_block(key, value, typ.name)
        if isinstance(typ, ListOf) and isinstance(typ.elem, Struct):
            if not _is_block_list(value):
                raise Diagnostic(
                    "Unsupported argument",
                    f'An argument named "{key}" is not expected here. '
                    f'Did you mean to define a block of type "{key}"?',
                    key,
                )
            return [self._block(key, block, typ.elem.name) for block in value]
        if isinstance(typ, MapOf):
            return self._map(key, value, typ)
        if _is_block_list(value):
            raise Diagnostic(
                "Unsupported block type",
                f'Blocks of type "{key}" are not expected here. Did you mean to define argument '
                f'"{key}"? If so, use the equals sign to assign it a value.',
                key,
            )
        return self.value(key, value, typ)

    def _single_block(self, key: str, value: Any, struct: str) -> dict[str, Any]:
        if not _is_block_list(value):
            raise Diagnostic(
                "Unsupported argument",
                f'An argument named "{key}" is not expected here. '
                f'Did you mean to define a block of type "{key}"?',
                key,
            )
        if len(value) > 1:
            raise Diagnostic(
                f"Duplicate {key} block",
                f"Only one {key} block is allowed. Another was defined earlier.",
                key,
            )
        return self._block(key, value[0], struct)

    def _block(self, key: str, block: dict[str, Any], struct: str) -> dict[str, Any]:
        labels, body = _unwrap_labels(block)
        label_field = next((f for f in STRUCTS[struct] if f.label), None)
        self._check_labels(key, labels, 1 if label_field else 0)
        out = self.struct(body, struct)
        if label_field is not None:
            out[label_field.name] = labels[0]
        return out

    def _check_labels(self, key: str, labels: list[str], want: int) -> None:
        if len(labels) < want:
            raise Diagnostic(
                f"Missing name for {key}", f"All {key} blocks must have {want} labels (name).", key
            )
        if len(labels) > want:
            if want == 0:
                raise Diagnostic(
                    f"Extraneous label for {key}",
                    f"No labels are expected for {key} blocks.",
                    key,
                )
            raise Diagnostic(
                f"Extraneous label for {key}",
                f"Only {want} labels (name) are expected for {key} blocks.",
                key,
            )

    def _map(self, key: str, value: Any, typ: MapOf) -> dict[str, Any]:
        if _is_block_list(value):
            if len(value) > 1:
                raise Diagnostic(
                    f"Duplicate {key} block",
                    f"{key} may not be defined more than once.",
                    key,
                )
            labels, body = _unwrap_labels(value[0])
            self._check_labels(key, labels, 0)
        elif isinstance(value, dict):
            body = {_object_key(k): v for k, v in value.items()}
        else:
            raise Diagnostic(
                "Incorrect attribute value type",
                f'Inappropriate value for attribute "{key}": map of string required.',
                key,
            )
        elem = typ.elem
        if isinstance(elem, Scalar) and elem.kind == "any":
            return {k: self.free(k, v) for k, v in body.items() if k != BLOCK}
        return {k: self.value(k, v, elem) for k, v in body.items() if k != BLOCK}

    # Values --------------------------------------------------------------------------------

    def free(self, key: str, value: Any) -> Any:
        """A free-form value (driver config): nested blocks become lists of objects."""
        if _is_block_list(value):
            out = []
            for block in value:
                labels, body = _unwrap_labels(block)
                converted = {k: self.free(k, v) for k, v in body.items()}
                for label in reversed(labels):
                    converted = {label: [converted]}
                out.append(converted)
            return out
        if isinstance(value, dict):
            return {_object_key(k): self.free(k, v) for k, v in value.items() if k != BLOCK}
        if isinstance(value, list):
            return [self.free(key, item) for item in value]
        if isinstance(value, str):
            return self.string(key, value)
        return value

    def value(self, key: str, value: Any, typ: Type) -> Any:
        if isinstance(typ, ListOf):
            if not isinstance(value, list):
                raise Diagnostic(
                    "Incorrect attribute value type",
                    f'Inappropriate value for attribute "{key}": list of {_type_word(typ.elem)} '
                    "required.",
                    key,
                )
            return [self.value(key, item, typ.elem) for item in value]
        if isinstance(typ, (MapOf, Struct)):
            return self._map(key, value, MapOf(typ.elem if isinstance(typ, MapOf) else typ))
        if value is None:
            if typ.kind == "duration":
                raise Diagnostic("Unsuitable value", "Unsuitable duration value: nil", key)
            return None
        if isinstance(value, str):
            value = self.string(key, value)
        kind = typ.kind
        if kind == "any":
            return value
        if kind == "string":
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, (int, float)):
                return _number_text(value)
            if isinstance(value, str):
                return value
            raise Diagnostic(
                "Incorrect attribute value type",
                f'Inappropriate value for attribute "{key}": string required.',
                key,
            )
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if value in ("true", "false"):
                return value == "true"
            raise Diagnostic(
                "Incorrect attribute value type",
                f'Inappropriate value for attribute "{key}": bool required.',
                key,
            )
        if kind == "duration":
            if isinstance(value, str):
                try:
                    return parse_go_duration(value)
                except ValueError as exc:
                    raise Diagnostic(
                        "Unsuitable value type", f"Unsuitable duration value: {exc}", key
                    ) from exc
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise Diagnostic(
                    "Unsuitable value type",
                    "Unsuitable value: expected a string but found "
                    f"{'bool' if isinstance(value, bool) else 'object'}",
                    key,
                )
            return self._whole(key, value)
        # Integers.
        if isinstance(value, bool):
            raise Diagnostic(
                "Incorrect attribute value type",
                f'Inappropriate value for attribute "{key}": number required.',
                key,
            )
        if isinstance(value, str):
            try:
                value = float(value) if re.search(r"[.eE]", value) else int(value)
            except ValueError as exc:
                raise Diagnostic(
                    "Incorrect attribute value type",
                    f'Inappropriate value for attribute "{key}": a number is required.',
                    key,
                ) from exc
        if not isinstance(value, (int, float)):
            raise Diagnostic(
                "Incorrect attribute value type",
                f'Inappropriate value for attribute "{key}": number required.',
                key,
            )
        return self._whole(key, value)

    def _whole(self, key: str, value: float) -> int:
        if isinstance(value, float) and not value.is_integer():
            raise Diagnostic(
                "Unsuitable value type", "Unsuitable value: value must be a whole number", key
            )
        return int(value)

    def string(self, key: str, raw: str) -> str:
        """Turn python-hcl2's string form into the value HCL2 evaluates it to."""
        heredoc = HEREDOC.match(raw)
        if heredoc:
            body = heredoc.group(3) + "\n"
            if heredoc.group(1) == "-":
                body = _flush(body)
            return self._template(key, body, escapes=False)
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            return self._template(key, raw[1:-1], escapes=True)
        if raw.startswith("${") and raw.endswith("}"):
            return self._interpolation(key, raw[2:-1], whole=True)
        return raw

    def _template(self, key: str, body: str, escapes: bool) -> str:
        out: list[str] = []
        index = 0
        while index < len(body):
            char = body[index]
            if escapes and char == "\\":
                index = self._escape(key, body, index, out)
                continue
            if body.startswith("$${", index):
                out.append("${")
                index += 3
                continue
            if body.startswith("%%{", index):
                out.append("%{")
                index += 3
                continue
            if body.startswith("%{", index):
                raise Diagnostic(
                    "Unsupported template directive",
                    "Template directives (%{ ... }) are not evaluated by this API double.",
                    key,
                )
            if body.startswith("${", index):
                end = _closing_brace(body, index + 2)
                if end < 0:
                    raise Diagnostic("Unterminated template string", "No closing brace.", key)
                out.append(self._interpolation(key, body[index + 2 : end], whole=False))
                index = end + 1
                continue
            out.append(char)
            index += 1
        return "".join(out)

    def _escape(self, key: str, body: str, index: int, out: list[str]) -> int:
        nxt = body[index + 1 : index + 2]
        if nxt in ESCAPES:
            out.append(ESCAPES[nxt])
            return index + 2
        if nxt in {"u", "U"}:
            width = 4 if nxt == "u" else 8
            digits = body[index + 2 : index + 2 + width]
            if len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
                out.append(chr(int(digits, 16)))
                return index + 2 + width
        raise Diagnostic(
            "Invalid escape sequence",
            f"The symbol {nxt!r} is not a valid escape sequence selector.",
            key,
        )

    def _interpolation(self, key: str, expression: str, whole: bool) -> str:
        match = TRAVERSAL.match(expression)
        if not match:
            raise Diagnostic(
                "Unsupported expression",
                f"The expression {expression.strip()!r} is not evaluated by this API double; "
                "only literal values and runtime references are.",
                key,
            )
        root = match.group(1)
        if root in {"var", "local"}:
            name = match.group(2).lstrip(".").split(".")[0].split("[")[0]
            raise Diagnostic(
                "Unsupported attribute",
                f'This object does not have an attribute named "{name}".',
                key,
            )
        return "${" + expression.strip() + "}"


def _unsupported(key: str, value: Any) -> Diagnostic:
    """HCL2's refusal of an argument or block the schema does not have."""
    if _is_block_list(value):
        return Diagnostic(
            "Unsupported block type", f'Blocks of type "{key}" are not expected here.', key
        )
    return Diagnostic(
        "Unsupported argument", f'An argument named "{key}" is not expected here.', key
    )


def _closing_brace(body: str, start: int) -> int:
    depth = 1
    index = start
    quoted = False
    while index < len(body):
        char = body[index]
        if quoted:
            if char == "\\":
                index += 2
                continue
            if char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def _flush(body: str) -> str:
    lines = body.split("\n")
    indents = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(line[cut:] for line in lines)


def _object_key(key: str) -> str:
    if len(key) >= 2 and key.startswith('"') and key.endswith('"'):
        return key[1:-1]
    return key


def _number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _type_word(typ: Type) -> str:
    if isinstance(typ, Scalar):
        return {"string": "string", "bool": "bool"}.get(typ.kind, "number")
    return "object"


def _split_ports(network: dict[str, Any]) -> None:
    """Move ports with a static value to ReservedPorts, as Nomad's parser does."""
    ports = network.get("DynamicPorts")
    if not ports:
        return
    dynamic = [port for port in ports if not port.get("Value", 0) > 0]
    reserved = [port for port in ports if port.get("Value", 0) > 0]
    network["DynamicPorts"] = dynamic or None
    if reserved:
        network["ReservedPorts"] = reserved
    if network["DynamicPorts"] is None:
        del network["DynamicPorts"]
