"""``meshgen analyze`` as a command: formats (SARIF against the published schema), thresholds,
suppressions, positions across files, and what render and check do with analyzer findings."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from meshgen.cli import app
from meshgen.loader import _event_locate, _fast_compose, _fast_load, _round_trip, locate, node_positions, positions
from tests.conftest import EXAMPLES, REPO

HEAD = "apiVersion: meshgen.dev/v1alpha1\nkind: MeshIntent\nmetadata: {name: t}\nspec:\n"
# web (timeout 1s) calls api (timeout 3s): MG101 error at 8:16; api retries: nothing else on api.
BODY = """\
  defaults: {namespace: t}
  services:
    - name: web
      timeout: 1s
      ports: [{name: http, port: 80}]
    - name: api
      timeout: 3s
      ports: [{name: http, port: 80}]
      allowFrom: [{service: web}]
"""
SARIF_SCHEMA = REPO / "tests" / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def write(tmp_path: Path, body: str = BODY) -> Path:
    path = tmp_path / "intent.yaml"
    path.write_text(HEAD + body)
    return path


def test_text_lines_summary_and_exit_code(tmp_path):
    path = write(tmp_path)
    result = run("analyze", str(path))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{path}:7:13: MG206 info: nobody may call t/web")
    assert lines[1].startswith(f"{path}:8:16: MG101 error: t/web (timeout 1s) gives up before t/api")
    assert lines[-1] == "1 error, 0 warnings, 1 info (0 suppressed)"


def test_failure_threshold(tmp_path):
    clean = write(tmp_path, BODY.replace("timeout: 3s", "timeout: 800ms"))
    assert run("analyze", str(clean)).exit_code == 0
    assert run("analyze", str(clean), "--failure-threshold", "warning").exit_code == 0
    assert run("analyze", str(clean), "--failure-threshold", "info").exit_code == 1  # MG206 is info


def test_command_line_suppression_by_code_and_service(tmp_path):
    path = write(tmp_path)
    assert run("analyze", str(path), "--suppress", "MG101=t/other").exit_code == 1
    result = run("analyze", str(path), "--suppress", "MG101=t/web", "-o", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert [f["code"] for f in doc["suppressed"]] == ["MG101"]
    assert doc["suppressed"][0]["suppressedBy"] == "command line"
    assert run("analyze", str(path), "--suppress", "MG999").exit_code == 2


def test_intent_suppression_is_reported_with_its_reason(tmp_path):
    body = BODY.replace(
        "      timeout: 1s\n", "      timeout: 1s\n      suppress: [{code: MG101, reason: exports wait}]\n"
    )
    result = run("analyze", str(write(tmp_path, body)), "-o", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["summary"] == {"error": 0, "warning": 0, "info": 1, "suppressed": 1}
    row = doc["suppressed"][0]
    assert (row["code"], row["reason"], row["suppressedBy"], row["service"]) == (
        "MG101",
        "exports wait",
        "intent",
        "t/web",
    )
    assert (row["line"], row["column"], row["field"]) == (8, 16, "spec.services[0].timeout")


def test_unknown_code_in_the_intent_is_invalid(tmp_path):
    body = BODY.replace("      timeout: 1s\n", "      timeout: 1s\n      suppress: [{code: MG999, reason: x}]\n")
    result = run("analyze", str(write(tmp_path, body)))
    assert result.exit_code == 1
    assert ":9:25: spec.services[0].suppress[0].code: unknown analyzer code 'MG999'" in result.stderr


def test_sarif_is_valid_against_the_published_schema(tmp_path):
    body = BODY.replace(
        "      timeout: 1s\n", "      timeout: 1s\n      suppress: [{code: MG101, reason: exports wait}]\n"
    )
    result = run("analyze", str(write(tmp_path, BODY + "  mesh: {mtls: permissive}\n")), "-o", "sarif")
    schema = json.loads(SARIF_SCHEMA.read_text())
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    for text in (result.stdout, run("analyze", str(write(tmp_path, body)), "-o", "sarif").stdout):
        log = json.loads(text)
        validator.validate(log)
        assert log["version"] == "2.1.0"
    results = json.loads(result.stdout)["runs"][0]["results"]
    by_rule = {r["ruleId"]: r for r in results}
    region = by_rule["MG101"]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"], by_rule["MG101"]["level"]) == (8, 16, "error")
    assert by_rule["MG206"]["level"] == "note"
    suppressed = json.loads(run("analyze", str(write(tmp_path, body)), "-o", "sarif").stdout)["runs"][0]["results"]
    assert [r["suppressions"] for r in suppressed if r["ruleId"] == "MG101"] == [
        [{"kind": "inSource", "justification": "exports wait"}]
    ]


def test_text_findings_escape_control_characters(tmp_path):
    """A newline in a file name (or any string a message quotes) must not split a report line."""
    path = tmp_path / "in\ntent.yaml"
    path.write_text(HEAD + BODY)
    lines = run("analyze", str(path)).stdout.splitlines()
    assert len(lines) == 3
    assert lines[1].startswith(str(tmp_path) + "/in\\ntent.yaml:8:16: MG101 error:")


def test_render_and_check_refuse_analyzer_errors_and_print_warnings(tmp_path):
    path = write(tmp_path)
    result = run("render", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"{path}:8:16: MG101 error:" in result.stderr
    assert run("check", str(path), "--output", str(tmp_path / "out")).exit_code == 1
    warned = write(tmp_path, BODY.replace("timeout: 3s", "timeout: 1500ms"))
    result = run("render", str(warned))
    assert result.exit_code == 0, result.stderr
    assert f"{warned}:8:16: MG101 warning:" in result.stderr
    assert "MG206" not in result.stderr  # info findings only in meshgen analyze


def test_positions_across_intent_files(tmp_path):
    (tmp_path / "a.yaml").write_text(HEAD + "  defaults: {namespace: t}\n  mesh: {mtls: permissive}\n")
    (tmp_path / "b.yaml").write_text(HEAD + BODY.replace("  defaults: {namespace: t}\n", ""))
    doc = json.loads(run("analyze", str(tmp_path), "-o", "json").stdout)
    where = {f["code"]: (Path(f["file"]).name, f["line"], f["column"], f["field"]) for f in doc["findings"]}
    assert where["MG203"] == ("a.yaml", 6, 16, "spec.mesh.mtls")
    assert where["MG101"] == ("b.yaml", 7, 16, "spec.services[0].timeout")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_examples_have_no_analyzer_errors(example):
    result = run("analyze", str(example))
    assert result.exit_code == 0, result.stdout
    assert " 0 errors" in " " + result.stdout.splitlines()[-1]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_fast_positions_equal_the_round_trip_positions(example):
    """The libyaml event locator gives exactly what the ruamel.yaml locator gives, for every path."""
    text = example.read_text()

    def paths(node, prefix=()):
        yield prefix
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            yield from paths(value, (*prefix, key))

    wanted = set(paths(_fast_load(text)))
    wanted |= {(*p, "missing") for p in list(wanted)}
    found, doc = positions(text, wanted), _round_trip(text)
    for path in wanted:
        for at_key in (False, True):
            assert _event_locate(found, path, example, at_key=at_key) == locate(doc, path, example, at_key=at_key), path


def _every_path(node, prefix=()):
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from _every_path(value, (*prefix, key))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_node_tree_positions_equal_the_event_positions(example):
    """Positions read from the kept node tree are the event parse's, for every path and a missing one below each."""
    text = example.read_text()
    data, node = _fast_compose(text)
    assert data == _fast_load(text)
    wanted = set(_every_path(data))
    wanted |= {(*p, "missing") for p in list(wanted)} | {(*p, 0) for p in list(wanted)}
    assert node_positions(node, wanted) == positions(text, wanted)
    assert node_positions(node, {("spec", "services", 0)}) == positions(text, {("spec", "services", 0)})
    assert node_positions(node, set()) == positions(text, set()) == {}


