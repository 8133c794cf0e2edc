"""Flagger rollouts read back from the rendered objects: the Canary per platform, its analysis and
metric queries, what Flagger owns (absent from meshgen's output), the allow-lists covering primary
and canary pods, and the losses (exit 3 unless accepted)."""

from __future__ import annotations

import pytest

from meshgen import load_intent, render
from tests.conftest import REPO, write_intent
from tests.workflow_helpers import run

EXAMPLE = REPO / "examples" / "podinfo" / "intent.yaml"

#: Canary.spec.provider expected per platform (Flagger providers: https://docs.flagger.app/usage/how-it-works;
#: Gateway API for GAMMA meshes as in Flagger's Linkerd tutorial, https://docs.flagger.app/tutorials/linkerd-progressive-delivery).
PROVIDERS = {
    "istio": "istio",
    "istio-ambient": "gatewayapi:v1",
    "linkerd": "gatewayapi:v1",
    "cilium": "gatewayapi:v1",
    "kubernetes": "kubernetes",
}
GATEWAY_API = [p for p, v in PROVIDERS.items() if v.startswith("gatewayapi")]

#: The request metrics each platform documents: (success-rate counter, latency histogram bucket, a label the query must pin).
DOCUMENTED = {
    # https://istio.io/latest/docs/reference/config/metrics/ : istio_requests_total,
    # istio_request_duration_milliseconds; waypoints report with reporter="waypoint".
    "istio-ambient": ("istio_requests_total", "istio_request_duration_milliseconds_bucket", 'reporter="waypoint"'),
    # https://linkerd.io/2.19/reference/proxy-metrics/ : response_total, response_latency_ms; inbound side.
    "linkerd": ("response_total", "response_latency_ms_bucket", 'direction="inbound"'),
    # https://docs.cilium.io/en/stable/observability/metrics/#http : hubble_http_requests_total,
    # hubble_http_request_duration_seconds (seconds).
    "cilium": ("hubble_http_requests_total", "hubble_http_request_duration_seconds_bucket", "destination_workload"),
}

