"""ObjectMeta and the built-in kinds (Service, Namespace, ...), checked as the API server does.

Built-in kinds are checked against kubernetes-validate's bundled strict JSON schemas (the
Kubernetes OpenAPI, additionalProperties false); names follow each kind's rule
(k8s.io/kubernetes/pkg/apis/core/validation: Services are DNS-1035 labels, Namespaces DNS-1123
labels, RBAC objects path segments, the rest DNS-1123 subdomains).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

import jsonschema
import referencing
from kubernetes_validate import utils as kubernetes_validate

from meshgen.kube import names
from meshgen.kube.issues import Issue, field, show, type_issue

__all__ = ["CLUSTER_SCOPED_CORE_KINDS", "check_core", "check_core_clean", "check_metadata", "core_validator"]

# --- Metadata (ObjectMeta), for custom and built-in kinds alike.

# Built-in kinds whose names follow another rule than the usual DNS-1123 subdomain.
_NAME_RULES = {
    "Namespace": names.dns1123_label_errors,
    "Service": names.dns1035_label_errors,
}
_PATH_SEGMENT_NAMED = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
CLUSTER_SCOPED_CORE_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
    "StorageClass", "CSIDriver", "CSINode", "PriorityClass", "RuntimeClass", "IngressClass",
    "CustomResourceDefinition", "APIService", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "CertificateSigningRequest", "VolumeAttachment",
    "FlowSchema", "PriorityLevelConfiguration", "IPAddress", "ServiceCIDR"})
_ANNOTATIONS_MAX_BYTES = 256 * 1024


_STRING_FIELDS = frozenset({"name", "generateName", "namespace"})
_STRING_MAPS = frozenset({"labels", "annotations"})


def _plainly_shaped(metadata: dict[str, Any]) -> bool:
    """Whether ObjectMeta's schema must accept ``metadata``: only string name/generateName/
    namespace and string-to-string labels/annotations (what generated objects carry). Such
    metadata skips the schema walk, which costs more than all other metadata checks together."""
    for key, value in metadata.items():
        if key in _STRING_FIELDS:
            if not isinstance(value, str):
                return False
        elif key in _STRING_MAPS:
            if not isinstance(value, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
                return False
        else:
            return False
    return True


def check_metadata(metadata: Any, name_errors: Callable[[str], list[str]], *,
                    namespaced: bool | None, path: str = "metadata",
                    require_name: bool = True) -> list[Issue]:
    """ObjectMeta as the API server checks it: shape, name, namespace, labels, annotations.

    ``name_errors`` is the kind's naming rule; ``namespaced`` None skips the scope check.
    """
    if type(metadata) is dict and _metadata_clean(metadata, name_errors, namespaced, require_name):
        return []
    if not isinstance(metadata, dict):
        if metadata is None and not require_name:
            return []
        return [Issue(f"{path}.name", "Required value: name or generateName is required")]
    issues = [] if _plainly_shaped(metadata) else [
        Issue(field(path, issue.path), issue.message)
        for error in _metadata_validator().iter_errors(metadata)
        for issue in core_issue(error)]
    name = metadata.get("name")
    if not name and not metadata.get("generateName") and require_name:
        issues.append(Issue(f"{path}.name", "Required value: name or generateName is required"))
    elif isinstance(name, str) and name:
        issues += [Issue(f"{path}.name", f"Invalid value: {json.dumps(name)}: {error}")
                   for error in name_errors(name)]
    namespace = metadata.get("namespace")
    if namespace and namespaced is False:
        issues.append(Issue(f"{path}.namespace", "Forbidden: not allowed on this type"))
    elif isinstance(namespace, str) and namespace:
        issues += [Issue(f"{path}.namespace", f"Invalid value: {json.dumps(namespace)}: {error}")
                   for error in names.dns1123_label_errors(namespace)]
    labels = metadata.get("labels")
    for key, value in labels.items() if isinstance(labels, dict) else ():
        issues += [Issue(f"{path}.labels", f"Invalid value: {json.dumps(key)}: {error}")
                   for error in names.qualified_name_errors(key)]
        if isinstance(value, str):
            issues += [Issue(f"{path}.labels", f"Invalid value: {json.dumps(value)}: {error}")
                       for error in names.label_value_errors(value)]
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        for key in annotations:
            issues += [Issue(f"{path}.annotations", f"Invalid value: {json.dumps(key)}: {error}")
                       for error in names.qualified_name_errors(key.lower())]
        size = sum(len(k) + len(str(v)) for k, v in annotations.items())
        if size > _ANNOTATIONS_MAX_BYTES:
            issues.append(Issue(f"{path}.annotations",
                                 f"Too long: must have at most {_ANNOTATIONS_MAX_BYTES} bytes"))
    return issues


def _metadata_clean(metadata: dict[str, Any], name_errors: Callable[[str], list[str]],
                    namespaced: bool | None, require_name: bool) -> bool:
    """Whether :func:`check_metadata` finds nothing wrong with ``metadata``, answered without
    building its issue lists; False means "not known" (then the full check runs and words
    every problem).

    Only the shape generated objects have is answered: string name, generateName and namespace,
    and labels and annotations of strings (of exact types: a subset of what _plainly_shaped
    lets skip the schema). The values that pass each rule are remembered (:func:`_passes`): a
    mesh repeats its namespaces, label keys and values, and annotation keys thousands of times.
    """
    named = False
    for key, value in metadata.items():
        kind = type(value)
        if kind is str:
            if key == "name":
                if value:
                    named = True
                    valid = _VALID_NAMES.get(name_errors)
                    if valid is None or (value not in valid and not _passes(valid, name_errors, value)):
                        return False
            elif key == "generateName":
                named = named or bool(value)
            elif key == "namespace":
                if value and (namespaced is False or (value not in _VALID_NAMESPACES and not _passes(
                        _VALID_NAMESPACES, names.dns1123_label_errors, value))):
                    return False
            else:
                return False
        elif kind is dict and key == "labels":
            for label, text in value.items():
                if type(label) is not str or type(text) is not str:
                    return False
                if label not in _VALID_LABEL_KEYS and not _passes(_VALID_LABEL_KEYS, names.qualified_name_errors,
                                                                   label):
                    return False
                if text not in _VALID_LABEL_VALUES and not _passes(_VALID_LABEL_VALUES, names.label_value_errors,
                                                                   text):
                    return False
        elif kind is dict and key == "annotations":
            size = 0
            for annotation, text in value.items():
                if type(annotation) is not str or type(text) is not str:
                    return False
                if annotation not in _VALID_ANNOTATION_KEYS and not _passes(
                        _VALID_ANNOTATION_KEYS, _annotation_key_errors, annotation):
                    return False
                size += len(annotation) + len(text)
            if size > _ANNOTATIONS_MAX_BYTES:
                return False
        else:
            return False
    return named or not require_name


def _passes(valid: set[str], rule: Callable[[str], list[str]], value: str) -> bool:
    """Whether ``rule`` finds nothing wrong with ``value``; a pass is remembered in ``valid``
    (a failure never is), which is emptied when it reaches _VALID_MAX values."""
    if rule(value):
        return False
    if len(valid) >= _VALID_MAX:
        valid.clear()
    valid.add(value)
    return True


def _annotation_key_errors(key: str) -> list[str]:
    # check_metadata checks annotation keys in lower case.
    return names.qualified_name_errors(key.lower())


def _core_name_errors(kind: str) -> Callable[[str], list[str]]:
    """The naming rule of a built-in kind (most use DNS-1123 subdomains)."""
    if kind in _PATH_SEGMENT_NAMED:
        return _path_segment_errors
    return _NAME_RULES.get(kind, names.dns1123_subdomain_errors)


def _path_segment_errors(name: str) -> list[str]:
    errors = [f"may not contain '{c}'" for c in "/%" if c in name]
    return errors + [f"may not be '{name}'"] if name in {".", ".."} else errors


# Values known to pass each rule (see _metadata_clean). Name rules are listed: only pure ones
# may be remembered; any other rule takes the full check.
_VALID_MAX = 1 << 16
_VALID_NAMES: dict[Callable[[str], list[str]], set[str]] = {
    rule: set() for rule in (names.dns1123_subdomain_errors, names.dns1123_label_errors,
                             names.dns1035_label_errors, _path_segment_errors)}
_VALID_NAMESPACES: set[str] = set()
_VALID_LABEL_KEYS: set[str] = set()
_VALID_LABEL_VALUES: set[str] = set()
_VALID_ANNOTATION_KEYS: set[str] = set()


# --- Built-in kinds, with kubernetes-validate's bundled strict JSON schemas.

@functools.cache
def _core_schema_directory() -> str:
    return f"kubernetes-json-schema/v{kubernetes_validate.latest_version()}-local-strict"


@functools.cache
def _core_definitions() -> dict[str, Any]:
    return kubernetes_validate.schema_contents(
        f"{_core_schema_directory()}/_definitions.json", kubernetes_validate.latest_version())


@functools.cache
def _core_registry() -> referencing.Registry:
    return referencing.Resource.from_contents(_core_definitions()) @ referencing.Registry()


def _inline_refs(schema: Any, stack: tuple[str, ...] = ()) -> Any:
    """``schema`` with its ``$ref``s to the Kubernetes definitions replaced by their targets.

    Resolving a ``$ref`` on every visit was most of the time spent on a Service; inlined once per
    kind, validation only walks. A definition that refers to itself (JSONSchemaProps) keeps its
    ``$ref`` below the first level, resolved through the registry as before.
    """
    if isinstance(schema, list):
        return [_inline_refs(item, stack) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and "#/$defs/" in ref:
        name = ref.rpartition("/")[2]
        target = (_core_definitions().get("$defs") or {}).get(name)
        if target is not None and name not in stack:
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            return {**_inline_refs(target, (*stack, name)), **siblings}
    return {key: value if key in {"enum", "default", "const"} else _inline_refs(value, stack)
            for key, value in schema.items()}


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: dict[str, Any]) -> Any:
    """Draft 2020-12 ``additionalProperties``, descending into the extra properties in the
    object's order. jsonschema's own keyword (jsonschema/_keywords.py) collects them in a set, so
    the problems of two labels came in an order that changed with the Python hash seed; its
    messages for ``false`` (already sorted) stay its own."""
    if validator.is_type(instance, "object") and validator.is_type(extra, "object"):
        properties = schema.get("properties", {})
        patterns = "|".join(schema.get("patternProperties", {}))
        for key in instance:
            if key not in properties and not (patterns and re.search(patterns, key)):
                yield from validator.descend(instance[key], extra, path=key)
        return
    yield from _JSONSCHEMA_ADDITIONAL_PROPERTIES(validator, extra, instance, schema)


_JSONSCHEMA_ADDITIONAL_PROPERTIES = jsonschema.Draft202012Validator.VALIDATORS["additionalProperties"]
#: Draft 2020-12 with extra properties checked in the object's order (deterministic output).
_CoreValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"additionalProperties": _additional_properties})


@functools.cache
def core_validator(api_version: str, kind: str) -> jsonschema.Draft202012Validator | None:
    """The strict schema for a built-in kind, found the way kubernetes-validate finds it."""
    # rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1 (kubernetes_validate.utils.validate)
    file_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kubernetes_validate.schema_contents(
            f"{_core_schema_directory()}/{kind.lower()}-{file_version}.json",
            kubernetes_validate.latest_version())
    except (OSError, kubernetes_validate.VersionNotSupportedError):  # no such file, or a name no file can have
        return None
    # Schemas of parts (ServicePort, PodSpec, ...) live beside kinds; only kinds carry a GVK.
    if not any(gvk.get("kind") == kind for gvk in schema.get("x-kubernetes-group-version-kind", ())):
        return None
    return _CoreValidator(_inline_refs(schema), registry=_core_registry())


@functools.cache
def _metadata_validator() -> jsonschema.Draft202012Validator:
    meta = "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    return _CoreValidator({"$ref": meta}, registry=_core_registry())


def check_core(obj: dict[str, Any], validator: jsonschema.Draft202012Validator) -> list[Issue]:
    """A built-in kind's problems: its strict schema (unknown fields, types, required) and metadata."""
    errors = sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    issues = [issue for error in errors for issue in core_issue(error)
              if not issue.path.startswith("metadata")]
    kind = str(obj.get("kind"))
    return issues + check_metadata(obj.get("metadata"), _core_name_errors(kind), namespaced=None)


