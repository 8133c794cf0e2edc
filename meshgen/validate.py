"""Check rendered Kubernetes objects the way an API server with the CRD corpus installed would.

Custom resources are checked against their CRD's ``openAPIV3Schema`` with structural-schema
semantics and ``kubectl --validate=strict``: unknown fields are rejected, schema defaults are
applied before the ``x-kubernetes-validations`` CEL rules run, and messages follow the API
server's wording (``spec.hosts: Required value``). Built-in kinds (Service, Deployment, ...) are
checked against kubernetes-validate's bundled strict JSON schemas.

Typical use::

    catalog = CRDCatalog.from_directory(Path("../shared/crds"))
    for violation in validate_objects(documents, catalog):
        print(violation)
"""

from __future__ import annotations

import base64
import copy
import datetime
import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
import re2
import referencing
import yaml
from kubernetes_validate import utils as kubernetes_validate

from meshgen import cel_k8s
from meshgen.errors import MeshgenError

__all__ = ["CRDCatalog", "CRDLoadError", "SchemaViolation", "validate_objects"]


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


class _Issue(NamedTuple):
    path: str
    message: str
    # Type and enum errors stop CEL rules from running, as in the API server.
    blocking: bool = False


@dataclass(frozen=True)
class _ServedVersion:
    api_version: str
    kind: str
    namespaced: bool
    schema: Mapping[str, Any]
    # With a status subresource the API server drops ``status`` on create.
    status_subresource: bool


_CEL_NOT_RUN = ("some validation rules were not checked because the object was invalid; "
                "correct the existing errors to complete validation")


