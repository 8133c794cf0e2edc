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


# --- Gateway API twins (native_rules.GATEWAY_API_RULES): each compared with cel-python.

V1 = "gateway.networking.k8s.io/v1"


def _node(kind, *steps, api_version=V1):
    node = CRDCatalog.bundled()._served[(api_version, kind)].schema
    for step in steps:
        node = node["items"] if step == "[]" else node["properties"][step]
    return node


RULE_NODES = {  # twinned rule -> the bundled schema nodes that carry it (one is enough to check)
    **{text: [_node("HTTPRoute", "spec", "rules", "[]", "matches", "[]", "path")] for text in native_rules.PATH_RULES},
    native_rules.PATH_TYPE: [_node("HTTPRoute", "spec", "rules", "[]", "matches", "[]", "path")],
    native_rules.MATCH_COUNT: [_node("HTTPRoute", "spec", "rules")],
    native_rules.BACKEND_PORT: [_node("HTTPRoute", "spec", "rules", "[]", "backendRefs", "[]"),
                                _node("GRPCRoute", "spec", "rules", "[]", "backendRefs", "[]")],
    native_rules.NO_REDIRECT_WITH_BACKENDS: [_node("HTTPRoute", "spec", "rules", "[]")],
    native_rules.RULE_REDIRECT_PREFIX_MATCH: [_node("HTTPRoute", "spec", "rules", "[]")],
    native_rules.RULE_REWRITE_PREFIX_MATCH: [_node("HTTPRoute", "spec", "rules", "[]")],
    **{text: [_node("Gateway", "spec", "listeners")] for text in (
        native_rules.LISTENER_NO_TLS, native_rules.LISTENER_HTTPS_MODE, native_rules.LISTENER_TLS_MODE,
        native_rules.LISTENER_NO_HOSTNAME, native_rules.LISTENER_NAMES_UNIQUE, native_rules.LISTENER_PORTS_UNIQUE)},
    native_rules.TLS_TERMINATE_CERTIFICATES: [_node("Gateway", "spec", "listeners", "[]", "tls")],
    native_rules.TIMEOUTS: [_node("HTTPRoute", "spec", "rules", "[]", "timeouts")],
    native_rules.GRPC_MATCH_COUNT: [_node("GRPCRoute", "spec", "rules")],
    **{text: [_node("GRPCRoute", "spec", "rules", "[]", "matches", "[]", "method")] for text in (
        native_rules.GRPC_METHOD_NAME, native_rules.GRPC_SERVICE_NAME, native_rules.GRPC_TYPE_NEEDS_NAME)},
    **{text: [_node("TLSRoute", "spec", "hostnames")] for text in (
        native_rules.HOSTNAME_NOT_IP, native_rules.HOSTNAME_DNS, native_rules.HOSTNAME_WILDCARD)},
}


NET, SEC = "networking.istio.io/v1", "security.istio.io/v1"
ISTIO_NODES = {
    native_rules.ONE_OF_SELECTOR_TARGETS: [_node("AuthorizationPolicy", "spec", api_version=SEC),
                                           _node("RequestAuthentication", "spec", api_version=SEC),
                                           _node("Telemetry", "spec", api_version="telemetry.istio.io/v1")],
    native_rules.ONE_OF_WORKLOAD_SELECTOR_ENDPOINTS: [_node("ServiceEntry", "spec", api_version=NET)],
    native_rules.ONE_OF_WORKLOAD_SELECTOR_TARGETS: [
        _node("EnvoyFilter", "spec", api_version="networking.istio.io/v1alpha3")],
    native_rules.SE_CIDR_RESOLUTION: [_node("ServiceEntry", "spec", api_version=NET)],
    native_rules.SE_ROUND_ROBIN_ENDPOINTS: [_node("ServiceEntry", "spec", api_version=NET)],
    native_rules.SE_NONE_NO_ENDPOINTS: [_node("ServiceEntry", "spec", api_version=NET)],
    native_rules.SE_PORT_NUMBERS_UNIQUE: [_node("ServiceEntry", "spec", "ports", api_version=NET)],
    native_rules.SOURCE_SERVICE_ACCOUNTS: [
        _node("AuthorizationPolicy", "spec", "rules", "[]", "from", "[]", "source", api_version=SEC)],
    native_rules.PORT_LEVEL_MTLS_SELECTOR: [_node("PeerAuthentication", "spec", api_version=SEC)],
    native_rules.ENVOY_FILTER_WAYPOINT: [
        _node("EnvoyFilter", "spec", "configPatches", "[]", "match", api_version="networking.istio.io/v1alpha3")],
    native_rules.PORT_RANGE: [_node("ServiceEntry", "spec", "ports", "[]", "number", api_version=NET)],
    native_rules.DURATION_AT_LEAST_1MS: [
        _node("VirtualService", "spec", "http", "[]", "timeout", api_version=NET),
        _node("DestinationRule", "spec", "trafficPolicy", "connectionPool", "tcp", "connectTimeout", api_version=NET)],
    native_rules.HOST_NOT_STAR: [_node("ServiceEntry", "spec", "hosts", "[]", api_version=NET)],
}
RULE_NODES.update(ISTIO_NODES)