def check_core_clean(obj: dict[str, Any], validator: jsonschema.Draft202012Validator) -> list[Issue] | None:
    """:func:`check_core`'s answer for a plain object (string-keyed dicts, lists, str, int, bool,
    None) that its strict schema plainly accepts, without jsonschema; None when that is not
    certain (take the full path, which words every problem).

    The schema is walked for the keywords kubernetes-validate's strict schemas use (type,
    properties, additionalProperties, required, items, enum, oneOf; format and ``x-kubernetes-*``
    are annotations to jsonschema). Any other keyword, a ``$ref`` or a value of another type ends
    the shortcut. ``metadata`` is not walked: check_core drops the schema's metadata errors and
    checks it with :func:`check_metadata` (it must be plain too).
    """
    from meshgen.kube.structural import is_plain

    schema = validator.schema
    if type(schema) is not dict or not is_plain(obj):
        return None
    if _core_holds(obj, _without_metadata(validator)) is not True:
        return None
    return check_metadata(obj.get("metadata"), _core_name_errors(str(obj.get("kind"))), namespaced=None)


# id(validator) -> (validator, its schema with metadata's subtree accepting anything).
_WITHOUT_METADATA: dict[int, tuple[Any, Any]] = {}


def _without_metadata(validator: jsonschema.Draft202012Validator) -> Any:
    """The kind's schema with metadata's own subtree accepting anything (still a property)."""
    entry = _WITHOUT_METADATA.get(id(validator))
    if entry is None:
        schema = validator.schema
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if type(properties) is dict and "metadata" in properties:
            schema = {**schema, "properties": {**properties, "metadata": True}}
        entry = _WITHOUT_METADATA[id(validator)] = (validator, schema)
    return entry[1]