ROLLOUT_INTENT = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {{name: shop}}
spec:
  mesh: {{defaultDeny: true}}
  defaults: {{namespace: shop}}
  services:
    - name: web
      selector: {web_selector}
      ports: [{{name: http, port: 80, targetPort: 8080}}]
{web_rollout}
    - name: api
      selector: {api_selector}
      ports: [{{name: http, port: 8080}}]
      allowFrom: [{{service: web}}]
      rollout:
{api_rollout}
"""


def _intent(tmp_path, *, api_rollout="        steps: [{weight: 10}, {weight: 50}]", web_rollout="",
            api_selector="{app: api}", web_selector="{app: web}", extra=""):
    text = ROLLOUT_INTENT.format(
        api_rollout=api_rollout, web_rollout=web_rollout, api_selector=api_selector, web_selector=web_selector
    )
    return write_intent(tmp_path, text + extra)


def _render(platform, path=EXAMPLE):
    rendering = render(load_intent(path), platform, "intent.yaml")
    return rendering, rendering.objects()


def _find(objects, kind, name=None, namespace="test"):
    return [
        o for o in objects
        if o["kind"] == kind and (name is None or o["metadata"]["name"] == name) and o["metadata"].get("namespace") == namespace
    ]


def _canary(objects, name="podinfo", namespace="test"):
    found = _find(objects, "Canary", name, namespace)
    assert len(found) == 1, [o["kind"] + "/" + o["metadata"]["name"] for o in objects]
    return found[0]["spec"]


def _flagger_findings(rendering):
    return [f for f in rendering.plan.findings if f.feature.value == "rollout-flagger"]


# --- the Canary ----------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", sorted(PROVIDERS))
def test_canary_targets_the_deployment_with_the_platforms_provider(platform):
    _, objects = _render(platform)
    spec = _canary(objects)
    assert spec["provider"] == PROVIDERS[platform]
    assert spec["targetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"}
    service = spec["service"]
    assert (service["name"], service["port"], service["targetPort"], service["portName"]) == ("podinfo", 9898, 9898, "http")
    assert service["appProtocol"] == "http"
    assert service["portDiscovery"] is True  # grpc 9999 reaches the primary and canary Services


@pytest.mark.parametrize("platform", ["istio", *GATEWAY_API])
def test_analysis_has_the_intents_schedule_thresholds_and_webhooks(platform):
    _, objects = _render(platform)
    analysis = _canary(objects)["analysis"]
    assert analysis["interval"] == "1m"
    assert analysis["threshold"] == 5
    assert analysis["stepWeights"] == [10, 20, 30, 50]
    assert "iterations" not in analysis
    by_name = {m["name"]: m for m in analysis["metrics"]}
    assert by_name["request-success-rate"]["thresholdRange"] == {"min": 99}
    assert by_name["request-duration"]["thresholdRange"] == {"max": 500}  # milliseconds
    hooks = {h["name"]: h for h in analysis["webhooks"]}
    assert hooks["load-test"]["type"] == "rollout"
    assert hooks["load-test"]["url"] == "http://flagger-loadtester.test/"
    assert hooks["load-test"]["metadata"] == {"type": "cmd", "cmd": "hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/"}
    assert hooks["manual-gate"] == {"name": "manual-gate", "type": "confirm-promotion", "url": "http://flagger-loadtester.test/gate/check"}


def test_istio_uses_flaggers_builtin_checks_and_writes_no_template():
    # Flagger's Istio observer has both checks built in (https://docs.flagger.app/usage/metrics#builtin-metrics).
    _, objects = _render("istio")
    metrics = _canary(objects)["analysis"]["metrics"]
    assert [m["name"] for m in metrics] == ["request-success-rate", "request-duration"]
    assert all("templateRef" not in m and "query" not in m for m in metrics)
    assert _find(objects, "MetricTemplate") == []


@pytest.mark.parametrize("platform", sorted(DOCUMENTED))
def test_metric_templates_query_the_metrics_the_platform_documents(platform):
    counter, histogram, pinned = DOCUMENTED[platform]
    _, objects = _render(platform)
    templates = {o["metadata"]["name"]: o["spec"] for o in _find(objects, "MetricTemplate")}
    refs = {m["name"]: m["templateRef"] for m in _canary(objects)["analysis"]["metrics"]}
    success = templates[refs["request-success-rate"]["name"]]
    latency = templates[refs["request-duration"]["name"]]
    assert {r["namespace"] for r in refs.values()} == {"test"}
    assert success["provider"] == {"type": "prometheus", "address": "http://prometheus-operated.monitoring:9090"}
    assert f"sum(rate({counter}{{" in success["query"] and success["query"].endswith("* 100")
    assert f"{histogram}{{" in latency["query"] and latency["query"].startswith("histogram_quantile(0.99,")
    for query in (success["query"], latency["query"]):
        # Flagger's own template variables (https://docs.flagger.app/usage/metrics#custom-metrics)
        assert "{{ namespace }}" in query and "{{ target }}" in query and "[{{ interval }}]" in query
        assert "${" not in query
        assert pinned in query


def test_hubble_latency_is_turned_into_milliseconds():
    # hubble_http_request_duration_seconds is in seconds; the Canary's threshold is milliseconds.
    _, objects = _render("cilium")
    (latency,) = [o["spec"]["query"] for o in _find(objects, "MetricTemplate", "meshgen-request-duration")]
    assert latency.endswith(") * 1000")


# --- ownership -----------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", sorted(PROVIDERS))
def test_flagger_owns_the_apex_service_and_says_so(platform):
    rendering, objects = _render(platform)
    assert _find(objects, "Service", "podinfo") == []
    assert len(_find(objects, "Service", "frontend")) == 1
    notes = [f.detail for f in _flagger_findings(rendering) if f.severity.value == "info" and "owns" in f.detail]
    assert len(notes) == 1
    assert "Services podinfo, podinfo-primary and podinfo-canary" in notes[0]
    assert "Service podinfo" in notes[0].split("meshgen leaves out", 1)[1]


def test_istio_routing_is_flaggers_and_keeps_timeout_retries_and_traffic_policy():
    _, objects = _render("istio")
    assert _find(objects, "VirtualService", "podinfo") == []
    assert _find(objects, "DestinationRule", "podinfo") == []
    service = _canary(objects)["service"]
    assert service["timeout"] == "5s"
    assert service["retries"] == {"attempts": 2, "perTryTimeout": "2s", "retryOn": "5xx,connect-failure"}
    assert service["trafficPolicy"] == {"outlierDetection": {"consecutive5xxErrors": 5, "baseEjectionTime": "30s"}}
    assert "gatewayRefs" not in service


@pytest.mark.parametrize("platform", GATEWAY_API)
def test_gateway_api_route_of_the_port_is_flaggers(platform):
    _, objects = _render(platform)
    for route in _find(objects, "HTTPRoute"):
        for parent in route["spec"].get("parentRefs", []):
            assert not (parent.get("kind") == "Service" and parent["name"] == "podinfo" and parent.get("port") == 9898), route
    service = _canary(objects)["service"]
    # GAMMA: the route's parent is the Service itself (core group, kind Service).
    assert service["gatewayRefs"] == [{"name": "podinfo", "namespace": "test", "group": "", "kind": "Service", "port": 9898}]


def test_ambient_moves_the_destination_rule_to_flaggers_backends():
    _, objects = _render("istio-ambient")
    assert _find(objects, "DestinationRule", "podinfo") == []
    for suffix in ("primary", "canary"):
        (rule,) = _find(objects, "DestinationRule", f"podinfo-{suffix}")
        assert rule["spec"]["host"] == f"podinfo-{suffix}.test.svc.cluster.local"
        assert rule["spec"]["trafficPolicy"]["outlierDetection"]["consecutive5xxErrors"] == 5
    # Flagger's Services keep the waypoint label meshgen's Service had.
    service = _canary(objects)["service"]
    for which in ("apex", "primary", "canary"):
        assert service[which]["labels"]["istio.io/use-waypoint"] == "waypoint"


def test_linkerd_route_annotations_travel_with_the_canary():
    _, objects = _render("linkerd")
    annotations = _canary(objects)["service"]["apex"]["annotations"]
    assert annotations["timeout.linkerd.io/request"] == "5s"
    assert annotations["retry.linkerd.io/limit"] == "2"


# --- allow-lists cover primary and canary pods ---------------------------------------------------

CANARY_POD = {"app": "podinfo"}
PRIMARY_POD = {"app": "podinfo-primary"}  # Flagger: pkg/canary/util.go makePrimaryLabels
OTHERS = [{"app": "frontend"}, {"app": "flagger-loadtester"}, {"app": "podinfo-old"}, {"app": "podinfo-canary"}]


def _selects(selector, labels) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr["operator"], expr["key"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


_POD_SELECTORS = {
    "AuthorizationPolicy": lambda spec: spec.get("selector"),
    "Server": lambda spec: spec.get("podSelector"),
    "CiliumNetworkPolicy": lambda spec: spec.get("endpointSelector"),
    "NetworkPolicy": lambda spec: spec.get("podSelector"),
}


@pytest.mark.parametrize("platform", sorted(PROVIDERS))
def test_every_policy_of_podinfo_selects_primary_and_canary_pods_and_nothing_more(platform):
    _, objects = _render(platform)
    groups: dict[str, list[dict]] = {}
    for obj in objects:
        read = _POD_SELECTORS.get(obj["kind"])
        selector = read(obj["spec"]) if read else None
        if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            continue  # namespace-wide (allow-nothing, default deny) or targetRefs
        if not any(_selects(selector, pod) for pod in (CANARY_POD, PRIMARY_POD)):
            continue  # another service's policy
        # A policy and its primary copy carry the same rules: group them by everything but the selector.
        rules = {k: v for k, v in obj["spec"].items() if k not in ("selector", "podSelector", "endpointSelector")}
        groups.setdefault(repr((obj["kind"], sorted(rules.items(), key=str))), []).append(selector)
    assert groups, f"{platform}: no policy selects podinfo's pods"
    for key, selectors in groups.items():
        assert any(_selects(s, CANARY_POD) for s in selectors), key
        assert any(_selects(s, PRIMARY_POD) for s in selectors), key
        for pod in OTHERS:
            assert not any(_selects(s, pod) for s in selectors), (key, pod)


def test_ambient_waypoint_policy_also_targets_flaggers_services():
    _, objects = _render("istio-ambient")
    (policy,) = _find(objects, "AuthorizationPolicy", "podinfo")
    names = sorted(r["name"] for r in policy["spec"]["targetRefs"] if r["kind"] == "Service")
    assert names == ["podinfo", "podinfo-canary", "podinfo-primary"]


def test_a_rolled_out_caller_named_by_labels_is_a_named_loss(tmp_path):
    # NetworkPolicy admits web by its pod labels; Flagger's primary web pods are app=web-primary.
    path = _intent(tmp_path, web_rollout="      rollout: {steps: [{weight: 10}]}")
    rendering = render(load_intent(path), "kubernetes", "intent.yaml")
    lost = [f.detail for f in _flagger_findings(rendering) if f.loses_intent and f.subject == "shop/web"]
    assert any("NetworkPolicy shop/api" in d and "web-primary" in d for d in lost), lost


def test_a_selector_without_flaggers_labels_is_lost_and_writes_nothing(tmp_path):
    path = _intent(tmp_path, api_selector="{tier: api}")
    rendering = render(load_intent(path), "istio", "intent.yaml")
    assert _find(rendering.objects(), "Canary", namespace="shop") == []
    (lost,) = [f for f in _flagger_findings(rendering) if f.loses_intent]
    assert "app, name, app.kubernetes.io/name" in lost.detail


# --- losses --------------------------------------------------------------------------------------


def test_consul_has_no_flagger_router_and_refuses_unless_accepted(tmp_path):
    path = _intent(tmp_path)
    rendering = render(load_intent(path), "consul", "intent.yaml")
    assert _find(rendering.objects(), "Canary", namespace="shop") == []
    (lost,) = [f for f in _flagger_findings(rendering) if f.loses_intent]
    assert lost.subject == "shop/api" and "no router" in lost.detail
    refused = run("render", path, "--platform", "consul")
    assert refused.exit_code == 3 and refused.stdout == ""
    assert "rollout-flagger" in refused.stderr
    accepted = run("render", path, "--platform", "consul", "--accept-loss", "rollout-flagger=api")
    assert accepted.exit_code == 0, accepted.stderr
    assert "kind: Canary" not in accepted.stdout and "name: api" in accepted.stdout


def test_example_refuses_on_consul_naming_the_rollout():
    result = run("render", EXAMPLE, "--platform", "consul")
    assert result.exit_code == 3 and "rollout-flagger" in result.stderr


def test_kubernetes_runs_blue_green_without_metrics_and_names_both_losses(tmp_path):
    rendering, objects = _render("kubernetes")
    analysis = _canary(objects)["analysis"]
    assert "stepWeights" not in analysis and analysis["iterations"] == 10
    assert "metrics" not in analysis
    lost = [f.detail for f in _flagger_findings(rendering) if f.loses_intent]
    assert any("canary steps 10%, 20%, 30%, 50% are lost" in d for d in lost), lost
    assert any("analysis checks" in d and "lost" in d for d in lost), lost
    result = run("render", EXAMPLE, "--platform", "kubernetes")
    assert result.exit_code == 3 and "rollout-flagger" in result.stderr


def test_blue_green_on_a_mesh_is_iterations_without_steps(tmp_path):
    path = _intent(tmp_path, api_rollout="        strategy: blue-green\n        analysis: {iterations: 4}")
    rendering = render(load_intent(path), "istio", "intent.yaml")
    analysis = _canary(rendering.objects(), "api", "shop")["analysis"]
    assert analysis["iterations"] == 4 and "stepWeights" not in analysis
    assert not any(f.loses_intent for f in _flagger_findings(rendering))


def test_a_pause_other_than_the_interval_is_approximated(tmp_path):
    path = _intent(tmp_path, api_rollout="        interval: 90s\n        steps: [{weight: 10, pause: 5m}, {weight: 50}]")
    rendering = render(load_intent(path), "istio", "intent.yaml")
    assert _canary(rendering.objects(), "api", "shop")["analysis"]["interval"] == "90s"
    warnings = [f.detail for f in _flagger_findings(rendering) if f.severity.value == "warning"]
    assert any("10% for 5m" in d for d in warnings), warnings


def test_sub_second_interval_is_rounded_up_and_reported(tmp_path):
    path = _intent(tmp_path, api_rollout="        interval: 1500ms\n        steps: [{weight: 10}]")
    rendering = render(load_intent(path), "istio", "intent.yaml")
    assert _canary(rendering.objects(), "api", "shop")["analysis"]["interval"] == "2s"
    assert any("2s" in f.detail and f.severity.value == "warning" for f in _flagger_findings(rendering))


# --- admission -----------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", sorted(PROVIDERS))
def test_canary_and_metric_templates_are_accepted_by_the_bundled_crds(platform, crd_catalog):
    from meshgen.kube import validate_objects

    _, objects = _render(platform)
    kinds = {o["kind"] for o in objects}
    assert "Canary" in kinds
    assert ("MetricTemplate" in kinds) == (platform in DOCUMENTED)
    flagger = [o for o in objects if o["apiVersion"] == "flagger.app/v1beta1"]
    assert [str(v) for v in validate_objects(flagger, crd_catalog)] == []


def test_every_circuit_breaker_setting_fits_the_canarys_traffic_policy(tmp_path, crd_catalog):
    from meshgen.kube import validate_objects

    path = _intent(
        tmp_path,
        extra="",
        api_rollout="        steps: [{weight: 10}]",
    )
    text = path.read_text().replace(
        "      allowFrom: [{service: web}]\n",
        "      allowFrom: [{service: web}]\n      replicas: 3\n"
        "      circuitBreaker: {consecutiveErrors: 3, baseEjectionTime: 30s, interval: 10s, maxEjectionPercent: 50,"
        " maxConnections: 100, maxPendingRequests: 10, maxRequests: 200}\n",
    )
    path.write_text(text)
    rendering = render(load_intent(path), "istio", "intent.yaml")
    objects = rendering.objects()
    policy = _canary(objects, "api", "shop")["service"]["trafficPolicy"]
    assert policy["outlierDetection"]["consecutive5xxErrors"] == 3
    assert policy["outlierDetection"]["maxEjectionPercent"] == 50
    assert policy["connectionPool"] == {"http": {"http1MaxPendingRequests": 10, "http2MaxRequests": 200}}
    # The Canary CRD has no connectionPool.tcp: maxConnections is a named loss.
    (lost,) = [f for f in rendering.plan.findings if f.feature.value == "connection-pool" and f.loses_intent]
    assert "maxConnections 100" in lost.detail
    assert [str(v) for v in validate_objects(_find(objects, "Canary", namespace="shop"), crd_catalog)] == []


def test_a_gateway_route_to_a_rolled_out_service_is_reported(tmp_path):
    extra = """\
  gateways:
    - name: edge
      listeners: [{port: 80, protocol: HTTP}]
      routes: [{service: api}]
