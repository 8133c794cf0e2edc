"""The memos and fast answers of meshgen.kube validation never vouch for what the full path rejects.

Validation remembers what passed: scalars per schema node (structural._Plan.clean), filled
defaults (structural._filled_default), name, namespace, label and annotation values
(core._metadata_clean), built-in kinds' scalar verdicts (core._CoreNode), values whose rules
all held by their Python twins (rules._Node.held). Each is keyed so that an equal-looking value
(True and 1, "1" and 1, one character more) is judged afresh, and each is bounded. The expected
answers are literals or the unremembered path (a fresh memo, the generator keyword, the full
check), never the memo under test. tests/test_validate_fast.py compares whole objects.
"""

from __future__ import annotations

import copy
import itertools
import random
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest

from meshgen.kube import CRDCatalog, core, names, rules, structural, validate_objects
from meshgen.kube.core import check_core_clean, check_metadata, core_validator
from meshgen.kube.rules import RuleSet
from meshgen.kube.structural import is_plain_metadata as _plain_metadata


@pytest.fixture(scope="module")
def catalog() -> CRDCatalog:
    return CRDCatalog.bundled()


def _schema(properties: dict[str, Any]) -> dict[str, Any]:
    return structural.compile_schema({"type": "object", "properties": properties})


# --- structural: scalars remembered per node, defaults filled once.

def test_a_remembered_scalar_does_not_vouch_for_an_equal_looking_one():
    schema = _schema({"p": {"enum": [1, "a"]},
                      "s": {"type": "string", "maxLength": 3, "pattern": "^[a-z]+$"},
                      "n": {"x-kubernetes-int-or-string": True, "enum": [80, "80"]}})
    assert structural.clean_body({"p": 1}, schema) == {"p": 1}
    assert structural.clean_body({"p": True}, schema) is None  # True == 1 in Python, not in JSON
    assert structural.clean_body({"s": "abc"}, schema) == {"s": "abc"}
    assert structural.clean_body({"s": "abcd"}, schema) is None
    assert structural.clean_body({"s": "ab1"}, schema) is None
    assert structural.clean_body({"n": 80}, schema) == {"n": 80}
    assert structural.clean_body({"n": "80"}, schema) == {"n": "80"}
    assert structural.clean_body({"n": 81}, schema) is None
    assert structural.clean_body({"n": "81"}, schema) is None
    # The full path reports what the walk declined.
    assert [i.path for i in structural.schema_issues(schema, {"p": True, "s": "abcd", "n": "81"})] == ["p", "s", "n"]


def test_remembered_scalars_are_bounded(monkeypatch):
    monkeypatch.setattr(structural, "_SCALARS_CLEAN_MAX", 8)
    monkeypatch.setattr(structural, "_scalars_clean_count", 0)
    schema = _schema({"s": {"type": "string", "maxLength": 4}, "i": {"type": "integer", "maximum": 1000}})
    for index in range(100):
        assert structural.clean_body({"s": f"v{index}", "i": index}, schema) is not None
        if index >= 4:  # emptied at least once, with what earlier tests left
            assert sum(len(p.clean) for p in structural._PLANS.values() if p is not None) <= 8
    assert structural.clean_body({"s": "v1000"}, schema) is None
    assert structural.clean_body({"i": 1001}, schema) is None
    assert structural.clean_body({"s": "v99", "i": 99}, schema) == {"s": "v99", "i": 99}


def test_a_default_is_filled_as_the_full_path_fills_it():
    schema = _schema({
        "matches": {"type": "array", "default": [{"path": {"type": "PathPrefix"}}],
                    "items": {"type": "object", "properties": {"path": {"type": "object", "properties": {
                        "type": {"type": "string"}, "value": {"type": "string", "default": "/"}}}}}},
        "weight": {"type": "integer", "default": 1, "minimum": 0},
    })
    expected = {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "weight": 1}
    for _ in range(3):
        assert structural.clean_body({}, schema) == expected
        assert structural.clean_body({"weight": None}, schema) == expected  # a null takes the default
    assert structural.prune_and_default({}, schema, "", []) == expected
    # A value given is kept; its own nested defaults are still filled.
    assert structural.clean_body({"matches": [{"path": {"type": "Exact"}}]}, schema) == {
        "matches": [{"path": {"type": "Exact", "value": "/"}}], "weight": 1}


def test_an_invalid_default_is_never_vouched_for():
    schema = _schema({"p": {"type": "string", "maxLength": 2, "default": "toolong"}})
    for _ in range(3):
        assert structural.clean_body({}, schema) is None
    assert structural.clean_body({"p": "ok"}, schema) == {"p": "ok"}
    assert [i.message for i in structural.schema_issues(schema, structural.prune_and_default({}, schema, "", []))] == [
        "Too long: may not be more than 2 bytes"]


