"""Linkerd GRPCRoute method matches -> intent route matches and gRPC allow-lists (issue 14).

The renderer writes a GAMMA GRPCRoute whose rules match ``method: {type: Exact, service,
method}`` for ``routes[].match.grpc``, and one GRPCRoute per gRPC method on the Server (plus a
whole-service one) for ``allowFrom[].grpc``; importing them gives the intent back.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from meshgen.importing.run import import_manifests
from tests.workflow_helpers import round_trip

GRPC_INTENT = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: grpc}
spec:
  platform: linkerd
  mesh: {mtls: strict, defaultDeny: true}
  defaults: {namespace: shop}
  services:
    - name: cart
      ports: [{name: grpc, port: 9000, protocol: grpc}]
      versions:
        - {name: v1, weight: 90}
        - {name: v2, weight: 10}
      routes:
        - match: {grpc: {service: hipstershop.CartService, method: GetCart}, headers: {x-canary: {exact: "1"}}}
          version: v2
        - match: {grpc: {service: hipstershop.CartService}}
          version: v1
      probes: [{port: grpc}]
      allowFrom:
        - service: web
          grpc: {service: hipstershop.CartService, methods: [GetCart, AddItem]}
        - service: checkout
          grpc: {service: hipstershop.CartService}
    - name: web
      ports: [{name: http, port: 80, protocol: http}]
    - name: checkout
      ports: [{name: http, port: 80, protocol: http}]
"""

ROUTE = """\
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  ports: [{name: grpc, port: 9000, appProtocol: grpc}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: cart, namespace: shop}
spec:
  parentRefs: [{group: core, kind: Service, name: cart, port: 9000}]
  rules:
    - matches: [{method: METHOD}]
      backendRefs: [{name: cart, port: 9000}]
"""


def _import(tmp_path: Path, method: str):
    path = tmp_path / "in.yaml"
    path.write_text(ROUTE.replace("METHOD", method))
    return import_manifests([path], "linkerd")


def test_grpc_intent_round_trips_byte_identical(tmp_path):
    source = tmp_path / "intent.yaml"
    source.write_text(GRPC_INTENT)
    imported = round_trip(tmp_path, source, "linkerd")
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr
    cart = next(s for s in yaml.safe_load(imported.stdout)["spec"]["services"] if s["name"] == "cart")
    assert cart["routes"] == [
        {"match": {"grpc": {"service": "hipstershop.CartService", "method": "GetCart"}, "headers": {"x-canary": {"exact": "1"}}}, "version": "v2"},
        {"match": {"grpc": {"service": "hipstershop.CartService"}}, "version": "v1"},
    ]
    # checkout may call every method: the per-method routes it is also authorized on do not narrow it
    assert sorted(cart["allowFrom"], key=lambda p: p["service"]) == [
        {"service": "checkout", "grpc": {"service": "hipstershop.CartService"}},
        {"service": "web", "grpc": {"service": "hipstershop.CartService", "methods": ["AddItem", "GetCart"]}},
    ]


def test_exact_method_match_without_type_reads_as_exact(tmp_path):
    result = _import(tmp_path, "{service: pkg.Cart, method: Get}")
    cart = yaml.safe_load(result.text)["spec"]["services"][0]
    assert cart["routes"] == [{"match": {"grpc": {"service": "pkg.Cart", "method": "Get"}}}]
    assert not [f for f in result.losses if f.ref == "GRPCRoute shop/cart"]


def test_regex_method_match_is_lost_and_the_rule_dropped(tmp_path):
    result = _import(tmp_path, "{type: RegularExpression, service: 'pkg\\\\..*'}")
    [finding] = [f for f in result.losses if f.ref == "GRPCRoute shop/cart"]
    assert finding.field == "spec.rules[0].matches[0].method.type"
    assert "routes" not in yaml.safe_load(result.text)["spec"]["services"][0]


def test_method_without_service_is_lost(tmp_path):
    result = _import(tmp_path, "{method: Get}")
    [finding] = [f for f in result.losses if f.ref == "GRPCRoute shop/cart"]
    assert finding.field == "spec.rules[0].matches[0].method" and "without its service" in finding.message
