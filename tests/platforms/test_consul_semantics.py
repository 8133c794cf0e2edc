"""Consul allow-lists mean what the intent says, evaluated the way Consul decides (tests/platforms/consul_sim.py).

Every rendered decision is checked under both ACL default policies: meshgen writes the mesh
default and closes every L7 source itself, so the answer must never depend on the ACL default.
The first tests check the model itself against Consul's documented precedence and fall-through.
"""

from __future__ import annotations

import pytest

from tests.platforms.consul_sim import Request, decide, render_objects

BOTH = pytest.mark.parametrize("acl_default_allow", [True, False], ids=["acl-allow", "acl-deny"])


def entry(dest: str, *sources: dict) -> dict:
    return {"kind": "ServiceIntentions", "spec": {"destination": {"name": dest}, "sources": list(sources)}}


# --- the model, on hand-written intentions ---------------------------------------------------


def test_exact_source_outranks_wildcard_source():
    objects = [entry("db", {"name": "web", "action": "allow"}, {"name": "*", "action": "deny"})]
    assert decide(objects, Request("web", "db"), acl_default_allow=False)
    assert not decide(objects, Request("api", "db"), acl_default_allow=True)


def test_exact_destination_outranks_wildcard_destination():
    objects = [entry("*", {"name": "web", "action": "deny"}), entry("db", {"name": "*", "action": "allow"})]
    assert decide(objects, Request("web", "db"), acl_default_allow=False)  # * -> db (8) beats web -> * (6)


def test_unmatched_l7_request_falls_to_the_acl_default_not_to_lower_intentions():
    perms = [{"action": "allow", "http": {"pathPrefix": "/api/"}}]
    objects = [entry("db", {"name": "web", "permissions": perms}), entry("*", {"name": "*", "action": "deny"})]
    assert decide(objects, Request("web", "db", path="/api/x"), acl_default_allow=False)
    assert decide(objects, Request("web", "db", path="/admin"), acl_default_allow=True)  # why meshgen closes sources
    assert not decide(objects, Request("web", "db", path="/admin"), acl_default_allow=False)


# --- rendered intents --------------------------------------------------------------------------

INTENT = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {{name: shop}}
spec:
  mesh: {{defaultDeny: {deny}}}
  defaults: {{namespace: shop}}
  services:
    - name: web
      ports: [{{name: http, port: 80}}]
    - name: batch
      ports: [{{name: http, port: 80}}]
    - name: api
      ports: [{{name: http, port: 8080}}]
{api}
    - name: open
      ports: [{{name: http, port: 8080}}]
