"""One test per capability row and platform: a feature a platform does not express natively is
reported, and a feature it cannot express at all makes `meshgen render` refuse (exit 3)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from meshgen import load_intent, render
from meshgen.capabilities import FEATURE_INTENT, Feature, Support
from meshgen.cli import app
from meshgen.platforms import PLATFORMS, matrix, names
from tests.conftest import write_intent

BASE = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {{name: cap}}
spec:
{mesh}
  defaults: {{namespace: cap}}
  services:
    - name: api
      ports:
        - {{name: http, port: 8080}}
{api}
    - name: web
      ports:
        - {{name: http, port: 8080}}
{web}
{rest}
"""

#: For each feature, the smallest intent that uses it: (mesh, api service, web service, rest of spec).
TRIGGERS: dict[Feature, tuple[str, str, str, str]] = {
    Feature.MTLS_STRICT: ("  mesh: {mtls: strict}", "", "", ""),
    Feature.MTLS_PERMISSIVE: ("  mesh: {mtls: permissive, defaultDeny: false}", "", "", ""),
    Feature.CANARY_WEIGHTS: ("", "      versions: [{name: v1, weight: 90}, {name: v2, weight: 10}]", "", ""),
    Feature.REQUEST_ROUTING: (
        "",
        "      versions: [{name: v1, weight: 100}, {name: v2, weight: 0}]\n"
        "      routes: [{match: {headers: {x-canary: {prefix: yes}}}, version: v2}]",
        "",
        "",
    ),
    Feature.MIRRORING: (
        "",
        "      versions: [{name: v1, weight: 100}, {name: v2, weight: 0}]\n      routes: [{mirror: {version: v2, percent: 5}}]",
        "",
        "",
    ),
    Feature.RETRIES: ("", "      retries: {attempts: 3, retryOn: [5xx, connect-failure]}", "", ""),
    Feature.PER_TRY_TIMEOUT: ("", "      timeout: 2s\n      retries: {attempts: 2, perTryTimeout: 500ms}", "", ""),
    Feature.RETRY_BUDGET: (
        "",
        "      retries: {attempts: 2}\n      retryBudget: {percent: 20, minRetriesPerSecond: 5}",
        "",
        "",
    ),
    Feature.TIMEOUT: ("", "      timeout: 2s", "", ""),
    Feature.OUTLIER_DETECTION: ("", "      circuitBreaker: {consecutiveErrors: 5, baseEjectionTime: 30s}", "", ""),
    Feature.EJECTION_LIMITS: ("", "      circuitBreaker: {consecutiveErrors: 5, interval: 10s, maxEjectionPercent: 50}", "", ""),
    Feature.CONNECTION_POOL: ("", "      circuitBreaker: {maxConnections: 100, maxPendingRequests: 10}", "", ""),
    Feature.RATE_LIMIT: ("", "      replicas: 2\n      rateLimit: {requestsPerSecond: 100}", "", ""),
    Feature.RATE_LIMIT_BURST: ("", "      rateLimit: {requestsPerSecond: 100, burst: 200}", "", ""),
    Feature.FAULT_DELAY: ("", "      routes: [{fault: {delay: {fixedDelay: 2s, percent: 10}}}]", "", ""),
    Feature.FAULT_ABORT: ("", "      routes: [{fault: {abort: {httpStatus: 503, percent: 10}}}]", "", ""),
    Feature.AUTHZ_IDENTITY: ("", "      allowFrom: [{service: web}]", "", ""),
    Feature.AUTHZ_L7: ("", "      allowFrom: [{service: web, methods: [GET], paths: [/api/*]}]", "", ""),
    Feature.AUTHZ_DEFAULT_DENY: ("  mesh: {defaultDeny: true}", "      allowFrom: [{service: web}]", "", ""),
    Feature.AUTHZ_DENY_RULES: ("", "      allowFrom: [{namespace: cap}]\n      denyFrom: [{service: web, methods: [DELETE]}]", "", ""),
    Feature.AUTHZ_BY_VERSION: (
        "",
        "      allowFrom: [{service: web, versions: [v2]}]",
        "      versions: [{name: v1, weight: 100}, {name: v2, weight: 0}]",
        "",
    ),
    Feature.AUTHZ_BY_SELECTOR: ("", "      allowFrom: [{selector: {app: web}}]", "", ""),
    Feature.AUTHZ_AUDIT: ("  mesh: {enforcement: audit}", "      allowFrom: [{service: web}]", "", ""),
    Feature.REQUEST_AUTHENTICATION: (
        "",
        "      requestAuthentication: {issuer: https://idp.example.com, jwksUri: https://idp.example.com/jwks}",
        "",
        "",
    ),
    Feature.EGRESS_ALLOW_LIST: ("  mesh: {egressDefaultDeny: true}", "", "", "  egress: [{host: api.stripe.com}]"),
    Feature.GATEWAY_HTTP: (
        "",
        "",
        "",
        "  gateways: [{name: edge, listeners: [{port: 80, protocol: HTTP}], routes: [{service: api}]}]",
    ),
    Feature.GATEWAY_L4: (
        "",
        "",
        "",
        "  gateways: [{name: edge, className: example, listeners: [{port: 9000, protocol: TCP}], routes: [{service: api}]}]",
    ),
    Feature.GATEWAY_FILTERS: (
        "",
        "",
        "",
        "  gateways: [{name: edge, className: example, listeners: [{port: 80, protocol: HTTP}],"
        " routes: [{service: api, rewrite: {pathPrefix: /v2}}]}]",
    ),
    Feature.CA_MESH: ("  mesh: {ca: {type: mesh}}", "", "", ""),
    Feature.CA_CERT_MANAGER: ("  mesh: {ca: {type: cert-manager}}", "", "", ""),
    Feature.CA_VAULT: ("  mesh: {ca: {type: vault, issuerRef: {kind: ClusterIssuer, name: vault}}}", "", "", ""),
    Feature.CA_SPIRE: ("  mesh: {ca: {type: spire}}", "", "", ""),
    Feature.CONTROL_PLANE_HA: ("  mesh: {controlPlane: {replicas: 3}}", "", "", ""),
    Feature.PROXY_RESOURCES: ("  mesh: {proxy: {resources: {requests: {cpu: 100m, memory: 128Mi}}}}", "", "", ""),
    Feature.TRACING: ("", "", "", "  telemetry: {tracing: {samplingPercent: 5, endpoint: otel-collector.observability:4317}}"),
    Feature.ACCESS_LOGS: ("", "", "", "  telemetry: {accessLogs: {enabled: true, format: json}}"),
    Feature.METRICS: ("", "", "", "  telemetry: {metrics: true}"),
    Feature.ALERTS: ("", "", "", "  telemetry: {alerts: {enabled: true, errorRatePercent: 2}}"),
    Feature.ROLLOUT_FLAGGER: ("", "      rollout: {steps: [{weight: 10}, {weight: 50}]}", "", ""),
    Feature.ROLLOUT_ARGO: ("", "      rollout: {controller: argo-rollouts, steps: [{weight: 10}, {weight: 50}]}", "", ""),
}