# Keywords that assert nothing in Draft 2020-12 without a format checker (kubernetes-validate's
# schemas carry these beside the asserting ones).
_CORE_ANNOTATIONS = frozenset({"description", "format", "$schema", "$id", "title", "default"})
# A type's name -> the exact Python type of the plain values that have it.
_CORE_TYPES: dict[str, type] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": int,  # plain values hold no floats
    "null": type(None),
}


class _CoreNode:
    """One schema node as :func:`_core_holds` walks it, worked out once per node: its asserting
    keywords in schema order (annotations dropped), a ``type`` as the set of exact Python types
    it accepts, and the verdicts on scalars met so far (pure in the node, type and value)."""

    __slots__ = ("schema", "steps", "verdicts")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema  # held so that its id is not reused
        steps = []
        for keyword, argument in schema.items():
            if keyword in _CORE_ANNOTATIONS or keyword.startswith("x-kubernetes-"):
                continue
            if keyword == "type":
                kinds = [argument] if isinstance(argument, str) else argument
                if isinstance(kinds, list) and all(isinstance(k, str) and k in _CORE_TYPES for k in kinds):
                    argument = frozenset(_CORE_TYPES[k] for k in kinds)
                else:
                    keyword = "type?"  # unknown or malformed: _core_step judges it, as before
            steps.append((keyword, argument))
        self.steps = tuple(steps)
        self.verdicts: dict[tuple[type, Any], bool | None] = {}


