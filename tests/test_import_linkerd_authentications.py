"""Linkerd authentications no AuthorizationPolicy requires are reported, never consumed silently."""

from __future__ import annotations

from pathlib import Path

from meshgen.importing.run import import_manifests

UPSTREAM = Path(__file__).parent / "fixtures" / "upstream-examples" / "linkerd"

OBJECTS = """\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: 8080, appProtocol: http}]
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {name: api-http, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  port: 8080
  proxyProtocol: HTTP/1
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: api-web, namespace: shop}
spec:
  identities: [web.shop.serviceaccount.identity.linkerd.cluster.local]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: api-http-web, namespace: shop}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: api-http}
  requiredAuthenticationRefs:
    - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: api-web}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: office, namespace: shop}
spec:
  networks: [{cidr: 10.0.0.0/8}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: api-web, namespace: other}
spec:
  identities: ["*"]
"""


def _unreferenced(result) -> list[tuple[str, int, str]]:
    return [(f.file, f.line, f.ref) for f in result.findings if "no AuthorizationPolicy read here requires" in f.message]


def test_unreferenced_authentications_are_named_with_their_place(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text(OBJECTS)
    result = import_manifests([path], "linkerd")
    # the office NetworkAuthentication (line 30) and other/api-web (line 36, same name as the
    # referenced one but another namespace) are required by nobody; shop/api-web is used
    assert _unreferenced(result) == [
        (str(path), 30, "NetworkAuthentication shop/office"),
        (str(path), 36, "MeshTLSAuthentication other/api-web"),
    ]
    assert [f.severity for f in result.findings if "no AuthorizationPolicy read here requires" in f.message] == ["approximated"] * 2
    # the used one still names the caller
    assert "serviceAccount: web" in result.text


def test_a_referenced_network_authentication_is_reported_by_its_policy_only(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text(OBJECTS.replace("kind: MeshTLSAuthentication, name: api-web}", "kind: NetworkAuthentication, name: office}"))
    result = import_manifests([path], "linkerd")
    assert _unreferenced(result) == [(str(path), 16, "MeshTLSAuthentication shop/api-web"), (str(path), 36, "MeshTLSAuthentication other/api-web")]
    # the policy that requires office says what it drops
    assert [f.ref for f in result.losses] == ["AuthorizationPolicy shop/api-http-web"]


def test_upstream_reference_page_network_authentication_is_reported():
    path = UPSTREAM / "linkerd.io_content_2-edge_reference_authorization-policy.md.yaml"
    result = import_manifests([path], "linkerd")
    assert (str(path), 99, "NetworkAuthentication booksapp/cluster-network") in _unreferenced(result)
