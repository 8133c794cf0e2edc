"""Structural-schema validation of custom resources, on jsonschema's validator machinery.

A CRD's ``openAPIV3Schema`` is a structural schema (OpenAPI v3.0 with Kubernetes extensions,
https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema).
:func:`compile_schema` turns one into a validator once per served version: jsonschema's Draft 4
validator (Draft 4 is the JSON Schema that OpenAPI v3.0 and Kubernetes build on: boolean
``exclusiveMinimum``, no ``$ref`` in CRDs) :func:`jsonschema.validators.extend`-ed with the
Kubernetes keywords (``nullable``, ``x-kubernetes-int-or-string``, ``x-kubernetes-list-type``,
``x-kubernetes-embedded-resource``, RE2 ``pattern``, kube-openapi's formats) and with messages in
the API server's words. :func:`prune_and_default` does what the API server does before validating:
drops unknown fields (reported, as ``kubectl --validate=strict`` does) and fills in defaults.
"""

from __future__ import annotations

import base64
import copy
import datetime
import functools
import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import re2
from jsonschema.exceptions import ValidationError

from meshgen.kube import names
from meshgen.kube.durations import parse_go_duration
from meshgen.kube.issues import Issue, field, number, show, type_issue

__all__ = ["OBJECT_ENVELOPE", "clean_body", "compile_schema", "is_plain", "is_plain_metadata", "prune_and_default",
           "schema_issues", "without_envelope"]

#: Every object may carry these, whatever its schema says; metadata is checked on its own.
OBJECT_ENVELOPE = ("apiVersion", "kind", "metadata")


class _MapKey(str):
    """A path step into a map (``additionalProperties``): printed as ``[key]``, not ``.key``."""


class _Dotted(str):
    """A path step that is already a dotted path (``metadata.labels``), printed as is."""


# A keyword's message names its field path; the path is only known once the error has bubbled
# up to the root, so messages carry this marker and :func:`schema_issues` fills it in.
_PATH = "\x00path\x00"


def _error(message: str, *, blocking: bool = False, path: tuple = ()) -> ValidationError:
    error = ValidationError(message, path=path)
    error.blocking = blocking
    return error


def _invalid(value: Any, complaint: str) -> ValidationError:
    return _error(f"Invalid value: {show(value)}: {_PATH} in body {complaint}")


_TYPE_CHECKS = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def _int_or_string(value: Any) -> bool:
    return isinstance(value, str) or _TYPE_CHECKS["integer"](value)


def _expected_type(schema: Mapping[str, Any]) -> str | None:
    if schema.get("x-kubernetes-int-or-string"):
        return "integer or string"
    declared = schema.get("type")
    return declared if declared in _TYPE_CHECKS else None


def _type_holds(instance: Any, schema: Mapping[str, Any]) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return _int_or_string(instance)
    check = _TYPE_CHECKS.get(schema.get("type"))
    return check is None or check(instance)


def _type_error(instance: Any, expected: str) -> ValidationError:
    issue = type_issue(_PATH, expected, instance)
    return _error(issue.message, blocking=True)


# --- Keywords. Each runs only on a value of its node's type: :func:`_descend` checks null and
# the type first, and a null (where allowed) or wrongly typed value gets only the type complaint,
# as in the API server.

def _same(value: Any, option: Any) -> bool:
    # JSON equality: true is not 1.
    return isinstance(value, bool) == isinstance(option, bool) and value == option


def _enum(validator, options, instance, schema):
    if not any(_same(instance, option) for option in options):
        supported = ", ".join(show(option) for option in options)
        yield _error(f"Unsupported value: {show(instance)}: supported values: {supported}", blocking=True)


def _max_length(validator, limit, instance, schema):
    if isinstance(instance, str) and len(instance) > limit:
        yield _error(f"Too long: may not be more than {limit} bytes")


def _min_length(validator, limit, instance, schema):
    if isinstance(instance, str) and len(instance) < limit:
        yield _invalid(instance, f"should be at least {limit} chars long")


@functools.cache
def _regex(pattern: str) -> Any:
    # CRD patterns are Go (RE2) regular expressions.
    try:
        return re2.compile(pattern)
    except re2.error:
        return re.compile(pattern)


