"""meshgen diff: per subject and feature, what is lost, approximated or gained between two platforms."""

from __future__ import annotations

import json

import pytest

from meshgen.capabilities import Capability, Feature, Finding, Support
from meshgen.platform_diff import compare_plans
from meshgen.platforms import PLATFORMS, Plan, PlannedObject, registry
from meshgen.platforms.sections import Section
from tests.conftest import REPO
from tests.workflow_helpers import run

N, A, X = Support.NATIVE, Support.APPROXIMATED, Support.NOT_EXPRESSIBLE
BOOKINFO = REPO / "examples" / "bookinfo" / "intent.yaml"


def _obj(kind: str, name: str, ns: str | None = "shop", api: str = "v1") -> PlannedObject:
    return PlannedObject("t.j2", api, kind, name, ns)


def test_changes_are_classified_from_both_sides_findings():
    source = Plan(
        "a",
        (_obj("Namespace", "shop", None), _obj("Service", "api")),
        (),
        (
            Finding("shop/api", Feature.RETRY_BUDGET, A, "budget is a concurrency"),
            Finding("shop/api", Feature.AUTHZ_BY_VERSION, X, "versions share an identity"),
            Finding("shop/web", Feature.RATE_LIMIT, A, "per pod"),
            Finding("shop/web", Feature.TRACING, A, "no sampling"),
        ),
    )
    target = Plan(
        "b",
        (_obj("Service", "api"), _obj("Policy", "api", api="x.io/v1"), _obj("Policy", "web", api="x.io/v1")),
        (),
        (
            Finding("shop/api", Feature.AUTHZ_BY_VERSION, A, "labels tell versions apart"),
            Finding("shop/web", Feature.RATE_LIMIT, A, "per pod, no burst"),
            Finding("shop/web", Feature.MIRRORING, X, "no mirror filter"),
            Finding("mesh", Feature.MTLS_STRICT, A, "WireGuard"),
        ),
    )
    diff = compare_plans(source, target)
    rows = [
        (f.change, f.subject, f.feature.value, f.before.value, f.after.value, f.after_detail) for f in diff.features
    ]
    assert rows == [
        ("lost", "shop/web", "mirroring", "native", "not-expressible", "no mirror filter"),
        ("approximated", "mesh", "mtls-strict", "native", "approximated", "WireGuard"),
        ("improved", "shop/api", "authz-by-version", "not-expressible", "approximated", "labels tell versions apart"),
        ("gained", "shop/api", "retry-budget", "approximated", "native", ""),
        ("gained", "shop/web", "tracing", "approximated", "native", ""),
        ("unchanged", "shop/web", "rate-limit", "approximated", "approximated", "per pod, no burst"),
    ]
    assert diff.counts() == {"lost": 1, "approximated": 1, "improved": 1, "gained": 2, "unchanged": 1}
    assert diff.kinds() == [("v1", "Namespace", 1, 0), ("v1", "Service", 1, 1), ("x.io/v1", "Policy", 0, 2)]


def test_several_findings_of_one_feature_keep_the_worst_and_every_detail():
    source = Plan("a", (), (), ())
    target = Plan(
        "b",
        (),
        (),
        (
            Finding("shop/api", Feature.RETRIES, A, "only status codes"),
            Finding("shop/api", Feature.RETRIES, X, "retryOn reset cannot be expressed"),
        ),
    )
    (row,) = compare_plans(source, target).features
    assert (row.change, row.after, row.after_detail) == (
        "lost",
        X,
        "only status codes; retryOn reset cannot be expressed",
    )


class _FakeMesh:
    """A stand-in second platform with known findings, to drive the CLI end to end."""

    name = "fakemesh"
    description = "test double"
    capabilities = {feature: Capability(Support.NATIVE, "test double") for feature in Feature}
    control_plane_namespace = "fakemesh-system"
    charts = ()
    template_folders = ("fakemesh",)

    def operations(self, intent, report):
        return Section()

    def plan(self, intent):
        return Plan(
            self.name,
            (_obj("Namespace", "bookinfo", None), _obj("MeshPolicy", "reviews", "bookinfo", "fake.io/v1")),
            (),
            (
                Finding("bookinfo/reviews", Feature.RETRY_BUDGET, X, "no retry budget API"),
                Finding("bookinfo/reviews", Feature.MIRRORING, A, "mirror filter untested"),
            ),
        )