# Equal in Python, not in JSON: "1", 1, True; 0, False. Containers are left to the keyword.
_ITEM_PARTS: list[Any] = ["a", "1", 1, True, False, 0, None, {"x": 1}, ["a"]]


def _items(rng: random.Random) -> Any:
    if rng.randrange(4) == 0:
        return rng.choice(_ITEM_PARTS)
    item = {}
    for key in ("name", "port", "other"):
        if rng.random() < 0.5:
            item[key] = rng.choice(_ITEM_PARTS[:5] if rng.random() < 0.9 else _ITEM_PARTS)
    return item


@pytest.mark.parametrize("list_type", ["map", "set", "atomic"])
def test_list_type_predicate_agrees_with_the_keyword(list_type):
    schema = {"type": "array", "x-kubernetes-list-type": list_type, "x-kubernetes-list-map-keys": ["name", "port"]}
    check = structural._keyword_check(structural._list_type, list_type, schema)
    rng = random.Random(7)
    verdicts = {True: 0, False: 0}
    for _ in range(3000):
        value = [_items(rng) for _ in range(rng.randint(0, 3))]
        if value and rng.random() < 0.4:  # an item again, as it is or as an equal copy
            value.append(rng.choice(value) if rng.random() < 0.5 else copy.deepcopy(rng.choice(value)))
        expected = next(structural._list_type(None, list_type, value, schema), None) is None
        assert (check is None or check(value)) == expected, value
        verdicts[expected] += 1
    for value in ({"name": "a"}, "a", 1, True):
        assert check is None or check(value)
    if list_type != "atomic":
        assert verdicts[True] > 200 and verdicts[False] > 200


