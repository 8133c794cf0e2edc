"""meshgen import: reading manifests, the findings and their positions, the loss gate, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from meshgen.cli import app
from meshgen.importing.reader import read
from meshgen.platforms import registry
from tests.workflow_helpers import run

FIXTURES = Path(__file__).parent / "fixtures" / "upstream"

SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
"""
VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: [web]
  http:
    - route: [{destination: {host: web}}]
      timeout: 2s
      retries: {attempts: 0}
      corsPolicy: {allowOrigins: [{exact: "*"}]}
"""
PA = """\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}
"""


def test_every_platform_has_an_importer_or_none():
    importers = {name: registry.get_importer(name) for name in registry.names()}
    assert importers["istio"] is not None
    # ambient has its own importer (GAMMA routes, waypoint-attached policies) over Istio's groups
    assert importers["istio-ambient"] is not importers["istio"] and importers["istio-ambient"].groups == importers["istio"].groups
    assert importers["linkerd"] is not None and "policy.linkerd.io" in importers["linkerd"].groups


def test_reader_expands_lists_and_keeps_lines(tmp_path):
    path = tmp_path / "list.yaml"
    items = yaml.safe_load("[" + ",".join(yaml.safe_dump(yaml.safe_load(d), default_flow_style=True).strip() for d in (SERVICE, PA)) + "]")
    path.write_text("# kubectl get -o yaml\n" + yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}, sort_keys=False))
    objects, others = read([path])
    assert [(o.kind, o.name) for o in objects] == [("Service", "web"), ("PeerAuthentication", "default")]
    assert others == []
    text = path.read_text().splitlines()
    # each item's line is the line of its first key, as an editor shows it
    assert text[objects[1].line - 1].lstrip("- ").startswith("apiVersion: security.istio.io/v1")


def test_a_dropped_field_refuses_with_exit_3_and_no_output(tmp_path):
    (tmp_path / "m.yaml").write_text(SERVICE + "---\n" + VS + "---\n" + PA)
    result = run("import", tmp_path)
    assert result.exit_code == 3
    assert result.stdout == ""
    # line 17 of m.yaml is "      corsPolicy: ...": 6 lines of Service, "---", then the 10th line of the VS
    assert f"{tmp_path}/m.yaml:17: LOST VirtualService shop/web spec.http[0].corsPolicy: field corsPolicy has no equivalent" in result.stderr


def test_allow_loss_writes_the_intent(tmp_path):
    (tmp_path / "m.yaml").write_text(SERVICE + "---\n" + VS + "---\n" + PA)
    result = run("import", tmp_path / "m.yaml", "--allow-loss")
    assert result.exit_code == 0
    assert result.stdout.startswith("# yaml-language-server: $schema=schema/meshintent.schema.json\n")
    spec = yaml.safe_load(result.stdout)["spec"]
    assert spec["mesh"] == {"mtls": "strict", "defaultDeny": False}
    assert spec["defaults"] == {"namespace": "shop"}
    assert spec["services"] == [
        {"name": "web", "ports": [{"name": "http", "port": 80, "protocol": "http", "targetPort": 8080}], "timeout": "2s"}
    ]


def test_stdin_is_read(tmp_path):
    result = CliRunner().invoke(app, ["import", "-", "--allow-loss"], input=SERVICE + "---\n" + PA)
    assert result.exit_code == 0
    assert "- name: web" in result.stdout


def test_objects_not_understood_are_listed_and_refused(tmp_path):
    other = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n"
    (tmp_path / "m.yaml").write_text(SERVICE + "---\n" + PA + "---\n" + other)
    result = run("import", tmp_path / "m.yaml")
    assert result.exit_code == 3
    assert f"{tmp_path}/m.yaml:13: not-understood Widget shop/w: example.com/v1 Widget is not read by the istio importer" in result.stderr


def test_platform_cannot_be_guessed_without_mesh_objects(tmp_path):
    (tmp_path / "m.yaml").write_text(SERVICE)
    result = run("import", tmp_path / "m.yaml")
    assert result.exit_code == 2
    assert "pass --from" in result.stderr


@pytest.mark.parametrize(("option", "message"), [("istoi", "did you mean 'istio'")])
def test_from_without_importer_or_unknown_is_a_usage_error(tmp_path, option, message):
    (tmp_path / "m.yaml").write_text(SERVICE)
    result = run("import", tmp_path / "m.yaml", "--from", option)
    assert result.exit_code == 2
    assert message in result.stderr


def test_from_a_platform_without_importer_is_a_usage_error(tmp_path):
    missing = [name for name in registry.names() if registry.get_importer(name) is None]
    if not missing:
        pytest.skip("every platform has an importer")
    (tmp_path / "m.yaml").write_text(SERVICE)
    result = run("import", tmp_path / "m.yaml", "--from", missing[0])
    assert result.exit_code == 2
    assert f"no importer for {missing[0]}" in result.stderr


def test_missing_path_is_a_usage_error(tmp_path):
    result = run("import", tmp_path / "nope.yaml")
    assert result.exit_code == 2


def test_output_is_deterministic(tmp_path):
    first = run("import", FIXTURES / "istio", "--allow-loss").stdout
    assert first and first == run("import", FIXTURES / "istio", "--allow-loss").stdout


def test_upstream_istio_samples_import_with_every_drop_reported():
    """Bookinfo's own manifests, DestinationRules and VirtualServices, its Google APIs egress
    sample and Istio's CRD test policies: the drops below are what the intent cannot say."""
    from meshgen.importing.run import import_manifests

    result = import_manifests([FIXTURES / "istio"])
    assert result.platform == "istio"
    assert [(Path(f.file).name, f.line, f.ref, f.field) for f in result.losses] == [
        # a VirtualService and DestinationRule for an external host (port rewrite, TLS origination)
        ("bookinfo__networking__egress-rule-google-apis.yaml", 23, "VirtualService rewrite-port-for-googleapis", "spec.hosts"),
        ("bookinfo__networking__egress-rule-google-apis.yaml", 39, "DestinationRule originate-tls-for-googleapis", "spec.host"),
        # the policy for httpbin, a workload these manifests do not define
        ("crds__authz-valid.yaml", 7, "AuthorizationPolicy full", "spec.selector"),
        # principal "bar" is no SPIFFE identity: that ALLOW source is dropped (fewer callers)
        ("crds__authz-valid.yaml", 92, "AuthorizationPolicy service-account-and-namespace-principal-split", "spec.rules[0].from[1].source.principals[0]"),
    ]
    spec = yaml.safe_load(result.text)["spec"]
    reviews = next(s for s in spec["services"] if s["name"] == "reviews")
    # virtual-service-reviews-jason-v2-v3: jason -> v2, everyone else -> v3 (first match wins)
    assert reviews["versions"] == [{"name": "v1", "weight": 0}, {"name": "v2", "weight": 0}, {"name": "v3", "weight": 100}]
    assert reviews["routes"] == [{"match": {"headers": {"end-user": {"exact": "jason"}}}, "version": "v2"}]
    assert reviews["serviceAccount"] == "bookinfo-reviews"
    # serviceAccounts ["baz/sa", "sa"] and namespaces ["bar"] of the namespace-wide policy
    assert reviews["allowFrom"] == [{"serviceAccount": "sa", "namespace": "baz"}, {"serviceAccount": "sa", "namespace": "default"}, {"namespace": "bar"}]
    assert spec["egress"] == [{"host": "www.googleapis.com", "ports": [80, 443]}]


