"""The no-mesh planner (``--platform kubernetes``): what it emits for each intent feature, and what it reports.

Expected objects are written out by hand from the NetworkPolicy, Gateway API and cert-manager
documentation; every feature that needs a proxy must come back as a named finding, and
restrictions NetworkPolicy cannot enforce must fail closed (the caller refused, never widened).
"""

from __future__ import annotations

import json

import pytest
import yaml

from meshgen import load_intent, render
from meshgen.capabilities import Feature, Support
from meshgen.platforms import get_platform
from meshgen.platforms.kubernetes.capabilities import COLUMN
from meshgen.platforms.kubernetes.network_policy import Denied, Peer, subtract
from meshgen.platforms.kubernetes.traffic import merge_match
from tests.conftest import MINIMAL, REPO, write_intent
from tests.workflow_helpers import run

N, A, X = Support.NATIVE, Support.APPROXIMATED, Support.NOT_EXPRESSIBLE
LABELS = {"app.kubernetes.io/managed-by": "meshgen", "app.kubernetes.io/part-of": "shop"}
BOOKINFO = REPO / "examples" / "bookinfo" / "intent.yaml"


def base() -> dict:
    return yaml.safe_load(MINIMAL)


def svc(doc: dict, name: str) -> dict:
    return next(s for s in doc["spec"]["services"] if s["name"] == name)


def rendered(tmp_path, doc: dict):
    path = write_intent(tmp_path, yaml.safe_dump(doc, sort_keys=False))
    return render(load_intent(path), "kubernetes", "intent.yaml")


def objects_of(rendering, kind: str) -> dict[str, dict]:
    return {
        f"{o['metadata'].get('namespace')}/{o['metadata']['name']}": o for o in rendering.objects() if o["kind"] == kind
    }


def findings(rendering, feature: Feature):
    return [f for f in rendering.plan.findings if f.feature is feature]


def ns(name: str) -> dict:
    return {"matchLabels": {"kubernetes.io/metadata.name": name}}


# --- NetworkPolicy --------------------------------------------------------------------------


def test_minimal_intent_is_a_default_deny_namespace_and_one_allow(tmp_path):
    r = rendered(tmp_path, base())
    policies = objects_of(r, "NetworkPolicy")
    assert sorted(policies) == ["shop/api", "shop/default-deny-ingress"]
    assert policies["shop/default-deny-ingress"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    assert policies["shop/api"]["spec"] == {
        "podSelector": {"matchLabels": {"app": "api"}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"namespaceSelector": ns("shop"), "podSelector": {"matchLabels": {"app": "web"}}}],
                "ports": [{"protocol": "TCP", "port": 8080}],
            }
        ],
    }
    assert policies["shop/api"]["metadata"]["labels"] == LABELS
    assert sorted(objects_of(r, "Service")) == ["shop/api", "shop/web"]
    assert sorted(objects_of(r, "Namespace")) == ["None/shop"]


def test_policy_ports_are_the_pods_ports_not_the_service_ports(tmp_path):
    doc = base()
    svc(doc, "api")["ports"] = [
        {"name": "http", "port": 80, "targetPort": 8080},
        {"name": "dns", "port": 53, "protocol": "udp"},
    ]
    r = rendered(tmp_path, doc)
    assert objects_of(r, "NetworkPolicy")["shop/api"]["spec"]["ingress"][0]["ports"] == [
        {"protocol": "UDP", "port": 53},
        {"protocol": "TCP", "port": 8080},
    ]


