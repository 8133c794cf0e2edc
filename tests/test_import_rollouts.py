"""``meshgen import`` of progressive delivery: Flagger's Canary and MetricTemplates back into
``services[].rollout`` and ``spec.delivery`` (meshgen/importing/delivery.py, issue 14).

The podinfo round trips on Istio, Linkerd and Cilium are in the platforms' round-trip files; here:
what the import says about the rollout (hand-read from the example), more rollouts round-tripped
byte for byte, and the losses it reports for Canaries meshgen did not write.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen.importing.run import import_manifests
from tests.workflow_helpers import round_trip, run

#: examples/podinfo/intent.yaml's rollout, copied by hand (the controller is spec.delivery's).
PODINFO_ROLLOUT = {
    "strategy": "canary",
    "steps": [{"weight": 10}, {"weight": 20}, {"weight": 30}, {"weight": 50}],
    "interval": "1m",
    "analysis": {"successRate": 99, "latencyP99": "500ms", "failureLimit": 5},
    "webhooks": {
        "loadTest": {"url": "http://flagger-loadtester.test/", "command": "hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/"},
        "manualGate": {"url": "http://flagger-loadtester.test/gate/check"},
    },
}


@pytest.mark.parametrize("platform", ["istio", "linkerd"])
def test_podinfo_imports_the_rollout_it_came_from(tmp_path, platform):
    out = tmp_path / "out"
    assert run("render", "examples/podinfo/intent.yaml", "--platform", platform, "--output", out).exit_code == 0
    imported = run("import", out / platform)
    assert imported.exit_code == 0, imported.stderr
    spec = yaml.safe_load(imported.stdout)["spec"]
    podinfo = next(s for s in spec["services"] if s["name"] == "podinfo")
    assert podinfo["rollout"] == PODINFO_ROLLOUT
    # the Service meshgen left to Flagger, from the Canary's meshgen.dev/service annotation
    assert podinfo["ports"] == [{"name": "http", "port": 9898, "protocol": "http"}, {"name": "grpc", "port": 9999, "protocol": "grpc"}]
    assert podinfo["timeout"] == "5s" and podinfo["circuitBreaker"] == {"consecutiveErrors": 5, "baseEjectionTime": "30s"}
    assert podinfo["allowFrom"] == [{"service": "frontend"}, {"service": "flagger-loadtester", "ports": ["http"]}]
    if platform == "linkerd":  # the address is in the MetricTemplates; Istio's builtin checks name none
        assert spec["delivery"] == {"controller": "flagger", "prometheus": "http://prometheus-operated.monitoring:9090"}
    else:
        assert spec["delivery"] == {"controller": "flagger"}
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr


def test_podinfo_round_trips_on_kubernetes(tmp_path):
    """The no-mesh baseline renders podinfo with losses (no weights, no request metrics); the
    import of that render (a blue-green Canary without checks) renders back to the same bytes."""
    imported = round_trip(tmp_path, "examples/podinfo/intent.yaml", "kubernetes", "--allow-loss")
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr


BLUE_GREEN = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: shop}
spec:
  platform: istio
  mesh: {mtls: strict, defaultDeny: true}
  defaults: {namespace: shop}
  delivery: {controller: flagger, prometheus: http://prometheus.monitoring:9090}
  services:
    - name: web
      ports: [{name: http, port: 80, targetPort: 8080, protocol: http}]
    - name: api
      selector: {app.kubernetes.io/name: api, tier: backend}
      serviceAccount: api-sa
      ports:
        - {name: metrics, port: 9090, protocol: tcp}
        - {name: http, port: 8080, protocol: http2}
      timeout: 3s
      allowFrom: [{service: web, ports: [http]}]
      rollout:
        workload: api-server
        strategy: blue-green
        interval: 30s
        analysis: {successRate: 99.5, latencyP99: null, failureLimit: 3, iterations: 7}
        webhooks:
          manualGate: {url: http://gate.shop/approve}
    - name: cart
      ports: [{name: http, port: 80, protocol: http}]
      rollout:
        steps: [{weight: 5}, {weight: 25}, {weight: 75}]
        interval: 2m
        analysis: {successRate: 95, latencyP99: 1s, failureLimit: 2}
        webhooks:
          loadTest: {url: http://loadtester.shop/, command: hey -z 2m http://cart-canary.shop/}
"""