"""
    path = _intent(tmp_path, extra=extra)
    rendering = render(load_intent(path), "istio", "intent.yaml")
    warnings = [f.detail for f in _flagger_findings(rendering) if f.severity.value == "warning"]
    assert any("gateway shop/edge routes to the Service api" in d and "primary pods" in d for d in warnings), warnings


def test_the_workload_names_the_deployment_and_the_service_keeps_its_name(tmp_path):
    path = _intent(tmp_path, api_rollout="        workload: api-v2\n        steps: [{weight: 10}]")
    rendering = render(load_intent(path), "istio", "intent.yaml")
    spec = _canary(rendering.objects(), "api", "shop")
    assert spec["targetRef"]["name"] == "api-v2"
    assert spec["service"]["name"] == "api"  # Flagger's Services: api, api-primary, api-canary
    (note,) = [f.detail for f in _flagger_findings(rendering) if "owns" in f.detail]
    assert "Deployment api-v2-primary" in note


def _flagger_services(objects):
    """The Services Flagger writes at run time for each Canary (pkg/router/kubernetes_default.go):
    the apex and ``-primary`` select the primary pods, ``-canary`` the canary pods, on the Canary's
    port plus the discovered container ports (here podinfo's grpc 9999)."""
    out = []
    for canary in _find(objects, "Canary"):
        ns, service = canary["metadata"]["namespace"], canary["spec"]["service"]
        ports = [{"name": service["portName"], "port": service["port"], "targetPort": service["targetPort"], "protocol": "TCP",
                  "appProtocol": service["appProtocol"]}]
        ports.append({"name": "grpc", "port": 9999, "targetPort": 9999, "protocol": "TCP", "appProtocol": "grpc"})
        for name, selector in (
            (service["name"], PRIMARY_POD),
            (f"{service['name']}-primary", PRIMARY_POD),
            (f"{service['name']}-canary", CANARY_POD),
        ):
            out.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                        "spec": {"selector": dict(selector), "ports": ports}})
    return out