def _branch(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.choice(["required", "required", "not", "anyOf", "allOf", "oneOf"] if depth < 3 else ["required"])
    if kind == "required":
        return {"required": rng.sample("abc", rng.randint(0, 2))}
    if kind == "not":
        return {"not": _branch(rng, depth + 1)}
    return {kind: [_branch(rng, depth + 1) for _ in range(rng.randint(0, 3))]}


@pytest.mark.parametrize("keyword", [structural._one_of, structural._any_of, structural._all_of, structural._not])
def test_branch_predicates_agree_with_the_keywords(keyword):
    # Istio's "oneOf: [{not: {anyOf: [{required: [provider]}]}}, {required: [provider]}]" and the like.
    rng = random.Random(11)
    values: list[Any] = [dict.fromkeys(keys, "x") for n in range(4) for keys in itertools.combinations("abc", n)]
    values += [["a"], "a", 1, True]
    verdicts = {True: 0, False: 0}
    for _ in range(400):
        argument = _branch(rng) if keyword is structural._not else [_branch(rng) for _ in range(rng.randint(1, 3))]
        check = structural._keyword_check(keyword, argument, {})
        for value in values:
            expected = next(keyword(None, argument, value, {}), None) is None
            assert check(value) == expected, (argument, value)
            verdicts[expected] += 1
    assert verdicts[True] > 1000 and verdicts[False] > 1000, verdicts
    istio = [{"not": {"anyOf": [{"required": ["provider"]}]}}, {"required": ["provider"]}]
    check = structural._keyword_check(structural._one_of, istio, {})
    assert [check(v) for v in ({}, {"provider": {}}, {"action": "ALLOW"})] == [True, True, True]
    unknown = [{"required": ["a"], "description": "x"}, {"type": "object"}]  # other keywords: the keyword itself
    assert structural._keyword_check(structural._one_of, unknown, {})({"a": 1}) is False


@pytest.mark.parametrize(("keyword", "argument"), [
    (structural._max_length, 3), (structural._min_length, 2), (structural._pattern, "^[a-z]+$"),
    (structural._max_items, 1), (structural._min_items, 1), (structural._max_properties, 1),
    (structural._min_properties, 1), (structural._enum, ["a", 1]),
])
def test_keyword_predicates_agree_with_the_keywords(keyword, argument):
    check = structural._keyword_check(keyword, argument, {})
    for value in ["", "a", "ab", "abc", "abcd", "A", 1, True, 0, [], ["a"], ["a", "b"], {}, {"a": 1}, {"a": 1, "b": 2}]:
        assert check(value) == (next(keyword(None, argument, value, {}), None) is None), value


# --- core: metadata answered from remembered passes.

_METADATA: list[Any] = [
    {"name": "web", "namespace": "shop"},
    {"name": "Web", "namespace": "shop"},
    {"name": "web", "namespace": "Shop"},
    {"name": "web-", "namespace": "shop-"},
    {"name": "", "namespace": "shop"},
    {"generateName": "web-", "namespace": "shop"},
    {"generateName": "", "name": ""},
    {},
    {"name": "a" * 64},
    {"name": "a" * 254},
    {"name": "web", "labels": {"app": "web", "tier": ""}},
    {"name": "web", "labels": {"app": "web*"}},
    {"name": "web", "labels": {"app/x/y": "v"}},
    {"name": "web", "labels": {"": "v"}},
    {"name": "web", "labels": {"Example.com/a": "v"}},
    {"name": "web", "labels": {"app": 1}},
    {"name": "web", "labels": {1: "v"}},
    {"name": "web", "labels": None},
    {"name": "web", "annotations": {"Example.COM/Key": "v", "linkerd.io/inject": "enabled"}},
    {"name": "web", "annotations": {"bad key": "v"}},
    {"name": "web", "annotations": {"a": "x" * (256 * 1024 - 1)}},
    {"name": "web", "annotations": {"a": "x" * (256 * 1024)}},
    {"name": "web", "annotations": {"a": 5}},
    {"name": "web", "uid": "1234"},
    {"name": 5},
    {"name": "web.shop.example", "namespace": None},
    {"name": ".", "namespace": "shop"},
    {"name": "a%b"},
]
_RULES = [names.dns1123_subdomain_errors, names.dns1123_label_errors, names.dns1035_label_errors,
          core._path_segment_errors]


def _metadata_answer(metadata: Any, rule: Any, namespaced: bool | None, require_name: bool) -> Any:
    try:
        return check_metadata(metadata, rule, namespaced=namespaced, require_name=require_name)
    except Exception as err:  # noqa: BLE001  (a label key the full check cannot take: both alike)
        return type(err).__name__, str(err)


def _all_metadata_answers() -> list[Any]:
    return [_metadata_answer(metadata, rule, namespaced, require_name)
            for _ in range(2)  # the second time from remembered passes
            for metadata in _METADATA for rule in _RULES
            for namespaced in (True, False, None) for require_name in (True, False)]


def test_metadata_fast_answer_is_the_full_check(monkeypatch):
    fast = _all_metadata_answers()
    monkeypatch.setattr(core, "_metadata_clean", lambda *args: False)
    assert fast == _all_metadata_answers()
    assert sum(1 for issues in fast if issues) > len(fast) / 2


def test_metadata_remembered_passes_are_bounded(monkeypatch):
    monkeypatch.setattr(core, "_VALID_MAX", 4)
    for index in range(40):
        metadata = {"name": f"web-{index}", "namespace": f"ns-{index}", "labels": {f"k{index}": f"v{index}"},
                    "annotations": {f"a{index}": "x"}}
        assert check_metadata(metadata, names.dns1123_subdomain_errors, namespaced=True) == []
    sets = [core._VALID_NAMES[names.dns1123_subdomain_errors], core._VALID_NAMESPACES, core._VALID_LABEL_KEYS,
            core._VALID_LABEL_VALUES, core._VALID_ANNOTATION_KEYS]
    assert all(len(valid) <= 4 for valid in sets), [len(valid) for valid in sets]
    [issue] = check_metadata({"name": "web-1", "namespace": "NS-1"}, names.dns1123_subdomain_errors, namespaced=True)
    assert issue.path == "metadata.namespace"
    assert issue.message.startswith('Invalid value: "NS-1": a lowercase RFC 1123 label')


def test_an_unlisted_name_rule_takes_the_full_check():
    [issue] = check_metadata({"name": "web"}, lambda name: ["no"], namespaced=None)
    assert issue == core.Issue("metadata.name", 'Invalid value: "web": no')


# --- core: built-in kinds' scalar verdicts.

def _service(port: Any, protocol: Any = "TCP") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"},
            "spec": {"ports": [{"port": port, "protocol": protocol}]}}


def test_core_scalar_verdicts_tell_equal_looking_values_apart():
    validator = core_validator("v1", "Service")
    assert check_core_clean(_service(80), validator) == []
    assert check_core_clean(_service(1), validator) == []
    assert check_core_clean(_service(True), validator) is None  # True == 1 in Python
    assert check_core_clean(_service("80"), validator) is None
    assert check_core_clean(_service(80, "UDP"), validator) == []
    assert check_core_clean(_service(80, 6), validator) is None


def test_core_scalar_verdicts_are_bounded(monkeypatch):
    monkeypatch.setattr(core, "_CORE_VERDICTS_MAX", 2)
    validator = core_validator("v1", "Service")
    for port in range(1, 30):
        assert check_core_clean(_service(port), validator) == []
    [port] = [node for node in core._CORE_NODES.values() if (int, 29) in node.verdicts]
    assert len(port.verdicts) <= 2
    assert check_core_clean(_service(False), validator) is None