@pytest.mark.parametrize("platform", ["istio", "linkerd"])
def test_blue_green_and_canary_rollouts_round_trip(tmp_path, platform):
    """A blue-green rollout on another workload, a selector of two labels (Flagger's label is
    the second one tried), the routed port second, no latency check, and a canary beside it."""
    source = tmp_path / "intent.yaml"
    source.write_text(BLUE_GREEN.replace("platform: istio", f"platform: {platform}"))
    imported = round_trip(tmp_path, source, platform)
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr
    services = {s["name"]: s for s in yaml.safe_load(imported.stdout)["spec"]["services"]}
    assert services["api"]["rollout"] == {
        "workload": "api-server",
        "strategy": "blue-green",
        "interval": "30s",
        "analysis": {"iterations": 7, "successRate": 99.5, "latencyP99": None, "failureLimit": 3},
        "webhooks": {"manualGate": {"url": "http://gate.shop/approve"}},
    }
    assert [p["name"] for p in services["api"]["ports"]] == ["metrics", "http"]
    assert services["cart"]["rollout"]["steps"] == [{"weight": 5}, {"weight": 25}, {"weight": 75}]


# --- Canaries meshgen did not write: every field the intent cannot say is reported -------------

FOREIGN = """\
apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: test
spec:
  provider: istio
  skipAnalysis: false
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  service:
    port: 9898
    portDiscovery: true
  analysis:
    interval: 30s
    threshold: 10
    stepWeight: 20
    maxWeight: 60
    alerts:
      - name: on-call
        providerRef: {name: slack}
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 98}
        interval: 30s
      - name: error-budget
        query: sum(rate(errors_total[1m]))
        thresholdRange: {max: 1}
      - name: p99
        templateRef: {name: my-latency}
        thresholdRange: {max: 300}
    webhooks:
      - name: smoke
        type: pre-rollout
        url: http://flagger-loadtester.test/
        metadata: {type: bash, cmd: curl -s http://podinfo-canary.test:9898/}
      - name: load-test
        type: rollout
        url: http://flagger-loadtester.test/
        timeout: 15s
        metadata: {type: cmd, cmd: "hey -z 1m http://podinfo-canary.test:9898/"}
---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata:
  name: my-latency
  namespace: test
spec:
  provider: {type: prometheus, address: http://prometheus.monitoring:9090}
  query: histogram_quantile(0.95, sum(rate(my_latency_bucket[1m])) by (le))
---
apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata:
  name: unused
  namespace: test
spec:
  provider: {type: datadog}
  query: avg:requests{*}
"""


def _import(tmp_path: Path, text: str, platform: str = "istio"):
    path = tmp_path / "canary.yaml"
    path.write_text(text)
    return import_manifests([path], platform)


def test_a_foreign_canary_reports_what_the_intent_cannot_say(tmp_path):
    result = _import(tmp_path, FOREIGN)
    losses = {(f.line, f.ref, f.field) for f in result.losses}
    # hand-counted lines of FOREIGN (1-based; the second document starts on line 45, the third on 54)
    assert losses == {
        (8, "Canary test/podinfo", "spec.skipAnalysis"),
        (15, "Canary test/podinfo", "spec.service.portDiscovery"),
        (21, "Canary test/podinfo", "spec.analysis.alerts"),
        (29, "Canary test/podinfo", "spec.analysis.metrics[1].query"),
        (52, "MetricTemplate test/my-latency", "spec.query"),
        (35, "Canary test/podinfo", "spec.analysis.webhooks[0]"),
        (54, "MetricTemplate test/unused", ""),
    }
    text = {f.field: f.message for f in result.findings if f.ref == "Canary test/podinfo"}
    assert "pre-rollout webhook" in text["spec.analysis.webhooks[0]"]
    assert "15s" not in text["spec.analysis.webhooks[1].timeout"] and "5s" in text["spec.analysis.webhooks[1].timeout"]
    assert "app: podinfo" in text["metadata"]  # the selector is assumed, and said so
    rollout = yaml.safe_load(result.text)["spec"]["services"][0]["rollout"]
    # stepWeight 20 up to maxWeight 60 (Flagger's linear steps); only the checks it understood
    assert rollout["steps"] == [{"weight": 20}, {"weight": 40}, {"weight": 60}]
    assert rollout["analysis"] == {"successRate": 98, "latencyP99": None, "failureLimit": 10}
    assert rollout["webhooks"] == {"loadTest": {"url": "http://flagger-loadtester.test/", "command": "hey -z 1m http://podinfo-canary.test:9898/"}}