def test_findings_of_an_intent_with_aliases_are_positioned_at_the_alias(tmp_path):
    """An alias node is its anchor's node in the tree: such files are positioned by the event parse,
    at the alias (the tree would say the anchor)."""
    body = BODY.replace("  defaults: {namespace: t}\n", "  defaults: {namespace: t, timeout: &t 1s}\n")
    body = body.replace("timeout: 1s\n", "timeout: *t\n")  # web's: MG101 points at it
    text = HEAD + body
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "timeout: *t" in line)
    (tmp_path / "intent.yaml").write_text(text)
    doc = json.loads(run("analyze", str(tmp_path / "intent.yaml"), "-o", "json").stdout)
    where = {(f["code"], f["field"]): (f["line"], f["column"]) for f in doc["findings"]}
    assert where["MG101", "spec.services[0].timeout"] == (at + 1, lines[at].index("*t") + 1)


@pytest.mark.parametrize(
    ("mesh", "where", "exit_code"),
    [
        ("{mtls: permissive, defaultDeny: false}", "14:16: MG201", 0),  # after "  mesh: {mtls: "
        ("{defaultDeny: false}", "14:23: MG202", 0),  # after "  mesh: {defaultDeny: "
        # permissive under defaultDeny is also a loss on Istio (plaintext callers have no principal): refused
        ("{mtls: permissive}", "14:16: MG203", 3),
    ],
)
def test_render_names_weakening_settings_with_a_code(tmp_path, mesh, where, exit_code):
    """Issue 18: mtls: permissive and defaultDeny: false used to render silently. Line 14: after HEAD and BODY."""
    body = BODY.replace("timeout: 3s", "timeout: 800ms") + f"  mesh: {mesh}\n"
    result = run("render", str(write(tmp_path, body)))
    assert result.exit_code == exit_code, result.stderr
    assert f"{tmp_path / 'intent.yaml'}:{where} warning: " in result.stderr
