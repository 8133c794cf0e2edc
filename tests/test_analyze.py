"""Every analyzer: an intent that triggers it and one that does not, positions counted by hand.

Each intent is HEAD (lines 1-4) followed by the body, so the body's first line is line 5.
Columns are 1-based: a value's column is where its first character is.
"""

from __future__ import annotations

import pytest

from meshgen.analyze import analyze
from meshgen.loader import load

HEAD = "apiVersion: meshgen.dev/v1alpha1\nkind: MeshIntent\nmetadata: {name: t}\nspec:\n"


def found(tmp_path, body: str, code: str) -> list[str]:
    """``line:col severity`` of every reported finding with ``code``."""
    path = tmp_path / "intent.yaml"
    path.write_text(HEAD + body)
    analysis = analyze(load([path]))
    return [f"{f.where.line}:{f.where.column} {f.severity.value}" for f in analysis.findings if f.code == code]


def messages(tmp_path, body: str, code: str) -> list[str]:
    path = tmp_path / "intent.yaml"
    path.write_text(HEAD + body)
    return [f.finding.message for f in analyze(load([path])).findings if f.code == code]


# --- MG101 timeout chain ---------------------------------------------------------------------

CHAIN = """\
  defaults: {{namespace: t}}
  services:
    - name: web
      timeout: 1s
      ports: [{{name: http, port: 80}}]
    - name: api
      {api}
      ports: [{{name: http, port: 80}}]
      allowFrom: [{{service: web{scope}}}]
"""


def test_mg101_error_when_the_callee_can_take_twice_the_callers_timeout(tmp_path):
    assert found(tmp_path, CHAIN.format(api="timeout: 3s", scope=""), "MG101") == ["8:16 error"]
    text = messages(tmp_path, CHAIN.format(api="timeout: 3s", scope=""), "MG101")[0]
    assert "t/web (timeout 1s) gives up before t/api can answer: it may take 3s" in text


def test_mg101_warning_below_twice_and_counts_tries_times_per_try_timeout(tmp_path):
    # 1 + 2 attempts x 500ms = 1500ms: longer than 1s, shorter than 2s.
    body = CHAIN.format(api="retries: {attempts: 2, perTryTimeout: 500ms}", scope="")
    assert found(tmp_path, body, "MG101") == ["8:16 warning"]
    assert "3 tries x perTryTimeout 500ms" in messages(tmp_path, body, "MG101")[0]


def test_mg101_quiet_when_the_callee_answers_in_time(tmp_path):
    assert found(tmp_path, CHAIN.format(api="timeout: 800ms", scope=""), "MG101") == []


def test_mg101_only_counts_routes_the_caller_may_reach(tmp_path):
    api = "routes: [{match: {path: {prefix: /export}}, timeout: 30s}]"
    assert found(tmp_path, CHAIN.format(api=api, scope=", paths: [/cart/*]"), "MG101") == []
    assert found(tmp_path, CHAIN.format(api=api, scope=", paths: [/export/*]"), "MG101") == ["8:16 error"]


def test_mg101_gateway_route_timeout(tmp_path):
    body = """\
  defaults: {namespace: t}
  services:
    - name: web
      timeout: 5s
      ports: [{name: http, port: 80}]
  gateways:
    - name: gw
      listeners: [{port: 80, protocol: HTTP}]
      routes: [{service: web, timeout: 3s}]
"""
    # routes[0].timeout on line 13: "      routes: [{service: web, timeout: " is 39 characters.
    assert found(tmp_path, body, "MG101") == ["13:40 warning"]
    assert found(tmp_path, body.replace("timeout: 3s", "timeout: 6s"), "MG101") == []


# --- MG102 / MG103 retry amplification and budgets --------------------------------------------

