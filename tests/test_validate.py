"""meshgen.kube against the bundled CRDs, upstream examples and small objects.

The upstream examples (tests/fixtures/upstream-examples/) are those of the shared corpus whose
kinds meshgen bundles; they are checked against the bundled catalog, so the suite needs nothing
beside the checkout.
"""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshgen.kube import cel as cel_k8s
from meshgen.kube import CRDCatalog, CRDLoadError, SchemaViolation, validate_objects

EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "upstream-examples"
INVALID = EXAMPLES / "expected-invalid"


def _yaml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in {".yaml", ".yml"}) if root.is_dir() else []


VALID_EXAMPLES = [p for p in _yaml_files(EXAMPLES) if INVALID not in p.parents]
INVALID_EXAMPLES = _yaml_files(INVALID)


def _example_id(path: Path) -> str:
    return str(path.relative_to(EXAMPLES))


@pytest.fixture(scope="module")
def catalog() -> CRDCatalog:
    return CRDCatalog.bundled()


@pytest.fixture(scope="module")
def experimental_catalog() -> CRDCatalog:
    return CRDCatalog.bundled(experimental=True)


def _catalog_for(path: Path, catalog: CRDCatalog, experimental_catalog: CRDCatalog) -> CRDCatalog:
    # gateway-api/experimental/ and expected-invalid/gateway-api-experimental/ use that channel.
    return experimental_catalog if "experimental" in _example_id(path) else catalog


def _documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def test_upstream_corpus_is_present():
    assert len(VALID_EXAMPLES) > 250, f"upstream examples not found under {EXAMPLES}"
    assert len(INVALID_EXAMPLES) > 90


@pytest.mark.parametrize("path", VALID_EXAMPLES, ids=_example_id)
def test_upstream_example_is_accepted(path, catalog, experimental_catalog):
    chosen = _catalog_for(path, catalog, experimental_catalog)
    # Each document on its own: example files repeat a name to show variants of one object.
    problems = [str(v) for doc in _documents(path) for v in chosen.validate(doc)]
    assert problems == []


@pytest.mark.parametrize("path", INVALID_EXAMPLES, ids=_example_id)
def test_upstream_invalid_example_is_rejected(path, catalog, experimental_catalog):
    text = path.read_text(encoding="utf-8")
    expect = next((line.partition(":")[2].strip() for line in text.splitlines()
                   if line.startswith("# expect:")), None)
    try:
        documents = _documents(path)
    except yaml.YAMLError:
        assert expect == "YAML error"
        return
    problems = [str(v) for v in validate_objects(documents, _catalog_for(path, catalog,
                                                                          experimental_catalog))]
    assert problems, "accepted, but the API server rejects it"
    if expect == "YAML error":
        # PyYAML, like go-yaml, reads the broken flow sequence as a mapping: a type error.
        assert any("must be of type string" in p for p in problems), problems
    elif expect:
        assert any(expect in p for p in problems), problems


def test_every_cel_rule_in_the_bundle_compiles():
    rules: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for rule in node.get("x-kubernetes-validations") or ():
                rules.update(filter(None, (rule.get("rule"), rule.get("messageExpression"))))
            for child in node.values():
                collect(child)
        elif isinstance(node, list):
            for child in node:
                collect(child)

    from meshgen.kube.catalog import _bundle_entries

    for _, crd in _bundle_entries():
        collect(crd)
    unsupported = {}
    for rule in sorted(rules):
        try:
            cel_k8s.compile_expression(rule)
        except cel_k8s.UnsupportedCELError as err:
            unsupported[rule] = str(err)
    assert len(rules) > 120  # 131 distinct rules and messageExpressions in the bundle
    assert unsupported == {}


# --- Small hand-written objects against the real CRDs.

def _route(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "web", "namespace": "shop"}, "spec": spec}


def _messages(violations: list[SchemaViolation]) -> list[tuple[str, str]]:
    return [(v.path, v.message) for v in violations]


def test_unknown_field_is_rejected_with_its_path(catalog):
    route = _route(rules=[{"backendRefs": [{"name": "web", "port": 80, "wieght": 5}]}])
    assert _messages(catalog.validate(route)) == [
        ("spec.rules[0].backendRefs[0].wieght", 'unknown field "wieght"')]


def test_unknown_metadata_field_is_rejected(catalog):
    route = _route()
    route["metadata"]["lables"] = {"app": "web"}
    assert _messages(catalog.validate(route)) == [("metadata.lables", 'unknown field "lables"')]


