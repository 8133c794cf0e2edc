"""Python twins of the Gateway API's parentRefs rules, to confirm that they hold without cel-python.

Every HTTPRoute and GRPCRoute carries two ``x-kubernetes-validations`` rules on
``spec.parentRefs`` (Gateway API CRDs, ``httproutes``/``grpcroutes.gateway.networking.k8s.io``,
standard channel; bundled in ``meshgen/kube/crds``): "sectionName must be specified when
parentRefs includes 2 or more references to the same parent" and "sectionName must be unique
when parentRefs includes 2 or more references to the same parent". Their values differ per route
(the parent is the route's own Service), so the verdict cache never hits, and cel-python's
nested comprehensions were 2.3 s of ``meshgen validate`` on a 1,000-service Linkerd mesh. Each
HTTPRoute rule (``spec.rules[]``) also carries two rules on backendRef filters with
``ReplacePrefixMatch`` ("exactly one PathPrefix match must be specified"), true whenever no
backendRef has filters; they read the rule's backendRefs, unique per route too. Istio's selectors
forbid empty keys and ``*`` in label keys and values: three tiny rules, each a cel-python run
per policy since every service's labels differ.

:func:`holds` answers only ``True`` (the rule holds: no CEL needed) or ``None`` (evaluate it with
CEL as before). It never answers ``False``: a failing or unusual value (a missing or non-string
field, a ``null``) goes to cel-python, which words the failure exactly as before. So a rule is
never skipped: it is either proved to hold here or evaluated by CEL. ``tests/test_native_rules.py``
compares both on every small parentRefs list over a set of names, namespaces and section names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["RULES", "holds"]

#: The rule texts, verbatim from the upstream CRDs (also the same text in v1beta1 HTTPRoute).
SECTION_NAME_SPECIFIED = (
    "self.all(p1, self.all(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && "
    "(((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) "
    "|| (has(p1.__namespace__) && has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__ )) ? "
    "((!has(p1.sectionName) || p1.sectionName == '') == (!has(p2.sectionName) || p2.sectionName == '')) : true))"
)
SECTION_NAME_UNIQUE = (
    "self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && "
    "(((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) "
    "|| (has(p1.__namespace__) && has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__ )) && "
    "(((!has(p1.sectionName) || p1.sectionName == '') && (!has(p2.sectionName) || p2.sectionName == '')) "
    "|| (has(p1.sectionName) && has(p2.sectionName) && p1.sectionName == p2.sectionName))))"
)

#: On each HTTPRoute rule (``spec.rules[]``): a redirect or rewrite with ``ReplacePrefixMatch`` in
#: a backendRef's filters needs exactly one PathPrefix match.
REDIRECT_PREFIX_MATCH = (
    "(has(self.backendRefs) && self.backendRefs.exists_one(b, (has(b.filters) && b.filters.exists_one(f, "
    "has(f.requestRedirect) && has(f.requestRedirect.path) && f.requestRedirect.path.type == 'ReplacePrefixMatch' "
    "&& has(f.requestRedirect.path.replacePrefixMatch))) )) ? ((size(self.matches) != 1 || "
    "!has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : true"
)
REWRITE_PREFIX_MATCH = REDIRECT_PREFIX_MATCH.replace("requestRedirect", "urlRewrite")

_Ref = tuple[tuple[str, str, str, str], str]  # (group, kind, name, namespace or ''), sectionName or ''


def _refs(value: Any) -> list[_Ref] | None:
    """Each parentRef as (parent, section), absent namespace/sectionName as ''; None when any
    entry is not a plain object of strings (CEL's errors and null comparisons are left to CEL)."""
    if not isinstance(value, list):
        return None
    out = []
    for ref in value:
        if not isinstance(ref, dict):
            return None
        group, kind, name = ref.get("group"), ref.get("kind"), ref.get("name")
        namespace, section = ref.get("namespace", ""), ref.get("sectionName", "")
        if not all(isinstance(v, str) for v in (group, kind, name, namespace, section)):
            return None
        out.append(((group, kind, name, namespace), section))
    return out


def _specified(value: Any, schema: Mapping[str, Any]) -> bool | None:
    # Any two refs to one parent: both with an empty sectionName or both with a non-empty one.
    refs = _refs(value) if _plain_ref_fields(schema) else None
    if refs is None:
        return None
    empty_by_parent: dict[tuple[str, str, str, str], bool] = {}
    for parent, section in refs:
        if empty_by_parent.setdefault(parent, section == "") != (section == ""):
            return None
    return True


def _unique(value: Any, schema: Mapping[str, Any]) -> bool | None:
    # Each ref matches exactly one (itself): no two refs share parent and sectionName.
    refs = _refs(value) if _plain_ref_fields(schema) else None
    if refs is None:
        return None
    return True if len(set(refs)) == len(refs) else None


def _no_backend_filters(value: Any, schema: Mapping[str, Any]) -> bool | None:
    # "(has(self.backendRefs) && self.backendRefs.exists_one(b, has(b.filters) && ...)) ? ... : true":
    # with no backendRef carrying filters, exists_one counts no match and the rule is true.
    if not isinstance(value, dict):
        return None
    refs = value.get("backendRefs", [])
    if isinstance(refs, list) and all(isinstance(ref, dict) and "filters" not in ref for ref in refs):
        return True
    return None


#: Istio's label selectors (``matchLabels``/``labels`` of selector and workloadSelector, on the map
#: and on each value): no empty key, no ``*`` in keys or values. The values are per service.
LABEL_KEYS_NO_WILDCARD = 'self.all(key, !key.contains("*"))'
LABEL_KEYS_NOT_EMPTY = "self.all(key, key.size() != 0)"
LABEL_VALUE_NO_WILDCARD = '!self.contains("*")'


def _label_keys(value: Any, schema: Mapping[str, Any], ok: Callable[[str], bool]) -> bool | None:
    # A CEL map iterates its keys; the twin speaks only for a plain map of string keys.
    if isinstance(value, dict) and schema.get("type") == "object" and all(isinstance(k, str) and ok(k) for k in value):
        return True
    return None


def _label_value(value: Any, schema: Mapping[str, Any]) -> bool | None:
    if isinstance(value, str) and schema.get("type") == "string" and "format" not in schema and "*" not in value:
        return True
    return None


#: Rule text -> twin. Twins answer True (holds) or None (ask CEL), never False.
RULES: dict[str, Callable[[Any, Mapping[str, Any]], bool | None]] = {
    SECTION_NAME_SPECIFIED: _specified,
    SECTION_NAME_UNIQUE: _unique,
    REDIRECT_PREFIX_MATCH: _no_backend_filters,
    REWRITE_PREFIX_MATCH: _no_backend_filters,
    LABEL_KEYS_NO_WILDCARD: lambda value, schema: _label_keys(value, schema, lambda k: "*" not in k),
    LABEL_KEYS_NOT_EMPTY: lambda value, schema: _label_keys(value, schema, lambda k: k != ""),
    LABEL_VALUE_NO_WILDCARD: _label_value,
}

_FIELDS = ("group", "kind", "name", "namespace", "sectionName")


def _plain_ref_fields(schema: Mapping[str, Any]) -> bool:
    # The twins compare plain strings; a CRD giving these fields a format (CEL would see a
    # duration or bytes) or leaving them out of the schema is left to CEL.
    items = schema.get("items") if isinstance(schema.get("items"), Mapping) else {}
    properties = items.get("properties") or {}
    return all(isinstance(properties.get(f), Mapping) and "format" not in properties[f] for f in _FIELDS)


def holds(rule: str, value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether ``rule`` is known to hold for ``value`` (the JSON-like node the rule sees as
    ``self``, pruned and defaulted; ``schema`` its schema node) without evaluating CEL. False
    means "evaluate it with CEL", not that the rule fails."""
    twin = RULES.get(rule)
    return twin is not None and twin(value, schema) is True