def test_each_caller_kind_selects_its_pods(tmp_path):
    doc = base()
    svc(doc, "web")["versions"] = [
        {"name": "v1", "weight": 90},
        {"name": "v2", "weight": 10, "labels": {"track": "canary"}},
    ]
    svc(doc, "api")["allowFrom"] = [
        {"service": "web", "versions": ["v2"]},
        {"namespace": "ops"},
        {"selector": {"role": "batch"}, "namespace": "jobs"},
    ]
    r = rendered(tmp_path, doc)
    assert objects_of(r, "NetworkPolicy")["shop/api"]["spec"]["ingress"] == [
        {
            "from": [
                {"namespaceSelector": ns("shop"), "podSelector": {"matchLabels": {"app": "web", "track": "canary"}}},
                {"namespaceSelector": ns("ops")},
                {"namespaceSelector": ns("jobs"), "podSelector": {"matchLabels": {"role": "batch"}}},
            ],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]
    assert findings(r, Feature.AUTHZ_BY_VERSION) == []  # native: labels tell versions apart


def test_l7_restricted_caller_fails_closed(tmp_path):
    doc = base()
    svc(doc, "api")["allowFrom"] = [{"service": "web", "methods": ["GET"], "paths": ["/orders/*"]}]
    r = rendered(tmp_path, doc)
    policy = objects_of(r, "NetworkPolicy")["shop/api"]
    assert policy["spec"] == {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"]}
    [lost] = findings(r, Feature.AUTHZ_L7)
    assert lost.support is X
    assert lost.detail == (
        "allowFrom service shop/web is restricted to methods GET and paths /orders/*, which NetworkPolicy cannot "
        "enforce: the caller is refused port http (8080) entirely (fail closed)"
    )


def test_service_account_caller_is_its_workloads_labels_or_refused(tmp_path):
    doc = base()
    svc(doc, "web")["serviceAccount"] = "frontend"
    svc(doc, "api")["allowFrom"] = [
        {"serviceAccount": "frontend", "namespace": "shop"},
        {"serviceAccount": "prometheus", "namespace": "monitoring"},
    ]
    r = rendered(tmp_path, doc)
    assert objects_of(r, "NetworkPolicy")["shop/api"]["spec"]["ingress"] == [
        {
            "from": [{"namespaceSelector": ns("shop"), "podSelector": {"matchLabels": {"app": "web"}}}],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]
    lost = [f for f in findings(r, Feature.AUTHZ_IDENTITY) if f.support is X]
    assert [f.detail.split(":")[0] for f in lost] == ["service account monitoring/prometheus"]


def test_denied_labels_are_cut_out_of_the_allowed_selectors(tmp_path):
    doc = base()
    svc(doc, "api")["allowFrom"] = [{"namespace": "jobs"}, {"selector": {"role": "batch"}, "namespace": "jobs"}]
    svc(doc, "api")["denyFrom"] = [{"selector": {"tier": "untrusted", "role": "batch"}, "namespace": "jobs"}]
    r = rendered(tmp_path, doc)
    not_in = lambda k, v: {"key": k, "operator": "NotIn", "values": [v]}
    assert objects_of(r, "NetworkPolicy")["shop/api"]["spec"]["ingress"] == [
        {
            "from": [
                {"namespaceSelector": ns("jobs"), "podSelector": {"matchExpressions": [not_in("role", "batch")]}},
                {"namespaceSelector": ns("jobs"), "podSelector": {"matchExpressions": [not_in("tier", "untrusted")]}},
                {
                    "namespaceSelector": ns("jobs"),
                    "podSelector": {
                        "matchLabels": {"role": "batch"},
                        "matchExpressions": [not_in("tier", "untrusted")],
                    },
                },
            ],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]


@pytest.mark.parametrize(
    ("peer", "denied", "left"),
    [
        (Peer("a"), Denied("b", None), [Peer("a")]),
        (Peer("a"), Denied("a", None), []),
        (Peer("a", (("app", "x"),)), Denied("a", (("app", "y"),)), [Peer("a", (("app", "x"),))]),
        (Peer("a", (("app", "x"),)), Denied("a", (("app", "x"),)), []),
        (
            Peer("a", (("app", "x"),)),
            Denied("a", (("app", "x"), ("t", "u"))),
            [Peer("a", (("app", "x"),), not_labels=(("t", "u"),))],
        ),
        (
            Peer(None),
            Denied("a", (("t", "u"),)),
            [Peer(None, not_namespaces=("a",)), Peer("a", not_labels=(("t", "u"),))],
        ),
        (Peer(None, not_namespaces=("a",)), Denied("a", None), [Peer(None, not_namespaces=("a",))]),
    ],
)
def test_subtract(peer, denied, left):
    assert subtract(peer, denied) == left


def test_open_service_with_a_deny_admits_every_other_pod(tmp_path):
    doc = base()
    doc["spec"]["mesh"] = {"defaultDeny": False}
    svc(doc, "api")["allowFrom"] = []
    svc(doc, "api")["denyFrom"] = [{"namespace": "sandbox"}]
    r = rendered(tmp_path, doc)
    policies = objects_of(r, "NetworkPolicy")
    assert sorted(policies) == ["shop/api"]  # no default deny, web stays open
    assert policies["shop/api"]["spec"]["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchExpressions": [
                            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["sandbox"]}
                        ]
                    }
                }
            ],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]
    assert any("no caller outside the cluster" in f.detail for f in findings(r, Feature.AUTHZ_DENY_RULES))