class CRDCatalog:
    """The custom resource kinds a cluster serves, with their schemas."""

    def __init__(self, served: Mapping[tuple[str, str], _ServedVersion]) -> None:
        self._served = dict(served)
        self._groups = {_group(api_version) for api_version, _ in served}
        self._rules_below: dict[int, bool] = {}

    @classmethod
    def from_directory(cls, path: Path, *, experimental: bool = False) -> CRDCatalog:
        """Load every CRD below ``path`` (``*.yaml``/``*.yml``, recursively).

        A file may hold one CRD, several documents, or a ``kind: List`` of CRDs (what
        ``kubectl get crd -o yaml`` prints); other documents are ignored. Files under a folder
        named ``experimental`` are read only when ``experimental`` is true, and then replace
        standard CRDs of the same ``metadata.name``. Only ``served`` versions are indexed.

        Raises:
            CRDLoadError: ``path`` is not a directory, a file is not valid YAML, or no CRD
                was found.
        """
        if not path.is_dir():
            raise CRDLoadError(f"{path}: CRD directory not found")
        files = sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
        standard = [p for p in files if "experimental" not in p.relative_to(path).parts[:-1]]
        channel = [p for p in files if p not in standard] if experimental else []
        crds: dict[str, Mapping[str, Any]] = {}
        for file in standard + channel:  # experimental last, so it replaces by name
            for crd in _read_crds(file):
                crds[crd.get("metadata", {}).get("name", str(file))] = crd
        if not crds:
            raise CRDLoadError(f"{path}: no CustomResourceDefinition found")
        served = {}
        for crd in crds.values():
            for version in _served_versions(crd):
                served[(version.api_version, version.kind)] = version
        return cls(served)

    def kinds(self) -> list[tuple[str, str]]:
        """Sorted ``(apiVersion, kind)`` pairs that some loaded CRD serves."""
        return sorted(self._served)

    def validate(self, obj: Mapping[str, Any]) -> list[SchemaViolation]:
        """Every reason the API server would reject ``obj`` on create, in a stable order.

        ``obj`` is a Kubernetes object as parsed from YAML. It is not modified. Custom kinds
        are looked up in this catalog, built-in kinds in kubernetes-validate's schemas; a kind
        found in neither is reported as unknown.
        """
        if not isinstance(obj, Mapping):
            return [SchemaViolation("", "", "", None, "", "not a Kubernetes object (mapping)")]
        plain = _plain(obj)
        api_version, kind = str(plain.get("apiVersion") or ""), str(plain.get("kind") or "")
        metadata = plain.get("metadata") if isinstance(plain.get("metadata"), dict) else {}
        name = str(metadata.get("name") or metadata.get("generateName") or "")
        namespace = None if metadata.get("namespace") is None else str(metadata["namespace"])

        def violation(issue: _Issue) -> SchemaViolation:
            return SchemaViolation(api_version, kind, name, namespace, issue.path, issue.message)

        if not api_version or not kind:
            missing = [field for field, value in (("apiVersion", api_version), ("kind", kind))
                       if not value]
            return [violation(_Issue(field, "Required value")) for field in missing]
        served = self._served.get((api_version, kind))
        if served is not None:
            return [violation(i) for i in self._check_custom(plain, served)]
        core = _core_validator(api_version, kind) if _group(api_version) not in self._groups else None
        if core is not None:
            return [violation(i) for i in _check_core(plain, core)]
        return [violation(self._unknown_kind(api_version, kind))]

    def _namespaced(self, api_version: str, kind: str) -> bool:
        served = self._served.get((api_version, kind))
        return served.namespaced if served else kind not in _CLUSTER_SCOPED_CORE_KINDS

    def _unknown_kind(self, api_version: str, kind: str) -> _Issue:
        looked_up = f"no CRD or built-in schema serves apiVersion {api_version!r} kind {kind!r}"
        same_kind = sorted(v for v, k in self._served if k == kind)
        if same_kind:
            return _Issue("apiVersion", f"{looked_up}; {kind} is served as: {', '.join(same_kind)}")
        group = _group(api_version)
        in_group = sorted({f"{v} {k}" for v, k in self._served if _group(v) == group})
        if in_group:
            return _Issue("kind", f"{looked_up}; group {group} serves: {', '.join(in_group)}")
        return _Issue("kind", f"{looked_up}; no loaded CRD has group {group or 'core'!r}")

    def _check_custom(self, obj: dict[str, Any], served: _ServedVersion) -> list[_Issue]:
        schema = served.schema
        body = {k: v for k, v in obj.items() if k not in _OBJECT_ENVELOPE}
        if served.status_subresource:
            body.pop("status", None)
        unknown: list[_Issue] = []
        body = _prune_and_default(body, schema, "", unknown)
        issues = unknown + _check_metadata(obj.get("metadata"), cel_k8s.dns1123_subdomain_errors,
                                           namespaced=served.namespaced)
        issues += _check_value(body, _without_envelope(schema), "")
        issues += _check_list_types(body, schema, "")
        if any(issue.blocking for issue in issues):
            return issues + [_Issue("", _CEL_NOT_RUN)]
        # Rules see metadata.name and generateName only, as in the API server.
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        body.update({k: obj[k] for k in ("apiVersion", "kind") if k in obj})
        body["metadata"] = {k: metadata[k] for k in ("name", "generateName") if k in metadata}
        return issues + self._check_rules(body, schema, "", {})

    def _check_rules(self, value: Any, schema: Mapping[str, Any], path: str,
                     memo: dict[int, Any]) -> list[_Issue]:
        """Evaluate the CEL rules at this node and below, on the defaulted object."""
        if value is None or not self._has_rules(schema):
            return []
        issues = [issue for rule in schema.get("x-kubernetes-validations", ())
                  for issue in _check_rule(rule, value, schema, path, memo)]
        for child_path, child, child_schema in _children(value, schema, path):
            issues += self._check_rules(child, child_schema, child_path, memo)
        return issues

    def _has_rules(self, schema: Mapping[str, Any]) -> bool:
        # Most of a big schema has no rules; remembering that keeps validation fast.
        key = id(schema)
        if key not in self._rules_below:
            nested = [schema.get("items"), schema.get("additionalProperties"),
                      *(schema.get("properties") or {}).values()]
            self._rules_below[key] = bool(schema.get("x-kubernetes-validations")) or any(
                self._has_rules(s) for s in nested if isinstance(s, Mapping))
        return self._rules_below[key]


