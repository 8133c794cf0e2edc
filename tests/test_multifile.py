"""Many intent files: a directory or several files merge into one intent, errors point into each file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen.errors import IntentError
from meshgen.loader import load_intent, load_intents
from meshgen.pipeline import render
from tests.conftest import REPO
from tests.workflow_helpers import run

HEAD = "apiVersion: meshgen.dev/v1alpha1\nkind: MeshIntent\nmetadata:\n  name: shop\n"

MESH = (
    HEAD
    + """\
spec:
  mesh:
    mtls: strict
  defaults:
    namespace: shop
    timeout: 5s
"""
)

FRONT = (
    HEAD
    + """\
spec:
  services:
    - name: web
      ports:
        - {name: http, port: 80, targetPort: 8080}
"""
)

BACK = (
    HEAD
    + """\
spec:
  services:
    - name: api
      ports:
        - {name: http, port: 8080}
      allowFrom:
        - service: web
          methods: [GET]
"""
)


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def _problems(exc: pytest.ExceptionInfo) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_directory_merges_files_and_cross_file_allow_from_works(tmp_path):
    folder = _write(tmp_path / "intents", {"mesh.yaml": MESH, "teams/back.yaml": BACK, "teams/front.yaml": FRONT})
    intent = load_intents([folder])
    assert [(s.namespace, s.name, str(s.timeout)) for s in intent.spec.services] == [
        ("shop", "api", "5s"),  # teams/back.yaml sorts before teams/front.yaml
        ("shop", "web", "5s"),
    ]
    policy = next(
        o
        for o in render(intent, "istio", "intents/").objects()
        if o["metadata"]["name"] == "api" and o["kind"] == "AuthorizationPolicy"
    )
    assert policy["spec"]["rules"][0]["from"] == [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}]


def test_several_files_equal_one_file(tmp_path):
    """The merged intent is exactly the intent of one file holding everything."""
    _write(tmp_path, {"mesh.yaml": MESH, "front.yaml": FRONT, "back.yaml": BACK})
    single = MESH + "  services:\n" + FRONT.split("  services:\n")[1] + BACK.split("  services:\n")[1]
    _write(tmp_path, {"single/intent.yaml": single})
    merged = load_intents([tmp_path / "mesh.yaml", tmp_path / "front.yaml", tmp_path / "back.yaml"])
    assert merged.model_dump() == load_intent(tmp_path / "single" / "intent.yaml").model_dump()


def test_bookinfo_split_per_service_renders_the_same_objects(tmp_path):
    data = yaml.safe_load((REPO / "examples" / "bookinfo" / "intent.yaml").read_text())
    head = {k: data[k] for k in ("apiVersion", "kind", "metadata")}
    files = {"00-mesh.yaml": {**head, "spec": {k: v for k, v in data["spec"].items() if k != "services"}}}
    for svc in data["spec"]["services"]:
        files[f"{svc['name']}.yaml"] = {**head, "spec": {"services": [svc]}}
    _write(tmp_path, {name: yaml.safe_dump(doc, sort_keys=False) for name, doc in files.items()})
    merged = render(load_intents([tmp_path]), "istio", "x")
    single = render(load_intent(REPO / "examples" / "bookinfo" / "intent.yaml"), "istio", "x")
    # Services come in file order (alphabetical), so compare the objects, not the document order.
    assert sorted(merged.documents) == sorted(single.documents)
    assert merged.plan.findings == single.plan.findings


def test_same_service_in_two_files_names_both_locations(tmp_path):
    _write(
        tmp_path,
        {"a.yaml": MESH + "  services:\n    - name: web\n      ports: [{name: http, port: 80}]\n", "b.yaml": FRONT},
    )
    with pytest.raises(IntentError) as exc:
        load_intents([tmp_path])
    assert _problems(exc) == [
        f"{tmp_path / 'b.yaml'}:7:13: spec.services[0].name: service shop/web is defined twice "
        f"(also at {tmp_path / 'a.yaml'}:12:13)"
    ]


def test_unknown_cross_file_reference_points_into_the_referencing_file(tmp_path):
    _write(tmp_path, {"mesh.yaml": MESH, "back.yaml": BACK.replace("service: web", "service: wbe")})
    with pytest.raises(IntentError) as exc:
        load_intents([tmp_path])
    assert _problems(exc) == [
        f"{tmp_path / 'back.yaml'}:11:20: spec.services[0].allowFrom[0].service: unknown service 'wbe'; "
        "expected one of: shop/api"
    ]


def test_type_error_in_a_later_file_is_positioned_in_that_file(tmp_path):
    _write(tmp_path, {"mesh.yaml": MESH, "front.yaml": FRONT, "back.yaml": BACK.replace("port: 8080", "port: 80800")})
    with pytest.raises(IntentError) as exc:
        load_intents([tmp_path / "mesh.yaml", tmp_path / "front.yaml", tmp_path / "back.yaml"])
    assert _problems(exc) == [
        f"{tmp_path / 'back.yaml'}:9:30: spec.services[0].ports[0].port: input should be less than or equal to 65535"
    ]


def test_conflicting_settings_name_both_files(tmp_path):
    _write(tmp_path, {"mesh.yaml": MESH, "other.yaml": HEAD + "spec:\n  defaults:\n    namespace: store\n"})
    with pytest.raises(IntentError) as exc:
        load_intents([tmp_path])
    assert _problems(exc) == [
        f"{tmp_path / 'other.yaml'}:7:16: spec.defaults.namespace: set differently in two intent files "
        f"(also at {tmp_path / 'mesh.yaml'}:9:16); set it in one file only"
    ]


def test_settings_split_over_files_merge_key_by_key(tmp_path):
    _write(
        tmp_path,
        {"a.yaml": MESH, "b.yaml": HEAD + "spec:\n  mesh:\n    trustDomain: example.org\n" + FRONT.split("spec:\n")[1]},
    )
    intent = load_intents([tmp_path])
    assert (intent.spec.mesh.mtls, intent.spec.mesh.trust_domain) == ("strict", "example.org")


def test_syntax_errors_of_every_file_are_reported(tmp_path):
    _write(tmp_path, {"a.yaml": "spec: [\n", "b.yaml": "a: 1\na: 2\n"})
    with pytest.raises(IntentError) as exc:
        load_intents([tmp_path])
    problems = _problems(exc)
    assert len(problems) == 2
    assert problems[0].startswith(f"{tmp_path / 'a.yaml'}:2:1: invalid YAML")
    assert problems[1] == f"{tmp_path / 'b.yaml'}:2:1: invalid YAML: duplicate key 'a'"


def test_hidden_files_and_other_suffixes_are_skipped(tmp_path):
    _write(
        tmp_path,
        {
            "mesh.yaml": MESH,
            "front.yml": FRONT,
            ".pre-commit-config.yaml": "repos: []\n",
            ".github/x.yaml": "x: 1\n",
            "notes.txt": "hi",
        },
    )
    assert [s.name for s in load_intents([tmp_path]).spec.services] == ["web"]


def test_empty_directory_and_missing_path_are_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(IntentError) as exc:
        load_intents([tmp_path / "empty", tmp_path / "missing.yaml"])
    assert _problems(exc) == [
        f"{tmp_path / 'empty'}:1:1: no intent files (*.yaml, *.yml) in directory {tmp_path / 'empty'}",
        f"{tmp_path / 'missing.yaml'}: no such file or directory",  # no invented position
    ]
    assert exc.value.exit_code == 2  # a missing path is a usage error


def test_a_file_given_twice_is_read_once(tmp_path):
    _write(tmp_path, {"mesh.yaml": MESH, "front.yaml": FRONT})
    intent = load_intents([tmp_path, tmp_path / "front.yaml"])
    assert [s.name for s in intent.spec.services] == ["web"]


def test_cli_renders_and_checks_a_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "intents", {"mesh.yaml": MESH, "front.yaml": FRONT, "back.yaml": BACK})
    result = run("render", "intents", "--output", "out")
    assert result.exit_code == 0, result.stderr
    first = (tmp_path / "out" / "istio" / "shop" / "service-api.yaml").read_text().splitlines()[0]
    # Not in a git repository: the header names the merged intent by its metadata.name, so the
    # same files given one by one are the same intent for check.
    assert first == '# Generated by meshgen from intent "shop". Do not edit: change the intent and render again.'
    assert run("check", "intents", "--output", "out").exit_code == 0
    files = run("check", "intents/mesh.yaml", "intents/front.yaml", "intents/back.yaml", "--output", "out")
    assert files.exit_code == 0


def test_cli_reports_both_locations(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, {"a.yaml": FRONT, "b.yaml": FRONT})
    result = run("validate", "a.yaml", "b.yaml")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: 1 problem in the intent:\n"
        "b.yaml:7:13: spec.services[0].name: service default/web is defined twice (also at a.yaml:7:13)\n"
    )


def test_single_file_duplicate_names_the_first_line(tmp_path):
    text = FRONT + "    - name: web\n      ports: [{name: http, port: 81}]\n"
    (tmp_path / "intent.yaml").write_text(text)
    with pytest.raises(IntentError) as exc:
        load_intent(tmp_path / "intent.yaml")
    assert _problems(exc) == [
        f"{tmp_path / 'intent.yaml'}:10:13: spec.services[1].name: service default/web is defined twice "
        f"(also at {tmp_path / 'intent.yaml'}:7:13)"
    ]
