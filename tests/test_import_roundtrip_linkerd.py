"""Round trip on Linkerd: render(import(render(I))) is byte-identical to render(I) (issue 14).

The sibling of tests/test_import_roundtrip.py for ``meshgen import --from linkerd`` (guessed from
``policy.linkerd.io``): rendered with ``meshgen render --platform linkerd --output``, imported,
and checked with ``meshgen check`` against the first render (exit 0 = identical bytes).
"""

from __future__ import annotations

import pytest

from tests.conftest import EXAMPLES
from tests.workflow_helpers import import_stops, round_trip, run

#: Examples whose Linkerd render imports back to the same render (hand-listed).
ROUND_TRIP = {"emojivoto", "podinfo", "production-identity"}
#: The others and the exit code of the step that stops them.
STOPPED = {
    # render refuses: Istio-only features (faults, mirroring, connection pools, deny rules, ...)
    "bookinfo": ("render", 3),
    "online-boutique": ("render", 3),
    "feature-tour": ("render", 3),
}
#: What the refused import names, per example (every stop here is render's).
NOT_UNDERSTOOD: dict[str, str] = {
}


def test_every_example_is_classified():
    assert {p.parent.name for p in EXAMPLES} == ROUND_TRIP | set(STOPPED)


@pytest.mark.parametrize("example", sorted(p for p in EXAMPLES if p.parent.name in ROUND_TRIP), ids=lambda p: p.parent.name)
def test_render_import_render_is_identical(tmp_path, example):
    imported = round_trip(tmp_path, example, "linkerd")
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr
    assert "platform: linkerd" in imported.stdout  # guessed from policy.linkerd.io


@pytest.mark.parametrize("example", sorted(STOPPED))
def test_examples_outside_the_loop_stop_where_expected(tmp_path, example):
    imported = import_stops(tmp_path, example, "linkerd", *STOPPED[example], "--from", "linkerd")
    if imported is not None:
        assert NOT_UNDERSTOOD[example] in imported.stderr


def test_emojivoto_imports_the_intent_it_came_from(tmp_path):
    """Hand-read from examples/emojivoto/intent.yaml: what the Linkerd objects say comes back."""
    import yaml

    out = tmp_path / "out"
    assert run("render", "examples/emojivoto/intent.yaml", "--platform", "linkerd", "--output", out).exit_code == 0
    imported = run("import", out / "linkerd")
    spec = yaml.safe_load(imported.stdout)["spec"]
    assert spec["mesh"] == {"mtls": "strict", "defaultDeny": True}
    services = {s["name"]: s for s in spec["services"]}
    web = services["web-svc"]
    assert web["serviceAccount"] == "web"  # from the MeshTLSAuthentication emoji-svc-web-svc
    assert web["versions"] == [{"name": "v11", "weight": 90}, {"name": "v12", "weight": 10}]
    assert web["routes"] == [{"match": {"headers": {"x-canary": {"exact": "true"}}}, "version": "v12"}]
    assert web["allowFrom"] == [{"namespace": "emojivoto", "serviceAccount": "default"}]
    emoji = services["emoji-svc"]
    assert emoji["retries"] == {"attempts": 2, "retryOn": ["unavailable"], "perTryTimeout": "300ms"}
    assert emoji["allowFrom"] == [
        {"service": "web-svc", "ports": ["grpc"], "grpc": {"service": "emojivoto.v1.EmojiService", "methods": ["FindByShortcode", "ListAll"]}},
        {"namespace": "linkerd-viz", "serviceAccount": "prometheus", "ports": ["prom"]},
    ]
    assert spec["defaults"]["timeout"] == "1s" and web["timeout"] == "2s"


def test_synthetic_intent_round_trips(tmp_path):
    """benchmarks/synthetic.py's intent at 60 services (versions with their own accounts, callers
    limited to versions, rate limits, failure accrual, egress). Linkerd's render drops what it
    cannot say (--allow-loss); the import of that render renders back to the same bytes."""
    from benchmarks.synthetic import intent_yaml

    source = tmp_path / "intent.yaml"
    source.write_text(intent_yaml(60))
    imported = round_trip(tmp_path, source, "linkerd", "--allow-loss")
    assert "versions: [v2]" in imported.stdout  # a caller limited to one version
