"""``x-kubernetes-validations`` rules of a served version, applied as the API server applies them.

Rules run on the object after pruning and defaulting, at the schema node that declares them, with
``self`` converted by :func:`meshgen.kube.cel.to_cel`; transition rules (``oldSelf``) never run on
create. Semantics and wording:
https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation-rules

Each :class:`RuleSet` belongs to one served version and lives as long as its catalog: every rule
is compiled once, the nodes with no rule below them are found once, and a rule's verdict is
remembered for the part of ``self`` the rule reads (:attr:`CompiledExpression.self_fields`), so
the thousand VirtualServices of a large mesh do not re-evaluate the same rule on equal values.

A rule with a Python twin (:mod:`meshgen.kube.native_rules`) is asked of the twin first; only
the rules no twin proves to hold import and compile CEL (:mod:`meshgen.kube.cel`, cel-python and
its Lark parser: about 0.3 s of a validation that needs none of it).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from meshgen.kube import native_rules
from meshgen.kube.issues import Issue, field

if TYPE_CHECKING:
    from meshgen.kube import cel

# cel-python is imported by the first rule that needs it; a missing install is still reported when
# validation is imported (meshgen.kube's MissingValidationExtra), not halfway through a check.
if importlib.util.find_spec("celpy") is None:
    raise ModuleNotFoundError("No module named 'celpy'", name="celpy")

__all__ = ["RuleSet"]

# A verdict: (fieldPath relative to the node or None for the node itself, message) pairs.
_Verdict = tuple[tuple[str | None, str], ...]


class RuleSet:
    """The CEL rules of one structural schema, ready to check many objects."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._schema = schema
        self._rules_below: dict[int, bool] = {}
        self._verdicts: dict[tuple, _Verdict] = {}
        self._nodes: dict[int, _Node] = {}

    def check(self, value: Any) -> list[Issue]:
        """Every rule failure in ``value`` (pruned and defaulted; ``metadata`` reduced to name and
        generateName, as rules see it), in schema order."""
        if value is None or not self._has_rules(self._schema):
            return []
        return self._check(value, self._node(self._schema), "", {})

    def _check(self, value: Any, node: _Node, path: str, memo: dict[int, Any]) -> list[Issue]:
        # value is not None, and node has rules at or below it.
        issues = []
        if node.rules:
            held = _held_key(value) if node.twinned else None
            if held is None or held not in node.held:
                schema = node.schema
                for rule, twin in node.rules:
                    if twin is not None and twin(value, schema) is True:
                        # Proved to hold without cel-python: the verdict is () whatever the cache
                        # holds. Asking before compiling is the same verdict: every twin's rule text
                        # compiles and reads no oldSelf (tests/test_native_rules.py), so CEL would
                        # have evaluated it too.
                        continue
                    held = None
                    for field_path, message in self._verdict(rule, value, schema, memo):
                        issues.append(Issue(path if field_path is None else _join_field_path(path, field_path),
                                            message))
                if held is not None:
                    if len(node.held) >= _HELD_MAX:
                        node.held.clear()
                    node.held.add(held)
        if isinstance(value, dict):
            # Only into the properties (or map values) with rules below them.
            with_rules, extra, children = node.with_rules, node.extra, node.children
            if with_rules or extra is not None:
                for key, child in value.items():
                    if key in with_rules:
                        if child is not None:
                            issues += self._check(child, children.get(key) or self._child(node, key),
                                                  f"{path}.{key}" if path else key, memo)  # field(path, key)
                    elif extra is not None and key not in node.properties and child is not None:
                        issues += self._check(child, self._child(node, None), f"{path}[{key}]", memo)
        elif isinstance(value, list) and node.items is not None:
            items = node.children.get(_ITEMS) or self._child(node, _ITEMS)
            for index, item in enumerate(value):
                if item is not None:
                    issues += self._check(item, items, f"{path}[{index}]", memo)
        return issues

    def _node(self, schema: Mapping[str, Any]) -> _Node:
        node = self._nodes.get(id(schema))
        if node is None:
            node = self._nodes[id(schema)] = _Node(self, schema)
        return node

    def _child(self, node: _Node, key: Any) -> _Node:
        """The node of a property with rules below it (``key``), of additionalProperties (None)
        or of items (_ITEMS), found on first use and kept."""
        child = node.children.get(key)
        if child is None:
            schema = node.extra if key is None else node.items if key is _ITEMS else node.with_rules[key]
            child = node.children[key] = self._node(schema)
        return child

    def _has_rules(self, schema: Mapping[str, Any]) -> bool:
        # Most of a big schema has no rules; knowing that skips whole subtrees.
        key = id(schema)
        if key not in self._rules_below:
            properties = (schema.get("properties") or {}).values()
            nested = [schema.get("items"), schema.get("additionalProperties"), *properties]
            self._rules_below[key] = bool(schema.get("x-kubernetes-validations")) or any(
                self._has_rules(s) for s in nested if isinstance(s, Mapping)
            )
        return self._rules_below[key]

    def _verdict(self, rule: Mapping[str, Any], value: Any, schema: Mapping[str, Any],
                 memo: dict[int, Any]) -> _Verdict:
        """CEL's verdict of a rule that no Python twin has proved to hold (see _check)."""
        text = rule.get("rule", "")
        from meshgen.kube import cel

        try:
            program = cel.compile_expression(text)
        except cel.UnsupportedCELError as err:
            return ((None, f"unsupported CEL: rule {text!r} cannot be checked: {err}"),)
        if program.uses_old_self:
            return ()  # transition rules compare with the stored object: never run on create
        key = _verdict_key(rule, program, value, schema, memo)
        if key is not None and key in self._verdicts:
            return self._verdicts[key]
        verdict = _evaluate(rule, program, value, schema, memo)
        if key is not None:
            self._verdicts[key] = verdict
        return verdict