@pytest.fixture
def fakemesh(monkeypatch):
    registered = {**registry.all_platforms(), "fakemesh": _FakeMesh()}
    monkeypatch.setattr(registry, "all_platforms", lambda: registered)
    monkeypatch.setattr(registry, "names", lambda: tuple(registered))


def test_cli_json_for_machines(fakemesh):
    result = run("diff", BOOKINFO, "--from", "istio", "--to", "fakemesh", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["from"], doc["to"]) == ("istio", "fakemesh")
    assert doc["summary"] == {"lost": 1, "approximated": 1, "improved": 0, "gained": 1, "unchanged": 0}
    assert [
        (f["change"], f["subject"], f["feature"], f["from"]["support"], f["to"]["support"]) for f in doc["features"]
    ] == [
        ("lost", "bookinfo/reviews", "retry-budget", "approximated", "not-expressible"),
        ("approximated", "bookinfo/reviews", "mirroring", "native", "approximated"),
        ("gained", "bookinfo/ratings", "timeout", "approximated", "native"),
    ]
    assert doc["features"][0]["to"]["detail"] == "no retry budget API"
    assert doc["features"][0]["intent"] == "retryBudget"
    kinds = {(k["kind"], k["from"], k["to"]) for k in doc["objects"]["kinds"]}
    assert ("Namespace", 1, 1) in kinds and ("VirtualService", 4, 0) in kinds and ("MeshPolicy", 0, 1) in kinds
    assert doc["objects"]["to"] == [
        {"apiVersion": "v1", "kind": "Namespace", "name": "bookinfo", "namespace": None},
        {"apiVersion": "fake.io/v1", "kind": "MeshPolicy", "name": "reviews", "namespace": "bookinfo"},
    ]
    assert len(doc["objects"]["from"]) == 25  # bookinfo on istio: 22 traffic/security objects + 3 monitoring objects


def test_cli_table_for_people(fakemesh):
    result = run("diff", BOOKINFO, "--from", "istio", "--to", "fakemesh")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "istio -> fakemesh: 1 lost, 1 approximated, 0 improved, 1 gained, 0 unchanged; 25 -> 2 objects"
    rows = [line for line in lines if line.startswith("│")]
    assert any("│ lost " in r and "retry-budget" in r and "no retry budget API" in r for r in rows)
    assert any("│ gained " in r and "bookinfo/ratings" in r and "native (was: rule jason-delay" in r for r in rows)
    assert any("VirtualService" in r and "│     4 │        0 │" in r for r in rows)


@pytest.mark.parametrize("source", sorted(PLATFORMS))
@pytest.mark.parametrize("target", sorted(PLATFORMS))
def test_every_registered_pair_diffs(source, target):
    result = run("diff", BOOKINFO, "--from", source, "--to", target, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert sum(doc["summary"].values()) == len(doc["features"])
    if source == target:
        assert doc["summary"]["unchanged"] == len(doc["features"])
        assert doc["objects"]["from"] == doc["objects"]["to"]


def test_istio_to_itself_shows_bookinfo_approximations():
    doc = json.loads(run("diff", BOOKINFO, "--from", "istio", "--to", "istio", "--json").stdout)
    assert [(f["subject"], f["feature"], f["change"]) for f in doc["features"]] == [
        ("bookinfo/ratings", "timeout", "unchanged"),
        ("bookinfo/reviews", "retry-budget", "unchanged"),
    ]


def test_unknown_platform_is_a_usage_error():
    result = run("diff", BOOKINFO, "--from", "istio", "--to", "nomesh")
    assert result.exit_code == 2
    assert "unknown platform 'nomesh'" in result.stderr


def test_changes_only_leaves_out_unchanged_rows():
    full = run("diff", BOOKINFO, "--from", "istio", "--to", "istio")
    short = run("diff", BOOKINFO, "--from", "istio", "--to", "istio", "--changes-only")
    assert "│ unchanged │ bookinfo/reviews │ retry-budget" in full.stdout
    assert "unchanged │" not in short.stdout
    assert short.stdout.splitlines()[0] == full.stdout.splitlines()[0]  # the summary still counts them