_CORE_NODES: dict[int, _CoreNode] = {}
_CORE_VERDICTS_MAX = 1 << 12  # scalar verdicts per node


def _core_holds(value: Any, schema: Any) -> bool | None:
    """Whether a plain ``value`` satisfies a Draft 2020-12 ``schema``: True, False, or None when
    this walk does not know (a keyword it does not interpret)."""
    if schema is True:
        return True
    if type(schema) is not dict:
        return None
    node = _CORE_NODES.get(id(schema))
    if node is None:
        node = _CORE_NODES[id(schema)] = _CoreNode(schema)
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        # A Service's port names, protocols and numbers repeat across a mesh.
        key = (kind, value)
        verdict = node.verdicts.get(key, _UNSEEN)
        if verdict is _UNSEEN:
            verdict = _core_steps(value, node)
            if len(node.verdicts) >= _CORE_VERDICTS_MAX:
                node.verdicts.clear()
            node.verdicts[key] = verdict
        return verdict
    return _core_steps(value, node)


_UNSEEN = object()


def _core_steps(value: Any, node: _CoreNode) -> bool | None:
    schema = node.schema
    for keyword, argument in node.steps:
        if keyword == "type":
            if type(value) not in argument:
                return False
        elif keyword == "properties":
            if type(argument) is not dict:
                return None
            if type(value) is dict:
                for key, item in value.items():
                    if key in argument:
                        holds = _core_holds(item, argument[key])
                        if holds is not True:
                            return holds
        elif keyword == "additionalProperties":
            if type(value) is not dict:
                continue
            known = schema.get("properties") or {}
            if type(known) is not dict or "patternProperties" in schema:
                return None
            for key, item in value.items():
                if key not in known:
                    holds = False if argument is False else _core_holds(item, argument)
                    if holds is not True:
                        return holds
        elif keyword == "required":
            if not isinstance(argument, list):
                return None
            if type(value) is dict and any(key not in value for key in argument):
                return False
        elif keyword == "items":
            if "prefixItems" in schema:
                return None
            if type(value) is list:
                for item in value:
                    holds = _core_holds(item, argument)
                    if holds is not True:
                        return holds
        elif keyword == "enum":
            if type(value) is not str or not isinstance(argument, list):
                return None  # JSON equality of other types is jsonschema's to judge
            if not any(type(option) is str and option == value for option in argument):
                return False
        elif keyword == "oneOf":
            if not isinstance(argument, list):
                return None
            answers = [_core_holds(value, branch) for branch in argument]
            if None in answers:
                return None
            if answers.count(True) != 1:
                return False
        elif keyword == "type?":
            kinds = [argument] if isinstance(argument, str) else argument
            if not isinstance(kinds, list) or any(k not in _CORE_TYPES for k in kinds):
                return None
            if not any(type(value) is _CORE_TYPES[k] for k in kinds):
                return False
        else:
            return None
    return True


def core_issue(error: jsonschema.ValidationError) -> list[Issue]:
    """A jsonschema error in the API server's words, at its field path."""
    path = ""
    for part in error.absolute_path:
        path = f"{path}[{part}]" if isinstance(part, int) else field(path, part)
    if error.validator == "additionalProperties":
        known = error.schema.get("properties") or {}
        return [Issue(field(path, key), f"unknown field {json.dumps(key)}")
                for key in error.instance if key not in known]
    if error.validator == "required":
        missing = re.match(r"'(.+)' is a required property", error.message)
        return [Issue(field(path, missing.group(1)) if missing else path, "Required value")]
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return [type_issue(path, expected, error.instance)]
    if error.validator == "enum":
        supported = ", ".join(show(option) for option in error.validator_value)
        return [Issue(path, f"Unsupported value: {show(error.instance)}: supported values: "
                             f"{supported}")]
    return [Issue(path, error.message)]
