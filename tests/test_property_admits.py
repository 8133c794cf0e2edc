"""Property tests of issue 12: nothing admitted beyond the intent, nothing lost silently.

A. No widening: for random access-control intents (tests/property_access.py) and every platform
   with a semantic simulator, every (caller, callee version, port, method, path, with/without a
   JWT) request the rendered objects admit is one the intent admits, by a reference reading of
   the intent model written in the helper, not by meshgen's planner. The rendering checked is the
   one ``--allow-loss`` writes (the loss gate only decides whether it is written at all, it never
   changes it), so accepting every loss must not widen access either.
B. Nothing silent: removing one request-level field (timeout, retries, retryBudget, rateLimit,
   outlier detection, a version weight, a mirror, a header route) from a generated intent changes
   the rendered objects or the findings, on every registered platform.

Bounded (derandomized, a few dozen examples) so the file runs in CI in well under a minute.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshgen import pipeline
from meshgen.capabilities import Feature, Severity, Support
from meshgen.platforms import registry
from tests.platforms import ambient_sim
from tests.property_access import (
    ISSUER,
    NO_PLAINTEXT,
    SIMULATORS,
    _version_labels,
    access_intents,
    callers,
    intent_admits,
    load,
    requests,
)

#: Registered platforms without a simulator, each with the reason. Derived from the registry, so a new
#: platform fails test_every_platform_is_simulated_or_explained until it is added to one or the other.
UNSIMULATED_REASONS: dict[str, str] = {}
UNSIMULATED = sorted(set(registry.names()) - set(SIMULATORS))

BOUNDED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_every_platform_is_simulated_or_explained():
    assert UNSIMULATED == sorted(UNSIMULATED_REASONS)
    assert set(SIMULATORS) <= set(registry.names())


#: Platforms on which every gateway sends as one identity (Cilium's reserved ``ingress``): admitting one
#: gateway admits all, a widening the render must name (checked by :func:`_shared_gateway_reported`).
SHARED_GATEWAY_IDENTITY = ("cilium",)


def _shared_gateway_reported(intent, rendering, caller, callee, port, method, path, token) -> bool:
    """Whether ``caller`` (a gateway) is admitted only because another gateway is, and the render says so."""
    if caller.gateway is None:
        return False
    others = [c for c in callers(intent) if c.gateway is not None and c is not caller]
    if not any(intent_admits(intent, c, callee, port, method, path, token) for c in others):
        return False
    subject = f"{callee.namespace}/{callee.name}"
    return any(
        f.subject == subject and f.feature is Feature.AUTHZ_IDENTITY and "reserved ingress identity" in f.detail
        for f in rendering.plan.findings
    )


def widenings(doc: dict, platform: str) -> list[str]:
    """Every request the platform's rendering admits and the intent does not (empty = property holds)."""
    intent = load(doc)
    rendering = pipeline.render(intent, platform, "intent.yaml")
    judge = SIMULATORS[platform](rendering.objects(), intent)
    out = []
    for callee in intent.spec.services:
        for version in callee.versions or [None]:
            labels = _version_labels(callee, version)
            for port in callee.ports:
                for caller in callers(intent):
                    if caller.plaintext and platform in NO_PLAINTEXT:
                        continue
                    for method, path in requests(callee, port):
                        for token in (False, True) if callee.request_authentication else (False,):
                            if not judge(caller, callee, labels, port, method, path, token) or intent_admits(
                                intent, caller, callee, port, method, path, token
                            ):
                                continue
                            if platform in SHARED_GATEWAY_IDENTITY and _shared_gateway_reported(
                                intent, rendering, caller, callee, port, method, path, token
                            ):
                                continue
                            target = callee.name + (f"/{version.name}" if version else "")
                            out.append(f"{caller.name} -> {target}:{port.name} {method} {path} token={token}")
    return out


@BOUNDED
@given(doc=access_intents())
def test_no_platform_admits_more_than_the_intent(doc):
    for platform in sorted(SIMULATORS):
        found = widenings(doc, platform)
        assert not found, f"{platform} admits what the intent does not:\n" + "\n".join(found[:10])