STORM = """\
  defaults: {{namespace: t, retries: {{attempts: {n}}}{budget}}}
  services:
    - name: web
      ports: [{{name: http, port: 80}}]
      allowFrom: [{{gateway: gw}}]
    - name: api
      ports: [{{name: http, port: 80}}]
      allowFrom: [{{service: web}}]
    - name: db
      ports: [{{name: http, port: 80}}]
      allowFrom: [{{service: api}}]
  gateways:
    - name: gw
      listeners: [{{port: 80, protocol: HTTP}}]
      routes: [{{service: web}}]
"""


def test_mg102_the_issue_example_64_tries_is_one_warning_with_the_path(tmp_path):
    # The inherited retries are written at spec.defaults.retries: line 5, after "  defaults: {namespace: t, ".
    body = STORM.format(n=3, budget="")
    assert found(tmp_path, body, "MG102") == ["5:28 warning"]
    assert (
        "one request can become 64 tries at t/db: gateway t/gw -> t/web (x4) -> t/api (x4) -> t/db (x4)"
        in (messages(tmp_path, body, "MG102")[0])
    )


def test_mg102_error_above_100_and_quiet_at_or_below_10(tmp_path):
    assert found(tmp_path, STORM.format(n=4, budget=""), "MG102") == ["5:28 error"]  # 5 x 5 x 5 = 125
    assert found(tmp_path, STORM.format(n=1, budget=""), "MG102") == []  # 2 x 2 x 2 = 8


def test_mg102_survives_a_call_cycle(tmp_path):
    body = STORM.format(n=3, budget="").replace(
        "allowFrom: [{gateway: gw}]", "allowFrom: [{gateway: gw}, {service: db}]"
    )
    assert found(tmp_path, body, "MG102") == ["5:28 warning"]


def test_mg103_every_retrying_hop_of_an_amplifying_path_without_budget(tmp_path):
    assert found(tmp_path, STORM.format(n=3, budget=""), "MG103") == ["5:28 warning"] * 3
    assert found(tmp_path, STORM.format(n=3, budget=", retryBudget: {percent: 20}"), "MG103") == []


# --- MG104 - MG107 -----------------------------------------------------------------------------

ONE = """\
  defaults: {{namespace: t}}
  services:
    - name: api
      ports: [{{name: http, port: 80}}]
      {a}
      {b}
"""


def test_mg104_budget_and_per_try_timeout_without_retries(tmp_path):
    body = ONE.format(a="retryBudget: {percent: 20}", b="retries: {attempts: 0, perTryTimeout: 1s}")
    # retryBudget key at 9:7; perTryTimeout value at 10:45 ("      retries: {attempts: 0, perTryTimeout: ").
    assert found(tmp_path, body, "MG104") == ["9:7 warning", "10:45 warning"]
    body = ONE.format(a="retryBudget: {percent: 20}", b="retries: {attempts: 2, perTryTimeout: 1s}")
    assert found(tmp_path, body, "MG104") == []


def test_mg105_retrying_a_post_route(tmp_path):
    body = ONE.format(a="retries: {attempts: 2}", b="routes: [{match: {method: POST}, timeout: 2s}]")
    # routes[0] is the flow item after "      routes: [": column 16.
    assert found(tmp_path, body, "MG105") == ["10:16 warning"]
    body = ONE.format(
        a="retries: {attempts: 2, retryOn: [connect-failure]}", b="routes: [{match: {method: POST}, timeout: 2s}]"
    )
    assert found(tmp_path, body, "MG105") == []


def test_mg106_ejecting_every_endpoint(tmp_path):
    body = ONE.format(a="replicas: 3", b="circuitBreaker: {consecutiveErrors: 1, maxEjectionPercent: 100}")
    assert found(tmp_path, body, "MG106") == ["10:66 warning"]
    body = ONE.format(a="replicas: 3", b="circuitBreaker: {consecutiveErrors: 5, maxEjectionPercent: 100}")
    assert found(tmp_path, body, "MG106") == []


