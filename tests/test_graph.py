"""meshgen graph: the allowed-call graph as Mermaid, DOT (accepted by Graphviz's dot) and SVG.

Expected lines are written by hand from the intent below, not produced by the code under test.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from meshgen.callgraph import mermaid
from meshgen.cli import app
from tests.conftest import EXAMPLES

INTENT = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: shop}
spec:
  defaults: {namespace: web}
  services:
    - name: front
      ports: [{name: http, port: 80}]
      allowFrom: [{gateway: edge}]
    - name: api
      namespace: core
      replicas: 3
      ports: [{name: http, port: 8080}]
      versions: [{name: v1, weight: 90}, {name: v2, weight: 10}]
      routes:
        - {name: beta, match: {headers: {x-beta: {exact: "1"}}}, version: v2, mirror: {version: v2, percent: 5}}
      allowFrom:
        - {service: front, methods: [GET], paths: [/api/*]}
        - {namespace: monitoring, ports: [http]}
    - name: db
      namespace: core
      ports: [{name: tcp, port: 5432, protocol: tcp}]
      allowFrom: [{service: api}]
  gateways:
    - name: edge
      listeners: [{port: 80, protocol: HTTP}]
      routes:
        - {match: {path: {prefix: /}}, service: front}
"""


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def intent(tmp_path):
    path = tmp_path / "intent.yaml"
    path.write_text(INTENT)
    return str(path)


def test_mermaid_groups_services_by_namespace_and_labels_allowfrom_edges(intent):
    result = run("graph", intent)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart LR"
    # Namespaces in first-seen order: web (front, then gateway edge), core (api, db).
    assert '  subgraph ns0["namespace web"]' in lines
    assert '    s0["front<br/>http:80"]' in lines
    assert '    g0{{"gateway edge<br/>HTTP 80"}}' in lines
    assert '  subgraph ns1["namespace core"]' in lines
    assert ('    s1["api<br/>http:8080<br/>3 replicas<br/>v1 90% / v2 10%<br/>beta: header x-beta → v2'
            '<br/>beta: mirror 5% → v2"]') in lines
    assert '  x0(["any workload of namespace monitoring"])' in lines
    edges = [line.strip() for line in lines if "->" in line and "→" not in line]
    assert edges == [
        "g0 --> s0",
        's0 -->|"GET<br/>/api/*"| s1',
        'x0 -->|"ports http"| s1',
        "s1 --> s2",
        'g0 -.->|"routes: /*"| s0',
    ]
    assert not any(line.strip().startswith(("classDef", "linkStyle")) for line in lines)  # no platform: no colour


def test_platform_colours_what_it_approximates_or_loses(intent):
    # Linkerd's column: authz-l7 approximated (HTTPRoute-based AuthorizationPolicy), retries lost
    # without a route budget; kubernetes (no mesh) cannot keep L7 authorization at all.
    linkerd = run("graph", intent, "--platform", "linkerd").stdout.splitlines()
    assert "  linkStyle 1 stroke:#b58100,stroke-width:2px" in linkerd  # front -> api with GET /api/*
    assert "  classDef approximated fill:#fff3cd,stroke:#b58100,color:#000" in linkerd
    kubernetes = run("graph", intent, "--platform", "kubernetes").stdout
    assert "LOST authz-l7" in kubernetes
    assert "  linkStyle 1 stroke:#b00020,stroke-width:2px" in kubernetes.splitlines()


def test_labels_cannot_break_out_of_mermaid_quotes():
    assert mermaid.text(['a"b#c<d>&e', "x"]) == "a#34;b#35;c#60;d#62;#38;e<br/>x"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_dot_output_is_accepted_by_graphviz(example):
    # CI (.ci/run) installs Debian's graphviz: the test requires dot rather than skipping.
    dot = shutil.which("dot")
    assert dot, "Graphviz's dot is required (apt-get install graphviz)"
    for platform in (None, "linkerd"):
        args = ["graph", str(example), "--format", "dot"] + (["--platform", platform] if platform else [])
        result = run(*args)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith("digraph ")
        checked = subprocess.run([dot, "-Tsvg"], input=result.stdout.encode(), capture_output=True, check=False)
        assert checked.returncode == 0, checked.stderr.decode()
        assert b"<svg" in checked.stdout


def test_svg_is_drawn_by_dot(intent):
    assert shutil.which("dot"), "Graphviz's dot is required (apt-get install graphviz)"
    result = run("graph", intent, "-o", "svg")
    assert result.exit_code == 0, result.stderr
    assert "<svg" in result.stdout and "gateway edge" in result.stdout


def test_svg_without_dot_is_a_usage_error_with_no_stdout(intent, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = run("graph", intent, "--format", "svg")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "needs Graphviz's dot command" in result.stderr


def test_unknown_format_and_platform_are_usage_errors(intent):
    assert run("graph", intent, "--format", "png").exit_code == 2
    assert run("graph", intent, "--platform", "istoi").exit_code == 2
