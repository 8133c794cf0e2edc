"""What validation reports: :class:`SchemaViolation`, and the API server's wording of problems.

Messages follow k8s.io/apimachinery/pkg/util/validation/field (``Required value``, ``Invalid
value: ...``, ``Unsupported value: ...``) and kube-openapi's ``in body`` phrasing, so a finding
reads as ``kubectl apply`` would print it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from meshgen.errors import MeshgenError

__all__ = ["CRDLoadError", "SchemaViolation"]


@dataclass(frozen=True)
class SchemaViolation:
    """One reason the API server would reject an object.

    Attributes:
        api_version: the object's ``apiVersion`` as written.
        kind: the object's ``kind``.
        name: ``metadata.name`` (or ``generateName``), "" when missing.
        namespace: ``metadata.namespace``, None when not set.
        path: dotted field path, ``[i]`` for list items and ``[key]`` for map entries, e.g.
            ``spec.rules[0].backendRefs[1].weight``; "" for the object as a whole.
        message: the API server's complaint, e.g. ``Required value``.
    """

    api_version: str
    kind: str
    name: str
    namespace: str | None
    path: str
    message: str

    def __str__(self) -> str:
        where = "/".join(part for part in (self.kind, self.namespace, self.name) if part)
        return ": ".join(part for part in (where, self.path, self.message) if part)


class CRDLoadError(MeshgenError):
    """The CRD directory is missing, unreadable, or holds no CustomResourceDefinition."""


class Issue(NamedTuple):
    """A problem at a field path, before it is tied to an object."""

    path: str
    message: str
    # Type and enum errors stop CEL rules from running, as in the API server.
    blocking: bool = False


def field(path: str, name: str) -> str:
    """``spec`` + ``hosts`` -> ``spec.hosts``."""
    return f"{path}.{name}" if path else name


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value (``integer``, ``string``, ``object`` ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def show(value: Any) -> str:
    """A value as the API server prints it: quoted strings, type names for containers."""
    if isinstance(value, (dict, list)):
        return json.dumps(json_type(value))
    return json.dumps(value)


def number(value: float) -> str:
    """``3.0`` -> ``3``; other numbers unchanged."""
    return str(int(value)) if float(value).is_integer() else str(value)


def type_issue(path: str, expected: str, value: Any) -> Issue:
    """``Invalid value: "string": spec.port in body must be of type integer: "string"``."""
    actual = json_type(value)
    subject = path or "body"
    return Issue(path, f"Invalid value: {json.dumps(actual)}: {subject} in body must be of type "
                       f"{expected}: {json.dumps(actual)}", blocking=True)


def invalid(path: str, value: Any, complaint: str) -> Issue:
    """``Invalid value: 0: spec.port in body should be greater than or equal to 1``."""
    return Issue(path, f"Invalid value: {show(value)}: {path or 'body'} in body {complaint}")
