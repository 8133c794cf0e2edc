"""The Consul target: what each intent feature becomes, what is reported, what is refused.

Objects are read back from the rendered YAML; expectations are written by hand from the Consul
config-entry reference and consul-k8s v2.0.3 (see meshgen/platforms/consul/).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from meshgen import pipeline
from meshgen.capabilities import Feature, Support
from meshgen.cli import app
from meshgen.loader import parse_intent
from meshgen.platforms import get_platform
from meshgen.platforms.operations import plan_operations
from meshgen.render import render_file
from tests.conftest import write_intent

HEAD = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {{name: shop}}
spec:
{mesh}
  defaults: {{namespace: shop}}
  services:
    - name: api
      ports:
        - {{name: http, port: 8080}}
{api}
    - name: web
      ports:
        - {{name: http, port: 80, targetPort: 8080}}
{rest}
"""


def intent(api: str = "", *, mesh: str = "", rest: str = "") -> str:
    indent = lambda text: "\n".join("      " + line if line else line for line in text.splitlines())
    return HEAD.format(mesh=mesh, api=indent(api), rest=rest)


def render(text: str):
    return pipeline.render(parse_intent(text, Path("intent.yaml")), "consul", "intent.yaml")


def objects(rendering) -> list[dict]:
    return [yaml.safe_load(d) for d in rendering.documents]