def test_enum_violation_lists_supported_values(catalog):
    policy = {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
              "metadata": {"name": "mtls"}, "spec": {"mtls": {"mode": "STRICTER"}}}
    assert _messages(catalog.validate(policy)) == [
        ("spec.mtls.mode", 'Unsupported value: "STRICTER": supported values: "UNSET", "DISABLE", '
                           '"PERMISSIVE", "STRICT"'),
        ("", "some validation rules were not checked because the object was invalid; correct the "
             "existing errors to complete validation"),
    ]


def test_bound_violation_names_the_field(catalog):
    route = _route(rules=[{"backendRefs": [{"name": "web", "port": 80, "weight": 1000001}]}])
    assert _messages(catalog.validate(route)) == [
        ("spec.rules[0].backendRefs[0].weight",
         "Invalid value: 1000001: spec.rules[0].backendRefs[0].weight in body should be less than "
         "or equal to 1000000")]


def test_http_route_timeout_rule_reports_its_message(catalog):
    route = _route(rules=[{"timeouts": {"request": "1s", "backendRequest": "2s"}}])
    assert _messages(catalog.validate(route)) == [
        ("spec.rules[0].timeouts",
         'Invalid value: "object": backendRequest timeout cannot be longer than request timeout')]


def test_http_route_rules_run_after_defaulting(catalog):
    # path.type defaults to PathPrefix; the '//' rule only applies to Exact and PathPrefix.
    route = _route(rules=[{"matches": [{"path": {"value": "/shop//cart"}}]}])
    assert _messages(catalog.validate(route)) == [
        ("spec.rules[0].matches[0].path",
         "Invalid value: \"object\": must not contain '//' when type one of ['Exact', 'PathPrefix']")]
    # backendRefs[].kind defaults to Service, which needs a port.
    portless = _route(rules=[{"backendRefs": [{"name": "web"}]}])
    assert _messages(catalog.validate(portless)) == [
        ("spec.rules[0].backendRefs[0]", 'Invalid value: "object": Must have port for Service reference')]


def test_valid_http_route_is_accepted_and_not_modified(catalog):
    route = _route(parentRefs=[{"name": "gateway"}],
                   rules=[{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                           "backendRefs": [{"name": "web-v1", "port": 80, "weight": 90},
                                           {"name": "web-v2", "port": 80, "weight": 10}],
                           "timeouts": {"request": "10s", "backendRequest": "2s"}}])
    before = copy.deepcopy(route)
    assert catalog.validate(route) == []
    assert route == before


def test_authorization_policy_rules(catalog):
    policy = {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
              "metadata": {"name": "allow", "namespace": "shop"},
              "spec": {"selector": {"matchLabels": {"app": "web"}},
                       "targetRefs": [{"kind": "Gateway", "group": "gateway.networking.k8s.io",
                                       "name": "gw"}],
                       "rules": [{"from": [{"source": {"serviceAccounts": ["shop/web"],
                                                       "namespaces": ["shop"]}}]}]}}
    # A node's rules run before its children's.
    assert _messages(catalog.validate(policy)) == [
        ("spec", 'Invalid value: "object": only one of targetRefs or selector can be set'),
        ("spec.rules[0].from[0].source",
         'Invalid value: "object": Cannot set serviceAccounts with namespaces or principals'),
    ]


def test_map_values_are_checked(catalog):
    entry = {"apiVersion": "networking.istio.io/v1", "kind": "WorkloadEntry",
             "metadata": {"name": "vm"}, "spec": {"address": "10.0.0.1", "ports": {"http": 70000}}}
    assert _messages(catalog.validate(entry)) == [
        ("spec.ports[http]", 'Invalid value: "integer": port must be between 1-65535')]


def test_bad_metadata_name(catalog):
    route = _route()
    route["metadata"]["name"] = "Web_Route"
    [violation] = catalog.validate(route)
    assert violation.path == "metadata.name"
    assert violation.message.startswith(
        'Invalid value: "Web_Route": a lowercase RFC 1123 subdomain must consist of lower case '
        "alphanumeric characters")


def test_missing_name_and_label_value(catalog):
    route = _route()
    route["metadata"] = {"labels": {"app": "web/v1"}}
    assert [v.path for v in catalog.validate(route)] == ["metadata.name", "metadata.labels"]