def test_the_cli_refuses_a_lossy_rollout_import(tmp_path):
    path = tmp_path / "canary.yaml"
    path.write_text(FOREIGN)
    refused = run("import", path, "--from", "istio")
    assert refused.exit_code == 3 and refused.stdout == ""
    assert f"{path}:35: LOST Canary test/podinfo spec.analysis.webhooks[0]:" in refused.stderr


def test_a_primary_copy_that_differs_is_kept_and_reported(tmp_path):
    """Only an exact copy of the service's policy for the primary pods is meshgen's; one that
    says more is read (and reported: it selects no service) rather than dropped."""
    out = tmp_path / "out"
    assert run("render", "examples/podinfo/intent.yaml", "--platform", "istio", "--output", out).exit_code == 0
    copy = out / "istio" / "test" / "authorizationpolicy-podinfo-primary.yaml"
    copy.write_text(copy.read_text().replace("- \"9898\"\n", "- \"9898\"\n              - \"9797\"\n"))
    result = import_manifests([out / "istio"])
    assert [(Path(f.file).name, f.field) for f in result.losses] == [("authorizationpolicy-podinfo-primary.yaml", "spec.selector")]


def test_a_webhook_of_each_unsupported_type_is_lost(tmp_path):
    text = FOREIGN.replace("type: pre-rollout", "type: confirm-rollout")
    result = _import(tmp_path, text)
    hooks = [f for f in result.losses if f.field == "spec.analysis.webhooks[0]"]
    assert len(hooks) == 1 and "confirm-rollout webhook" in hooks[0].message


# --- Argo Rollouts ---------------------------------------------------------------------------


def _argo(text: str) -> str:
    """An intent's rollouts on Argo Rollouts (whose manual gate is a pause, not a URL)."""
    text = text.replace("controller: flagger", "controller: argo-rollouts")
    text = text.replace("manualGate: {url: http://gate.shop/approve}", "manualGate: {}")
    return text.replace("          manualGate:\n            url: http://flagger-loadtester.test/gate/check\n", "          manualGate: {}\n")


@pytest.mark.parametrize("platform", ["istio", "linkerd"])
def test_podinfo_on_argo_rollouts_round_trips(tmp_path, platform):
    """The Rollout, its AnalysisTemplate, and the routing shaped for Argo (Istio: the stable and
    canary subsets; Gateway API plugin: the -stable/-canary Services and backendRefs) read back."""
    source = tmp_path / "intent.yaml"
    source.write_text(_argo(Path("examples/podinfo/intent.yaml").read_text()).replace("platform: istio", f"platform: {platform}"))
    assert "manualGate: {}" in source.read_text()
    imported = round_trip(tmp_path, source, platform)
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr
    spec = yaml.safe_load(imported.stdout)["spec"]
    assert spec["delivery"] == {"controller": "argo-rollouts", "prometheus": "http://prometheus-operated.monitoring:9090"}
    podinfo = next(s for s in spec["services"] if s["name"] == "podinfo")
    assert podinfo["replicas"] == 2  # the Rollout's replicas
    assert podinfo["rollout"] == {**PODINFO_ROLLOUT, "webhooks": {**PODINFO_ROLLOUT["webhooks"], "manualGate": {}}}
    assert "versions" not in podinfo  # the stable/canary subsets or Services are Argo's, not versions


