"""The Istio target (sidecar mode): what each intent feature becomes, and what is reported.

Small intents are written here and their objects read back from the rendered YAML; every
expected value is written by hand from Istio's API reference (networking v1, security v1) and
the project's platform matrix (shared/design/platform-matrix.md), not computed by meshgen. Only the public pipeline is used
(meshgen.loader, meshgen.pipeline), so these tests hold whatever shape the platform package takes.
Findings are compared by their feature and support names (the capability report's words).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen.loader import parse_intent
from meshgen.pipeline import plan, render
from meshgen.validate import validate_objects
from tests.conftest import EXAMPLES, MINIMAL
from tests.platforms.istio_sim import Mesh, principal

FQDN = "{}.shop.svc.cluster.local"


def rendered(text: str):
    """Render intent YAML for Istio; returns the Rendering."""
    return render(parse_intent(text, Path("intent.yaml")), "istio", "intent.yaml")


def objects(text: str) -> list[dict]:
    return rendered(text).objects()


def one(objs: list[dict], kind: str, name: str, namespace: str | None = "shop") -> dict:
    found = [
        o
        for o in objs
        if o["kind"] == kind and o["metadata"]["name"] == name and o["metadata"].get("namespace") == namespace
    ]
    assert len(found) == 1, f"expected one {kind} {namespace}/{name}, got {len(found)}"
    return found[0]


def kinds(objs: list[dict], kind: str) -> list[str]:
    return sorted(f"{o['metadata'].get('namespace')}/{o['metadata']['name']}" for o in objs if o["kind"] == kind)


def findings(rendering, feature: str, subject: str | None = None) -> list:
    return [f for f in rendering.plan.findings if f.feature == feature and (subject is None or f.subject == subject)]


def shop(api: str = "", *, web: str = "", spec: str = "", rest: str = "") -> str:
    """The MINIMAL shape (api allows web) with extra api and web fields, spec fields and services."""
    doc = yaml.safe_load(MINIMAL)
    doc["spec"]["services"][0].update(yaml.safe_load(api) or {})
    doc["spec"]["services"][1].update(yaml.safe_load(web) or {})
    doc["spec"].update(yaml.safe_load(spec) or {})
    doc["spec"]["services"] += yaml.safe_load(rest) or []
    return yaml.safe_dump(doc, sort_keys=False)


# --- namespaces, mTLS and the allow-list ------------------------------------------------------------


def test_minimal_intent_objects():
    objs = objects(MINIMAL)
    assert one(objs, "Namespace", "shop", None)["metadata"]["labels"]["istio-injection"] == "enabled"
    assert one(objs, "PeerAuthentication", "default")["spec"] == {"mtls": {"mode": "STRICT"}}
    assert one(objs, "AuthorizationPolicy", "allow-nothing")["spec"] == {}  # deny by default (no rules = no match)
    assert one(objs, "AuthorizationPolicy", "api")["spec"] == {
        "selector": {"matchLabels": {"app": "api"}},
        "action": "ALLOW",
        "rules": [
            {
                "from": [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}],
                "to": [{"operation": {"ports": ["8080"]}}],
            }
        ],
    }
    assert kinds(objs, "AuthorizationPolicy") == ["shop/allow-nothing", "shop/api"]
    assert kinds(objs, "VirtualService") == ["shop/api", "shop/web"]
    assert kinds(objs, "DestinationRule") == []  # no subsets and no traffic policy: nothing to say
    assert kinds(objs, "Sidecar") == kinds(objs, "ServiceEntry") == kinds(objs, "EnvoyFilter") == []


@pytest.mark.parametrize(
    ("mesh", "mode", "allow_nothing"),
    [
        ("{mtls: strict, defaultDeny: true}", "STRICT", True),
        ("{mtls: permissive, defaultDeny: true}", "PERMISSIVE", True),
        ("{mtls: permissive, defaultDeny: false}", "PERMISSIVE", False),
    ],
)
def test_mtls_mode_and_default_deny_per_namespace(mesh, mode, allow_nothing):
    objs = objects(shop(spec=f"mesh: {mesh}", rest="[{name: jobs, namespace: batch, ports: [{name: http, port: 80}]}]"))
    for ns in ("shop", "batch"):
        assert one(objs, "PeerAuthentication", "default", ns)["spec"] == {"mtls": {"mode": mode}}
        assert (
            bool([o for o in objs if o["metadata"]["name"] == "allow-nothing" and o["metadata"]["namespace"] == ns])
            is allow_nothing
        )


def test_the_allow_list_names_workload_ports_and_spiffe_principals():
    text = shop(
        "ports:\n"
        "  - {name: http, port: 80, targetPort: 8080}\n"
        "  - {name: grpc, port: 9090, targetPort: 9091, protocol: grpc}\n"
        "allowFrom:\n"
        "  - {service: web, ports: [http], methods: [GET], paths: [/items/*]}\n"
        "  - {namespace: ops, ports: [80]}\n"
        "  - {serviceAccount: prom, namespace: monitoring}\n"
        "  - {service: web, ports: [grpc], grpc: {service: shop.Api, methods: [Get, List]}}\n",
        spec="mesh: {trustDomain: corp.example}",
    )
    objs = objects(text)
    service = one(objs, "Service", "api")["spec"]["ports"]
    assert service == [
        {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP", "appProtocol": "http"},
        {"name": "grpc", "port": 9090, "targetPort": 9091, "protocol": "TCP", "appProtocol": "grpc"},
    ]
    rules = one(objs, "AuthorizationPolicy", "api")["spec"]["rules"]
    assert rules == [
        {
            "from": [{"source": {"principals": ["corp.example/ns/shop/sa/web"]}}],
            "to": [{"operation": {"ports": ["8080"], "methods": ["GET"], "paths": ["/items/*"]}}],
        },
        {"from": [{"source": {"namespaces": ["ops"]}}], "to": [{"operation": {"ports": ["8080"]}}]},
        {
            "from": [{"source": {"principals": ["corp.example/ns/monitoring/sa/prom"]}}],
            "to": [{"operation": {"ports": ["8080", "9091"]}}],
        },
        {
            "from": [{"source": {"principals": ["corp.example/ns/shop/sa/web"]}}],
            "to": [{"operation": {"ports": ["9091"], "paths": ["/shop.Api/Get", "/shop.Api/List"]}}],
        },
    ]


def test_deny_rules_are_their_own_deny_policy():
    objs = objects(
        shop("denyFrom: [{namespace: sandbox}, {serviceAccount: intern, namespace: shop, methods: [DELETE]}]")
    )
    deny = one(objs, "AuthorizationPolicy", "api-deny")["spec"]
    assert deny["action"] == "DENY" and deny["selector"] == {"matchLabels": {"app": "api"}}
    assert deny["rules"] == [
        {"from": [{"source": {"namespaces": ["sandbox"]}}], "to": [{"operation": {"ports": ["8080"]}}]},
        {
            "from": [{"source": {"principals": ["cluster.local/ns/shop/sa/intern"]}}],
            "to": [{"operation": {"ports": ["8080"], "methods": ["DELETE"]}}],
        },
    ]


def test_versions_with_their_own_service_account_are_admitted_alone():
    versions = (
        "versions: [{name: v1, weight: 50, serviceAccount: web-v1}, {name: v2, weight: 50, serviceAccount: web-v2}]"
    )
    objs = objects(shop("allowFrom: [{service: web, versions: [v2]}]", web=versions))
    rule = one(objs, "AuthorizationPolicy", "api")["spec"]["rules"][0]
    assert rule["from"] == [{"source": {"principals": ["cluster.local/ns/shop/sa/web-v2"]}}]


def test_jwt_is_request_authentication_plus_a_deny_without_token():
    text = shop(
        "requestAuthentication:\n"
        "  issuer: https://auth.example.com\n"
        "  jwksUri: https://auth.example.com/jwks.json\n"
        "  audiences: [shop]\n"
        "  requiredClaims: {groups: [admin, ops], scope: [write]}\n"
    )
    objs = objects(text)
    assert one(objs, "RequestAuthentication", "api")["spec"] == {
        "selector": {"matchLabels": {"app": "api"}},
        "jwtRules": [
            {
                "issuer": "https://auth.example.com",
                "jwksUri": "https://auth.example.com/jwks.json",
                "audiences": ["shop"],
            }
        ],
    }
    # RequestAuthentication alone accepts requests without a token; the DENY refuses them.
    assert one(objs, "AuthorizationPolicy", "api-require-jwt")["spec"] == {
        "selector": {"matchLabels": {"app": "api"}},
        "action": "DENY",
        "rules": [
            {"from": [{"source": {"notRequestPrincipals": ["*"]}}]},
            {"when": [{"key": "request.auth.claims[groups]", "notValues": ["admin", "ops"]}]},
            {"when": [{"key": "request.auth.claims[scope]", "notValues": ["write"]}]},
        ],
    }


def test_gateway_is_gateway_api_with_its_own_allow_under_default_deny():
    text = shop(
        "allowFrom: [{gateway: public}]",
        spec="gateways: [{name: public, listeners: [{port: 80, protocol: HTTP}], routes: [{service: api}]}]",
    )
    objs = objects(text)
    assert one(objs, "Gateway", "public")["spec"]["gatewayClassName"] == "istio"
    assert one(objs, "AuthorizationPolicy", "public-gateway-ingress")["spec"] == {
        "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public"}],
        "action": "ALLOW",
        "rules": [{}],
    }
    # Istio deploys the gateway as <name>-<class>: that service account is the caller of api.
    rule = one(objs, "AuthorizationPolicy", "api")["spec"]["rules"][0]
    assert rule == {
        "from": [{"source": {"principals": ["cluster.local/ns/shop/sa/public-istio"]}}],
        "to": [{"operation": {"ports": ["8080"]}}],
    }


# --- traffic ------------------------------------------------------------------------------------------


def test_no_retries_is_attempts_zero_because_istio_retries_by_default():
    objs = objects(MINIMAL)
    assert one(objs, "VirtualService", "api")["spec"] == {
        "hosts": [FQDN.format("api")],
        "http": [
            {"name": "default", "route": [{"destination": {"host": FQDN.format("api")}}], "retries": {"attempts": 0}}
        ],
    }
    explicit = objects(
        shop("retries: {attempts: 0}\ntimeout: 3s", spec="defaults: {namespace: shop, retries: {attempts: 4}}")
    )
    assert one(explicit, "VirtualService", "api")["spec"]["http"][0]["retries"] == {"attempts": 0}
    assert one(explicit, "VirtualService", "api")["spec"]["http"][0]["timeout"] == "3s"
    inherited = one(explicit, "VirtualService", "web")["spec"]["http"][0]["retries"]
    assert inherited == {"attempts": 4, "retryOn": "5xx,reset,connect-failure"}  # README default retryOn


def test_retries_timeout_and_per_try_timeout():
    objs = objects(
        shop("timeout: 2s\nretries: {attempts: 3, perTryTimeout: 500ms, retryOn: [gateway-error, 503, retriable-4xx]}")
    )
    rule = one(objs, "VirtualService", "api")["spec"]["http"][0]
    assert rule["timeout"] == "2s"
    assert rule["retries"] == {"attempts": 3, "perTryTimeout": "500ms", "retryOn": "gateway-error,503,retriable-4xx"}


def test_circuit_breaker_is_outlier_detection_and_connection_pool():
    text = shop(
        "circuitBreaker: {consecutiveErrors: 5, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50,"
        " maxConnections: 100, maxPendingRequests: 10, maxRequests: 200}"
    )
    assert one(objects(text), "DestinationRule", "api")["spec"] == {
        "host": FQDN.format("api"),
        "trafficPolicy": {
            "connectionPool": {
                "tcp": {"maxConnections": 100},
                "http": {"http1MaxPendingRequests": 10, "http2MaxRequests": 200},
            },
            "outlierDetection": {
                "consecutive5xxErrors": 5,
                "interval": "10s",
                "baseEjectionTime": "30s",
                "maxEjectionPercent": 50,
            },
        },
    }


def test_retry_budget_is_a_destination_rule_budget_with_a_finding():
    rendering = rendered(shop("retries: {attempts: 2}\nretryBudget: {percent: 25, minRetriesPerSecond: 5}"))
    spec = one(rendering.objects(), "DestinationRule", "api")["spec"]
    assert spec["trafficPolicy"] == {"retryBudget": {"percent": 25.0, "minRetryConcurrency": 5}}
    [finding] = findings(rendering, "retry-budget", "shop/api")
    assert finding.support == "approximated"
    assert "minRetryConcurrency 5" in finding.detail


def test_retry_budget_without_retries_is_reported():
    rendering = rendered(shop("retryBudget: {percent: 25, minRetriesPerSecond: 5}"))
    assert kinds(rendering.objects(), "DestinationRule") == []
    assert findings(rendering, "retry-budget", "shop/api")


def test_versions_routes_and_header_matches():
    text = shop(
        "versions: [{name: v1, weight: 90}, {name: v2, weight: 10, labels: {track: canary}}]\n"
        "routes:\n"
        "  - name: testers\n"
        "    match: {headers: {x-canary: {exact: 'true'}}, queryParams: {debug: {prefix: 'on'}}}\n"
        "    version: v2\n"
        "  - {name: pay, match: {path: {exact: /pay}, method: POST}}\n"
        "  - {name: slow, match: {path: {regex: '/reports/[0-9]+'}}, timeout: 1m30s}\n"
    )
    objs = objects(text)
    http = one(objs, "VirtualService", "api")["spec"]["http"]
    split = [
        {"destination": {"host": FQDN.format("api"), "subset": "v1"}, "weight": 90},
        {"destination": {"host": FQDN.format("api"), "subset": "v2"}, "weight": 10},
    ]
    assert [r["name"] for r in http] == ["testers", "pay", "slow", "default"]
    assert http[0]["match"] == [
        {"headers": {"x-canary": {"exact": "true"}}, "queryParams": {"debug": {"prefix": "on"}}}
    ]
    assert http[0]["route"] == [{"destination": {"host": FQDN.format("api"), "subset": "v2"}}]
    assert http[1]["match"] == [{"uri": {"exact": "/pay"}, "method": {"exact": "POST"}}] and http[1]["route"] == split
    # Go duration syntax: Istio reads Durations with time.ParseDuration (golang/protobuf jsonpb).
    assert http[2]["match"] == [{"uri": {"regex": "/reports/[0-9]+"}}] and http[2]["timeout"] == "1m30s"
    assert "match" not in http[3] and http[3]["route"] == split
    assert one(objs, "DestinationRule", "api")["spec"]["subsets"] == [
        {"name": "v1", "labels": {"version": "v1"}},
        {"name": "v2", "labels": {"track": "canary"}},
    ]
    mesh = Mesh(objs)
    assert mesh.route("shop/api", {"x-canary": "true"}, "/?debug=on1").weights == {"v2": 100.0}
    assert mesh.route("shop/api", {"x-canary": "true"}, "/").weights == {"v1": 90.0, "v2": 10.0}
    assert mesh.route("shop/api", path="/reports/12").timeout == "1m30s"
    assert mesh.route("shop/api", path="/reports/12x").rule == "default"  # RE2 matches the whole path


def test_grpc_route_matches_are_http2_paths():
    text = shop(
        "ports: [{name: grpc, port: 9090, protocol: grpc}]\n"
        "routes:\n"
        "  - {name: one, match: {grpc: {service: shop.Api, method: Get}}, timeout: 1s}\n"
        "  - {name: all, match: {grpc: {service: shop.Api}}, timeout: 2s}\n"
    )
    http = one(objects(text), "VirtualService", "api")["spec"]["http"]
    assert http[0]["match"] == [{"uri": {"exact": "/shop.Api/Get"}}]
    assert http[1]["match"] == [{"uri": {"prefix": "/shop.Api/"}}]


def test_fault_injection_leaves_out_timeout_and_retries_and_says_so():
    text = shop(
        "timeout: 2s\nretries: {attempts: 2}\nroutes:\n"
        "  - name: chaos\n"
        "    match: {headers: {x-chaos: {exact: '1'}}}\n"
        "    fault: {abort: {httpStatus: 503, percent: 5}, delay: {fixedDelay: 2s, percent: 50}}\n"
    )
    rendering = rendered(text)
    chaos = one(rendering.objects(), "VirtualService", "api")["spec"]["http"][0]
    assert chaos["fault"] == {
        "delay": {"fixedDelay": "2s", "percentage": {"value": 50.0}},
        "abort": {"httpStatus": 503, "percentage": {"value": 5.0}},
    }
    assert "timeout" not in chaos and "retries" not in chaos  # Istio ignores both on a rule with a fault
    [finding] = findings(rendering, "timeout", "shop/api")
    assert finding.support == "approximated" and "rule chaos injects faults" in finding.detail


def test_mirroring_copies_a_percentage_to_a_subset():
    text = shop(
        "versions: [{name: v1, weight: 100}, {name: v2, weight: 0}]\n"
        "routes: [{name: shadow, match: {path: {prefix: /v1/}}, mirror: {version: v2, percent: 25}}]\n"
    )
    shadow = one(objects(text), "VirtualService", "api")["spec"]["http"][0]
    assert shadow["mirror"] == {"host": FQDN.format("api"), "subset": "v2"}
    assert shadow["mirrorPercentage"] == {"value": 25.0}


def test_tcp_only_service_with_versions_gets_tcp_routes():
    text = shop(
        "ports: [{name: pg, port: 5432, protocol: tcp}]\nversions: [{name: v1, weight: 75}, {name: v2, weight: 25}]"
    )
    spec = one(objects(text), "VirtualService", "api")["spec"]
    assert "http" not in spec
    assert spec["tcp"] == [
        {
            "route": [
                {"destination": {"host": FQDN.format("api"), "subset": "v1"}, "weight": 75},
                {"destination": {"host": FQDN.format("api"), "subset": "v2"}, "weight": 25},
            ]
        }
    ]


def test_timeout_and_retries_on_a_tcp_only_service_are_reported():
    rendering = rendered(shop("ports: [{name: pg, port: 5432, protocol: tcp}]\ntimeout: 3s\nretries: {attempts: 2}"))
    assert findings(rendering, "timeout", "shop/api")
    assert findings(rendering, "retries", "shop/api")


# --- rate limiting ---------------------------------------------------------------------------------------


def test_rate_limit_is_a_per_pod_local_rate_limit_envoy_filter():
    rendering = rendered(shop("replicas: 3\nrateLimit: {requestsPerSecond: 100, burst: 150}"))
    spec = one(rendering.objects(), "EnvoyFilter", "api-ratelimit")["spec"]
    assert spec["workloadSelector"] == {"labels": {"app": "api"}}
    [patch] = spec["configPatches"]
    assert patch["applyTo"] == "HTTP_FILTER"
    assert patch["match"] == {
        "context": "SIDECAR_INBOUND",
        "listener": {"filterChain": {"filter": {"name": "envoy.filters.network.http_connection_manager"}}},
    }
    assert patch["patch"]["operation"] == "INSERT_BEFORE"
    assert patch["patch"]["value"]["name"] == "envoy.filters.http.local_ratelimit"
    config = patch["patch"]["value"]["typed_config"]
    assert config["type_url"] == "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
    # 100/s over 3 pods: ceil(100/3) = 34 tokens per second each, burst ceil(150/3) = 50.
    assert config["value"]["token_bucket"] == {"max_tokens": 50, "tokens_per_fill": 34, "fill_interval": "1s"}
    [finding] = findings(rendering, "rate-limit", "shop/api")
    assert finding.support == "approximated"


def test_rate_limit_on_a_tcp_only_service_is_lost():
    rendering = rendered(shop("ports: [{name: pg, port: 5432, protocol: tcp}]\nrateLimit: {requestsPerSecond: 10}"))
    assert [f.support for f in findings(rendering, "rate-limit", "shop/api")] == ["not-expressible"]


# --- egress -----------------------------------------------------------------------------------------------


def test_egress_hosts_are_service_entries_and_registry_only_sidecars():
    text = shop(
        spec="mesh: {egressDefaultDeny: true}\n"
        "egress:\n"
        "  - {host: api.stripe.com, ports: [443], protocol: tls}\n"
        "  - {host: '*.googleapis.com', ports: [443, 80], protocol: http}\n",
        rest="[{name: jobs, namespace: batch, ports: [{name: http, port: 80}]}]",
    )
    objs = objects(text)
    assert one(objs, "ServiceEntry", "egress-api-stripe-com")["spec"] == {
        "hosts": ["api.stripe.com"],
        "location": "MESH_EXTERNAL",
        "resolution": "DNS",
        "ports": [{"number": 443, "name": "tls-443", "protocol": "TLS"}],
    }
    wildcard = one(objs, "ServiceEntry", "egress-wildcard-googleapis-com")["spec"]
    assert wildcard["resolution"] == "NONE"  # DNS resolution cannot resolve a wildcard host
    assert wildcard["ports"] == [
        {"number": 443, "name": "http-443", "protocol": "HTTP"},
        {"number": 80, "name": "http-80", "protocol": "HTTP"},
    ]
    for ns in ("shop", "batch"):
        assert one(objs, "Sidecar", "default", ns)["spec"] == {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}
    mesh = Mesh(objs)
    assert mesh.egress_allowed("batch", "api.stripe.com", 443) and mesh.egress_allowed(
        "batch", "storage.googleapis.com", 80
    )
    assert not mesh.egress_allowed("batch", "example.com", 443)


def test_egress_hosts_without_default_deny_only_register():
    objs = objects(shop(spec="egress: [{host: api.stripe.com, ports: [443], protocol: tls}]"))
    assert kinds(objs, "ServiceEntry") == ["shop/egress-api-stripe-com"]
    assert kinds(objs, "Sidecar") == []
    assert Mesh(objs).egress_allowed("shop", "example.com", 443)  # the mesh default ALLOW_ANY stays


# --- whole examples -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_examples_are_accepted_by_the_crds(path, crd_catalog):
    rendering = render(parse_intent(path.read_text(), path), "istio", str(path))
    assert [str(v) for v in validate_objects(rendering.objects(), crd_catalog)] == []


def test_plan_and_render_agree_on_the_objects():
    intent = parse_intent(MINIMAL, Path("intent.yaml"))
    planned = [(o.kind, o.namespace, o.name) for o in plan(intent, "istio").objects]
    shown = [
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
        for o in render(intent, "istio", "x").objects()
    ]
    assert planned == shown


def test_production_identity_allow_list_through_the_model():
    path = next(p for p in EXAMPLES if p.parent.name == "production-identity")
    mesh = Mesh(render(parse_intent(path.read_text(), path), "istio", str(path)).objects())
    web, api = principal("cluster.local", "shop", "web"), principal("cluster.local", "shop", "api")
    assert mesh.admits(web, "shop/api", 8080, "PUT", "/anything")
    assert not mesh.admits(api, "shop/api", 8080)
    assert mesh.admits(api, "shop/payments", 50051, "POST", "/shop.Payments/Charge")
    assert not mesh.admits(api, "shop/payments", 50051, "POST", "/shop.Payments/Refund")
    assert not mesh.admits(web, "shop/payments", 50051, "POST", "/shop.Payments/Charge")
    assert not mesh.admits(api, "shop/web", 80)  # web has no allow-list: closed under defaultDeny


def test_declared_probes_need_no_hole_in_the_allow_list():
    # The injector rewrites httpGet and gRPC probes so the kubelet calls the sidecar agent, not the
    # app port (https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/): the inbound
    # authorization never sees them, so declaring probes changes no policy.
    ports = "ports: [{name: http, port: 8080}, {name: grpc, port: 9090, protocol: grpc}]\n"
    with_probes = objects(shop(ports + "probes: [{port: http, path: /healthz}, {port: grpc}]"))
    without = objects(shop(ports))
    policies = [o for o in with_probes if o["kind"] == "AuthorizationPolicy"]
    assert policies and policies == [o for o in without if o["kind"] == "AuthorizationPolicy"]
