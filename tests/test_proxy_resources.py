"""mesh.proxy.resources: rendered into each platform's Helm values, used by meshgen cost, and
validated as Kubernetes quantities. Expected keys come from the charts' values.yaml (istiod
global.proxy.resources and global.waypoint.resources, ztunnel resources, linkerd-control-plane
proxy.resources.{cpu,memory}.{request,limit}, cilium envoy.resources, consul
connectInject.sidecarProxy.resources); expected totals are hand-computed from
meshgen/data/cost-figures.yaml.

The intent: services a (1 replica) -> b (2) -> c (3): 6 pods, 2 control-plane replicas.
"""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from meshgen import load_intent, render
from meshgen.capabilities import Feature, Severity, Support
from meshgen.cli import app
from tests.conftest import write_intent

INTENT = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: small}
spec:
  mesh:
    proxy:
      resources:
        requests: {cpu: 50m, memory: 32Mi}
        limits: {cpu: 500m, memory: 128Mi}
  defaults: {namespace: t}
  services:
    - name: a
      ports: [{name: http, port: 80}]
    - name: b
      replicas: 2
      ports: [{name: http, port: 80}]
      allowFrom: [{service: a}]
    - name: c
      replicas: 3
      ports: [{name: http, port: 80}]
      allowFrom: [{service: b}]
