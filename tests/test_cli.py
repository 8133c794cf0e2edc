"""The command line: streams, exit codes (0 ok, 1 invalid, 2 usage, 3 intent would be lost)."""

from __future__ import annotations

import json

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
    result = run("render", BOOKINFO, "--platform", "kuma")
    assert result.exit_code == 2
    assert "unknown platform 'kuma'; known:" in result.stderr
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


def test_readme_platform_table_matches_registry():
    from meshgen.docs import PLATFORMS_BEGIN, PLATFORMS_END, platforms_markdown
    from meshgen.platforms.registry import names

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index(PLATFORMS_BEGIN) : readme.index(PLATFORMS_END) + len(PLATFORMS_END)]
    assert section == platforms_markdown(), "regenerate with: python -m meshgen.docs --write"
    assert [line.split("`")[1] for line in section.splitlines()[4:] if line.startswith("| `")] == list(names())


def test_platforms_text_names_every_registered_platform():
    from meshgen.platforms.registry import all_platforms

    result = run("platforms")
    assert result.exit_code == 0
    for name, platform in all_platforms().items():
        assert f"{name}: {platform.description[:40]}" in " ".join(result.stdout.split())


# --- Habits of kubectl and friends (issue 16).

def _flat(text: str) -> str:
    """Click's error panel without its box and line breaks."""
    import re

    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_short_help_and_version():
    short = run("-h")
    assert short.exit_code == 0 and short.stdout == run("--help").stdout
    assert "COMMAND [ARGS]" in short.stdout
    assert "--allow-loss" in run("render", "-h").stdout
    version = run("--version")
    assert (version.exit_code, version.stdout) == (0, "meshgen 0.2.0\n")


def test_shell_completion_is_offered():
    text = run("--help").stdout
    assert "--install-completion" in text and "--show-completion" in text


def test_dash_o_chooses_the_format_as_in_kubectl(tmp_path):
    stream = run("render", BOOKINFO, "-o", "json")
    assert stream.exit_code == 0, stream.stderr
    listed = json.loads(stream.stdout)
    assert listed["kind"] == "List"
    assert listed["items"] == [d for d in yaml.safe_load_all(run("render", BOOKINFO, "-o", "yaml").stdout) if d]
    matrix = run("platforms", "-o", "json")
    assert json.loads(matrix.stdout) == json.loads(run("platforms", "--json").stdout)
    compared = run("diff", BOOKINFO, "--from", "istio", "--to", "linkerd", "-o", "json")
    assert compared.exit_code == 0 and json.loads(compared.stdout)


def test_dash_o_with_a_directory_says_to_use_output(tmp_path):
    result = run("render", BOOKINFO, "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "-o chooses the format (yaml, json), as kubectl's -o does" in _flat(result.stderr)
    assert f"use --output {tmp_path / 'out'}" in _flat(result.stderr)
    assert not (tmp_path / "out").exists()


def test_unknown_format_gets_a_suggestion():
    result = run("platforms", "-o", "jsno")
    assert result.exit_code == 2
    assert "unknown output format 'jsno' (did you mean 'json'?); choose one of: text, json" in _flat(result.stderr)


def test_unknown_platform_gets_a_suggestion():
    result = run("render", BOOKINFO, "-p", "istoi")
    assert result.exit_code == 2
    assert result.stderr == "error: unknown platform 'istoi' (did you mean 'istio'?); known: istio, istio-ambient, linkerd, cilium, consul, kubernetes\n"


def test_missing_intent_file_is_a_usage_error(tmp_path):
    result = run("render", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'nope.yaml'}: no such file or directory\n"  # no invented 1:1


def test_check_reports_drift_as_json(tmp_path):
    assert run("render", BOOKINFO, "--output", str(tmp_path)).exit_code == 0
    (tmp_path / "istio" / "kustomization.yaml").unlink()
    result = run("check", BOOKINFO, "--output", str(tmp_path), "-o", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["missing"] == ["kustomization.yaml"]


def test_validate_uses_the_bundled_crds_by_default():
    result = run("validate", BOOKINFO)
    assert result.exit_code == 0, result.stderr
    assert "objects accepted by meshgen's bundled CRDs" in result.stderr
    report = json.loads(run("validate", BOOKINFO, "-o", "json").stdout)
    assert (report["valid"], report["problems"], report["crds"]) == (True, [], "meshgen's bundled CRDs")


def test_validate_without_the_extra_says_how_to_install_it(monkeypatch):
    import sys

    from meshgen import kube

    monkeypatch.delattr(kube, "CRDCatalog", raising=False)
    monkeypatch.setitem(sys.modules, "meshgen.kube.catalog", None)  # as if celpy & co. were missing
    monkeypatch.setitem(sys.modules, "celpy", None)
    monkeypatch.setattr(kube, "__getattr__", _missing_celpy)
    result = run("validate", BOOKINFO)
    assert result.exit_code == 2
    assert "pip install 'meshgen-intent[validate]==0.2.0'" in result.stderr
    assert run("validate", BOOKINFO, "--no-crds").exit_code == 0


def _missing_celpy(name):
    from meshgen import kube

    raise kube.MissingValidationExtra(kube.missing_extra_message("celpy"))


def test_findings_are_coloured_on_a_terminal_and_plain_when_piped(tmp_path):
    import io

    from rich.console import Console

    from meshgen.cli import print_findings

    text = (
        "istio: 2 places where the intent is approximated or lost:\n"
        "  LOST         shop/web  x: y\n  approximated shop/api  z: w\n"
    )
    terminal = io.StringIO()
    print_findings(text, Console(file=terminal, force_terminal=True, color_system="standard", soft_wrap=True))
    assert "\x1b[1;31mLOST\x1b[0m" in terminal.getvalue()
    assert "\x1b[33mapproximated\x1b[0m" in terminal.getvalue()
    piped = io.StringIO()
    print_findings(text, Console(file=piped, soft_wrap=True))
    assert piped.getvalue() == text
    lossy = run("render", str(write_intent(tmp_path, LOSSY)))
    assert "LOST" in lossy.stderr and "\x1b[" not in lossy.stderr
