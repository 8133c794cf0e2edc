"""Broken intents give every problem at once, each as `file:line:col: field.path: message`."""

from __future__ import annotations

import pytest

from meshgen.errors import IntentError
from meshgen.intent.types import Duration
from meshgen.loader import load_intent
from tests.conftest import MINIMAL, write_intent


def problems(tmp_path, text: str) -> list[str]:
    path = write_intent(tmp_path, text)
    with pytest.raises(IntentError) as info:
        load_intent(path)
    return [str(p).replace(str(path), "intent.yaml") for p in info.value.problems]


def test_minimal_intent_loads_with_defaults(tmp_path):
    intent = load_intent(write_intent(tmp_path, MINIMAL))
    api = intent.service("api")
    assert api.namespace == "shop"
    assert api.identity == "api"
    assert api.pod_selector == {"app": "api"}
    assert intent.spec.mesh.mtls == "strict"
    assert intent.spec.mesh.default_deny is True
    assert api.ports[0].pod_port == 8080


def test_yaml_syntax_error_has_position(tmp_path):
    text = MINIMAL.replace("    - name: web\n", "    - name: web\n   bad: [\n")
    (msg,) = problems(tmp_path, text)
    # line 15 is "   bad: [": the mapping starts at column 4, inside the sequence item above.
    # Plain words first (an indentation mistake), the parser's own text after, in parentheses.
    assert msg.startswith("intent.yaml:15:4: invalid YAML: this line is not indented like the lines it belongs with")
    assert msg.endswith("(parser: while parsing a block mapping expected <block end>, but found '<block mapping start>')")


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("a:\n  b: 1\n   c: 2\n", "3:5", "a 'key: value' where none can start"),
        ("a:\n\tb: 1\n", "2:1", "a tab character: YAML indents with spaces only"),
        ("a: [1, 2\nb: 3\n", "2:2", "a '[' list that is never closed with ']'"),
    ],
)
def test_yaml_syntax_errors_in_plain_words(tmp_path, text, position, words):
    (msg,) = problems(tmp_path, text)
    assert msg.startswith(f"intent.yaml:{position}: invalid YAML: {words}"), msg


def test_duplicate_key_is_an_error(tmp_path):
    text = MINIMAL.replace("  name: shop\n", "  name: shop\n  name: shop2\n")
    (msg,) = problems(tmp_path, text)
    assert msg.startswith("intent.yaml:5:3: invalid YAML:")
    assert "duplicate key 'name'" in msg


def test_type_error_points_at_value(tmp_path):
    text = MINIMAL.replace("{name: http, port: 8080}", "{name: http, port: eighty}")
    assert problems(tmp_path, text) == [
        "intent.yaml:11:30: spec.services[0].ports[0].port: input should be a valid integer, unable to parse string as an integer"
    ]


def test_unknown_key_lists_expected_keys(tmp_path):
    text = MINIMAL.replace("    - name: web\n", "    - name: web\n      timeot: 2s\n")
    (msg,) = problems(tmp_path, text)
    assert msg.startswith(
        "intent.yaml:15:7: spec.services[1].timeot: unknown key 'timeot' (did you mean 'timeout'?); "
        "expected one of: allowFrom,"
    )


def test_misspelt_choice_gets_a_suggestion(tmp_path):
    text = MINIMAL.replace("spec:\n", "spec:\n  platform: istoi\n")
    (msg,) = problems(tmp_path, text)
    assert msg == (
        "intent.yaml:6:13: spec.platform: unknown platform 'istoi' (did you mean 'istio'?); expected one of: istio, "
        "istio-ambient, linkerd, cilium, consul, kubernetes"
    )
    text = MINIMAL.replace("        - {name: http, port: 8080}\n", "        - {name: http, port: 8080, protocol: htp}\n")
    (msg,) = problems(tmp_path, text)
    assert "(did you mean 'http'?)" in msg, msg


def test_unknown_key_far_from_any_gets_no_suggestion(tmp_path):
    text = MINIMAL.replace("    - name: web\n", "    - name: web\n      zzzz: 2s\n")
    (msg,) = problems(tmp_path, text)
    assert "unknown key 'zzzz'; expected one of:" in msg
    assert "did you mean" not in msg