"""


def objects_for(api: str, deny: bool = True) -> list[dict]:
    return render_objects(INTENT.format(api=api, deny=str(deny).lower()))


@BOTH
def test_methods_and_paths_admit_exactly_the_allowed_requests(acl_default_allow):
    objects = objects_for(
        "      allowFrom:\n        - {service: web, methods: [GET], paths: [/v1/*, /login, '*.png']}"
    )
    allowed = [("GET", "/v1/items"), ("GET", "/login"), ("GET", "/login?next=/"), ("GET", "/img/logo.png")]
    refused = [("POST", "/v1/items"), ("GET", "/v2/items"), ("GET", "/login/x"), ("GET", "/logo.png.txt"), ("DELETE", "/login")]
    for method, path in allowed:
        assert decide(objects, Request("web", "api", method, path), acl_default_allow=acl_default_allow), (method, path)
    for method, path in refused:
        assert not decide(objects, Request("web", "api", method, path), acl_default_allow=acl_default_allow), (method, path)
    assert not decide(objects, Request("batch", "api"), acl_default_allow=acl_default_allow)


@BOTH
def test_default_deny_refuses_every_unlisted_pair(acl_default_allow):
    objects = objects_for("      allowFrom:\n        - {service: web}")
    assert decide(objects, Request("web", "api", "DELETE", "/anything"), acl_default_allow=acl_default_allow)
    assert not decide(objects, Request("batch", "api"), acl_default_allow=acl_default_allow)
    assert not decide(objects, Request("web", "open"), acl_default_allow=acl_default_allow)
    assert not decide(objects, Request("api", "web"), acl_default_allow=acl_default_allow)


@BOTH
def test_without_default_deny_an_allow_list_is_still_exclusive(acl_default_allow):
    objects = objects_for("      allowFrom:\n        - {service: web, methods: [GET]}", deny=False)
    assert decide(objects, Request("web", "api"), acl_default_allow=acl_default_allow)
    assert not decide(objects, Request("web", "api", "POST"), acl_default_allow=acl_default_allow)
    assert not decide(objects, Request("batch", "api"), acl_default_allow=acl_default_allow)
    # A service without allowFrom stays open to every meshed caller.
    assert decide(objects, Request("batch", "open", "POST", "/x"), acl_default_allow=acl_default_allow)


@BOTH
def test_deny_rules_win_over_allows_of_the_same_caller(acl_default_allow):
    objects = objects_for(
        "      allowFrom:\n        - {service: web}\n        - {service: batch}\n"
        "      denyFrom:\n        - {service: web, methods: [DELETE]}\n        - {service: batch}"
    )
    assert decide(objects, Request("web", "api", "GET", "/x"), acl_default_allow=acl_default_allow)
    assert not decide(objects, Request("web", "api", "DELETE", "/x"), acl_default_allow=acl_default_allow)
    assert not decide(objects, Request("batch", "api"), acl_default_allow=acl_default_allow)


@BOTH
def test_a_deny_only_rule_keeps_an_open_service_open_to_the_rest(acl_default_allow):
    objects = objects_for("      denyFrom:\n        - {service: web, paths: [/admin/*]}", deny=False)
    assert not decide(objects, Request("web", "api", "GET", "/admin/users"), acl_default_allow=acl_default_allow)
    assert decide(objects, Request("web", "api", "GET", "/public"), acl_default_allow=acl_default_allow)
    assert decide(objects, Request("batch", "api", "GET", "/admin/users"), acl_default_allow=acl_default_allow)


@BOTH
def test_grpc_methods_become_exact_paths(acl_default_allow):
    text = INTENT.replace("[{{name: http, port: 8080}}]\n{api}", "[{{name: grpc, port: 9000, protocol: grpc}}]\n{api}", 1)
    objects = render_objects(
        text.format(api="      allowFrom:\n        - {service: web, grpc: {service: shop.Cart, methods: [Get]}}", deny="true")
    )
    assert decide(objects, Request("web", "api", "POST", "/shop.Cart/Get"), acl_default_allow=acl_default_allow)
    assert not decide(objects, Request("web", "api", "POST", "/shop.Cart/Empty"), acl_default_allow=acl_default_allow)
    assert not decide(objects, Request("web", "api", "POST", "/shop.Cart/GetAll"), acl_default_allow=acl_default_allow)


@BOTH
def test_bookinfo_reviews_admits_only_productpage_get(acl_default_allow):
    from tests.conftest import REPO

    objects = render_objects((REPO / "examples/bookinfo/intent.yaml").read_text())
    assert decide(objects, Request("productpage", "reviews", "GET", "/reviews/0"), acl_default_allow=acl_default_allow)
    assert not decide(objects, Request("productpage", "reviews", "POST", "/reviews/0"), acl_default_allow=acl_default_allow)
    assert not decide(objects, Request("ratings", "reviews", "GET", "/reviews/0"), acl_default_allow=acl_default_allow)
    # The gateway reaches productpage, and nothing else.
    assert decide(objects, Request("public", "productpage", "GET", "/productpage"), acl_default_allow=acl_default_allow)
    assert not decide(objects, Request("public", "reviews", "GET", "/reviews/0"), acl_default_allow=acl_default_allow)
