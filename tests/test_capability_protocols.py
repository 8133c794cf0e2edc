"""The protocol dimension of the capability matrix: one data set for `meshgen platforms` and the loss judge."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from meshgen.capabilities import Capability, Feature, Support, cell, protocol_note
from meshgen.cli import app
from meshgen.loader import load_intent
from meshgen.pipeline import plan
from tests.conftest import write_intent


def _run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_json_matrix_names_the_protocols_where_support_differs():
    result = _run("platforms", "-o", "json")
    assert result.exit_code == 0, result.output
    rows = {row["feature"]: row for row in json.loads(result.output)}
    # Cilium: GRPCRoute has no timeouts field; tcp and tls carry no requests anywhere.
    assert rows["timeout"]["cilium"] == "native"
    assert rows["timeout"]["cilium_protocols"] == "grpc, tcp, tls: not-expressible"
    assert rows["timeout"]["istio"] == "native"
    assert rows["timeout"]["istio_protocols"] == "tcp, tls: not-expressible"
    # Features that do not act on requests are the same on every protocol.
    assert rows["authz-identity"]["istio_protocols"] == ""
    # A cell already not expressible everywhere has nothing to add.
    assert rows["retries"]["cilium_protocols"] == ""


def test_text_matrix_prints_the_protocols_after_the_level():
    result = _run("platforms")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("│ timeout "))
    header = next(line for line in lines if "┃ feature" in line)
    cilium = [c.strip() for c in header.split("┃")].index("cilium")
    cell_text = " ".join(line.split("│")[cilium].strip() for line in lines[start : start + 2])
    assert cell_text == "native (grpc, tcp, tls: not-expressible)"


def test_cell_adds_the_tcp_rule_only_to_request_features():
    plain = Capability(Support.NATIVE, "x")
    assert cell(Feature.TIMEOUT, plain).on("tcp") is Support.NOT_EXPRESSIBLE
    assert cell(Feature.TIMEOUT, plain).on("udp") is Support.NOT_EXPRESSIBLE
    assert cell(Feature.TIMEOUT, plain).on("http2") is Support.NATIVE
    assert cell(Feature.AUTHZ_IDENTITY, plain).on("tcp") is Support.NATIVE
    assert protocol_note(cell(Feature.AUTHZ_L7, plain)) == "tcp, tls: not-expressible"
    own = Capability(Support.NATIVE, "x", protocols=(("tls", Support.APPROXIMATED, "y"),))
    assert protocol_note(cell(Feature.TIMEOUT, own)) == "tcp: not-expressible; tls: approximated"  # groups in PROTOCOLS order


SERVICE = """apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {{name: demo}}
spec:
  defaults: {{namespace: shop}}
  services:
    - name: db
      serviceAccount: db
      ports: [{{name: main, port: 5432, protocol: {protocol}}}]
      timeout: 2s
"""


def test_loss_judge_reads_the_same_cells(tmp_path):
    tcp = load_intent(write_intent(tmp_path, SERVICE.format(protocol="tcp")))
    findings = [f for f in plan(tcp, "istio").findings if f.feature is Feature.TIMEOUT]
    assert [(f.subject, f.support) for f in findings] == [("shop/db", Support.NOT_EXPRESSIBLE)]
    http = load_intent(write_intent(tmp_path, SERVICE.format(protocol="http"), name="http.yaml"))
    assert [f for f in plan(http, "istio").findings if f.feature is Feature.TIMEOUT] == []
    grpc = load_intent(write_intent(tmp_path, SERVICE.format(protocol="grpc"), name="grpc.yaml"))
    lost = [f for f in plan(grpc, "cilium").findings if f.feature is Feature.TIMEOUT]
    assert [f.support for f in lost] == [Support.NOT_EXPRESSIBLE]