_ITEMS = object()  # the key of a node's items among its children


class _Node:
    """A schema node with rules at or below it, as :meth:`RuleSet._check` walks it.

    Worked out once per node: its rules with their Python twins, the properties with rules
    below them, and ``held``: the values (by :func:`_held_key`) for which every rule of the
    node was proved by its twin to hold. A twin reads only its value and node, so an equal value
    (same keys, values and types, in the same order) needs no twin again: the ten HTTPRoute
    path rules see the same ``{type: PathPrefix, value: /}`` on every route of a mesh.
    """

    __slots__ = ("schema", "rules", "twinned", "held", "with_rules", "properties", "extra", "items", "children")

    def __init__(self, ruleset: RuleSet, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.rules = tuple((rule, _twin(rule)) for rule in schema.get("x-kubernetes-validations", ()))
        # Values are remembered where every rule has a twin and the schema says the values are
        # scalars or objects of scalars (elsewhere _held_key would find no key, at a cost).
        self.twinned = all(twin is not None for _, twin in self.rules) and _scalar_shaped(schema)
        self.held: set[Any] = set()
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        items = schema.get("items")
        self.properties = properties
        self.with_rules = {name: child for name, child in properties.items()
                           if isinstance(child, Mapping) and ruleset._has_rules(child)}
        self.extra = extra if isinstance(extra, Mapping) and ruleset._has_rules(extra) else None
        self.items = items if isinstance(items, Mapping) and ruleset._has_rules(items) else None
        self.children: dict[Any, _Node] = {}


def _twin(rule: Any) -> Any:
    """The rule's Python twin (native_rules.RULES), None when it has none (or is malformed: then
    _verdict meets the problem as before)."""
    text = rule.get("rule", "") if isinstance(rule, Mapping) else None
    return native_rules.RULES.get(text) if type(text) is str else None


_SCALAR_TYPES = frozenset({"string", "integer", "boolean", "number"})


def _scalar_shaped(schema: Mapping[str, Any]) -> bool:
    """Whether the node's schema declares a scalar, or an object of scalar fields."""
    def scalar(node: Any) -> bool:
        return isinstance(node, Mapping) and (node.get("type") in _SCALAR_TYPES
                                              or bool(node.get("x-kubernetes-int-or-string")))

    if scalar(schema):
        return True
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    return schema.get("type") == "object" and isinstance(properties, Mapping) \
        and all(scalar(prop) for prop in properties.values()) and (extra in (None, False) or scalar(extra))


_HELD_SCALARS = frozenset({str, int, bool, type(None)})
_HELD_MAX = 1 << 12  # per node


def _held_key(value: Any) -> Any:
    """``value`` as a key of _Node.held: a scalar with its type (True == 1 in Python, not to a
    rule), or an object of scalars as its items with their types; None for anything else."""
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return kind, value
    if kind is dict:
        types = tuple(map(type, value.values()))
        if _HELD_SCALARS.issuperset(types):
            return tuple(value.items()), types
    return None


def _verdict_key(rule: Mapping[str, Any], program: cel.CompiledExpression, value: Any,
                 schema: Mapping[str, Any], memo: dict) -> tuple | None:
    """What the verdict depends on: the rule, the schema node, and the part of ``self`` it reads.

    ``memo`` is the one object's check memo: the rules of one node often read the same part
    (ten HTTPRoute path rules read ``type`` and ``value``), so each part is taken once per node.
    """
    if rule.get("messageExpression"):
        return None  # the message may read any part of self
    seen = []
    for use, path in program.self_uses:
        slot = ("part", id(value), use, path)  # to_cel's entries are keyed by int ids: no clash
        part = memo.get(slot)
        if part is None:
            part = memo[slot] = _part(value, use, path)
        seen.append((use, path, part))
    return (id(rule), id(schema), tuple(seen))


_ABSENT = object()


def _part(value: Any, use: str, path: tuple[str | int, ...]) -> Any:
    """What a rule can see of ``value`` along ``path``: where the path breaks, presence, size or
    the value itself (as canonical JSON)."""
    node = value
    for depth, step in enumerate(path):
        last = depth == len(path) - 1
        child = _step(node, step)
        if child is _ABSENT:  # no such key / index, or a step into a scalar or null: errors differ
            return ("missing", depth, type(node).__name__)
        if last and use == "has":
            return ("present", child is None)
        node = child
    # A list's CEL size is its length. Not so for strings of format byte (decoded length) or
    # objects (unaddressable properties are left out of self): those key on the value.
    if use == "size" and isinstance(node, list):
        return ("size", len(node))
    kind = type(node)
    if kind is str or kind is int or kind is bool or node is None:
        # As its JSON, cheaper: the type tells true from 1 (equal and of one hash in Python).
        return ("scalar", kind, node)
    return ("value", json.dumps(node, sort_keys=True))


def _step(node: Any, step: str | int) -> Any:
    if isinstance(step, int):
        return node[step] if isinstance(node, list) and 0 <= step < len(node) else _ABSENT
    if not isinstance(node, dict):
        return _ABSENT
    if step in node:
        return node[step]  # a map key, or a property whose name needs no escaping
    from meshgen.kube import cel

    for key, child in node.items():  # a property escaped in CEL (namespace -> __namespace__)
        if cel.escape_property_name(key) == step:
            return child
    return _ABSENT


def _evaluate(rule: Mapping[str, Any], program: cel.CompiledExpression, value: Any, schema: Mapping[str, Any],
              memo: dict[int, Any]) -> _Verdict:
    """One rule at one node, worded as the API server words it."""
    from meshgen.kube import cel

    text = rule.get("rule", "")
    # RuleSet._check asked the rule's twin first (a twin never proves a failure: those are
    # CEL's to word).
    try:
        self_value = cel.to_cel(value, schema, memo)
        holds = program.holds(self_value)
    except cel.UnsupportedCELError as err:
        return ((None, f"unsupported CEL: rule {text!r} cannot be checked: {err}"),)
    except cel.CELEvaluationError as err:
        holds, failure = False, err
    else:
        failure = None
    if holds:
        return ()
    node_type = json.dumps(schema.get("type", ""))
    if failure is not None:
        described = (rule.get("message") or text).strip()
        if str(failure).startswith("no such overload"):
            detail = (f"'{failure}': call arguments did not match a supported operator, function "
                      f"or macro signature for rule: {described}")
        else:
            detail = f"{failure} evaluating rule: {described}"
        return ((None, f"Invalid value: {node_type}: {detail}"),)
    message = _rule_message(rule, self_value)
    field_path = rule.get("fieldPath", "")
    reason = rule.get("reason", "FieldValueInvalid")
    if reason == "FieldValueRequired":
        return ((field_path, f"Required value: {message}"),)
    if reason == "FieldValueForbidden":
        return ((field_path, f"Forbidden: {message}"),)
    if reason == "FieldValueDuplicate":
        # The API server prints no detail here; the message is kept because it explains.
        return ((field_path, f"Duplicate value: {node_type}: {message}"),)
    return ((field_path, f"Invalid value: {node_type}: {message}"),)


def _rule_message(rule: Mapping[str, Any], self_value: Any) -> str:
    """messageExpression's value when it works, else message, else the API server's default."""
    fallback = (rule.get("message") or "").strip() or f"failed rule: {rule.get('rule', '').strip()}"
    expression = rule.get("messageExpression")
    if not expression:
        return fallback
    from meshgen.kube import cel

    try:
        message = cel.compile_expression(expression).evaluate(self_value)
    except (cel.UnsupportedCELError, cel.CELEvaluationError):
        return fallback
    return str(message).strip() if isinstance(message, str) and message.strip() else fallback


def _join_field_path(path: str, field_path: str) -> str:
    """``path`` plus a rule's ``fieldPath`` such as ``.spec.ports`` or ``.labels['a.b']``."""
    steps = re.findall(r"\.([^.\[\]]+)|\[['\"]?([^\]'\"]+)['\"]?\]", field_path)
    for name, key in steps:
        path = field(path, name) if name else f"{path}[{key}]"
    return path