def test_mg107_outlier_detection_on_one_replica(tmp_path):
    body = ONE.format(a="replicas: 1", b="circuitBreaker: {consecutiveErrors: 5}")
    assert found(tmp_path, body, "MG107") == ["9:17 warning"]
    assert found(tmp_path, ONE.format(a="replicas: 2", b="circuitBreaker: {consecutiveErrors: 5}"), "MG107") == []


# --- MG2xx security ---------------------------------------------------------------------------

MESH = """\
  mesh: {mesh}
  defaults: {{namespace: t}}
  services:
    - name: api
      ports: [{{name: http, port: 80}}]
      allowFrom: [{{namespace: t}}]
"""


def test_mg201_and_mg202_weakening_settings(tmp_path):
    body = MESH.format(mesh="{mtls: permissive, defaultDeny: false}")
    assert found(tmp_path, body, "MG201") == ["5:16 warning"]
    assert found(tmp_path, body, "MG202") == ["5:41 warning"]
    assert found(tmp_path, MESH.format(mesh="{mtls: strict}"), "MG201") == []
    assert found(tmp_path, MESH.format(mesh="{mtls: strict}"), "MG202") == []


def test_mg203_permissive_under_default_deny(tmp_path):
    body = MESH.format(mesh="{mtls: permissive}")
    assert found(tmp_path, body, "MG203") == ["5:16 warning"]
    assert found(tmp_path, body, "MG201") == []  # the more precise code only
    assert found(tmp_path, MESH.format(mesh="{mtls: strict}"), "MG203") == []


LINT = """\
  defaults: {namespace: lint}
  services:
    - name: api
      serviceAccount: shared
      ports:
        - {name: http, port: 8080}
        - {name: statsd, port: 8125, protocol: udp}
      versions: [{name: v1, weight: 100}, {name: v2, weight: 0}]
      routes:
        - {name: beta, match: {path: {prefix: /beta}}, version: v2}
        - {name: beta-admin, match: {path: {prefix: /beta/admin}}, version: v1}
        - {name: all-v1, version: v1}
        - {name: never, match: {headers: {x-user: {exact: a}}}, version: v2}
    - name: worker
      serviceAccount: shared
      ports:
        - {name: http, port: 8080}
"""


def test_the_three_former_warnings_are_coded(tmp_path):
    assert found(tmp_path, LINT, "MG204") == ["19:23 warning"]
    assert found(tmp_path, LINT, "MG205") == ["11:48 warning"]
    assert found(tmp_path, LINT, "MG401") == ["15:11 warning", "17:11 warning"]


def test_the_three_former_warnings_quiet_on_a_clean_intent(tmp_path):
    clean = (
        LINT.replace(
            "serviceAccount: shared\n      ports:\n        - {name: http, port: 8080}\n",
            "ports:\n        - {name: http, port: 8080}\n",
        )
        .replace(", protocol: udp", "")
        .replace("        - {name: all-v1, version: v1}\n", "")
        .replace("/beta/admin", "/admin")
    )
    for code in ("MG204", "MG205", "MG401"):
        assert found(tmp_path, clean, code) == [], code


def test_mg206_nobody_may_call(tmp_path):
    body = ONE.format(a="replicas: 2", b="")
    assert found(tmp_path, body, "MG206") == ["7:13 info"]
    assert found(tmp_path, ONE.format(a="replicas: 2", b="allowFrom: [{namespace: t}]"), "MG206") == []


def test_mg207_namespace_wide_allow_hides_narrow_entries(tmp_path):
    body = """\
  defaults: {namespace: t}
  services:
    - name: api
      ports: [{name: http, port: 80}]
      allowFrom:
        - namespace: t
        - {service: web, methods: [GET]}
    - name: web
      ports: [{name: http, port: 80}]
"""
    assert found(tmp_path, body, "MG207") == ["10:11 warning"]
    assert found(tmp_path, body.replace("- namespace: t", "- namespace: other"), "MG207") == []


# --- MG3xx operations -------------------------------------------------------------------------

