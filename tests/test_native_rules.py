"""The Python twins of the Gateway API parentRefs rules agree with cel-python on every small list.

meshgen/kube/native_rules.py may only ever say "holds" where CEL says the rule holds; it says
nothing (None) otherwise, and CEL decides. Checked here exhaustively on lists of up to two refs
over a small alphabet, on a seeded sample of longer lists, and on malformed refs.
"""

from __future__ import annotations

import itertools
import random

import pytest

from meshgen.kube import cel, native_rules
from meshgen.kube.catalog import CRDCatalog

ROUTES = [("gateway.networking.k8s.io/v1", "HTTPRoute"), ("gateway.networking.k8s.io/v1", "GRPCRoute"),
          ("gateway.networking.k8s.io/v1beta1", "HTTPRoute")]


def _parent_refs_schema(api_version, kind):
    served = CRDCatalog.bundled()._served[(api_version, kind)]
    return served.schema["properties"]["spec"]["properties"]["parentRefs"]


@pytest.mark.parametrize("api_version,kind", ROUTES)
def test_bundled_routes_carry_exactly_the_twinned_rules(api_version, kind):
    rules = [r["rule"] for r in _parent_refs_schema(api_version, kind)["x-kubernetes-validations"]]
    assert sorted(rules) == sorted(native_rules.RULES)


def _ref(name, namespace, section, group="gateway.networking.k8s.io", kind="Gateway"):
    ref = {"group": group, "kind": kind, "name": name}
    if namespace is not None:
        ref["namespace"] = namespace
    if section is not None:
        ref["sectionName"] = section
    return ref


ALPHABET = [_ref(n, ns, s) for n in ("a", "b") for ns in (None, "", "x") for s in (None, "", "s")]
ALPHABET += [_ref("a", None, None, group=""), _ref("a", None, None, kind="Service")]


def _cel_holds(rule, value, schema):
    try:
        return cel.compile_expression(rule).holds(cel.to_cel(value, schema))
    except cel.CELEvaluationError:
        return False


def _lists():
    yield []
    for size in (1, 2):
        yield from (list(refs) for refs in itertools.product(ALPHABET, repeat=size))
    rng = random.Random(17)
    for _ in range(200):
        yield [rng.choice(ALPHABET) for _ in range(rng.randint(3, 5))]


@pytest.mark.parametrize("rule", sorted(native_rules.RULES), ids=["specified", "unique"])
def test_twin_says_holds_exactly_when_cel_does(rule):
    schema = _parent_refs_schema("gateway.networking.k8s.io/v1", "HTTPRoute")
    seen = {True: 0, False: 0}
    for value in _lists():
        expected = _cel_holds(rule, value, schema)
        assert native_rules.holds(rule, value, schema) == expected, value
        seen[expected] += 1
    assert seen[True] > 100 and seen[False] > 100  # both verdicts were exercised


@pytest.mark.parametrize("value", [
    [{"group": "g", "kind": "Gateway", "name": "a", "namespace": None}],  # null: CEL's comparison rules
    [{"group": "g", "kind": "Gateway"}],  # no name: CEL reports no such key
    [{"group": "g", "kind": "Gateway", "name": 7}],
    ["not-an-object"],
    {"not": "a list"},
])
@pytest.mark.parametrize("rule", sorted(native_rules.RULES), ids=["specified", "unique"])
def test_malformed_refs_are_left_to_cel(rule, value):
    schema = _parent_refs_schema("gateway.networking.k8s.io/v1", "HTTPRoute")
    assert native_rules.holds(rule, value, schema) is False


def test_a_format_on_a_compared_field_is_left_to_cel():
    schema = _parent_refs_schema("gateway.networking.k8s.io/v1", "HTTPRoute")
    changed = {**schema, "items": {**schema["items"], "properties": {
        **schema["items"]["properties"], "name": {"type": "string", "format": "byte"}}}}
    value = [_ref("a", None, None)]
    assert native_rules.holds(native_rules.SECTION_NAME_UNIQUE, value, schema) is True
    assert native_rules.holds(native_rules.SECTION_NAME_UNIQUE, value, changed) is False


def test_unknown_rule_is_left_to_cel():
    schema = _parent_refs_schema("gateway.networking.k8s.io/v1", "HTTPRoute")
    assert native_rules.holds("self.size() > 0", [_ref("a", None, None)], schema) is False