def test_duplicate_objects_are_flagged(catalog):
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"ports": [{"port": 80}]}}
    other_namespace = copy.deepcopy(service)
    other_namespace["metadata"]["namespace"] = "staging"
    violations = validate_objects([service, other_namespace, copy.deepcopy(service)], catalog)
    assert [str(v) for v in violations] == [
        'Service/shop/web: metadata.name: Duplicate value: "web": object #2 repeats object #0 '
        "(same group, kind, namespace and name)"]


def test_unknown_version_names_the_served_ones(catalog):
    route = _route()
    route["apiVersion"] = "gateway.networking.k8s.io/v9"
    [violation] = catalog.validate(route)
    assert violation.path == "apiVersion"
    assert violation.message.startswith(
        "no CRD or built-in schema serves apiVersion 'gateway.networking.k8s.io/v9' kind 'HTTPRoute'; "
        "HTTPRoute is served as: gateway.networking.k8s.io/v1, gateway.networking.k8s.io/v1beta1")


def test_unknown_group_is_reported(catalog):
    [violation] = catalog.validate({"apiVersion": "example.com/v1", "kind": "Widget",
                                    "metadata": {"name": "w"}})
    assert (violation.path, violation.message) == (
        "kind", "no CRD or built-in schema serves apiVersion 'example.com/v1' kind 'Widget'; "
                "no loaded CRD has group 'example.com'")


def test_core_kinds_use_kubernetes_schemas(catalog):
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"ports": [{"port": "http"}], "selectr": {"app": "web"}}}
    assert _messages(catalog.validate(service)) == [
        ("spec.selectr", 'unknown field "selectr"'),
        ("spec.ports[0].port",
         'Invalid value: "string": spec.ports[0].port in body must be of type integer: "string"'),
    ]
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}
    assert catalog.validate(deployment) == []


def test_service_names_are_dns_1035_labels(catalog):
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1web"}, "spec": {}}
    [violation] = catalog.validate(service)
    assert violation.path == "metadata.name"
    assert "a DNS-1035 label must consist of lower case alphanumeric characters" in violation.message


def test_experimental_channel_replaces_standard_crds(catalog, experimental_catalog):
    alpha_tls = ("gateway.networking.k8s.io/v1alpha2", "TLSRoute")
    assert alpha_tls not in catalog.kinds()
    assert alpha_tls in experimental_catalog.kinds()
    assert ("gateway.networking.x-k8s.io/v1alpha1", "XBackendTrafficPolicy") in experimental_catalog.kinds()
    assert ("trust-manager.io/v1alpha2", "ClusterBundle") not in catalog.kinds()
    assert catalog.kinds() == sorted(catalog.kinds())
    # The experimental HTTPRoute knows rules[].retry; the standard one does not.
    route = _route(rules=[{"retry": {"attempts": 2}}])
    assert _messages(catalog.validate(route)) == [("spec.rules[0].retry", 'unknown field "retry"')]
    assert experimental_catalog.validate(route) == []


def test_violation_text():
    namespaced = SchemaViolation("v1", "Service", "web", "shop", "spec.ports", "Required value")
    cluster = SchemaViolation("v1", "Namespace", "shop", None, "", "bad")
    assert str(namespaced) == "Service/shop/web: spec.ports: Required value"
    assert str(cluster) == "Namespace/shop: bad"


# --- A small CRD of our own, shipped as a `kind: List`, for the features the corpus lacks.