def test_jwt_requirement_admits_no_caller(tmp_path):
    doc = base()
    svc(doc, "api")["requestAuthentication"] = {
        "issuer": "https://auth.example.com",
        "jwksUri": "https://auth.example.com/jwks",
    }
    r = rendered(tmp_path, doc)
    assert "ingress" not in objects_of(r, "NetworkPolicy")["shop/api"]["spec"]
    [lost] = findings(r, Feature.REQUEST_AUTHENTICATION)
    assert lost.support is X and "no caller is admitted (fail closed)" in lost.detail


def test_egress_deny_keeps_dns_and_the_cluster_and_loses_host_names(tmp_path):
    doc = base()
    doc["spec"]["mesh"] = {"egressDefaultDeny": True}
    doc["spec"]["egress"] = [{"host": "api.stripe.com"}]
    r = rendered(tmp_path, doc)
    egress = objects_of(r, "NetworkPolicy")["shop/default-deny-egress"]["spec"]
    assert egress == {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [
                    {"namespaceSelector": ns("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
                ],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            },
            {"to": [{"namespaceSelector": {}}]},
        ],
    }
    lost = [f for f in findings(r, Feature.EGRESS_ALLOW_LIST) if f.support is X]
    assert len(lost) == 1 and "api.stripe.com are refused (fail closed)" in lost[0].detail


# --- edge -----------------------------------------------------------------------------------

GATEWAY = {
    "name": "public",
    "listeners": [{"port": 80, "protocol": "HTTP"}],
    "routes": [{"match": {"path": {"prefix": "/api"}}, "service": "api"}],
}


def test_gateway_splits_versions_at_the_edge_and_admits_its_pods(tmp_path):
    doc = base()
    svc(doc, "api")["versions"] = [{"name": "v1", "weight": 90}, {"name": "v2", "weight": 10}]
    doc["spec"]["gateways"] = [GATEWAY]
    r = rendered(tmp_path, doc)
    gateway = objects_of(r, "Gateway")["shop/public"]
    assert gateway["spec"]["gatewayClassName"] == "nginx"
    route = objects_of(r, "HTTPRoute")["shop/public-http-80"]
    assert route["spec"]["rules"] == [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
            "backendRefs": [
                {"name": "api-v1", "port": 8080, "weight": 90},
                {"name": "api-v2", "port": 8080, "weight": 10},
            ],
        }
    ]
    services = objects_of(r, "Service")
    assert services["shop/api-v2"]["spec"]["selector"] == {"app": "api", "version": "v2"}
    policies = objects_of(r, "NetworkPolicy")
    assert {
        "namespaceSelector": ns("shop"),
        "podSelector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "public"}},
    } in (policies["shop/api"]["spec"]["ingress"][0]["from"])
    assert policies["shop/gateway-public"]["spec"] == {
        "podSelector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "public"}},
        "policyTypes": ["Ingress"],
        "ingress": [{"ports": [{"protocol": "TCP", "port": 80}]}],
    }
    [weights] = findings(r, Feature.CANARY_WEIGHTS)
    assert weights.support is A and "apply only to traffic from gateway shop/public" in weights.detail


