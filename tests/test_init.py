"""meshgen init: a starter repository that renders and checks clean as created."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

import pytest
import yaml

from meshgen.platforms import PLATFORMS
from meshgen.schema import schema_json
from tests.conftest import REPO
from tests.workflow_helpers import kubectl, run

STARTER_FILES = [
    ".github/workflows/meshgen.yaml",
    ".pre-commit-config.yaml",
    "Makefile",
    "README.md",
    "intent.yaml",
    "schema/meshintent.schema.json",
]


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_starter_renders_and_checks_clean(platform, tmp_path, monkeypatch):
    result = run("init", tmp_path / "Payments Mesh", "--platform", platform)
    assert result.exit_code == 0, result.stderr
    repo = tmp_path / "Payments Mesh"
    assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file()) == STARTER_FILES

    intent_text = (repo / "intent.yaml").read_text()
    assert intent_text.splitlines()[0] == "# yaml-language-server: $schema=schema/meshintent.schema.json"
    assert (repo / "schema" / "meshintent.schema.json").read_text() == schema_json()
    intent = yaml.safe_load(intent_text)
    assert intent["metadata"]["name"] == "payments-mesh"
    assert intent["spec"]["platform"] == platform
    assert intent["spec"]["defaults"]["namespace"] == "payments-mesh"

    monkeypatch.chdir(repo)
    rendered = run("render", "intent.yaml", "--output", "deploy")
    assert rendered.exit_code == 0, rendered.stderr
    checked = run("check", "intent.yaml", "--output", "deploy")
    assert checked.exit_code == 0, checked.stdout
    built = subprocess.run([kubectl(), "kustomize", f"deploy/{platform}"], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    resources = yaml.safe_load((repo / "deploy" / platform / "kustomization.yaml").read_text())["resources"]
    assert len([doc for doc in yaml.safe_load_all(built.stdout) if doc]) == len(resources) > 0
    assert "payments-mesh" in built.stdout


def test_starter_make_targets_render_and_check(tmp_path):
    make = shutil.which("make")
    assert make is not None, "make is not installed (.ci/run installs it)"
    assert run("init", tmp_path / "shop").exit_code == 0
    repo = tmp_path / "shop"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    meshgen = f"MESHGEN={sys.executable} -m meshgen"
    check_before = subprocess.run([make, "-s", "check", meshgen], cwd=repo, env=env, capture_output=True, text=True)
    assert check_before.returncode != 0  # nothing rendered yet: every file is missing
    assert "  missing  deploy/istio/shop/service-web.yaml" in check_before.stderr
    render = subprocess.run([make, "-s", "render", meshgen], cwd=repo, env=env, capture_output=True, text=True)
    assert render.returncode == 0, render.stderr
    check = subprocess.run([make, "-s", "check", meshgen], cwd=repo, env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stderr == "deploy/istio is up to date (20 generated files)\n"


def test_starter_hooks_and_workflow_run_the_check(tmp_path):
    assert run("init", tmp_path / "shop").exit_code == 0
    repo = tmp_path / "shop"
    hooks = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert [(h["id"], h["entry"], h["pass_filenames"]) for h in hooks] == [("meshgen-check", "make check", False)]
    steps = yaml.safe_load((repo / ".github" / "workflows" / "meshgen.yaml").read_text())["jobs"]["check"]["steps"]
    assert [s.get("run") for s in steps if "run" in s][1:3] == ["make validate", "make check"]
    # The package index's "meshgen" is another project: the workflow installs this one, pinned to
    # the running release.
    assert [s.get("run") for s in steps if "run" in s][0] == 'pip install "meshgen-intent[validate]==0.2.0"'


def test_platform_without_ingress_gets_no_gateway(tmp_path, monkeypatch):
    from meshgen.capabilities import Capability, Feature, Support
    from meshgen.platforms import get_platform

    column = dict(get_platform("istio").capabilities)
    column[Feature.GATEWAY_HTTP] = Capability(Support.NOT_EXPRESSIBLE, "test")
    monkeypatch.setattr(get_platform("istio"), "capabilities", column)
    assert run("init", tmp_path / "shop").exit_code == 0
    intent = yaml.safe_load((tmp_path / "shop" / "intent.yaml").read_text())
    assert "gateways" not in intent["spec"]
    assert "allowFrom" not in intent["spec"]["services"][0]


def test_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "keep.txt").write_text("mine\n")
    result = run("init", tmp_path / "repo")
    assert result.exit_code == 2
    assert "already exists and is not an empty directory" in result.stderr
    assert [p.name for p in (tmp_path / "repo").iterdir()] == ["keep.txt"]


def test_accepts_an_empty_directory_and_an_explicit_name(tmp_path):
    (tmp_path / "repo").mkdir()
    result = run("init", tmp_path / "repo", "--name", "Shop", "--namespace", "store")
    assert result.exit_code == 0, result.stderr
    intent = yaml.safe_load((tmp_path / "repo" / "intent.yaml").read_text())
    assert (intent["metadata"]["name"], intent["spec"]["defaults"]["namespace"]) == ("shop", "store")


def test_unknown_platform_is_a_usage_error(tmp_path):
    result = run("init", tmp_path / "repo", "--platform", "nomesh")
    assert result.exit_code == 2
    assert not (tmp_path / "repo").exists()


def test_template_ships_in_the_wheel(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("meshgen_intent-0.2.0-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    base = "meshgen/scaffold/template/"
    for rel in [
        "cookiecutter.json",
        *(f"{{{{cookiecutter.project_slug}}}}/{f}" for f in STARTER_FILES if not f.startswith("schema/")),
    ]:
        assert base + rel in names, rel
    assert "meshgen/templates/kustomize/kustomization.yaml.j2" in names
