"""The Linkerd target: what each intent feature becomes, what is reported, what is refused.

Objects are read back from the rendered YAML. Every capability row Linkerd does not express
natively has a test showing it is reported, and, when intent is lost, that `meshgen render`
refuses with exit 3 unless --allow-loss is given.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from meshgen.capabilities import Feature, Support
from meshgen.cli import app
from meshgen.errors import IntentError
from meshgen.intent.types import Duration
from meshgen.kube import CRDCatalog, validate_objects
from meshgen.platforms import get_platform
from meshgen.platforms.linkerd.platform import linkerd_duration
from tests.conftest import REPO, write_intent
from tests.platforms.linkerd_sim import find, load_objects, one, render_text

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
    indent = lambda text: "\n".join("      " + line if line else line for line in text.splitlines())  # noqa: E731
    return HEAD.format(mesh=mesh, api=indent(api), rest=rest)


def findings(rendering, feature: Feature) -> list:
    return [f for f in rendering.plan.findings if f.feature is feature]


@pytest.fixture(scope="module")
def experimental_catalog():
    return CRDCatalog.bundled(experimental=True)


# --- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ms", "text"),
    [(500, "500ms"), (1500, "1500ms"), (3000, "3s"), (90_000, "90s"), (120_000, "2m"), (5_400_000, "90m"), (7_200_000, "2h")],
)
def test_durations_are_one_integer_and_one_unit(ms, text):
    assert linkerd_duration(Duration(ms)) == text


# --- namespaces and inbound policy -------------------------------------------------------------


@pytest.mark.parametrize(
    ("mesh", "policy"),
    [
        ("  mesh: {mtls: strict, defaultDeny: true}", "deny"),
        ("  mesh: {mtls: permissive, defaultDeny: true}", "deny"),
        ("  mesh: {mtls: strict, defaultDeny: false}", "all-authenticated"),
        ("  mesh: {mtls: permissive, defaultDeny: false}", "all-unauthenticated"),
    ],
)
def test_namespace_is_injected_with_the_inbound_policy(mesh, policy):
    objects = load_objects(render_text(intent(mesh=mesh)))
    ns = one(objects, "Namespace", "shop")
    assert ns["metadata"]["annotations"] == {"config.linkerd.io/default-inbound-policy": policy, "linkerd.io/inject": "enabled"}
    # A service without allow-list keeps the namespace default on its Server; under defaultDeny that is deny.
    assert one(objects, "Server", "web-http")["spec"]["accessPolicy"] == policy


def test_an_allow_list_makes_its_servers_deny_whatever_the_default():
    objects = load_objects(render_text(intent("allowFrom: [{service: web}]", mesh="  mesh: {mtls: permissive, defaultDeny: false}")))
    server = one(objects, "Server", "api-http")["spec"]
    assert server == {"podSelector": {"matchLabels": {"app": "api"}}, "port": 8080, "proxyProtocol": "HTTP/1", "accessPolicy": "deny"}
    assert one(objects, "MeshTLSAuthentication", "api-web")["spec"] == {
        "identities": ["web.shop.serviceaccount.identity.linkerd.cluster.local"]
    }
    policy = one(objects, "AuthorizationPolicy", "api-http-web")["spec"]
    assert policy == {
        "targetRef": {"group": "policy.linkerd.io", "kind": "Server", "name": "api-http"},
        "requiredAuthenticationRefs": [{"group": "policy.linkerd.io", "kind": "MeshTLSAuthentication", "name": "api-web"}],
    }


def test_server_protocol_and_port_follow_the_intent_port():
    text = intent(
        "ports:\n  - {name: h2, port: 81, protocol: http2}\n  - {name: rpc, port: 82, targetPort: 9000, protocol: grpc}\n"
        "  - {name: db, port: 83, protocol: tcp}\n  - {name: tls, port: 84, protocol: tls}"
    ).replace("      ports:\n        - {name: http, port: 8080}\n      ports:", "      ports:", 1)
    objects = load_objects(render_text(text))
    got = {s["metadata"]["name"]: (s["spec"]["port"], s["spec"]["proxyProtocol"]) for s in find(objects, "Server") if "api" in s["metadata"]["name"]}
    assert got == {"api-h2": (81, "HTTP/2"), "api-rpc": (9000, "gRPC"), "api-db": (83, "opaque"), "api-tls": (84, "TLS")}
    assert one(objects, "Service", "api")["metadata"]["annotations"] == {"config.linkerd.io/opaque-ports": "83"}


def test_namespace_callers_are_a_wildcard_identity():
    objects = load_objects(render_text(intent("allowFrom: [{namespace: ops}]", mesh="  mesh: {trustDomain: corp.example}")))
    assert one(objects, "MeshTLSAuthentication", "api-ns-ops")["spec"]["identities"] == [
        "*.ops.serviceaccount.identity.linkerd.corp.example"
    ]


# --- timeouts and retries ----------------------------------------------------------------------


def test_timeouts_and_retries_are_quoted_annotations_on_the_route_not_the_service():
    rendering = render_text(intent("timeout: 2s\nretries: {attempts: 3, perTryTimeout: 500ms, retryOn: [5xx, gateway-error, 503, retriable-4xx]}"))
    objects = load_objects(rendering)
    route = one(objects, "HTTPRoute", "api")
    assert route["metadata"]["annotations"] == {
        "retry.linkerd.io/http": "5xx,gateway-error,503,409",
        "retry.linkerd.io/limit": "3",
        "retry.linkerd.io/timeout": "500ms",
        "timeout.linkerd.io/request": "2s",
    }
    assert route["spec"]["parentRefs"] == [{"group": "", "kind": "Service", "name": "api", "port": 8080}]
    assert "timeouts" not in route["spec"]["rules"][0]  # Linkerd reads timeouts from annotations only
    assert "annotations" not in one(objects, "Service", "api")["metadata"]
    assert '    retry.linkerd.io/limit: "3"\n' in rendering.stream
    assert findings(rendering, Feature.RETRIES)[0].support is Support.APPROXIMATED


def test_grpc_ports_retry_on_grpc_statuses():
    text = intent("retries: {attempts: 2, retryOn: [unavailable, resource-exhausted, 5xx]}").replace(
        "{name: http, port: 8080}", "{name: grpc, port: 9000, protocol: grpc}", 1
    )
    rendering = render_text(text)
    route = one(load_objects(rendering), "GRPCRoute", "api")
    assert route["metadata"]["annotations"] == {"retry.linkerd.io/grpc": "unavailable,resource-exhausted", "retry.linkerd.io/limit": "2"}
    details = [f.detail for f in findings(rendering, Feature.RETRIES)]
    assert any(d.startswith("port grpc: 5xx: HTTP statuses, which gRPC servers do not send") for d in details)


def test_unretryable_conditions_are_reported_precisely():
    rendering = render_text(intent("retries: {attempts: 2, retryOn: [5xx, reset, connect-failure, refused-stream]}"))
    lost = [f.detail for f in findings(rendering, Feature.RETRIES) if f.support is Support.NOT_EXPRESSIBLE]
    approx = [f.detail for f in findings(rendering, Feature.RETRIES) if f.support is Support.APPROXIMATED]
    assert lost == ["port http: reset: Linkerd never re-sends a request whose connection was reset"]
    assert any(d.startswith("port http: connect-failure:") for d in approx)
    assert any(d.startswith("port http: refused-stream: Linkerd retries HTTP/2 REFUSED_STREAM") for d in approx)
    assert one(load_objects(rendering), "HTTPRoute", "api")["metadata"]["annotations"]["retry.linkerd.io/http"] == "5xx"


def test_retries_with_no_configurable_condition_are_lost():
    rendering = render_text(intent("retries: {attempts: 2, retryOn: [reset]}"))
    lost = {f.detail for f in findings(rendering, Feature.RETRIES) if f.support is Support.NOT_EXPRESSIBLE}
    assert "no retryOn condition Linkerd can configure remains on any port: requests are not retried" in lost
    assert find(load_objects(rendering), "HTTPRoute", "api") == []  # nothing left to say to clients


def test_a_route_with_its_own_policy_is_its_own_route_object():
    text = intent(
        "timeout: 3s\nretries: {attempts: 2, retryOn: [5xx]}\n"
        "routes:\n  - {name: pay, match: {path: {exact: /pay}}, retries: {attempts: 0}}\n  - {match: {path: {prefix: /slow}}, timeout: 1m30s}"
    )
    objects = load_objects(render_text(text))
    assert one(objects, "HTTPRoute", "api-pay")["metadata"]["annotations"] == {"timeout.linkerd.io/request": "3s"}
    slow = one(objects, "HTTPRoute", "api-route-1")
    assert slow["metadata"]["annotations"]["timeout.linkerd.io/request"] == "90s"
    assert slow["spec"]["rules"] == [{"matches": [{"path": {"type": "PathPrefix", "value": "/slow"}}], "backendRefs": [{"name": "api", "port": 8080}]}]
    main = one(objects, "HTTPRoute", "api")
    assert main["spec"]["rules"] == [{"backendRefs": [{"name": "api", "port": 8080}]}]  # the catch-all stays here


def test_split_routes_that_tie_in_precedence_are_reported():
    text = intent(
        "routes:\n  - {match: {headers: {x-a: {exact: '1'}}}, timeout: 5s}\n  - {match: {headers: {x-b: {exact: '1'}}}, timeout: 1s}"
    )
    [finding] = findings(render_text(text), Feature.REQUEST_ROUTING)
    assert finding.support is Support.APPROXIMATED
    assert "Gateway API orders the objects by age and name, not by intent order" in finding.detail
    apart = intent("routes:\n  - {match: {path: {exact: /a}}, timeout: 5s}\n  - {match: {headers: {x-b: {exact: '1'}}}, timeout: 1s}")
    assert findings(render_text(apart), Feature.REQUEST_ROUTING) == []


def test_partly_overlapping_l7_rules_are_reported():
    text = intent("allowFrom:\n  - {service: web, methods: [GET], paths: [/a/*]}\n  - {namespace: ops, paths: [/a/b]}")
    details = [f.detail for f in findings(render_text(text), Feature.AUTHZ_L7)]
    assert "on port http, requests matching both GET /a and any method /a/b go to one route only, which does not admit service shop/web" in details


def test_retry_budget_is_lost_and_says_what_remains():
    rendering = render_text(intent("retries: {attempts: 2, retryOn: [5xx]}\nretryBudget: {percent: 25, minRetriesPerSecond: 5}"))
    [finding] = findings(rendering, Feature.RETRY_BUDGET)
    assert finding.support is Support.NOT_EXPRESSIBLE
    assert "retryBudget 25% / 5 per second is dropped" in finding.detail
    assert "retried at most retry.linkerd.io/limit times" in finding.detail
    assert find(load_objects(rendering), "ServiceProfile") == []


def test_timeouts_on_tcp_only_services():
    explicit = render_text(intent("timeout: 2s").replace("{name: http, port: 8080}", "{name: db, port: 5432, protocol: tcp}", 1))
    assert [f.support for f in findings(explicit, Feature.TIMEOUT)] == [Support.NOT_EXPRESSIBLE]
    inherited = render_text(
        intent().replace("{name: http, port: 8080}", "{name: db, port: 5432, protocol: tcp}", 1).replace(
            "defaults: {namespace: shop}", "defaults: {namespace: shop, timeout: 2s}"
        )
    )
    assert [f.support for f in findings(inherited, Feature.TIMEOUT) if f.subject == "shop/api"] == [Support.APPROXIMATED]


# --- circuit breaking --------------------------------------------------------------------------


def test_circuit_breaker_is_failure_accrual_on_the_service():
    rendering = render_text(intent("circuitBreaker: {consecutiveErrors: 4, baseEjectionTime: 20s, interval: 5s, maxConnections: 10}"))
    service = one(load_objects(rendering), "Service", "api")
    assert service["metadata"]["annotations"] == {
        "balancer.linkerd.io/failure-accrual": "consecutive",
        "balancer.linkerd.io/failure-accrual-consecutive-max-failures": "4",
        "balancer.linkerd.io/failure-accrual-consecutive-min-penalty": "20s",
    }
    assert [f.support for f in findings(rendering, Feature.OUTLIER_DETECTION)] == [Support.APPROXIMATED]
    assert [f.detail for f in findings(rendering, Feature.EJECTION_LIMITS)] == [
        "interval 5s dropped: failure accrual judges each endpoint on its own consecutive failures"
    ]
    assert [f.detail for f in findings(rendering, Feature.CONNECTION_POOL)] == ["maxConnections 10 dropped: Linkerd has no connection-pool limits"]


def test_long_ejection_raises_the_max_penalty_so_linkerd_accepts_it():
    service = one(load_objects(render_text(intent("circuitBreaker: {consecutiveErrors: 4, baseEjectionTime: 5m}"))), "Service", "api")
    ann = service["metadata"]["annotations"]
    assert ann["balancer.linkerd.io/failure-accrual-consecutive-min-penalty"] == "5m"
    assert ann["balancer.linkerd.io/failure-accrual-consecutive-max-penalty"] == "5m"


# --- rate limits -------------------------------------------------------------------------------


def test_rate_limit_is_per_pod_on_each_l7_server():
    rendering = render_text(intent("replicas: 3\nrateLimit: {requestsPerSecond: 100}"))
    policy = one(load_objects(rendering), "HTTPLocalRateLimitPolicy", "api-http")
    assert policy["spec"] == {"targetRef": {"group": "policy.linkerd.io", "kind": "Server", "name": "api-http"}, "total": {"requestsPerSecond": 34}}
    [finding] = findings(rendering, Feature.RATE_LIMIT)
    assert "total.requestsPerSecond 34 on each of its 3 pods" in finding.detail


def test_rate_limited_grpc_port_is_served_as_http2_with_path_routes():
    text = intent(
        "rateLimit: {requestsPerSecond: 10, burst: 20}\nallowFrom: [{service: web, grpc: {service: shop.Api, methods: [Get]}}]"
    ).replace("{name: http, port: 8080}", "{name: grpc, port: 9000, protocol: grpc}", 1)
    rendering = render_text(text)
    objects = load_objects(rendering)
    assert one(objects, "Server", "api-grpc")["spec"]["proxyProtocol"] == "HTTP/2"
    route = one(objects, "HTTPRoute", "api-grpc-authz-1")
    assert route["spec"]["rules"] == [{"matches": [{"path": {"type": "Exact", "value": "/shop.Api/Get"}}]}]
    assert [f.support for f in findings(rendering, Feature.RATE_LIMIT_BURST)] == [Support.NOT_EXPRESSIBLE]


# --- authorization shapes ----------------------------------------------------------------------


def test_l7_rules_are_routes_on_the_server():
    objects = load_objects(render_text(intent("allowFrom: [{service: web, methods: [GET, HEAD], paths: [/v1/*, /health, '*.png']}]")))
    route = one(objects, "HTTPRoute", "api-http-authz-1")
    assert route["spec"]["parentRefs"] == [{"group": "policy.linkerd.io", "kind": "Server", "name": "api-http"}]
    matches = sorted(str(r["spec"]["rules"][0]["matches"][0]) for r in find(objects, "HTTPRoute") if r["metadata"]["name"].startswith("api-http-authz"))
    assert len(matches) == 6
    assert "{'path': {'type': 'RegularExpression', 'value': '.*\\\\.png$'}, 'method': 'HEAD'}" in matches
    assert "{'path': {'type': 'PathPrefix', 'value': '/v1'}, 'method': 'GET'}" in matches
    policy = one(objects, "AuthorizationPolicy", "api-http-authz-1-web")["spec"]["targetRef"]
    assert policy == {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "api-http-authz-1"}


def test_grpc_rules_are_grpc_routes_per_method():
    text = intent("allowFrom: [{service: web, grpc: {service: shop.Api, methods: [Get, List]}}]").replace(
        "{name: http, port: 8080}", "{name: grpc, port: 9000, protocol: grpc}", 1
    )
    objects = load_objects(render_text(text))
    get = one(objects, "GRPCRoute", "api-grpc-get")["spec"]
    assert get["rules"] == [{"matches": [{"method": {"type": "Exact", "service": "shop.Api", "method": "Get"}}]}]
    assert one(objects, "AuthorizationPolicy", "api-grpc-list-web")["spec"]["targetRef"]["kind"] == "GRPCRoute"


def test_probes_get_a_route_admitted_from_any_network():
    objects = load_objects(render_text(intent("probes: [{port: http, path: /ready}]\nallowFrom: [{service: web, methods: [GET]}]")))
    assert one(objects, "HTTPRoute", "api-http-probes")["spec"]["rules"] == [
        {"matches": [{"path": {"type": "Exact", "value": "/ready"}, "method": "GET"}]}
    ]
    assert one(objects, "NetworkAuthentication", "api-probes")["spec"] == {"networks": [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]}
    assert one(objects, "AuthorizationPolicy", "api-http-probes")["spec"]["requiredAuthenticationRefs"] == [
        {"group": "policy.linkerd.io", "kind": "NetworkAuthentication", "name": "api-probes"}
    ]


def test_undeclared_probes_on_routed_servers_are_reported():
    rendering = render_text(intent("allowFrom: [{service: web, methods: [GET]}]"))
    details = [f.detail for f in findings(rendering, Feature.AUTHZ_L7)]
    assert any("Linkerd stops admitting kubelet probes to port http" in d for d in details)
    quiet = render_text(intent("allowFrom: [{service: web}]"))  # no routes: Linkerd admits probes itself
    assert findings(quiet, Feature.AUTHZ_L7) == []


@pytest.mark.parametrize(
    ("probe", "message"),
    [
        ("{port: http}", "needs path"),
        ("{port: nope, path: /x}", "probe port 'nope' is not a port of api"),
    ],
)
def test_probe_declarations_are_checked(tmp_path, probe, message):
    from meshgen import load_intent

    path = write_intent(tmp_path, intent(f"probes: [{probe}]"))
    with pytest.raises(IntentError, match=message):
        load_intent(path)


def test_versions_with_their_own_identity_are_admitted_alone():
    text = intent("allowFrom: [{service: web, versions: [v2]}]").replace(
        "        - {name: http, port: 80, targetPort: 8080}\n",
        "        - {name: http, port: 80, targetPort: 8080}\n      versions: [{name: v1, weight: 100}, {name: v2, weight: 0, serviceAccount: web-v2}]\n",
    )
    rendering = render_text(text)
    assert one(load_objects(rendering), "MeshTLSAuthentication", "api-web-v2")["spec"]["identities"] == [
        "web-v2.shop.serviceaccount.identity.linkerd.cluster.local"
    ]
    assert [f.support for f in findings(rendering, Feature.AUTHZ_BY_VERSION)] == [Support.APPROXIMATED]


def test_deny_rules_hold_only_where_no_allow_admits_the_caller():
    enforced = render_text(intent("allowFrom: [{service: web, ports: [http]}]\ndenyFrom: [{namespace: ops}]"))
    assert [f.support for f in findings(enforced, Feature.AUTHZ_DENY_RULES)] == [Support.APPROXIMATED]
    overlapping = render_text(intent("allowFrom: [{namespace: shop}]\ndenyFrom: [{service: web}]"))
    [lost] = findings(overlapping, Feature.AUTHZ_DENY_RULES)
    assert lost.support is Support.NOT_EXPRESSIBLE and "namespace shop" in lost.detail
    open_door = render_text(intent("denyFrom: [{service: web}]", mesh="  mesh: {defaultDeny: false}"))
    assert [f.support for f in findings(open_door, Feature.AUTHZ_DENY_RULES)] == [Support.NOT_EXPRESSIBLE]


def test_servers_selecting_the_same_pods_are_reported():
    text = intent(rest="    - {name: api-admin, selector: {app: api}, ports: [{name: http, port: 9000, targetPort: 8080}]}\n")
    [finding] = findings(render_text(text), Feature.AUTHZ_IDENTITY)
    assert finding.support is Support.NOT_EXPRESSIBLE
    assert "Servers api-admin-http and api-http select the same pods on port 8080" in finding.detail


def test_servers_overlap_only_within_one_namespace_and_port():
    # Same selector in another namespace, or on another port: distinct Servers, nothing refused.
    other_namespace = "    - {name: api-admin, namespace: ops, selector: {app: api}, ports: [{name: http, port: 9000, targetPort: 8080}]}\n"
    other_port = "    - {name: api-admin, selector: {app: api}, ports: [{name: http, port: 9000, targetPort: 8081}]}\n"
    for rest in (other_namespace, other_port):
        assert findings(render_text(intent(rest=rest)), Feature.AUTHZ_IDENTITY) == []


# --- gateways and egress -----------------------------------------------------------------------

GATEWAY = "  gateways:\n    - name: edge\n{extra}      listeners: [{{port: 80, protocol: HTTP}}]\n      routes: [{{service: api}}]\n"


def test_gateway_with_a_class_and_identity_is_admitted_to_its_backend():
    extra = "      className: envoy-gateway\n      serviceAccount: edge-proxy\n"
    rendering = render_text(intent(rest=GATEWAY.format(extra=extra)))
    objects = load_objects(rendering)
    assert one(objects, "Gateway", "edge")["spec"]["gatewayClassName"] == "envoy-gateway"
    assert one(objects, "MeshTLSAuthentication", "api-gw-edge")["spec"]["identities"] == [
        "edge-proxy.shop.serviceaccount.identity.linkerd.cluster.local"
    ]
    assert not [f for f in rendering.plan.findings if f.loses_intent]


def test_gateway_without_class_or_identity_is_lost():
    rendering = render_text(intent(rest=GATEWAY.format(extra="")))
    lost = {(f.feature, f.subject) for f in rendering.plan.findings if f.loses_intent}
    assert lost == {(Feature.GATEWAY_HTTP, "gateway shop/edge"), (Feature.AUTHZ_IDENTITY, "shop/api")}
    assert find(load_objects(rendering), "Gateway") == []


EGRESS = """\
  egress:
    - {host: api.stripe.com}
    - {host: '*.example.com', ports: [80], protocol: http}
    - {host: grpc.example.com, ports: [443], protocol: grpc}
    - {host: db.example.com, ports: [5432], protocol: tcp}