def test_east_west_weights_and_header_routes_are_lost(tmp_path):
    doc = base()
    svc(doc, "api")["versions"] = [{"name": "v1", "weight": 90}, {"name": "v2", "weight": 10}]
    svc(doc, "api")["routes"] = [
        {"name": "tester", "match": {"headers": {"end-user": {"exact": "jason"}}}, "version": "v2"}
    ]
    r = rendered(tmp_path, doc)
    assert [(f.feature, f.support) for f in r.plan.findings if f.subject == "shop/api" and f.support is X] == [
        (Feature.CANARY_WEIGHTS, X),
        (Feature.REQUEST_ROUTING, X),
    ]
    assert not objects_of(r, "HTTPRoute")  # no GAMMA: nothing would serve it


def test_gateway_class_comes_from_the_intent(tmp_path):
    doc = base()
    doc["spec"]["gateways"] = [{**GATEWAY, "className": "eg"}]
    r = rendered(tmp_path, doc)
    assert objects_of(r, "Gateway")["shop/public"]["spec"]["gatewayClassName"] == "eg"
    assert not [f for f in findings(r, Feature.GATEWAY_HTTP) if "default GatewayClass" in f.detail]


# --- what the applications must do ---------------------------------------------------------


def test_resilience_is_reported_per_service_with_the_application_s_job(tmp_path):
    doc = base()
    svc(doc, "api").update(
        {
            "timeout": "2s",
            "retries": {"attempts": 3, "perTryTimeout": "500ms"},
            "retryBudget": {"percent": 10},
            "circuitBreaker": {"consecutiveErrors": 5, "maxConnections": 10},
            "rateLimit": {"requestsPerSecond": 100, "burst": 20},
        }
    )
    r = rendered(tmp_path, doc)
    got = {f.feature: f.detail for f in r.plan.findings if f.subject == "shop/api" and f.support is X}
    assert got == {
        Feature.TIMEOUT: "the 2s request timeout is not applied: callers of api must set it as their client's deadline",
        Feature.RETRIES: "3 retries on 5xx, reset, connect-failure are not made: callers of api must retry in their "
        "client library (idempotent requests only)",
        Feature.PER_TRY_TIMEOUT: "the 500ms per-try timeout is not applied: callers of api must bound each try",
        Feature.RETRY_BUDGET: "retryBudget 10% / 10 per second is not applied: callers of api must cap retries in their "
        "client library (for example gRPC retry throttling)",
        Feature.OUTLIER_DETECTION: "outlier detection is not applied: the Service keeps sending to pods that fail but "
        "pass their readiness probe; callers of api need client-side load balancing with ejection, or a stricter "
        "readiness probe",
        Feature.CONNECTION_POOL: "connection-pool limits are not applied: callers of api must limit connections and "
        "pending requests in their client library",
        Feature.RATE_LIMIT: "100 requests/s is not enforced: api must limit its own request rate",
        Feature.RATE_LIMIT_BURST: "burst 20 is not enforced (no rate limit)",
    }


def test_a_baseline_intent_renders_without_losses(tmp_path):
    """What the no-mesh baseline can keep whole: who may call whom at L4, and nothing that needs a proxy."""
    doc = base()
    doc["spec"]["mesh"] = {"mtls": "permissive"}
    doc["spec"]["telemetry"] = {"metrics": False, "alerts": {"enabled": False}}
    path = write_intent(tmp_path, yaml.safe_dump(doc))
    result = run("render", path, "--platform", "kubernetes")
    assert result.exit_code == 0, result.stderr
    assert "LOST" not in result.stderr