def validate_objects(objects: Iterable[Mapping[str, Any]],
                     catalog: CRDCatalog) -> list[SchemaViolation]:
    """All violations of all objects, in input order, plus duplicate objects.

    Two objects are duplicates when they share API group, kind, namespace (as written; ignored
    for cluster-scoped kinds) and name; every occurrence after the first is reported.
    """
    violations: list[SchemaViolation] = []
    first_seen: dict[tuple[str, str, str | None, str], int] = {}
    for index, obj in enumerate(objects):
        violations += catalog.validate(obj)
        if not isinstance(obj, Mapping) or not isinstance(obj.get("metadata"), Mapping):
            continue
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        name, namespace = obj["metadata"].get("name"), obj["metadata"].get("namespace")
        if not name:
            continue
        scoped_namespace = namespace if catalog._namespaced(api_version, kind) else None
        key = (_group(api_version), kind, scoped_namespace, str(name))
        if key in first_seen:
            violations.append(SchemaViolation(
                api_version, kind, str(name), namespace, "metadata.name",
                f"Duplicate value: {json.dumps(name)}: object #{index} repeats object "
                f"#{first_seen[key]} (same group, kind, namespace and name)"))
        else:
            first_seen[key] = index
    return violations


# --- Loading CRDs.

def _read_crds(file: Path) -> list[Mapping[str, Any]]:
    try:
        stat = file.stat()
        documents = _parse_yaml(file, stat.st_mtime_ns, stat.st_size)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise CRDLoadError(f"{file}: cannot read CRDs: {err}") from err
    crds = []
    for document in documents:
        if not isinstance(document, Mapping):
            continue
        items = document.get("items") if document.get("kind") == "List" else [document]
        crds += [item for item in items or () if isinstance(item, Mapping)
                 and item.get("kind") == "CustomResourceDefinition"]
    return crds


@functools.lru_cache(maxsize=512)
def _parse_yaml(file: Path, mtime_ns: int, size: int) -> list[Any]:
    """Parsed documents of a file, shared between catalogs (parsing dominates loading).

    ``mtime_ns`` and ``size`` are part of the cache key so an edited file is read again;
    callers must not modify what this returns.
    """
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return list(yaml.load_all(file.read_text(encoding="utf-8"), Loader=loader))


def _served_versions(crd: Mapping[str, Any]) -> list[_ServedVersion]:
    spec = crd.get("spec") or {}
    group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
    versions = []
    for version in spec.get("versions") or ():
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if not version.get("served") or not isinstance(schema, Mapping):
            continue
        versions.append(_ServedVersion(
            api_version=f"{group}/{version['name']}", kind=kind,
            namespaced=spec.get("scope", "Namespaced") != "Cluster", schema=schema,
            status_subresource="status" in ((version.get("subresources") or {}))))
    return versions


# --- Structural-schema validation of custom resources.

# Every object may carry these, whatever its schema says; metadata is checked on its own.
_OBJECT_ENVELOPE = ("apiVersion", "kind", "metadata")

