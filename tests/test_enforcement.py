"""Staged enforcement (mesh.enforcement / services[].enforcement: audit) on every platform.

Expected values are the upstream spellings: Istio's ``istio.io/dry-run: "true"`` annotation,
Linkerd's ``audit`` default inbound policy and Server ``accessPolicy``, Cilium's Helm value
``policyAuditMode``; Consul and NetworkPolicy have no audit mode (a LOST finding).
"""

from __future__ import annotations

import yaml

from meshgen.capabilities import Feature, Support
from meshgen.loader import load_intent
from meshgen.pipeline import render
from tests.conftest import write_intent

INTENT = """apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {{name: shop}}
spec:
  mesh: {{defaultDeny: true, enforcement: {mesh}}}
  defaults: {{namespace: shop}}
  services:
    - name: api
      serviceAccount: api
      enforcement: {api}
      ports: [{{name: http, port: 8080, protocol: http}}]
      allowFrom: [{{service: web}}]
    - name: web
      serviceAccount: web
      ports: [{{name: http, port: 8080, protocol: http}}]
"""


def _render(tmp_path, platform: str, *, mesh: str = "enforce", api: str = "audit"):
    intent = load_intent(write_intent(tmp_path, INTENT.format(mesh=mesh, api=api)))
    return render(intent, platform, "intent.yaml")


def _policies(rendering) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in rendering.objects() if o["kind"] == "AuthorizationPolicy"}


def _audit_findings(rendering):
    return [(f.subject, f.support) for f in rendering.plan.findings if f.feature is Feature.AUTHZ_AUDIT]


def test_istio_service_audit_is_dry_run_and_stays_reachable(tmp_path):
    rendering = _render(tmp_path, "istio")
    policies = _policies(rendering)
    assert policies["api"]["metadata"]["annotations"] == {"istio.io/dry-run": "true"}
    assert "annotations" not in policies["allow-nothing"]["metadata"]  # web stays enforced
    # allow-nothing still selects api: an enforced ALLOW-all keeps it reachable while audited.
    assert "annotations" not in policies["api-audit-allow"]["metadata"]
    assert policies["api-audit-allow"]["spec"] == {"action": "ALLOW", "rules": [{}], "selector": {"matchLabels": {"app": "api"}}}
    assert _audit_findings(rendering) == []


def test_istio_mesh_audit_dry_runs_the_default_deny(tmp_path):
    policies = _policies(_render(tmp_path, "istio", mesh="audit", api="audit"))
    assert policies["allow-nothing"]["metadata"]["annotations"] == {"istio.io/dry-run": "true"}
    assert policies["api"]["metadata"]["annotations"] == {"istio.io/dry-run": "true"}
    assert "api-audit-allow" not in policies


def test_istio_enforce_is_unchanged(tmp_path):
    policies = _policies(_render(tmp_path, "istio", api="enforce"))
    assert sorted(policies) == ["allow-nothing", "api"]
    assert all("annotations" not in p["metadata"] for p in policies.values())


def test_istio_ambient_audit_is_dry_run_and_reported(tmp_path):
    rendering = _render(tmp_path, "istio-ambient")
    policies = _policies(rendering)
    assert policies["api"]["metadata"]["annotations"] == {"istio.io/dry-run": "true"}
    assert policies["api-audit-allow"]["spec"]["rules"] == [{}]
    assert _audit_findings(rendering) == [("shop/api", Support.APPROXIMATED)]


def test_linkerd_service_audit_sets_the_server_access_policy(tmp_path):
    objects = _render(tmp_path, "linkerd").objects()
    servers = {o["metadata"]["name"]: o["spec"]["accessPolicy"] for o in objects if o["kind"] == "Server"}
    assert servers == {"api-http": "audit", "web-http": "deny"}
    namespace = next(o for o in objects if o["kind"] == "Namespace" and o["metadata"]["name"] == "shop")
    assert namespace["metadata"]["annotations"]["config.linkerd.io/default-inbound-policy"] == "deny"


def test_linkerd_mesh_audit_sets_the_default_inbound_policy(tmp_path):
    objects = _render(tmp_path, "linkerd", mesh="audit", api="audit").objects()
    namespace = next(o for o in objects if o["kind"] == "Namespace" and o["metadata"]["name"] == "shop")
    assert namespace["metadata"]["annotations"]["config.linkerd.io/default-inbound-policy"] == "audit"


def test_cilium_mesh_audit_is_the_agent_audit_mode(tmp_path):
    rendering = _render(tmp_path, "cilium", mesh="audit", api="audit")
    values = next(f for f in rendering.files if f.path.endswith("values/cilium.yaml"))
    assert yaml.safe_load(values.text)["policyAuditMode"] is True
    assert _audit_findings(rendering) == [("mesh", Support.APPROXIMATED)]


def test_cilium_service_audit_is_lost(tmp_path):
    rendering = _render(tmp_path, "cilium")
    values = next(f for f in rendering.files if f.path.endswith("values/cilium.yaml"))
    assert "policyAuditMode" not in yaml.safe_load(values.text)
    assert _audit_findings(rendering) == [("shop/api", Support.NOT_EXPRESSIBLE)]


def test_consul_and_kubernetes_have_no_audit_mode(tmp_path):
    for platform in ("consul", "kubernetes"):
        assert _audit_findings(_render(tmp_path, platform)) == [("shop/api", Support.NOT_EXPRESSIBLE)], platform
        assert _audit_findings(_render(tmp_path, platform, api="enforce")) == [], platform


def test_istio_service_that_enforces_under_mesh_audit_keeps_its_default_deny(tmp_path):
    text = INTENT.format(mesh="audit", api="audit").replace(
        "      serviceAccount: web\n", "      serviceAccount: web\n      enforcement: enforce\n"
    )
    rendering = render(load_intent(write_intent(tmp_path, text)), "istio", "intent.yaml")
    policies = _policies(rendering)
    # web has no allowFrom: nobody may call it, and it is not audited.
    assert policies["web-enforce"]["spec"] == {"selector": {"matchLabels": {"app": "web"}}, "action": "ALLOW"}
    assert "annotations" not in policies["web-enforce"]["metadata"]


def test_audit_output_is_admissible(tmp_path, crd_catalog):
    from meshgen.kube import validate_objects

    for mesh, api in (("enforce", "audit"), ("audit", "audit"), ("audit", "enforce")):
        for platform in ("istio", "istio-ambient", "linkerd"):
            objects = _render(tmp_path, platform, mesh=mesh, api=api).objects()
            assert [str(v) for v in validate_objects(objects, crd_catalog)] == [], (platform, mesh, api)