def test_strict_mtls_is_lost_and_refused_without_allow_loss(tmp_path):
    path = write_intent(tmp_path, MINIMAL)
    refused = run("render", path, "--platform", "kubernetes")
    assert refused.exit_code == 3
    assert "mtls-strict" in refused.stderr and refused.stdout == ""
    accepted = run("render", path, "--platform", "kubernetes", "--allow-loss")
    assert accepted.exit_code == 0
    assert "kind: NetworkPolicy" in accepted.stdout


# --- certificates and alerts ---------------------------------------------------------------


def test_cert_manager_issues_each_workload_identity_a_certificate(tmp_path):
    doc = base()
    doc["spec"]["mesh"] = {"ca": {"type": "cert-manager"}, "trustDomain": "example.org"}
    svc(doc, "web")["serviceAccount"] = "frontend"
    r = rendered(tmp_path, doc)
    certs = objects_of(r, "Certificate")
    assert sorted(certs) == [
        "cert-manager/shop-root-ca",
        "cert-manager/shop-workload-ca",
        "shop/api-workload-tls",
        "shop/frontend-workload-tls",
    ]
    assert certs["shop/frontend-workload-tls"]["spec"] == {
        "secretName": "frontend-workload-tls",
        "isCA": False,
        "uris": ["spiffe://example.org/ns/shop/sa/frontend"],
        "dnsNames": ["web.shop.svc", "web.shop.svc.cluster.local"],
        "duration": "24h",
        "renewBefore": "8h",
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "usages": ["digital signature", "key encipherment", "server auth", "client auth"],
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "shop-workload-ca"},
    }
    issuers = objects_of(r, "ClusterIssuer")
    assert issuers["None/shop-workload-ca"]["spec"] == {"ca": {"secretName": "shop-workload-ca"}}
    assert certs["cert-manager/shop-workload-ca"]["spec"]["issuerRef"]["name"] == "shop-root-ca"
    bundle = objects_of(r, "Bundle")["None/shop-ca-bundle"]["spec"]
    assert bundle["sources"] == [{"secret": {"name": "shop-root-ca", "key": "ca.crt"}}]
    assert bundle["target"]["namespaceSelector"]["matchExpressions"][0]["values"] == ["shop"]
    rule = objects_of(r, "PrometheusRule")["shop/shop-certificate-alerts"]
    assert [x["labels"]["certificate"] for x in rule["spec"]["groups"][0]["rules"]] == ["root", "issuer", "workload"]
    assert [f.support for f in findings(r, Feature.CA_CERT_MANAGER)] == [A]
    assert [p.path for p in r.plan.files] == ["values/trust-manager.yaml"]


def test_telemetry_needs_the_applications(tmp_path):
    doc = base()
    doc["spec"]["telemetry"] = {"tracing": {"samplingPercent": 5}, "accessLogs": {"enabled": True}}
    r = rendered(tmp_path, doc)
    assert {f.feature for f in r.plan.findings if f.subject == "mesh" and f.support is X} >= {
        Feature.TRACING,
        Feature.ACCESS_LOGS,
        Feature.METRICS,
        Feature.ALERTS,
        Feature.MTLS_STRICT,
    }
    assert not objects_of(r, "PodMonitor") and not objects_of(r, "PrometheusRule")


# --- the column and the switch to a mesh ---------------------------------------------------


def test_column_has_every_feature_and_is_the_platform_s():
    assert set(COLUMN) == set(Feature)
    assert get_platform("kubernetes").capabilities is COLUMN
    assert COLUMN[Feature.AUTHZ_DEFAULT_DENY].support is N
    assert COLUMN[Feature.AUTHZ_L7].support is X
    assert COLUMN[Feature.EGRESS_ALLOW_LIST].support is X