@pytest.mark.parametrize("platform", ["istio", "linkerd"])
def test_argo_blue_green_and_canary_round_trip(tmp_path, platform):
    source = tmp_path / "intent.yaml"
    text = _argo(BLUE_GREEN).replace("platform: istio", f"platform: {platform}")
    # a step held longer than the interval: Argo keeps it (Flagger cannot)
    source.write_text(text.replace("steps: [{weight: 5}, {weight: 25}, {weight: 75}]", "steps: [{weight: 5}, {weight: 25, pause: 10m}, {weight: 75}]"))
    imported = round_trip(tmp_path, source, platform)
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr
    services = {s["name"]: s for s in yaml.safe_load(imported.stdout)["spec"]["services"]}
    assert services["api"]["rollout"]["workload"] == "api-server"
    assert services["api"]["rollout"]["strategy"] == "blue-green"
    assert services["api"]["rollout"]["analysis"] == {"iterations": 7, "successRate": 99.5, "latencyP99": None, "failureLimit": 3}
    assert services["cart"]["rollout"]["steps"] == [{"weight": 5}, {"weight": 25, "pause": "10m"}, {"weight": 75}]
    assert services["cart"]["rollout"]["interval"] == "2m"


FOREIGN_ARGO = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, appProtocol: http}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  revisionHistoryLimit: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata: {labels: {app: web}}
  strategy:
    canary:
      maxSurge: 1
      analysis:
        templates: [{templateName: web-checks}]
      steps:
        - setWeight: 20
        - pause: {duration: 1m}
        - analysis:
            templates: [{templateName: web-checks}]
        - setWeight: 60
        - pause: {duration: 1m}
        - experiment:
            duration: 5m
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: web-checks, namespace: shop}
spec:
  metrics:
    - name: errors
      interval: 1m
      successCondition: result[0] < 5
      failureLimit: 2
      provider:
        prometheus:
          address: http://prometheus.monitoring:9090
          query: sum(rate(http_errors_total{app="web"}[1m]))
    - name: datadog
      interval: 1m
      provider:
        datadog: {query: "avg:web.errors{*}"}
"""


def test_a_foreign_rollout_reports_what_the_intent_cannot_say(tmp_path):
    result = _import(tmp_path, FOREIGN_ARGO)
    losses = {(f.line, f.ref, f.field) for f in result.losses}
    # hand-counted lines of FOREIGN_ARGO (the Rollout starts on line 8, the AnalysisTemplate on 33)
    assert losses == {
        (13, "Rollout shop/web", "spec.revisionHistoryLimit"),
        (14, "Rollout shop/web", "spec.selector"),
        (16, "Rollout shop/web", "spec.template"),
        (20, "Rollout shop/web", "spec.strategy.canary.maxSurge"),
        (26, "Rollout shop/web", "spec.strategy.canary.steps[2]"),
        (30, "Rollout shop/web", "spec.strategy.canary.steps[5]"),
        (45, "AnalysisTemplate shop/web-checks", "spec.metrics[0].provider.prometheus.query"),
        (48, "AnalysisTemplate shop/web-checks", "spec.metrics[1].provider"),
    }
    web = yaml.safe_load(result.text)["spec"]["services"][0]
    assert web["replicas"] == 3
    assert web["rollout"] == {"strategy": "canary", "steps": [{"weight": 20}, {"weight": 60}], "interval": "1m"}


def test_two_controllers_for_one_service_keep_the_first_and_report_the_second(tmp_path):
    rollout = FOREIGN_ARGO.split("---\n")[1].replace("spec:\n  replicas: 3", "spec:\n  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}")
    canary = """\
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: web, namespace: shop}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  service: {port: 80}
  analysis: {interval: 1m, threshold: 5, stepWeights: [10, 50]}
"""
    result = _import(tmp_path, FOREIGN_ARGO.split("---\n")[0] + "---\n" + canary + "---\n" + rollout)
    second = [f for f in result.losses if f.ref == "Rollout shop/web" and f.field == ""]
    assert len(second) == 1 and "Canary shop/web" in second[0].message
    web = yaml.safe_load(result.text)["spec"]["services"][0]
    assert web["rollout"]["steps"] == [{"weight": 10}, {"weight": 50}]