# --- B: every field changes the output or produces a finding ---------------------------------------

#: field -> (how to write it on a service, the capability-matrix row a loss of it is reported under)
FIELDS = {
    "timeout": (lambda svc: svc.update(timeout="3s"), Feature.TIMEOUT),
    "retries": (lambda svc: svc.update(retries={"attempts": 2, "perTryTimeout": "1s"}), Feature.RETRIES),
    "retryBudget": (lambda svc: svc.update(retryBudget={"percent": 20, "minRetriesPerSecond": 5}), Feature.RETRY_BUDGET),
    "rateLimit": (lambda svc: svc.update(rateLimit={"requestsPerSecond": 50}), Feature.RATE_LIMIT),
    "outlierDetection": (
        lambda svc: svc.update(circuitBreaker={"consecutiveErrors": 5, "interval": "10s"}),
        Feature.OUTLIER_DETECTION,
    ),
    "version weight": (
        lambda svc: svc.update(versions=[{"name": "v1", "weight": 70}, {"name": "v2", "weight": 30}]),
        Feature.CANARY_WEIGHTS,
    ),
    "mirror": (lambda svc: svc.update(routes=[{"mirror": {"version": "v2", "percent": 10}}]), Feature.MIRRORING),
    "header route": (
        lambda svc: svc.update(routes=[{"match": {"headers": {"x-canary": {"exact": "1"}}}, "version": "v2"}]),
        Feature.REQUEST_ROUTING,
    ),
}


#: Fields written as routes, which need an http, http2 or grpc port (an intent rule).
ROUTED = ("mirror", "header route")


def _with_versions(svc: dict, field: str) -> None:
    # Every field is toggled on a service with two versions, so weights, mirrors and routes resolve.
    svc["versions"] = [{"name": "v1", "weight": 100}, {"name": "v2", "weight": 0}]
    if field in ROUTED and all(p["protocol"] == "tcp" for p in svc["ports"]):
        svc["ports"].append({"name": "http-9", "port": 8009, "protocol": "http"})


def _outcome(doc: dict, platform: str) -> tuple[str, tuple]:
    rendering = pipeline.render(load(doc), platform, "intent.yaml")
    return rendering.stream, tuple(sorted(rendering.plan.findings, key=repr))


def _reported_lost(findings: tuple, subject: str, feature: Feature) -> bool:
    # The baseline may share the loss (weights 100/0 are lost as 70/30 are): a LOST line for the
    # field's row on that service is what "not silent" asks for.
    return any(f.subject == subject and f.feature is feature and f.support is Support.NOT_EXPRESSIBLE for f in findings)


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doc=access_intents(), field=st.sampled_from(sorted(FIELDS)), index=st.integers(0, 4))
def test_every_field_changes_the_output_or_is_a_finding(doc, field, index):
    without = copy.deepcopy(doc)
    svc = without["spec"]["services"][index % len(without["spec"]["services"])]
    _with_versions(svc, field)
    with_field = copy.deepcopy(without)
    target = with_field["spec"]["services"][index % len(with_field["spec"]["services"])]
    write, feature = FIELDS[field]
    write(target)
    subject = f"{target['namespace']}/{target['name']}"
    for platform in registry.names():
        ours, theirs = _outcome(with_field, platform), _outcome(without, platform)
        assert ours != theirs or _reported_lost(ours[1], subject, feature), (
            f"{platform}: {field} on {svc['name']} changes nothing and is not reported"
        )


