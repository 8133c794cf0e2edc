"""Cilium manifests meshgen did not write: the upstream examples in tests/fixtures/upstream/cilium
(copied from cilium/cilium v1.19.4 examples/, see each file's first line) import without a crash,
report exactly the hand-listed findings, and the imported intent, rendered on Cilium again, makes
the same allow/deny decisions as the upstream policy in the model of Cilium's ingress decision of
tests/platforms/test_cilium_semantics.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshgen import load_intent, render
from tests.platforms.test_cilium_semantics import SA, Source, admits
from tests.workflow_helpers import run

FIXTURES = Path(__file__).parent / "fixtures" / "upstream" / "cilium"

#: name -> (files, hand-written LOST / not-understood findings: "file:line: SEVERITY ref field").
CASES = {
    "mutual-auth": (
        ("kubernetes__servicemesh__mutual-auth-example.yaml", "kubernetes__servicemesh__cnp-with-mutual-auth.yaml"),
        {"kubernetes__servicemesh__mutual-auth-example.yaml:57: not-understood Pod pod-worker"},
    ),
    "serviceaccount": (
        ("policies__kubernetes__serviceaccount__demo-pods.yaml", "policies__kubernetes__serviceaccount__serviceaccount-policy.yaml"),
        {
            "policies__kubernetes__serviceaccount__demo-pods.yaml:7: not-understood ServiceAccount luke",
            "policies__kubernetes__serviceaccount__demo-pods.yaml:12: not-understood ServiceAccount vader",
            "policies__kubernetes__serviceaccount__demo-pods.yaml:47: not-understood Pod luke-pod",
            "policies__kubernetes__serviceaccount__demo-pods.yaml:57: not-understood Pod vader-pod",
        },
    ),
    "namespace": (
        ("policies__kubernetes__namespace__demo-pods.yaml", "policies__kubernetes__namespace__namespace-policy.yaml"),
        {
            "policies__kubernetes__namespace__demo-pods.yaml:44: not-understood Pod ns2/luke-pod",
            "policies__kubernetes__namespace__demo-pods.yaml:56: not-understood Pod ns2/vader-pod",
        },
    ),
}


def _import(tmp_path, name: str):
    files, _ = CASES[name]
    result = run("import", *(FIXTURES / f for f in files), "--allow-loss")
    assert result.exit_code == 0, result.stderr
    intent = tmp_path / "imported.yaml"
    intent.write_text(result.stdout)
    return result, intent


def _losses(stderr: str) -> set[str]:
    out = set()
    for line in stderr.splitlines():
        line = line.strip()
        if " LOST " in line or " not-understood " in line:
            head, _, _ = line.partition(": ")  # "file:line" then "SEVERITY ref field: message"
            rest = line[len(head) + 2 :].split(": ", 1)[0]
            out.add(f"{Path(head.rsplit(':', 1)[0]).name}:{head.rsplit(':', 1)[1]}: {rest}")
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_upstream_imports_with_exactly_the_listed_losses(tmp_path, name):
    result, _ = _import(tmp_path, name)
    assert _losses(result.stderr) == CASES[name][1]
    assert "platform: cilium" in result.stdout  # guessed from cilium.io


def _source_policies(name: str) -> list[dict]:
    out = []
    for file in CASES[name][0]:
        for doc in yaml.safe_load_all((FIXTURES / file).read_text()):
            if doc and doc["kind"] == "CiliumNetworkPolicy":
                doc["metadata"].setdefault("namespace", "default")  # kubectl apply's namespace
                out.append(doc)
    return out


def _rendered_policies(intent_path: Path) -> list[dict]:
    objects = render(load_intent(intent_path), "cilium", str(intent_path)).objects()
    return [o for o in objects if o["kind"] == "CiliumNetworkPolicy"]


def _decisions(policies, ns, labels, port, grid):
    return {(src.name, method, path): admits(policies, ns, labels, src, port, method, path) for src in grid for method, path in REQUESTS}


REQUESTS = [("GET", "/headers"), ("POST", "/headers"), ("GET", "/public"), ("DELETE", "/public"), ("GET", "/other"), ("GET", "/")]


def _pod(who, ns, sa, **labels):
    return Source(who, ns, sa, tuple(sorted(labels.items())))


def test_mutual_auth_decisions_survive(tmp_path):
    _, intent = _import(tmp_path, "mutual-auth")
    grid = [
        _pod("pod-worker", "default", "default", app="pod-worker"),
        _pod("pod-worker elsewhere", "elsewhere", "default", app="pod-worker"),
        _pod("other", "default", "default", app="other"),
        Source("world", entity="world"),
        Source("ingress", entity="ingress"),
    ]
    echo = {"app": "echo"}
    before = _decisions(_source_policies("mutual-auth"), "default", echo, 3000, grid)
    after = _decisions(_rendered_policies(intent), "default", echo, 3000, grid)
    assert after == before
    # hand-computed: only pod-worker of the policy's namespace, only GET /headers
    assert {k for k, v in after.items() if v} == {("pod-worker", "GET", "/headers")}
    # the reported approximation: the imported exact path also admits a query string
    worker = grid[0]
    assert not admits(_source_policies("mutual-auth"), "default", echo, worker, 3000, "GET", "/headers?x=1")
    assert admits(_rendered_policies(intent), "default", echo, worker, 3000, "GET", "/headers?x=1")
    spec = yaml.safe_load(intent.read_text())["spec"]
    assert spec["mesh"]["mtls"] == "strict"  # authentication.mode: required on the only rule


def test_serviceaccount_decisions_survive(tmp_path):
    _, intent = _import(tmp_path, "serviceaccount")
    grid = [
        _pod("luke", "default", "luke"),
        _pod("vader", "default", "vader"),
        _pod("luke elsewhere", "elsewhere", "luke"),
        Source("world", entity="world"),
    ]
    leia = {"name": "leia", SA: "leia"}  # Cilium adds the account label to the pod's identity
    before = _decisions(_source_policies("serviceaccount"), "default", leia, 80, grid)
    after = _decisions(_rendered_policies(intent), "default", leia, 80, grid)
    assert after == before
    assert {k for k, v in after.items() if v} == {("luke", "GET", "/public")}


def test_namespace_decisions_survive(tmp_path):
    _, intent = _import(tmp_path, "namespace")
    grid = [
        _pod("luke in ns2", "ns2", "default", name="luke"),
        _pod("luke in ns1", "ns1", "default", name="luke"),
        _pod("vader in ns2", "ns2", "default", name="vader"),
        Source("world", entity="world"),
    ]
    leia = {"name": "leia"}
    before = _decisions(_source_policies("namespace"), "ns1", leia, 80, grid)
    after = _decisions(_rendered_policies(intent), "ns1", leia, 80, grid)
    assert after == before
    assert {k[0] for k, v in after.items() if v} == {"luke in ns2"}
    assert all(after[("luke in ns2", m, p)] for m, p in REQUESTS)  # L3 only: every request
