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

PARENT_REFS_RULES = [native_rules.SECTION_NAME_SPECIFIED, native_rules.SECTION_NAME_UNIQUE]
ROUTES = [("gateway.networking.k8s.io/v1", "HTTPRoute"), ("gateway.networking.k8s.io/v1", "GRPCRoute"),
          ("gateway.networking.k8s.io/v1beta1", "HTTPRoute")]


def _parent_refs_schema(api_version, kind):
    served = CRDCatalog.bundled()._served[(api_version, kind)]
    return served.schema["properties"]["spec"]["properties"]["parentRefs"]


@pytest.mark.parametrize("api_version,kind", ROUTES)
def test_bundled_routes_carry_exactly_the_twinned_rules(api_version, kind):
    rules = [r["rule"] for r in _parent_refs_schema(api_version, kind)["x-kubernetes-validations"]]
    assert sorted(rules) == sorted(PARENT_REFS_RULES)


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


@pytest.mark.parametrize("rule", PARENT_REFS_RULES, ids=["specified", "unique"])
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
@pytest.mark.parametrize("rule", PARENT_REFS_RULES, ids=["specified", "unique"])
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


def _rules_schema():
    served = CRDCatalog.bundled()._served[("gateway.networking.k8s.io/v1", "HTTPRoute")]
    return served.schema["properties"]["spec"]["properties"]["rules"]["items"]


def test_bundled_httproute_rules_carry_the_twinned_filter_rules():
    rules = {r["rule"] for r in _rules_schema()["x-kubernetes-validations"]}
    assert {native_rules.REDIRECT_PREFIX_MATCH, native_rules.REWRITE_PREFIX_MATCH} <= rules


def _redirect(kind, path_type):
    return {"type": "RequestRedirect" if kind == "requestRedirect" else "URLRewrite",
            kind: {"path": {"type": path_type, "replacePrefixMatch" if path_type == "ReplacePrefixMatch"
                            else "replaceFullPath": "/x"}}}


BACKEND_REFS = [None, [], [{"name": "a", "port": 80}], [{"name": "a", "port": 80}, {"name": "b", "port": 80}],
                [{"name": "a", "port": 80, "filters": []}],
                *([{"name": "a", "port": 80, "filters": [_redirect(k, t)]}]
                  for k in ("requestRedirect", "urlRewrite") for t in ("ReplacePrefixMatch", "ReplaceFullPath")),
                [{"name": "a", "port": 80, "filters": [_redirect("urlRewrite", "ReplacePrefixMatch")]},
                 {"name": "b", "port": 80, "filters": [_redirect("urlRewrite", "ReplacePrefixMatch")]}]]
MATCHES = [None, [], [{"path": {"type": "PathPrefix", "value": "/"}}], [{"path": {"type": "Exact", "value": "/"}}],
           [{"headers": [{"name": "x", "value": "1"}]}],
           [{"path": {"type": "PathPrefix", "value": "/"}}, {"path": {"type": "PathPrefix", "value": "/b"}}]]


@pytest.mark.parametrize("rule", [native_rules.REDIRECT_PREFIX_MATCH, native_rules.REWRITE_PREFIX_MATCH],
                         ids=["redirect", "rewrite"])
def test_filter_twin_says_holds_only_where_cel_does(rule):
    schema = _rules_schema()
    claimed = 0
    verdicts = set()
    for refs, matches in itertools.product(BACKEND_REFS, MATCHES):
        value = {k: v for k, v in (("backendRefs", refs), ("matches", matches)) if v is not None}
        expected = _cel_holds(rule, value, schema)
        verdicts.add(expected)
        if native_rules.holds(rule, value, schema):
            assert expected, value
            claimed += 1
        elif not any("filters" in ref for ref in refs or ()):
            pytest.fail(f"no filters, yet left to CEL: {value}")
    assert claimed == 4 * len(MATCHES) and verdicts == {True, False}


def _match_labels_schema():
    served = CRDCatalog.bundled()._served[("security.istio.io/v1", "AuthorizationPolicy")]
    return served.schema["properties"]["spec"]["properties"]["selector"]["properties"]["matchLabels"]


def test_bundled_istio_selectors_carry_the_twinned_label_rules():
    schema = _match_labels_schema()
    assert {r["rule"] for r in schema["x-kubernetes-validations"]} == {
        native_rules.LABEL_KEYS_NO_WILDCARD, native_rules.LABEL_KEYS_NOT_EMPTY}
    assert [r["rule"] for r in schema["additionalProperties"]["x-kubernetes-validations"]] == [
        native_rules.LABEL_VALUE_NO_WILDCARD]


LABEL_STRINGS = ["", "a", "*", "a*b", "app", "x.io/y", "é*"]


@pytest.mark.parametrize("rule", [native_rules.LABEL_KEYS_NO_WILDCARD, native_rules.LABEL_KEYS_NOT_EMPTY])
def test_label_key_twins_agree_with_cel(rule):
    schema = _match_labels_schema()
    values = [{}] + [{k: "v"} for k in LABEL_STRINGS] + [dict.fromkeys(pair, "v")
                                                         for pair in itertools.combinations(LABEL_STRINGS, 2)]
    verdicts = set()
    for value in values:
        expected = _cel_holds(rule, value, schema)
        verdicts.add(expected)
        assert native_rules.holds(rule, value, schema) == expected, value
    assert verdicts == {True, False}


def test_label_value_twin_agrees_with_cel():
    schema = _match_labels_schema()["additionalProperties"]
    rule = native_rules.LABEL_VALUE_NO_WILDCARD
    assert [native_rules.holds(rule, v, schema) for v in LABEL_STRINGS] == [
        _cel_holds(rule, v, schema) for v in LABEL_STRINGS] == [True, True, False, False, True, True, False]
    assert native_rules.holds(rule, 7, schema) is False  # not a string: CEL's to judge


def test_every_twinned_rule_compiles_and_reads_no_old_self():
    # RuleSet asks a twin before compiling: the same verdict only because CEL would evaluate the
    # rule too (it compiles, and a transition rule, which never runs on create, has no twin).
    for text in native_rules.RULES:
        assert not cel.compile_expression(text).uses_old_self, text


def test_validation_that_needs_no_cel_does_not_import_cel_python():
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from meshgen.kube import CRDCatalog, validate_objects\n"
        "from meshgen.kube.rules import RuleSet\n"
        "catalog = CRDCatalog.bundled()\n"
        "policy = catalog._served[('security.istio.io/v1', 'AuthorizationPolicy')].schema\n"
        "selector = RuleSet(policy['properties']['spec']['properties']['selector'])\n"
        "assert selector.check({'matchLabels': {'app': 'a', 'tier': 'b'}}) == []  # three twinned rules\n"
        "service = {'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': 's', 'namespace': 'n'},\n"
        "           'spec': {'ports': [{'port': 80}]}}\n"
        "assert validate_objects([service], catalog) == []\n"
        "print(sorted(m for m in ('celpy', 'lark', 'meshgen.kube.cel') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