_TYPE_CHECKS = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def _without_envelope(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    properties = {k: v for k, v in (schema.get("properties") or {}).items()
                  if k not in _OBJECT_ENVELOPE}
    required = [r for r in schema.get("required", ()) if r not in _OBJECT_ENVELOPE]
    return {**schema, "properties": properties, "required": required}


def _prune_and_default(value: Any, schema: Mapping[str, Any], path: str,
                       unknown: list[_Issue]) -> Any:
    """A copy of ``value`` as the API server stores it: unknown fields dropped (each one
    reported, as ``--validate=strict`` does) and schema defaults filled in."""
    if isinstance(value, list):
        items = schema.get("items")
        if not isinstance(items, Mapping) or schema.get("type", "array") != "array":
            return copy.deepcopy(value)
        return [_prune_and_default(v, items, f"{path}[{i}]", unknown) for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    if schema.get("type") != "object" and not properties and not isinstance(extra, Mapping):
        # Untyped nodes keep everything (preserve-unknown-fields, int-or-string); a type
        # mismatch is reported by _check_value rather than as unknown fields.
        return copy.deepcopy(value)
    keeps_unknown = schema.get("x-kubernetes-preserve-unknown-fields") or extra is True
    embedded = schema.get("x-kubernetes-embedded-resource")
    result = {}
    for key, item in value.items():
        if key in properties:
            result[key] = _prune_and_default(item, properties[key], _field(path, key), unknown)
        elif isinstance(extra, Mapping):
            result[key] = _prune_and_default(item, extra, f"{path}[{key}]", unknown)
        elif keeps_unknown or (embedded and key in _OBJECT_ENVELOPE):
            result[key] = copy.deepcopy(item)
        else:
            unknown.append(_Issue(_field(path, key), f"unknown field {json.dumps(key)}"))
    for key, prop in properties.items():
        absent = key not in result or (result[key] is None and not prop.get("nullable"))
        if "default" in prop and absent:
            result[key] = _prune_and_default(copy.deepcopy(prop["default"]), prop, "", [])
    return result


def _check_value(value: Any, schema: Mapping[str, Any], path: str) -> list[_Issue]:
    """Every way ``value`` breaks ``schema``'s value validations (not unknown fields)."""
    declared = schema.get("type")
    if value is None:
        if schema.get("nullable") or not declared:
            return []
        return [_type_issue(path, declared, value)]
    if schema.get("x-kubernetes-int-or-string"):
        if not (isinstance(value, str) or _TYPE_CHECKS["integer"](value)):
            return [_type_issue(path, "integer or string", value)]
    elif declared in _TYPE_CHECKS and not _TYPE_CHECKS[declared](value):
        return [_type_issue(path, declared, value)]
    issues = []
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        supported = ", ".join(_show(option) for option in schema["enum"])
        issues.append(_Issue(path, f"Unsupported value: {_show(value)}: supported values: "
                                   f"{supported}", blocking=True))
    if isinstance(value, str):
        issues += _check_string(value, schema, path)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        issues += _check_number(value, schema, path)
    elif isinstance(value, list):
        issues += _check_array(value, schema, path)
    elif isinstance(value, dict):
        issues += _check_object(value, schema, path)
    return issues + _check_composition(value, schema, path)


def _check_string(value: str, schema: Mapping[str, Any], path: str) -> list[_Issue]:
    issues = []
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        issues.append(_Issue(path, f"Too long: may not be more than {schema['maxLength']} bytes"))
    if "minLength" in schema and len(value) < schema["minLength"]:
        issues.append(_invalid(path, value, f"should be at least {schema['minLength']} chars long"))
    if "pattern" in schema and not _regex(schema["pattern"]).search(value):
        issues.append(_invalid(path, value, f"should match '{schema['pattern']}'"))
    check = _FORMAT_CHECKS.get(schema.get("format", ""))
    if check is not None and not check(value):
        issues.append(_invalid(path, value, f"must be of type {schema['format']}: "
                                            f"{json.dumps(value)}"))
    return issues


def _check_number(value: float, schema: Mapping[str, Any], path: str) -> list[_Issue]:
    issues = []
    if "minimum" in schema:
        low, exclusive = schema["minimum"], schema.get("exclusiveMinimum") is True
        if value < low or (exclusive and value == low):
            relation = "greater than" if exclusive else "greater than or equal to"
            issues.append(_invalid(path, value, f"should be {relation} {_number(low)}"))
    if "maximum" in schema:
        high, exclusive = schema["maximum"], schema.get("exclusiveMaximum") is True
        if value > high or (exclusive and value == high):
            relation = "less than" if exclusive else "less than or equal to"
            issues.append(_invalid(path, value, f"should be {relation} {_number(high)}"))
    step = schema.get("multipleOf")
    if step and abs(value / step - round(value / step)) > 1e-9:
        issues.append(_invalid(path, value, f"should be a multiple of {_number(step)}"))
    return issues


def _check_array(value: list[Any], schema: Mapping[str, Any], path: str) -> list[_Issue]:
    issues = []
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        issues.append(_Issue(path, f"Too many: {len(value)}: must have at most "
                                   f"{schema['maxItems']} items"))
    if "minItems" in schema and len(value) < schema["minItems"]:
        issues.append(_invalid(path, len(value), f"should have at least {schema['minItems']} items"))
    items = schema.get("items")
    if isinstance(items, Mapping):
        for index, item in enumerate(value):
            issues += _check_value(item, items, f"{path}[{index}]")
    return issues


def _check_object(value: dict[str, Any], schema: Mapping[str, Any], path: str) -> list[_Issue]:
    issues = [_Issue(_field(path, key), "Required value")
              for key in schema.get("required", ()) if key not in value]
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        issues.append(_Issue(path, f"Too many: {len(value)}: must have at most "
                                   f"{schema['maxProperties']} items"))
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        issues.append(_invalid(path, len(value),
                               f"should have at least {schema['minProperties']} properties"))
    if schema.get("x-kubernetes-embedded-resource"):
        issues += [_Issue(_field(path, key), "Required value")
                   for key in ("apiVersion", "kind") if not value.get(key)]
        issues += _check_metadata(value.get("metadata"), cel_k8s.dns1123_subdomain_errors,
                                  namespaced=None, path=_field(path, "metadata"), require_name=False)
    for child_path, child, child_schema in _children(value, schema, path):
        issues += _check_value(child, child_schema, child_path)
    return issues


def _check_composition(value: Any, schema: Mapping[str, Any], path: str) -> list[_Issue]:
    """allOf / anyOf / oneOf / not; their branches only add value validations."""
    issues = [issue for branch in schema.get("allOf", ()) for issue in
              _check_value(value, branch, path)]
    if "anyOf" in schema and all(_check_value(value, b, path) for b in schema["anyOf"]):
        issues.append(_Issue(path, "must validate at least one schema (anyOf)"))
    if "oneOf" in schema:
        valid = sum(1 for branch in schema["oneOf"] if not _check_value(value, branch, path))
        if valid != 1:
            found = "none valid" if valid == 0 else f"{valid} valid alternatives"
            issues.append(_Issue(path, "must validate one and only one schema (oneOf). "
                                       f"Found {found}"))
    if "not" in schema and not _check_value(value, schema["not"], path):
        issues.append(_Issue(path, "must not validate the schema (not)"))
    return issues


def _check_list_types(value: Any, schema: Mapping[str, Any], path: str) -> list[_Issue]:
    """Duplicates in ``x-kubernetes-list-type: set`` and ``map`` lists, at any depth."""
    issues = []
    if isinstance(value, list) and schema.get("x-kubernetes-list-type") in {"set", "map"}:
        keys = schema.get("x-kubernetes-list-map-keys") or ()
        seen = set()
        for index, item in enumerate(value):
            if schema["x-kubernetes-list-type"] == "map" and isinstance(item, dict):
                identity = {k: item.get(k) for k in keys}
            else:
                identity = item
            marker = json.dumps(identity, sort_keys=True)
            if marker in seen:
                issues.append(_Issue(f"{path}[{index}]", f"Duplicate value: {marker}"))
            seen.add(marker)
    for child_path, child, child_schema in _children(value, schema, path):
        issues += _check_list_types(child, child_schema, child_path)
    return issues


def _children(value: Any, schema: Mapping[str, Any],
              path: str) -> Iterator[tuple[str, Any, Mapping[str, Any]]]:
    """``(path, value, schema)`` of each child the schema describes."""
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                yield f"{path}[{index}]", item, items
    elif isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                yield _field(path, key), item, properties[key]
            elif isinstance(extra, Mapping):
                yield f"{path}[{key}]", item, extra


# --- CEL rules (x-kubernetes-validations).

def _check_rule(rule: Mapping[str, Any], value: Any, schema: Mapping[str, Any], path: str,
                memo: dict[int, Any]) -> list[_Issue]:
    """One x-kubernetes-validations rule at one node, worded as the API server words it."""
    text = rule.get("rule", "")
    try:
        program = cel_k8s.compile_expression(text)
        if program.uses_old_self:
            return []  # transition rules compare with the stored object: never run on create
        self_value = cel_k8s.to_cel(value, schema, memo)
        holds = program.holds(self_value)
    except cel_k8s.UnsupportedCELError as err:
        return [_Issue(path, f"unsupported CEL: rule {text!r} cannot be checked: {err}")]
    except cel_k8s.CELEvaluationError as err:
        holds, failure = False, err
    else:
        failure = None
    if holds:
        return []
    node_type = json.dumps(schema.get("type", ""))
    if failure is not None:
        described = (rule.get("message") or text).strip()
        if str(failure).startswith("no such overload"):
            detail = (f"'{failure}': call arguments did not match a supported operator, function "
                      f"or macro signature for rule: {described}")
        else:
            detail = f"{failure} evaluating rule: {described}"
        return [_Issue(path, f"Invalid value: {node_type}: {detail}")]
    message = _rule_message(rule, self_value)
    field_path = _join_field_path(path, rule.get("fieldPath", ""))
    reason = rule.get("reason", "FieldValueInvalid")
    if reason == "FieldValueRequired":
        return [_Issue(field_path, f"Required value: {message}")]
    if reason == "FieldValueForbidden":
        return [_Issue(field_path, f"Forbidden: {message}")]
    if reason == "FieldValueDuplicate":
        # The API server prints no detail here; the message is kept because it explains.
        return [_Issue(field_path, f"Duplicate value: {node_type}: {message}")]
    return [_Issue(field_path, f"Invalid value: {node_type}: {message}")]


def _rule_message(rule: Mapping[str, Any], self_value: Any) -> str:
    """messageExpression's value when it works, else message, else the API server's default."""
    fallback = (rule.get("message") or "").strip() or f"failed rule: {rule.get('rule', '').strip()}"
    expression = rule.get("messageExpression")
    if not expression:
        return fallback
    try:
        message = cel_k8s.compile_expression(expression).evaluate(self_value)
    except (cel_k8s.UnsupportedCELError, cel_k8s.CELEvaluationError):
        return fallback
    return str(message).strip() if isinstance(message, str) and message.strip() else fallback


def _join_field_path(path: str, field_path: str) -> str:
    """``path`` plus a rule's ``fieldPath`` such as ``.spec.ports`` or ``.labels['a.b']``."""
    steps = re.findall(r"\.([^.\[\]]+)|\[['\"]?([^\]'\"]+)['\"]?\]", field_path)
    for name, key in steps:
        path = _field(path, name) if name else f"{path}[{key}]"
    return path


# --- Metadata (ObjectMeta), for custom and built-in kinds alike.

# Built-in kinds whose names follow another rule than the usual DNS-1123 subdomain.
_NAME_RULES = {
    "Namespace": cel_k8s.dns1123_label_errors,
    "Service": cel_k8s.dns1035_label_errors,
}
_PATH_SEGMENT_NAMED = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
_CLUSTER_SCOPED_CORE_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
    "StorageClass", "CSIDriver", "CSINode", "PriorityClass", "RuntimeClass", "IngressClass",
    "CustomResourceDefinition", "APIService", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "CertificateSigningRequest", "VolumeAttachment",
    "FlowSchema", "PriorityLevelConfiguration", "IPAddress", "ServiceCIDR"})