OPS = """\
  platform: {platform}
  mesh: {mesh}
  defaults: {{namespace: t}}
  services:
    - name: api
      ports: [{{name: http, port: 80}}]
      allowFrom: [{{namespace: t}}]
"""


def test_mg301_single_control_plane_replica(tmp_path):
    assert found(tmp_path, OPS.format(platform="istio", mesh="{controlPlane: {replicas: 1}}"), "MG301") == [
        "6:35 warning"
    ]
    assert found(tmp_path, OPS.format(platform="istio", mesh="{controlPlane: {replicas: 2}}"), "MG301") == []


def test_mg302_linkerd_mesh_ca_is_never_rotated(tmp_path):
    assert found(tmp_path, OPS.format(platform="linkerd", mesh="{ca: {type: mesh}}"), "MG302") == ["6:21 warning"]
    assert found(tmp_path, OPS.format(platform="istio", mesh="{ca: {type: mesh}}"), "MG302") == []
    assert found(tmp_path, OPS.format(platform="linkerd", mesh="{ca: {type: cert-manager}}"), "MG302") == []


def test_mg303_certificates_outliving_their_issuer(tmp_path):
    mesh = "{ca: {type: cert-manager, certLifetime: 100h, renewBefore: 50h}}"
    # certLifetime value at 6:49; issuerLifetime is not written, so its finding points at the "ca" key (6:10).
    assert found(tmp_path, OPS.format(platform="istio", mesh=mesh), "MG303") == ["6:10 warning", "6:49 warning"]
    assert found(tmp_path, OPS.format(platform="istio", mesh="{ca: {type: cert-manager}}"), "MG303") == []


# --- MG4xx routing ----------------------------------------------------------------------------


def test_mg402_weight_zero_version_nothing_reaches(tmp_path):
    body = ONE.format(a="replicas: 2", b="versions: [{name: v1, weight: 100}, {name: v2, weight: 0}]")
    assert found(tmp_path, body, "MG402") == ["10:62 warning"]
    routed = body + "      routes: [{match: {headers: {x-canary: {exact: on}}}, version: v2}]\n"
    assert found(tmp_path, routed, "MG402") == []


def test_mg403_version_labels_select_another_versions_pods(tmp_path):
    body = """\
  defaults: {namespace: t}
  services:
    - name: api
      ports: [{name: http, port: 80}]
      versions:
        - {name: v1, weight: 100, labels: {}}
        - {name: v2, weight: 0}
      routes: [{match: {headers: {x-canary: {exact: on}}}, version: v2}]
"""
    assert found(tmp_path, body, "MG403") == ["10:35 warning"]
    assert "routes to it reach both" not in messages(tmp_path, body, "MG403")[0]
    assert found(tmp_path, body.replace(", labels: {}", ""), "MG403") == []


def test_mg404_request_settings_on_a_tcp_service(tmp_path):
    body = """\
  defaults: {namespace: t}
  services:
    - name: db
      ports: [{name: pg, port: 5432, protocol: tcp}]
      timeout: 5s
"""
    assert found(tmp_path, body, "MG404") == ["9:16 warning"]
    inherited = body.replace("  defaults: {namespace: t}", "  defaults: {namespace: t, timeout: 5s}").replace(
        "      timeout: 5s\n", ""
    )
    assert found(tmp_path, inherited, "MG404") == []


@pytest.mark.parametrize("code", ["MG101", "MG102", "MG103"])
def test_the_issue_intent_is_no_longer_silent(tmp_path, code):
    """gateway -> web -> api -> db, each retrying 3 times, inner timeouts longer than outer ones."""
    body = (
        STORM.format(n=3, budget="")
        .replace("    - name: api\n", "    - name: api\n      timeout: 4s\n")
        .replace("    - name: web\n", "    - name: web\n      timeout: 2s\n")
        .replace("    - name: db\n", "    - name: db\n      timeout: 8s\n")
    )
    assert found(tmp_path, body, code)