def cases():
    for feature in Feature:
        for platform in sorted(PLATFORMS):
            yield pytest.param(feature, platform, id=f"{feature.value}-{platform}")


def intent_text(feature: Feature) -> str:
    mesh, api, web, rest = TRIGGERS[feature]
    return BASE.format(mesh=mesh, api=api, web=web, rest=rest)


def test_matrix_is_complete():
    table = matrix()
    for feature in Feature:
        assert list(table[feature]) == list(names()), feature
        assert FEATURE_INTENT[feature]
        for cap in table[feature].values():
            assert cap.how.strip(), feature


@pytest.mark.parametrize(("feature", "platform"), list(cases()))
def test_feature_is_rendered_or_reported(tmp_path, feature, platform):
    if feature not in TRIGGERS:
        pytest.fail(f"no trigger intent for {feature.value}: add one to TRIGGERS")
    path = write_intent(tmp_path, intent_text(feature))
    intent = load_intent(path)
    rendering = render(intent, platform, "intent.yaml")
    support = PLATFORMS[platform].capabilities[feature].support
    mine = [f for f in rendering.plan.findings if f.feature is feature]
    if support is Support.NATIVE:
        assert all(f.support is not Support.NOT_EXPRESSIBLE for f in mine), mine
        return
    assert mine, f"{platform} must report {feature.value} ({support.value})"
    assert {f.support for f in mine} <= {Support.APPROXIMATED, Support.NOT_EXPRESSIBLE}
    result = CliRunner().invoke(app, ["render", str(path), "--platform", platform])
    lost = any(f.support is Support.NOT_EXPRESSIBLE for f in rendering.plan.findings)
    assert result.exit_code == (3 if lost else 0), result.stderr
    assert feature.value in result.stderr
    if lost:
        assert result.stdout == ""
        allowed = CliRunner().invoke(app, ["render", str(path), "--platform", platform, "--allow-loss"])
        assert allowed.exit_code == 0
        assert allowed.stdout.startswith("---\n")