def test_istio_admits_the_intents_callers_on_primary_and_canary_pods_and_no_one_else():
    from tests.platforms.istio_sim import Mesh, principal

    _, objects = _render("istio")
    mesh = Mesh(objects + _flagger_services(objects))
    frontend = principal("cluster.local", "test", "frontend")
    tester = principal("cluster.local", "test", "flagger-loadtester")
    stranger = principal("cluster.local", "test", "default")
    for target in ("test/podinfo", "test/podinfo-primary", "test/podinfo-canary"):
        assert mesh.admits(frontend, target, 9898).allowed, target
        assert mesh.admits(frontend, target, 9999, "POST", "/podinfo.Info/Get").allowed, target
        assert mesh.admits(tester, target, 9898).allowed, target
        assert not mesh.admits(tester, target, 9999, "POST", "/podinfo.Info/Get").allowed, target  # ports: [http]
        assert not mesh.admits(stranger, target, 9898).allowed, target


@pytest.mark.parametrize("platform", ["istio", "cilium"])
def test_a_route_flagger_cannot_write_is_a_named_loss(tmp_path, platform):
    # Flagger's VirtualService / HTTPRoute has one rule: a matched route of the intent has no place in it.
    path = _intent(tmp_path, api_rollout="        steps: [{weight: 10}]")
    text = path.read_text().replace(
        "      allowFrom: [{service: web}]\n",
        "      allowFrom: [{service: web}]\n"
        "      routes: [{name: slow-admin, match: {path: {prefix: /admin}}, timeout: 30s}]\n",
    )
    path.write_text(text)
    rendering = render(load_intent(path), platform, "intent.yaml")
    lost = [f.detail for f in _flagger_findings(rendering) if f.loses_intent]
    assert len(lost) == 1 and "cannot be carried" in lost[0], lost  # the matched route; the default is carried
    assert run("render", path, "--platform", platform).exit_code == 3