_ANNOTATIONS_MAX_BYTES = 256 * 1024


def _check_metadata(metadata: Any, name_errors: Callable[[str], list[str]], *,
                    namespaced: bool | None, path: str = "metadata",
                    require_name: bool = True) -> list[_Issue]:
    """ObjectMeta as the API server checks it: shape, name, namespace, labels, annotations.

    ``name_errors`` is the kind's naming rule; ``namespaced`` None skips the scope check.
    """
    if not isinstance(metadata, dict):
        if metadata is None and not require_name:
            return []
        return [_Issue(f"{path}.name", "Required value: name or generateName is required")]
    issues = [_Issue(_field(path, issue.path), issue.message)
              for error in _metadata_validator().iter_errors(metadata)
              for issue in _core_issue(error)]
    name = metadata.get("name")
    if not name and not metadata.get("generateName") and require_name:
        issues.append(_Issue(f"{path}.name", "Required value: name or generateName is required"))
    elif isinstance(name, str) and name:
        issues += [_Issue(f"{path}.name", f"Invalid value: {json.dumps(name)}: {error}")
                   for error in name_errors(name)]
    namespace = metadata.get("namespace")
    if namespace and namespaced is False:
        issues.append(_Issue(f"{path}.namespace", "Forbidden: not allowed on this type"))
    elif isinstance(namespace, str) and namespace:
        issues += [_Issue(f"{path}.namespace", f"Invalid value: {json.dumps(namespace)}: {error}")
                   for error in cel_k8s.dns1123_label_errors(namespace)]
    labels = metadata.get("labels")
    for key, value in labels.items() if isinstance(labels, dict) else ():
        issues += [_Issue(f"{path}.labels", f"Invalid value: {json.dumps(key)}: {error}")
                   for error in cel_k8s.qualified_name_errors(key)]
        if isinstance(value, str):
            issues += [_Issue(f"{path}.labels", f"Invalid value: {json.dumps(value)}: {error}")
                       for error in cel_k8s.label_value_errors(value)]
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        for key in annotations:
            issues += [_Issue(f"{path}.annotations", f"Invalid value: {json.dumps(key)}: {error}")
                       for error in cel_k8s.qualified_name_errors(key.lower())]
        size = sum(len(k) + len(str(v)) for k, v in annotations.items())
        if size > _ANNOTATIONS_MAX_BYTES:
            issues.append(_Issue(f"{path}.annotations",
                                 f"Too long: must have at most {_ANNOTATIONS_MAX_BYTES} bytes"))
    return issues


