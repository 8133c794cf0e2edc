"""Importing a corpus: one object per kind, namespace and name, as a cluster holds.

Identical copies of an object (a GatewayClass every example file carries) are one object;
copies that differ are a conflict: the last applied is imported, every other copy is LOST at
its own place naming all of them, all at once (exit 3 unless --allow-loss).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from meshgen.importing.run import import_manifests
from tests.workflow_helpers import run

GATEWAY_API = Path(__file__).parent / "fixtures" / "upstream-examples" / "gateway-api"

OBJECTS = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: shop}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs: [{name: edge}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _conflicts(result) -> dict[tuple[str, int], str]:
    return {(f.file, f.line): f.message for f in result.losses if "the copies differ" in f.message}


def test_gateway_api_corpus_reports_every_conflict_with_both_places():
    result = import_manifests([GATEWAY_API], "istio")
    conflicts = _conflicts(result)
    standard = GATEWAY_API / "standard"
    grpc, http = f"{standard / 'basic-grpc.yaml'}", f"{standard / 'basic-http.yaml'}"
    # basic-grpc.yaml and basic-http.yaml both define Gateway my-gateway (line 15), with other listeners:
    # the copy read first is dropped, naming both places and which one is kept
    assert conflicts[(grpc, 15)] == (
        f"defined 2 times in namespace default and the copies differ ({grpc}:15, {http}:15); a cluster holds the last applied, "
        f"{http}:15, which is imported; this copy is dropped (import the files separately, or rename one)"
    )
    assert (http, 15) not in conflicts
    # six files define example-gateway: five dropped copies, each naming all six places
    dropped = [f.message for f in result.losses if f.ref == "Gateway example-gateway"]
    assert len(dropped) == 5 and all("defined 6 times" in m for m in dropped)
    for name in ("grpc-routing__gateway.yaml:4", "http-routing__gateway.yaml:4", "simple-http-https__gateway.yaml:4", "tls-routing__gateway.yaml:5"):
        assert all(f"{standard / name}" in m for m in dropped)
    # all conflicts at once, not just the first: routes too, in their own namespace
    refs = {f.ref for f in result.losses if "the copies differ" in f.message}
    assert {"HTTPRoute gateway-api-example-ns1/http-filter-1", "GRPCRoute foo-route", "Gateway my-tcp-gateway"} <= refs
    # identical copies are not conflicts: GatewayClass example is in both basic-* files verbatim
    assert not [r for r in refs if r.startswith("GatewayClass") or r == "TCPRoute tcp-app-1"]


def test_gateway_api_corpus_cli_refuses_without_allow_loss_and_imports_with_it():
    refused = run("import", "--from", "istio", GATEWAY_API)
    assert refused.exit_code == 3 and refused.stdout == ""
    assert "basic-grpc.yaml:15: LOST Gateway my-gateway: defined 2 times" in refused.stderr
    assert "Traceback" not in refused.stderr
    accepted = run("import", "--from", "istio", "--allow-loss", GATEWAY_API)
    assert accepted.exit_code == 0, accepted.stderr
    gateways = {g["name"]: g for g in yaml.safe_load(accepted.stdout)["spec"]["gateways"]}
    # the kept my-gateway is basic-http.yaml's (an HTTP listener on 80), not basic-grpc.yaml's
    assert [(lst["protocol"], lst["port"]) for lst in gateways["my-gateway"]["listeners"]] == [("HTTP", 80)]


def test_a_route_to_a_listener_the_gateway_lacks_is_detached(tmp_path):
    text = OBJECTS.replace("parentRefs: [{name: edge}]", "parentRefs: [{name: edge, sectionName: https}]")
    result = import_manifests([_write(tmp_path, "a.yaml", text)], "istio")
    [finding] = [f for f in result.losses if f.ref == "HTTPRoute shop/web"]
    assert finding.field == "spec.parentRefs" and "has no listener https" in finding.message
    assert "routes" not in yaml.safe_load(result.text)["spec"]["gateways"][0]


def test_every_gateway_api_example_file_imports_on_its_own():
    failures = []
    for path in sorted(GATEWAY_API.rglob("*.yaml")):
        try:
            import_manifests([path], "istio")
        except Exception as exc:  # noqa: BLE001 - the test lists every failure
            failures.append(f"{path}: {exc}")
    assert failures == []


def test_identical_copies_merge(tmp_path):
    one = _write(tmp_path, "a.yaml", OBJECTS)
    two = _write(tmp_path, "b.yaml", OBJECTS)
    alone = import_manifests([one], "istio")
    both = import_manifests([one, two], "istio")
    assert both.text == alone.text
    assert both.findings == alone.findings
    assert "b.yaml" not in both.text


def test_server_written_metadata_and_status_do_not_make_copies_differ(tmp_path):
    one = _write(tmp_path, "a.yaml", OBJECTS)
    exported = OBJECTS.replace(
        "metadata: {name: edge, namespace: shop}",
        "metadata: {name: edge, namespace: shop, uid: 1f2e, resourceVersion: '4711', generation: 3, "
        "creationTimestamp: '2026-01-01T00:00:00Z'}",
    ) + "status: {conditions: []}\n"
    two = _write(tmp_path, "b.yaml", exported)
    assert import_manifests([one, two], "istio").text == import_manifests([one], "istio").text


def test_an_object_without_namespace_collides_in_the_namespace_it_lands_in(tmp_path):
    one = _write(tmp_path, "a.yaml", OBJECTS)
    other = OBJECTS.split("---\n")[1].replace("namespace: shop", "").replace(", }", "}").replace("port: 80", "port: 8080")
    two = _write(tmp_path, "b.yaml", other)
    result = import_manifests([one, two], "istio")
    [finding] = [f for f in result.losses if "the copies differ" in f.message]
    assert (finding.file, finding.line, finding.ref) == (str(one), 8, "Gateway shop/edge")
    assert f"defined 2 times in namespace shop and the copies differ ({one}:8, {two}:1)" in finding.message
    # the last applied (b.yaml's port 8080) is the one imported
    assert yaml.safe_load(result.text)["spec"]["gateways"][0]["listeners"][0]["port"] == 8080


def test_same_name_in_different_namespaces_is_not_a_conflict(tmp_path):
    one = _write(tmp_path, "a.yaml", OBJECTS)
    two = _write(tmp_path, "b.yaml", OBJECTS.replace("namespace: shop", "namespace: shop2").replace("port: 80", "port: 8080"))
    result = import_manifests([one, two], "istio")
    services = yaml.safe_load(result.text)["spec"]["services"]
    assert [(s["name"], s.get("namespace")) for s in services] == [("web", None), ("web", "shop2")]
    # both Services are named web: the route says which one it reaches
    [gateway] = yaml.safe_load(result.text)["spec"]["gateways"]
    assert gateway["routes"] == [{"namespace": "shop", "service": "web", "port": 80}]
    # spec.gateways[].name is unique in the intent: the second edge is reported, with the first's place
    lost = {(f.ref, f.file) for f in result.losses}
    assert ("Gateway shop2/edge", str(two)) in lost and ("HTTPRoute shop2/web", str(two)) in lost
    message = next(f.message for f in result.losses if f.ref == "Gateway shop2/edge")
    assert f"Gateway shop/edge ({one}:8)" in message


def test_versions_of_one_api_group_are_one_object(tmp_path):
    one = _write(tmp_path, "a.yaml", OBJECTS)
    older = OBJECTS.replace("kind: HTTPRoute", "kind: HTTPRoute").replace(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute", "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: HTTPRoute")
    assert "v1beta1" in older
    two = _write(tmp_path, "b.yaml", older)
    assert import_manifests([one, two], "istio").text == import_manifests([one], "istio").text
    changed = _write(tmp_path, "c.yaml", older.replace("port: 80}]}]", "port: 80, weight: 2}]}]"))
    result = import_manifests([one, changed], "istio")
    assert [(f.file, f.ref) for f in result.losses if "the copies differ" in f.message] == [(str(one), "HTTPRoute shop/web")]
