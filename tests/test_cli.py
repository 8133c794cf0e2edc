"""The command line: streams, exit codes (0 ok, 1 invalid, 2 usage, 3 intent would be lost)."""

from __future__ import annotations

import json
import shutil

import yaml
from typer.testing import CliRunner

from meshgen.cli import app
from tests.conftest import MINIMAL, REPO, write_bundled_crds, write_intent

BOOKINFO = str(REPO / "examples" / "bookinfo" / "intent.yaml")

# Two versions sharing one service account: an allow-list naming only v2 cannot be enforced on Istio.
LOSSY = MINIMAL.replace(
    "        - service: web\n",
    "        - service: web\n          versions: [v2]\n",
).replace(
    "        - {name: http, port: 80, targetPort: 8080}\n",
    "        - {name: http, port: 80, targetPort: 8080}\n      versions: [{name: v1, weight: 100}, {name: v2, weight: 0}]\n",
)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_render_to_stdout_is_a_yaml_stream():
    result = run("render", BOOKINFO)
    assert result.exit_code == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    assert {d["kind"] for d in docs} >= {"VirtualService", "DestinationRule", "AuthorizationPolicy", "HTTPRoute", "Gateway"}
    assert "retry-budget" in result.stderr  # the approximation is reported on stderr, not stdout


def test_invalid_intent_exits_1_with_position_and_no_stdout(tmp_path):
    path = write_intent(tmp_path, MINIMAL.replace("port: 8080}", "port: 0}"))
    result = run("render", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"{path}:11:30: spec.services[0].ports[0].port: input should be greater than or equal to 1" in result.stderr


def test_unknown_platform_exits_2(tmp_path):
    result = run("render", BOOKINFO, "--platform", "consul")
    assert result.exit_code == 2
    assert "unknown platform 'consul'; known:" in result.stderr
    assert result.stdout == ""


def test_usage_error_exits_2():
    result = run("render")
    assert result.exit_code == 2


def test_loss_refused_with_exit_3_and_nothing_written(tmp_path):
    path = write_intent(tmp_path, LOSSY)
    out = tmp_path / "out"
    result = run("render", str(path), "--output", str(out))
    assert result.exit_code == 3
    assert "LOST" in result.stderr and "authz-by-version" in result.stderr
    assert not out.exists()
    assert result.stdout == ""


def test_allow_loss_renders(tmp_path):
    path = write_intent(tmp_path, LOSSY)
    result = run("render", str(path), "--allow-loss")
    assert result.exit_code == 0
    assert "kind: AuthorizationPolicy" in result.stdout


def test_report_json(tmp_path):
    path = write_intent(tmp_path, LOSSY)
    result = run("render", str(path), "--report", "json")
    assert result.exit_code == 3
    report = json.loads(result.stderr[: result.stderr.rindex("}") + 1])
    assert report["platform"] == "istio"
    assert report["lost"] == 1
    assert report["findings"][0]["feature"] == "authz-by-version"


def test_render_output_dir_writes_one_file_per_object(tmp_path):
    out = tmp_path / "out"
    result = run("render", BOOKINFO, "--output", str(out))
    assert result.exit_code == 0, result.stderr
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml"))
    assert "istio/bookinfo/virtualservice-reviews.yaml" in files
    assert "istio/_cluster/namespace-bookinfo.yaml" in files
    assert result.stdout == ""


def test_validate_intent_only():
    result = run("validate", BOOKINFO)
    assert result.exit_code == 0
    assert "intent is valid" in result.stderr


def test_validate_against_crds(tmp_path):
    crds = write_bundled_crds(tmp_path / "crds")
    result = run("validate", BOOKINFO, "--crds", str(crds))
    assert result.exit_code == 0, result.stderr
    assert f"accepted by {crds}" in result.stderr


def test_validate_reports_rejected_objects(tmp_path):
    # A CRD folder holding a VirtualService CRD whose schema forbids `http` rejects the output.
    crds = write_bundled_crds(tmp_path / "crds")
    vs = crds / "istio" / "virtualservices.networking.istio.io.yaml"
    crd = json.loads(vs.read_text())
    for version in crd["spec"]["versions"]:  # v1alpha3, v1beta1, v1
        spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        spec["httpRenamed"] = spec.pop("http")
    vs.write_text(json.dumps(crd))
    result = run("validate", BOOKINFO, "--crds", str(crds))
    assert result.exit_code == 1
    assert 'VirtualService/bookinfo/reviews: spec.http: unknown field "http"' in result.stderr


def test_platforms_lists_matrix():
    result = run("platforms", "--json")
    assert result.exit_code == 0
    rows = {r["feature"]: r for r in json.loads(result.stdout)}
    assert rows["retry-budget"]["istio"] == "approximated"
    assert rows["fault-delay"]["istio"] == "native"


def test_readme_reference_matches_model():
    from meshgen.docs import BEGIN, END, reference_markdown

    readme = (REPO / "README.md").read_text()
    assert readme[readme.index(BEGIN) : readme.index(END) + len(END)] == reference_markdown()
