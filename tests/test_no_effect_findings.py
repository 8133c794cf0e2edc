"""Intent that has no effect where it is written is a finding on every platform, never silence (issue 12).

Each case was reproduced with `meshgen render` before the change: retryBudget without retries and
rateLimit on a TCP-only Istio service were already reported; caNamespace with ca.type mesh,
Linkerd's unread CA lifetimes and Linkerd's permissive-under-defaultDeny passed with exit 0 and
nothing on stderr.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshgen import pipeline
from meshgen.capabilities import Feature, Severity, Support
from meshgen.cli import app
from meshgen.loader import parse_intent
from meshgen.platforms.registry import names
from tests.conftest import write_intent

INTENT = """\
apiVersion: meshgen.dev/v1alpha1
kind: MeshIntent
metadata: {{name: demo}}
spec:
  mesh: {mesh}
  defaults: {{namespace: shop}}
  services:
    - name: api
      ports: [{{name: {port}, port: 8080, protocol: {protocol}}}]
      allowFrom: [{{service: web}}]
{api}
    - name: web
      ports: [{{name: http, port: 8080, protocol: http}}]
"""


def text(mesh: str = "{}", api: str = "", protocol: str = "http") -> str:
    return INTENT.format(mesh=mesh, api=api, protocol=protocol, port="pg" if protocol == "tcp" else protocol)


def findings(intent_text: str, platform: str, feature: Feature, subject: str):
    plan = pipeline.plan(parse_intent(intent_text, Path("intent.yaml")), platform)
    return [f for f in plan.findings if f.feature is feature and f.subject == subject]


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("platform", names())
def test_retry_budget_without_retries_is_an_info_finding_everywhere(platform):
    got = findings(text(api="      retryBudget: {percent: 20, minRetriesPerSecond: 10}"), platform, Feature.RETRY_BUDGET, "shop/api")
    assert got, f"{platform}: retryBudget without retries passed silently"
    # Kubernetes has no retry budget at all: its own loss stands; elsewhere the budget merely has no effect.
    if platform == "kubernetes":
        assert [f.support for f in got] == [Support.NOT_EXPRESSIBLE]
    else:
        assert [(f.support, f.severity) for f in got] == [(Support.APPROXIMATED, Severity.INFO)]
        assert "does not retry" in got[0].detail


@pytest.mark.parametrize("platform", names())
def test_ca_namespace_with_the_mesh_ca_is_reported_everywhere(platform):
    got = findings(text(mesh="{ca: {type: mesh, caNamespace: pki}}"), platform, Feature.CA_MESH, "mesh")
    [finding] = [f for f in got if "caNamespace pki has no effect" in f.detail]
    assert finding.severity is Severity.INFO


@pytest.mark.parametrize("platform", names())
def test_default_ca_namespace_is_not_reported(platform):
    got = findings(text(mesh="{ca: {type: mesh}}"), platform, Feature.CA_MESH, "mesh")
    assert not [f for f in got if "caNamespace" in f.detail]


def test_linkerd_mesh_ca_lifetimes_are_reported_with_the_commands_that_apply_them():
    got = findings(
        text(mesh="{ca: {type: mesh, issuerLifetime: 720h, rootLifetime: 8760h, renewBefore: 240h}}"),
        "linkerd", Feature.CA_MESH, "mesh",
    )
    [unread] = [f for f in got if "not applied" in f.detail]
    assert unread.detail.startswith("issuerLifetime 720h, rootLifetime 8760h, renewBefore 240h not applied")
    assert "--profile root-ca --no-password --insecure --not-after 8760h" in unread.detail
    assert "--profile intermediate-ca --not-after 720h" in unread.detail
    [standing] = [f for f in got if f.detail.startswith("WARNING")]
    assert standing.severity is Severity.CRITICAL


def test_linkerd_mesh_ca_without_lifetimes_has_only_the_standing_warning():
    got = findings(text(mesh="{ca: {type: mesh, certLifetime: 48h}}"), "linkerd", Feature.CA_MESH, "mesh")
    assert [f.detail[:8] for f in got] == ["WARNING:"]


def test_linkerd_permissive_under_default_deny_fails_the_gate(tmp_path):
    path = write_intent(tmp_path, text(mesh="{mtls: permissive, defaultDeny: true}"))
    refused = run("render", str(path), "-p", "linkerd")
    assert refused.exit_code == 3
    assert refused.stdout == ""
    assert "LOST         mesh" in refused.stderr and "mtls-permissive: mtls: permissive has no effect" in refused.stderr
    accepted = run("render", str(path), "-p", "linkerd", "--accept-loss", "mtls-permissive")
    assert accepted.exit_code == 0, accepted.stderr
    # Accepting it renders strict's fail-closed policy: the namespaces deny, nothing admits unmeshed callers.
    assert "config.linkerd.io/default-inbound-policy: deny" in accepted.stdout
    assert "NetworkAuthentication" not in accepted.stdout


def test_linkerd_permissive_without_default_deny_is_native():
    assert findings(text(mesh="{mtls: permissive, defaultDeny: false}"), "linkerd", Feature.MTLS_PERMISSIVE, "mesh") == []


def test_rate_limit_on_a_tcp_only_istio_service_fails_the_gate(tmp_path):
    path = write_intent(tmp_path, text(api="      rateLimit: {requestsPerSecond: 100}", protocol="tcp"))
    result = run("render", str(path), "-p", "istio")
    assert result.exit_code == 3
    assert "LOST         shop/api                     rate-limit: rateLimit 100 requests/s has no effect" in result.stderr
    assert "EnvoyFilter" not in result.stdout


def test_linkerd_permissive_under_default_deny_works_when_every_server_audits():
    # Server.spec.accessPolicy audit admits (and logs) traffic that no authorization matches,
    # unmeshed callers included: the permissive migration works, so nothing is lost.
    audited = text(mesh="{mtls: permissive, defaultDeny: true, enforcement: audit}")
    assert [f for f in findings(audited, "linkerd", Feature.MTLS_PERMISSIVE, "mesh") if f.support is Support.NOT_EXPRESSIBLE] == []


def test_linkerd_permissive_under_default_deny_is_lost_while_one_service_enforces():
    one_enforced = text(mesh="{mtls: permissive, defaultDeny: true, enforcement: audit}", api="      enforcement: enforce")
    lost = [f for f in findings(one_enforced, "linkerd", Feature.MTLS_PERMISSIVE, "mesh") if f.support is Support.NOT_EXPRESSIBLE]
    assert len(lost) == 1 and "has no effect under defaultDeny" in lost[0].detail


def test_mg302_speaks_of_the_platform_being_rendered(tmp_path):
    # The unrotated-CA warning is Linkerd's: rendering a linkerd intent for istio must not print
    # it, and rendering an istio intent for linkerd must.
    linkerd_intent = write_intent(tmp_path, text().replace("spec:\n", "spec:\n  platform: linkerd\n", 1), "l.yaml")
    istio_intent = write_intent(tmp_path, text().replace("spec:\n", "spec:\n  platform: istio\n", 1), "i.yaml")
    assert "MG302" in run("render", str(linkerd_intent)).stderr
    assert "MG302" not in run("render", str(linkerd_intent), "-p", "istio").stderr
    assert "MG302 warning: ca.type: mesh on linkerd" in run("render", str(istio_intent), "-p", "linkerd").stderr