def test_a_retry_budget_has_no_place_in_the_canary_and_is_lost(tmp_path, crd_catalog):
    from meshgen.kube import validate_objects

    path = _intent(tmp_path, api_rollout="        steps: [{weight: 10}]")
    text = path.read_text().replace(
        "      allowFrom: [{service: web}]\n",
        "      allowFrom: [{service: web}]\n"
        "      retries: {attempts: 2, retryOn: [5xx]}\n"
        "      retryBudget: {percent: 20, minRetriesPerSecond: 5}\n",
    )
    path.write_text(text)
    rendering = render(load_intent(path), "istio", "intent.yaml")
    canaries = _find(rendering.objects(), "Canary", namespace="shop")
    assert "retryBudget" not in canaries[0]["spec"]["service"].get("trafficPolicy", {})
    assert [str(v) for v in validate_objects(canaries, crd_catalog)] == []
    lost = [f for f in rendering.plan.findings if f.feature.value == "retry-budget" and f.loses_intent]
    assert len(lost) == 1 and "trafficPolicy.retryBudget" in lost[0].detail


@pytest.mark.parametrize(("platform", "label", "names"), [
    # Istio's destination_service is a host: the primary and canary Services Flagger routes to.
    ("istio", "destination_service", ("podinfo.test.svc.cluster.local", "podinfo-primary.test.svc.cluster.local", "podinfo-canary.test.svc.cluster.local")),
    ("istio-ambient", "destination_service", ("podinfo.test.svc.cluster.local", "podinfo-primary.test.svc.cluster.local", "podinfo-canary.test.svc.cluster.local")),
    # Hubble labels the workload: podinfo (canary) and podinfo-primary.
    ("cilium", "destination_workload", ("podinfo", "podinfo-primary")),
])
def test_the_services_alerts_still_see_its_traffic_under_flagger(platform, label, names):
    import re

    _, objects = _render(platform)
    exprs = [r["expr"] for o in _find(objects, "PrometheusRule") for g in o["spec"]["groups"] for r in g["rules"] if "expr" in r]
    podinfo = [e for e in exprs if "podinfo" in e and label in e]
    assert podinfo
    for expr in podinfo:
        matchers = re.findall(label + r'=~"((?:[^"\\]|\\.)*)"', expr)
        assert matchers, expr
        for matcher in matchers:
            pattern = matcher.encode().decode("unicode_escape")  # PromQL string escapes
            for name in names:
                assert re.fullmatch(pattern, name), (pattern, name)
            assert not re.fullmatch(pattern, "frontend.test.svc.cluster.local")
