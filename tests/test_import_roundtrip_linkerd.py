"""Round trip on Linkerd: render(import(render(I))) is byte-identical to render(I) (issue 14).

The sibling of tests/test_import_roundtrip.py for ``meshgen import --from linkerd`` (guessed from
``policy.linkerd.io``): rendered with ``meshgen render --platform linkerd --output``, imported,
and checked with ``meshgen check`` against the first render (exit 0 = identical bytes). An
example whose render reports losses is refused without ``--allow-loss``; with it, the loop runs
on what was rendered and the files ``meshgen check`` names are hand-listed, each explained by a
loss the first render reported.
"""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import EXAMPLES
from tests.workflow_helpers import import_stops, lossy_round_trip, round_trip, run

#: Examples whose Linkerd render imports back to the same render (hand-listed).
ROUND_TRIP = {"emojivoto", "podinfo", "production-identity"}
#: Examples whose render reports losses (Istio-only features: faults, mirroring, connection
#: pools, deny rules, ...; refused without --allow-loss), and the files `meshgen check` names
#: after the loop on the --allow-loss render, each for a reported loss.
LOSSY: dict[str, set[str]] = {
    "bookinfo": set(),  # what was lost is absent from the render: the import renders the same bytes
    "online-boutique": set(),
    "feature-tour": {
        # render (authz-by-selector): "pods labelled {team: checkout} in shop admitted only as the
        # intent's workloads carrying those labels (shop/checkout-v1, shop/checkout-v2)": the
        # selector is not in the render, only the two identities, which import as two service
        # account callers of catalog; they admit the same identities under other object names
        "missing  shop/authorizationpolicy-catalog-grpc-sa-checkout-v1.yaml",
        "missing  shop/authorizationpolicy-catalog-grpc-sa-checkout-v2.yaml",
        "missing  shop/meshtlsauthentication-catalog-sa-checkout-v1.yaml",
        "missing  shop/meshtlsauthentication-catalog-sa-checkout-v2.yaml",
        "stale    shop/authorizationpolicy-catalog-grpc-sel-team-checkout.yaml",
        "stale    shop/meshtlsauthentication-catalog-sel-team-checkout.yaml",
        "changed  kustomization.yaml",  # lists those files
    },
}
#: The render losses LOSSY's files stand for, per example.
REPORTED = {
    "feature-tour": [
        "pods labelled {team: checkout} in shop admitted only as the intent's workloads carrying those labels "
        "(shop/checkout-v1, shop/checkout-v2)",
    ],
}


def test_every_example_is_classified():
    assert {p.parent.name for p in EXAMPLES} == ROUND_TRIP | set(LOSSY)


@pytest.mark.parametrize("example", sorted(p for p in EXAMPLES if p.parent.name in ROUND_TRIP), ids=lambda p: p.parent.name)
def test_render_import_render_is_identical(tmp_path, example):
    imported = round_trip(tmp_path, example, "linkerd")
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr
    assert "platform: linkerd" in imported.stdout  # guessed from policy.linkerd.io


@pytest.mark.parametrize("example", sorted(LOSSY))
def test_lossy_render_is_refused_without_allow_loss(tmp_path, example):
    assert import_stops(tmp_path, example, "linkerd", "render", 3) is None


@pytest.mark.parametrize("example", sorted(LOSSY))
def test_lossy_round_trip_changes_only_what_was_reported(tmp_path, example):
    rendered, imported, listed = lossy_round_trip(tmp_path, example, "linkerd")
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr
    assert "platform: linkerd" in imported.stdout
    for loss in REPORTED.get(example, []):
        assert loss in rendered.stderr
    assert listed == LOSSY[example]


def test_feature_tour_imports_the_export_route_it_came_from(tmp_path):
    """Hand-read from examples/feature-tour/intent.yaml: api's export route has a route object of
    its own (api-export, with its own timeout); it comes back named, with retries {attempts: 0}
    (no retry annotations where the service retries), following the service's 100/0 split, and
    before the /v1/ route, since Gateway API ranks the longer prefix first."""
    _, imported, _ = lossy_round_trip(tmp_path, "feature-tour", "linkerd")
    api = next(s for s in yaml.safe_load(imported.stdout)["spec"]["services"] if s["name"] == "api")
    assert api["routes"] == [
        {"name": "export", "match": {"path": {"prefix": "/v1/export"}, "method": "GET"},
         "timeout": "30s", "retries": {"attempts": 0}},
        {"match": {"path": {"prefix": "/v1/"}}},
    ]
    assert "per-route weighted split" not in imported.stderr


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
