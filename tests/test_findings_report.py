"""Severity in the findings report, grouping on large intents, and --report-file (issue 12)."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from meshgen.capabilities import Feature, Finding, Severity, Support
from meshgen.cli import app
from meshgen.report import findings_document, findings_text
from tests.conftest import write_intent

A, X = Support.APPROXIMATED, Support.NOT_EXPRESSIBLE

LINKERD_MESH_CA = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {name: demo}
spec:
  mesh: {ca: {type: mesh, caNamespace: pki}}
  defaults: {namespace: shop}
  services:
    - name: api
      ports: [{name: http, port: 8080, protocol: http}]
      retryBudget: {percent: 20, minRetriesPerSecond: 10}
"""


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_severity_defaults_from_support_and_a_loss_is_never_below_error():
    assert Finding("s", Feature.TIMEOUT, A, "d").severity is Severity.WARNING
    assert Finding("s", Feature.TIMEOUT, X, "d").severity is Severity.ERROR
    assert Finding("s", Feature.TIMEOUT, X, "d", Severity.INFO).severity is Severity.ERROR
    assert Finding("s", Feature.TIMEOUT, X, "d", Severity.CRITICAL).severity is Severity.CRITICAL
    # Severity is not identity: the same finding de-duplicates whatever its severity.
    assert Finding("s", Feature.TIMEOUT, A, "d", Severity.CRITICAL) == Finding("s", Feature.TIMEOUT, A, "d")


def test_critical_findings_come_first_and_are_marked():
    rows = [
        Finding("shop/a", Feature.RETRY_BUDGET, A, "no retries", Severity.INFO),
        Finding("shop/a", Feature.TIMEOUT, A, "approx"),
        Finding("mesh", Feature.CA_MESH, A, "anchor expires", Severity.CRITICAL),
        Finding("shop/b", Feature.RATE_LIMIT, X, "lost"),
    ]
    lines = findings_text("linkerd", rows).splitlines()
    assert lines[0] == "linkerd: 4 places where the intent is approximated or lost (1 critical: an outage waiting to happen):"
    assert [line.split()[0] for line in lines[1:]] == ["CRITICAL", "LOST", "approximated", "info"]
    assert lines[1] == "  CRITICAL     mesh                         ca-mesh: anchor expires"


def test_more_than_twenty_findings_are_grouped_per_feature():
    rows = [Finding(f"shop/s{i:02}", Feature.RETRY_BUDGET, X, f"s{i:02} has no budget") for i in range(21)]
    rows += [Finding("shop/s00", Feature.TIMEOUT, A, "approx timeout")]
    rows += [Finding("mesh", Feature.CA_MESH, A, "anchor expires", Severity.CRITICAL)]
    accepted = {rows[0]: "--allow-loss accepts every loss"}
    text = findings_text("kubernetes", rows, accepted)
    assert text.splitlines() == [
        "kubernetes: 23 places where the intent is approximated or lost (1 critical: an outage waiting to happen), "
        "grouped per feature (--report json lists each):",
        "  CRITICAL     mesh                         ca-mesh: anchor expires",
        "  accepted     retry-budget (1): shop/s00; first: s00 has no budget [--allow-loss accepts every loss]",
        "  LOST         retry-budget (20): shop/s01, shop/s02, shop/s03 and 17 more; first: s01 has no budget",
        "  approximated timeout (1): shop/s00; first: approx timeout",
    ]


def test_twenty_findings_are_still_one_a_line():
    rows = [Finding(f"shop/s{i:02}", Feature.RETRY_BUDGET, X, "x") for i in range(20)]
    assert len(findings_text("istio", rows).splitlines()) == 21


def test_json_document_carries_every_finding_with_its_severity():
    rows = [Finding("shop/a", Feature.TIMEOUT, A, "approx"), Finding("mesh", Feature.CA_MESH, A, "expires", Severity.CRITICAL)]
    doc = findings_document("linkerd", rows)
    assert doc["critical"] == 1 and doc["lost"] == 0
    assert [(r["subject"], r["severity"]) for r in doc["findings"]] == [("mesh", "critical"), ("shop/a", "warning")]