def _core_name_errors(kind: str) -> Callable[[str], list[str]]:
    """The naming rule of a built-in kind (most use DNS-1123 subdomains)."""
    if kind in _PATH_SEGMENT_NAMED:
        return _path_segment_errors
    return _NAME_RULES.get(kind, cel_k8s.dns1123_subdomain_errors)


def _path_segment_errors(name: str) -> list[str]:
    errors = [f"may not contain '{c}'" for c in "/%" if c in name]
    return errors + [f"may not be '{name}'"] if name in {".", ".."} else errors


# --- Built-in kinds, with kubernetes-validate's bundled strict JSON schemas.

@functools.cache
def _core_schema_directory() -> str:
    return f"kubernetes-json-schema/v{kubernetes_validate.latest_version()}-local-strict"


@functools.cache
def _core_registry() -> referencing.Registry:
    definitions = kubernetes_validate.schema_contents(
        f"{_core_schema_directory()}/_definitions.json", kubernetes_validate.latest_version())
    return referencing.Resource.from_contents(definitions) @ referencing.Registry()


@functools.cache
def _core_validator(api_version: str, kind: str) -> jsonschema.Draft202012Validator | None:
    """The strict schema for a built-in kind, found the way kubernetes-validate finds it."""
    # rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1 (kubernetes_validate.utils.validate)
    file_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kubernetes_validate.schema_contents(
            f"{_core_schema_directory()}/{kind.lower()}-{file_version}.json",
            kubernetes_validate.latest_version())
    except (FileNotFoundError, kubernetes_validate.VersionNotSupportedError):
        return None
    # Schemas of parts (ServicePort, PodSpec, ...) live beside kinds; only kinds carry a GVK.
    if not any(gvk.get("kind") == kind for gvk in schema.get("x-kubernetes-group-version-kind", ())):
        return None
    return jsonschema.Draft202012Validator(schema, registry=_core_registry())