"""

K8S = {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}


def values(tmp_path, platform: str, text: str = INTENT) -> dict[str, dict]:
    rendering = render(load_intent(write_intent(tmp_path, text)), platform, "intent.yaml")
    return {f.path.removeprefix("values/"): yaml.safe_load(f.text) for f in rendering.files if f.path.startswith("values/")}


@pytest.mark.parametrize(
    ("platform", "chart", "path", "expected"),
    [
        ("istio", "istiod.yaml", ("global", "proxy", "resources"), K8S),
        ("istio-ambient", "ztunnel.yaml", ("resources",), K8S),
        ("istio-ambient", "istiod.yaml", ("global", "waypoint", "resources"), K8S),
        ("linkerd", "linkerd-control-plane.yaml", ("proxy", "resources"),
         {"cpu": {"request": "50m", "limit": "500m"}, "memory": {"request": "32Mi", "limit": "128Mi"}}),
        ("cilium", "cilium.yaml", ("envoy", "resources"), K8S),
        ("consul", "consul.yaml", ("connectInject", "sidecarProxy", "resources"), K8S),
    ],
)
def test_helm_values_key_per_platform(tmp_path, platform, chart, path, expected):
    got = values(tmp_path, platform)[chart]
    for key in path:
        got = got[key]
    assert got == expected


def test_cilium_runs_envoy_standalone_so_its_resources_apply(tmp_path):
    assert values(tmp_path, "cilium")["cilium.yaml"]["envoy"]["enabled"] is True


def test_istio_ambient_has_no_sidecar_values(tmp_path):
    assert "proxy" not in values(tmp_path, "istio-ambient")["istiod.yaml"].get("global", {})


def test_only_what_the_intent_sets_is_written(tmp_path):
    text = INTENT.replace("        limits: {cpu: 500m, memory: 128Mi}\n", "").replace("cpu: 50m, ", "")
    got = values(tmp_path, "istio", text)["istiod.yaml"]["global"]["proxy"]["resources"]
    assert got == {"requests": {"memory": "32Mi"}}
    got = values(tmp_path, "linkerd", text)["linkerd-control-plane.yaml"]["proxy"]["resources"]
    assert got == {"memory": {"request": "32Mi"}}


def test_absent_field_writes_no_proxy_values(tmp_path):
    text = INTENT.replace(INTENT[INTENT.index("  mesh:"):INTENT.index("  defaults:")], "")
    assert "proxy" not in values(tmp_path, "linkerd", text)["linkerd-control-plane.yaml"]
    assert "envoy" not in values(tmp_path, "cilium", text)["cilium.yaml"]


@pytest.mark.parametrize(("platform", "support", "severity", "words"), [
    ("istio-ambient", Support.APPROXIMATED, Severity.WARNING, "ztunnel"),
    ("cilium", Support.APPROXIMATED, Severity.WARNING, "cilium-envoy"),
    ("kubernetes", Support.APPROXIMATED, Severity.INFO, "no proxy"),
])
def test_findings_for_per_node_proxies_and_no_proxy(tmp_path, platform, support, severity, words):
    rendering = render(load_intent(write_intent(tmp_path, INTENT)), platform, "intent.yaml")
    mine = [f for f in rendering.plan.findings if f.feature is Feature.PROXY_RESOURCES]
    assert len(mine) == 1
    assert (mine[0].support, mine[0].severity) == (support, severity)
    assert words in mine[0].detail


@pytest.mark.parametrize("platform", ["istio", "linkerd", "consul"])
def test_sidecar_platforms_report_nothing(tmp_path, platform):
    rendering = render(load_intent(write_intent(tmp_path, INTENT)), platform, "intent.yaml")
    assert not [f for f in rendering.plan.findings if f.feature is Feature.PROXY_RESOURCES]


def r(low, typical, high):
    return {"low": low, "typical": typical, "high": high}


def cost(tmp_path, text: str = INTENT) -> dict:
    path = write_intent(tmp_path, text)
    result = CliRunner().invoke(app, ["cost", str(path), "-o", "json", "--nodes", "4"])
    assert result.exit_code == 0, result.stderr
    return {p["platform"]: p for p in json.loads(result.stdout)["platforms"]}


def test_cost_uses_the_intent_proxy_resources(tmp_path):
    got = cost(tmp_path)
    # Per proxy: memory {32, 32, 128} MiB, cpu {50, 50, 500} m (requests low/typical, limits high).
    # istio: 6 sidecars = {192, 192, 768} + 2 x istiod 2048 = {4288, 4288, 4864}; cpu {300, 300, 3000} + 1000.
    assert got["istio"]["memory"] == r(4288, 4288, 4864)
    assert got["istio"]["cpu"] == r(1300, 1300, 4000)
    # linkerd: {192, 192, 768} + 2 x (50 + 10 + 50); cpu {300, 300, 3000} + 2 x 300.
    assert got["linkerd"]["memory"] == r(412, 412, 988)
    assert got["linkerd"]["cpu"] == r(900, 900, 3600)
    # istio-ambient: 4 ztunnels {128, 128, 512} + 4 x istio-cni 100 + 4096; cpu {200, 200, 2000} + 400 + 1000.
    assert got["istio-ambient"]["memory"] == r(4624, 4624, 5008)
    assert got["istio-ambient"]["cpu"] == r(1600, 1600, 3400)
    # cilium: 4 x agent 512 + 4 envoys {128, 128, 512} + 2 x operator 128; cpu 400 + {200, 200, 2000} + 200.
    assert got["cilium"]["memory"] == r(2432, 2432, 2816)
    assert got["cilium"]["cpu"] == r(800, 800, 2600)
    # consul: sidecars only (the server has no figure).
    assert got["consul"]["memory"] == r(192, 192, 768)
    assert got["consul"]["cpu"] == r(300, 300, 3000)
    assert got["kubernetes"]["memory"] == r(0, 0, 0)
    sidecar = got["istio"]["lines"][0]
    assert sidecar["component"] == "sidecar proxy"
    assert sidecar["source"].startswith("from the intent")
    ztunnel = next(x for x in got["istio-ambient"]["lines"] if x["component"] == "ztunnel")
    assert ztunnel["source"].startswith("from the intent")
    cni = next(x for x in got["istio-ambient"]["lines"] if x["component"] == "istio-cni")
    assert not cni["source"].startswith("from the intent")
    assert got["istio"]["services"][2] == {"service": "t/c", "replicas": 3, "memory": r(96, 96, 384),
                                           "cpu": r(150, 150, 1500)}


def test_cost_keeps_the_figures_for_what_the_intent_leaves_out(tmp_path):
    text = INTENT.replace("        limits: {cpu: 500m, memory: 128Mi}\n", "").replace("cpu: 50m, ", "")
    got = cost(tmp_path, text)["istio"]
    # memory: 6 x 32 + 4096 = 4288; cpu from the figures: 6 x {100, 100, 500} + 1000.
    assert got["memory"] == r(4288, 4288, 4288)
    assert got["cpu"] == r(1600, 1600, 4000)
    assert "cpu from the figures" in got["lines"][0]["source"]


def test_cost_with_only_a_limit_caps_the_figures(tmp_path):
    text = INTENT.replace("        requests: {cpu: 50m, memory: 32Mi}\n", "")
    sidecar = cost(tmp_path, text)["istio"]["lines"][0]
    # figures: memory {50, 100, 128}, cpu {100, 100, 500}; limits 128Mi and 500m.
    assert sidecar["memory"] == r(50, 100, 128)
    assert sidecar["cpu"] == r(100, 100, 500)


def test_cost_text_says_from_the_intent(tmp_path):
    path = write_intent(tmp_path, INTENT)
    result = CliRunner().invoke(app, ["cost", str(path), "--platform", "linkerd"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.stderr
    assert "from the intent" in result.stdout


def test_invalid_quantities_are_refused_with_positions(tmp_path):
    # Line 8 is "        requests: {cpu: 50x, memory: 32m}": the values start at columns 25 and 38.
    path = write_intent(tmp_path, INTENT.replace("cpu: 50m, memory: 32Mi", "cpu: 50x, memory: 32m"))
    result = CliRunner().invoke(app, ["render", str(path), "--platform", "istio"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "intent.yaml:8:25: spec.mesh.proxy.resources.requests.cpu" in result.stderr
    assert "expected a CPU quantity such as 100m" in result.stderr
    assert "intent.yaml:8:38: spec.mesh.proxy.resources.requests.memory" in result.stderr
    assert "did you mean 32Mi?" in result.stderr


def test_request_above_limit_is_refused(tmp_path):
    path = write_intent(tmp_path, INTENT.replace("cpu: 500m, memory: 128Mi", "cpu: 20m, memory: 128Mi"))
    result = CliRunner().invoke(app, ["render", str(path), "--platform", "istio"])
    assert result.exit_code == 1
    assert "spec.mesh.proxy.resources" in result.stderr
    assert "requests.cpu 50m is above limits.cpu 20m" in result.stderr


@pytest.mark.parametrize(("text", "millicores"), [("100m", 100), ("0.5", 500), ("2", 2000), ("1.5m", None), ("0", None)])
def test_cpu_quantities(text, millicores):
    from meshgen.intent.types import cpu_millicores

    if millicores is None:
        with pytest.raises(ValueError):
            cpu_millicores(text)
    else:
        assert cpu_millicores(text) == millicores


@pytest.mark.parametrize(("text", "mib"), [("128Mi", 128), ("1Gi", 1024), ("512Ki", 0.5), ("1048576", 1),
                                           ("128m", None), ("1e3", None), ("-1Mi", None)])
def test_memory_quantities(text, mib):
    from meshgen.intent.types import memory_mib

    if mib is None:
        with pytest.raises(ValueError):
            memory_mib(text)
    else:
        assert memory_mib(text) == mib


@pytest.mark.parametrize(("platform", "key"), [("istio", "global.proxy.resources.limits.cpu 2000m"),
                                               ("istio-ambient", "global.waypoint.resources.limits.cpu 2")])
def test_request_above_the_chart_default_limit_is_lost(tmp_path, platform, key):
    # istiod values.yaml keeps limits cpu 2000m (sidecar) and 2 (waypoint) unless the intent sets one.
    text = INTENT.replace("        limits: {cpu: 500m, memory: 128Mi}\n", "").replace("cpu: 50m", "cpu: 2500m")
    rendering = render(load_intent(write_intent(tmp_path, text)), platform, "intent.yaml")
    lost = [f for f in rendering.plan.findings if f.feature is Feature.PROXY_RESOURCES and f.loses_intent]
    assert len(lost) == 1
    assert key in lost[0].detail
    assert "set limits.cpu" in lost[0].detail


def test_request_within_the_chart_default_limit_is_kept(tmp_path):
    text = INTENT.replace("        limits: {cpu: 500m, memory: 128Mi}\n", "").replace("cpu: 50m", "cpu: 2000m")
    rendering = render(load_intent(write_intent(tmp_path, text)), "istio", "intent.yaml")
    assert not [f for f in rendering.plan.findings if f.feature is Feature.PROXY_RESOURCES]