WIDGETS = textwrap.dedent("""\
    apiVersion: v1
    kind: List
    items:
    - apiVersion: apiextensions.k8s.io/v1
      kind: CustomResourceDefinition
      metadata: {name: widgets.test.meshgen.dev}
      spec:
        group: test.meshgen.dev
        scope: Namespaced
        names: {kind: Widget, plural: widgets}
        versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                apiVersion: {type: string}
                kind: {type: string}
                metadata: {type: object}
                spec:
                  type: object
                  required: [port]
                  x-kubernetes-validations:
                  - rule: "self.mode == 'Strict' ? has(self.secretName) : true"
                    message: secretName is required in Strict mode
                    fieldPath: .secretName
                    reason: FieldValueRequired
                  - rule: "self.replicas <= 10"
                    messageExpression: "'replicas must be at most 10, got ' + string(self.replicas)"
                  - rule: "self.port == oldSelf.port"
                    message: port is immutable
                  properties:
                    mode: {type: string, enum: [Strict, Permissive], default: Strict}
                    secretName: {type: string}
                    replicas: {type: integer, default: 1}
                    port:
                      x-kubernetes-int-or-string: true
                      anyOf: [{type: integer}, {type: string}]
                    weights:
                      type: object
                      additionalProperties: {type: integer, minimum: 0, maximum: 100}
                    tags:
                      type: array
                      x-kubernetes-list-type: set
                      items: {type: string}
                    hosts:
                      type: array
                      items:
                        type: string
                        x-kubernetes-validations:
                        - rule: "!self.startsWith('*')"
                          message: wildcards are not allowed
                    note:
                      type: string
                      x-kubernetes-validations:
                      - rule: "self.frobnicate()"
                    template:
                      type: object
                      x-kubernetes-embedded-resource: true
                      x-kubernetes-preserve-unknown-fields: true
    - apiVersion: apiextensions.k8s.io/v1
      kind: CustomResourceDefinition
      metadata: {name: gizmos.test.meshgen.dev}
      spec:
        group: test.meshgen.dev
        scope: Cluster
        names: {kind: Gizmo, plural: gizmos}
        versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
        - name: v0
          served: false
          storage: false
          schema:
            openAPIV3Schema: {type: object}
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: not-a-crd}
    """)


@pytest.fixture(scope="module")
def widgets(tmp_path_factory) -> CRDCatalog:
    folder = tmp_path_factory.mktemp("crds")
    (folder / "widgets.yaml").write_text(WIDGETS, encoding="utf-8")
    return CRDCatalog.from_directory(folder)