def test_yaml_12_booleans_are_strings(tmp_path):
    # `on` is a boolean in YAML 1.1 (PyYAML's default) but a string in YAML 1.2: a label value stays "on".
    text = MINIMAL.replace("    - name: web\n", "    - name: web\n      selector: {app: web, tier: on}\n")
    intent = load_intent(write_intent(tmp_path, text))
    assert intent.service("web").pod_selector == {"app": "web", "tier": "on"}


def test_all_cross_field_errors_at_once(tmp_path):
    text = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: shop}
spec:
  defaults: {namespace: shop}
  services:
    - name: api
      ports:
        - {name: http, port: 8080}
        - {name: db, port: 5432, protocol: tcp}
      versions:
        - {name: v1, weight: 80}
        - {name: v2, weight: 30}
      routes:
        - {match: {headers: {x-canary: {exact: "1"}}}, version: v3}
      timeout: 1s
      retries: {attempts: 2, perTryTimeout: 2s}
      allowFrom:
        - service: nope
        - service: api
          methods: [GET]
        - gateway: missing
"""
    assert problems(tmp_path, text) == [
        "intent.yaml:11:7: spec.services[0].versions: version weights must sum to 100, got 110 (v1=80, v2=30)",
        "intent.yaml:17:45: spec.services[0].retries.perTryTimeout: perTryTimeout 2s is longer than the request timeout 1s "
        "at spec.services[0]: no retry could ever start; make perTryTimeout <= timeout",
        "intent.yaml:15:65: spec.services[0].routes[0].version: unknown version 'v3'; expected one of: v1, v2",
        "intent.yaml:19:20: spec.services[0].allowFrom[0].service: unknown service 'nope'; expected one of: shop/api",
        "intent.yaml:21:11: spec.services[0].allowFrom[1].methods: methods, paths and grpc only apply to http, http2 or "
        "grpc ports, but this rule also covers db (tcp); scope it with ports: [...] (an L7 rule on a TCP port matches "
        "nothing in Istio and would deny it)",
        "intent.yaml:22:20: spec.services[0].allowFrom[2].gateway: unknown gateway 'missing'; expected one of: none defined",
    ]


def test_header_names_must_be_lower_case(tmp_path):
    text = MINIMAL.replace(
        "        - {name: http, port: 8080}\n",
        "        - {name: http, port: 8080}\n      routes:\n        - {match: {headers: {X-User: {exact: a}}}, timeout: 1s}\n",
    )
    (msg,) = problems(tmp_path, text)
    assert msg.startswith("intent.yaml:13:")
    assert "spec.services[0].routes[0].match.headers.X-User" in msg
    assert "must be lower case" in msg


def test_lifetimes_must_be_ordered(tmp_path):
    text = MINIMAL.replace(
        "spec:\n", "spec:\n  mesh:\n    ca: {type: vault, certLifetime: 48h, issuerLifetime: 24h, rootLifetime: 12h}\n"
    )
    assert problems(tmp_path, text) == [
        "intent.yaml:7:37: spec.mesh.ca.certLifetime: certLifetime 48h must be shorter than issuerLifetime 24h",
        "intent.yaml:7:58: spec.mesh.ca.issuerLifetime: issuerLifetime 24h must be shorter than rootLifetime 12h",
        "intent.yaml:7:5: spec.mesh.ca.issuerRef: ca.type vault needs issuerRef: the cert-manager Vault issuer that signs the mesh CA",
    ]


def test_missing_required_key(tmp_path):
    text = MINIMAL.replace("      ports:\n        - {name: http, port: 80, targetPort: 8080}\n", "")
    assert problems(tmp_path, text) == ["intent.yaml:14:7: spec.services[1].ports: required key 'ports' is missing"]


def test_unreadable_file(tmp_path):
    with pytest.raises(IntentError) as info:
        load_intent(tmp_path / "missing.yaml")
    assert str(info.value) == f"{tmp_path / 'missing.yaml'}: no such file or directory"
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "ms", "canonical"),
    [("500ms", 500, "500ms"), ("2s", 2000, "2s"), ("1m30s", 90000, "1m30s"), ("1.5s", 1500, "1500ms"), ("24h", 86400000, "24h")],
)
def test_durations(text, ms, canonical):
    d = Duration.parse(text)
    assert d.ms == ms
    assert str(d) == canonical


@pytest.mark.parametrize("bad", ["5", "1.5", "10us", "1 s", "", "1.0005s"])
def test_bad_durations(bad):
    with pytest.raises(ValueError):
        Duration.parse(bad)