@pytest.mark.parametrize("platform", sorted(SIMULATORS))
def test_a_simple_intent_is_admitted_as_written(platform):
    # The property is not vacuous: the simulator admits the one allowed edge and refuses a stranger.
    doc = {
        "apiVersion": "meshgen.dev/v1alpha1",
        "kind": "MeshIntent",
        "metadata": {"name": "prop"},
        "spec": {
            "defaults": {"namespace": "shop"},
            "services": [
                {"name": "s0", "ports": [{"name": "http-0", "port": 8000}], "allowFrom": [{"service": "s1"}]},
                {"name": "s1", "ports": [{"name": "http-0", "port": 8000}]},
            ],
        },
    }
    intent = load(doc)
    judge = SIMULATORS[platform](pipeline.render(intent, platform, "intent.yaml").objects(), intent)
    callee = intent.spec.services[0]
    by_name = {c.name: c for c in callers(intent)}
    labels = _version_labels(callee, None)
    assert judge(by_name["s1"], callee, labels, callee.ports[0], "GET", "/", False)
    assert not judge(by_name["anonymous in shop"], callee, labels, callee.ports[0], "GET", "/", False)
    assert not judge(by_name["robot in shop"], callee, labels, callee.ports[0], "GET", "/", False)
    assert widenings(doc, platform) == []


# --- regressions the properties found ------------------------------------------------------------

SHARED_VERSIONS = {
    "apiVersion": "meshgen.dev/v1alpha1",
    "kind": "MeshIntent",
    "metadata": {"name": "prop"},
    "spec": {
        "mesh": {"defaultDeny": False},
        "defaults": {"namespace": "shop"},
        "services": [
            {
                "name": "s0",
                "ports": [{"name": "http-0", "port": 8000}],
                "versions": [{"name": "v1", "weight": 90}, {"name": "v2", "weight": 10}],
            },
            {
                "name": "s1",
                "ports": [{"name": "http-0", "port": 8000}],
                "requestAuthentication": {"issuer": ISSUER, "jwksUri": f"{ISSUER}/jwks"},
                "allowFrom": [{"service": "s0", "versions": ["v1"]}],
            },
        ],
    },
}


@pytest.mark.parametrize("jwt", [True, False], ids=["waypoint", "ztunnel"])
def test_ambient_refuses_a_version_caller_that_shares_its_service_account(jwt):
    # Before: LOST was reported, yet the ALLOW rule named shop/s0, so s0's v2 pods (same account) got in.
    doc = copy.deepcopy(SHARED_VERSIONS)
    if not jwt:
        del doc["spec"]["services"][1]["requestAuthentication"]
    intent = load(doc)
    rendering = pipeline.render(intent, "istio-ambient", "intent.yaml")
    mesh = ambient_sim.Mesh(rendering.objects())
    s0 = ambient_sim.Caller("s0/v2", "shop", "s0", (("app", "s0"), ("version", "v2")))
    req = ambient_sim.Request("GET", "/", jwt=True)
    assert not mesh.call_service(s0, "shop", "s1", 8000, {"app": "s1"}, req)
    assert not mesh.call_pod(s0, "shop", {"app": "s1"}, 8000, req)
    lost = [f for f in rendering.plan.findings if f.feature is Feature.AUTHZ_BY_VERSION]
    assert [(f.subject, f.support) for f in lost] == [("shop/s1", Support.NOT_EXPRESSIBLE)]
    assert "nothing is admitted in its place" in lost[0].detail


def test_ambient_shared_identity_widening_stays_an_explicit_choice():
    doc = copy.deepcopy(SHARED_VERSIONS)
    doc["spec"]["services"][1]["widenAccess"] = ["shared-identity"]
    rendering = pipeline.render(load(doc), "istio-ambient", "intent.yaml")
    mesh = ambient_sim.Mesh(rendering.objects())
    s0 = ambient_sim.Caller("s0/v2", "shop", "s0", (("app", "s0"), ("version", "v2")))
    assert mesh.call_service(s0, "shop", "s1", 8000, {"app": "s1"}, ambient_sim.Request("GET", "/", jwt=True))
    found = [f for f in rendering.plan.findings if f.feature is Feature.AUTHZ_BY_VERSION]
    assert [f.support for f in found] == [Support.APPROXIMATED]