# --- rules: values whose rules all held by their twins.

def _node(catalog: CRDCatalog, api_version: str, kind: str, *path: str) -> Mapping[str, Any]:
    node = catalog._served[(api_version, kind)].schema
    for step in path:
        node = node["items"] if step == "[]" else node["properties"][step]
    return node


def test_a_held_value_does_not_vouch_for_an_equal_looking_one(catalog):
    number = _node(catalog, "networking.istio.io/v1", "ServiceEntry", "spec", "ports", "[]", "number")
    path = _node(catalog, "gateway.networking.k8s.io/v1", "HTTPRoute", "spec", "rules", "[]", "matches", "[]", "path")
    for schema, held, others in [
        (number, 1, [True, 0, 70000]),  # True == 1 in Python
        (path, {"type": "PathPrefix", "value": "/"}, [{"type": "PathPrefix", "value": "//"},
                                                       {"value": "/", "type": "PathPrefix"},
                                                       {"type": "PathPrefix", "value": "/a#"}]),
    ]:
        expected = [RuleSet(schema).check(value) for value in others]  # no memo
        ruleset = RuleSet(schema)
        assert ruleset.check(held) == []
        assert ruleset.check(held) == []
        assert [ruleset.check(value) for value in others] == expected
    assert all(expected[i] for i in (0, 2))  # True and //: CEL's failures, reported


def test_held_values_are_bounded(monkeypatch, catalog):
    monkeypatch.setattr(rules, "_HELD_MAX", 3)
    number = _node(catalog, "networking.istio.io/v1", "ServiceEntry", "spec", "ports", "[]", "number")
    ruleset = RuleSet(number)
    for port in range(1, 50):
        assert ruleset.check(port) == []
    assert all(len(node.held) <= 3 for node in ruleset._nodes.values())
    assert ruleset.check(0) == RuleSet(number).check(0) != []


# --- catalog: metadata plainness and duplicates.

def test_plain_metadata_is_is_plain():
    labels = {"app": "web"}
    shared: dict[str, Any] = {"name": "web", "labels": labels, "annotations": labels}
    looped: dict[str, Any] = {"name": "web"}
    looped["self"] = looped
    cases = [
        {"name": "web", "labels": {"a": "b"}, "annotations": {"c": "d"}},
        {"name": "web", "labels": {"a": 1, "b": True, "c": None}},
        shared, looped,
        {"name": "web", "labels": {"a": 1.5}},
        {"name": "web", "labels": {1: "a"}},
        {1: "web"},
        {"name": "web", "finalizers": ["a", "b"]},
        {"name": "web", "ownerReferences": [{"name": "x"}]},
        {"name": "web", "labels": {"a": {"b": "c"}}},
        {"name": 1.0},
        {},
    ]
    for metadata in cases:
        assert _plain_metadata(metadata) == structural.is_plain(metadata), metadata


def test_duplicates_by_group_kind_scope_and_name(catalog):
    def obj(api_version: str, kind: str, name: Any, namespace: Any = None) -> dict[str, Any]:
        metadata = {"name": name} if namespace is None else {"name": name, "namespace": namespace}
        return {"apiVersion": api_version, "kind": kind, "metadata": metadata}

    objects: list[Any] = [
        obj("v1", "Namespace", "shop"),
        obj("v1", "Namespace", "shop", "ignored"),  # cluster-scoped: the namespace does not count
        obj("gateway.networking.k8s.io/v1", "HTTPRoute", "web", "shop"),
        obj("gateway.networking.k8s.io/v1beta1", "HTTPRoute", "web", "shop"),  # same group
        obj("gateway.networking.k8s.io/v1", "GRPCRoute", "web", "shop"),  # another kind
        obj("v1", "ServiceAccount", 7, "shop"),
        MappingProxyType(obj("v1", "ServiceAccount", "7", "shop")),  # a Mapping, its name as text
        obj("v1", "ServiceAccount", "", "shop"),
        obj("v1", "ServiceAccount", "", "shop"),  # no name: never a duplicate
        "not an object",
    ]
    duplicates = [str(v) for v in validate_objects(objects, catalog) if "Duplicate value" in v.message]
    assert duplicates == [
        'Namespace/ignored/shop: metadata.name: Duplicate value: "shop": object #1 repeats object #0 '
        "(same group, kind, namespace and name)",
        'HTTPRoute/shop/web: metadata.name: Duplicate value: "web": object #3 repeats object #2 '
        "(same group, kind, namespace and name)",
        'ServiceAccount/shop/7: metadata.name: Duplicate value: "7": object #6 repeats object #5 '
        "(same group, kind, namespace and name)",
    ]