def one(rendering, kind: str, name: str) -> dict:
    found = [o for o in objects(rendering) if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def kinds(rendering) -> set[str]:
    return {o["kind"] for o in objects(rendering)}


def findings(rendering, feature: Feature) -> list:
    return [f for f in rendering.plan.findings if f.feature is feature]


def values(text: str) -> dict:
    plan = plan_operations(get_platform("consul"), parse_intent(text, Path("intent.yaml")))
    (file,) = [f for f in plan.files if f.path == "values/consul.yaml"]
    return yaml.safe_load(render_file(file))


# --- the column ------------------------------------------------------------------------------


def test_column_has_every_feature_and_the_matrix_gaps():
    column = get_platform("consul").capabilities
    assert set(column) == set(Feature)
    # platform-matrix.md summary: per-try timeout X, retry budget X, fault injection Enterprise only, CA cert-manager X.
    for feature in (Feature.PER_TRY_TIMEOUT, Feature.RETRY_BUDGET, Feature.FAULT_ABORT, Feature.FAULT_DELAY, Feature.CA_CERT_MANAGER):
        assert column[feature].support is Support.NOT_EXPRESSIBLE
    for feature in (Feature.MTLS_STRICT, Feature.CANARY_WEIGHTS, Feature.REQUEST_ROUTING, Feature.AUTHZ_L7, Feature.AUTHZ_DEFAULT_DENY):
        assert column[feature].support is Support.NATIVE
    assert column[Feature.TRACING].support is Support.APPROXIMATED


# --- mesh-wide -------------------------------------------------------------------------------


def test_strict_mesh_defaults_and_injection_label():
    r = render(intent())
    assert one(r, "ProxyDefaults", "global")["spec"] == {"mutualTLSMode": "strict"}
    mesh = one(r, "Mesh", "mesh")
    assert mesh["metadata"]["namespace"] == "consul"
    assert mesh["spec"] == {"tls": {"incoming": {"tlsMinVersion": "TLSv1_2"}, "outgoing": {"tlsMinVersion": "TLSv1_2"}}}
    deny = one(r, "ServiceIntentions", "mesh-default")["spec"]
    assert deny["destination"] == {"name": "*"}
    assert [(s["name"], s["action"]) for s in deny["sources"]] == [("*", "deny")]
    assert one(r, "Namespace", "shop")["metadata"]["labels"]["meshgen.dev/consul-inject"] == "enabled"


def test_permissive_needs_the_mesh_opt_in_and_egress_lockdown():
    r = render(intent(mesh="  mesh: {mtls: permissive, egressDefaultDeny: true}"))
    assert one(r, "ProxyDefaults", "global")["spec"]["mutualTLSMode"] == "permissive"
    spec = one(r, "Mesh", "mesh")["spec"]
    assert spec["allowEnablingPermissiveMutualTLS"] is True
    assert spec["transparentProxy"] == {"meshDestinationsOnly": True}


def test_no_default_deny_writes_an_explicit_allow():
    r = render(intent(mesh="  mesh: {defaultDeny: false}"))
    sources = one(r, "ServiceIntentions", "mesh-default")["spec"]["sources"]
    assert [(s["name"], s["action"]) for s in sources] == [("*", "allow")]


# --- traffic ---------------------------------------------------------------------------------


def test_versions_become_subsets_and_a_split():
    r = render(intent("versions:\n  - {name: v1, weight: 90}\n  - {name: v2, weight: 10}\n  - {name: v3, weight: 0}"))
    assert one(r, "ServiceDefaults", "api")["spec"] == {"protocol": "http"}
    subsets = one(r, "ServiceResolver", "api")["spec"]["subsets"]
    assert subsets["v2"] == {"filter": 'Service.Meta.version == "v2"', "onlyPassing": True}
    assert sorted(subsets) == ["v1", "v2", "v3"]
    assert one(r, "ServiceSplitter", "api")["spec"]["splits"] == [
        {"weight": 90.0, "serviceSubset": "v1"},
        {"weight": 10.0, "serviceSubset": "v2"},
    ]
    (f,) = findings(r, Feature.CANARY_WEIGHTS)
    assert "consul.hashicorp.com/service-meta-version=v2" in f.detail


def test_routes_then_a_catch_all_with_timeout_and_retries():
    r = render(
        intent(
            "versions:\n  - {name: v1, weight: 100}\n  - {name: v2}\n"
            "routes:\n  - match: {headers: {x-user: {prefix: qa}}, method: GET}\n    version: v2\n    timeout: 2s\n"
            "timeout: 1s\nretries: {attempts: 3, retryOn: [gateway-error, 503]}"
        )
    )
    routes = one(r, "ServiceRouter", "api")["spec"]["routes"]
    assert routes == [
        {
            "match": {"http": {"header": [{"name": "x-user", "prefix": "qa"}], "methods": ["GET"]}},
            "destination": {"serviceSubset": "v2", "requestTimeout": "2s", "numRetries": 3, "retryOn": ["gateway-error"], "retryOnStatusCodes": [503]},
        },
        {
            "match": {"http": {"pathPrefix": "/"}},
            "destination": {"requestTimeout": "1s", "numRetries": 3, "retryOn": ["gateway-error"], "retryOnStatusCodes": [503]},
        },
    ]


def test_no_retries_means_no_retry_fields():
    r = render(intent("timeout: 3s"))
    assert one(r, "ServiceRouter", "api")["spec"]["routes"] == [{"match": {"http": {"pathPrefix": "/"}}, "destination": {"requestTimeout": "3s"}}]
    assert "ServiceRouter" not in {o["kind"] for o in objects(render(intent())) if o["metadata"]["name"] == "web"}


def test_per_try_timeout_and_budget_are_reported_lost():
    r = render(intent("retries: {attempts: 2, perTryTimeout: 100ms}\nretryBudget: {percent: 10}"))
    assert [f.support for f in findings(r, Feature.PER_TRY_TIMEOUT)] == [Support.NOT_EXPRESSIBLE]
    assert [f.support for f in findings(r, Feature.RETRY_BUDGET)] == [Support.NOT_EXPRESSIBLE]


def test_circuit_breaker_goes_in_the_callers_service_defaults():
    r = render(
        intent(
            "allowFrom: [{service: web}]\n"
            "circuitBreaker: {consecutiveErrors: 5, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50, maxConnections: 10, maxRequests: 20}",
            rest="    - name: batch\n      ports: [{name: http, port: 80}]",
        )
    )
    assert one(r, "ServiceDefaults", "web")["spec"]["upstreamConfig"] == {
        "overrides": [
            {
                "name": "api",
                "passiveHealthCheck": {"interval": "10s", "maxFailures": 5, "enforcingConsecutive5xx": 100, "maxEjectionPercent": 50, "baseEjectionTime": "30s"},
                "limits": {"maxConnections": 10, "maxConcurrentRequests": 20},
            }
        ]
    }
    # Only callers carry it: batch may not call api, and api does not call itself.
    assert "upstreamConfig" not in one(r, "ServiceDefaults", "api")["spec"]
    assert "upstreamConfig" not in one(r, "ServiceDefaults", "batch")["spec"]


def test_rate_limit_is_enterprise_only():
    r = render(intent("rateLimit: {requestsPerSecond: 100, burst: 200}"))
    assert [f.support for f in findings(r, Feature.RATE_LIMIT)] == [Support.NOT_EXPRESSIBLE]
    assert "rateLimits" not in one(r, "ServiceDefaults", "api")["spec"]


def test_tcp_services_cannot_split_or_route():
    text = intent(rest="    - name: db\n      ports: [{name: pg, port: 5432, protocol: tcp}]\n      versions: [{name: a, weight: 50}, {name: b, weight: 50}]")
    r = render(text)
    assert one(r, "ServiceDefaults", "db")["spec"] == {"protocol": "tcp"}
    assert [f.support for f in findings(r, Feature.CANARY_WEIGHTS) if f.subject == "shop/db"] == [Support.NOT_EXPRESSIBLE]
    assert not [o for o in objects(r) if o["kind"] == "ServiceSplitter"]


def test_extra_ports_are_outside_the_mesh_and_refused():
    text = intent(rest="    - name: admin\n      ports: [{name: http, port: 80}, {name: metrics, port: 9090}]")
    lost = [f for f in render(text).plan.findings if f.subject == "shop/admin" and f.feature is Feature.MTLS_STRICT]
    assert len(lost) == 1 and lost[0].support is Support.NOT_EXPRESSIBLE
    assert 'transparent-proxy-exclude-inbound-ports: "9090"' in lost[0].detail


def test_service_account_must_be_named_like_the_service():
    r = render(intent("serviceAccount: api-sa"))
    (f,) = [f for f in findings(r, Feature.AUTHZ_IDENTITY) if f.subject == "shop/api"]
    assert "api-sa" in f.detail and f.support is Support.APPROXIMATED


def test_same_name_in_two_namespaces_is_one_consul_service():
    text = intent(rest="    - name: api\n      namespace: billing\n      ports: [{name: http, port: 80}]")
    lost = [f for f in findings(render(text), Feature.AUTHZ_IDENTITY) if f.support is Support.NOT_EXPRESSIBLE]
    assert {f.subject for f in lost} == {"shop/api", "billing/api"}


# --- authorization ---------------------------------------------------------------------------


def test_allow_list_with_methods_and_paths_is_closed_by_a_deny_all():
    r = render(intent("allowFrom:\n  - {service: web, methods: [GET, HEAD], paths: [/v1/*, /health]}"))
    (source,) = one(r, "ServiceIntentions", "api")["spec"]["sources"]
    assert source["name"] == "web"
    assert source["permissions"] == [
        {"action": "allow", "http": {"pathPrefix": "/v1/", "methods": ["GET", "HEAD"]}},
        {"action": "allow", "http": {"pathExact": "/health", "methods": ["GET", "HEAD"]}},
        {"action": "deny", "http": {"pathPrefix": "/"}},
    ]


def test_caller_versions_cannot_be_singled_out():
    text = intent("allowFrom:\n  - {service: web, versions: [v2]}", rest="      versions: [{name: v1, weight: 100}, {name: v2}]")
    r = render(text)
    # Fails closed (issue 12): before, the whole of web was admitted under a LOST line.
    assert [f.support for f in findings(r, Feature.AUTHZ_BY_VERSION)] == [Support.NOT_EXPRESSIBLE]
    assert not [o for o in r.objects() if o["kind"] == "ServiceIntentions" and o["metadata"]["name"] == "api"]
    widened = render(text.replace("allowFrom:", "widenAccess: [shared-identity]\n      allowFrom:"))
    assert [f.support for f in findings(widened, Feature.AUTHZ_BY_VERSION)] == [Support.APPROXIMATED]
    assert [s["name"] for s in one(widened, "ServiceIntentions", "api")["spec"]["sources"]] == ["web"]


def test_jwt_provider_and_claims():
    r = render(intent("requestAuthentication:\n  issuer: https://id.example.com\n  jwksUri: https://id.example.com/jwks\n  requiredClaims: {role: [admin]}"))
    provider = one(r, "JWTProvider", "api-jwt")["spec"]
    assert provider == {"issuer": "https://id.example.com", "jsonWebKeySet": {"remote": {"uri": "https://id.example.com/jwks", "fetchAsynchronously": True}}}
    jwt = one(r, "ServiceIntentions", "api")["spec"]["jwt"]
    assert jwt == {"providers": [{"name": "api-jwt", "verifyClaims": [{"path": ["role"], "value": "admin"}]}]}


# --- gateways and egress ---------------------------------------------------------------------

GATEWAY = """\
  gateways:
    - name: edge
      listeners:
        - {port: 80, protocol: HTTP}
        - {name: tls, port: 8443, protocol: TLS, tlsMode: passthrough}
      routes:
        - {name: api, listener: http-80, service: api, timeout: 4s, match: {path: {prefix: /api}}}
        - {name: old, listener: http-80, redirect: {path: /new}, match: {path: {exact: /old}}}
        - {name: pass, listener: tls, service: web}
"""


def test_gateway_on_consul_api_gateway():
    r = render(intent(rest=GATEWAY))
    gw = one(r, "Gateway", "edge")["spec"]
    assert gw["gatewayClassName"] == "consul"
    assert [lst["name"] for lst in gw["listeners"]] == ["http-80"]
    assert one(r, "RouteTimeoutFilter", "edge-api-timeout-0")["spec"] == {"requestTimeout": "4s"}
    (rule,) = one(r, "HTTPRoute", "edge-api")["spec"]["rules"]
    assert "timeouts" not in rule
    assert rule["filters"] == [{"type": "ExtensionRef", "extensionRef": {"group": "consul.hashicorp.com", "kind": "RouteTimeoutFilter", "name": "edge-api-timeout-0"}}]
    assert "TLSRoute" not in kinds(r)
    lost = {f.feature for f in r.plan.findings if f.support is Support.NOT_EXPRESSIBLE}
    assert {Feature.GATEWAY_L4, Feature.GATEWAY_FILTERS} <= lost
    # The gateway registers under its own name, which the backend's intention admits.
    assert [(s["name"], s["action"]) for s in one(r, "ServiceIntentions", "api")["spec"]["sources"]] == [("edge", "allow")]


def test_egress_destinations_behind_the_terminating_gateway():
    r = render(intent(rest="  egress:\n    - {host: api.stripe.com}\n    - {host: '*.example.com'}"))
    dest = one(r, "ServiceDefaults", "egress-api-stripe-com-443")["spec"]
    assert dest == {"protocol": "tcp", "destination": {"addresses": ["api.stripe.com"], "port": 443}}
    assert one(r, "TerminatingGateway", "terminating-gateway")["spec"]["services"] == [{"name": "egress-api-stripe-com-443"}]
    assert [f.support for f in findings(r, Feature.EGRESS_ALLOW_LIST)] == [Support.NOT_EXPRESSIBLE]


# --- Helm values -----------------------------------------------------------------------------


def test_default_replicas_become_three_raft_servers():
    v = values(intent())
    assert v["server"]["replicas"] == 3 and v["server"]["bootstrapExpect"] == 3
    assert v["server"]["disruptionBudget"] == {"enabled": True, "maxUnavailable": 1}
    assert v["global"]["acls"] == {"manageSystemACLs": True}
    assert v["connectInject"]["default"] is True
    assert v["connectInject"]["namespaceSelector"] == "matchLabels:\n  meshgen.dev/consul-inject: enabled\n"


@pytest.mark.parametrize(("replicas", "servers"), [(1, 1), (3, 3), (5, 5)])
def test_odd_replicas_are_kept(replicas, servers):
    assert values(intent(mesh=f"  mesh: {{controlPlane: {{replicas: {replicas}}}}}"))["server"]["replicas"] == servers


def test_an_explicit_even_server_count_is_refused_with_the_raft_reason(tmp_path):
    text = intent(mesh="  mesh: {controlPlane: {replicas: 4}}")
    r = render(text)
    (lost,) = [f for f in findings(r, Feature.CONTROL_PLANE_HA) if f.support is Support.NOT_EXPRESSIBLE]
    assert "majority (3 of 4)" in lost.detail
    path = write_intent(tmp_path, text)
    result = CliRunner().invoke(app, ["render", str(path), "--platform", "consul"])
    assert result.exit_code == 3
    assert values(text)["server"]["replicas"] == 5


def test_builtin_ca_lifetimes_and_cert_manager_refused():
    v = values(intent(mesh="  mesh: {ca: {type: cert-manager, certLifetime: 12h}}"))
    assert json.loads(v["server"]["extraConfig"]) == {"connect": {"ca_config": {"leaf_cert_ttl": "12h", "intermediate_cert_ttl": "8760h", "root_cert_ttl": "87600h"}}}
    r = render(intent(mesh="  mesh: {ca: {type: cert-manager}}"))
    assert [f.support for f in findings(r, Feature.CA_CERT_MANAGER)] == [Support.NOT_EXPRESSIBLE]


def test_vault_connect_ca():
    v = values(intent(mesh="  mesh: {ca: {type: vault, issuerRef: {name: vault}}}"))
    vault = v["global"]["secretsBackend"]["vault"]
    assert vault["enabled"] is True
    assert vault["connectCA"]["rootPKIPath"] == "connect_root"
    assert "server" not in v or "extraConfig" not in v["server"]


def test_alerts_watch_raft_quorum_and_the_root_ca():
    r = render(intent())
    rule = one(r, "PrometheusRule", "shop-mesh-alerts")
    exprs = {x["alert"]: x["expr"] for g in rule["spec"]["groups"] for x in g["rules"]}
    assert exprs["ConsulServersBelowQuorum"] == 'kube_statefulset_status_replicas_ready{namespace="consul",statefulset="consul-server"} < 2'
    assert exprs["MeshCertificateExpiringSoon"] == "(max(consul_mesh_active_root_ca_expiry)) < 2592000"
    errors = [x["expr"] for g in rule["spec"]["groups"] for x in g["rules"] if x["alert"] == "MeshServiceErrorRateHigh"]
    assert any('local_cluster="api",envoy_cluster_name="local_app",envoy_response_code_class="5"' in e for e in errors)


def test_tracing_and_text_access_logs_in_proxy_defaults():
    r = render(intent(mesh="  telemetry:\n    tracing: {endpoint: 'otel.obs:4317'}\n    accessLogs: {format: text}"))
    spec = one(r, "ProxyDefaults", "global")["spec"]
    assert spec["accessLogs"]["type"] == "stdout" and spec["accessLogs"]["textFormat"].startswith("[%START_TIME%]")
    cluster = json.loads(spec["config"]["envoy_extra_static_clusters_json"])
    assert cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"] == {"address": "otel.obs", "port_value": 4317}
    assert json.loads(spec["config"]["envoy_tracing_json"])["http"]["name"] == "envoy.tracers.opentelemetry"


def test_namespace_caller_becomes_the_intent_services_there():
    r = render(intent("allowFrom: [{namespace: shop}]"))
    names = [s["name"] for s in one(r, "ServiceIntentions", "api")["spec"]["sources"]]
    assert names == ["api", "web"]
    assert [f.support for f in findings(r, Feature.AUTHZ_IDENTITY) if f.subject == "shop/api"] == [Support.APPROXIMATED]


def test_namespace_deny_outside_the_intent_is_lost():
    r = render(intent("denyFrom: [{namespace: sandbox}]"))
    assert [f.support for f in findings(r, Feature.AUTHZ_DENY_RULES)] == [Support.NOT_EXPRESSIBLE]


def test_selector_cutting_through_a_service_admits_the_whole_service_and_is_lost():
    text = intent(
        "allowFrom: [{selector: {track: canary}}]",
        rest="      versions: [{name: v1, weight: 100}, {name: v2, labels: {track: canary}}]",
    )
    r = render(text)
    assert [s["name"] for s in one(r, "ServiceIntentions", "api")["spec"]["sources"]] == ["web"]
    assert [f.support for f in findings(r, Feature.AUTHZ_BY_SELECTOR)] == [Support.NOT_EXPRESSIBLE]


def test_a_claim_with_several_values_fails_closed():
    r = render(intent("requestAuthentication:\n  issuer: https://id\n  jwksUri: https://id/jwks\n  requiredClaims: {role: [admin, ops]}"))
    claims = one(r, "ServiceIntentions", "api")["spec"]["jwt"]["providers"][0]["verifyClaims"]
    assert claims == [{"path": ["role"], "value": "admin"}, {"path": ["role"], "value": "ops"}]
    assert [f.support for f in findings(r, Feature.REQUEST_AUTHENTICATION)] == [Support.NOT_EXPRESSIBLE]