"""


def test_egress_is_an_egress_network_with_routes_per_host(experimental_catalog):
    rendering = render_text(intent(mesh="  mesh: {egressDefaultDeny: true}", rest=EGRESS))
    objects = load_objects(rendering)
    assert one(objects, "EgressNetwork", "egress")["spec"] == {"trafficPolicy": "Deny"}
    tls = one(objects, "TLSRoute", "egress-api-stripe-com-443")
    assert tls["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert tls["spec"]["hostnames"] == ["api.stripe.com"]
    assert tls["spec"]["parentRefs"] == [{"group": "policy.linkerd.io", "kind": "EgressNetwork", "name": "egress", "port": 443}]
    http = one(objects, "HTTPRoute", "egress-wildcard-example-com-80")
    assert http["spec"]["hostnames"] == ["*.example.com"] and http["spec"]["rules"] == [{}]
    assert one(objects, "GRPCRoute", "egress-grpc-example-com-443")["spec"]["hostnames"] == ["grpc.example.com"]
    assert "hostnames" not in one(objects, "TCPRoute", "egress-db-example-com-5432")["spec"]
    # TLS and TCP routes are written as v1 (what Gateway API 1.6 serves) and say Linkerd 2.19 reads v1alpha2;
    # TCP also cannot match a hostname.
    assert sorted(f.subject for f in findings(rendering, Feature.EGRESS_ALLOW_LIST)) == [
        "egress api.stripe.com",
        "egress db.example.com",
        "egress db.example.com",
    ]
    assert [str(v) for v in validate_objects(objects, experimental_catalog)] == []


def test_egress_hosts_without_default_deny_only_register():
    objects = load_objects(render_text(intent(rest="  egress: [{host: api.stripe.com}]")))
    assert one(objects, "EgressNetwork", "egress")["spec"] == {"trafficPolicy": "Allow"}


# --- every object is accepted by the CRDs ------------------------------------------------------

RICH = [
    intent("timeout: 2s\nretries: {attempts: 2, perTryTimeout: 1s}\nreplicas: 2\nrateLimit: {requestsPerSecond: 50}\n"
           "probes: [{port: http, path: /healthz}]\ncircuitBreaker: {consecutiveErrors: 3, baseEjectionTime: 2m}\n"
           "allowFrom: [{service: web, methods: [GET], paths: [/a/*, '*.css']}, {namespace: ops}, {serviceAccount: x, namespace: y}]"),
    intent(rest=GATEWAY.format(extra="      className: envoy-gateway\n      serviceAccount: edge\n")),
]


@pytest.mark.parametrize("text", RICH)
def test_rendered_objects_are_accepted_by_the_crds(text, crd_catalog):
    objects = load_objects(render_text(text))
    assert [str(v) for v in validate_objects(objects, crd_catalog)] == []


def test_output_is_the_same_under_any_hash_seed():
    code = (
        "import sys; from pathlib import Path; from meshgen import load_intent, render;"
        "sys.stdout.write(render(load_intent(Path('examples/emojivoto/intent.yaml')), 'linkerd', 'x').stream)"
    )
    outputs = {
        subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)},
                       capture_output=True, text=True, check=True).stdout
        for seed in ("0", "1", "4242")
    }
    assert len(outputs) == 1


# --- one test per capability row Linkerd does not express natively ------------------------------

#: feature -> (api service lines, mesh line, rest of spec): the smallest intent using it.
TRIGGERS: dict[Feature, tuple[str, str, str]] = {
    Feature.MTLS_STRICT: ("", "  mesh: {mtls: strict}", ""),
    Feature.CA_MESH: ("", "  mesh: {ca: {type: mesh}}", ""),
    Feature.CA_VAULT: ("", "  mesh: {ca: {type: vault, issuerRef: {kind: ClusterIssuer, name: vault}}}", ""),
    Feature.CA_SPIRE: ("", "  mesh: {ca: {type: spire}}", ""),
    Feature.MIRRORING: ("versions: [{name: v1, weight: 100}, {name: v2, weight: 0}]\nroutes: [{mirror: {version: v2, percent: 5}}]", "", ""),
    Feature.RETRIES: ("retries: {attempts: 3, retryOn: [5xx, connect-failure]}", "", ""),
    Feature.RETRY_BUDGET: ("retries: {attempts: 2}\nretryBudget: {percent: 20, minRetriesPerSecond: 5}", "", ""),
    Feature.OUTLIER_DETECTION: ("circuitBreaker: {consecutiveErrors: 5, baseEjectionTime: 30s}", "", ""),
    Feature.EJECTION_LIMITS: ("circuitBreaker: {consecutiveErrors: 5, interval: 10s, maxEjectionPercent: 50}", "", ""),
    Feature.CONNECTION_POOL: ("circuitBreaker: {maxConnections: 100, maxPendingRequests: 10}", "", ""),
    Feature.RATE_LIMIT: ("replicas: 2\nrateLimit: {requestsPerSecond: 100}", "", ""),
    Feature.RATE_LIMIT_BURST: ("rateLimit: {requestsPerSecond: 100, burst: 200}", "", ""),
    Feature.FAULT_DELAY: ("routes: [{fault: {delay: {fixedDelay: 2s, percent: 10}}}]", "", ""),
    Feature.FAULT_ABORT: ("routes: [{fault: {abort: {httpStatus: 503, percent: 10}}}]", "", ""),
    Feature.AUTHZ_DENY_RULES: ("allowFrom: [{namespace: shop}]\ndenyFrom: [{service: web}]", "", ""),
    Feature.AUTHZ_BY_VERSION: ("allowFrom: [{service: api, versions: [v2]}]\nversions: [{name: v1, weight: 100}, {name: v2, weight: 0}]", "", ""),
    Feature.AUTHZ_BY_SELECTOR: ("allowFrom: [{selector: {app: web}}]", "", ""),
    Feature.REQUEST_AUTHENTICATION: ("requestAuthentication: {issuer: https://idp.example.com, jwksUri: https://idp.example.com/jwks}", "", ""),
    Feature.GATEWAY_HTTP: ("", "", "  gateways: [{name: edge, listeners: [{port: 80, protocol: HTTP}], routes: [{service: api}]}]"),
    Feature.GATEWAY_L4: (
        "",
        "",
        "  gateways: [{name: edge, className: example, serviceAccount: edge, listeners: [{port: 9000, protocol: TCP}], routes: [{service: api}]}]",
    ),
    Feature.TRACING: ("", "", "  telemetry: {tracing: {samplingPercent: 5, endpoint: otel-collector.observability:4317}}"),
}


def test_every_non_native_linkerd_row_has_a_trigger():
    rows = {f for f, cap in get_platform("linkerd").capabilities.items() if cap.support is not Support.NATIVE}
    assert rows == set(TRIGGERS)


@pytest.mark.parametrize("feature", list(TRIGGERS), ids=lambda f: f.value)
def test_capability_row_is_reported_and_loss_is_refused(tmp_path, feature):
    api, mesh, rest = TRIGGERS[feature]
    text = intent(api, mesh=mesh, rest=rest)
    mine = findings(render_text(text), feature)
    support = get_platform("linkerd").capabilities[feature].support
    assert mine, f"linkerd must report {feature.value}"
    assert {f.support for f in mine} <= {Support.APPROXIMATED, Support.NOT_EXPRESSIBLE}
    if support is Support.NOT_EXPRESSIBLE:
        assert any(f.support is Support.NOT_EXPRESSIBLE for f in mine)
    path = write_intent(tmp_path, text)
    result = CliRunner().invoke(app, ["render", str(path), "--platform", "linkerd"])
    lost = any(f.loses_intent for f in render_text(text).plan.findings)
    assert result.exit_code == (3 if lost else 0), result.stderr
    assert feature.value in result.stderr
    if lost:
        assert result.stdout == ""
        allowed = CliRunner().invoke(app, ["render", str(path), "--platform", "linkerd", "--allow-loss"])
        assert allowed.exit_code == 0 and allowed.stdout.startswith("---\n")


def test_emojivoto_renders_on_linkerd_without_loss():
    result = CliRunner().invoke(app, ["render", str(REPO / "examples" / "emojivoto" / "intent.yaml"), "--platform", "linkerd"])
    assert result.exit_code == 0, result.stderr
    assert "kind: GRPCRoute" in result.stdout