def test_report_file_parses_whole_while_stdout_carries_the_manifests(tmp_path):
    path = write_intent(tmp_path, LINKERD_MESH_CA)
    report = tmp_path / "findings.json"
    result = run("render", str(path), "-p", "linkerd", "--report-file", str(report))
    assert result.exit_code == 0, result.stderr
    assert {d["kind"] for d in yaml.safe_load_all(result.stdout)} >= {"Namespace", "Server"}
    doc = json.loads(report.read_text())
    got = {(f["feature"], f["severity"]) for f in doc["findings"]}
    # Hand-listed from the intent: the CLI-made anchor (critical), caNamespace and the budget with no effect (info).
    assert ("ca-mesh", "critical") in got
    assert ("retry-budget", "info") in got
    assert sum(1 for f in doc["findings"] if f["severity"] == "info") == 2
    assert all(set(f) >= {"subject", "feature", "support", "severity", "detail"} for f in doc["findings"])
    assert doc["findings"][0]["severity"] == "critical"
    assert doc["platform"] == "linkerd" and doc["lost"] == 0
    # The text report still goes to stderr: the file is in addition.
    assert "CRITICAL     mesh" in result.stderr


def test_report_file_is_written_when_the_gate_refuses(tmp_path):
    text = LINKERD_MESH_CA.replace("{ca: {type: mesh, caNamespace: pki}}", "{mtls: permissive, defaultDeny: true}")
    report = tmp_path / "findings.json"
    result = run("render", str(write_intent(tmp_path, text)), "-p", "linkerd", "--report-file", str(report))
    assert result.exit_code == 3
    assert result.stdout == ""
    doc = json.loads(report.read_text())
    assert doc["lost"] == 1
    [lost] = [f for f in doc["findings"] if f["support"] == "not-expressible"]
    assert (lost["feature"], lost["severity"]) == ("mtls-permissive", "error")
    assert "MG203" in {a["code"] for a in doc["analyzers"]}


def test_validate_writes_the_report_file_too(tmp_path):
    report = tmp_path / "findings.json"
    result = run("validate", str(write_intent(tmp_path, LINKERD_MESH_CA)), "-p", "linkerd", "--no-crds", "--report-file", str(report))
    assert result.exit_code == 0, result.stderr
    assert json.loads(report.read_text())["critical"] == 1


def test_report_file_in_a_missing_folder_is_an_output_error(tmp_path):
    result = run("render", str(write_intent(tmp_path, LINKERD_MESH_CA)), "-p", "linkerd", "--report-file", str(tmp_path / "no" / "r.json"))
    assert result.exit_code == 1
    assert "--report-file" in result.stderr and "does not exist" in result.stderr
    assert result.stdout == ""


def test_check_writes_the_report_file_too(tmp_path):
    intent = write_intent(tmp_path, LINKERD_MESH_CA)
    assert run("render", str(intent), "-p", "linkerd", "--output", str(tmp_path / "out")).exit_code == 0
    report = tmp_path / "findings.json"
    result = run("check", str(intent), "-p", "linkerd", "--output", str(tmp_path / "out"), "--report-file", str(report))
    assert result.exit_code == 0, result.stderr
    assert json.loads(report.read_text())["findings"][0]["severity"] == "critical"


def test_critical_is_coloured_apart_from_losses_on_a_terminal():
    import io

    from rich.console import Console

    from meshgen.cli import print_findings

    text = "linkerd: 2 places where the intent is approximated or lost:\n  CRITICAL     mesh  ca-mesh: x\n  info         shop/a  retry-budget: y\n"
    terminal = io.StringIO()
    print_findings(text, Console(file=terminal, force_terminal=True, color_system="standard", soft_wrap=True))
    assert "\x1b[1;37;41mCRITICAL\x1b[0m" in terminal.getvalue()
    assert "\x1b[2minfo\x1b[0m" in terminal.getvalue()