def _pattern(validator, pattern, instance, schema):
    if isinstance(instance, str) and not _regex(pattern).search(instance):
        yield _invalid(instance, f"should match '{pattern}'")


def _format(validator, fmt, instance, schema):
    check = _FORMAT_CHECKS.get(fmt)
    if isinstance(instance, str) and check is not None and not check(instance):
        yield _invalid(instance, f"must be of type {fmt}: {json.dumps(instance)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _minimum(validator, low, instance, schema):
    exclusive = schema.get("exclusiveMinimum") is True
    if _is_number(instance) and (instance < low or (exclusive and instance == low)):
        relation = "greater than" if exclusive else "greater than or equal to"
        yield _invalid(instance, f"should be {relation} {number(low)}")


def _maximum(validator, high, instance, schema):
    exclusive = schema.get("exclusiveMaximum") is True
    if _is_number(instance) and (instance > high or (exclusive and instance == high)):
        relation = "less than" if exclusive else "less than or equal to"
        yield _invalid(instance, f"should be {relation} {number(high)}")


def _multiple_of(validator, step, instance, schema):
    if _is_number(instance) and step and abs(instance / step - round(instance / step)) > 1e-9:
        yield _invalid(instance, f"should be a multiple of {number(step)}")


def _max_items(validator, limit, instance, schema):
    if isinstance(instance, list) and len(instance) > limit:
        yield _error(f"Too many: {len(instance)}: must have at most {limit} items")


def _min_items(validator, limit, instance, schema):
    if isinstance(instance, list) and len(instance) < limit:
        yield _invalid(len(instance), f"should have at least {limit} items")


def _max_properties(validator, limit, instance, schema):
    if isinstance(instance, dict) and len(instance) > limit:
        yield _error(f"Too many: {len(instance)}: must have at most {limit} items")


def _min_properties(validator, limit, instance, schema):
    if isinstance(instance, dict) and len(instance) < limit:
        yield _invalid(len(instance), f"should have at least {limit} properties")


def _required(validator, required, instance, schema):
    if isinstance(instance, dict):
        for key in required:
            if key not in instance:
                yield _error("Required value", path=(key,))


def _items(validator, items, instance, schema):
    if isinstance(instance, list) and isinstance(items, Mapping):
        for index, item in enumerate(instance):
            yield from _descend(item, items, index)


def _properties(validator, properties, instance, schema):
    if isinstance(instance, dict):
        for key, item in instance.items():
            if key in properties:
                yield from _descend(item, properties[key], key)


def _additional_properties(validator, extra, instance, schema):
    # Only a schema validates map values; `false`/`true` decide pruning, done before validation.
    if isinstance(instance, dict) and isinstance(extra, Mapping):
        properties = schema.get("properties") or {}
        for key, item in instance.items():
            if key not in properties:
                yield from _descend(item, extra, _MapKey(key))


def _valid(validator, instance, branch) -> bool:
    return next(_descend(instance, branch), None) is None


def _all_of(validator, branches, instance, schema):
    for branch in branches:
        yield from _descend(instance, branch)


def _any_of(validator, branches, instance, schema):
    if not any(_valid(validator, instance, branch) for branch in branches):
        yield _error("must validate at least one schema (anyOf)")


def _one_of(validator, branches, instance, schema):
    valid = sum(1 for branch in branches if _valid(validator, instance, branch))
    if valid != 1:
        found = "none valid" if valid == 0 else f"{valid} valid alternatives"
        yield _error(f"must validate one and only one schema (oneOf). Found {found}")


def _not(validator, branch, instance, schema):
    if _valid(validator, instance, branch):
        yield _error("must not validate the schema (not)")


def _list_type(validator, list_type, instance, schema):
    """Duplicates in ``x-kubernetes-list-type: set`` and ``map`` lists."""
    if not isinstance(instance, list) or list_type not in {"set", "map"}:
        return
    keys = schema.get("x-kubernetes-list-map-keys") or ()
    seen = set()
    for index, item in enumerate(instance):
        identity = {k: item.get(k) for k in keys} if list_type == "map" and isinstance(item, dict) else item
        marker = json.dumps(identity, sort_keys=True)
        if marker in seen:
            yield _error(f"Duplicate value: {marker}", path=(index,))
        seen.add(marker)


def _embedded_resource(validator, flag, instance, schema):
    """An embedded object (``x-kubernetes-embedded-resource``) needs apiVersion, kind, valid metadata."""
    if not flag or not isinstance(instance, dict):
        return
    from meshgen.kube.core import check_metadata

    for key in ("apiVersion", "kind"):
        if not instance.get(key):
            yield _error("Required value", path=(key,))
    for issue in check_metadata(instance.get("metadata"), names.dns1123_subdomain_errors,
                                namespaced=None, path="metadata", require_name=False):
        yield _error(issue.message, path=(_Dotted(issue.path),))


def _ignored(validator, value, instance, schema):
    """A keyword that is handled elsewhere or has no meaning in a structural schema."""


_KUBERNETES_KEYWORDS = {
    # Checked by _descend before any keyword runs (see there).
    "type": _ignored,
    "x-kubernetes-int-or-string": _ignored,
    "enum": _enum,
    "maxLength": _max_length,
    "minLength": _min_length,
    "pattern": _pattern,
    "format": _format,
    "minimum": _minimum,
    "maximum": _maximum,
    "multipleOf": _multiple_of,
    "maxItems": _max_items,
    "minItems": _min_items,
    "maxProperties": _max_properties,
    "minProperties": _min_properties,
    "required": _required,
    "items": _items,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "allOf": _all_of,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "not": _not,
    "x-kubernetes-list-type": _list_type,
    "x-kubernetes-embedded-resource": _embedded_resource,
    # Draft 4 keywords a structural schema may not use, or that mean something else here
    # (exclusiveMinimum/Maximum are flags read by minimum/maximum).
    "$ref": _ignored,
    "additionalItems": _ignored,
    "dependencies": _ignored,
    "patternProperties": _ignored,
    "uniqueItems": _ignored,
    "exclusiveMinimum": _ignored,
    "exclusiveMaximum": _ignored,
}

#: Draft 4 with the Kubernetes keywords above.
StructuralValidator = jsonschema.validators.extend(jsonschema.Draft4Validator, validators=_KUBERNETES_KEYWORDS)


# id(schema node) -> (node, its validator). A validator lists its node's keywords once, at
# creation; jsonschema's own descend() creates one per visit, the main cost of validation at scale.
# Holding the node keeps its id from being reused.
_NODES: dict[int, tuple[Mapping[str, Any], Any]] = {}


def _node(schema: Mapping[str, Any]) -> Any:
    entry = _NODES.get(id(schema))
    if entry is None:
        entry = _NODES[id(schema)] = (schema, StructuralValidator(schema))
    return entry[1]


def _descend(instance: Any, schema: Mapping[str, Any], step: Any = None) -> Iterator[ValidationError]:
    """The errors of ``instance`` against one schema node, their paths prefixed by ``step``.

    The type comes first: a null value is fine where the node is ``nullable`` or untyped, else a
    type error; a wrongly typed value (``x-kubernetes-int-or-string`` allows both) gets only the
    type error. Only then do the node's keywords run.
    """
    if not isinstance(schema, dict):  # schemas are parsed JSON/YAML; dict is faster than Mapping here
        return
    declared = schema.get("type")
    if instance is None:
        errors = [] if schema.get("nullable") or not declared else [_type_error(instance, str(declared))]
    elif not _type_holds(instance, schema):
        errors = [_type_error(instance, _expected_type(schema) or str(declared))]
    else:
        errors = _node(schema).iter_errors(instance)
    for error in errors:
        if step is not None:
            error.path.appendleft(step)
        yield error


def compile_schema(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Prepare one served version's schema (without the object envelope); call once per version.

    Returns the schema to pass to :func:`schema_issues`; each node's validator is built on first
    use and then reused for every object.
    """
    _node(schema)
    return schema


def schema_issues(schema: Mapping[str, Any], value: Any) -> list[Issue]:
    """Every way ``value`` breaks a compiled schema's value validations (not unknown fields)."""
    issues = []
    for error in _descend(value, schema):
        path = _path_text(error.absolute_path)
        issues.append(Issue(path, error.message.replace(_PATH, path or "body"),
                            getattr(error, "blocking", False)))
    return issues


def _path_text(steps) -> str:
    path = ""
    for step in steps:
        if isinstance(step, int):
            path = f"{path}[{step}]"
        elif isinstance(step, _MapKey):
            path = f"{path}[{step}]"
        else:
            path = field(path, step)
    return path


def without_envelope(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` without apiVersion/kind/metadata, which every object may carry and which
    metadata checks cover."""
    properties = {k: v for k, v in (schema.get("properties") or {}).items() if k not in OBJECT_ENVELOPE}
    required = [r for r in schema.get("required", ()) if r not in OBJECT_ENVELOPE]
    return {**schema, "properties": properties, "required": required}


def prune_and_default(value: Any, schema: Mapping[str, Any], path: str, unknown: list[Issue]) -> Any:
    """A copy of ``value`` as the API server stores it: unknown fields dropped (each one
    reported in ``unknown``, as ``--validate=strict`` does) and schema defaults filled in."""
    if isinstance(value, list):
        items = schema.get("items")
        if not isinstance(items, Mapping) or schema.get("type", "array") != "array":
            return copy.deepcopy(value)
        return [prune_and_default(v, items, f"{path}[{i}]", unknown) for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    if schema.get("type") != "object" and not properties and not isinstance(extra, Mapping):
        # Untyped nodes keep everything (preserve-unknown-fields, int-or-string); a type
        # mismatch is reported by the schema check rather than as unknown fields.
        return copy.deepcopy(value)
    keeps_unknown = schema.get("x-kubernetes-preserve-unknown-fields") or extra is True
    embedded = schema.get("x-kubernetes-embedded-resource")
    result = {}
    for key, item in value.items():
        if key in properties:
            result[key] = prune_and_default(item, properties[key], field(path, key), unknown)
        elif isinstance(extra, Mapping):
            result[key] = prune_and_default(item, extra, f"{path}[{key}]", unknown)
        elif keeps_unknown or (embedded and key in OBJECT_ENVELOPE):
            result[key] = copy.deepcopy(item)
        else:
            unknown.append(Issue(field(path, key), f"unknown field {json.dumps(key)}"))
    for key, prop in properties.items():
        absent = key not in result or (result[key] is None and not prop.get("nullable"))
        if "default" in prop and absent:
            result[key] = prune_and_default(copy.deepcopy(prop["default"]), prop, "", [])
    return result


# --- The clean shortcut: prune, default and validate in one walk, for objects with nothing wrong.
#
# At scale almost every object is clean: no unknown field, every value valid. For those the
# three passes above (a JSON copy, prune_and_default's deep copy, the validator's walk through
# jsonschema's dispatch) all end in "nothing to report". clean_body walks the object once, runs
# the same keyword functions on the same (defaulted) values, and gives up, so that the caller
# takes the full path, at the first thing that is not plainly clean: an unknown field, any
# keyword error, a value that is not plain JSON (the full path converts it first), a node met
# twice (YAML aliases: CEL's conversion memo is keyed by node). tests/test_validate_fast.py
# compares both paths on broken objects.


class _Unclean(Exception):
    """The clean walk cannot vouch for this object: take the full path."""


_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})
# Keywords the walk applies itself (type first, as _descend does; the others as it descends).
_WALKED = frozenset({"type", "x-kubernetes-int-or-string", "properties", "additionalProperties", "items",
                     "required"})
# One value of each exact plain type: the type checks (_TYPE_CHECKS, _int_or_string) look at the
# type alone, so their answer on a sample is their answer on every value of that exact type.
_SAMPLES = {dict: {}, list: [], str: "", int: 0, bool: False}


class _Plan:
    """What the clean walk needs of one schema node, worked out once per node.

    Child plans (``props``, ``items_plan``) are found on first use and kept, so that the walk
    goes from plan to plan without looking schema nodes up by id; ``clean`` holds the scalars
    whose keywords (``checks``) all pass here (see :func:`_scalar_clean`).
    """

    __slots__ = ("schema", "declared", "nullable", "dict_ok", "list_ok", "scalar_types", "prunes_dict",
                 "prunes_list", "properties", "props", "null_defaulted", "extra", "keeps_unknown", "embedded",
                 "required", "defaults", "items", "items_plan", "checks", "clean")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema  # held so that its id is not reused
        declared = schema.get("type")
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        items = schema.get("items")
        required = schema.get("required") or ()
        if "$ref" in schema:  # Draft 4 ignores a $ref's siblings: left to the full path
            raise _Unclean
        if (declared is not None and not isinstance(declared, str)) or not isinstance(properties, dict) \
                or not isinstance(required, (list, tuple)):
            raise _Unclean
        self.declared = declared
        self.nullable = bool(schema.get("nullable"))
        # As _type_holds: None when any non-null value has the node's type.
        type_holds = _int_or_string if schema.get("x-kubernetes-int-or-string") else _TYPE_CHECKS.get(declared)
        accepted = {kind for kind, sample in _SAMPLES.items() if type_holds is None or type_holds(sample)}
        self.dict_ok, self.list_ok = dict in accepted, list in accepted
        self.scalar_types = frozenset(accepted - {dict, list})
        self.prunes_dict = declared == "object" or bool(properties) or isinstance(extra, Mapping)
        self.prunes_list = isinstance(items, Mapping) and schema.get("type", "array") == "array"
        self.properties = properties
        self.props: dict[str, _Plan] = {}
        # A null where the property has a default (and is not nullable) is replaced by the default.
        self.null_defaulted = frozenset(key for key, prop in properties.items() if isinstance(prop, Mapping)
                                        and "default" in prop and not prop.get("nullable"))
        self.extra = extra if isinstance(extra, Mapping) else None
        self.keeps_unknown = bool(schema.get("x-kubernetes-preserve-unknown-fields") or extra is True)
        self.embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        self.required = tuple(required)
        self.defaults = tuple((key, prop, bool(prop.get("nullable"))) for key, prop in properties.items()
                              if isinstance(prop, Mapping) and "default" in prop)
        self.items = items if isinstance(items, Mapping) else None
        self.items_plan: _Plan | None = None
        # The node's other keywords, in schema order, as predicates on its plain values.
        self.checks = tuple(check for check in (_keyword_check(_KUBERNETES_KEYWORDS[key], value, schema)
                                                for key, value in schema.items()
                                                if key in _KUBERNETES_KEYWORDS and key not in _WALKED)
                            if check is not None)
        self.clean: set[Any] = set()


_PLANS: dict[int, _Plan | None] = {}
_PLANNED: list[Any] = []  # the nodes of failed plans, so that their ids are not reused


def _plan(schema: Any) -> _Plan:
    if type(schema) is not dict:
        raise _Unclean
    plan = _PLANS.get(id(schema), False)
    if plan is False:
        try:
            plan = _Plan(schema)
        except _Unclean:
            plan = None
            _PLANNED.append(schema)
        _PLANS[id(schema)] = plan
    if plan is None:
        raise _Unclean
    return plan


def is_plain(value: Any, seen: set[int] | None = None) -> bool:
    """Whether ``value`` is already what the API server gets from YAML: string-keyed dicts, lists,
    str, int, bool and None only, no node twice (then its JSON copy would equal it)."""
    try:
        _plain_tree(value, set() if seen is None else seen)
    except _Unclean:
        return False
    return True


def is_plain_metadata(metadata: dict[str, Any]) -> bool:
    """:func:`is_plain` of an object's metadata, without its walk for the usual shape: string
    keys, scalar values and distinct maps of them (labels, annotations). Anything else is walked."""
    if not _STRINGS.issuperset(map(type, metadata)):
        return False
    maps: list[dict[Any, Any]] = []
    for value in metadata.values():
        kind = type(value)
        if kind is dict:
            if value is metadata or any(value is other for other in maps) \
                    or not _STRINGS.issuperset(map(type, value)) \
                    or not _PLAIN_SCALARS.issuperset(map(type, value.values())):
                return is_plain(metadata)
            maps.append(value)
        elif kind not in _PLAIN_SCALARS:
            return is_plain(metadata)
    return True


_STRINGS = frozenset({str})


def _plain_tree(value: Any, seen: set[int]) -> None:
    kind = type(value)
    if kind is dict:
        if id(value) in seen:
            raise _Unclean
        seen.add(id(value))
        for key, item in value.items():
            if type(key) is not str:
                raise _Unclean
            if type(item) not in _PLAIN_SCALARS:
                _plain_tree(item, seen)
    elif kind is list:
        if id(value) in seen:
            raise _Unclean
        seen.add(id(value))
        for item in value:
            if type(item) not in _PLAIN_SCALARS:
                _plain_tree(item, seen)
    elif kind not in _PLAIN_SCALARS:
        raise _Unclean


def clean_body(value: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """``value`` pruned and defaulted, when it is plainly clean against ``schema``; else None.

    Clean means: plain JSON (:func:`is_plain`), :func:`prune_and_default` would find no unknown
    field, and :func:`schema_issues` on its result would report nothing. Then the result equals
    ``prune_and_default(value, schema, "", [])``, sharing the nodes that defaulting leaves alone
    with ``value`` (callers must not change it). None means "cannot vouch": take the full path,
    which reports whatever is wrong. ``schema`` must be a node the full path prunes ``value``
    with (a root of ``type: object``), compiled with :func:`compile_schema`.
    """
    try:
        return _clean(value, _plan(schema), set())
    except _Unclean:
        return None


def _clean(value: Any, plan: _Plan, seen: set[int]) -> Any:
    """One node of :func:`clean_body`: the same checks, in effect, as _descend on the pruned value.

    Any failed check raises _Unclean, which ends the whole walk; so the order of the type checks
    below (dict and list first, as they are most of the calls) changes no answer.
    """
    kind = type(value)
    if kind is dict:
        if not plan.dict_ok or id(value) in seen:
            raise _Unclean  # _descend's type error, or a node met twice
        seen.add(id(value))
        result = _clean_dict(value, plan, seen) if plan.prunes_dict else _as_is(value, seen)
        for key in plan.required:
            if key not in result:
                raise _Unclean
    elif kind is list:
        if not plan.list_ok or id(value) in seen:
            raise _Unclean
        seen.add(id(value))
        if plan.prunes_list:
            result = _clean_list(value, plan, seen)
        elif plan.items is not None:
            raise _Unclean  # items under a non-array type: rare, left to the full path
        else:
            result = _as_is(value, seen)
    elif value is None:
        if plan.declared and not plan.nullable:
            raise _Unclean
        return None  # a null runs no keyword
    elif kind in plan.scalar_types:
        if plan.checks:
            _scalar_clean(plan, kind, value)
        return value
    else:
        raise _Unclean  # _descend's type error; or float, date, ...: the full path converts it first
    for check in plan.checks:
        if not check(result):
            raise _Unclean
    return result


def _keyword_check(keyword: Any, argument: Any, schema: dict[str, Any]) -> Any:
    """A predicate on a plain value (dict, list, str, int, bool): whether ``keyword`` finds
    nothing wrong with it, as ``next(keyword(None, argument, value, schema), None) is None``;
    None when it never finds anything.

    Lengths, sizes, patterns, ``x-kubernetes-list-type`` and combinations of ``required`` lists
    (what Gateway API, Linkerd and Istio CRDs use most) are answered without the keyword's
    generator, its JSON and jsonschema's errors; any other keyword runs as it is.
    """
    if keyword is _max_length:
        return lambda value: not (type(value) is str and len(value) > argument)
    if keyword is _min_length:
        return lambda value: not (type(value) is str and len(value) < argument)
    if keyword is _pattern:
        return lambda value: not (type(value) is str and not _regex(argument).search(value))
    if keyword is _max_items:
        return lambda value: not (type(value) is list and len(value) > argument)
    if keyword is _min_items:
        return lambda value: not (type(value) is list and len(value) < argument)
    if keyword is _max_properties:
        return lambda value: not (type(value) is dict and len(value) > argument)
    if keyword is _min_properties:
        return lambda value: not (type(value) is dict and len(value) < argument)

    def generic(value: Any) -> bool:
        return next(keyword(None, argument, value, schema), None) is None

    if keyword is _list_type and type(argument) is str:
        if argument not in ("set", "map"):
            return None  # atomic (or unknown): nothing to check
        keys = schema.get("x-kubernetes-list-map-keys") or ()
        if isinstance(keys, (list, tuple)) and all(type(key) is str for key in keys):
            return _unique_items(argument == "map", tuple(keys), generic)
    if keyword is _not:
        holds = _branch_holds(argument)
        if holds is not None:
            return lambda value: not holds(value)
    elif keyword in (_any_of, _all_of, _one_of) and isinstance(argument, list):
        branches = [_branch_holds(branch) for branch in argument]
        if all(branch is not None for branch in branches):
            return _combined(_BRANCH_KEYWORDS[keyword], tuple(branches))
    return generic


def _unique_items(is_map: bool, keys: tuple[str, ...], generic: Any) -> Any:
    """_list_type's duplicate check for a list of scalars, or of objects whose map keys hold
    scalars: items compared by type and value, which is comparing their JSON (as _list_type
    does) for str, int, bool and None. Anything else goes to ``generic``."""

    def check(value: Any) -> bool:
        if type(value) is not list:
            return True
        seen = set()
        for item in value:
            if is_map and type(item) is dict:
                identity: list[Any] = [dict]  # apart from any scalar's identity, as {..} from JSON text
                for key in keys:
                    part = item.get(key)
                    if type(part) not in _PLAIN_SCALARS:
                        return generic(value)
                    identity += (type(part), part)
                marker = tuple(identity)
            elif type(item) in _PLAIN_SCALARS:
                marker = (type(item), item)
            else:
                return generic(value)
            if marker in seen:
                return False
            seen.add(marker)
        return True

    return check


def _branch_holds(branch: Any) -> Any:
    """``_valid(None, value, branch)`` as a predicate on a plain value that is not null, for a
    branch made of one ``required``, ``not``, ``anyOf``, ``allOf`` or ``oneOf`` of such branches
    (how Istio and Linkerd CRDs say "exactly one of these fields"); None for any other branch.

    A branch has no type, so _descend runs its one keyword on any value: ``required`` passes
    anything but an object missing a key, the others combine their branches' verdicts.
    """
    if type(branch) is not dict or len(branch) != 1:
        return None
    [(keyword, argument)] = branch.items()
    if keyword == "required":
        if type(argument) is list and all(type(key) is str for key in argument):
            keys = tuple(argument)
            return lambda value: type(value) is not dict or all(key in value for key in keys)
    elif keyword == "not":
        holds = _branch_holds(argument)
        if holds is not None:
            return lambda value: not holds(value)
    elif keyword in ("anyOf", "allOf", "oneOf") and type(argument) is list:
        branches = [_branch_holds(inner) for inner in argument]
        if all(inner is not None for inner in branches):
            return _combined(keyword, tuple(branches))
    return None


def _combined(keyword: str, branches: tuple[Any, ...]) -> Any:
    if keyword == "anyOf":
        return lambda value: any(holds(value) for holds in branches)
    if keyword == "allOf":
        return lambda value: all(holds(value) for holds in branches)
    return lambda value: sum(1 for holds in branches if holds(value)) == 1  # oneOf


_BRANCH_KEYWORDS = {_any_of: "anyOf", _all_of: "allOf", _one_of: "oneOf"}


def _scalar_clean(plan: _Plan, kind: type, value: Any) -> None:
    """Raise _Unclean unless every keyword of the node (pattern, enum, format, maxLength, ...)
    passes on a scalar of the node's type.

    Those keywords depend on the node and the value alone; a mesh repeats names, ports and
    hosts, and RE2 through its Python binding is the dearest of them. So passes are remembered
    per node (a failure ends the walk and is never remembered), keyed by the value, or by
    ``(type, value)`` for int and bool (True == 1), at most _SCALARS_CLEAN_MAX in all.
    """
    global _scalars_clean_count
    key = value if kind is str else (kind, value)
    clean = plan.clean
    if key in clean:
        return
    for check in plan.checks:
        if not check(value):
            raise _Unclean
    if _scalars_clean_count >= _SCALARS_CLEAN_MAX:
        for other in _PLANS.values():
            if other is not None:
                other.clean.clear()
        _scalars_clean_count = 0
    clean.add(key)
    _scalars_clean_count += 1


_SCALARS_CLEAN_MAX = 1 << 18
_scalars_clean_count = 0


def _as_is(value: Any, seen: set[int]) -> Any:
    # prune_and_default deep-copies such a node; nothing in it is validated but by plan.checks.
    _plain_tree_below(value, seen)
    return value


def _plain_tree_below(value: Any, seen: set[int]) -> None:
    # value itself is already in seen
    for item in value.values() if type(value) is dict else value:
        if type(item) not in _PLAIN_SCALARS:
            _plain_tree(item, seen)
    if type(value) is dict and not all(type(key) is str for key in value):
        raise _Unclean


def _clean_list(value: list[Any], plan: _Plan, seen: set[int]) -> list[Any]:
    if not value:
        return value
    items = plan.items_plan
    if items is None:
        items = plan.items_plan = _plan(plan.items)
    result = value
    for index, item in enumerate(value):
        kind = type(item)
        if kind is str or kind is int or kind is bool:  # _clean's scalar case, without the call
            if kind not in items.scalar_types:
                raise _Unclean
            if items.checks and (item if kind is str else (kind, item)) not in items.clean:
                _scalar_clean(items, kind, item)
            continue
        child = _clean(item, items, seen)
        if child is not item:
            if result is value:
                result = list(value)
            result[index] = child
    return result


def _clean_dict(value: dict[str, Any], plan: _Plan, seen: set[int]) -> dict[str, Any]:
    properties, props, null_defaulted = plan.properties, plan.props, plan.null_defaulted
    result = value
    for key, item in value.items():
        if type(key) is not str:
            raise _Unclean
        if item is None and key in null_defaulted:
            continue  # replaced by the default below, never validated as null
        child_plan = props.get(key)
        if child_plan is None:
            if key in properties:
                child_plan = props[key] = _plan(properties[key])
            elif plan.extra is not None:
                child_plan = _plan(plan.extra)  # map keys vary: not kept in props
            elif plan.keeps_unknown or (plan.embedded and key in OBJECT_ENVELOPE):
                if type(item) not in _PLAIN_SCALARS:
                    _plain_tree(item, seen)
                continue
            else:
                raise _Unclean  # an unknown field: the full path reports it
        kind = type(item)
        if kind is str or kind is int or kind is bool:  # _clean's scalar case, without the call
            if kind not in child_plan.scalar_types:
                raise _Unclean
            if child_plan.checks and (item if kind is str else (kind, item)) not in child_plan.clean:
                _scalar_clean(child_plan, kind, item)
            continue
        child = _clean(item, child_plan, seen)
        if child is not item:
            if result is value:
                result = dict(value)
            result[key] = child
    for key, prop, nullable in plan.defaults:
        if key not in result or (result[key] is None and not nullable):
            if result is value:
                result = dict(value)
            result[key] = _filled_default(prop)
    return result


def _filled_default(prop: Mapping[str, Any]) -> Any:
    """``prune_and_default(copy.deepcopy(prop["default"]), prop, "", [])``, or _Unclean when
    the schema check finds anything wrong with it.

    The default, its pruning and its check depend on the node alone, and a mesh fills the same
    defaults thousands of times (HTTPRoute's backendRef group, kind and weight, its matches):
    each node's is worked out once and then shared by every object it fills. Nothing changes
    the clean walk's result (clean_body's callers must not), and a shared default always sits
    under its own node: the rules' id-keyed memos (CEL's conversion, the parts a rule reads)
    see the same node with the same schema, as with a copy.
    """
    entry = _DEFAULTS.get(id(prop))
    if entry is None:
        filled = prune_and_default(copy.deepcopy(prop["default"]), prop, "", [])
        entry = _DEFAULTS[id(prop)] = (prop, next(_descend(filled, prop), None) is None, filled)
    if not entry[1]:
        raise _Unclean
    return entry[2]


# id(property node) -> (the node, held so that its id is not reused; its default is valid; the
# filled default).
_DEFAULTS: dict[int, tuple[Mapping[str, Any], bool, Any]] = {}


# --- kube-openapi's string formats (k8s.io/kube-openapi/pkg/validation/strfmt).

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
        parse_go_duration(value)
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