def test_every_gateway_api_and_istio_twin_is_checked_here():
    assert set(RULE_NODES) == set(native_rules.GATEWAY_API_RULES) | set(native_rules.ISTIO_RULES)


@pytest.mark.parametrize("rule", list(RULE_NODES), ids=range(len(RULE_NODES)))
def test_bundled_crds_carry_the_twinned_rules_verbatim(rule):
    for node in RULE_NODES[rule]:
        assert rule in [r["rule"] for r in node["x-kubernetes-validations"]]


_MISSING = object()


def _cel_says_holds(rule, value, schema):
    """True where cel-python holds the rule; a failure, an error or a cel-python gap (which validate
    reports as unsupported CEL) are all "not proved"."""
    try:
        return cel.compile_expression(rule).holds(cel.to_cel(value, schema))
    except (cel.CELEvaluationError, cel.UnsupportedCELError):
        return False


def _obj(**fields):
    return {k: v for k, v in fields.items() if v is not _MISSING}


PATH_TYPES = ["Exact", "PathPrefix", "RegularExpression", "", _MISSING, None, 7]
PATH_VALUES = ["/", "/a", "a", "//x", "/a/./b", "/a/../b", "/a%2fb", "/a%2Fb", "/a#b", "/a/..", "/a/.", "/%zz",
               "/%41", "/ü", "/a b", "/a?b", "", "/a/", _MISSING, None, 5]
GW_BACKEND_REFS = [_MISSING, [], [{"name": "a", "port": 80}],
                [{"name": "a", "port": 80, "filters": [{"type": "RequestHeaderModifier"}]}]]
GW_FILTERS = [_MISSING, [], [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": []}}],
           [{"type": "RequestRedirect", "requestRedirect": {"path": {"type": "ReplacePrefixMatch",
                                                                     "replacePrefixMatch": "/"}}}],
           [{"type": "RequestRedirect", "requestRedirect": {"path": {"type": "ReplaceFullPath",
                                                                     "replaceFullPath": "/"}}}],
           [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}],
           [{"type": "URLRewrite", "urlRewrite": {"hostname": "x"}}], ["not-an-object"], None]
GW_MATCHES = [_MISSING, [], [{"path": {"type": "PathPrefix", "value": "/"}}], [{"path": {"type": "Exact", "value": "/"}}],
           [{"headers": [{"name": "x", "value": "1"}]}],
           [{"path": {"type": "PathPrefix", "value": "/"}}, {"path": {"type": "PathPrefix", "value": "/b"}}]]
GW_TLS = [_MISSING, {"mode": "Terminate", "certificateRefs": [{"name": "c"}]}, {"mode": "Terminate"},
       {"mode": "Terminate", "certificateRefs": []}, {"mode": "Terminate", "options": {"a": "b"}},
       {"mode": "Passthrough"}, {"mode": ""}, {}, None]
