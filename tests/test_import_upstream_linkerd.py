"""Linkerd manifests meshgen did not write (issue 14): tests/fixtures/upstream/linkerd/.

``emojivoto-policy.yml`` is run.linkerd.io's policy for the Emojivoto demo (v1beta1 Servers and
ServerAuthorizations); ``emojivoto-services.yaml`` is a hand-written stand-in for the demo's
Services and Deployments. Expected findings and decisions are read off the upstream file by hand;
decisions of the re-rendered intent come from tests/platforms/linkerd_sim.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.platforms import linkerd_sim as sim
from tests.workflow_helpers import run

FIXTURES = Path(__file__).parent / "fixtures" / "upstream" / "linkerd"
POLICY = FIXTURES / "emojivoto-policy.yml"
SERVICES = FIXTURES / "emojivoto-services.yaml"
WEB = "web.emojivoto.serviceaccount.identity.linkerd.cluster.local"
EMOJI = "emoji.emojivoto.serviceaccount.identity.linkerd.cluster.local"


def _import(*paths, allow_loss=True):
    return run("import", *paths, *(["--allow-loss"] if allow_loss else []))


def test_emojivoto_policy_is_guessed_and_refused_without_allow_loss():
    result = _import(POLICY, SERVICES, allow_loss=False)
    assert result.exit_code == 3
    assert result.stdout == ""


def test_emojivoto_policy_reports_every_drop():
    result = _import(POLICY, SERVICES)
    assert result.exit_code == 0, result.stderr
    lost = sorted(line.strip().split(": LOST ")[0].rsplit("/", 1)[1] + " " + line.split(": LOST ")[1].split(":")[0]
                  for line in result.stderr.splitlines() if ": LOST " in line)
    assert lost == [
        # web-public: unauthenticated callers from 0.0.0.0/0 and ::/0
        "emojivoto-policy.yml:101 ServerAuthorization emojivoto/web-public spec.client",
        # prom-prometheus: unauthenticated callers
        "emojivoto-policy.yml:141 ServerAuthorization emojivoto/prom-prometheus spec.client",
        # admin: the proxy's linkerd-admin port on every pod is no Service port
        "emojivoto-policy.yml:154 Server emojivoto/admin spec",
        "emojivoto-policy.yml:172 ServerAuthorization emojivoto/admin-everyone spec.server",
    ]
    assert "not-understood" not in result.stderr
    assert "approximated ServerAuthorization emojivoto/internal-grpc" in result.stderr


def test_emojivoto_policy_imports_the_named_callers():
    spec = yaml.safe_load(_import(POLICY, SERVICES).stdout)["spec"]
    services = {s["name"]: s for s in spec["services"]}
    # internal-grpc selects the Servers labelled emojivoto/api=internal-grpc: emoji-grpc, voting-grpc
    assert services["emoji-svc"]["allowFrom"] == [{"service": "web-svc", "ports": ["grpc"]}]
    assert services["voting-svc"]["allowFrom"] == [{"service": "web-svc", "ports": ["grpc"]}]
    assert "allowFrom" not in services["web-svc"]
    # Server proxyProtocol names the protocol the Services do not declare
    assert [p["protocol"] for p in services["emoji-svc"]["ports"]] == ["grpc", "http"]
    # web-http denies and its only authorization was dropped: kept closed
    assert spec["mesh"]["defaultDeny"] is True


@pytest.mark.parametrize(
    ("app", "port", "request_", "caller", "upstream_admits", "imported_admits"),
    [
        # kept: only web's identity reaches the gRPC ports
        ("voting-svc", 8080, {"service": "emojivoto.v1.VotingService", "method": "VoteDoughnut"}, WEB, True, True),
        ("voting-svc", 8080, {"service": "emojivoto.v1.VotingService", "method": "VoteDoughnut"}, EMOJI, False, False),
        ("emoji-svc", 8080, {"service": "emojivoto.v1.EmojiService", "method": "ListAll"}, WEB, True, True),
        ("emoji-svc", 8080, {"service": "emojivoto.v1.EmojiService", "method": "ListAll"}, sim.UNAUTHENTICATED, False, False),
        # dropped, reported, and closed instead of opened (fail closed)
        ("web-svc", 8080, {"method": "GET", "path": "/"}, sim.UNAUTHENTICATED, True, False),
        ("emoji-svc", 8801, {"method": "GET", "path": "/metrics"}, sim.UNAUTHENTICATED, True, False),
    ],
)
def test_decisions_survive_or_close(app, port, request_, caller, upstream_admits, imported_admits):
    objects = sim.load_objects(sim.render_text(_import(POLICY, SERVICES).stdout))
    decision = sim.admits(sim.inbound(objects, "emojivoto", {"app": app}, port, request_), caller)
    assert decision is imported_admits
    assert not decision or upstream_admits  # never admits a caller upstream refused


def test_reference_snippets_import_without_crashing():
    """linkerd.io reference pages' YAML (booksapp and emojivoto fragments, no Services of their own)."""
    for name in ("linkerd.io_content_2-edge_reference_authorization-policy.md.yaml",
                 "linkerd.io_content_2-edge_reference_egress-network.md.yaml",
                 "linkerd.io_content_2-edge_reference_rate-limiting.md.yaml"):
        result = run("import", FIXTURES / name, SERVICES, "--from", "linkerd", "--allow-loss")
        assert result.exit_code == 0, result.stderr
        assert "Traceback" not in result.stderr


def test_rate_limit_and_egress_network_are_read():
    result = run("import", POLICY, SERVICES, FIXTURES / "linkerd.io_content_2-edge_reference_rate-limiting.md.yaml",
                 FIXTURES / "linkerd.io_content_2-edge_reference_egress-network.md.yaml", "--allow-loss")
    spec = yaml.safe_load(result.stdout)["spec"]
    web = next(s for s in spec["services"] if s["name"] == "web-svc")
    assert web["rateLimit"] == {"requestsPerSecond": 100}  # total 100/s per proxy on 1 replica
    assert spec["mesh"]["egressDefaultDeny"] is True  # trafficPolicy: Deny
    assert "LOST HTTPLocalRateLimitPolicy emojivoto/web-rl spec.identity" in result.stderr
    assert "LOST HTTPLocalRateLimitPolicy emojivoto/web-rl spec.overrides" in result.stderr
