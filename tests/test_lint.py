"""Warnings for intent that is valid but probably not what was meant (printed, never fatal)."""

from __future__ import annotations

from typer.testing import CliRunner

from meshgen.cli import app
from meshgen.loader import lint, load_intent
from tests.conftest import write_intent

TEXT = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: lint}
spec:
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


def test_lint_finds_shared_identity_udp_and_dead_routes(tmp_path):
    path = write_intent(tmp_path, TEXT)
    warnings = [str(p).replace(str(path), "intent.yaml") for p in lint(load_intent(path), TEXT, path)]
    assert warnings == [
        "intent.yaml:19:23: spec.services[1].serviceAccount: services api, worker share service account lint/shared: "
        "allow-lists cannot tell them apart",
        "intent.yaml:11:48: spec.services[0].ports[1].protocol: UDP port statsd is not secured by sidecar meshes "
        "(no mTLS, no authorization)",
        "intent.yaml:15:11: spec.services[0].routes[1]: route can never match: routes[0] matches every request it would",
        "intent.yaml:17:11: spec.services[0].routes[3]: route can never match: routes[2] has no match and takes every "
        "request first",
    ]


def test_render_prints_warnings_and_succeeds(tmp_path):
    path = write_intent(tmp_path, TEXT)
    result = CliRunner().invoke(app, ["render", str(path)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("warning: ") == 4
    assert "route can never match" in result.stderr