@pytest.mark.parametrize(
    "path",
    sorted((FIXTURES / "istio-misc").glob("*.yaml")) + sorted((FIXTURES / "istio").glob("*.yaml")),
    ids=lambda p: p.name,
)
def test_upstream_files_import_alone_without_crashing(path):
    """Each upstream file alone (dangling hosts, odd listeners, duplicate hosts): a valid intent
    or a reported loss, never a traceback or an invalid intent."""
    result = run("import", path, "--from", "istio", "--allow-loss")
    assert result.exit_code == 0, result.stderr
    assert yaml.safe_load(result.stdout)["kind"] == "MeshIntent"


GATEWAY_ROUTES = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: redirect-gateway, namespace: shop}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: redirects, namespace: shop}
spec:
  parentRefs: [{name: redirect-gateway}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /old-api}}]
      filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /new-api}, statusCode: 308}}]
    - matches: [{path: {type: PathPrefix, value: /broken}}]
    - matches: [{path: {type: PathPrefix, value: /}}]
      backendRefs: [{name: web, port: 80}]
"""


def test_gateway_rules_the_intent_cannot_say_are_reported_not_an_invalid_intent(tmp_path):
    # Found importing Gateway API's own examples: a 308 redirect and a rule without backendRefs
    # made an intent that failed validation (exit 1) instead of findings.
    source = tmp_path / "in.yaml"
    source.write_text(SERVICE + "---\n" + GATEWAY_ROUTES)
    refused = run("import", str(source), "--from", "istio")
    assert refused.exit_code == 3 and refused.stdout == ""
    assert "no backendRefs and no redirect" in refused.stderr
    result = run("import", str(source), "--from", "istio", "--allow-loss")
    assert result.exit_code == 0, result.stderr
    assert "statusCode 308 is not expressible; written as 301" in result.stderr
    routes = yaml.safe_load(result.stdout)["spec"]["gateways"][0]["routes"]
    assert [r.get("redirect", {}).get("statusCode") for r in routes] == [301, None]
    assert routes[1]["service"] == "web"