@functools.cache
def _metadata_validator() -> jsonschema.Draft202012Validator:
    meta = "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    return jsonschema.Draft202012Validator({"$ref": meta}, registry=_core_registry())


def _check_core(obj: dict[str, Any], validator: jsonschema.Draft202012Validator) -> list[_Issue]:
    errors = sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    issues = [issue for error in errors for issue in _core_issue(error)
              if not issue.path.startswith("metadata")]
    kind = str(obj.get("kind"))
    return issues + _check_metadata(obj.get("metadata"), _core_name_errors(kind), namespaced=None)


def _core_issue(error: jsonschema.ValidationError) -> list[_Issue]:
    """A jsonschema error in the API server's words, at its field path."""
    path = ""
    for part in error.absolute_path:
        path = f"{path}[{part}]" if isinstance(part, int) else _field(path, part)
    if error.validator == "additionalProperties":
        known = error.schema.get("properties") or {}
        return [_Issue(_field(path, key), f"unknown field {json.dumps(key)}")
                for key in error.instance if key not in known]
    if error.validator == "required":
        missing = re.match(r"'(.+)' is a required property", error.message)
        return [_Issue(_field(path, missing.group(1)) if missing else path, "Required value")]
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return [_type_issue(path, expected, error.instance)]
    if error.validator == "enum":
        supported = ", ".join(_show(option) for option in error.validator_value)
        return [_Issue(path, f"Unsupported value: {_show(error.instance)}: supported values: "
                             f"{supported}")]
    return [_Issue(path, error.message)]