LISTENER_ALPHABET = [
    _obj(name=name, port=port, protocol=protocol, hostname=hostname, tls=tls)
    for name in ("a", "b") for port in (80, 443) for protocol in ("HTTP", "HTTPS", "GW_TLS", "TCP", "UDP", "X")
    for hostname in (_MISSING, "", "a.example.com") for tls in GW_TLS[:3] + GW_TLS[5:7]
] + [{"name": "a", "protocol": "HTTP"}, {"name": "a", "port": 80}, {"port": 80, "protocol": "HTTP"},
     {"name": "a", "port": 80, "protocol": "HTTP", "hostname": None}, "not-an-object"]


def _values(rule):
    if rule in native_rules.PATH_RULES or rule == native_rules.PATH_TYPE:
        yield from (_obj(type=t, value=v) for t in PATH_TYPES for v in PATH_VALUES)
    elif rule == native_rules.MATCH_COUNT:
        rng = random.Random(128)
        yield []
        for _ in range(300):
            rules = [{"matches": [{}] * rng.randint(0, 20)} for _ in range(rng.randint(1, 20))]
            if rng.random() < 0.1:
                rules[rng.randrange(len(rules))] = {"backendRefs": []}  # no matches: CEL's no such key
            yield rules
        yield [{"matches": [{}] * 8}] * 16  # exactly 128
        yield [{"matches": [{}] * 8}] * 16 + [{"matches": [{}] * 8}]  # the 17th rule is not counted
        yield [{"matches": [{}] * 8}] * 16 + [{"backendRefs": []}]
    elif rule == native_rules.BACKEND_PORT:
        yield from (_obj(name="a", group=g, kind=k, port=p) for g in ("", "g", _MISSING, None)
                    for k in ("Service", "Other", _MISSING) for p in (80, _MISSING, None))
    elif rule in (native_rules.NO_REDIRECT_WITH_BACKENDS, native_rules.RULE_REDIRECT_PREFIX_MATCH,
                  native_rules.RULE_REWRITE_PREFIX_MATCH):
        yield from (_obj(backendRefs=b, filters=f, matches=m) for b in GW_BACKEND_REFS + [None]
                    for f in GW_FILTERS for m in GW_MATCHES)
    elif rule == native_rules.TLS_TERMINATE_CERTIFICATES:
        yield from (tls for tls in GW_TLS if isinstance(tls, dict))
        yield from (_obj(mode=m, certificateRefs=c, options=o) for m in ("Terminate", "Passthrough", _MISSING)
                    for c in (_MISSING, [], [{"name": "c"}]) for o in (_MISSING, {}, {"a": "b"}))
    elif rule == native_rules.TIMEOUTS:
        durations = ["0s", "1s", "10s", "500ms", "1m", "1h30m", "90s", "0ms", "2s", "10", "1d", "-1s", "1.5s", "", None]
        yield from (_obj(request=r, backendRequest=b) for r in durations + [_MISSING] for b in durations + [_MISSING])
    elif rule == native_rules.GRPC_MATCH_COUNT:
        rng = random.Random(129)
        yield []
        for _ in range(300):
            rules = [{"matches": [{}] * rng.randint(0, 20)} for _ in range(rng.randint(1, 20))]
            if rng.random() < 0.3:
                rules[rng.randrange(len(rules))] = {"backendRefs": []}  # no matches: counts 0 here
            yield rules
        yield [{"matches": [{}] * 8}] * 16 + [{"matches": [{}] * 8}]
        yield [{"matches": None}]
    elif rule in (native_rules.GRPC_METHOD_NAME, native_rules.GRPC_SERVICE_NAME, native_rules.GRPC_TYPE_NEEDS_NAME):
        names = ["Get", "get_all", "_x", "9x", "a.b", ".a.b", "A.B_c", "a..b", "a-b", "", "ü", None, _MISSING]
        yield from (_obj(type=t, service=sv, method=m) for t in ("Exact", "RegularExpression", "", _MISSING, None)
                    for sv in names for m in names[::3])
    elif rule in (native_rules.HOSTNAME_NOT_IP, native_rules.HOSTNAME_DNS, native_rules.HOSTNAME_WILDCARD):
        hosts = ["a.example.com", "example", "*.example.com", "*example.com", "a.*.com", "*", "*.", "10.0.0.1",
                 "::1", "fe80::1", "a:b", "1.2.3", "1e5", "A.example.com", "-a.com", "a-.com", "a..b", "", 7, None]
        yield []
        yield from ([h] for h in hosts)
        yield from ([a, b] for a, b in itertools.product(hosts, repeat=2))
    elif rule in ISTIO_NODES:
        yield from _istio_values(rule)
    else:  # listeners: every single one, every pair of a sample, longer lists
        rng = random.Random(7)
        yield []
        yield from ([listener] for listener in LISTENER_ALPHABET)
        for _ in range(400):
            yield [rng.choice(LISTENER_ALPHABET) for _ in range(rng.randint(2, 4))]