def _widget(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "test.meshgen.dev/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "shop"}, "spec": spec}


def test_list_of_crds_loads_served_versions_only(widgets):
    assert widgets.kinds() == [("test.meshgen.dev/v1", "Gizmo"), ("test.meshgen.dev/v1", "Widget")]


def test_int_or_string(widgets):
    assert widgets.validate(_widget(port=8080, secretName="s")) == []
    assert widgets.validate(_widget(port="http", secretName="s")) == []
    assert _messages(widgets.validate(_widget(port=True, secretName="s")))[0] == (
        "spec.port", 'Invalid value: "boolean": spec.port in body must be of type integer or '
                     'string: "boolean"')


def test_defaults_are_applied_before_cel(widgets):
    # mode defaults to Strict; the rule's fieldPath and reason shape the violation.
    assert _messages(widgets.validate(_widget(port=80))) == [
        ("spec.secretName", "Required value: secretName is required in Strict mode")]
    assert widgets.validate(_widget(port=80, mode="Permissive")) == []


def test_message_expression_is_evaluated(widgets):
    assert _messages(widgets.validate(_widget(port=80, secretName="s", replicas=11))) == [
        ("spec", 'Invalid value: "object": replicas must be at most 10, got 11')]


def test_additional_properties_values_are_validated(widgets):
    assert _messages(widgets.validate(_widget(port=80, secretName="s", weights={"v1": 90, "v2": 110}))) == [
        ("spec.weights[v2]", "Invalid value: 110: spec.weights[v2] in body should be less than or equal to 100")]


def test_rules_apply_to_each_list_item_and_sets_reject_duplicates(widgets):
    widget = _widget(port=80, secretName="s", hosts=["a.example", "*.example"], tags=["a", "b", "a"])
    assert _messages(widgets.validate(widget)) == [
        ("spec.tags[2]", 'Duplicate value: "a"'),
        ("spec.hosts[1]", 'Invalid value: "string": wildcards are not allowed'),
    ]


def test_unsupported_cel_is_reported_not_passed(widgets):
    [violation] = widgets.validate(_widget(port=80, secretName="s", note="hi"))
    assert violation.path == "spec.note"
    assert violation.message == ("unsupported CEL: rule 'self.frobnicate()' cannot be checked: "
                                 "function 'frobnicate' is not implemented")


def test_embedded_resources_need_their_envelope(widgets):
    widget = _widget(port=80, secretName="s",
                     template={"apiVersion": "v1", "metadata": {"name": "Bad_Name", "x": 1}, "spec": {}})
    assert [v.path for v in widgets.validate(widget)] == [
        "spec.template.kind", "spec.template.metadata.x", "spec.template.metadata.name"]


def test_yaml_values_are_read_as_the_api_server_reads_them(catalog):
    # Unquoted dates stay text, integer keys become strings and 1.0 is the integer 1.
    peer = yaml.safe_load(textwrap.dedent("""\
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata:
          name: mtls
          annotations: {reviewed: 2024-05-01}
        spec:
          selector: {matchLabels: {app: web}}
          portLevelMtls:
            8080: {mode: DISABLE}
        """))
    assert catalog.validate(peer) == []
    route = _route(rules=[{"backendRefs": [{"name": "web", "port": 80.0}]}])
    assert catalog.validate(route) == []


def test_cluster_scoped_kind_must_not_have_a_namespace(widgets):
    gizmo = {"apiVersion": "test.meshgen.dev/v1", "kind": "Gizmo",
             "metadata": {"name": "g", "namespace": "shop"}, "anything": {"goes": 1}}
    assert _messages(widgets.validate(gizmo)) == [("metadata.namespace", "Forbidden: not allowed on this type")]
    del gizmo["metadata"]["namespace"]
    assert widgets.validate(gizmo) == []


def test_missing_directory_raises(tmp_path):
    with pytest.raises(CRDLoadError, match="CRD directory not found"):
        CRDCatalog.from_directory(tmp_path / "nowhere")


def test_directory_without_crds_raises(tmp_path):
    (tmp_path / "config.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n", encoding="utf-8")
    with pytest.raises(CRDLoadError, match="no CustomResourceDefinition found"):
        CRDCatalog.from_directory(tmp_path)


def test_unreadable_yaml_raises(tmp_path):
    (tmp_path / "broken.yaml").write_text("kind: [unclosed\n", encoding="utf-8")
    with pytest.raises(CRDLoadError, match="broken.yaml: cannot read CRDs"):
        CRDCatalog.from_directory(tmp_path)


# --- The Kubernetes CEL environment.

@pytest.mark.parametrize(("expression", "value", "expected"), [
    ("self.split('/')[0].size() < 5", "a.io/key", True),
    ("self.substring(2) == 'cd'", "abcd", True),
    ("self.lowerAscii() == 'abc' && self.upperAscii() == 'ABC'", "aBc", True),
    ("self.indexOf('b') == 1 && self.lastIndexOf('b') == 3", "abab", True),
    ("self.replace('-', '.') == 'a.b'", "a-b", True),
    ("['a', 'b'].join('/') == 'a/b'", "", True),
    ("self.find('[0-9]+') == '42' && self.findAll('[a-z]').size() == 2", "ab42", True),
    ("[1, 2, 3].sum() == 6 && [3, 1].min() == 1 && [1, 3].max() == 3 && [1, 2].isSorted()", "", True),
    ("isIP(self)", "10.0.0.1", True),
    ("isIP(self)", "10.0.0.01", False),
    ("isURL(self) && url(self).getScheme() == 'https' && url(self).getHost() == 'a.io:8443'",
     "https://a.io:8443/x", True),
    ("isURL(self)", "ghcr.io/foo", False),
    ("duration(self) >= duration('1ms')", "250us", False),
    ("self.exists_one(x, x == 'a') && self.all(x, x != '') && self.exists(x, x == 'b')",
     ["a", "b"], True),
    ("self.filter(x, x.startsWith('a')).map(x, x + '!') == ['ab!']", ["ab", "ba"], True),
    # A decided all()/exists() absorbs errors from other items, as in cel-go.
    ("self.all(x, x.a == 1)", [{}, {"a": 2}], False),
    ("self.exists(x, x.a == 1)", [{}, {"a": 1}], True),
    ("0 < self && self <= 65535", 8080, True),
    # cel-go: an optional is never equal to null, so this upstream rule rejects every
    # non-empty name (gateway-api XBackend ports[].name); the API server does the same.
    ("format.dns1123Label().validate(self) == null", "http", False),
    ("!format.dns1123Label().validate(self).hasValue()", "http", True),
])
def test_kubernetes_cel_functions(expression, value, expected):
    assert cel_k8s.compile_expression(expression).holds(cel_k8s.to_cel(value, {})) is expected


@pytest.mark.parametrize(("expression", "value", "message"), [
    ("self.all(k, int(k) > 0)", {"http": 1}, "type conversion error from 'string' to 'int'"),
    ("self.missing == 1", {}, "no such key: missing"),
    ("has(self.a.b)", {}, "no such key: a"),
    ("self.substring(3, 9) == ''", "abcd", "index out of range: 9"),
    ("self.exists_one(x, x.name == 'a')", [{"name": "a"}, {}], "no such key: name"),
])
def test_cel_errors_read_like_cel_go(expression, value, message):
    with pytest.raises(cel_k8s.CELEvaluationError, match=message):
        cel_k8s.compile_expression(expression).holds(cel_k8s.to_cel(value, {}))


def test_cel_sees_escaped_property_names():
    schema = {"type": "object", "properties": {"namespace": {"type": "string"}}}
    value = cel_k8s.to_cel({"namespace": "shop"}, schema)
    assert cel_k8s.compile_expression("self.__namespace__ == 'shop'").holds(value)


def test_compiled_rules_are_cached():
    assert cel_k8s.compile_expression("self > 1") is cel_k8s.compile_expression("self > 1")


# --- Reused verdicts: a rule's verdict is keyed on exactly what the rule reads of self.

@pytest.mark.parametrize(
    ("rule", "uses"),
    [
        ("(self.size() > 0 ? self[0].matches.size() : 0) <= 16", (("size", ()), ("size", (0, "matches")))),
        ("has(self.selector) && self.port > 0", (("has", ("selector",)), ("value", ("port",)))),
        ("has(self.a.b)", (("has", ("a", "b")),)),
        ("self.all(k, k != '')", (("value", ()),)),
        ("self['y'] == 1", (("value", ()),)),
    ],
)
def test_rules_declare_what_they_read_of_self(rule, uses):
    assert cel_k8s.compile_expression(rule).self_uses == uses


def test_equal_reads_share_a_verdict_and_different_reads_do_not():
    from meshgen.kube.rules import _part

    # Only sizes are read: other contents do not matter, other sizes do.
    assert _part([{"matches": [1, 2]}], "size", (0, "matches")) == _part([{"matches": [3, 4]}], "size", (0, "matches"))
    assert _part([{"matches": [1]}], "size", (0, "matches")) != _part([{"matches": [1, 2]}], "size", (0, "matches"))
    # A string's CEL size may not be its length (format: byte decodes base64): keyed on the value.
    assert _part({"b": "QQ=="}, "size", ("b",)) != _part({"b": "QUI="}, "size", ("b",))
    # A missing key and a null parent fail differently in CEL.
    assert _part({}, "value", ("a", "b")) != _part({"a": None}, "value", ("a", "b"))
    # Escaped property names (namespace -> __namespace__) are found under their own name.
    assert _part({"namespace": "x"}, "has", ("__namespace__",)) == ("present", False)


def test_a_reused_verdict_is_reported_for_every_object(catalog):
    # Both objects break the same rule with different values that the rule reads alike (only
    # presence of selector and targetRef): the second gets the first's verdict, under its own name.
    def policy(name: str) -> dict[str, Any]:
        return {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                "metadata": {"name": name, "namespace": "shop"},
                "spec": {"selector": {"matchLabels": {"app": name}},
                         "targetRef": {"kind": "Service", "group": "", "name": name}}}

    found = [(v.name, v.path, v.message) for v in validate_objects([policy("a"), policy("b")], catalog)]
    assert [name for name, _, _ in found] == ["a", "b"]
    assert found[0][1:] == found[1][1:]
    assert "at most one" in found[0][2].lower() or "only one" in found[0][2].lower(), found[0][2]


_SEEDED = """
import json
from meshgen.kube import CRDCatalog, validate_objects
labels = {"zeta": 1, "alpha": [2], "mid": {}, "beta": True}
objects = [
    {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
     "metadata": {"name": "a", "namespace": "n", "labels": labels}, "spec": {}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "n", "labels": labels}},
]
print(json.dumps([[v.kind, v.path] for v in validate_objects(objects, CRDCatalog.bundled())]))
"""


def test_problems_of_several_labels_come_in_the_objects_order_whatever_the_hash_seed():
    # jsonschema's additionalProperties walks the extra keys of a map as a set, whose order
    # follows PYTHONHASHSEED; the metadata check must not.
    import json
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    outputs = set()
    for seed in ("0", "1", "2", "3", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(repo)}
        outputs.add(subprocess.run([sys.executable, "-c", _SEEDED], cwd=repo, env=env, capture_output=True,
                                   text=True, check=True).stdout)
    assert len(outputs) == 1
    got = json.loads(outputs.pop())
    labels = [f"metadata.labels.{key}" for key in ("zeta", "alpha", "mid", "beta")]
    assert got == [["AuthorizationPolicy", path] for path in labels] + [["ConfigMap", path] for path in labels]
