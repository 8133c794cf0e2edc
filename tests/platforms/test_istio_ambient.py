"""The istio-ambient target: what each intent feature becomes, what is reported, what is refused.

Objects are read back from the rendered YAML and compared with hand-written expectations taken
from Istio's ambient documentation (https://istio.io/latest/docs/ambient/): enrolment by label,
a waypoint only where L7 is needed, L7 policy with targetRefs, ztunnel policy with L4 attributes
only, GAMMA routes, and the ambient Helm values.
"""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from meshgen import load_intent
from meshgen.capabilities import Feature, Support
from meshgen.cli import app
from meshgen.platforms import get_platform
from meshgen.platforms.operations import plan_operations
from meshgen.render import render_file
from tests.conftest import EXAMPLES, FIXTURES, write_intent
from tests.platforms.linkerd_sim import find, load_objects, one, render_text
from tests.test_operations_values import _documented, _helm_merge, _paths, _schema_declares

PLATFORM = "istio-ambient"

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
        - {{name: http, port: 8080, targetPort: 9090}}
{api}
    - name: web
      ports:
        - {{name: http, port: 80, targetPort: 8080}}
{rest}
"""


def intent(api: str = "", *, mesh: str = "", rest: str = "") -> str:
    indent = lambda text: "\n".join("      " + line if line else line for line in text.splitlines())
    return HEAD.format(mesh=mesh, api=indent(api), rest=rest)


def objects_of(text: str) -> list[dict]:
    return load_objects(render_text(text, PLATFORM))


def findings(text: str, feature: Feature) -> list:
    return [f for f in render_text(text, PLATFORM).plan.findings if f.feature is feature]


# --- enrolment and namespaces ----------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_no_sidecar_objects_and_every_namespace_enrolled(example):
    from meshgen import render

    rendering = render(load_intent(example), PLATFORM, "intent.yaml")
    objects = rendering.objects()
    kinds = {o["kind"] for o in objects}
    assert not kinds & {"Sidecar", "VirtualService", "EnvoyFilter"}
    for ns in find(objects, "Namespace"):
        labels = ns["metadata"]["labels"]
        assert labels["istio.io/dataplane-mode"] == "ambient"
        assert "istio-injection" not in labels and "istio.io/rev" not in labels


@pytest.mark.parametrize(("mtls", "mode"), [("strict", "STRICT"), ("permissive", "PERMISSIVE")])
def test_peer_authentication_and_allow_nothing(mtls, mode):
    objects = objects_of(intent(mesh=f"  mesh: {{mtls: {mtls}, defaultDeny: true}}"))
    assert one(objects, "PeerAuthentication", "default")["spec"] == {"mtls": {"mode": mode}}
    assert one(objects, "AuthorizationPolicy", "allow-nothing")["spec"] == {}


def test_permissive_is_reported_as_approximated():
    got = findings(intent(mesh="  mesh: {mtls: permissive, defaultDeny: false}"), Feature.MTLS_PERMISSIVE)
    assert [f.support for f in got] == [Support.APPROXIMATED]
    assert "always uses mTLS" in got[0].detail


def test_permissive_under_default_deny_is_lost():
    # Every ztunnel ALLOW names source principals, which plaintext callers lack: the migration
    # permissive is for (letting unmeshed callers in) does not happen, as on Istio and Linkerd.
    got = findings(intent(mesh="  mesh: {mtls: permissive, defaultDeny: true}"), Feature.MTLS_PERMISSIVE)
    assert sorted(f.support.value for f in got) == ["approximated", "not-expressible"]
    assert "admits no plaintext caller" in next(f.detail for f in got if f.support is Support.NOT_EXPRESSIBLE)


# --- L4 only: ztunnel ------------------------------------------------------------------------------


def test_an_l4_allow_list_stays_on_ztunnel_without_a_waypoint():
    objects = objects_of(intent("allowFrom: [{service: web}]"))
    assert find(objects, "Gateway") == []
    assert "istio.io/use-waypoint" not in one(objects, "Service", "api")["metadata"]["labels"]
    assert one(objects, "AuthorizationPolicy", "api")["spec"] == {
        "selector": {"matchLabels": {"app": "api"}},
        "action": "ALLOW",
        "rules": [
            {
                "from": [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}],
                "to": [{"operation": {"ports": ["9090"]}}],
            }
        ],
    }
    assert find(objects, "HTTPRoute") == []


def test_namespace_callers_and_l4_deny_rules_on_ztunnel():
    objects = objects_of(intent("allowFrom: [{namespace: ops}]\ndenyFrom: [{service: web}]"))
    assert one(objects, "AuthorizationPolicy", "api")["spec"]["rules"] == [
        {"from": [{"source": {"namespaces": ["ops"]}}], "to": [{"operation": {"ports": ["9090"]}}]}
    ]
    deny = one(objects, "AuthorizationPolicy", "api-deny")["spec"]
    assert deny["action"] == "DENY" and deny["selector"] == {"matchLabels": {"app": "api"}}


# --- L7: the waypoint ------------------------------------------------------------------------------


def test_an_l7_allow_list_gets_a_waypoint_a_targetref_policy_and_a_ztunnel_gate():
    objects = objects_of(intent("allowFrom: [{service: web, methods: [GET], paths: [/api/*]}]"))
    assert one(objects, "Gateway", "waypoint")["spec"] == {
        "gatewayClassName": "istio-waypoint",
        # controlPlane.replicas defaults to 2: the waypoint is made as available as the control plane.
        "infrastructure": {"parametersRef": {"group": "", "kind": "ConfigMap", "name": "waypoint-options"}},
        "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}],
    }
    assert one(objects, "Gateway", "waypoint")["metadata"]["labels"]["istio.io/waypoint-for"] == "service"
    labels = one(objects, "Service", "api")["metadata"]["labels"]
    assert labels["istio.io/use-waypoint"] == "waypoint" and labels["istio.io/ingress-use-waypoint"] == "true"
    assert "istio.io/use-waypoint" not in one(objects, "Service", "web")["metadata"]["labels"]
    assert one(objects, "AuthorizationPolicy", "api")["spec"] == {
        "targetRefs": [{"group": "", "kind": "Service", "name": "api"}],
        "action": "ALLOW",
        "rules": [
            {
                "from": [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}],
                "to": [{"operation": {"methods": ["GET"], "paths": ["/api/*"]}}],
            }
        ],
    }
    assert one(objects, "AuthorizationPolicy", "api-ztunnel")["spec"] == {
        "selector": {"matchLabels": {"app": "api"}},
        "action": "ALLOW",
        "rules": [
            {
                "from": [{"source": {"principals": ["cluster.local/ns/shop/sa/waypoint"]}}],
                "to": [{"operation": {"ports": ["9090"]}}],
            }
        ],
    }


def test_a_port_restricted_waypoint_rule_names_the_service_port():
    text = intent(
        "ports:\n  - {name: http, port: 8080, targetPort: 9090}\n  - {name: admin, port: 8081, targetPort: 9091}\n"
        "allowFrom: [{service: web, ports: [admin], methods: [POST]}]"
    ).replace("      ports:\n        - {name: http, port: 8080, targetPort: 9090}\n      ports:", "      ports:", 1)
    objects = objects_of(text)
    rule = one(objects, "AuthorizationPolicy", "api")["spec"]["rules"][0]
    assert rule["to"] == [{"operation": {"ports": ["8081"], "methods": ["POST"]}}]
    gate = one(objects, "AuthorizationPolicy", "api-ztunnel")["spec"]["rules"][0]
    assert gate["to"] == [{"operation": {"ports": ["9091"]}}]


def test_jwt_needs_the_waypoint_and_attaches_with_targetrefs():
    objects = objects_of(
        intent("requestAuthentication: {issuer: https://idp.example.com, jwksUri: https://idp.example.com/jwks}")
    )
    ra = one(objects, "RequestAuthentication", "api")["spec"]
    assert ra == {
        "targetRefs": [{"group": "", "kind": "Service", "name": "api"}],
        "jwtRules": [{"issuer": "https://idp.example.com", "jwksUri": "https://idp.example.com/jwks"}],
    }
    require = one(objects, "AuthorizationPolicy", "api-require-jwt")["spec"]
    assert require["targetRefs"] == [{"group": "", "kind": "Service", "name": "api"}]
    assert "selector" not in require


def test_weights_routes_and_timeouts_are_gamma_routes_on_the_waypoint():
    objects = objects_of(
        intent(
            "versions: [{name: v1, weight: 90}, {name: v2, weight: 10}]\n"
            "routes: [{match: {headers: {x-canary: {exact: 'yes'}}}, version: v2}]\ntimeout: 2s"
        )
    )
    route = one(objects, "HTTPRoute", "api")["spec"]
    assert route == {
        "parentRefs": [{"group": "", "kind": "Service", "name": "api", "port": 8080}],
        "rules": [
            {
                "matches": [{"headers": [{"name": "x-canary", "type": "Exact", "value": "yes"}]}],
                "backendRefs": [{"name": "api-v2", "port": 8080}],
                "timeouts": {"request": "2s"},
            },
            {
                "backendRefs": [
                    {"name": "api-v1", "port": 8080, "weight": 90},
                    {"name": "api-v2", "port": 8080, "weight": 10},
                ],
                "timeouts": {"request": "2s"},
            },
        ],
    }
    assert one(objects, "Service", "api-v2")["spec"]["selector"] == {"app": "api", "version": "v2"}
    assert "istio.io/use-waypoint" not in one(objects, "Service", "api-v2")["metadata"]["labels"]


def test_no_waypoint_and_no_route_when_the_intent_needs_no_l7():
    objects = objects_of(intent())
    assert (
        find(objects, "Gateway") == [] and find(objects, "HTTPRoute") == [] and find(objects, "DestinationRule") == []
    )


def test_circuit_breaking_is_a_destination_rule_per_backend_and_reported():
    text = intent(
        "versions: [{name: v1, weight: 50}, {name: v2, weight: 50}]\ncircuitBreaker: {consecutiveErrors: 5, maxConnections: 10}"
    )
    objects = objects_of(text)
    for host in ("api-v1", "api-v2"):
        dr = one(objects, "DestinationRule", host)["spec"]
        assert dr == {
            "host": f"{host}.shop.svc.cluster.local",
            "trafficPolicy": {
                "connectionPool": {"tcp": {"maxConnections": 10}},
                "outlierDetection": {"consecutive5xxErrors": 5},
            },
        }
    assert [f.support for f in findings(text, Feature.OUTLIER_DETECTION)] == [Support.APPROXIMATED]
    assert "Alpha" in findings(text, Feature.CONNECTION_POOL)[0].detail


# --- retries: the mesh-wide default ----------------------------------------------------------------


def _istiod(text: str) -> dict:
    files = plan_operations(get_platform(PLATFORM), load_intent_text(text)).files
    return {f.path: yaml.safe_load(render_file(f)) for f in files}


def load_intent_text(text: str):
    from pathlib import Path

    from meshgen.loader import parse_intent

    return parse_intent(text, Path("intent.yaml"))


def test_no_retries_anywhere_turns_istio_default_retries_off():
    values = _istiod(intent())["values/istiod.yaml"]
    assert values["meshConfig"]["defaultHttpRetryPolicy"] == {"attempts": 0}
    assert values["profile"] == "ambient"


def test_default_retries_become_the_mesh_retry_policy_and_differing_ones_are_lost():
    text = intent("retries: {attempts: 5}", rest="").replace(
        "  defaults: {namespace: shop}", "  defaults: {namespace: shop, retries: {attempts: 2, perTryTimeout: 1s}}"
    )
    values = _istiod(text)["values/istiod.yaml"]
    assert values["meshConfig"]["defaultHttpRetryPolicy"] == {
        "attempts": 2,
        "retryOn": "5xx,reset,connect-failure",
        "perTryTimeout": "1s",
    }
    lost = [f for f in findings(text, Feature.RETRIES) if f.subject == "shop/api"]
    assert [f.support for f in lost] == [Support.NOT_EXPRESSIBLE]
    kept = [f for f in findings(text, Feature.RETRIES) if f.subject == "shop/web"]
    assert [f.support for f in kept] == [Support.APPROXIMATED]
    assert all(
        "timeouts" not in rule or "backendRequest" not in rule["timeouts"]
        for r in find(objects_of(text), "HTTPRoute")
        for rule in r["spec"]["rules"]
    )


# --- what ambient cannot express -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "mesh", "rest", "feature"),
    [
        ("routes: [{fault: {delay: {fixedDelay: 2s, percent: 10}}}]", "", "", Feature.FAULT_DELAY),
        ("routes: [{fault: {abort: {httpStatus: 503, percent: 10}}}]", "", "", Feature.FAULT_ABORT),
        ("rateLimit: {requestsPerSecond: 100}", "", "", Feature.RATE_LIMIT),
        ("", "  mesh: {egressDefaultDeny: true}", "  egress: [{host: api.stripe.com}]", Feature.EGRESS_ALLOW_LIST),
        ("", "  mesh: {ca: {type: spire}}", "", Feature.CA_SPIRE),
    ],
)
def test_inexpressible_intent_is_lost_and_refused(tmp_path, api, mesh, rest, feature):
    text = intent(api, mesh=mesh, rest=rest)
    assert any(f.support is Support.NOT_EXPRESSIBLE for f in findings(text, feature))
    path = write_intent(tmp_path, text)
    result = CliRunner().invoke(app, ["render", str(path), "--platform", PLATFORM])
    assert result.exit_code == 3, result.output
    assert find(objects_of(text), "EnvoyFilter") == [] and find(objects_of(text), "VirtualService") == []


def test_grpc_ports_get_httproutes_that_keep_timeouts_and_method_matches():
    text = intent(
        "ports: [{name: rpc, port: 50051, protocol: grpc}]\ntimeout: 1s\n"
        "versions: [{name: v1, weight: 100}, {name: v2, weight: 0}]\n"
        "routes: [{match: {grpc: {service: shop.Api, method: Get}}, version: v2}]"
    ).replace("      ports:\n        - {name: http, port: 8080, targetPort: 9090}\n      ports:", "      ports:", 1)
    assert findings(text, Feature.TIMEOUT) == []
    objects = objects_of(text)
    assert find(objects, "GRPCRoute") == []
    route = one(objects, "HTTPRoute", "api")["spec"]
    assert route["rules"][0] == {
        "matches": [{"path": {"type": "Exact", "value": "/shop.Api/Get"}}],
        "backendRefs": [{"name": "api-v2", "port": 50051}],
        "timeouts": {"request": "1s"},
    }
    assert route["rules"][1]["timeouts"] == {"request": "1s"}
    # The Service keeps its gRPC protocol.
    assert one(objects, "Service", "api")["spec"]["ports"][0]["appProtocol"] == "grpc"


# --- Helm values ------------------------------------------------------------------------------------


def _chart_keys(chart: str) -> set[str]:
    data = yaml.safe_load((FIXTURES / "charts" / chart / "values.yaml").read_text())
    return set(_paths(data.get("_internal_defaults_do_not_set", data)))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_values_use_the_charts_keys(example):
    files = {
        f.path: yaml.safe_load(render_file(f))
        for f in plan_operations(get_platform(PLATFORM), load_intent(example)).files
    }
    assert {"values/istiod.yaml", "values/istio-cni.yaml", "values/ztunnel.yaml"} <= set(files)
    for path, values in files.items():
        chart = path[len("values/") : -len(".yaml")]
        assert values["profile"] == "ambient" if chart in ("istiod", "istio-cni", "ztunnel") else True
        # profile is read by every Istio chart's zzz_profile.yaml, not declared in values.yaml.
        keys = [p for p in _paths(values) if p != "profile"]
        if chart == "istiod":
            known, open_maps = _documented("istiod")
            assert [p for p in keys if p not in known and not f"{p}.".startswith(open_maps)] == []
        elif chart in ("ztunnel", "istio-cni"):
            known = _chart_keys(chart)
            assert [p for p in keys if p not in known and not p.startswith("env.")] == [], chart
        else:
            schema = json.loads((FIXTURES / "charts" / chart / "values.schema.json").read_text())
            assert [p for p in keys if not _schema_declares(schema, p, schema)] == [], chart
            defaults = yaml.safe_load((FIXTURES / "charts" / chart / "values.yaml").read_text())
            import jsonschema

            assert list(jsonschema.Draft7Validator(schema).iter_errors(_helm_merge(defaults, values))) == []


def test_cert_manager_points_ztunnel_at_istio_csr():
    intent_ = load_intent(next(p for p in EXAMPLES if p.parent.name == "production-identity"))
    files = {f.path: yaml.safe_load(render_file(f)) for f in plan_operations(get_platform(PLATFORM), intent_).files}
    ztunnel = files["values/ztunnel.yaml"]
    assert ztunnel["caAddress"] == "cert-manager-istio-csr.cert-manager.svc:443"
    assert ztunnel["env"]["SECRET_TTL"]
    assert files["values/istio-csr.yaml"]["app"]["server"]["caTrustedNodeAccounts"] == "istio-system/ztunnel"
    assert files["values/istiod.yaml"]["global"]["caAddress"] == "cert-manager-istio-csr.cert-manager.svc:443"


def test_alerts_read_waypoint_metrics():
    objects = objects_of(intent("timeout: 2s"))
    rule = one(objects, "PrometheusRule", "shop-mesh-alerts")
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"] if r["alert"] == "MeshServiceErrorRateHigh"]
    assert exprs and all('reporter="waypoint"' in e for e in exprs)
    assert all("web.shop" not in e for e in exprs)  # web has no waypoint: no request metrics
    monitors = {(m["metadata"]["namespace"], m["metadata"]["name"]) for m in find(objects, "PodMonitor")}
    assert ("istio-system", "ztunnel") in monitors


def test_diff_from_sidecar_mode_shows_the_migration():
    bookinfo = next(p for p in EXAMPLES if p.parent.name == "bookinfo")
    result = CliRunner().invoke(app, ["diff", str(bookinfo), "--from", "istio", "--to", PLATFORM, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    lost = {(r["subject"], r["feature"]) for r in report["features"] if r["change"] == "lost"}
    # The fault-injection task's delay and the per-route retries of ratings cannot be kept.
    assert ("bookinfo/ratings", "fault-delay") in lost and ("bookinfo/ratings", "retries") in lost
    kinds = lambda side: sorted({o["kind"] for o in report["objects"][side]})
    assert "VirtualService" in kinds("from") and "VirtualService" not in kinds("to")
    waypoints = [o for o in report["objects"]["to"] if o["kind"] == "Gateway" and o["name"] == "waypoint"]
    assert waypoints == [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "name": "waypoint", "namespace": "bookinfo"}
    ]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_mesh_route_and_service_policy_is_on_a_bound_service(example):
    """A GAMMA route or targetRefs policy on a Service without a waypoint would do nothing in ambient."""
    from meshgen import render

    objects = render(load_intent(example), PLATFORM, "intent.yaml").objects()
    services = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in find(objects, "Service")}
    refs = []
    for canary in find(objects, "Canary"):
        # Flagger writes the Service named after the Canary's service and its -primary/-canary
        # Services with the labels of spec.service.apex/primary/canary, and its HTTPRoute on
        # gatewayRefs (fluxcd/flagger pkg/router/kubernetes_default.go, gateway_api.go).
        ns, service = canary["metadata"]["namespace"], canary["spec"]["service"]
        for which, name in (("apex", service["name"]), ("primary", f"{service['name']}-primary"), ("canary", f"{service['name']}-canary")):
            services[(ns, name)] = {"metadata": {"labels": service.get(which, {}).get("labels", {})}}
        refs += [(ns, r["name"]) for r in service["gatewayRefs"] if r.get("kind") == "Service"]
    waypoints = {
        (o["metadata"]["namespace"], o["metadata"]["name"])
        for o in find(objects, "Gateway")
        if o["spec"]["gatewayClassName"] == "istio-waypoint"
    }
    for route in find(objects, "HTTPRoute") + find(objects, "GRPCRoute"):
        refs += [
            (route["metadata"]["namespace"], p["name"])
            for p in route["spec"]["parentRefs"]
            if p.get("kind") == "Service"
        ]
    for kind in ("AuthorizationPolicy", "RequestAuthentication"):
        for policy in find(objects, kind):
            spec = policy["spec"]
            assert not (spec.get("selector") and spec.get("targetRefs"))
            refs += [
                (policy["metadata"]["namespace"], r["name"])
                for r in spec.get("targetRefs", [])
                if r["kind"] == "Service"
            ]
    assert refs
    for ns, name in refs:
        bound = services[(ns, name)]["metadata"]["labels"].get("istio.io/use-waypoint")
        assert (ns, bound) in waypoints, (ns, name)


def test_waypoint_availability_follows_the_control_plane():
    objects = objects_of(intent("timeout: 2s", mesh="  mesh: {controlPlane: {replicas: 3}}"))
    data = {k: json.loads(v) for k, v in one(objects, "ConfigMap", "waypoint-options")["data"].items()}
    assert data["deployment"]["spec"]["replicas"] == 3
    anti = data["deployment"]["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert anti["requiredDuringSchedulingIgnoredDuringExecution"] == [
        {
            "labelSelector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "waypoint"}},
            "topologyKey": "kubernetes.io/hostname",
        }
    ]
    assert data["podDisruptionBudget"] == {"spec": {"maxUnavailable": 1}}
    assert "horizontalPodAutoscaler" not in data
    scaled = objects_of(intent("timeout: 2s", mesh="  mesh: {controlPlane: {replicas: 2, maxReplicas: 6}}"))
    data = {k: json.loads(v) for k, v in one(scaled, "ConfigMap", "waypoint-options")["data"].items()}
    assert data["horizontalPodAutoscaler"] == {"spec": {"minReplicas": 2, "maxReplicas": 6}}
    assert "replicas" not in data["deployment"]["spec"]


def test_one_replica_waypoint_is_reported_and_has_no_options():
    text = intent("timeout: 2s", mesh="  mesh: {controlPlane: {replicas: 1}}")
    objects = objects_of(text)
    assert find(objects, "ConfigMap") == []
    assert "infrastructure" not in one(objects, "Gateway", "waypoint")["spec"]
    assert any(
        "waypoint" in f.detail and f.support is Support.APPROXIMATED for f in findings(text, Feature.CONTROL_PLANE_HA)
    )


def test_the_waypoint_never_shares_a_name_with_an_intent_workload():
    """istiod names the waypoint's ServiceAccount after its Gateway: a workload already running as
    ``waypoint`` would otherwise pass every ztunnel policy that admits the waypoint."""
    text = intent("allowFrom: [{service: web, methods: [GET]}]").replace(
        "    - name: web\n", "    - name: web\n      serviceAccount: waypoint\n"
    )
    objects = objects_of(text)
    assert [g["metadata"]["name"] for g in find(objects, "Gateway")] == ["waypoint-mesh"]
    gate = one(objects, "AuthorizationPolicy", "api-ztunnel")["spec"]["rules"][0]["from"]
    assert gate == [{"source": {"principals": ["cluster.local/ns/shop/sa/waypoint-mesh"]}}]
