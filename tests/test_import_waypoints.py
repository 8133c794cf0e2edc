"""Istio ambient waypoints in imported manifests: recognized and reported, never intent gateways."""

from __future__ import annotations

from pathlib import Path

import yaml

from meshgen.importing.run import import_manifests
from tests.workflow_helpers import run

HAND_WRITTEN = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: shop-wp}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 80, appProtocol: http}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: {istio.io/use-waypoint: elsewhere}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, appProtocol: http}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shop-wp, namespace: shop, labels: {istio.io/waypoint-for: service}}
spec:
  gatewayClassName: istio-waypoint
  infrastructure:
    parametersRef: {group: "", kind: ConfigMap, name: wp-options}
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: wp-options, namespace: shop}
data:
  deployment: '{"spec": {"replicas": 3}}'
"""


def test_meshgen_waypoints_are_regenerated_not_lost(tmp_path):
    out = tmp_path / "out"
    assert run("render", "examples/emojivoto/intent.yaml", "-p", "istio-ambient", "--allow-loss", "--output", out).exit_code == 0
    result = import_manifests([out / "istio-ambient"], "istio-ambient")
    about = [f for f in result.findings if f.file.endswith(("gateway-waypoint.yaml", "configmap-waypoint-options.yaml"))]
    assert {(Path(f.file).name, f.severity) for f in about} == {
        ("gateway-waypoint.yaml", "approximated"), ("configmap-waypoint-options.yaml", "approximated"),
    }
    [waypoint] = [f for f in about if f.file.endswith("gateway-waypoint.yaml")]
    # the three Services the render labels istio.io/use-waypoint: waypoint
    assert waypoint.message.startswith("waypoint for emoji-svc, voting-svc, web-svc: ")
    assert "waypoint" not in {g["name"] for g in yaml.safe_load(result.text)["spec"].get("gateways", [])}


def test_hand_written_bindings_and_options_are_said(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text(HAND_WRITTEN)
    result = import_manifests([path], "istio-ambient")
    found = {(f.line, f.ref, f.field, f.severity) for f in result.findings if "waypoint" in f.message}
    assert found == {
        (5, "Namespace shop", "metadata.labels.istio.io/use-waypoint", "approximated"),
        (19, "Service shop/web", "metadata.labels.istio.io/use-waypoint", "approximated"),
        (24, "Gateway shop/shop-wp", "", "approximated"),
        (36, "ConfigMap shop/wp-options", "data", "LOST"),
    }
    message = next(f.message for f in result.findings if f.ref == "Gateway shop/shop-wp")
    assert message.startswith("waypoint for every Service of shop: ")
    assert "elsewhere, which is not among these manifests" in next(f.message for f in result.findings if f.line == 19)
    assert "gateways" not in yaml.safe_load(result.text)["spec"]