@pytest.mark.parametrize(
    ("allow_from", "support", "severity"),
    [([], Support.APPROXIMATED, Severity.INFO), ([{"service": "s0"}], Support.APPROXIMATED, Severity.WARNING)],
    ids=["nobody-calls", "calls-itself"],
)
def test_consul_reports_a_circuit_breaker_no_caller_applies(allow_from, support, severity):
    # Before: written into no caller's ServiceDefaults, with no finding at all.
    doc = {
        "apiVersion": "meshgen.dev/v1alpha1",
        "kind": "MeshIntent",
        "metadata": {"name": "prop"},
        "spec": {
            "defaults": {"namespace": "shop"},
            "services": [
                {
                    "name": "s0",
                    "ports": [{"name": "http-0", "port": 8000}],
                    "circuitBreaker": {"consecutiveErrors": 5},
                    "allowFrom": allow_from,
                }
            ],
        },
    }
    rendering = pipeline.render(load(doc), "consul", "intent.yaml")
    assert "passiveHealthCheck" not in rendering.stream
    found = [f for f in rendering.plan.findings if f.feature is Feature.OUTLIER_DETECTION]
    assert [(f.subject, f.support, f.severity) for f in found] == [("shop/s0", support, severity)]
    assert "no other service may call s0, so it is written nowhere" in found[0].detail


# --- regressions the extended strategy found (denyFrom, gateways, gRPC, routes; Consul's simulator) ----


def _doc(services: list[dict], mesh: dict | None = None) -> dict:
    return {
        "apiVersion": "meshgen.dev/v1alpha1",
        "kind": "MeshIntent",
        "metadata": {"name": "prop"},
        "spec": {"mesh": mesh or {"defaultDeny": False}, "defaults": {"namespace": "shop"}, "services": services},
    }


HTTP = [{"name": "http-0", "port": 8000, "protocol": "http"}]
REGRESSIONS = {
    # Linkerd: a deny on a service without an allow-list was LOST but s0 still got in (allow-only).
    "linkerd-deny-without-allow-list": (
        "linkerd",
        _doc([{"name": "s0", "ports": HTTP}, {"name": "s1", "ports": HTTP, "denyFrom": [{"service": "s0"}]}]),
    ),
    # Linkerd: a deny covered by an allowFrom namespace grant was LOST and admitted.
    "linkerd-deny-inside-allowed-namespace": (
        "linkerd",
        _doc([
            {"name": "s0", "ports": HTTP},
            {"name": "s1", "ports": HTTP, "allowFrom": [{"namespace": "shop"}], "denyFrom": [{"service": "s0"}]},
        ]),
    ),
    # Istio PERMISSIVE: a DENY by principal never matches plaintext, so plaintext s0 got in.
    "istio-permissive-deny-plaintext": (
        "istio",
        _doc([{"name": "s0", "ports": HTTP}, {"name": "s1", "ports": HTTP, "denyFrom": [{"service": "s0"}]}], {"mtls": "permissive", "defaultDeny": False}),
    ),
    # Istio: a selector deny no intent workload matches was dropped, so labelled pods outside the intent got in.
    "istio-selector-deny": (
        "istio",
        _doc([{"name": "s0", "ports": HTTP}, {"name": "s1", "ports": HTTP, "denyFrom": [{"selector": {"role": "batch"}}]}]),
    ),
    # Consul: a version-scoped caller admitted the whole Consul service.
    "consul-version-caller": (
        "consul",
        _doc([
            {"name": "s0", "ports": HTTP, "versions": [{"name": "v1", "weight": 90}, {"name": "v2", "weight": 10}]},
            {"name": "s1", "ports": HTTP, "allowFrom": [{"service": "s0", "versions": ["v1"]}]},
        ]),
    ),
    # Consul: an allow-list naming only an unregistered port left the registered one open to all.
    "consul-allow-list-on-other-port": (
        "consul",
        _doc([
            {"name": "s0", "ports": HTTP},
            {"name": "s1", "ports": HTTP + [{"name": "grpc-1", "port": 8001, "protocol": "grpc"}], "allowFrom": [{"service": "s0", "ports": ["grpc-1"]}]},
        ]),
    ),
    # Consul CE: a namespace deny named only the intent's services; robot in shop got in.
    "consul-namespace-deny": (
        "consul",
        _doc([{"name": "s0", "ports": HTTP}, {"name": "s1", "ports": HTTP, "denyFrom": [{"namespace": "shop"}]}]),
    ),
    # Consul: a selector deny named only the intent's labelled services; labelled pods outside it got in.
    "consul-selector-deny": (
        "consul",
        _doc([{"name": "s0", "ports": HTTP}, {"name": "s1", "ports": HTTP, "denyFrom": [{"selector": {"role": "batch"}}]}]),
    ),
    # Consul CE: serviceAccount robot in ops was admitted by name, so robot in shop got in too.
    "consul-service-account-any-namespace": (
        "consul",
        _doc([{"name": "s0", "ports": HTTP}, {"name": "s1", "ports": HTTP, "allowFrom": [{"serviceAccount": "robot", "namespace": "ops"}]}]),
    ),
    # Every identity platform: a version-scoped caller whose account another service shares (issue 12, MG204).
    **{
        f"{platform}-version-caller-shares-account-with-another-service": (
            platform,
            _doc([
                {"name": "s0", "ports": HTTP, "serviceAccount": "shared", "versions": [{"name": "v1", "weight": 90}, {"name": "v2", "weight": 10, "serviceAccount": "canary"}]},
                {"name": "s2", "ports": HTTP, "serviceAccount": "shared"},
                {"name": "s1", "ports": HTTP, "allowFrom": [{"service": "s0", "versions": ["v1"]}]},
            ]),
        )
        for platform in ("istio", "istio-ambient", "linkerd")
    },
}


