"""Lifetime, renewal and HA rules of spec.mesh (meshgen.intent.rules._check_ca / _check_control_plane)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshgen.errors import IntentError
from meshgen.loader import parse_intent
from tests.conftest import MINIMAL


def _with_mesh(block: str) -> str:
    return MINIMAL.replace("  defaults:\n", f"  mesh:\n{block}  defaults:\n")


def _problems(text: str) -> str:
    with pytest.raises(IntentError) as err:
        parse_intent(text, Path("intent.yaml"))
    return str(err.value)


def test_workload_certificate_must_be_shorter_than_issuer():
    text = _problems(_with_mesh("    ca: {certLifetime: 9000h, issuerLifetime: 8760h}\n"))
    assert "spec.mesh.ca.certLifetime: certLifetime 9000h must be shorter than issuerLifetime 8760h" in text


def test_issuer_must_be_shorter_than_root():
    text = _problems(_with_mesh("    ca: {issuerLifetime: 87600h, rootLifetime: 87600h}\n"))
    assert "spec.mesh.ca.issuerLifetime: issuerLifetime 87600h must be shorter than rootLifetime 87600h" in text


def test_renew_before_must_be_shorter_than_issuer_lifetime():
    text = _problems(_with_mesh("    ca: {type: cert-manager, issuerLifetime: 48h, renewBefore: 48h}\n"))
    assert "spec.mesh.ca.renewBefore: renewBefore 48h must be shorter than issuerLifetime 48h" in text


def test_cert_manager_refuses_certificates_shorter_than_an_hour():
    text = _problems(_with_mesh("    ca: {type: cert-manager, certLifetime: 10m, issuerLifetime: 30m}\n"))
    assert "spec.mesh.ca.issuerLifetime: issuerLifetime 30m is shorter than 1h, the shortest Certificate cert-manager issues" in text


def test_cert_manager_refuses_renew_before_under_five_minutes():
    text = _problems(_with_mesh("    ca: {type: cert-manager, renewBefore: 1m}\n"))
    assert "spec.mesh.ca.renewBefore: renewBefore 1m is shorter than 5m, the least cert-manager accepts" in text


def test_istiod_ca_has_no_cert_manager_minimum():
    # The one-hour minimum is cert-manager's: istiod's own CA accepts a 30m issuer lifetime.
    intent = parse_intent(_with_mesh("    ca: {certLifetime: 10m, issuerLifetime: 30m}\n"), Path("intent.yaml"))
    assert int(intent.spec.mesh.ca.issuer_lifetime) == 30 * 60_000


def test_every_lifetime_problem_is_reported_at_once():
    text = _problems(_with_mesh("    ca: {certLifetime: 100000h, issuerLifetime: 90000h, rootLifetime: 1000h}\n"))
    assert "certLifetime 100000h must be shorter than issuerLifetime 90000h" in text
    assert "issuerLifetime 90000h must be shorter than rootLifetime 1000h" in text


def test_max_replicas_below_replicas_is_an_error():
    text = _problems(_with_mesh("    controlPlane: {replicas: 3, maxReplicas: 2}\n"))
    assert "spec.mesh.controlPlane.maxReplicas: maxReplicas 2 must be at least replicas 3 (autoscaling starts at replicas)" in text


def test_zero_replicas_is_refused_by_the_schema():
    text = _problems(_with_mesh("    controlPlane: {replicas: 0}\n"))
    assert "spec.mesh.controlPlane.replicas" in text
    assert "greater than or equal to 1" in text


def test_one_replica_is_valid():
    intent = parse_intent(_with_mesh("    controlPlane: {replicas: 1}\n"), Path("intent.yaml"))
    assert intent.spec.mesh.control_plane.replicas == 1


def test_new_fields_default():
    intent = parse_intent(MINIMAL, Path("intent.yaml"))
    assert intent.spec.mesh.ca.ca_namespace == "cert-manager"
    assert intent.spec.mesh.encryption == "wireguard"
    assert intent.spec.mesh.control_plane.namespace is None
    assert intent.spec.telemetry.monitor_labels == {}


def test_unknown_encryption_is_refused():
    text = _problems(_with_mesh("    encryption: none\n"))
    assert "spec.mesh.encryption" in text
    assert "'wireguard' or 'ipsec'" in text
