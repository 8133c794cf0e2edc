"""The Cilium importer on hand-written manifests: regex inverses, fail-closed drops, egress, GAMMA."""

from __future__ import annotations

import pytest
import yaml

from meshgen.platforms import registry
from meshgen.platforms.cilium.importer import grpc_glob, path_glob
from tests.workflow_helpers import run

SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080, appProtocol: http}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: 8080, appProtocol: http}]
"""


def policy(body: str) -> str:
    return "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n" + body


def imported(tmp_path, text: str, *flags: str):
    (tmp_path / "m.yaml").write_text(text)
    result = run("import", tmp_path / "m.yaml", "--allow-loss", *flags)
    assert result.exit_code == 0, result.stderr
    spec = yaml.safe_load(result.stdout)["spec"]
    return spec, {s["name"]: s for s in spec["services"]}, result.stderr


def test_cilium_has_an_importer_guessed_from_its_api_group():
    assert registry.get_importer("cilium") is not None
    assert registry.guess_importer({"cilium.io", "gateway.networking.k8s.io", ""}) == "cilium"


@pytest.mark.parametrize(
    ("regex", "expected"),
    [
        ("^.*$", ("*", False)),
        ("^/reviews/.*$", ("/reviews/*", False)),
        (r"^/login(\?.*)?$", ("/login", False)),
        (r"^[^?]*\.png(\?.*)?$", ("*.png", False)),
        (r"^/a\.b(\?.*)?$", ("/a.b", False)),
        ("/public", ("/public", True)),
        ("/public$", ("/public", True)),
        ("/v1/.*", None),
        ("^/(a|b)$", None),
    ],
)
def test_path_glob_inverts_the_planner(regex, expected):
    assert path_glob(regex) == expected


def test_grpc_glob():
    assert grpc_glob(r"^/hipstershop\.CartService/GetCart$") == ("hipstershop.CartService", "GetCart")
    assert grpc_glob(r"^/hipstershop\.CartService/[^/]+$") == ("hipstershop.CartService", None)
    assert grpc_glob("^/reviews/.*$") is None


def test_methods_and_paths_that_are_not_a_product_stay_separate(tmp_path):
    _, services, _ = imported(tmp_path, SERVICE + policy("""\
  endpointSelector: {matchLabels: {app: web}}
  ingress:
    - fromEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": shop, io.cilium.k8s.policy.serviceaccount: api}}]
      toPorts:
        - ports: [{port: "8080", protocol: TCP}]
          rules:
            http:
              - {method: "^GET$", path: "^/a(\\\\?.*)?$"}
              - {method: "^POST$", path: "^/b/.*$"}
"""))
    assert services["web"]["allowFrom"] == [
        {"service": "api", "methods": ["GET"], "paths": ["/a"]},
        {"service": "api", "methods": ["POST"], "paths": ["/b/*"]},
    ]


def test_an_unexpressible_allow_is_dropped_and_the_service_stays_closed(tmp_path):
    spec, services, stderr = imported(tmp_path, SERVICE + policy("""\
  endpointSelector: {matchLabels: {app: web}}
  ingress:
    - fromCIDR: [10.0.0.0/8]
"""))
    assert "allowFrom" not in services["web"]
    assert spec["mesh"]["defaultDeny"] is True  # web admitted nobody the intent can name
    assert "LOST CiliumNetworkPolicy shop/web spec.ingress[0].fromCIDR" in stderr


def test_an_unexpressible_deny_removes_every_allow(tmp_path):
    spec, services, stderr = imported(tmp_path, SERVICE + policy("""\
  endpointSelector: {matchLabels: {app: web}}
  ingress:
    - fromEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": shop, io.cilium.k8s.policy.serviceaccount: api}}]
  ingressDeny:
    - fromEntities: [world]
"""))
    assert "allowFrom" not in services["web"]
    assert spec["mesh"]["defaultDeny"] is True
    assert "entity world: reserved identities are not expressible; every allow of the service is removed (fail closed)" in stderr


def test_deny_rules_and_an_l7_deny_widened(tmp_path):
    spec, services, stderr = imported(tmp_path, SERVICE + policy("""\
  endpointSelector: {matchLabels: {app: web}}
  enableDefaultDeny: {ingress: false}
  ingressDeny:
    - fromEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": shop, io.cilium.k8s.policy.serviceaccount: api}}]
      toPorts: [{ports: [{port: "8080", protocol: TCP}], rules: {http: [{method: "^DELETE$"}]}}]
"""))
    assert services["web"]["denyFrom"] == [{"service": "api"}]
    assert spec["mesh"]["defaultDeny"] is False  # a deny-only policy does not close the service
    assert "DENY widened: HTTP rules dropped" in stderr


def test_namespace_default_deny_egress_and_fqdns(tmp_path):
    spec, _, _ = imported(tmp_path, SERVICE + """\
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: default-deny-ingress, namespace: shop}
spec:
  endpointSelector: {}
  enableDefaultDeny: {ingress: true}
  ingress: [{}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: egress, namespace: shop}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: true}
  egress:
    - toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, "k8s:k8s-app": kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: UDP}], rules: {dns: [{matchPattern: "*"}]}}]
    - toEntities: [cluster, kube-apiserver]
    - toFQDNs: [{matchName: api.stripe.com}]
      toPorts: [{ports: [{port: "443", protocol: TCP}]}]
    - toFQDNs: [{matchPattern: "*.slack.com"}]
      toPorts: [{ports: [{port: "8443", protocol: TCP}]}]
""")
    assert spec["mesh"] == {"defaultDeny": True, "egressDefaultDeny": True, "mtls": "permissive"}
    assert spec["egress"] == [{"host": "api.stripe.com"}, {"host": "*.slack.com", "ports": [8443]}]


def test_gamma_route_with_version_services(tmp_path):
    versions = "".join(f"""\
---
apiVersion: v1
kind: Service
metadata: {{name: web-{v}, namespace: shop}}
spec:
  selector: {{app: web, version: {v}}}
  ports: [{{name: http, port: 80, targetPort: 8080, appProtocol: http}}]
""" for v in ("v1", "v2"))
    route = """\
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: web, port: 80}]
  rules:
    - matches: [{headers: [{name: end-user, type: Exact, value: jason}]}]
      backendRefs: [{name: web-v2, port: 80}]
    - backendRefs: [{name: web-v1, port: 80, weight: 3}, {name: web-v2, port: 80, weight: 1}]
      timeouts: {request: 2s}
"""
    _, services, _ = imported(tmp_path, SERVICE + versions + route, "--from", "cilium")
    web = services["web"]
    assert web["versions"] == [{"name": "v1", "weight": 75}, {"name": "v2", "weight": 25}]
    assert web["timeout"] == "2s"
    assert web["routes"] == [{"version": "v2", "match": {"headers": {"end-user": {"exact": "jason"}}}}]
    assert "retries" not in web  # Cilium does not retry


def test_a_rule_admitting_any_caller_is_dropped_not_widened(tmp_path):
    spec, services, stderr = imported(tmp_path, SERVICE + policy("""\
  endpointSelector: {matchLabels: {app: web}}
  ingress:
    - toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
"""))
    assert "allowFrom" not in services["web"]
    assert spec["mesh"]["defaultDeny"] is True  # the policy closed web: it stays closed
    assert "LOST CiliumNetworkPolicy shop/web spec.ingress[0]: a rule without fromEndpoints or fromEntities" in stderr
