"""Argo Rollouts on every platform: the rendered Rollout and AnalysisTemplate read back.

Expected values are written out here from Argo's and each platform's documentation (URLs next to
them), never computed by meshgen: traffic routing per platform, steps, thresholds, the metric
names each data plane documents, the routing objects Argo rewrites, and the losses.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from meshgen import load_intent, render
from meshgen.capabilities import Feature, Severity, Support
from meshgen.cli import app
from meshgen.kube import CRDCatalog, validate_objects
from meshgen.platforms import names
from tests.conftest import write_intent

HEAD = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: shop}
spec:
  defaults: {namespace: test}
  delivery: {controller: argo-rollouts, prometheus: "http://prometheus.monitoring:9090"}
  services:
    - name: frontend
      ports: [{name: http, port: 8080}]
"""

CANARY = (
    HEAD
    + """\
    - name: podinfo
      replicas: 4
      ports: [{name: http, port: 9898}]
      timeout: 5s
      allowFrom: [{service: frontend}]
      rollout:
        interval: 30s
        steps: [{weight: 10}, {weight: 40, pause: 5m}]
        analysis: {successRate: 99.5, latencyP99: 250ms, failureLimit: 4}
        webhooks:
          loadTest: {url: "http://flagger-loadtester.test/", command: "hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/"}
          manualGate: {}
"""
)

BLUE_GREEN = (
    HEAD
    + """\
    - name: podinfo
      ports: [{name: http, port: 9898}]
      rollout:
        strategy: blue-green
        analysis: {iterations: 6}
        webhooks: {manualGate: {}}
"""
)

PLATFORMS = list(names())

# The data-plane metrics each platform documents, and the label that picks the canary's pods.
# Istio: https://istio.io/latest/docs/reference/config/metrics/ (destination_workload is the
# Rollout's name for stable and canary pods, istio/istio#49256).
# Linkerd: https://linkerd.io/2.19/reference/proxy-metrics/ (a Rollout's pods are labelled by
# their ReplicaSet: linkerd2 controller/k8s isValidRSParent accepts no Rollout).
# Cilium: https://docs.cilium.io/en/stable/observability/metrics/#http (destination_workload is
# the ReplicaSet without a pod-template-hash label, cilium pkg/k8s/utils/workload.go).
# Consul: https://developer.hashicorp.com/consul/docs/connect/observability (Envoy local_app cluster).
METRICS = {
    "istio": ("istio_requests_total", "istio_request_duration_milliseconds_bucket", 'destination_workload=~"{{args.workload}}"'),
    "istio-ambient": ("istio_requests_total", "istio_request_duration_milliseconds_bucket", 'reporter="waypoint"'),
    "linkerd": ("response_total", "response_latency_ms_bucket", 'replicaset=~"{{args.workload}}-{{args.canary-hash}}"'),
    "cilium": (
        "hubble_http_requests_total",
        "hubble_http_request_duration_seconds_bucket",
        'destination_workload=~"{{args.workload}}-{{args.canary-hash}}"',
    ),
    "consul": (
        "envoy_cluster_upstream_rq_xx",
        "envoy_cluster_upstream_rq_time_bucket",
        'pod=~"{{args.workload}}-{{args.canary-hash}}-[0-9a-z]+"',
    ),
}
CANARY_ONLY = {"linkerd", "cilium", "consul"}
GATEWAY_API_PLUGIN = {"istio-ambient", "linkerd", "cilium"}


def _render(tmp_path, text: str, platform: str):
    return render(load_intent(write_intent(tmp_path, text)), platform, "intent.yaml")


def _by_kind(rendering, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in rendering.objects() if o["kind"] == kind}


@pytest.fixture(scope="module")
def catalog() -> CRDCatalog:
    return CRDCatalog.bundled()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_object_is_accepted_by_the_bundled_crds(tmp_path, platform, catalog):
    for text in (CANARY, BLUE_GREEN):
        rendering = _render(tmp_path, text, platform)
        kinds = {o["kind"] for o in rendering.objects()}
        assert "Rollout" in kinds
        assert validate_objects(rendering.objects(), catalog) == []


