"""meshgen cost: totals hand-computed from meshgen/data/cost-figures.yaml for a small intent.

The intent: services a (1 replica) -> b (2) -> c (3): 6 pods, a 3-hop longest path from a, the
default 2 control-plane replicas, 4 nodes.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from meshgen.cli import app
from meshgen.platforms.registry import names

INTENT = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: small}
spec:
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


def cost(tmp_path, *args: str) -> dict:
    path = tmp_path / "intent.yaml"
    if not path.exists():
        path.write_text(INTENT)
    result = CliRunner().invoke(app, ["cost", str(path), "-o", "json", *args])
    assert result.exit_code == 0, result.stderr
    return {p["platform"]: p for p in json.loads(result.stdout)["platforms"]}


def r(low, typical, high):
    return {"low": low, "typical": typical, "high": high}


def test_sidecar_and_control_plane_totals(tmp_path):
    got = cost(tmp_path, "--nodes", "4")
    assert sorted(got) == sorted(names())
    # istio: 6 pods x {50, 100, 128} MiB + 2 istiod x 2048 MiB = {4396, 4696, 4864};
    # 6 x {100, 100, 500} m + 2 x 500 m = {1600, 1600, 4000}.
    assert got["istio"]["memory"] == r(4396, 4696, 4864)
    assert got["istio"]["cpu"] == r(1600, 1600, 4000)
    # linkerd: 6 x {10, 20, 20} + 2 x (50 + 10 + 50) = {280, 340, 340}; 6 x 100 + 2 x 300 = 1200.
    assert got["linkerd"]["memory"] == r(280, 340, 340)
    assert got["linkerd"]["cpu"] == r(1200, 1200, 1200)
    # istio-ambient: 4 nodes x (ztunnel 512 + istio-cni 100) + no waypoint (no L7) + 2 x 2048 = 6544;
    # 4 x (200 + 100) + 2 x 500 = 2200.
    assert got["istio-ambient"]["memory"] == r(6544, 6544, 6544)
    assert got["istio-ambient"]["cpu"] == r(2200, 2200, 2200)
    # cilium: 4 x (agent 512 + envoy 512) + 2 operators x 128 = 4352; 4 x 200 + 2 x 100 = 1000.
    assert got["cilium"]["memory"] == r(4352, 4352, 4352)
    assert got["cilium"]["cpu"] == r(1000, 1000, 1000)
    # consul: sidecars only (no server figure: listed as unknown, not zero).
    assert got["consul"]["memory"] == r(300, 600, 600)
    assert got["consul"]["unknown"] and "consul-server" in got["consul"]["unknown"][0]
    assert got["kubernetes"]["memory"] == r(0, 0, 0)
    # Per service: c has 3 replicas, so 3 Linkerd proxies: {30, 60, 60} MiB.
    assert got["linkerd"]["services"][2] == {"service": "t/c", "replicas": 3, "memory": r(30, 60, 60),
                                             "cpu": r(300, 300, 300)}


def test_latency_is_per_hop_p99_times_the_longest_path(tmp_path):
    got = cost(tmp_path, "--nodes", "4")
    # a -> b -> c: 3 hops. Envoy {2, 3.5, 5} ms per hop; Linkerd 1 ms.
    assert got["istio"]["worstLatency"] == {"entry": "t/a", "p99": r(6, 10.5, 15)}
    assert got["linkerd"]["worstLatency"] == {"entry": "t/a", "p99": r(3, 3, 3)}
    assert got["istio-ambient"]["worstLatency"] is None  # no figure: never a guessed zero


def test_unknown_nodes_leave_per_node_components_out_and_say_so(tmp_path):
    got = cost(tmp_path, "--platform", "istio-ambient")
    assert list(got) == ["istio-ambient"]
    # Only istiod: 2 x 2048.
    assert got["istio-ambient"]["memory"] == r(4096, 4096, 4096)
    assert any(u.startswith("ztunnel (per node)") for u in got["istio-ambient"]["unknown"])


def test_waypoints_count_with_control_plane_replicas(tmp_path):
    path = tmp_path / "intent.yaml"
    # L7 authorization on c puts it behind the namespace's one waypoint; 3 control-plane replicas
    # give the waypoint 3 replicas: 3 x 128 MiB, 3 x 100 m.
    path.write_text(INTENT.replace("allowFrom: [{service: b}]", "allowFrom: [{service: b, methods: [GET]}]")
                    + "  mesh: {controlPlane: {replicas: 3}}\n")
    got = cost(tmp_path, "--nodes", "1", "--platform", "istio-ambient")["istio-ambient"]
    waypoint = next(x for x in got["lines"] if x["component"] == "waypoint")
    assert waypoint["count"] == 3
    assert waypoint["totalMemory"] == r(384, 384, 384)


def test_figures_file_replaces_a_platform(tmp_path):
    figures = tmp_path / "figures.yaml"
    figures.write_text(
        "version: 1\nplatforms:\n  linkerd:\n"
        "    sidecar: {memoryMiB: {low: 30, typical: 40, high: 50}, cpuMillicores: {low: 10, typical: 20, high: 30},"
        " source: measured}\n"
        "    hopP99Ms: {low: 2, typical: 2, high: 2}\n    hopSource: measured\n"
    )
    got = cost(tmp_path, "--figures", str(figures), "--platform", "linkerd")["linkerd"]
    # 6 pods x {30, 40, 50}; the control plane is gone with the replaced entry.
    assert got["memory"] == r(180, 240, 300)
    assert got["worstLatency"]["p99"] == r(6, 6, 6)


def test_bad_figures_file_lists_every_problem_with_positions(tmp_path):
    (tmp_path / "intent.yaml").write_text(INTENT)
    figures = tmp_path / "figures.yaml"
    figures.write_text(
        "version: 1\nplatforms:\n  linkerd:\n"
        "    sidecar: {memoryMiB: {low: 30, typical: 20, high: 50}, cpuMillicores: {low: 1, typical: 1, high: 1},"
        " source: x}\n"
        "    hopSorce: typo\n"
    )
    result = CliRunner().invoke(app, ["cost", str(tmp_path / "intent.yaml"), "--figures", str(figures)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "figures.yaml:4:15: platforms.linkerd.sidecar.memoryMiB: expected low" in result.stderr
    assert "expected low <= typical <= high" in result.stderr
    assert "platforms.linkerd.hopSorce" in result.stderr
    assert "platforms.linkerd.hopSource" in result.stderr  # missing: reported in the same run


def test_bookinfo_example_on_three_nodes(tmp_path):
    from tests.conftest import REPO

    result = CliRunner().invoke(app, ["cost", str(REPO / "examples" / "bookinfo" / "intent.yaml"),
                                      "--nodes", "3", "-o", "json"])
    assert result.exit_code == 0, result.stderr
    got = {p["platform"]: p for p in json.loads(result.stdout)["platforms"]}
    # Pods 1 + 1 + 3 + 1 = 6; control plane 2 replicas (default). istio: 6 x {50, 100, 128} + 2 x 2048.
    assert got["istio"]["memory"] == r(4396, 4696, 4864)
    # istio-ambient: 3 x (512 + 100) + one waypoint (bookinfo's L7 routes and authz) x 2 replicas x 128
    # + 2 x 2048 = 1836 + 256 + 4096; CPU 3 x 300 + 2 x 100 + 2 x 500 = 2100.
    assert got["istio-ambient"]["memory"] == r(6188, 6188, 6188)
    assert got["istio-ambient"]["cpu"] == r(2100, 2100, 2100)
    # gateway -> productpage -> reviews -> ratings: 3 hops x {2, 3.5, 5} ms.
    assert got["istio"]["worstLatency"] == {"entry": "bookinfo/productpage", "p99": r(6, 10.5, 15)}
