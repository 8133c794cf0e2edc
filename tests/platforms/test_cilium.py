"""The Cilium planner: what it emits for each intent feature, and what it reports.

Every capability row Cilium does not express natively has a case below: the finding's support
level and wording are asserted, the CLI refuses without --allow-loss exactly when something is
lost (exit 3), and the rendered objects are still accepted by the standard-channel CRDs.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys

import pytest
import re2
import yaml
from typer.testing import CliRunner

from meshgen import load_intent, render
from meshgen.capabilities import Feature, Support
from meshgen.cli import app
from meshgen.intent.types import Duration
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms import get_platform
from meshgen.platforms.cilium.platform import grpc_path_regex, path_regex
from tests.conftest import MINIMAL, REPO, write_intent

N, A, X = Support.NATIVE, Support.APPROXIMATED, Support.NOT_EXPRESSIBLE


def base() -> dict:
    """The minimal intent (api allows web) as plain data, for cases to edit."""
    return yaml.safe_load(MINIMAL)


def svc(doc: dict, name: str) -> dict:
    return next(s for s in doc["spec"]["services"] if s["name"] == name)


def rendered(tmp_path, doc: dict):
    path = write_intent(tmp_path, yaml.safe_dump(doc, sort_keys=False))
    return render(load_intent(path), "cilium", "intent.yaml"), path


def objects_of(rendering, kind: str) -> dict[str, dict]:
    return {f"{o['metadata'].get('namespace')}/{o['metadata']['name']}": o for o in rendering.objects() if o["kind"] == kind}


def findings(rendering, feature: Feature):
    return [f for f in rendering.plan.findings if f.feature is feature]


# --- regular expressions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "regex"),
    [
        ("/reviews/*", r"^/reviews/.*$"),
        ("/login", r"^/login(\?.*)?$"),
        ("*.png", r"^[^?]*\.png(\?.*)?$"),
        ("*", r"^.*$"),
        ("/a+b/(x)[1]{2}|$^", r"^/a\+b/\(x\)\[1\]\{2\}\|\$\^(\?.*)?$"),
    ],
)
def test_path_patterns_become_anchored_regexes(pattern, regex):
    assert path_regex(pattern) == regex


@pytest.mark.parametrize(
    ("pattern", "path", "allowed"),
    [
        ("/reviews/*", "/reviews/1", True),
        ("/reviews/*", "/reviews/", True),
        ("/reviews/*", "/reviews/1?user=jason", True),
        ("/reviews/*", "/reviews", False),
        ("/reviews/*", "/reviewsX/1", False),
        ("/reviews/*", "/api/reviews/1", False),
        ("/login", "/login", True),
        ("/login", "/login?next=/", True),
        ("/login", "/login/x", False),
        ("/login", "/loginx", False),
        ("/login", "/x/login", False),
        ("*.png", "/img/a.png", True),
        ("*.png", "/img/a.png?size=2", True),
        ("*.png", "/img/apng", False),
        ("*.png", "/a?x=.png", False),
        ("/a.b", "/a.b", True),
        ("/a.b", "/aXb", False),
    ],
)
def test_path_regexes_match_the_whole_path_under_re2(pattern, path, allowed):
    # Envoy (RE2) matches the whole :path; the anchors make search semantics agree as well.
    regex = re2.compile(path_regex(pattern))
    assert (regex.fullmatch(path) is not None) is allowed
    assert (regex.search(path) is not None) is allowed
    assert (re.fullmatch(path_regex(pattern), path) is not None) is allowed


def test_grpc_paths_match_one_method_or_any_method_of_the_service():
    one = re2.compile(grpc_path_regex("/hipstershop.CartService/GetCart"))
    assert one.fullmatch("/hipstershop.CartService/GetCart")
    assert not one.fullmatch("/hipstershop.CartService/GetCartX")
    assert not one.fullmatch("/hipstershopXCartService/GetCart")
    every = re2.compile(grpc_path_regex("/hipstershop.CartService/*"))
    assert grpc_path_regex("/hipstershop.CartService/*") == r"^/hipstershop\.CartService/[^/]+$"
    assert every.fullmatch("/hipstershop.CartService/EmptyCart")
    assert not every.fullmatch("/hipstershop.CartService/")
    assert not every.fullmatch("/hipstershop.CurrencyService/Convert")


@pytest.mark.parametrize(("ms", "text"), [(0, "0s"), (500, "500ms"), (10_000, "10s"), (90_000, "1m30s"), (100_500, "1m40s500ms"), (3_723_004, "1h2m3s4ms")])
def test_gateway_api_durations_fit_gep_2257(ms, text):
    assert gapi.duration(Duration(ms)) == text
    assert re.fullmatch(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$", text)


# --- objects ----------------------------------------------------------------------------------


def test_minimal_intent_objects(tmp_path):
    rendering, _ = rendered(tmp_path, base())
    # Monitoring objects come from telemetry planning (tests/test_operations_*.py).
    kinds = sorted(
        (o["kind"], o["metadata"]["name"]) for o in rendering.objects() if not o["apiVersion"].startswith("monitoring.")
    )
    # No GAMMA route: api and web have no versions, routes or timeouts, and a route carrying
    # nothing would only add an Envoy hop.
    assert kinds == [
        ("CiliumNetworkPolicy", "api"),
        ("CiliumNetworkPolicy", "default-deny-ingress"),
        ("Namespace", "shop"),
        ("Service", "api"),
        ("Service", "web"),
    ]
    ns = objects_of(rendering, "Namespace")["None/shop"]
    assert ns["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "meshgen", "app.kubernetes.io/part-of": "shop"}
    policies = objects_of(rendering, "CiliumNetworkPolicy")
    assert policies["shop/default-deny-ingress"]["spec"] == {
        "description": "meshgen: deny every call to pods of namespace shop that no other policy allows",
        "endpointSelector": {},
        "enableDefaultDeny": {"ingress": True},
        "ingress": [{}],
    }
    assert policies["shop/api"]["spec"] == {
        "description": "meshgen: who may call shop/api",
        "endpointSelector": {"matchLabels": {"app": "api"}},
        "enableDefaultDeny": {"ingress": True},
        "ingress": [
            {
                "fromEndpoints": [
                    {"matchLabels": {"io.cilium.k8s.policy.serviceaccount": "web", "k8s:io.kubernetes.pod.namespace": "shop"}}
                ],
                "authentication": {"mode": "required"},
                "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}],
            }
        ],
    }


def test_policy_ports_are_pod_ports(tmp_path):
    doc = base()
    svc(doc, "web")["allowFrom"] = [{"service": "api"}]
    rendering, _ = rendered(tmp_path, doc)
    web = objects_of(rendering, "CiliumNetworkPolicy")["shop/web"]
    # web's Service port is 80, its pods listen on 8080: Cilium enforces after Service translation.
    assert web["spec"]["ingress"][0]["toPorts"] == [{"ports": [{"port": "8080", "protocol": "TCP"}]}]


def test_l7_rules_methods_paths_and_grpc(tmp_path):
    doc = base()
    api = svc(doc, "api")
    api["ports"] = [{"name": "http", "port": 8080}, {"name": "grpc", "port": 9090, "protocol": "grpc"}]
    api["allowFrom"] = [
        {"service": "web", "ports": ["http"], "methods": ["GET", "HEAD"], "paths": ["/items/*", "/health"]},
        {"service": "web", "ports": ["grpc"], "grpc": {"service": "shop.Api", "methods": ["Get"]}},
        {"namespace": "ops", "ports": ["http"], "methods": ["GET"]},
    ]
    rendering, _ = rendered(tmp_path, doc)
    ingress = objects_of(rendering, "CiliumNetworkPolicy")["shop/api"]["spec"]["ingress"]
    assert ingress[0]["toPorts"] == [
        {
            "ports": [{"port": "8080", "protocol": "TCP"}],
            "rules": {
                "http": [
                    {"method": "^GET$", "path": "^/items/.*$"},
                    {"method": "^GET$", "path": r"^/health(\?.*)?$"},
                    {"method": "^HEAD$", "path": "^/items/.*$"},
                    {"method": "^HEAD$", "path": r"^/health(\?.*)?$"},
                ]
            },
        }
    ]
    assert ingress[1]["toPorts"] == [
        {"ports": [{"port": "9090", "protocol": "TCP"}], "rules": {"http": [{"method": "^POST$", "path": r"^/shop\.Api/Get$"}]}}
    ]
    assert ingress[2]["fromEndpoints"] == [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "ops"}}]
    assert ingress[2]["toPorts"][0]["rules"] == {"http": [{"method": "^GET$"}]}


def test_version_and_selector_callers_use_pod_labels(tmp_path):
    doc = base()
    svc(doc, "web")["versions"] = [{"name": "v1", "weight": 100}, {"name": "v2", "weight": 0, "labels": {"track": "canary"}}]
    svc(doc, "api")["allowFrom"] = [{"service": "web", "versions": ["v2"]}, {"selector": {"role": "batch"}, "namespace": "jobs"}]
    rendering, _ = rendered(tmp_path, doc)
    ingress = objects_of(rendering, "CiliumNetworkPolicy")["shop/api"]["spec"]["ingress"]
    assert [r["fromEndpoints"] for r in ingress] == [
        [{"matchLabels": {"app": "web", "k8s:io.kubernetes.pod.namespace": "shop", "track": "canary"}}],
        [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "jobs", "role": "batch"}}],
    ]
    # Cilium enforces labels natively: no by-version or by-selector finding.
    assert findings(rendering, Feature.AUTHZ_BY_VERSION) == []
    assert findings(rendering, Feature.AUTHZ_BY_SELECTOR) == []


def test_permissive_mtls_requires_no_authentication(tmp_path):
    doc = base()
    doc["spec"]["mesh"] = {"mtls": "permissive"}
    rendering, _ = rendered(tmp_path, doc)
    rule = objects_of(rendering, "CiliumNetworkPolicy")["shop/api"]["spec"]["ingress"][0]
    assert "authentication" not in rule
    assert findings(rendering, Feature.CA_MESH) == []  # no mutual authentication, no SPIRE


def test_without_default_deny_only_allow_lists_deny(tmp_path):
    doc = base()
    doc["spec"]["mesh"] = {"defaultDeny": False}
    rendering, _ = rendered(tmp_path, doc)
    policies = objects_of(rendering, "CiliumNetworkPolicy")
    # web has no allowFrom: no policy selects it, so Cilium lets every caller in.
    assert sorted(policies) == ["shop/api"]
    assert policies["shop/api"]["spec"]["enableDefaultDeny"] == {"ingress": True}


def test_deny_only_policy_does_not_become_allow_nothing(tmp_path):
    doc = base()
    doc["spec"]["mesh"] = {"defaultDeny": False}
    svc(doc, "web")["denyFrom"] = [{"service": "api"}]
    rendering, _ = rendered(tmp_path, doc)
    web = objects_of(rendering, "CiliumNetworkPolicy")["shop/web"]["spec"]
    assert web["enableDefaultDeny"] == {"ingress": False}
    assert "ingress" not in web
    assert web["ingressDeny"] == [
        {
            "fromEndpoints": [{"matchLabels": {"io.cilium.k8s.policy.serviceaccount": "api", "k8s:io.kubernetes.pod.namespace": "shop"}}],
            "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}],
        }
    ]


def test_gateways_are_the_ingress_entity_without_authentication(tmp_path):
    doc = base()
    doc["spec"]["gateways"] = [{"name": "edge", "listeners": [{"port": 80, "protocol": "HTTP"}], "routes": [{"service": "web"}]}]
    rendering, _ = rendered(tmp_path, doc)
    web = objects_of(rendering, "CiliumNetworkPolicy")["shop/web"]["spec"]
    assert web["ingress"] == [{"fromEntities": ["ingress"], "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]
    gateway = objects_of(rendering, "Gateway")["shop/edge"]
    assert gateway["spec"]["gatewayClassName"] == "cilium"
    shared = [f for f in findings(rendering, Feature.AUTHZ_IDENTITY) if "is admitted as" in f.detail]
    assert [(f.subject, f.support) for f in shared] == [("shop/web", A)]
    assert "every Cilium Gateway and Ingress of the cluster shares" in shared[0].detail
    unauthenticated = findings(rendering, Feature.MTLS_STRICT)
    assert [(f.subject, f.support) for f in unauthenticated if f.subject == "shop/web"] == [("shop/web", A)]


def test_foreign_gateway_class_needs_its_service_account(tmp_path):
    doc = base()
    doc["spec"]["gateways"] = [
        {"name": "edge", "className": "envoy-gateway", "listeners": [{"port": 80, "protocol": "HTTP"}], "routes": [{"service": "web"}]}
    ]
    rendering, path = rendered(tmp_path, doc)
    # Nobody admitted (the safe side): a policy that turns on default deny and allows nothing.
    web = objects_of(rendering, "CiliumNetworkPolicy")["shop/web"]["spec"]
    assert web["enableDefaultDeny"] == {"ingress": True} and web["ingress"] == []
    lost = findings(rendering, Feature.AUTHZ_IDENTITY)
    assert [(f.subject, f.support) for f in lost if f.subject == "shop/web"] == [("shop/web", X)]
    assert "set gateways[].serviceAccount" in lost[-1].detail
    assert CliRunner().invoke(app, ["render", str(path), "-p", "cilium"]).exit_code == 3

    doc["spec"]["gateways"][0]["serviceAccount"] = "edge-proxy"
    rendering, _ = rendered(tmp_path, doc)
    web = objects_of(rendering, "CiliumNetworkPolicy")["shop/web"]["spec"]
    assert web["ingress"][0]["fromEndpoints"] == [
        {"matchLabels": {"io.cilium.k8s.policy.serviceaccount": "edge-proxy", "k8s:io.kubernetes.pod.namespace": "shop"}}
    ]
    assert web["ingress"][0]["authentication"] == {"mode": "required"}


def test_egress_default_deny_keeps_dns_and_cluster(tmp_path):
    doc = base()
    doc["spec"]["mesh"] = {"egressDefaultDeny": True}
    doc["spec"]["egress"] = [{"host": "api.stripe.com"}, {"host": "*.googleapis.com", "ports": [443, 8443]}]
    rendering, _ = rendered(tmp_path, doc)
    egress = objects_of(rendering, "CiliumNetworkPolicy")["shop/egress"]["spec"]
    assert egress["endpointSelector"] == {}
    assert egress["enableDefaultDeny"] == {"egress": True}
    assert "ingress" not in egress
    assert egress["egress"] == [
        {
            "toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns"}}],
            "toPorts": [
                {
                    "ports": [{"port": "53", "protocol": "UDP"}, {"port": "53", "protocol": "TCP"}],
                    "rules": {"dns": [{"matchPattern": "*"}]},
                }
            ],
        },
        {"toEntities": ["cluster", "kube-apiserver"]},
        {"toFQDNs": [{"matchName": "api.stripe.com"}], "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]},
        {
            "toFQDNs": [{"matchPattern": "*.googleapis.com"}],
            "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}, {"port": "8443", "protocol": "TCP"}]}],
        },
    ]
    assert findings(rendering, Feature.EGRESS_ALLOW_LIST) == []


def test_egress_hosts_without_default_deny_leave_egress_open(tmp_path):
    doc = base()
    doc["spec"]["egress"] = [{"host": "api.stripe.com"}]
    rendering, _ = rendered(tmp_path, doc)
    egress = objects_of(rendering, "CiliumNetworkPolicy")["shop/egress"]["spec"]
    assert egress["enableDefaultDeny"] == {"egress": False}
    assert [sorted(rule) for rule in egress["egress"]] == [["toEndpoints", "toPorts"], ["toFQDNs", "toPorts"]]


def test_no_egress_intent_no_egress_rules(tmp_path):
    rendering, _ = rendered(tmp_path, base())
    assert all("egress" not in o["spec"] for o in objects_of(rendering, "CiliumNetworkPolicy").values())


def test_gamma_routes_carry_weights_timeouts_and_stay_in_the_service_namespace(tmp_path):
    doc = base()
    web = svc(doc, "web")
    web["namespace"] = "front"
    web["versions"] = [{"name": "v1", "weight": 75}, {"name": "v2", "weight": 25}]
    web["timeout"] = "2s"
    web["retries"] = {"attempts": 0}
    svc(doc, "api")["allowFrom"] = [{"service": "web", "namespace": "front"}]
    rendering, _ = rendered(tmp_path, doc)
    route = objects_of(rendering, "HTTPRoute")["front/web"]
    assert route["spec"] == {
        "parentRefs": [{"group": "", "kind": "Service", "name": "web", "port": 80}],
        "rules": [
            {
                "backendRefs": [{"name": "web-v1", "port": 80, "weight": 75}, {"name": "web-v2", "port": 80, "weight": 25}],
                "timeouts": {"request": "2s"},
            }
        ],
    }
    services = objects_of(rendering, "Service")
    assert services["front/web-v2"]["spec"]["selector"] == {"app": "web", "version": "v2"}
    assert findings(rendering, Feature.RETRIES) == []  # attempts 0: Envoy's default is no retry


def test_grpc_routes_carry_no_timeouts(tmp_path):
    doc = base()
    api = svc(doc, "api")
    api["ports"] = [{"name": "grpc", "port": 9090, "protocol": "grpc"}]
    api["versions"] = [{"name": "v1", "weight": 50}, {"name": "v2", "weight": 50}]
    api["timeout"] = "1s"
    rendering, path = rendered(tmp_path, doc)
    route = objects_of(rendering, "GRPCRoute")["shop/api"]
    assert route["spec"]["rules"] == [
        {"backendRefs": [{"name": "api-v1", "port": 9090, "weight": 50}, {"name": "api-v2", "port": 9090, "weight": 50}]}
    ]
    lost = findings(rendering, Feature.TIMEOUT)
    assert [(f.subject, f.support, f.detail) for f in lost] == [
        ("shop/api", X, "GRPCRoute has no timeouts field: the 1s request timeout on port grpc is not applied")
    ]
    assert CliRunner().invoke(app, ["render", str(path), "-p", "cilium"]).exit_code == 3


def test_retries_are_never_emitted(tmp_path):
    doc = base()
    svc(doc, "web")["retries"] = {"attempts": 3, "perTryTimeout": "200ms"}
    svc(doc, "web")["timeout"] = "1s"
    rendering, _ = rendered(tmp_path, doc)
    route = objects_of(rendering, "HTTPRoute")["shop/web"]
    assert route["spec"]["rules"] == [
        {"backendRefs": [{"name": "web", "port": 80}], "timeouts": {"request": "1s", "backendRequest": "200ms"}}
    ]
    assert "retry" not in yaml.safe_dump(rendering.objects())


def test_render_is_deterministic_across_hash_seeds():
    outputs = set()
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-m", "meshgen", "render", "examples/bookinfo/intent.yaml", "-p", "cilium", "--allow-loss"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.add(result.stdout + result.stderr)
    assert len(outputs) == 1


# --- one case per capability row Cilium does not express natively -----------------------------


def _route(doc, **route):
    api = svc(doc, "api")
    api.setdefault("versions", [{"name": "v1", "weight": 100}, {"name": "v2", "weight": 0}])
    api["routes"] = [{"name": "r", "match": {"headers": {"x-test": {"exact": "1"}}}, **route}]


def _gateway_l4(doc):
    doc["spec"]["gateways"] = [
        {
            "name": "edge",
            "listeners": [{"port": 8443, "protocol": "TLS", "tlsMode": "passthrough", "hostname": "api.example.com"}],
            "routes": [{"service": "api", "port": 8080}],
        }
    ]


def _ca(kind):
    def edit(doc):
        doc["spec"]["mesh"] = {"ca": {"type": kind, **({"issuerRef": {"name": "vault"}} if kind == "vault" else {})}}

    return edit


def _on_api(**fields):
    def edit(doc):
        svc(doc, "api").update(copy.deepcopy(fields))

    return edit


# (feature, edit, expected support, words the detail must contain, exit code without --allow-loss)
CASES = [
    (Feature.MTLS_STRICT, lambda d: None, A, "authentication.mode: required", 0),
    (Feature.MTLS_PERMISSIVE, lambda d: d["spec"].update(mesh={"mtls": "permissive"}), A, "not cryptographic", 0),
    (Feature.CA_MESH, lambda d: None, A, "bundled SPIRE server", 0),
    (Feature.CA_CERT_MANAGER, _ca("cert-manager"), X, "signs workload identities with its own CA", 3),
    (Feature.CA_VAULT, _ca("vault"), X, "signs workload identities with its own CA", 3),
    (Feature.MIRRORING, lambda d: _route(d, version="v1", mirror={"version": "v2", "percent": 10}), A, "mirrors 10% to v2", 0),
    (Feature.RETRIES, _on_api(retries={"attempts": 2}), X, "experimental-channel only", 3),
    (Feature.PER_TRY_TIMEOUT, _on_api(timeout="1s", retries={"attempts": 1, "perTryTimeout": "300ms"}), A, "timeouts.backendRequest", 3),
    (Feature.RETRY_BUDGET, _on_api(retries={"attempts": 1}, retryBudget={"percent": 10}), X, "no retry budget API", 3),
    (Feature.OUTLIER_DETECTION, _on_api(circuitBreaker={"consecutiveErrors": 5}), X, "CiliumEnvoyConfig", 3),
    (Feature.EJECTION_LIMITS, _on_api(circuitBreaker={"maxEjectionPercent": 50}), X, "CiliumEnvoyConfig", 3),
    (Feature.CONNECTION_POOL, _on_api(circuitBreaker={"maxConnections": 10}), X, "CiliumEnvoyConfig", 3),
    (Feature.RATE_LIMIT, _on_api(rateLimit={"requestsPerSecond": 100}), X, "bits per second", 3),
    (Feature.RATE_LIMIT_BURST, _on_api(rateLimit={"requestsPerSecond": 100, "burst": 200}), X, "burst 200", 3),
    (Feature.FAULT_DELAY, lambda d: _route(d, fault={"delay": {"fixedDelay": "7s"}}), X, "7s delay", 3),
    (Feature.FAULT_ABORT, lambda d: _route(d, fault={"abort": {"httpStatus": 503, "percent": 5}}), X, "HTTP 503 abort on 5%", 3),
    (Feature.AUTHZ_IDENTITY, lambda d: None, A, "service-account and namespace labels", 0),
    (
        Feature.AUTHZ_DENY_RULES,
        _on_api(denyFrom=[{"service": "web", "methods": ["DELETE"]}]),
        A,
        "denied ports 8080 entirely",
        0,
    ),
    (
        Feature.REQUEST_AUTHENTICATION,
        _on_api(requestAuthentication={"issuer": "https://auth.example.com", "jwksUri": "https://auth.example.com/jwks"}),
        X,
        "every caller of shop/api is refused",
        3,
    ),
    (Feature.AUTHZ_AUDIT, lambda d: d["spec"].setdefault("mesh", {}).update(enforcement="audit"), A, "policyAuditMode: true", 0),
    (Feature.GATEWAY_L4, _gateway_l4, A, "TLSRoute for TLS passthrough", 0),
    (Feature.TRACING, lambda d: d["spec"].update(telemetry={"tracing": {"samplingPercent": 5}}), X, "no spans", 3),
    (Feature.ACCESS_LOGS, lambda d: d["spec"].update(telemetry={"accessLogs": {}}), A, "Hubble flow export", 0),
    (Feature.METRICS, lambda d: None, A, "Hubble HTTP metrics", 0),
    (Feature.ALERTS, lambda d: None, A, "Hubble metrics", 0),
    (Feature.PROXY_RESOURCES, lambda d: d["spec"].setdefault("mesh", {}).update(
        proxy={"resources": {"requests": {"cpu": "100m"}}}), A, "one per node", 0),
]


def test_every_non_native_cilium_row_has_a_case():
    covered = {case[0] for case in CASES}
    non_native = {f for f, cap in get_platform("cilium").capabilities.items() if cap.support is not N}
    assert non_native - covered == set()
    for feature, _, support, _, _ in CASES:
        assert get_platform("cilium").capabilities[feature].support is support


@pytest.mark.parametrize(("feature", "edit", "support", "words", "exit_code"), CASES, ids=[c[0].value for c in CASES])
def test_capability_row(tmp_path, crd_catalog, feature, edit, support, words, exit_code):
    from meshgen.kube import validate_objects

    doc = base()
    edit(doc)
    rendering, path = rendered(tmp_path, doc)
    found = findings(rendering, feature)
    assert found, f"{feature.value} not reported"
    assert {f.support for f in found} == {support}
    assert any(words in f.detail for f in found), [f.detail for f in found]
    assert [str(v) for v in validate_objects(rendering.objects(), crd_catalog)] == []

    refused = CliRunner().invoke(app, ["render", str(path), "-p", "cilium"])
    assert refused.exit_code == exit_code, refused.output
    if exit_code == 3:
        assert "LOST" in refused.output
        allowed = CliRunner().invoke(app, ["render", str(path), "-p", "cilium", "--allow-loss"])
        assert allowed.exit_code == 0
        assert "kind: CiliumNetworkPolicy" in allowed.stdout


def test_canary_on_tcp_port_is_lost(tmp_path):
    doc = base()
    api = svc(doc, "api")
    api["ports"] = [{"name": "redis", "port": 6379, "protocol": "tcp"}]
    api["versions"] = [{"name": "v1", "weight": 80}, {"name": "v2", "weight": 20}]
    rendering, _ = rendered(tmp_path, doc)
    lost = findings(rendering, Feature.CANARY_WEIGHTS)
    assert [(f.subject, f.support) for f in lost] == [("shop/api", X)]
    assert "port redis (tcp)" in lost[0].detail
    assert objects_of(rendering, "Service").keys() == {"shop/api", "shop/web"}  # no unused version Services


def test_http_only_match_on_grpc_port_is_lost_not_a_catch_all(tmp_path):
    doc = base()
    api = svc(doc, "api")
    api["ports"] = [{"name": "http", "port": 8080}, {"name": "grpc", "port": 9090, "protocol": "grpc"}]
    api["versions"] = [{"name": "v1", "weight": 100}, {"name": "v2", "weight": 0}]
    api["routes"] = [{"name": "beta", "match": {"path": {"prefix": "/beta"}}, "version": "v2"}]
    rendering, _ = rendered(tmp_path, doc)
    grpc = objects_of(rendering, "GRPCRoute")["shop/api-grpc"]
    # Only the weighted default: the path rule must not turn into "every call goes to v2".
    assert grpc["spec"]["rules"] == [
        {"backendRefs": [{"name": "api-v1", "port": 9090, "weight": 100}, {"name": "api-v2", "port": 9090, "weight": 0}]}
    ]
    http = objects_of(rendering, "HTTPRoute")["shop/api-http"]
    assert http["spec"]["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/beta"}}]
    lost = findings(rendering, Feature.REQUEST_ROUTING)
    assert [(f.support, f.detail) for f in lost] == [
        (X, "route beta matches a path, HTTP method or query parameter, which a GRPCRoute cannot: it does not apply to port grpc")
    ]


def test_route_order_that_gateway_api_would_invert_is_reported(tmp_path):
    doc = base()
    api = svc(doc, "api")
    api["versions"] = [{"name": "v1", "weight": 100}, {"name": "v2", "weight": 0}]
    api["routes"] = [
        {"name": "by-header", "match": {"headers": {"x-beta": {"exact": "1"}}}, "version": "v2"},
        {"name": "by-path", "match": {"path": {"exact": "/pay"}}, "version": "v1"},
    ]
    rendering, _ = rendered(tmp_path, doc)
    found = findings(rendering, Feature.REQUEST_ROUTING)
    assert [(f.support, f.detail) for f in found] == [
        (
            A,
            (
                "route by-path has a more specific HTTP match than route by-header, so Cilium tries it first where both "
                "match (Gateway API orders rules by match specificity, not by position); the intent tries by-header first"
            ),
        )
    ]


def test_example_routes_carry_no_retry():
    for example in ("bookinfo", "online-boutique"):
        path = REPO / "examples" / example / "intent.yaml"
        rendering = render(load_intent(path), "cilium", str(path))
        for obj in rendering.objects():
            for rule in obj.get("spec", {}).get("rules", []) if obj["kind"] in ("HTTPRoute", "GRPCRoute") else []:
                assert "retry" not in rule


def test_method_match_is_reported_as_gateway_profile_only(tmp_path):
    doc = base()
    api = svc(doc, "api")
    api["versions"] = [{"name": "v1", "weight": 100}, {"name": "v2", "weight": 0}]
    api["routes"] = [{"name": "writes", "match": {"method": "POST"}, "version": "v2"}]
    rendering, _ = rendered(tmp_path, doc)
    route = objects_of(rendering, "HTTPRoute")["shop/api"]
    assert route["spec"]["rules"][0] == {"matches": [{"method": "POST"}], "backendRefs": [{"name": "api-v2", "port": 8080}]}
    found = findings(rendering, Feature.REQUEST_ROUTING)
    assert [(f.support, f.detail) for f in found] == [
        (
            A,
            (
                "route writes matches the HTTP method, which Cilium passes only the Gateway-profile conformance tests "
                "for, not the mesh profile"
            ),
        )
    ]