def test_diff_to_a_mesh_reads_as_what_the_mesh_adds():
    result = run("diff", BOOKINFO, "--from", "kubernetes", "--to", "istio", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    gained = {(f["subject"], f["feature"]) for f in doc["features"] if f["change"] == "gained"}
    assert {
        ("mesh", "mtls-strict"),
        ("bookinfo/reviews", "authz-l7"),
        ("bookinfo/reviews", "canary-weights"),
        ("bookinfo/ratings", "retries"),
    } <= gained
    assert doc["summary"]["lost"] == 0


def test_header_routes_apply_at_the_edge_before_the_weights(tmp_path):
    doc = base()
    svc(doc, "api")["versions"] = [{"name": "v1", "weight": 100}, {"name": "v2", "weight": 0}]
    svc(doc, "api")["routes"] = [
        {"name": "tester", "match": {"headers": {"end-user": {"exact": "jason"}}}, "version": "v2"},
        {"name": "other-path", "match": {"path": {"prefix": "/beta"}}, "version": "v2"},
    ]
    doc["spec"]["gateways"] = [GATEWAY]
    r = rendered(tmp_path, doc)
    rules = objects_of(r, "HTTPRoute")["shop/public-http-80"]["spec"]["rules"]
    api_prefix = {"path": {"type": "PathPrefix", "value": "/api"}}
    assert rules == [
        {
            "matches": [{**api_prefix, "headers": [{"name": "end-user", "type": "Exact", "value": "jason"}]}],
            "backendRefs": [{"name": "api-v2", "port": 8080}],
        },
        {
            "matches": [api_prefix],
            "backendRefs": [
                {"name": "api-v1", "port": 8080, "weight": 100},
                {"name": "api-v2", "port": 8080, "weight": 0},
            ],
        },
    ]
    routing = {f.detail.split(" sends")[0]: f.support for f in findings(r, Feature.REQUEST_ROUTING)}
    # A path route cannot be ANDed with the gateway's own path prefix: lost, not guessed.
    assert routing == {"route tester": A, "route other-path": X}


@pytest.mark.parametrize(
    ("first", "second", "merged"),
    [
        ({}, {"method": "GET"}, {"method": "GET"}),
        ({"path": {"type": "Exact", "value": "/a"}}, {"path": {"type": "Exact", "value": "/b"}}, None),
        ({"method": "GET"}, {"method": "POST"}, None),
        (
            {"headers": [{"name": "a", "type": "Exact", "value": "1"}]},
            {"headers": [{"name": "a", "type": "Exact", "value": "2"}]},
            None,
        ),
        (
            {"headers": [{"name": "b", "type": "Exact", "value": "1"}]},
            {"headers": [{"name": "a", "type": "Exact", "value": "2"}]},
            {"headers": [{"name": "a", "type": "Exact", "value": "2"}, {"name": "b", "type": "Exact", "value": "1"}]},
        ),
    ],
)
def test_merge_match(first, second, merged):
    assert merge_match(first, second) == merged


def test_edge_routes_never_push_an_httproute_past_16_rules(tmp_path):
    doc = base()
    svc(doc, "api")["versions"] = [{"name": "v1", "weight": 100}, {"name": "v2", "weight": 0}]
    svc(doc, "api")["routes"] = [
        {"name": "tester", "match": {"headers": {"end-user": {"exact": "jason"}}}, "version": "v2"}
    ]
    routes = [{"match": {"path": {"prefix": f"/p{i}"}}, "service": "api" if i % 2 else "web"} for i in range(16)]
    doc["spec"]["gateways"] = [{**GATEWAY, "routes": routes}]
    r = rendered(tmp_path, doc)
    assert len(objects_of(r, "HTTPRoute")["shop/public-http-80"]["spec"]["rules"]) == 16
    assert [f.support for f in findings(r, Feature.REQUEST_ROUTING)] == [X]
