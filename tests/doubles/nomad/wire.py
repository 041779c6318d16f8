"""Request body decoding with the rules of Go's encoding/json, as the Nomad agent applies them.

Keys match struct fields case-insensitively, unknown keys are dropped, `null` leaves a field
unset, and a value of the wrong JSON type is a 400 carrying Go's own wording. Decoded structs
are plain dicts keyed by the Go field names, holding only the fields the body set.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .errors import ApiError
from .schema import STRUCTS, ListOf, MapOf, Scalar, Struct, Type

INT_RANGES = {
    "int": (-(2**63), 2**63 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "int8": (-128, 127),
    "time.Duration": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


class FloatLiteral(str):
    """A JSON number written with a fraction or exponent, kept as its source text."""


class _TypeError(Exception):
    def __init__(self, value: str, path: str, go_type: str) -> None:
        super().__init__(value)
        self.value = value
        self.path = path
        self.go_type = go_type


def load_json(body: bytes) -> Any:
    """Parse a request body: 400 `Request body is empty` for none, Go-like text for bad JSON."""
    if not body:
        raise ApiError(400, "Request body is empty")
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        raise ApiError(400, "EOF")
    try:
        value, _end = json.JSONDecoder(parse_float=FloatLiteral).raw_decode(text.lstrip())
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"invalid character in JSON body: {exc.msg}") from exc
    return value


def decode(body: bytes, root: str) -> dict[str, Any] | None:
    """Decode `body` into the request struct `root`; `None` for a JSON `null` body."""
    raw = load_json(body)
    return decode_value(raw, root)


def decode_value(raw: Any, root: str) -> dict[str, Any] | None:
    """Decode an already parsed JSON value into struct `root`."""
    if raw is None:
        return None
    try:
        if not isinstance(raw, dict):
            raise _TypeError(_json_kind(raw), "", f"api.{root}")
        return _decode_struct(raw, root, root)
    except _TypeError as exc:
        if not exc.path:
            message = f"json: cannot unmarshal {exc.value} into Go value of type {exc.go_type}"
        else:
            message = (
                f"json: cannot unmarshal {exc.value} into Go struct field {exc.path} "
                f"of type {exc.go_type}"
            )
        raise ApiError(400, message) from exc


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, FloatLiteral)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _decode_struct(raw: dict[str, Any], struct: str, path: str) -> dict[str, Any]:
    fields = STRUCTS[struct]
    exact = {field.name: field for field in fields}
    folded = {field.name.lower(): field for field in fields}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        field = exact.get(key) or folded.get(key.lower())
        if field is None:
            continue
        if value is None:
            out.pop(field.name, None)
            continue
        out[field.name] = _decode(value, field.type, f"{path}.{field.name}")
    return out


def _decode(value: Any, typ: Type, path: str) -> Any:
    if value is None:
        return None
    if isinstance(typ, Struct):
        if not isinstance(value, dict):
            raise _TypeError(_json_kind(value), path, typ.go)
        return _decode_struct(value, typ.name, path)
    if isinstance(typ, ListOf):
        if isinstance(typ.elem, Scalar) and typ.elem.kind == "any" and not isinstance(value, list):
            raise _TypeError(_json_kind(value), path, typ.go)
        if not isinstance(value, list):
            raise _TypeError(_json_kind(value), path, typ.go)
        return [_decode(item, typ.elem, path) for item in value]
    if isinstance(typ, MapOf):
        if not isinstance(value, dict):
            raise _TypeError(_json_kind(value), path, typ.go)
        return {key: _decode(item, typ.elem, path) for key, item in value.items()}
    return _decode_scalar(value, typ, path)


def _decode_scalar(value: Any, typ: Scalar, path: str) -> Any:
    kind = typ.kind
    if kind == "any":
        return _plain(value)
    if kind == "string":
        if not isinstance(value, str) or isinstance(value, FloatLiteral):
            raise _TypeError(_json_kind(value), path, typ.go)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _TypeError(_json_kind(value), path, typ.go)
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, FloatLiteral)):
            raise _TypeError(_json_kind(value), path, typ.go)
        return float(value)
    if kind == "bytes":
        if not isinstance(value, str) or isinstance(value, FloatLiteral):
            raise _TypeError(_json_kind(value), path, typ.go)
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(400, "illegal base64 data at input byte 0") from exc
    # Integers and durations: JSON numbers without fraction or exponent only.
    if isinstance(value, FloatLiteral):
        raise _TypeError(f"number {value}", path, typ.go)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _TypeError(_json_kind(value), path, typ.go)
    low, high = INT_RANGES.get(typ.go, (-(2**63), 2**63 - 1))
    if not low <= value <= high:
        raise _TypeError(f"number {value}", path, typ.go)
    return value


def _plain(value: Any) -> Any:
    """Turn decoded free-form JSON into plain Python values (floats become float)."""
    if isinstance(value, FloatLiteral):
        return float(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
