"""Reading hostile intents (issue 18 item 2): aliases and nesting are bounded, and the error path
(ruamel.yaml re-reading a file for positions) never ends in a traceback.

Each case ran for minutes, died with MemoryError, or printed a traceback before.
"""

from __future__ import annotations

import pytest

from meshgen.loader import MAX_ALIAS_EXPANSION, MAX_DEPTH
from tests.conftest import write_intent
from tests.workflow_helpers import run

HEAD = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: x}
spec:
"""
SERVICE = """\
  services:
    - name: a
      ports: [{name: http, port: 80}]
"""


def _validate(tmp_path, text: str):
    result = run("validate", write_intent(tmp_path, text))
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return result


def test_alias_bomb_of_the_issue_is_refused_quickly(tmp_path):
    # 1,000 aliased services, each with 1,000 aliased allowFrom entries: about 14 KB of text.
    text = (
        HEAD
        + "  defaults: {namespace: x}\n"
        + "  x-peers: &peer {service: a}\n"
        + "  x-allow: &allow [" + ", ".join(["*peer"] * 1000) + "]\n"
        + "  x-svc: &svc {name: a, ports: [{name: http, port: 80}], allowFrom: *allow}\n"
        + "  services: [" + ", ".join(["*svc"] * 1000) + "]\n"
    )
    result = _validate(tmp_path, text)
    assert result.exit_code == 1
    assert "YAML aliases expand the document past" in result.stderr
    assert f"{MAX_ALIAS_EXPANSION:,}" in result.stderr


def test_billion_laughs_is_refused(tmp_path):
    lines = [HEAD + SERVICE.rstrip("\n"), "      allowFrom:", "        - &p0 {service: a}"]
    lines += [f"        - &p{i} [" + ", ".join([f"*p{i - 1}"] * 10) + "]" for i in range(1, 9)]
    result = _validate(tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 1
    assert "YAML aliases expand the document" in result.stderr


def test_small_anchors_for_shared_settings_still_work(tmp_path):
    text = HEAD + """\
  defaults: {namespace: x}
  services:
    - name: a
      ports: [{name: http, port: 80}]
      retries: &retries {attempts: 3, perTryTimeout: 1s}
    - name: b
      ports: [{name: http, port: 80}]
      retries: *retries
"""
    result = _validate(tmp_path, text)
    assert result.exit_code == 0, result.stderr


def test_recursive_alias_is_refused(tmp_path):
    result = _validate(tmp_path, HEAD + "  services: &s [*s]\n")
    assert result.exit_code == 1
    assert "refers to a node that contains it" in result.stderr


def _nested(levels: int, flow: str = "[]") -> str:
    # ``levels`` lists or mappings nested under spec.services[0].x (which sits 4 levels down).
    inner = flow[0] * levels + flow[1] * levels if flow == "[]" else "{a: " * levels + "1" + "}" * levels
    return HEAD + SERVICE + f"      x: {inner}\n"


@pytest.mark.parametrize("levels", [400, 1000, 100_000])
@pytest.mark.parametrize("flow", ["[]", "{}"])
def test_deep_nesting_is_refused_without_traceback(tmp_path, levels, flow):
    result = _validate(tmp_path, _nested(levels, flow))
    assert result.exit_code == 1
    assert "nested" in result.stderr and str(MAX_DEPTH) in result.stderr


def test_depth_limit_is_exact(tmp_path):
    # The document root is level 1, spec 2, services 3, the service 4, x 5.
    ok = _validate(tmp_path, _nested(MAX_DEPTH - 4))
    assert "nested deeper" not in ok.stderr and "unknown key 'x'" in ok.stderr
    too_deep = _validate(tmp_path, _nested(MAX_DEPTH - 3))
    assert "nested deeper" in too_deep.stderr


def test_positions_pass_failure_falls_back_without_positions(tmp_path):
    # libyaml reads a tab after a plain value; ruamel.yaml (the positions pass) refuses it.
    text = HEAD + "  services:\n    - name: a\t\n      ports: [{name: http, port: 80}]\n      bogus: 1\n"
    result = _validate(tmp_path, text)
    assert result.exit_code == 1
    assert "spec.services[0].bogus: unknown key 'bogus'" in result.stderr
    assert "line numbers unavailable" in result.stderr


@pytest.mark.parametrize(
    "text, expected",
    [
        (HEAD + "  ? [a]\n  : 1\n", "mapping key must be a scalar"),
        (HEAD + "  services: !!set {a, b}\n", "tag:yaml.org,2002:set is not allowed"),
        (HEAD + "  x: !!binary aGVsbG8=\n", "tag:yaml.org,2002:binary is not allowed"),
    ],
)
def test_odd_yaml_is_an_error_not_a_traceback(tmp_path, text, expected):
    result = _validate(tmp_path, text)
    assert result.exit_code == 1
    assert expected in result.stderr