@pytest.mark.parametrize("case", sorted(REGRESSIONS))
def test_regressions_admit_nothing_beyond_the_intent(case):
    platform, doc = REGRESSIONS[case]
    assert widenings(doc, platform) == []


@pytest.mark.parametrize("platform", ["istio", "istio-ambient", "linkerd", "consul"])
def test_version_caller_sharing_an_account_is_a_named_loss(platform):
    _, doc = REGRESSIONS["istio-version-caller-shares-account-with-another-service"]
    if platform == "consul":
        doc = REGRESSIONS["consul-version-caller"][1]
    rendering = pipeline.render(load(doc), platform, "intent.yaml")
    lost = [f for f in rendering.plan.findings if f.feature is Feature.AUTHZ_BY_VERSION and f.support is Support.NOT_EXPRESSIBLE]
    assert [f.subject for f in lost] == ["shop/s1"]
    assert "nothing is admitted in its place" in lost[0].detail


@pytest.mark.parametrize("platform", ["istio", "istio-ambient"])
def test_istio_permissive_under_default_deny_says_plaintext_callers_are_refused(platform):
    doc = _doc([{"name": "s0", "ports": HTTP}, {"name": "s1", "ports": HTTP, "allowFrom": [{"service": "s0"}]}], {"mtls": "permissive", "defaultDeny": True})
    rendering = pipeline.render(load(doc), platform, "intent.yaml")
    found = [f for f in rendering.plan.findings if f.feature is Feature.MTLS_PERMISSIVE and f.subject == "mesh"]
    # Lost, as on Linkerd: the permissive migration is not kept, so the render refuses unless accepted.
    assert [f.support for f in found if "admits no plaintext caller of s0, s1" in f.detail] == [Support.NOT_EXPRESSIBLE]
    if platform != "istio":
        return  # the ambient simulator does not model plaintext callers (every caller has a principal)
    # and what it says holds: the plaintext caller is refused.
    intent = load(doc)
    judge = SIMULATORS[platform](rendering.objects(), intent)
    plain = next(c for c in callers(intent) if c.plaintext and c.service == "s0")
    s1 = intent.spec.services[1]
    assert not judge(plain, s1, _version_labels(s1, None), s1.ports[0], "GET", "/", False)