# --- Formats and small helpers.

def _is_datetime(value: str) -> bool:
    # strfmt accepts RFC 3339 and a few relaxed forms (space separator, no zone).
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
                         r"([Zz]|[+-]\d{2}:?\d{2})?", value)
    if not match or not _is_date(match.group(1)):
        return False
    hour, minute, second = (int(match.group(i)) for i in (2, 3, 4))
    return hour < 24 and minute < 60 and second < 61


def _is_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))


def _is_duration(value: str) -> bool:
    # kube-openapi's strfmt: a Go duration, or number+unit pairs such as "3 days".
    try:
        cel_k8s.parse_go_duration(value)
        return True
    except ValueError:
        units = r"(ns|us|µs|ms|s|sec|m|min|h|hr|d|day|w|wk)s?"
        return bool(re.search(rf"\d+\s*{units}\b", value, re.IGNORECASE))


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except ValueError:
        return False
    return True


def _is_ip(value: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(value).version == version
    except ValueError:
        return False


def _is_cidr(value: str) -> bool:
    address, slash, prefix = value.partition("/")
    if not slash or not prefix.isdigit():
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return bool(address)


_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")

# The string formats the API server checks; others (int32, idn-hostname, ...) are ignored.
_FORMAT_CHECKS = {
    "date-time": _is_datetime,
    "datetime": _is_datetime,
    "date": _is_date,
    "duration": _is_duration,
    "byte": _is_base64,
    "ipv4": functools.partial(_is_ip, version=4),
    "ipv6": functools.partial(_is_ip, version=6),
    "cidr": _is_cidr,
    "uuid": lambda value: bool(_UUID.fullmatch(value)),
}


@functools.cache
def _regex(pattern: str) -> Any:
    # CRD patterns are Go (RE2) regular expressions.
    try:
        return re2.compile(pattern)
    except re2.error:
        return re.compile(pattern)


def _plain(value: Any) -> Any:
    """JSON-like copy, as the API server receives YAML: string keys, dates as text, 1.0 as 1."""
    if isinstance(value, Mapping):
        return {_key_text(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _key_text(key: Any) -> str:
    if isinstance(key, bool) or key is None:
        return json.dumps(key)
    return str(key)


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _field(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    """A value as the API server prints it: quoted strings, type names for containers."""
    if isinstance(value, (dict, list)):
        return json.dumps(_json_type(value))
    return json.dumps(value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _same(value: Any, option: Any) -> bool:
    # JSON equality: true is not 1.
    return isinstance(value, bool) == isinstance(option, bool) and value == option


def _type_issue(path: str, expected: str, value: Any) -> _Issue:
    actual = _json_type(value)
    subject = path or "body"
    return _Issue(path, f"Invalid value: {json.dumps(actual)}: {subject} in body must be of type "
                        f"{expected}: {json.dumps(actual)}", blocking=True)


def _invalid(path: str, value: Any, complaint: str) -> _Issue:
    return _Issue(path, f"Invalid value: {_show(value)}: {path or 'body'} in body {complaint}")
