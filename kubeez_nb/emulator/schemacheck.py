"""A small JSON Schema checker for the subset ``/openapi.json`` uses, so the emulator refuses
exactly what its own spec declares invalid (400 ``invalid_request`` naming the field) before the
catalog's model rules run. Supported: ``type`` (one or a list), ``enum``, ``minLength``,
``maxLength``, ``pattern``, ``minimum``, ``maximum``, ``minItems``, ``maxItems``, ``items``,
``properties``, ``required``, ``$ref`` into the component schemas, ``format: uri`` (absolute).
"""

from __future__ import annotations

import re
from typing import Any

from kubeez_nb.emulator.errors import InvalidRequest

_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def problem(
    value: Any, schema: dict[str, Any], schemas: dict[str, Any], where: str = ""
) -> str | None:
    """The first way ``value`` breaks ``schema`` as ``"field: reason"``, else None."""
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    label = where or "body"
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_TYPES[t](value) for t in names):
            return f"{label}: must be {' or '.join(names)}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{label}: must be one of {schema['enum']}"
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return (
                f"{label}: must not be empty" if schema["minLength"] == 1 else f"{label}: too short"
            )
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{label}: at most {schema['maxLength']} characters"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"{label}: must match {schema['pattern']}"
        if schema.get("format") == "uri" and not _URI.match(value):
            return f"{label}: must be an absolute URL"
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{label}: must be >= {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{label}: must be <= {schema['maximum']}"
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return f"{label}: needs at least {schema['minItems']} item(s)"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"{label}: at most {schema['maxItems']} items"
        for i, item in enumerate(value):
            found = problem(item, schema.get("items", {}), schemas, f"{label}[{i}]")
            if found:
                return found
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            if name not in value:
                return f"{name}: is required" if not where else f"{where}.{name}: is required"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                found = problem(value[name], sub, schemas, f"{where}.{name}" if where else name)
                if found:
                    return found
    return None


def check(value: Any, schema_name: str, schemas: dict[str, Any]) -> None:
    """Raise 400 invalid_request (or ``missing_<field>``) when ``value`` breaks the named schema."""
    found = problem(value, {"$ref": "#/" + schema_name}, schemas)
    if found is None:
        return
    field, _, reason = found.partition(": ")
    code = f"missing_{field}" if reason == "is required" and "." not in field else "invalid_request"
    if reason == "must not be empty" and "." not in field and "[" not in field:
        code = f"missing_{field}"
    raise InvalidRequest(
        f"{field} {reason} (see /openapi.json).", code=code, extra={"field": field}
    )


def check_query(
    spec: list[tuple[str, str, dict[str, Any], bool]], args: Any, schemas: dict[str, Any]
) -> None:
    """400 invalid_request when a declared query parameter breaks its schema (integers parsed first)."""
    for name, _desc, schema, _required in spec:
        if name not in args:
            continue
        raw: Any = args.get(name)
        if schema.get("type") == "integer":
            try:
                raw = int(raw)
            except ValueError:
                raise InvalidRequest(
                    f"{name} must be a whole number, got {raw!r}.", extra={"field": name}
                ) from None
        found = problem(raw, schema, schemas, name)
        if found:
            field, _, reason = found.partition(": ")
            raise InvalidRequest(f"{field} {reason} (see /openapi.json).", extra={"field": field})
