"""Round trip: render(import(render(I))) is byte-identical to render(I) on Istio (issue 14).

For every shipped example: rendered with ``meshgen render --output``, imported with ``meshgen
import``, and checked with ``meshgen check`` against the first render (exit 0 = identical bytes,
headers included). An example whose render reports losses is refused without ``--allow-loss``;
with it, the loop runs on what was rendered and the files ``meshgen check`` names are hand-listed,
each explained by a loss the first render (or the import) reported.
"""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import EXAMPLES
from tests.workflow_helpers import import_stops, lossy_round_trip, round_trip

#: Examples whose Istio render imports back to the same render (hand-listed).
ROUND_TRIP = {"bookinfo", "emojivoto", "online-boutique", "podinfo", "production-identity"}
#: Examples whose render reports losses (refused without --allow-loss), and the files `meshgen
#: check` names after the loop on the --allow-loss render, each for a reported loss.
LOSSY = {
    "feature-tour": {
        # render: "timeout: rule chaos injects faults; Istio does not apply timeouts or retries on a
        # rule with a fault, so they are left out there": chaos matches every request, so import
        # drops the default rule behind it ("LOST VirtualService shop/catalog spec.http[1]: never
        # reached") and catalog comes back without its 5s timeout and retries; the unreachable
        # default rule is re-rendered without them ...
        "changed  shop/virtualservice-catalog.yaml",
        # ... and without a timeout there is no p99-above-timeout alert for catalog
        "changed  shop/prometheusrule-feature-tour-mesh-alerts.yaml",
    },
}
#: What each lossy example's render and import report, the losses LOSSY's files stand for.
REPORTED = {
    "feature-tour": (
        ["timeout: rule chaos injects faults; Istio does not apply timeouts or retries on a rule with a fault"],
        ["LOST VirtualService shop/catalog spec.http[1]: never reached: rule 0 matches every request first"],
    ),
}


def test_every_example_is_classified():
    assert {p.parent.name for p in EXAMPLES} == ROUND_TRIP | set(LOSSY)
    assert set(REPORTED) == set(LOSSY)


@pytest.mark.parametrize("example", sorted(p for p in EXAMPLES if p.parent.name in ROUND_TRIP), ids=lambda p: p.parent.name)
def test_render_import_render_is_identical(tmp_path, example):
    imported = round_trip(tmp_path, example, "istio")
    assert "LOST" not in imported.stderr and "not-understood" not in imported.stderr


@pytest.mark.parametrize("example", sorted(LOSSY))
def test_lossy_render_is_refused_without_allow_loss(tmp_path, example):
    assert import_stops(tmp_path, example, "istio", "render", 3) is None


@pytest.mark.parametrize("example", sorted(LOSSY))
def test_lossy_round_trip_changes_only_what_was_reported(tmp_path, example):
    # the import reports the unreachable rule LOST (exit 3 without --allow-loss)
    rendered, imported, listed = lossy_round_trip(tmp_path, example, "istio", "--allow-loss")
    render_losses, import_losses = REPORTED[example]
    for loss in render_losses:
        assert loss in rendered.stderr
    for loss in import_losses:
        assert loss in imported.stderr
    assert listed == LOSSY[example]


def test_feature_tour_imports_route_names_and_no_retries(tmp_path):
    """Hand-read from examples/feature-tour/intent.yaml: api's export route says retries
    {attempts: 0} and catalog's matchless fault route is named chaos; both come back."""
    _, imported, _ = lossy_round_trip(tmp_path, "feature-tour", "istio", "--allow-loss")
    services = {s["name"]: s for s in yaml.safe_load(imported.stdout)["spec"]["services"]}
    export = services["api"]["routes"][0]
    assert export["name"] == "export" and export["retries"] == {"attempts": 0} and export["timeout"] == "30s"
    assert services["catalog"]["routes"] == [{"name": "chaos", "fault": {"abort": {"httpStatus": 503, "percent": 1}}}]
    assert "timeout" not in services["catalog"] and "retries" not in services["catalog"]


def test_synthetic_intent_round_trips(tmp_path):
    """benchmarks/synthetic.py's intent (versions with their own accounts, rate limits, circuit
    breakers, cross-namespace callers): the same loop at 60 services."""
    from benchmarks.synthetic import intent_yaml

    source = tmp_path / "intent.yaml"
    source.write_text(intent_yaml(60))
    round_trip(tmp_path, source, "istio")