@pytest.mark.parametrize("rule", list(RULE_NODES), ids=range(len(RULE_NODES)))
def test_gateway_api_and_istio_twins_say_holds_only_where_cel_does(rule):
    """Never "holds" where CEL fails (or errs); "holds" on most values where CEL holds."""
    for schema in RULE_NODES[rule]:
        verdicts = {True: 0, False: 0}
        claimed = 0
        for value in _values(rule):
            expected = _cel_says_holds(rule, value, schema)
            verdicts[expected] += 1
            if native_rules.holds(rule, value, schema):
                assert expected, value
                claimed += 1
        assert verdicts[True] and verdicts[False], verdicts  # both verdicts were exercised
        # and the twin speaks for many (not all: it leaves nulls and missing fields to CEL)
        assert claimed >= verdicts[True] * 0.4, (claimed, verdicts)


def test_path_twins_agree_with_cel_on_every_plain_path():
    schema = RULE_NODES[native_rules.PATH_TYPE][0]
    for rule in native_rules.PATH_RULES:
        for kind in ("Exact", "PathPrefix", "RegularExpression"):
            for path in [v for v in PATH_VALUES if isinstance(v, str)]:
                value = {"type": kind, "value": path}
                assert native_rules.holds(rule, value, schema) == _cel_says_holds(rule, value, schema), (rule, value)


def test_gateway_api_twins_need_their_fields_declared_and_unformatted():
    path = RULE_NODES[native_rules.PATH_TYPE][0]
    value = {"type": "Exact", "value": "/a"}
    rule = next(iter(native_rules.PATH_RULES))
    assert native_rules.holds(rule, value, path) is True
    formatted = {**path, "properties": {**path["properties"], "value": {"type": "string", "format": "byte"}}}
    assert native_rules.holds(rule, value, formatted) is False
    undeclared = {**path, "properties": {"type": path["properties"]["type"]}}
    assert native_rules.holds(rule, value, undeclared) is False
    listeners = RULE_NODES[native_rules.LISTENER_NO_TLS][0]
    items = listeners["items"]
    no_mode = {**listeners, "items": {**items, "properties": {**items["properties"], "tls": {"type": "object"}}}}
    one = [{"name": "a", "port": 80, "protocol": "HTTP"}]
    assert native_rules.holds(native_rules.LISTENER_NO_TLS, one, listeners) is True
    assert native_rules.holds(native_rules.LISTENER_NO_TLS, one, no_mode) is False


