"""Istio RequestAuthentication and the require-token AuthorizationPolicies -> requestAuthentication.

Expected values are written out from the intents below, never computed by the importer.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from meshgen.importing.run import import_manifests
from tests.workflow_helpers import round_trip, run

JWT_INTENT = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: jwt}
spec:
  platform: istio
  mesh: {mtls: strict, defaultDeny: true}
  defaults: {namespace: shop}
  services:
    - name: api
      ports: [{name: http, port: 8080, protocol: http}]
      requestAuthentication:
        issuer: https://auth.example.com
        jwksUri: https://auth.example.com/.well-known/jwks.json
        audiences: [shop-api, admin]
        requiredClaims: {groups: [admin, ops], tier: [gold]}
      allowFrom:
        - service: web
    - name: web
      ports: [{name: http, port: 80, protocol: http}]
"""

SERVICES = """\
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 8080, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80}]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  jwtRules:
    - issuer: https://auth.example.com
      jwksUri: https://auth.example.com/.well-known/jwks.json
"""

REQUIRE = """\
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api-require-jwt, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  action: DENY
  rules:
    - from: [{source: {notRequestPrincipals: ["*"]}}]
"""


def _import(tmp_path: Path, text: str, *flags: str):
    path = tmp_path / "in.yaml"
    path.write_text(text)
    return import_manifests([path], "istio")


def _service(result, name: str) -> dict:
    return next(s for s in yaml.safe_load(result.text)["spec"]["services"] if s["name"] == name)


def test_jwt_intent_round_trips_byte_identical(tmp_path):
    source = tmp_path / "intent.yaml"
    source.write_text(JWT_INTENT)
    imported = round_trip(tmp_path, source, "istio")
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr
    api = next(s for s in yaml.safe_load(imported.stdout)["spec"]["services"] if s["name"] == "api")
    assert api["requestAuthentication"] == {
        "issuer": "https://auth.example.com",
        "jwksUri": "https://auth.example.com/.well-known/jwks.json",
        "audiences": ["shop-api", "admin"],
        "requiredClaims": {"groups": ["admin", "ops"], "tier": ["gold"]},
    }
    assert api["allowFrom"] == [{"service": "web"}]


def test_feature_tour_jwt_service_imports_its_rule(tmp_path):
    out = tmp_path / "out"
    assert run("render", "examples/feature-tour/intent.yaml", "-p", "istio", "--allow-loss", "--output", out).exit_code == 0
    result = import_manifests([out / "istio"], "istio")
    assert _service(result, "api")["requestAuthentication"] == {
        "issuer": "https://auth.example.com",
        "jwksUri": "https://auth.example.com/.well-known/jwks.json",
        "audiences": ["shop-api"],
    }
    assert not [f for f in result.losses if "RequestAuthentication" in f.ref or "require-jwt" in f.ref]


def test_required_token_is_consumed_and_nothing_reported(tmp_path):
    result = _import(tmp_path, SERVICES + REQUIRE)
    api = _service(result, "api")
    assert api["requestAuthentication"] == {"issuer": "https://auth.example.com", "jwksUri": "https://auth.example.com/.well-known/jwks.json"}
    assert "allowFrom" not in api
    assert not [f for f in result.findings if "RequestAuthentication" in f.ref or "AuthorizationPolicy" in f.ref]
    # the require-token DENY closes nothing: the intent stays open (no defaultDeny)
    assert yaml.safe_load(result.text)["spec"]["mesh"]["defaultDeny"] is False


def test_optional_token_is_imported_required_and_said(tmp_path):
    result = _import(tmp_path, SERVICES)
    assert _service(result, "api")["requestAuthentication"]["issuer"] == "https://auth.example.com"
    [finding] = [f for f in result.findings if f.ref == "RequestAuthentication shop/api"]
    assert finding.severity == "approximated" and "requests without a token were let through" in finding.message


def test_second_issuer_and_inline_jwks_are_lost(tmp_path):
    text = SERVICES.replace(
        "      jwksUri: https://auth.example.com/.well-known/jwks.json\n",
        "      jwksUri: https://auth.example.com/.well-known/jwks.json\n"
        "    - issuer: https://other.example.com\n"
        "      jwksUri: https://other.example.com/jwks.json\n"
        "    - issuer: https://inline.example.com\n"
        "      jwks: '{\"keys\": []}'\n",
    ) + REQUIRE
    result = _import(tmp_path, text)
    assert _service(result, "api")["requestAuthentication"]["issuer"] == "https://auth.example.com"
    lost = [(f.field, f.message) for f in result.losses if f.ref == "RequestAuthentication shop/api"]
    assert [field for field, _ in lost] == ["spec.jwtRules[1]", "spec.jwtRules[2]"]
    assert "already takes tokens of https://auth.example.com" in lost[0][1]
    assert "inline jwks" in lost[1][1]


def test_unknown_jwt_option_is_lost(tmp_path):
    text = SERVICES + "      forwardOriginalToken: true\n" + REQUIRE
    result = _import(tmp_path, text)
    assert [f.field for f in result.losses] == ["spec.jwtRules[0].forwardOriginalToken"]


def test_allow_with_any_request_principal_keeps_the_caller(tmp_path):
    allow = """\
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  action: ALLOW
  rules:
    - from: [{source: {principals: [cluster.local/ns/shop/sa/web], requestPrincipals: ["*"]}}]
"""
    result = _import(tmp_path, SERVICES + REQUIRE + allow)
    assert _service(result, "api")["allowFrom"] == [{"service": "web"}]
    assert result.losses == ()


def test_request_principals_alone_stay_lost(tmp_path):
    allow = """\
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  action: ALLOW
  rules:
    - from: [{source: {requestPrincipals: ["*"]}}]
"""
    result = _import(tmp_path, SERVICES + REQUIRE + allow)
    assert [f.field for f in result.losses] == ["spec.rules[0].from[0].source"]
    assert "allowFrom" not in _service(result, "api")


def test_require_token_without_request_authentication_closes_the_service(tmp_path):
    no_ra = SERVICES.split("---\napiVersion: security.istio.io/v1\nkind: RequestAuthentication")[0]
    result = _import(tmp_path, no_ra + REQUIRE)
    assert "requestAuthentication" not in _service(result, "api")
    assert [f.field for f in result.losses] == ["spec.rules[0].from[0].source"]