def test_the_validator_checks_rollouts_and_analysis_templates(tmp_path, catalog):
    # The acceptance above means something only if the bundle holds the Argo CRDs.
    rendering = _render(tmp_path, CANARY, "istio")
    rollout = _by_kind(rendering, "Rollout")["podinfo"]
    rollout["spec"]["strategy"]["canary"]["stepz"] = []
    template = _by_kind(rendering, "AnalysisTemplate")["podinfo-analysis"]
    template["spec"]["metrics"][0]["intervall"] = "1m"
    paths = [v.path for v in validate_objects([rollout, template], catalog)]
    assert paths == ["spec.strategy.canary.stepz", "spec.metrics[0].intervall"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_rollout_takes_over_the_deployment_with_the_intent_steps(tmp_path, platform):
    rollout = _by_kind(_render(tmp_path, CANARY, platform), "Rollout")["podinfo"]
    spec = rollout["spec"]
    assert rollout["apiVersion"] == "argoproj.io/v1alpha1"
    assert spec["replicas"] == 4
    # https://argo-rollouts.readthedocs.io/en/stable/migrating/ (workloadRef, scaleDown)
    assert spec["workloadRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo", "scaleDown": "onsuccess"}
    assert "template" not in spec and "selector" not in spec
    # setWeight then pause.duration per step (the first holds the interval), a last pause {} for the gate
    assert spec["strategy"]["canary"]["steps"] == [
        {"setWeight": 10},
        {"pause": {"duration": "30s"}},
        {"setWeight": 40},
        {"pause": {"duration": "5m"}},
        {"pause": {}},
    ]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_traffic_routing_per_platform(tmp_path, platform):
    canary = _by_kind(_render(tmp_path, CANARY, platform), "Rollout")["podinfo"]["spec"]["strategy"]["canary"]
    routing = canary.get("trafficRouting")
    if platform == "istio":
        # https://argo-rollouts.readthedocs.io/en/stable/features/traffic-management/istio/#subset-level-traffic-splitting
        assert routing == {
            "istio": {
                "virtualService": {"name": "podinfo", "routes": ["default"]},
                "destinationRule": {"name": "podinfo", "canarySubsetName": "canary", "stableSubsetName": "stable"},
            }
        }
        assert "canaryService" not in canary
    elif platform in GATEWAY_API_PLUGIN:
        # rollouts-plugin-trafficrouter-gatewayapi README / examples/linkerd/rollout.yaml
        assert routing == {"plugins": {"argoproj-labs/gatewayAPI": {"namespace": "test", "httpRoute": "podinfo"}}}
        assert (canary["canaryService"], canary["stableService"]) == ("podinfo-canary", "podinfo-stable")
    elif platform == "consul":
        # hashicorp/rollouts-plugin-trafficrouter-consul README
        assert routing == {
            "plugins": {"hashicorp/consul": {"serviceName": "podinfo", "stableSubsetName": "stable", "canarySubsetName": "canary"}}
        }
    else:
        assert platform == "kubernetes"
        assert routing is None


def test_istio_virtual_service_and_destination_rule_are_shaped_for_argo(tmp_path):
    rendering = _render(tmp_path, CANARY, "istio")
    host = "podinfo.test.svc.cluster.local"
    vs = _by_kind(rendering, "VirtualService")["podinfo"]
    (route,) = vs["spec"]["http"]
    assert route["name"] == "default"
    assert route["route"] == [
        {"destination": {"host": host, "subset": "stable"}, "weight": 100},
        {"destination": {"host": host, "subset": "canary"}, "weight": 0},
    ]
    assert route["timeout"] == "5s"  # the intent's own settings stay on the route
    dr = _by_kind(rendering, "DestinationRule")["podinfo"]
    assert dr["spec"]["host"] == host
    assert dr["spec"]["subsets"] == [{"name": "stable", "labels": {"app": "podinfo"}}, {"name": "canary", "labels": {"app": "podinfo"}}]
    # the frontend's VirtualService is untouched
    assert _by_kind(rendering, "VirtualService")["frontend"]["spec"]["http"][0]["route"] == [
        {"destination": {"host": "frontend.test.svc.cluster.local"}}
    ]


@pytest.mark.parametrize("platform", sorted(GATEWAY_API_PLUGIN))
def test_gamma_route_sends_to_stable_and_canary_services(tmp_path, platform):
    rendering = _render(tmp_path, CANARY, platform)
    route = _by_kind(rendering, "HTTPRoute")["podinfo"]
    assert route["spec"]["parentRefs"] == [{"group": "", "kind": "Service", "name": "podinfo", "port": 9898}]
    for rule in route["spec"]["rules"]:
        assert rule["backendRefs"] == [
            {"name": "podinfo-stable", "port": 9898, "weight": 100},
            {"name": "podinfo-canary", "port": 9898, "weight": 0},
        ]
    services = _by_kind(rendering, "Service")
    for name in ("podinfo-stable", "podinfo-canary"):
        assert services[name]["spec"]["selector"] == services["podinfo"]["spec"]["selector"] == {"app": "podinfo"}
        assert services[name]["spec"]["ports"] == services["podinfo"]["spec"]["ports"]
        # an ambient waypoint binding stays on the service itself (fail closed for the copies)
        assert "istio.io/use-waypoint" not in services[name]["metadata"].get("labels", {})


def test_a_service_without_a_route_gets_one_for_the_plugin(tmp_path):
    text = CANARY.replace("      timeout: 5s\n", "")
    rendering = _render(tmp_path, text, "cilium")
    route = _by_kind(rendering, "HTTPRoute")["podinfo"]
    assert route["spec"]["rules"] == [
        {"backendRefs": [{"name": "podinfo-stable", "port": 9898, "weight": 100}, {"name": "podinfo-canary", "port": 9898, "weight": 0}]}
    ]


def test_consul_splitter_has_exactly_the_two_subsets_the_plugin_expects(tmp_path):
    rendering = _render(tmp_path, CANARY, "consul")
    splitter = _by_kind(rendering, "ServiceSplitter")["podinfo"]
    # plugin.go SetWeight: "unexpected number of service splits. Expected 2"
    assert splitter["spec"]["splits"] == [{"weight": 100.0, "serviceSubset": "stable"}, {"weight": 0.0, "serviceSubset": "canary"}]
    resolver = _by_kind(rendering, "ServiceResolver")["podinfo"]
    assert set(resolver["spec"]["subsets"]) == {"stable", "canary"}


@pytest.mark.parametrize("platform", sorted(METRICS))
def test_analysis_queries_use_the_documented_metrics(tmp_path, platform):
    rendering = _render(tmp_path, CANARY, platform)
    template = _by_kind(rendering, "AnalysisTemplate")["podinfo-analysis"]
    requests, latency, selector = METRICS[platform]
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    assert list(metrics) == ["success-rate", "latency-p99", "load-test"]
    success, p99 = metrics["success-rate"], metrics["latency-p99"]
    assert success["provider"]["prometheus"]["address"] == "http://prometheus.monitoring:9090"
    assert requests in success["provider"]["prometheus"]["query"]
    assert latency in p99["provider"]["prometheus"]["query"]
    for metric in (success, p99):
        query = metric["provider"]["prometheus"]["query"]
        assert selector in query
        assert "[30s]" in query  # the rollout's interval as the rate window
        assert metric["interval"] == "30s"
        # intent failureLimit 4 = roll back at the 4th failure; Argo fails when failures > failureLimit
        assert metric["failureLimit"] == 3
        assert "count" not in metric  # background analysis runs until the rollout ends
    # https://argo-rollouts.readthedocs.io/en/stable/analysis/prometheus/ : result is a vector
    assert success["successCondition"] == "result[0] >= 99.5"
    assert p99["successCondition"] == "result[0] <= 250"


@pytest.mark.parametrize("platform", sorted(METRICS))
def test_analysis_picks_the_canary_where_the_platform_can(tmp_path, platform):
    rendering = _render(tmp_path, CANARY, platform)
    analysis = _by_kind(rendering, "Rollout")["podinfo"]["spec"]["strategy"]["canary"]["analysis"]
    template = _by_kind(rendering, "AnalysisTemplate")["podinfo-analysis"]
    args = {a["name"]: a for a in analysis["args"]}
    assert analysis["templates"] == [{"templateName": "podinfo-analysis"}]
    assert [a["name"] for a in template["spec"]["args"]] == list(args)
    assert args["namespace"]["value"] == "test" and args["workload"]["value"] == "podinfo"
    diluted = [
        f for f in rendering.plan.findings
        if f.feature is Feature.ROLLOUT_ARGO and f.support is Support.APPROXIMATED and "diluted" in f.detail
    ]
    if platform in CANARY_ONLY:
        # https://argo-rollouts.readthedocs.io/en/stable/features/analysis/ (podTemplateHashValue: Latest)
        assert args["canary-hash"] == {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}
        assert diluted == []
    else:
        assert "canary-hash" not in args
        assert len(diluted) == 1 and diluted[0].subject == "test/podinfo"


def test_load_test_is_a_web_metric_with_the_loadtester_payload(tmp_path):
    template = _by_kind(_render(tmp_path, CANARY, "linkerd"), "AnalysisTemplate")["podinfo-analysis"]
    load = next(m for m in template["spec"]["metrics"] if m["name"] == "load-test")
    # https://argo-rollouts.readthedocs.io/en/stable/analysis/web/ (method POST, jsonBody);
    # flagger-loadtester reads metadata.cmd
    assert load["provider"] == {
        "web": {
            "url": "http://flagger-loadtester.test/",
            "method": "POST",
            "jsonBody": {
                "name": "{{args.workload}}",
                "namespace": "{{args.namespace}}",
                "metadata": {"type": "cmd", "cmd": "hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/"},
            },
        }
    }
    assert "successCondition" not in load


@pytest.mark.parametrize("platform", PLATFORMS)
def test_blue_green(tmp_path, platform):
    rendering = _render(tmp_path, BLUE_GREEN, platform)
    spec = _by_kind(rendering, "Rollout")["podinfo"]["spec"]["strategy"]
    assert list(spec) == ["blueGreen"]
    blue_green = spec["blueGreen"]
    # https://argo-rollouts.readthedocs.io/en/stable/features/bluegreen/
    assert blue_green["activeService"] == "podinfo"
    assert blue_green["previewService"] == "podinfo-preview"
    assert blue_green["autoPromotionEnabled"] is False  # the manual gate
    services = _by_kind(rendering, "Service")
    assert services["podinfo-preview"]["spec"]["selector"] == {"app": "podinfo"}
    if platform == "kubernetes":
        assert "prePromotionAnalysis" not in blue_green
        return
    assert blue_green["prePromotionAnalysis"]["templates"] == [{"templateName": "podinfo-analysis"}]
    for metric in _by_kind(rendering, "AnalysisTemplate")["podinfo-analysis"]["spec"]["metrics"]:
        assert metric["count"] == 6  # iterations checks before promotion


def _policies(rendering) -> list[dict]:
    kinds = {"AuthorizationPolicy", "Server", "CiliumNetworkPolicy", "NetworkPolicy", "ServiceIntentions", "AuthorizationPolicy"}
    return sorted((o for o in rendering.objects() if o["kind"] in kinds), key=lambda o: (o["kind"], o["metadata"]["name"]))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_allow_lists_are_the_same_with_and_without_the_rollout(tmp_path, platform):
    # Argo's pods keep the Deployment template's labels (plus rollouts-pod-template-hash), so the
    # selector-based policies written without a rollout select stable and canary pods alike.
    plain = CANARY[: CANARY.index("      rollout:")]
    assert _policies(_render(tmp_path, CANARY, platform)) == _policies(_render(tmp_path, plain, platform))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_ownership_is_reported(tmp_path, platform):
    findings = [
        f for f in _render(tmp_path, CANARY, platform).plan.findings
        if f.feature is Feature.ROLLOUT_ARGO and f.severity is Severity.INFO
    ]
    assert len(findings) == 1
    detail = findings[0].detail
    assert "workloadRef" in detail and "rollouts-pod-template-hash" in detail
    expected = {
        "istio": ("VirtualService test/podinfo", "DestinationRule test/podinfo"),
        "consul": ("ServiceSplitter test/podinfo", "ServiceResolver test/podinfo"),
        "kubernetes": (),
    }.get(platform, ("test/podinfo", "podinfo-stable", "podinfo-canary"))
    for name in expected:
        assert name in detail


def test_no_mesh_loses_the_analysis_and_refuses_by_default(tmp_path):
    path = write_intent(tmp_path, CANARY)
    refused = CliRunner().invoke(app, ["render", str(path), "--platform", "kubernetes"])
    assert refused.exit_code == 3
    assert refused.stdout == ""
    assert any(line.split()[:3] == ["LOST", "test/podinfo", "rollout-argo-rollouts:"] for line in refused.stderr.splitlines())
    accepted = CliRunner().invoke(app, ["render", str(path), "--platform", "kubernetes", "--allow-loss"])
    assert accepted.exit_code == 0, accepted.stderr
    assert "kind: Rollout" in accepted.stdout
    rendering = _render(tmp_path, CANARY, "kubernetes")
    findings = [f for f in rendering.plan.findings if f.feature is Feature.ROLLOUT_ARGO]
    lost = [f for f in findings if f.support is Support.NOT_EXPRESSIBLE]
    assert len(lost) == 1 and "99.5%" in lost[0].detail and "250ms" in lost[0].detail
    assert any(f.support is Support.APPROXIMATED and "replica" in f.detail for f in findings)
    # only the load test is left to run
    template = _by_kind(rendering, "AnalysisTemplate")["podinfo-analysis"]
    assert [m["name"] for m in template["spec"]["metrics"]] == ["load-test"]


@pytest.mark.parametrize("platform", ["istio", "linkerd", "cilium", "istio-ambient", "consul"])
def test_meshes_render_without_loss(tmp_path, platform):
    path = write_intent(tmp_path, CANARY)
    result = CliRunner().invoke(app, ["render", str(path), "--platform", platform])
    assert result.exit_code == 0, result.stderr
    assert "kind: Rollout" in result.stdout


def test_output_is_deterministic(tmp_path):
    for platform in PLATFORMS:
        first = _render(tmp_path, CANARY, platform).stream
        assert _render(tmp_path, CANARY, platform).stream == first


@pytest.mark.parametrize("platform", ["istio", "linkerd", "cilium", "istio-ambient"])
def test_gateway_routes_keep_the_service_and_are_reported(tmp_path, platform):
    text = CANARY.replace(
        "  services:\n",
        "  gateways: [{name: edge, className: example, listeners: [{port: 80, protocol: HTTP}], routes: [{service: podinfo}]}]\n"
        "  services:\n",
    )
    rendering = _render(tmp_path, text, platform)
    edge = _by_kind(rendering, "HTTPRoute")["edge-http-80"]
    assert edge["spec"]["rules"][0]["backendRefs"] == [{"name": "podinfo", "port": 9898}]
    unsplit = [
        f for f in rendering.plan.findings
        if f.feature is Feature.ROLLOUT_ARGO and f.support is Support.APPROXIMATED and "HTTPRoute test/edge-http-80" in f.detail
    ]
    assert len(unsplit) == 1 and "pod counts" in unsplit[0].detail
    routing = _by_kind(rendering, "Rollout")["podinfo"]["spec"]["strategy"]["canary"]["trafficRouting"]
    if platform != "istio":
        assert routing["plugins"]["argoproj-labs/gatewayAPI"]["httpRoute"] == "podinfo"


MIXED = (
    HEAD
    + """\
    - name: api
      ports: [{name: grpc, port: 9000, protocol: grpc}, {name: http, port: 8080}, {name: db, port: 5432, protocol: tcp}]
      rollout:
        workload: api-server
        steps: [{weight: 20}, {weight: 60}]
"""
)


@pytest.mark.parametrize("platform", sorted(GATEWAY_API_PLUGIN))
def test_every_l7_port_has_a_route_the_plugin_weighs(tmp_path, platform):
    rendering = _render(tmp_path, MIXED, platform)
    routes = {**_by_kind(rendering, "HTTPRoute"), **_by_kind(rendering, "GRPCRoute")}
    ports = set()
    for route in routes.values():
        parents = [p for p in route["spec"]["parentRefs"] if p.get("kind") == "Service" and p["name"] == "api"]
        if not parents:
            continue
        ports |= {p["port"] for p in parents}
        for rule in route["spec"]["rules"]:
            assert [r["name"] for r in rule["backendRefs"]] == ["api-stable", "api-canary"]
    assert ports == {9000, 8080}
    config = _by_kind(rendering, "Rollout")["api-server"]["spec"]["strategy"]["canary"]["trafficRouting"]["plugins"]["argoproj-labs/gatewayAPI"]
    named = [r["name"] for r in config.get("httpRoutes", []) + config.get("grpcRoutes", [])]
    assert sorted(named) == sorted(n for n, r in routes.items() if any(p["name"] == "api" for p in r["spec"]["parentRefs"]))


@pytest.mark.parametrize("platform", ["istio", "linkerd", "cilium", "istio-ambient", "consul"])
def test_l4_ports_of_a_rolled_out_service_are_reported(tmp_path, platform):
    rendering = _render(tmp_path, MIXED, platform)
    l4 = [f for f in rendering.plan.findings if f.feature is Feature.ROLLOUT_ARGO and "db (tcp)" in f.detail]
    assert len(l4) == 1 and l4[0].support is Support.APPROXIMATED


def test_the_rollout_is_named_after_the_workload(tmp_path):
    rendering = _render(tmp_path, MIXED, "linkerd")
    rollout = _by_kind(rendering, "Rollout")["api-server"]
    assert rollout["spec"]["workloadRef"]["name"] == "api-server"
    assert "api-server-analysis" in _by_kind(rendering, "AnalysisTemplate")
    args = {a["name"]: a.get("value") for a in rollout["spec"]["strategy"]["canary"]["analysis"]["args"]}
    # Argo names the ReplicaSets <rollout>-<hash> (rollout/sync.go createDesiredReplicaSet)
    assert args["workload"] == "api-server"


@pytest.mark.parametrize("platform", ["linkerd", "kubernetes"])
def test_split_services_never_take_an_intent_service_name(tmp_path, platform):
    text = CANARY.replace("    - name: frontend\n", "    - name: podinfo-stable\n      ports: [{name: http, port: 80}]\n    - name: podinfo-preview\n      ports: [{name: http, port: 80}]\n    - name: frontend\n")
    for body in (text, text.replace("steps: [{weight: 10}, {weight: 40, pause: 5m}]", "strategy: blue-green")):
        rendering = _render(tmp_path, body, platform)
        services = _by_kind(rendering, "Service")
        assert services["podinfo-stable"]["spec"]["selector"] == {"app": "podinfo-stable"}
        assert services["podinfo-preview"]["spec"]["selector"] == {"app": "podinfo-preview"}
        strategy = _by_kind(rendering, "Rollout")["podinfo"]["spec"]["strategy"]
        if "blueGreen" in strategy:
            assert strategy["blueGreen"]["previewService"] == "podinfo-preview-rollout"
            assert services["podinfo-preview-rollout"]["spec"]["selector"] == {"app": "podinfo"}
        elif platform == "linkerd":
            assert strategy["canary"]["stableService"] == "podinfo-stable-rollout"
            assert services["podinfo-stable-rollout"]["spec"]["selector"] == {"app": "podinfo"}
