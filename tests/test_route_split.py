"""Route objects stay within Gateway API's CRD limits, split without changing precedence.

Limits and the precedence rule: meshgen/platforms/route_split.py (Gateway API v1.6.1
httproutes/grpcroutes v1: spec.rules maxItems 16, matches maxItems 64, <= 128 matches per route).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen import pipeline
from meshgen.kube import CRDCatalog, validate_objects
from meshgen.loader import load_intent
from meshgen.platforms.registry import names
from meshgen.platforms.route_split import RouteLimitError, precedence_key


@pytest.fixture(scope="module")
def catalog() -> CRDCatalog:
    return CRDCatalog.bundled()


def _intent(tmp_path: Path, spec: dict) -> Path:
    path = tmp_path / "intent.yaml"
    doc = {"apiVersion": "meshgen.dev/v1alpha1", "kind": "MeshIntent", "metadata": {"name": "big"}, "spec": spec}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _services(*names_: str) -> list[dict]:
    return [{"name": n, "serviceAccount": n, "ports": [{"name": "http", "port": 8080, "protocol": "http"}]} for n in names_]


def _gateway_spec(routes: list[dict]) -> dict:
    return {
        "defaults": {"namespace": "shop"},
        "services": _services("web", "api"),
        "gateways": [{"name": "edge", "className": "istio", "serviceAccount": "edge", "listeners": [{"port": 80, "protocol": "HTTP"}], "routes": routes}],
    }


def _routes_of(objects: list[dict], kind: str = "HTTPRoute") -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


# 40 gateway routes alternating between two services: consecutive rules cannot be merged, so the
# HTTPRoute would carry 40 rules (the API server refuses more than 16).
FORTY = [{"match": {"path": {"prefix": f"/api/r{i:02d}"}}, "service": ["web", "api"][i % 2]} for i in range(40)]


@pytest.mark.parametrize("platform", [p for p in names() if p != "linkerd" and p != "cilium"])
def test_forty_gateway_routes_split_into_admissible_http_routes(tmp_path, catalog, platform):
    intent = load_intent(_intent(tmp_path, _gateway_spec(FORTY)))
    objects = pipeline.render(intent, platform, "intent.yaml").objects()
    routes = [r for r in _routes_of(objects) if r["spec"]["parentRefs"][0].get("kind") != "Service"]
    assert [len(r["spec"]["rules"]) for r in routes] == [16, 16, 8]
    assert [r["metadata"]["name"] for r in routes] == ["edge-http-80", "edge-http-80-part-2", "edge-http-80-part-3"]
    found = {}
    for route in routes:
        assert route["spec"]["parentRefs"] == [{"name": "edge", "sectionName": "http-80"}]
        for rule in route["spec"]["rules"]:
            for match in rule["matches"]:
                found[match["path"]["value"]] = rule["backendRefs"][0]["name"]
    # Hand-written: even routes go to web, odd ones to api.
    expected = {f"/api/r{i:02d}": ("web" if i % 2 == 0 else "api") for i in range(40)}
    assert found == expected
    assert [str(v) for v in validate_objects(objects, catalog)] == []


def test_gamma_mesh_route_with_forty_intent_routes_is_split(tmp_path, catalog):
    web = _services("web")[0]
    web["versions"] = [{"name": "v1", "weight": 100}, {"name": "v2", "weight": 0}]
    web["routes"] = [{"match": {"path": {"exact": f"/item/{i}"}}, "version": ["v1", "v2"][i % 2]} for i in range(40)]
    intent = load_intent(_intent(tmp_path, {"defaults": {"namespace": "shop"}, "services": [web]}))
    objects = pipeline.render(intent, "istio-ambient", "intent.yaml").objects()
    routes = _routes_of(objects)
    # 40 routes + the weighted default = 41 rules: 16 + 16 + 9.
    assert [len(r["spec"]["rules"]) for r in routes] == [16, 16, 9]
    exact = sorted(m["path"]["value"] for r in routes for rule in r["spec"]["rules"] for m in rule.get("matches", []))
    assert exact == sorted(f"/item/{i}" for i in range(40))
    assert sum(1 for r in routes for rule in r["spec"]["rules"] if "matches" not in rule) == 1
    assert [str(v) for v in validate_objects(objects, catalog)] == []


def test_rule_with_more_than_64_matches_is_cut_in_order(tmp_path, catalog):
    # 70 consecutive routes to one service merge into one rule of 70 matches (at most 64).
    routes = [{"match": {"path": {"prefix": f"/p{i:02d}"}}, "service": "web"} for i in range(70)]
    objects = pipeline.render(load_intent(_intent(tmp_path, _gateway_spec(routes))), "istio", "intent.yaml").objects()
    (route,) = [r for r in _routes_of(objects)]
    assert [len(rule["matches"]) for rule in route["spec"]["rules"]] == [64, 6]
    assert [m["path"]["value"] for rule in route["spec"]["rules"] for m in rule["matches"]] == [f"/p{i:02d}" for i in range(70)]
    assert [str(v) for v in validate_objects(objects, catalog)] == []


def test_tied_matches_are_never_split_across_objects(tmp_path):
    # 17 routes matching only one header each tie under Gateway API precedence (same default path,
    # no method, one header): across objects their order would be decided by creation time.
    routes = [{"match": {"headers": {"x-shard": {"exact": str(i)}}}, "service": ["web", "api"][i % 2]} for i in range(17)]
    intent = load_intent(_intent(tmp_path, _gateway_spec(routes)))
    with pytest.raises(RouteLimitError, match=r"HTTPRoute shop/edge-http-80: 17 rules \(17 matches\) whose matches tie"):
        pipeline.plan(intent, "istio")


def test_tied_groups_stay_together_when_splitting(tmp_path):
    # Two header routes tie with each other (positions 0 and 20); all other routes have distinct paths.
    routes = [{"match": {"headers": {"x-a": {"exact": "1"}}}, "service": "api"}]
    routes += [{"match": {"path": {"prefix": f"/r{i:02d}"}}, "service": ["web", "api"][i % 2]} for i in range(19)]
    routes += [{"match": {"headers": {"x-b": {"exact": "1"}}}, "service": "api"}]  # not merged with /r18 (web)
    plan = pipeline.plan(load_intent(_intent(tmp_path, _gateway_spec(routes))), "istio")
    parts = [o for o in plan.objects if o.kind == "HTTPRoute"]
    holders = [p.name for p in parts for rule in p.values["rules"] for m in rule.get("matches", []) if "headers" in m]
    assert holders == ["edge-http-80", "edge-http-80"]
    assert [len(p.values["rules"]) for p in parts] == [16, 5]


def test_precedence_keys():
    assert precedence_key("HTTPRoute", {}) == (("PathPrefix", "/"), False, 0, 0)
    assert precedence_key("HTTPRoute", {"path": {"type": "Exact", "value": "/a"}, "method": "GET"}) == (("Exact", "/a"), True, 0, 0)
    regex = precedence_key("HTTPRoute", {"path": {"type": "RegularExpression", "value": "^/a.*"}})
    assert regex == precedence_key("HTTPRoute", {"path": {"type": "RegularExpression", "value": "^/b.*"}})
    assert precedence_key("GRPCRoute", {"method": {"type": "Exact", "service": "pkg.S", "method": "Get"}}) == ("Exact", "pkg.S", "Get", 0)


def test_cilium_port_rules_hold_at_most_40_ports(tmp_path, catalog):
    # CiliumNetworkPolicy v2 toPorts[].ports maxItems 40: 45 TCP ports become two toPorts entries.
    ports = [{"name": f"p{i}", "port": 9000 + i, "protocol": "tcp"} for i in range(45)]
    spec = {
        "defaults": {"namespace": "shop"},
        "mesh": {"defaultDeny": True},
        "services": [
            {"name": "db", "serviceAccount": "db", "ports": ports, "allowFrom": [{"service": "web"}]},
            *_services("web"),
        ],
    }
    objects = pipeline.render(load_intent(_intent(tmp_path, spec)), "cilium", "intent.yaml").objects()
    (policy,) = [o for o in objects if o["kind"] == "CiliumNetworkPolicy" and o["metadata"]["name"].startswith("db")]
    (ingress,) = policy["spec"]["ingress"]
    assert [len(entry["ports"]) for entry in ingress["toPorts"]] == [40, 5]
    assert [p["port"] for entry in ingress["toPorts"] for p in entry["ports"]] == [str(9000 + i) for i in range(45)]
    assert [str(v) for v in validate_objects(objects, catalog)] == []


def test_gateway_api_list_bounds_are_intent_errors(tmp_path):
    from meshgen.errors import IntentError

    spec = _gateway_spec([{"service": "web"}])
    spec["gateways"][0]["hostnames"] = [f"h{i}.example.com" for i in range(17)]
    with pytest.raises(IntentError, match=r"spec\.gateways\[0\]\.hostnames: list should have at most 16 items"):
        load_intent(_intent(tmp_path, spec))
    spec = _gateway_spec([{"match": {"headers": {f"x-h{i:02d}": {"exact": "1"} for i in range(17)}}, "service": "web"}])
    with pytest.raises(IntentError, match=r"spec\.gateways\[0\]\.routes\[0\]\.match\.headers: .*at most 16 items"):
        load_intent(_intent(tmp_path, spec))


def test_versions_and_header_edits_are_bounded(tmp_path):
    from meshgen.errors import IntentError

    spec = _gateway_spec([{"service": "web", "requestHeaders": {"remove": [f"x-r{i:02d}" for i in range(17)]}}])
    with pytest.raises(IntentError, match=r"spec\.gateways\[0\]\.routes\[0\]\.requestHeaders\.remove: .*at most 16 items"):
        load_intent(_intent(tmp_path, spec))
    spec = _gateway_spec([])
    spec["services"][0]["versions"] = [{"name": f"v{i}", "weight": 100 if i == 0 else 0} for i in range(17)]
    with pytest.raises(IntentError, match=r"spec\.services\[0\]\.versions: .*at most 16 items"):
        load_intent(_intent(tmp_path, spec))