@pytest.mark.parametrize("platform", ["consul", "kubernetes", "cilium", "linkerd", "istio", "istio-ambient"])
def test_validating_a_plain_mesh_needs_no_cel(platform, tmp_path):
    # Every rule the synthetic mesh reaches on these platforms has a twin: cel-python stays unloaded.
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = (
        "import sys, pathlib\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        "from benchmarks.synthetic import intent_yaml\n"
        "from meshgen import pipeline\n"
        "from meshgen.kube import CRDCatalog, validate_objects\n"
        "from meshgen.loader import load_intent\n"
        f"path = pathlib.Path({str(tmp_path / 'intent.yaml')!r})\n"
        "path.write_text(intent_yaml(40, portable=True))\n"
        f"rendering = pipeline.render(load_intent(path), {platform!r}, 'intent.yaml')\n"
        "assert validate_objects(rendering.objects(), CRDCatalog.bundled()) == []\n"
        "kinds = {o['kind'] for o in rendering.objects()}\n"
        "assert 'HTTPRoute' in kinds, kinds\n"
        "print(sorted(m for m in ('celpy', 'lark', 'meshgen.kube.cel') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def _istio_values(rule):
    if rule in (native_rules.ONE_OF_SELECTOR_TARGETS, native_rules.ONE_OF_WORKLOAD_SELECTOR_ENDPOINTS,
                native_rules.ONE_OF_WORKLOAD_SELECTOR_TARGETS):
        fields = {"selector": {"matchLabels": {"app": "a"}}, "targetRef": {"kind": "Service", "name": "a"},
                  "targetRefs": [{"kind": "Service", "name": "a"}], "workloadSelector": {"labels": {"app": "a"}},
                  "endpoints": [{"address": "10.0.0.1"}], "action": "ALLOW", "hosts": ["a.example.com"]}
        for chosen in itertools.product((False, True, None), repeat=len(fields)):
            yield {k: (v if keep else None) for (k, v), keep in zip(fields.items(), chosen) if keep is not False}
    elif rule in (native_rules.SE_CIDR_RESOLUTION, native_rules.SE_ROUND_ROBIN_ENDPOINTS,
                  native_rules.SE_NONE_NO_ENDPOINTS):
        addresses = [_MISSING, [], ["10.0.0.1"], ["10.0.0.0/16"], ["10.0.0.1", "10.1.0.0/16"], [7], None]
        resolutions = [_MISSING, "NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "", None]
        endpoints = [_MISSING, [], [{"address": "a"}], [{"address": "a"}, {"address": "b"}], None]
        for a, r, e in itertools.product(addresses, resolutions, endpoints):
            yield _obj(hosts=["a.example.com"], addresses=a, resolution=r, endpoints=e)
    elif rule == native_rules.SE_PORT_NUMBERS_UNIQUE:
        ports = [{"number": 80, "name": "http"}, {"number": 443, "name": "https"}, {"number": 80, "name": "b"},
                 {"name": "x"}, {"number": None, "name": "y"}, "not-an-object"]
        yield []
        for size in (1, 2, 3):
            yield from (list(p) for p in itertools.product(ports, repeat=size))
    elif rule == native_rules.SOURCE_SERVICE_ACCOUNTS:
        for chosen in itertools.product((False, True), repeat=6):
            yield {k: ["x"] for k, keep in zip(native_rules._SOURCE_FIELDS, chosen) if keep}
        yield from ({k: None} for k in native_rules._SOURCE_FIELDS)  # null fields: CEL's to judge
        yield {"serviceAccounts": ["x"], "principals": None}
    elif rule == native_rules.PORT_LEVEL_MTLS_SELECTOR:
        selectors = [_MISSING, {}, {"matchLabels": {}}, {"matchLabels": {"app": "a"}}, {"matchLabels": None}, None]
        for port_level, selector in itertools.product([_MISSING, {"8080": {"mode": "DISABLE"}}, None], selectors):
            yield _obj(portLevelMtls=port_level, selector=selector, mtls={"mode": "STRICT"})
    elif rule == native_rules.ENVOY_FILTER_WAYPOINT:
        for context, waypoint in itertools.product([_MISSING, "WAYPOINT", "SIDECAR_INBOUND", "ANY", "", None, 3],
                                                   [_MISSING, {"portNumber": 80}, None]):
            yield _obj(context=context, waypoint=waypoint)
    elif rule == native_rules.PORT_RANGE:
        yield from [-1, 0, 1, 80, 65535, 65536, 2**40, True, False, "80", 80.0]
    elif rule == native_rules.DURATION_AT_LEAST_1MS:
        yield from ["1ms", "0.5ms", "999us", "1000us", "0s", "0", "1s", "1.5s", "1h30m", "10m", "-1s", "1d", "",
                    "s", "1", "1000000ns", "999999ns", "1e3s", "9999999999h", 5, None]
    elif rule == native_rules.HOST_NOT_STAR:
        yield from ["*", "a.example.com", "*.example.com", "", " *", "**", 5, None]
